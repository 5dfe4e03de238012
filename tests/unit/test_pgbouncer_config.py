"""The pooler's pure shaping (plugins/filter/data.py): pool arithmetic, refusals, the SCRAM verifier, the rendered
pgbouncer.ini, auth file and its Secrets Manager template. The same functions render what
tests/integration/test_pgbouncer.py runs on real PgBouncer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.directfanz.launch.plugins.filter import data
from ansible_collections.directfanz.launch.plugins.filter.data import (
    pgbouncer_auth_template, pgbouncer_ini, pgbouncer_pools, pgbouncer_userlist, rds_default_max_connections,
    scram_sha256_verifier)
from ansible_collections.directfanz.launch.plugins.module_utils import scram

SERVICES = {"web": {"max_tasks": 10}, "ws": {"max_tasks": 6}, "stream": {"max_tasks": 4}}


def pools(**overrides):
    settings = {"instance_class": "db.t4g.medium", "client_services": SERVICES}
    settings.update(overrides)
    return pgbouncer_pools(settings)


@pytest.mark.parametrize("instance_class, max_connections, per_task, default_pool, reserve", [
    # 1 GiB: 63 left after 14 reserved, over 4 pooler tasks at a deployment's peak
    ("db.t4g.micro", 77, 15, 12, 3),
    ("db.t4g.small", 187, 43, 35, 8),
    ("db.t4g.medium", 408, 98, 79, 19),
    ("db.m7g.large", 850, 209, 168, 41),
    ("db.m6g.large", 850, 209, 168, 41),
    # from here the clients (200, 400 while they deploy) bound the pool, not the database
    ("db.r7g.large", 1733, 400, 320, 80),
    ("db.r6g.xlarge", 3499, 400, 320, 80),
    ("db.r7g.2xlarge", 5000, 400, 320, 80),
])
def test_the_arithmetic_for_several_classes(instance_class, max_connections, per_task, default_pool, reserve):
    result = pools(instance_class=instance_class)
    assert result["max_connections"] == max_connections
    assert result["max_db_connections"] == per_task
    assert (result["default_pool_size"], result["reserve_pool_size"]) == (default_pool, reserve)
    assert result["default_pool_size"] + result["reserve_pool_size"] == result["max_db_connections"]
    # four pooler tasks at their limit never take more than what was left after the reservations
    assert result["peak_pooler_tasks"] * result["max_db_connections"] <= result["available"]
    assert result["app_role_connection_limit"] == result["peak_pooler_tasks"] * result["max_db_connections"]
    assert result["max_client_conn"] == 410  # (10 + 6 + 4) x 10 x 200% + 10: every client on one task
    assert any("LEAST(" in line for line in result["lines"])


def test_the_lines_show_each_step_of_the_arithmetic():
    lines = pools(instance_class="db.t4g.medium")["lines"]
    text = "\n".join(lines)
    assert "instance class db.t4g.medium: 4 GiB nominal" in text
    assert "max_connections = LEAST(3894495150 / 9531392, 5000) = 408 (RDS default, estimated)" in text
    assert ("reserved: migrations 4 + monitoring 2 + operators 3 + rdsadmin 2 + superuser_reserved_connections 3"
            " = 14") in text
    assert "left for the pooler: 408 - 14 = 394" in text
    assert "pooler tasks at once: 2 running, up to 200% during a deployment = 4" in text
    assert "server connections per pooler task: floor(394 / 4) = 98" in text
    assert "client connections: stream 4 x 10 + web 10 x 10 + ws 6 x 10 = 200; up to 200% while they deploy = 400" \
        in text
    assert "default_pool_size = 98 - reserve_pool_size 19 = 79; max_db_connections = 98" in text
    assert "app role CONNECTION LIMIT = 98 per task x 4 tasks = 392" in text


@pytest.mark.parametrize("instance_class, observed", [
    # published `SHOW max_connections` readings for classes of the same memory (see the estimate's comment)
    ("db.t3.micro", 81), ("db.t3.small", 198), ("db.t3.medium", 413), ("db.m5.large", 856),
])
def test_the_estimate_errs_low_but_not_by_much(instance_class, observed):
    estimate, unused = rds_default_max_connections(instance_class)
    assert 0.94 * observed <= estimate <= observed


def test_an_explicit_max_connections_replaces_the_estimate():
    result = pools(max_connections=60, client_services={"web": {"max_tasks": 2}})
    assert result["lines"][0] == "max_connections = 60 (set explicitly in the parameter group)"
    assert (result["max_db_connections"], result["default_pool_size"], result["reserve_pool_size"]) == (11, 9, 2)


def test_fewer_clients_than_the_share_bound_the_pool():
    result = pools(instance_class="db.r7g.large", client_services={"web": {"max_tasks": 2}},
                   client_connections_per_task=5)
    assert result["max_db_connections"] == 20  # 2 x 5 x 200%: more server connections would never be used
    assert result["max_client_conn"] == 30


def test_a_gentler_pooler_deployment_gives_each_task_more():
    assert pools(pooler_deployment_max_percent=150)["peak_pooler_tasks"] == 3
    assert pools(pooler_deployment_max_percent=150)["max_db_connections"] == 131  # floor(394 / 3)


@pytest.mark.parametrize("overrides, message", [
    ({"instance_class": "db.x9.huge"}, "unknown RDS instance class 'db.x9.huge'"),
    ({"instance_class": None}, "needs instance_class"),
    ({"max_connections": 14}, "reserved connections (14) use all of max_connections (14)"),
    ({"max_connections": 30}, "the pools do not fit: 16 connections left for the pooler over 4 pooler tasks"),
    ({"instance_class": "db.t4g.micro", "pooler_tasks": 8}, "the pools do not fit"),
    ({"client_services": {}}, "client_services must name the services"),
    ({"client_services": {"web": {"max_tasks": 0}}}, "max_tasks must be at least 1"),
    ({"reserve_fraction": 1.5}, "reserve_fraction must be at least 0 and below 1"),
    ({"file_descriptor_limit": 500}, "above the task's nofile limit 500"),
    ({"reserved": {"operators": "many"}}, "operators must be a whole number"),
    ({"pooler_deployment_max_percent": 50}, "pooler_deployment_max_percent must be at least 100"),
])
def test_refusals_say_what_does_not_fit(overrides, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pools(**overrides)


def test_scram_verifier_against_the_rfc_7677_exchange():
    """RFC 7677's example (user "user", password "pencil"): a server holding our verifier accepts the RFC's
    client proof and answers with the RFC's server signature."""
    verifier = scram_sha256_verifier("pencil", "W22ZaJ0SNY7soEsUEjb6gQ==", 4096)
    head, keys = verifier.split("$", 1)[1].split("$")
    assert head == "4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = ("n=user,r=rOprNGfwEbeRWgbNEkqO,r=%s,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=%s"
                    % (nonce, nonce)).encode()
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(server_signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_scram_verifier_against_postgresql_15s_own():
    """A verifier PostgreSQL 15.18 stored for ALTER ROLE ... PASSWORD 'lab-password-1' (password_encryption
    scram-sha-256), read from pg_authid; the integration test repeats this against the running server."""
    stored = ("SCRAM-SHA-256$4096:nYUaWYauBb0okb2mmsvdYw==$q2omd7TCKsrH9mzCO2N3WUQ+u7GG3XzZEzAyjjkbgpo=:"
              "q7C9Qv7wU9X+fxQAi/6i5LbKD6eByYdgcX6yVT6AWzA=")
    assert scram_sha256_verifier("lab-password-1", "nYUaWYauBb0okb2mmsvdYw==", 4096) == stored


@pytest.mark.parametrize("password, salt, iterations, message", [
    ("", "c2FsdHNhbHRzYWx0", 4096, "non-empty string"),
    ("pässword", "c2FsdHNhbHRzYWx0", 4096, "printable ASCII"),
    ("secret", "not base64!", 4096, "must be base64"),
    ("secret", "c2FsdA==", 4096, "at least 8 bytes"),
    ("secret", "c2FsdHNhbHRzYWx0", 1000, "at least 4096"),
])
def test_scram_verifier_refusals(password, salt, iterations, message):
    with pytest.raises(AnsibleFilterError, match=message):
        scram_sha256_verifier(password, salt, iterations)


SETTINGS = {"server_host": "directfanz.abc123.us-east-1.rds.amazonaws.com", "database": "directfanz",
            "config_dir": "/run/pgbouncer", "stats_users": ["pgbouncer_stats"]}


def ini_lines(settings=None, pool=None):
    text = pgbouncer_ini(dict(SETTINGS, **(settings or {})), pool or pools())
    return text, dict(line.split(" = ", 1) if " = " in line else (line.rstrip(" ="), "")
                      for line in text.splitlines() if line and not line.startswith((";", "[")))


def test_the_ini_carries_the_design():
    text, ini = ini_lines()
    assert ini["directfanz"] == "host=directfanz.abc123.us-east-1.rds.amazonaws.com port=5432 dbname=directfanz"
    assert ini["pool_mode"] == "transaction"
    assert ini["auth_type"] == "scram-sha-256" and ini["auth_file"] == "/run/pgbouncer/userlist.txt"
    assert ini["server_tls_sslmode"] == "verify-full" and ini["server_tls_ca_file"] == "/run/pgbouncer/server-ca.pem"
    assert ini["client_tls_sslmode"] == "require"
    assert ini["client_tls_key_file"] == "/run/pgbouncer/client-tls.key"
    assert ini["client_tls_cert_file"] == "/run/pgbouncer/client-tls.crt"
    assert ini["listen_port"] == "6432" and ini["listen_addr"] == "0.0.0.0"
    assert (ini["default_pool_size"], ini["reserve_pool_size"], ini["max_db_connections"], ini["max_client_conn"]) \
        == ("79", "19", "98", "410")
    assert ini["stats_users"] == "pgbouncer_stats" and ini["admin_users"] == ""
    assert ini["unix_socket_dir"] == "" and ini["logfile"] == "" and ini["pidfile"] == ""
    assert ini["ignore_startup_parameters"] == "extra_float_digits"
    assert ini["query_wait_timeout"] == "30" and ini["dns_max_ttl"] == "5"
    # no server credentials, no auth_user, no version-specific key by default
    assert "auth_user" not in text and "password" not in text and "max_prepared_statements" not in text


def test_max_prepared_statements_needs_1_21():
    with pytest.raises(AnsibleFilterError, match="needs PgBouncer 1.21 or later"):
        ini_lines({"pgbouncer_version": "1.18", "max_prepared_statements": 100})
    unused, ini = ini_lines({"pgbouncer_version": "1.24.1", "max_prepared_statements": 100})
    assert ini["max_prepared_statements"] == "100"


@pytest.mark.parametrize("settings, message", [
    ({"server_host": "db.example.com\nadmin_users = x"}, "server_host"),
    ({"server_host": ""}, "needs server_host"),
    ({"database": "Direct-Fanz"}, "database 'Direct-Fanz'"),
    ({"config_dir": "relative/dir"}, "config_dir"),
    ({"config_dir": "/run/pgbouncer/"}, "config_dir"),
    ({"listen_addr": "0.0.0.0 ; x"}, "listen_addr"),
    ({"stats_users": ["Robert'); DROP"]}, "stats user"),
    ({"pgbouncer_version": "latest"}, "pgbouncer_version"),
    ({"ignore_startup_parameters": ["options\n"]}, "ignore_startup_parameters"),
])
def test_ini_refusals(settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        ini_lines(settings)


def test_ini_needs_the_pools():
    with pytest.raises(AnsibleFilterError, match="pools lacks default_pool_size"):
        pgbouncer_ini(SETTINGS, {})


def test_userlist_holds_verifiers_only():
    users = [{"name": "directfanz_app", "password": "s3cret-pass", "scram_salt": "c2FsdHNhbHRzYWx0c2FsdA=="},
             {"name": "pgbouncer_stats", "scram_verifier": scram_sha256_verifier("other", "c2FsdHNhbHRzYWx0")}]
    text = pgbouncer_userlist(users)
    lines = text.splitlines()
    assert lines[0] == '"directfanz_app" "%s"' % scram_sha256_verifier("s3cret-pass", "c2FsdHNhbHRzYWx0c2FsdA==")
    assert lines[1].startswith('"pgbouncer_stats" "SCRAM-SHA-256$4096:')
    assert "s3cret-pass" not in text and text.endswith("\n")


@pytest.mark.parametrize("users, message", [
    ([], "non-empty list"),
    ([{"name": "app"}], "needs password and scram_salt"),
    ([{"name": "app", "scram_verifier": "md5abcdef"}], "not of the form SCRAM-SHA-256"),
    ([{"name": "app", "scram_verifier": "SCRAM-SHA-256$4096:abc$def:ghi"}], "not of the form"),
    ([{"name": "app\" \"x", "password": "p", "scram_salt": "c2FsdHNhbHRzYWx0"}], "user name"),
    ([{"name": "app", "password": "p", "scram_salt": "c2FsdHNhbHRzYWx0"}] * 2, "listed twice"),
])
def test_userlist_refusals(users, message):
    with pytest.raises(AnsibleFilterError, match=message):
        pgbouncer_userlist(users)


def test_the_auth_template_is_json_whose_two_keys_carry_one_verifier():
    text = pgbouncer_auth_template("directfanz_app")
    assert json.loads(text) == {"userlist": '"directfanz_app" "${verifier}"\n', "verifier": "${verifier}"}
    verifier = scram.derived_verifier("generated-password-1", "directfanz/db/pgbouncer-auth")
    filled = json.loads(text.replace("${verifier}", verifier))  # the verifier's alphabet needs no JSON escaping
    assert filled["userlist"] == '"directfanz_app" "%s"\n' % verifier
    assert filled["userlist"] == pgbouncer_userlist([{"name": "directfanz_app", "scram_verifier": verifier}])
    with pytest.raises(AnsibleFilterError, match="lower-case letters, digits and _"):
        pgbouncer_auth_template('app" "x')


def test_a_derived_verifier_is_stable_per_password_and_context_and_is_a_real_verifier():
    one = scram.derived_verifier("generated-password-1", "a/db/pgbouncer-auth")
    assert one == scram.derived_verifier("generated-password-1", "a/db/pgbouncer-auth")
    assert one != scram.derived_verifier("generated-password-2", "a/db/pgbouncer-auth")
    assert one != scram.derived_verifier("generated-password-1", "b/db/pgbouncer-auth")
    iterations, salt = one.split("$")[1].split(":")
    # the same verifier as PostgreSQL would store for that password with that salt
    assert scram_sha256_verifier("generated-password-1", salt, int(iterations)) == one
    assert len(base64.b64decode(salt)) == 16


def test_the_filters_are_registered():
    names = data.FilterModule().filters()
    assert {"pgbouncer_pools", "pgbouncer_ini", "pgbouncer_userlist", "pgbouncer_auth_template",
            "scram_sha256_verifier", "rds_default_max_connections"} <= set(names)
    assert names["rds_default_max_connections"]("db.r7g.large") == 1733
