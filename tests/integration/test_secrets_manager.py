"""secrets_manager against the moto server, through the recording proxy: check mode writes nothing, a first run
creates, a second run makes no write call, a changed value is one PutSecretValue with a new VersionId, a generated
value survives re-runs, a composed value carries the referenced password percent-encoded, bad input makes no call
at all, and no value is in the -vvv output."""

import json

import pytest

from conftest import aws_client as client
from conftest import module

PREFIX = "directfanz-sandbox/app/"
ALIAS = "alias/directfanz-sandbox"


def sm(sandbox, *flags, via=None, **args):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"kms_key_id": ALIAS, "tags": {"project": "directfanz"}, "region": "us-east-1",
                   "endpoint_url": endpoint, "access_key": "testing", "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("secrets_manager", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def make_key(sandbox, alias=ALIAS):
    kms = client(sandbox, "kms")
    key = kms.create_key(Description="launch key")["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return key["Arn"]


def value_of(sandbox, name):
    return client(sandbox, "secretsmanager").get_secret_value(SecretId=name)["SecretString"]


def listed(sandbox):
    return sorted(s["Name"] for s in client(sandbox, "secretsmanager").list_secrets()["SecretList"])


SECRETS = [
    {"name": PREFIX + "NEXTAUTH_SECRET", "value": "nextauth-7f1c2a9e4b6d8f0a1c3e5b7d9f1a3c5e", "description": "NextAuth"},
    {"name": PREFIX + "oauth", "json": {"client_id": "client-4d2e", "client_secret": "oauth-secret-9b8a7c6d5e4f"}},
]


def test_check_mode_on_an_empty_account_plans_and_writes_nothing(fresh, recorder):
    make_key(fresh)
    rc, out, result = sm(fresh, "--check", "--diff", via=recorder, secrets=SECRETS)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == ["create secret %sNEXTAUTH_SECRET" % PREFIX, "create secret %soauth" % PREFIX]
    assert result["secrets"][PREFIX + "oauth"]["arn"] == "(new secret %soauth)" % PREFIX
    assert result["diff"]["after"][PREFIX + "oauth"]["value"] == "(new)" and result["diff"]["before"] == {}
    assert recorder.calls and recorder.writes() == [] and listed(fresh) == [], recorder.calls


def test_first_run_creates_and_the_second_writes_nothing(fresh, recorder):
    key_arn = make_key(fresh)
    rc, out, first = sm(fresh, via=recorder, secrets=SECRETS)
    assert rc == 0 and first["changed"] is True, out
    assert recorder.writes() == ["CreateSecret", "CreateSecret"], recorder.calls
    assert listed(fresh) == [PREFIX + "NEXTAUTH_SECRET", PREFIX + "oauth"]
    assert value_of(fresh, PREFIX + "NEXTAUTH_SECRET") == SECRETS[0]["value"]
    assert json.loads(value_of(fresh, PREFIX + "oauth")) == SECRETS[1]["json"]
    described = client(fresh, "secretsmanager").describe_secret(SecretId=PREFIX + "NEXTAUTH_SECRET")
    assert described["KmsKeyId"] == ALIAS and described["Description"] == "NextAuth"
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == {"project": "directfanz", "managed-by": "directfanz.launch"}
    entry = first["secrets"][PREFIX + "NEXTAUTH_SECRET"]
    assert entry["arn"] == described["ARN"] and entry["version_id"] in described["VersionIdsToStages"]
    assert entry["value_from"] == "%s:::%s" % (described["ARN"], entry["version_id"])
    assert sorted(first["changed_secrets"]) == sorted(s["name"] for s in SECRETS)
    assert first["kms_key_arn"] == key_arn

    del recorder.calls[:]
    rc, out, second = sm(fresh, "--diff", via=recorder, secrets=SECRETS)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert second["secrets"][PREFIX + "NEXTAUTH_SECRET"]["version_id"] == entry["version_id"]
    assert second["changed_secrets"] == []
    assert second["diff"]["after"][PREFIX + "oauth"]["value"] == "(unchanged)"


def test_a_changed_value_is_one_put_and_a_new_version(fresh, recorder):
    make_key(fresh)
    rc, out, first = sm(fresh, secrets=SECRETS)
    assert rc == 0, out
    changed = [dict(SECRETS[0], value="nextauth-rotated-0a9b8c7d6e5f4a3b2c1d0e9f"), SECRETS[1]]

    rc, out, planned = sm(fresh, "--check", "--diff", via=recorder, secrets=changed)
    assert rc == 0 and planned["changed"] is True, out
    assert planned["actions"] == ["put a new value in secret %sNEXTAUTH_SECRET" % PREFIX]
    assert planned["diff"]["after"][PREFIX + "NEXTAUTH_SECRET"]["value"] == "(changed)"
    assert recorder.writes() == [] and value_of(fresh, PREFIX + "NEXTAUTH_SECRET") == SECRETS[0]["value"]

    del recorder.calls[:]
    rc, out, second = sm(fresh, via=recorder, secrets=changed)
    assert rc == 0 and second["changed"] is True, out
    assert recorder.writes() == ["PutSecretValue"], recorder.calls
    assert value_of(fresh, PREFIX + "NEXTAUTH_SECRET") == changed[0]["value"]
    old = first["secrets"][PREFIX + "NEXTAUTH_SECRET"]["version_id"]
    new = second["secrets"][PREFIX + "NEXTAUTH_SECRET"]["version_id"]
    assert new != old and second["changed_secrets"] == [PREFIX + "NEXTAUTH_SECRET"]
    assert second["secrets"][PREFIX + "oauth"]["version_id"] == first["secrets"][PREFIX + "oauth"]["version_id"]


def test_a_generated_value_is_made_once_and_kept(fresh, recorder):
    make_key(fresh)
    generated = [{"name": "directfanz-sandbox/db/app", "json": {"username": "app"},
                  "generate": {"key": "password", "length": 40}},
                 {"name": "directfanz-sandbox/redis/auth-token", "generate": {"length": 64, "exclude_punctuation": True}}]
    rc, out, first = sm(fresh, secrets=generated)
    assert rc == 0 and first["changed"] is True, out
    db = json.loads(value_of(fresh, "directfanz-sandbox/db/app"))
    token = value_of(fresh, "directfanz-sandbox/redis/auth-token")
    assert db["username"] == "app" and len(db["password"]) == 40
    assert not set(db["password"]) & set("\"'\\/@`")
    assert len(token) == 64 and token.isalnum()

    rc, out, again = sm(fresh, via=recorder, secrets=generated)
    assert rc == 0 and again["changed"] is False, out
    assert recorder.writes() == [] and json.loads(value_of(fresh, "directfanz-sandbox/db/app")) == db

    # a fixed key beside the generated one changes; the generated password stays
    generated[0]["json"] = {"username": "app", "engine": "postgres"}
    rc, out, third = sm(fresh, secrets=generated)
    assert rc == 0 and third["actions"] == ["put a new value in secret directfanz-sandbox/db/app"], out
    assert json.loads(value_of(fresh, "directfanz-sandbox/db/app")) == dict(db, engine="postgres")

    generated[1]["generate"]["regenerate"] = True  # a rotation, asked for once
    rc, out, rotated = sm(fresh, secrets=generated[1:])
    assert rc == 0 and rotated["changed"] is True and value_of(fresh, "directfanz-sandbox/redis/auth-token") != token


def test_a_composed_value_carries_the_referenced_password_encoded(fresh):
    make_key(fresh)
    client(fresh, "secretsmanager").create_secret(
        Name="directfanz-sandbox/db/app", SecretString=json.dumps({"username": "app", "password": "p@ss:w/rd?#%"}),
        Tags=[{"Key": "managed-by", "Value": "directfanz.launch"}])
    url = "postgresql://app:${password}@pgbouncer.directfanz.internal:6432/directfanz?sslmode=require&pgbouncer=true"
    entry = {"name": PREFIX + "DATABASE_URL", "template": url,
             "refs": {"password": {"secret": "directfanz-sandbox/db/app", "key": "password"}}}
    rc, out, result = sm(fresh, secrets=[entry])
    assert rc == 0 and result["changed"] is True, out
    assert value_of(fresh, PREFIX + "DATABASE_URL") == url.replace("${password}", "p%40ss%3Aw%2Frd%3F%23%25")
    assert "p@ss" not in out and "p%40ss" not in out

    rc, out, again = sm(fresh, secrets=[entry])
    assert rc == 0 and again["changed"] is False, out


def test_a_reference_that_does_not_exist_is_refused_before_any_write(fresh, recorder):
    make_key(fresh)
    entry = {"name": PREFIX + "REDIS_URL", "template": "rediss://:${token}@cache:6379",
             "refs": {"token": {"secret": "directfanz-sandbox/redis/auth-token"}}}
    rc, out, result = sm(fresh, via=recorder, secrets=[entry])
    assert rc != 0 and "which has no value" in result["msg"] and "nothing was changed" in result["msg"], out
    assert recorder.writes() == [] and listed(fresh) == []

    rc, out, planned = sm(fresh, "--check", via=recorder, secrets=[entry])
    assert rc == 0 and planned["changed"] is True and "planned as changing" in out, out


def test_a_missing_kms_key_is_refused_in_a_real_run(fresh, recorder):
    rc, out, result = sm(fresh, via=recorder, secrets=SECRETS)
    assert rc != 0 and "KMS key alias/directfanz-sandbox does not exist" in result["msg"], out
    assert recorder.writes() == [] and listed(fresh) == []


def test_a_secret_made_by_hand_is_not_adopted_unless_asked(fresh, recorder):
    make_key(fresh)
    client(fresh, "secretsmanager").create_secret(Name=PREFIX + "NEXTAUTH_SECRET", SecretString="by-hand-value-1234")
    rc, out, result = sm(fresh, via=recorder, secrets=SECRETS[:1])
    assert rc != 0 and "was not made by directfanz.launch" in result["msg"], out
    assert recorder.writes() == [] and value_of(fresh, PREFIX + "NEXTAUTH_SECRET") == "by-hand-value-1234"
    rc, out, adopted = sm(fresh, secrets=SECRETS[:1], adopt=True)
    assert rc == 0 and adopted["actions"] == [
        "update secret %sNEXTAUTH_SECRET (value, kms key aws/secretsmanager -> %s, description)" % (PREFIX, ALIAS),
        "tag secret %sNEXTAUTH_SECRET (managed-by, project)" % PREFIX], out
    assert value_of(fresh, PREFIX + "NEXTAUTH_SECRET") == SECRETS[0]["value"]


def test_a_new_kms_key_rewrites_the_value_under_it(fresh, recorder):
    make_key(fresh)
    rc, out, first = sm(fresh, secrets=SECRETS[:1])
    assert rc == 0, out
    make_key(fresh, "alias/directfanz-other")
    rc, out, second = sm(fresh, via=recorder, secrets=SECRETS[:1], kms_key_id="alias/directfanz-other")
    assert rc == 0 and recorder.writes() == ["UpdateSecret"], out
    assert second["actions"] == ["update secret %sNEXTAUTH_SECRET (value re-written under the new key, kms key %s -> "
                                 "alias/directfanz-other)" % (PREFIX, ALIAS)]
    assert second["changed_secrets"] == [PREFIX + "NEXTAUTH_SECRET"]
    assert (second["secrets"][PREFIX + "NEXTAUTH_SECRET"]["version_id"]
            != first["secrets"][PREFIX + "NEXTAUTH_SECRET"]["version_id"])


@pytest.mark.parametrize("secrets, kms, expected", [
    ([{"name": "bad name!", "value": "x" * 20}], ALIAS, "name 'bad name!' is not valid"),
    ([{"name": PREFIX + "X", "value": ""}], ALIAS, "the value is empty"),
    ([{"name": PREFIX + "app-AbCdEf", "value": "x" * 20}], ALIAS, "reads as a partial ARN"),
    ([{"name": PREFIX + "X", "value": "x" * 20, "json": {"a": "b"}}], ALIAS, "gives value and json"),
    ([{"name": PREFIX + "X"}], ALIAS, "gives no value"),
    ([{"name": PREFIX + "X", "value": "v" * 20}, {"name": PREFIX + "X", "value": "w" * 20}], ALIAS, "listed twice"),
    ([{"name": PREFIX + "X", "template": "a${b}c", "refs": {}}], ALIAS, "placeholder ${b} has no entry in refs"),
    ([{"name": PREFIX + "X", "generate": {"length": 4}}], ALIAS, "generate.length is 4"),
    ([{"name": PREFIX + "X", "value": "x" * 70000}], ALIAS, "the value is 70000 bytes"),
    (SECRETS, "my-key", "kms_key_id 'my-key' is not a KMS key"),
    (SECRETS, "arn:aws:kms:us-east-1:123456789012:secret/x", "is not a KMS key"),
])
def test_bad_input_is_refused_before_any_call(fresh, recorder, secrets, kms, expected):
    rc, out, result = sm(fresh, via=recorder, secrets=secrets, kms_key_id=kms)
    assert rc != 0 and expected in result["msg"] and "nothing was read or written" in result["msg"], out
    assert recorder.calls == []
    for entry in secrets:
        if len(entry.get("value") or "") > 8:
            assert entry["value"] not in out


def test_no_value_in_the_vvv_output(fresh):
    make_key(fresh)
    generated = {"name": "directfanz-sandbox/db/app", "json": {"username": "app"}, "generate": {"key": "password"}}
    composed = {"name": PREFIX + "DIRECT_URL", "template": "postgresql://app:${pw}@db:5432/directfanz?sslmode=require",
                "refs": {"pw": {"secret": "directfanz-sandbox/db/app", "key": "password"}}}
    runs = [sm(fresh, "-vvv", "--diff", secrets=SECRETS + [generated, composed])]
    changed = [dict(SECRETS[0], value="nextauth-second-value-5e6f7a8b9c0d1e2f")] + SECRETS[1:] + [generated, composed]
    runs.append(sm(fresh, "-vvv", "--diff", "--check", secrets=changed))
    runs.append(sm(fresh, "-vvv", "--diff", secrets=changed))
    password = json.loads(value_of(fresh, "directfanz-sandbox/db/app"))["password"]
    values = [SECRETS[0]["value"], changed[0]["value"], "oauth-secret-9b8a7c6d5e4f", password,
              value_of(fresh, PREFIX + "DIRECT_URL")]
    for rc, out, result in runs:
        assert rc == 0 and "secrets" in result, out
        for value in values:
            assert value not in out
    assert "(changed)" in runs[1][1]
