"""The app_secrets role through a small playbook against the sandbox's moto, with the example vault file and its
sandbox password: every key lands in Secrets Manager under the launch's KMS key, a second run changes nothing,
the composed URLs carry the generated password and token, -vvv shows no value; a plaintext file, a malformed one
and test keys in production are refused with nothing written and no value printed."""

import json
import textwrap

from ansible.parsing.vault import VaultLib, VaultSecret
from dotenv import dotenv_values
from io import StringIO

from conftest import ROOT, playbook
from conftest import aws_client as client

SEED = ROOT / "sandbox" / "seed" / "env.production.secrets.vault"
PASSWORD_FILE = ROOT / "sandbox" / "seed" / "vault-password.txt"
PREFIX = "directfanz-sandbox/app/"
PLAY = """
- name: Run the config phase alone
  hosts: launch_controller
  gather_facts: false
  environment: "{{ launch_aws_environment | default({}) }}"
  vars_files:
    - %s/playbooks/vars/launch_defaults.yml
  module_defaults:
    directfanz.launch.app_secrets_file: "{{ launch_aws_module_defaults }}"
    directfanz.launch.secrets_manager: "{{ launch_aws_module_defaults }}"
  tasks:
    - name: Write the application's secrets
      ansible.builtin.import_role:
        name: directfanz.launch.app_secrets
    - name: Keep what the compute phase gets
      ansible.builtin.copy:
        content: "{{ {'refs': app_secrets_refs, 'services': app_secrets_by_service,
                      'plain': app_secrets_plain_environment} | to_json }}"
        dest: "{{ facts_file }}"
        mode: "0600"
      changed_when: false
      check_mode: false  # the test's own file, also in --check
""" % ROOT


def vault():
    return VaultLib([("default", VaultSecret(PASSWORD_FILE.read_bytes().strip()))])


def seed_values():
    return dict(dotenv_values(stream=StringIO(vault().decrypt(SEED.read_bytes()).decode()), interpolate=False))


def run(sandbox, tmp_path, *args, secrets_file=SEED):
    book = tmp_path / "config.yml"
    book.write_text(PLAY)
    return playbook(sandbox, "--vault-password-file", str(PASSWORD_FILE), "-e", "app_secrets_file=%s" % secrets_file,
                    "-e", "facts_file=%s" % (tmp_path / "facts.json"), *args, playbook_file=str(book))


def make_key(sandbox):
    kms = client(sandbox, "kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/directfanz-sandbox-data", TargetKeyId=key["KeyId"])


def stored(sandbox):
    sm = client(sandbox, "secretsmanager")
    return dict((s["Name"], sm.get_secret_value(SecretId=s["ARN"])["SecretString"])
                for s in sm.list_secrets()["SecretList"])


def facts(tmp_path):
    return json.loads((tmp_path / "facts.json").read_text())


def assert_no_value(out, values):
    for key, value in values.items():
        assert value not in out, "the value of %s is in the output" % key
        for part in value.splitlines():
            if len(part) >= 16:
                assert part not in out, "a line of %s is in the output" % key


def test_the_example_file_is_written_and_a_second_run_changes_nothing(fresh, tmp_path):
    make_key(fresh)
    values = seed_values()
    first = run(fresh, tmp_path, "-vvv")
    assert first.rc == 0 and first.failed == 0 and first.changed == 1, first.out
    assert stored(fresh) == dict((PREFIX + k, v) for k, v in values.items())
    assert "$HOME#" in values["STREAM_INGEST_SECRET"]  # no interpolation: the literal value is stored
    meta = client(fresh, "secretsmanager").describe_secret(SecretId=PREFIX + "STRIPE_SECRET_KEY")
    assert meta["KmsKeyId"] == "alias/directfanz-sandbox-data"
    assert {"project": "directfanz", "environment": "sandbox", "managed-by": "directfanz.launch"} == \
        {t["Key"]: t["Value"] for t in meta["Tags"]}
    assert "not composed yet: DATABASE_URL and DIRECT_URL: app_secrets_database is not set" in first.out
    assert_no_value(first.out, values)
    seen = facts(tmp_path)
    assert seen["refs"]["STRIPE_SECRET_KEY"]["arn"] == meta["ARN"]
    assert seen["refs"]["STRIPE_SECRET_KEY"]["value_from"].startswith(meta["ARN"] + ":::")
    assert {"name": "STREAM_INGEST_SECRET", "valueFrom": seen["refs"]["STREAM_INGEST_SECRET"]["value_from"]} in \
        seen["services"]["stream"]
    assert "STRIPE_SECRET_KEY" not in [s["name"] for s in seen["services"]["stream"]]
    assert seen["plain"] == {"NEXTAUTH_URL": "https://directfanz.io", "AWS_REGION": "us-east-1", "NODE_ENV": "production"}

    second = run(fresh, tmp_path, "-vvv", "--diff")
    assert second.rc == 0 and second.changed == 0, second.out
    assert_no_value(second.out, values)
    assert facts(tmp_path)["refs"]["STRIPE_SECRET_KEY"]["version_id"] == seen["refs"]["STRIPE_SECRET_KEY"]["version_id"]


def test_composed_urls_carry_the_generated_password_and_token(fresh, tmp_path):
    make_key(fresh)
    sm = client(fresh, "secretsmanager")
    managed = [{"Key": "managed-by", "Value": "directfanz.launch"}]
    sm.create_secret(Name="directfanz-sandbox/db/app", SecretString=json.dumps({"username": "app", "password": "pw/+@x"}),
                     Tags=managed)
    sm.create_secret(Name="directfanz-sandbox/redis/auth-token", SecretString="token-0123456789abcdef", Tags=managed)
    inputs = {"app_secrets_database": {"pooler_host": "pgbouncer.directfanz.internal",
                                       "host": "db.example.rds.amazonaws.com",
                                       "password_secret": "directfanz-sandbox/db/app", "password_key": "password",
                                       "ca_file": "rds-global-bundle.pem"},
              "app_secrets_redis": {"host": "master.cache.example.use1.cache.amazonaws.com",
                                    "token_secret": "directfanz-sandbox/redis/auth-token"}}
    result = run(fresh, tmp_path, "-vvv", "-e", json.dumps(inputs))
    assert result.rc == 0, result.out
    values = stored(fresh)
    assert values[PREFIX + "DATABASE_URL"] == (
        "postgresql://app:pw%2F%2B%40x@pgbouncer.directfanz.internal:6432/directfanz?sslmode=require&pgbouncer=true"
        "&connection_limit=5&pool_timeout=10")
    assert values[PREFIX + "DIRECT_URL"] == (
        "postgresql://app:pw%2F%2B%40x@db.example.rds.amazonaws.com:5432/directfanz?sslmode=require"
        "&sslcert=rds-global-bundle.pem&sslaccept=strict")
    assert values[PREFIX + "REDIS_URL"] == "rediss://:token-0123456789abcdef@master.cache.example.use1.cache.amazonaws.com:6379"
    assert "not composed yet" not in result.out
    assert_no_value(result.out, dict(seed_values(), db="pw%2F%2B%40x", token="token-0123456789abcdef",
                                     url=values[PREFIX + "DATABASE_URL"]))
    seen = facts(tmp_path)
    assert {s["name"] for s in seen["services"]["web"]} >= {"DATABASE_URL", "REDIS_URL", "NEXTAUTH_SECRET"}
    assert [s["name"] for s in seen["services"]["migrate"]] == ["DIRECT_URL"]


def test_a_plaintext_file_is_refused_with_nothing_written(fresh, tmp_path):
    make_key(fresh)
    values = seed_values()
    plain = tmp_path / "env.production.secrets"
    plain.write_text(vault().decrypt(SEED.read_bytes()).decode())
    result = run(fresh, tmp_path, "-vvv", secrets_file=plain)
    assert result.rc != 0 and "is not ansible-vault encrypted" in result.out, result.out
    assert "ansible-vault encrypt" in result.out
    assert stored(fresh) == {}
    assert_no_value(result.out, values)


def test_a_malformed_file_is_refused_naming_keys_and_lines_only(fresh, tmp_path):
    make_key(fresh)
    text = vault().decrypt(SEED.read_bytes()).decode()
    text += textwrap.dedent("""\
        NEXTAUTH_SECRET=second-value-of-the-key-0123456789abcdef
        this line is not an assignment-secretvalue-0a1b2c3d
        NEXTAUTH_SECRETS=typo-of-the-key-value-0a1b2c3d4e5f
        """)
    text = text.replace("JWT_SECRET=", "JWT_SECRET_OLD=").replace("ENCRYPTION_KEY=", "ENCRYPTION_KEY=zz")
    bad = tmp_path / "bad.vault"
    bad.write_bytes(vault().encrypt(text))
    result = run(fresh, tmp_path, "-vvv", secrets_file=bad)
    assert result.rc != 0, result.out
    lines = text.splitlines()
    dup = lines.index("NEXTAUTH_SECRET=second-value-of-the-key-0123456789abcdef") + 1
    assert "line %d: NEXTAUTH_SECRET is set again (first on line 6)" % dup in result.out
    assert "line %d: not KEY=value" % (dup + 1) in result.out
    assert "NEXTAUTH_SECRETS (line %d) is not in the schema; did you mean NEXTAUTH_SECRET?" % (dup + 2) in result.out
    assert "JWT_SECRET_OLD (line 7) is not in the schema; did you mean JWT_SECRET?" in result.out
    assert "JWT_SECRET is required and missing" in result.out
    assert "ENCRYPTION_KEY (line 8) does not have the format accepted in sandbox" in result.out
    assert stored(fresh) == {}
    values = dict(dotenv_values(stream=StringIO(text), interpolate=False))
    values["bad line"] = "this line is not an assignment-secretvalue-0a1b2c3d"
    values = dict((k, v) for k, v in values.items() if v)
    assert_no_value(result.out, values)


def test_test_mode_stripe_keys_are_refused_in_production(fresh, tmp_path):
    make_key(fresh)
    result = run(fresh, tmp_path, "-e", "app_secrets_environment=production")
    assert result.rc != 0, result.out
    assert "STRIPE_SECRET_KEY (line 13) does not have the format accepted in production: a live-mode" in result.out
    assert "STRIPE_PUBLISHABLE_KEY (line 15)" in result.out and "STRIPE_WEBHOOK_SECRET" not in result.out
    assert stored(fresh) == {}
    assert_no_value(result.out, seed_values())


def test_without_the_vault_password_it_says_how_to_give_it(fresh, tmp_path):
    book = tmp_path / "config.yml"
    book.write_text(PLAY)
    result = playbook(fresh, "-e", "app_secrets_file=%s" % SEED, "-e", "facts_file=%s" % (tmp_path / "facts.json"),
                      playbook_file=str(book))
    assert result.rc != 0 and "--vault-password-file" in result.out, result.out
    assert stored(fresh) == {}


def test_check_mode_on_an_empty_account_plans_and_writes_nothing(fresh, tmp_path):
    result = run(fresh, tmp_path, "--check", "--diff", "-vvv")
    assert result.rc == 0 and result.changed == 1, result.out
    assert "KMS key alias/directfanz-sandbox-data does not exist yet" in result.out
    assert "create secret directfanz-sandbox/app/STRIPE_SECRET_KEY" in result.out
    assert stored(fresh) == {}
    assert facts(tmp_path)["refs"]["STRIPE_SECRET_KEY"]["arn"] == "(new secret directfanz-sandbox/app/STRIPE_SECRET_KEY)"
    assert_no_value(result.out, seed_values())
