"""app_secrets_file's pure parts: the schema, the line scan with python-dotenv's parser (duplicate keys, malformed
lines, unknown keys, line numbers past blank lines and comments), the checks per environment (Stripe prefixes),
minimum lengths, the vault header check, and the rule that no message carries a value."""

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.directfanz.launch.plugins.action import app_secrets_file as A
from conftest import ROOT

SCHEMA, SCHEMA_PROBLEMS = A.load_schema(
    yaml.safe_load((ROOT / "roles/app_secrets/vars/schema.yml").read_text())["app_secrets_schema"])

GOOD = {
    "NEXTAUTH_SECRET": "Q2hhbmdlTWVJbkFSZWFsTGF1bmNoMDEyMzQ1Njc4OQ==",
    "JWT_SECRET": "jwt-secret-6f2d9c4b1a8e7d3c5b0a9f8e7d6c5b4a",
    "ENCRYPTION_KEY": "0123456789abcdef" * 4,
    "STRIPE_SECRET_KEY": "sk_test_51AbCdEfGhIjKlMnOpQrStUvWx",
    "STRIPE_WEBHOOK_SECRET": "whsec_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_51AbCdEfGhIjKlMnOpQrStUvWx",
    "SENDGRID_API_KEY": "SG.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg",
    "STREAM_INGEST_SECRET": "ingest-5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
}


def dotenv(values, header="# the owner's secrets\n\n"):
    return header + "".join("%s=%s\n" % (k, v) for k, v in values.items())


def scan(text, environment="sandbox", unknown="fail"):
    values, problems, warnings, lines = A.scan(text, SCHEMA, environment, unknown)
    for message in problems + warnings:
        for value in GOOD.values():
            assert value not in message
    return values, problems, warnings, lines


def test_the_shipped_schema_is_valid_and_declares_the_platform_keys():
    assert SCHEMA_PROBLEMS == []
    assert {"NEXTAUTH_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SENDGRID_API_KEY"} <= set(
        k for k, e in SCHEMA.items() if e.get("required"))
    assert SCHEMA["NEXTAUTH_SECRET"]["min_length"] == 32
    assert SCHEMA["AWS_SECRET_ACCESS_KEY"].get("forbidden") and SCHEMA["DATABASE_URL"].get("composed")


def test_a_good_file_reads_with_line_numbers_past_comments_and_blank_lines():
    values, problems, warnings, lines = scan(dotenv(GOOD))
    assert problems == [] and warnings == [] and values == GOOD
    assert lines["NEXTAUTH_SECRET"] == 3 and lines["STREAM_INGEST_SECRET"] == 10


def test_values_are_not_interpolated_and_quotes_and_export_are_dotenv_syntax():
    text = dotenv(dict(GOOD, STREAM_INGEST_SECRET="'ingest-$HOME-${PATH}-#-0123456789abcdef'"))
    text += "export SENTRY_DSN=\"https://%s@o1.ingest.sentry.io/42\"  # reporting\n" % ("ab" * 16)
    values, problems, dummy, dummy2 = scan(text)
    assert problems == []
    assert values["STREAM_INGEST_SECRET"] == "ingest-$HOME-${PATH}-#-0123456789abcdef"
    assert values["SENTRY_DSN"] == "https://%s@o1.ingest.sentry.io/42" % ("ab" * 16)


def test_a_duplicate_key_names_both_lines():
    text = dotenv(GOOD) + "\nNEXTAUTH_SECRET=another-value-that-is-long-enough-0123456789\n"
    values, problems, dummy, dummy2 = scan(text)
    assert values == {} and problems == ["line 12: NEXTAUTH_SECRET is set again (first on line 3); accepted: each key once"]
    assert "another-value" not in problems[0]


def test_malformed_lines_are_named_by_line_and_never_quoted():
    text = dotenv(GOOD) + "this is not an assignment-0a1b2c3d4e5f\nSENTRY_DSN\nGOOGLE_CLIENT_ID=\"unclosed-0a1b2c3d\nX=1\n"
    values, problems, dummy, dummy2 = scan(text)
    assert values == {}
    assert problems[0] == "line 11: not KEY=value (the text is not shown: it may hold a secret)"
    assert problems[1] == "line 12: SENTRY_DSN has no '=' (accepted: KEY=value)"
    assert problems[2] == ("line 13 (GOOGLE_CLIENT_ID): not KEY=value; a quote opened here is not closed (the text is "
                           "not shown: it may hold a secret)")
    text = dotenv(GOOD) + 'GOOGLE_CLIENT_ID="unclosed-0a1b2c3d\nX=1\nSENTRY_DSN="https://x"\n'
    dummy, problems, dummy2, dummy3 = scan(text)
    assert problems[0].startswith("lines 11-13 (GOOGLE_CLIENT_ID): not KEY=value; a quote opened here is probably not "
                                  "closed, which swallows the lines after it")
    assert not [p for p in problems if "assignment" in p or "unclosed" in p]


def test_a_line_break_only_in_keys_declared_multiline():
    pem = "-----BEGIN PRIVATE KEY-----\n" + ("QUJD" * 16 + "\n") * 4 + "-----END PRIVATE KEY-----\n"
    text = dotenv(dict(GOOD, CLOUDFRONT_SIGNING_KEY_ID="K2JCJMDEHXQW5F", CLOUDFRONT_SIGNING_PRIVATE_KEY='"%s"' % pem))
    values, problems, dummy, dummy2 = scan(text)
    assert problems == [] and values["CLOUDFRONT_SIGNING_PRIVATE_KEY"] == pem
    values, problems, dummy, dummy2 = scan(dotenv(dict(GOOD, JWT_SECRET='"jwt-secret-0123456789\nabcdefghijklmnop"')))
    assert problems == ["lines 4-5: JWT_SECRET spans several lines; accepted: one line (only keys declared multiline may "
                        "span lines; a quote may not be closed)"]


def test_an_unknown_key_fails_with_a_suggestion_or_warns_and_is_not_written():
    text = dotenv(dict(GOOD, NEXTAUTH_SECRETS="typo-value-0123456789abcdef0123456789"))
    dummy, problems, dummy2, dummy3 = scan(text)
    assert problems == ["NEXTAUTH_SECRETS (line 11) is not in the schema; did you mean NEXTAUTH_SECRET? (accepted: the "
                        "schema's keys, or add the key to app_secrets_schema_extra)"]
    values, problems, warnings, dummy = scan(text, unknown="warn")
    assert problems == [] and warnings[0].endswith("it is not written") and "NEXTAUTH_SECRETS" in values


def test_a_missing_required_key_and_a_pair_missing_its_other_half():
    values = dict(GOOD, GOOGLE_CLIENT_ID="123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com")
    del values["STRIPE_WEBHOOK_SECRET"]
    dummy, problems, dummy2, dummy3 = scan(dotenv(values))
    assert "STRIPE_WEBHOOK_SECRET is required and missing (signing secret of the Stripe webhook endpoint " \
           "(https://<domain>/api/webhooks/stripe))" in problems
    assert "GOOGLE_CLIENT_ID (line 10) is set but GOOGLE_CLIENT_SECRET is not; accepted: both or neither" in problems


@pytest.mark.parametrize("environment, key, value, accepted", [
    ("sandbox", "STRIPE_SECRET_KEY", "sk_test_51AbCdEfGhIjKlMnOpQrStUvWx", True),
    ("sandbox", "STRIPE_SECRET_KEY", "sk_live_51AbCdEfGhIjKlMnOpQrStUvWx", False),
    ("production", "STRIPE_SECRET_KEY", "sk_live_51AbCdEfGhIjKlMnOpQrStUvWx", True),
    ("production", "STRIPE_SECRET_KEY", "rk_live_51AbCdEfGhIjKlMnOpQrStUvWx", True),
    ("production", "STRIPE_SECRET_KEY", "sk_test_51AbCdEfGhIjKlMnOpQrStUvWx", False),
    ("production", "STRIPE_PUBLISHABLE_KEY", "pk_test_51AbCdEfGhIjKlMnOpQrStUvWx", False),
    ("production", "STRIPE_WEBHOOK_SECRET", "whsec_AbCdEfGhIjKlMnOpQrStUvWxYz012345", True),
    ("production", "STRIPE_WEBHOOK_SECRET", "wh_AbCdEfGhIjKlMnOpQrStUvWxYz012345", False),
    ("sandbox", "ENCRYPTION_KEY", "0123456789abcdef" * 3, False),
])
def test_formats_per_environment(environment, key, value, accepted):
    values = dict(GOOD, **{key: value})
    if environment == "production":
        values.update(STRIPE_SECRET_KEY=values["STRIPE_SECRET_KEY"].replace("sk_test_", "sk_live_")
                      if key != "STRIPE_SECRET_KEY" else value,
                      STRIPE_PUBLISHABLE_KEY=values["STRIPE_PUBLISHABLE_KEY"].replace("pk_test_", "pk_live_")
                      if key != "STRIPE_PUBLISHABLE_KEY" else value)
    dummy, problems, dummy2, dummy3 = A.scan(dotenv(values), SCHEMA, environment)
    mine = [p for p in problems if p.startswith(key + " ")]
    assert (mine == []) is accepted, problems
    for p in mine:
        assert value not in p and "does not have the format accepted in %s" % environment in p


def test_minimum_lengths_and_white_space():
    dummy, problems, dummy2, dummy3 = scan(dotenv(dict(GOOD, NEXTAUTH_SECRET="c2hvcnQ=")))
    assert problems == ["NEXTAUTH_SECRET (line 3) is 8 characters long; accepted: at least 32"]
    dummy, problems, dummy2, dummy3 = scan(dotenv(dict(GOOD, JWT_SECRET="' jwt-secret-6f2d9c4b1a8e7d3c5b0a9f8e7d6c5b4a'")))
    assert problems == ["JWT_SECRET (line 4) has leading or trailing white space; accepted: the value without it"]


def test_forbidden_and_composed_keys_are_refused_in_the_file():
    text = dotenv(dict(GOOD, AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                       DATABASE_URL="postgresql://u:p@h/db"))
    dummy, problems, dummy2, dummy3 = scan(text)
    assert problems[0].startswith("AWS_SECRET_ACCESS_KEY (line 11) must not be in the file: the services reach S3")
    assert problems[1].startswith("DATABASE_URL (line 12) is composed by the launch")
    assert not [p for p in problems if "wJalr" in p or "u:p@h" in p]


def test_a_bad_schema_is_refused():
    dummy, problems = A.load_schema([{"key": "lower"}, {"key": "A", "pattern": "("}, {"key": "B", "typo": 1}, {}])
    assert len(problems) == 4 and "does not compile" in problems[1] and "unknown fields typo" in problems[2]


def test_a_plaintext_file_is_refused_before_decrypting(tmp_path):
    plain = tmp_path / "plain.env"
    plain.write_text(dotenv(GOOD))

    class Loader:
        _vault = VaultLib([])

    with pytest.raises(AnsibleError) as caught:
        A.read_vaulted(Loader(), str(plain))
    assert "is not ansible-vault encrypted" in str(caught.value) and GOOD["JWT_SECRET"] not in str(caught.value)


def test_an_encrypted_file_decrypts_in_memory_and_a_wrong_password_says_how_to_give_one(tmp_path):
    secret = [("default", VaultSecret(b"sandbox-password"))]
    path = tmp_path / "secrets.vault"
    path.write_bytes(VaultLib(secret).encrypt(dotenv(GOOD)))

    class Loader:
        _vault = VaultLib(secret)

    assert A.read_vaulted(Loader(), str(path)) == dotenv(GOOD)
    Loader._vault = VaultLib([("default", VaultSecret(b"wrong"))])
    with pytest.raises(AnsibleError) as caught:
        A.read_vaulted(Loader(), str(path))
    assert "--vault-password-file" in str(caught.value)


def test_scrub_masks_every_value_at_any_depth():
    result = {"msg": "x %s y" % GOOD["JWT_SECRET"], "list": [{"deep": GOOD["NEXTAUTH_SECRET"]}], "n": 3}
    clean = A.scrub(result, list(GOOD.values()))
    assert clean == {"msg": "x ******** y", "list": [{"deep": "********"}], "n": 3}
