"""secrets_manager's pure parts on plain dicts: input checks, generation, the values a run wants (a generated value
kept, a composed one filled and encoded) and the plan (what is created, put, updated, tagged, refused)."""

import json

from ansible_collections.directfanz.launch.plugins.module_utils import scram
from ansible_collections.directfanz.launch.plugins.modules import secrets_manager as M

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:%s-AbCdEf"
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
MANAGED = [{"Key": "managed-by", "Value": "directfanz.launch"}]


def params(secrets, **extra):
    return dict({"secrets": secrets, "kms_key_id": "alias/launch", "tags": {}, "adopt": False}, **extra)


def meta(name, **fields):
    return dict({"ARN": ARN % name, "Name": name, "KmsKeyId": "alias/launch", "Description": "", "Tags": MANAGED,
                 "VersionIdsToStages": {"v1": ["AWSCURRENT"]}}, **fields)


def plan(secrets, observed, refs=None, candidates=None, **extra):
    p = params(secrets, **extra)
    values = M.desired_values(p, observed, refs or {}, candidates or {})
    return M.plan_secrets(p, observed, {"wanted": KEY, "observed": {"alias/launch": KEY}}, values)


def test_generated_values_hold_every_class_and_no_excluded_character():
    g = {"length": 32, "exclude_characters": M.DEFAULT_EXCLUDE, "exclude_punctuation": False}
    for value in [M.generate_value(g) for unused in range(50)]:
        assert len(value) == 32 and not set(value) & set(M.DEFAULT_EXCLUDE)
        assert any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)
    assert M.generate_value(dict(g, exclude_punctuation=True)).isalnum()


def test_an_existing_generated_value_is_kept_and_a_missing_one_made():
    entry = {"name": "db/app", "json": {"username": "app"}, "generate": {"key": "password", "length": 32}}
    observed = {"db/app": {"meta": meta("db/app"), "value": json.dumps({"username": "app", "password": "kept-1"})}}
    p, fate = plan([entry], observed, candidates={"db/app": "fresh-2"})
    assert p.actions == [] and fate["db/app"]["changed"] is False
    p, fate = plan([entry], {"db/app": {"meta": None, "value": None}}, candidates={"db/app": "fresh-2"})
    assert p.actions == ["create secret db/app"]
    assert json.loads(p.steps[0]["kwargs"]["SecretString"]) == {"username": "app", "password": "fresh-2"}


def test_a_template_is_filled_from_a_listed_or_read_secret_and_encoded():
    entries = [{"name": "db/app", "generate": {"length": 32}},
               {"name": "app/DATABASE_URL", "template": "postgresql://app:${pw}@h/db",
                "refs": {"pw": {"secret": "db/app"}}}]
    observed = {"db/app": {"meta": meta("db/app"), "value": "a@b/c"}, "app/DATABASE_URL": {"meta": None, "value": None}}
    values = M.desired_values(params(entries), observed, {}, {"db/app": "unused"})
    assert values["app/DATABASE_URL"] == ("template", "postgresql://app:a%40b%2Fc@h/db", [])
    read = M.desired_values(params(entries[1:]), observed, {"db/app": "x y"}, {})
    assert read["app/DATABASE_URL"][1] == "postgresql://app:x%20y@h/db"


def test_the_plan_puts_only_changed_values_and_tags_only_missing_tags():
    secrets = [{"name": "a", "value": "same"}, {"name": "b", "value": "new"}, {"name": "c", "json": {"k": "v"}}]
    observed = {"a": {"meta": meta("a"), "value": "same"}, "b": {"meta": meta("b"), "value": "old"},
                "c": {"meta": meta("c", Tags=[]), "value": '{ "k" : "v" }'}}
    p, fate = plan(secrets, observed, adopt=True)
    assert p.actions == ["put a new value in secret b", "tag secret c (managed-by)"]
    assert [s for s, f in sorted(fate.items()) if f["new_value"]] == ["b"]


def test_a_foreign_secret_and_a_missing_key_are_problems():
    observed = {"a": {"meta": meta("a", Tags=[]), "value": "x"}}
    p, dummy = plan([{"name": "a", "value": "y"}], observed)
    assert p.problems == ["secret a exists and was not made by directfanz.launch (no managed-by tag); accepted: "
                          "adopt=true to manage it, or another name"]
    values = M.desired_values(params([{"name": "a", "value": "y"}]), {}, {}, {})
    p, dummy = M.plan_secrets(params([{"name": "a", "value": "y"}]), {}, {"wanted": None, "observed": {}}, values)
    assert p.problems and "does not exist in this account" in p.problems[0]


def test_input_problems_never_quote_a_value():
    problems = M.input_problems(params([{"name": "a", "value": "v" * 70000}, {"name": "b", "json": {"k": ""}}],
                                       kms_key_id="nope"))
    assert len(problems) == 3 and not [x for x in problems if "vvvv" in x]


def test_a_scram_reference_composes_the_same_verifier_every_run_and_a_new_one_for_a_new_password():
    entries = [{"name": "db/auth", "template": '{"verifier": "${v}"}',
                "refs": {"v": {"secret": "db/app", "key": "password", "encode": "scram-sha-256"}}}]
    app = json.dumps({"username": "app", "password": "generated-1"})
    first = M.desired_values(params(entries), {}, {"db/app": app}, {})["db/auth"]
    verifier = scram.derived_verifier("generated-1", "db/auth")
    assert first == ("template", '{"verifier": "%s"}' % verifier, [])
    observed = {"db/auth": {"meta": meta("db/auth"), "value": first[1]}}
    p, fate = plan(entries, observed, refs={"db/app": app})
    assert p.actions == [] and fate["db/auth"]["changed"] is False  # the stored verifier is the one composed again
    p, fate = plan(entries, observed, refs={"db/app": json.dumps({"username": "app", "password": "rotated-2"})})
    assert p.actions == ["put a new value in secret db/auth"] and fate["db/auth"]["new_value"] is True


def test_a_scram_reference_to_a_value_that_is_not_printable_ascii_is_reported_missing_not_hashed():
    entries = [{"name": "db/auth", "template": "${v}", "refs": {"v": {"secret": "db/app", "encode": "scram-sha-256"}}}]
    values = M.desired_values(params(entries), {}, {"db/app": "pässword"}, {})
    assert values["db/auth"][1] is None and "not printable ASCII" in values["db/auth"][2][0]
    assert "pässword" not in repr(values)


def test_an_unknown_encoding_is_refused_naming_the_accepted_ones():
    problems = M.input_problems(params([{"name": "x", "template": "${v}", "refs": {"v": {"secret": "y", "encode": "md5"}}}]))
    assert problems == ["secrets[0] (x): refs.v.encode 'md5' is not accepted; accepted: url, none, scram-sha-256"]
