"""The composed connection values: percent-encoding of passwords, Prisma's PgBouncer flags, the direct URL for the
client that reads it (Prisma silently downgrades an sslmode it does not know, so that is refused here), the
rediss:// URL, NEXTAUTH_URL, and the composed entries the role hands to secrets_manager."""

from urllib.parse import unquote, urlsplit

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.directfanz.launch.plugins.filter import secrets as F


def test_database_url_goes_through_pgbouncer_with_prisma_flags():
    url = F.database_url("PgBouncer.DirectFanz.internal.", "directfanz", "app", "s3cr3t")
    assert url == ("postgresql://app:s3cr3t@pgbouncer.directfanz.internal:6432/directfanz?sslmode=require&pgbouncer=true"
                   "&connection_limit=5&pool_timeout=10")


@pytest.mark.parametrize("password", ["p@ss:w/rd?#", "100%&=+ ", "ünïcode-ß", "a]b[c{d}e$f"])
def test_a_password_is_percent_encoded_and_decodes_back(password):
    url = F.database_url("pgbouncer", "directfanz", "app", password)
    parts = urlsplit(url)
    assert parts.hostname == "pgbouncer" and parts.port == 6432 and unquote(parts.password) == password
    assert F.redis_url("cache", password).startswith("rediss://:%s@cache:6379" % F.url_quote(password))


def test_without_a_password_the_url_carries_the_placeholder_secrets_manager_fills():
    url = F.database_url("pgbouncer", "directfanz")
    assert "app:${password}@pgbouncer:6432" in url
    assert F.template_refs(url, "directfanz/db/app", "password") == {
        "password": {"secret": "directfanz/db/app", "key": "password", "encode": "url"}}
    assert F.redis_url("cache.internal") == "rediss://:${token}@cache.internal:6379"


def test_the_direct_url_is_written_for_the_client_that_reads_it():
    assert F.direct_url("db.rds.amazonaws.com", "directfanz", "app", "pw", ca_file="rds-global-bundle.pem") == (
        "postgresql://app:pw@db.rds.amazonaws.com:5432/directfanz?sslmode=require&sslcert=rds-global-bundle.pem"
        "&sslaccept=strict")
    assert F.direct_url("db", "directfanz", "app", "pw", flavour="libpq", ca_file="/etc/ssl/rds.pem") == (
        "postgresql://app:pw@db:5432/directfanz?sslmode=verify-full&sslrootcert=/etc/ssl/rds.pem")
    with pytest.raises(AnsibleFilterError, match="silently fall back to prefer"):
        F.direct_url("db", "directfanz", sslmode="verify-full")
    with pytest.raises(AnsibleFilterError, match="flavour 'jdbc' is not known"):
        F.direct_url("db", "directfanz", flavour="jdbc")


@pytest.mark.parametrize("call, message", [
    (lambda: F.database_url("bad host", "db"), "is not a DNS name"),
    (lambda: F.database_url("h", "db", port=70000), "accepted: 1-65535"),
    (lambda: F.database_url("h", "1db"), "is not a PostgreSQL identifier"),
    (lambda: F.database_url("h", "db", connection_limit=0), "connection_limit 0"),
    (lambda: F.database_url("h", "db", sslmode="verify-full"), "not one Prisma reads"),
    (lambda: F.redis_url("h", "t", db=16), "accepted: 0-15"),
    (lambda: F.nextauth_url("https://directfanz.io"), "not a bare domain"),
    (lambda: F.template_refs("no placeholder", "s"), "carries 0 placeholders"),
])
def test_bad_inputs_say_what_is_accepted(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()


def test_nextauth_url_and_the_plain_environment():
    assert F.nextauth_url("DirectFanz.io") == "https://directfanz.io"
    assert F.plain_environment("directfanz.io", "us-east-1", "directfanz-content", {"LOG_LEVEL": "info"}) == {
        "NEXTAUTH_URL": "https://directfanz.io", "AWS_REGION": "us-east-1", "NODE_ENV": "production",
        "CONTENT_BUCKET": "directfanz-content", "LOG_LEVEL": "info"}
    assert "CONTENT_BUCKET" not in F.plain_environment("directfanz.io", "us-east-1", "")


def test_composed_secrets_before_the_data_phase_skips_with_reasons():
    out = F.composed_secrets("x/app/")
    assert out["entries"] == [] and len(out["skipped"]) == 2
    assert out["skipped"][0].startswith("DATABASE_URL and DIRECT_URL: app_secrets_database is not set")


def test_composed_secrets_with_the_data_phase_inputs():
    out = F.composed_secrets("x/app/", {"pooler_host": "pgb", "host": "db", "password_secret": "x/db/app",
                                        "password_key": "password"},
                             {"host": "cache", "token_secret": "x/redis/auth-token"}, connection_limit=3)
    assert [e["name"] for e in out["entries"]] == ["x/app/DATABASE_URL", "x/app/DIRECT_URL", "x/app/REDIS_URL"]
    assert out["skipped"] == []
    database = out["entries"][0]
    assert "connection_limit=3" in database["template"] and database["refs"] == {
        "password": {"secret": "x/db/app", "key": "password", "encode": "url"}}
    assert out["entries"][2]["refs"] == {"token": {"secret": "x/redis/auth-token", "encode": "url"}}
    partial = F.composed_secrets("x/app/", {"host": "db", "password_secret": "x/db/app"})
    assert [e["key"] for e in partial["entries"]] == ["DIRECT_URL"]
    assert partial["skipped"][0].startswith("DATABASE_URL: app_secrets_database.pooler_host is not set")


def test_secret_key_refs_pin_each_key_to_the_reported_version():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x/db/pgbouncer-auth-AbCdEf"
    refs = F.secret_key_refs({"arn": arn, "version_id": "v-1", "value_from": arn + ":::v-1"}, ["userlist", "verifier"])
    assert refs == {"userlist": arn + ":userlist::v-1", "verifier": arn + ":verifier::v-1"}
    with pytest.raises(AnsibleFilterError, match="secrets_manager's results"):
        F.secret_key_refs({"arn": arn}, ["userlist"])
