"""The pooler's configuration on real software: the pgbouncer.ini and auth file that the rds_pgbouncer role renders
(its own task file, run by ansible-playbook) started by the pooler's own start script on Debian's PgBouncer, in
front of Debian's PostgreSQL with TLS and SCRAM - then used the way the app uses it, through its DATABASE_URL.

Needs PostgreSQL and PgBouncer (tools/install_system_deps.sh installs them). Nothing here skips: a missing
program fails the test with that instruction."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import psycopg
import psycopg.sql
import pytest
from conftest import aws_client

from ansible_collections.directfanz.launch.plugins.filter.data import scram_sha256_verifier
from ansible_collections.directfanz.launch.plugins.filter.secrets import composed_secrets
from ansible_collections.directfanz.launch.plugins.module_utils.scram import derived_verifier
from ansible_collections.directfanz.launch.plugins.modules.secrets_manager import quote_for

from tests.pglab.lab import APP_ROLE_SQL, Bouncer, LabCA, PgLab, find_pgbouncer, free_port, make_base, \
    missing_programs

ROOT = Path(__file__).resolve().parents[2]
APP_USER = "directfanz_app"
DATABASE = "directfanz"
STATS_USER = "pgbouncer_stats"
# The lab's PostgreSQL: max_connections 60 stands in for an instance class; the arithmetic takes it explicitly.
PG_MAX_CONNECTIONS = 60
QUERY_WAIT_TIMEOUT = 4
# Prisma's URL flags, which libpq (psycopg) rejects as unknown URI parameters
PRISMA_ONLY = {"pgbouncer", "connection_limit", "pool_timeout", "schema"}

PLAYBOOK = """\
- name: Render the pooler's configuration and compose its auth file with the role's own task files
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/directfanz.launch.aws: "{{ aws }}"
  tasks:
    - name: Generate the application role's password (as the data phase does)
      ansible.builtin.include_role:
        name: directfanz.launch.rds_pgbouncer
        tasks_from: app_password
    - name: Render the configuration
      ansible.builtin.include_role:
        name: directfanz.launch.rds_pgbouncer
        tasks_from: pgbouncer_config
    - name: Compose the auth file in Secrets Manager
      ansible.builtin.include_role:
        name: directfanz.launch.rds_pgbouncer
        tasks_from: pooler_auth
    - name: Hand the rendered files (none of them secret) to the test
      ansible.builtin.copy:
        dest: "{{ out_file }}"
        mode: "0600"
        content: "{{ {'ini': rds_pgbouncer_ini, 'pools': rds_pgbouncer_pools, 'auth_refs': rds_pgbouncer_auth_refs,
                      'server_ca': rds_pgbouncer_server_ca, 'start_script': rds_pgbouncer_start_script,
                      'app_role_sql': rds_pgbouncer_app_role_sql}
                     | to_json }}"
"""


def require_programs() -> None:
    missing = missing_programs()
    if missing:
        pytest.fail("missing %s: run tools/install_system_deps.sh (as root) to install postgresql and pgbouncer"
                    % ", ".join(missing), pytrace=False)


def new_salt() -> str:
    return base64.b64encode(secrets.token_bytes(16)).decode()


def libpq_url(database_url: str, host: str, port: int) -> str:
    """The app's DATABASE_URL as a libpq client uses it: Prisma's flags dropped, the lab's address in place of the
    Cloud Map name (the only part a test cannot reach)."""
    parts = urlsplit(database_url)
    query = "&".join("%s=%s" % kv for kv in parse_qsl(parts.query) if kv[0] not in PRISMA_ONLY)
    netloc = "%s@%s:%d" % (parts.netloc.rsplit("@", 1)[0], host, port)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def render(base: Path, extra: dict) -> subprocess.CompletedProcess:
    """Run the role's task file through ansible-playbook with these variables (as extra vars, from a 0600 file)."""
    (base / "vars.json").write_text(json.dumps(extra))
    (base / "vars.json").chmod(0o600)
    (base / "render.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(base / "render.yml"),
                           "-i", "localhost,", "-c", "local", "-e", "@%s" % (base / "vars.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def lab(sandbox) -> Iterator[dict]:
    """PostgreSQL up; the application role's password generated into Secrets Manager (moto) and the pooler's auth
    file composed from it, both by the role's own task files; the app role made by the role's SQL run as an RDS-like
    (non-superuser) master with the verifier that auth file holds; the configuration rendered for this lab."""
    require_programs()
    base = make_base()
    try:
        yield from _lab(base, sandbox)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def composed(template: str, refs: dict, secret_name: str, stored: dict[str, str]) -> str:
    """A template filled as secrets_manager fills it (the module's own quote_for), from the referenced values."""
    for placeholder, ref in refs.items():
        value = stored[ref["secret"]]
        if ref.get("key"):
            value = json.loads(value)[ref["key"]]
        template = template.replace("${%s}" % placeholder, quote_for(ref, value, secret_name))
    return template


def _lab(base: Path, sandbox: dict) -> Iterator[dict]:
    started = time.monotonic()
    with PgLab(base, max_connections=PG_MAX_CONNECTIONS) as pg:
        with psycopg.connect(pg.admin_conninfo(), autocommit=True) as admin:
            # RDS's master user is not a superuser: CREATEROLE and CREATEDB, as rds_superuser has
            admin.execute("CREATE ROLE rdsmaster LOGIN CREATEROLE CREATEDB")
        name = "pglab-" + secrets.token_hex(4)
        kms = aws_client(sandbox, "kms")
        kms.create_alias(AliasName="alias/%s-data" % name, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        (base / "server-ca.pem").write_text(pg.ca_pem)
        port = free_port()
        extra = {
            "launch_environment": "sandbox",
            "launch_name": name,
            "aws": {"region": "us-east-1", "endpoint_url": sandbox["aws_endpoint_url"], "access_key": "testing",
                    "secret_key": sandbox["aws_secret_key"]},
            "rds_pgbouncer_image": "ghcr.io/cloudnative-pg/pgbouncer:1.24.0-7",
            "rds_pgbouncer_host": "pgbouncer.directfanz-sandbox.internal",
            "rds_pgbouncer_listen_addr": "127.0.0.1",
            "rds_pgbouncer_port": port,
            "rds_pgbouncer_server_host": "127.0.0.1",
            "rds_pgbouncer_server_port": pg.port,
            "rds_pgbouncer_server_ca_file": str(base / "server-ca.pem"),
            "rds_pgbouncer_config_dir": str(base / "bouncer"),
            "rds_pgbouncer_version": "1.18",
            "rds_pgbouncer_stats_users": [{"name": STATS_USER}],
            "rds_pgbouncer_max_connections": PG_MAX_CONNECTIONS,
            "rds_pgbouncer_client_services": {"web": {"max_tasks": 2}},
            "rds_pgbouncer_query_wait_timeout": QUERY_WAIT_TIMEOUT,
            "rds_pgbouncer_server_login_retry": 1,
            "rds_pgbouncer_log_connections": True,
            "out_file": str(base / "rendered.json"),
            "ansible_python_interpreter": sys.executable,
        }
        run = render(base, extra)
        assert run.returncode == 0, run.stdout + run.stderr
        rendered = json.loads((base / "rendered.json").read_text())
        # what production's tasks get: the password only inside AWS, the auth file by version from Secrets Manager
        sm = aws_client(sandbox, "secretsmanager")
        app_secret = sm.get_secret_value(SecretId="%s/db/app" % name)["SecretString"]
        password = json.loads(app_secret)["password"]
        assert password not in run.stdout + run.stderr
        arn, key, unused, version = rendered["auth_refs"]["userlist"].rsplit(":", 3)
        assert key == "userlist"
        auth = json.loads(sm.get_secret_value(SecretId=arn, VersionId=version)["SecretString"])
        rendered["verifier"] = auth["verifier"]
        # the lab's console user, added beside what production runs, so the tests can read SHOW POOLS
        stats_password = secrets.token_urlsafe(24)
        rendered["userlist"] = auth["userlist"] + '"%s" "%s"\n' % (
            STATS_USER, scram_sha256_verifier(stats_password, new_salt()))
        # the app's DATABASE_URL exactly as the config phase composes it (its filter, the module's encoding)
        entry = [e for e in composed_secrets("%s/app/" % name, {
            "pooler_host": extra["rds_pgbouncer_host"], "pooler_port": port, "name": DATABASE, "user": APP_USER,
            "password_secret": "%s/db/app" % name, "password_key": "password"},
            connection_limit=rendered["pools"]["client_connections_per_task"])["entries"]
            if e["key"] == "DATABASE_URL"][0]
        rendered["database_url"] = composed(entry["template"], entry["refs"], entry["name"],
                                            {"%s/db/app" % name: app_secret})
        sql = pg.psql_file(APP_ROLE_SQL, {"APP_ROLE": APP_USER, "APP_DATABASE": DATABASE,
                                          "APP_SCRAM_VERIFIER": rendered["verifier"],
                                          "APP_CONNECTION_LIMIT": str(rendered["pools"]["app_role_connection_limit"])},
                           user="rdsmaster")
        assert sql.returncode == 0, sql.stdout + sql.stderr
        yield {"pg": pg, "base": base, "port": port, "password": password, "stats_password": stats_password,
               "name": name, "auth": auth, "rendered": rendered, "vars": extra,
               "setup_seconds": time.monotonic() - started}


@pytest.fixture()
def bouncer(lab) -> Iterator[Bouncer]:
    """A fresh PgBouncer per test (about 0.2 s), so no test inherits another's server connections."""
    rendered = lab["rendered"]
    with Bouncer(lab["base"] / "bouncer", rendered["ini"], rendered["userlist"], rendered["server_ca"],
                 lab["port"]) as started:
        yield started


def app_url(lab) -> str:
    return libpq_url(lab["rendered"]["database_url"], "127.0.0.1", lab["port"])


def app_connect(lab, **kwargs) -> psycopg.Connection:
    """Connect as the app does: its URL, and psycopg's side of the URL's promise (no named prepared statements)."""
    kwargs.setdefault("prepare_threshold", None)
    kwargs.setdefault("connect_timeout", 10)
    return psycopg.connect(app_url(lab), **kwargs)


def server_backends(lab) -> list[tuple]:
    with psycopg.connect(lab["pg"].admin_conninfo(), autocommit=True) as admin:
        return admin.execute(
            "SELECT a.pid, s.ssl, s.version FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
            "WHERE a.usename = %s AND a.backend_type = 'client backend'", (APP_USER,)).fetchall()


def test_the_rendered_files_are_what_the_role_promises(lab):
    rendered = lab["rendered"]
    ini = rendered["ini"]
    assert "pool_mode = transaction" in ini
    assert "auth_type = scram-sha-256" in ini
    assert "server_tls_sslmode = verify-full" in ini and "client_tls_sslmode = require" in ini
    assert "%s = host=127.0.0.1 port=%d dbname=%s" % (DATABASE, lab["pg"].port, DATABASE) in ini
    assert "auth_user" not in ini and "max_prepared_statements" not in ini
    # verifiers only: neither password is anywhere in the files the pooler gets
    for secret in (lab["password"], lab["stats_password"]):
        assert secret not in ini and secret not in rendered["userlist"]
    # the auth file composed in Secrets Manager: the application role's line only, its verifier the one the role's
    # password gets, computed from the generated password with the salt derived for this secret
    assert lab["auth"]["userlist"] == '"%s" "%s"\n' % (APP_USER, lab["auth"]["verifier"])
    assert lab["auth"]["verifier"] == derived_verifier(lab["password"], "%s/db/pgbouncer-auth" % lab["name"])
    assert rendered["start_script"] == (ROOT / "roles/rds_pgbouncer/files/pgbouncer-start.sh").read_text().rstrip()
    url = urlsplit(rendered["database_url"])
    assert url.hostname == "pgbouncer.directfanz-sandbox.internal" and url.port == lab["port"]
    assert dict(parse_qsl(url.query)) == {"sslmode": "require", "pgbouncer": "true", "connection_limit": "10",
                                          "pool_timeout": "10"}
    # the arithmetic for the lab's 60 connections
    pools = rendered["pools"]
    assert (pools["max_db_connections"], pools["default_pool_size"], pools["reserve_pool_size"]) == (11, 9, 2)
    assert pools["app_role_connection_limit"] == 44


@pytest.mark.parametrize("environment, image, accepted", [
    ("production", "ghcr.io/cloudnative-pg/pgbouncer:1.24.0-7", False),
    ("production", "ghcr.io/cloudnative-pg/pgbouncer@sha256:" + "ab" * 32, True),
    ("sandbox", "ghcr.io/cloudnative-pg/pgbouncer:latest", False),
    ("sandbox", "ghcr.io/cloudnative-pg/pgbouncer", False),
])
def test_the_image_must_be_pinned(lab, environment, image, accepted):
    run = render(lab["base"], dict(lab["vars"], launch_environment=environment, rds_pgbouncer_image=image))
    output = run.stdout + run.stderr
    assert (run.returncode == 0) is accepted, output
    if not accepted:
        assert "rds_pgbouncer_image must be pinned as <repository>@sha256:<64 hex digits>" in output
    assert lab["password"] not in output


def test_the_app_role_sql_is_idempotent_and_stores_our_verifier(lab):
    pg = lab["pg"]
    env = {"APP_ROLE": APP_USER, "APP_DATABASE": DATABASE, "APP_SCRAM_VERIFIER": lab["rendered"]["verifier"],
           "APP_CONNECTION_LIMIT": str(lab["rendered"]["pools"]["app_role_connection_limit"])}
    again = pg.psql_file(APP_ROLE_SQL, env, user="rdsmaster")
    assert again.returncode == 0, again.stderr
    with psycopg.connect(pg.admin_conninfo(), autocommit=True) as admin:
        role = admin.execute("SELECT rolpassword, rolconnlimit, rolsuper, rolcreatedb, rolcreaterole FROM pg_authid "
                             "WHERE rolname = %s", (APP_USER,)).fetchone()
        owner = admin.execute("SELECT pg_get_userbyid(datdba), datacl::text FROM pg_database WHERE datname = %s",
                              (DATABASE,)).fetchone()
    assert role == (lab["rendered"]["verifier"], 44, False, False, False)
    assert owner[0] == APP_USER and "=Tc/" not in owner[1]  # PUBLIC's default CONNECT/TEMP revoked
    # a malformed verifier would be hashed as a plain password by PostgreSQL: the SQL refuses it
    bad = pg.psql_file(APP_ROLE_SQL, dict(env, APP_SCRAM_VERIFIER="SCRAM-SHA-256$4096:abc$def:ghi"), user="rdsmaster")
    assert bad.returncode != 0 and "not a SCRAM-SHA-256 secret" in bad.stderr
    missing = pg.psql_file(APP_ROLE_SQL, {k: v for k, v in env.items() if k != "APP_DATABASE"}, user="rdsmaster")
    assert missing.returncode != 0 and "APP_DATABASE is not set" in missing.stderr


def test_our_verifier_is_the_one_postgresql_computes(lab):
    """PostgreSQL hashes a plain password itself (password_encryption scram-sha-256) with a salt of its own:
    our function, given that salt, must produce the identical secret - the condition for SCRAM pass-through."""
    password = "probe-" + secrets.token_urlsafe(12)
    with psycopg.connect(lab["pg"].admin_conninfo(), autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE ROLE verifier_probe PASSWORD {}").format(psycopg.sql.Literal(password)))
        stored = admin.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'verifier_probe'").fetchone()[0]
        admin.execute("DROP ROLE verifier_probe")
    iterations, salt = stored.split("$")[1].split(":")
    assert scram_sha256_verifier(password, salt, int(iterations)) == stored


def test_transaction_pooling_serves_many_clients_on_few_server_connections(lab, bouncer):
    pools = lab["rendered"]["pools"]
    limit = pools["default_pool_size"] + pools["reserve_pool_size"]
    clients = 40
    pids: list[int] = []
    errors: list[BaseException] = []
    peak = [0]
    done = threading.Event()

    def client() -> None:
        try:
            with app_connect(lab) as conn:
                with conn.transaction():
                    pid = conn.execute("SELECT pg_backend_pid(), pg_sleep(0.3)").fetchone()[0]
                    pids.append(pid)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], len(server_backends(lab)))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    threads = [threading.Thread(target=client) for unused in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - started
    done.set()
    watcher.join()
    assert not errors, errors[:3]
    assert len(pids) == clients
    distinct = len(set(pids))
    assert 2 <= distinct <= limit < clients, (distinct, limit)
    assert 2 <= peak[0] <= limit, (peak[0], limit)
    # 40 transactions of 0.3 s on at most `limit` connections cannot finish in one 0.3 s round
    assert elapsed >= 0.3 * clients / limit
    # PgBouncer's console, through the stats user, agrees: one pool, no more servers than the pool allows
    stats_url = "postgresql://%s:%s@127.0.0.1:%d/pgbouncer?sslmode=require" % (
        STATS_USER, lab["stats_password"], lab["port"])
    with psycopg.connect(stats_url, autocommit=True, prepare_threshold=None) as console:
        cur = console.cursor()
        cur.execute("SHOW POOLS")
        columns = [c.name for c in cur.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cur.fetchall() if row[columns.index("database")] == DATABASE]
    assert len(rows) == 1 and rows[0]["user"] == APP_USER and rows[0]["pool_mode"] == "transaction"
    assert rows[0]["sv_active"] + rows[0]["sv_idle"] + rows[0]["sv_used"] <= limit
    print("\n40 clients, %d server connections at most (pool %d + reserve %d), %.2f s"
          % (peak[0], pools["default_pool_size"], pools["reserve_pool_size"], elapsed))


def test_scram_is_passed_through_and_tls_is_verified_toward_postgresql(lab, bouncer):
    with app_connect(lab) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == APP_USER
        assert conn.info.pgconn.ssl_in_use  # client -> PgBouncer
        backends = server_backends(lab)
    assert backends and all(ssl for unused, ssl, unused in backends)  # PgBouncer -> PostgreSQL
    assert {version for unused, unused, version in backends} <= {"TLSv1.2", "TLSv1.3"}


def test_bad_passwords_unknown_users_and_plain_tcp_are_rejected(lab, bouncer):
    url = urlsplit(app_url(lab))
    wrong = url._replace(netloc="%s:%s@%s" % (APP_USER, "not-the-password", url.netloc.rsplit("@", 1)[1]))
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        psycopg.connect(urlunsplit(wrong), connect_timeout=10)
    nobody = url._replace(netloc="%s:%s@%s" % ("intruder", lab["password"], url.netloc.rsplit("@", 1)[1]))
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        psycopg.connect(urlunsplit(nobody), connect_timeout=10)
    plain = url._replace(query="sslmode=disable")
    with pytest.raises(psycopg.OperationalError, match="SSL required"):
        psycopg.connect(urlunsplit(plain), connect_timeout=10)
    other_db = url._replace(path="/postgres")
    with pytest.raises(psycopg.OperationalError, match="no such database"):
        psycopg.connect(urlunsplit(other_db), connect_timeout=10)
    # none of that reached PostgreSQL as the app role
    assert not server_backends(lab)


def _hold_the_only_server_then_query(lab, **kwargs) -> None:
    """Run one statement 10 times (psycopg prepares it on its 5th run by default) on the pool's only server
    connection, let another client's transaction take that connection, and run the statement again - which
    PgBouncer now sends to a second server connection."""
    with app_connect(lab, autocommit=True, **kwargs) as repeat, app_connect(lab, prepare_threshold=None) as other:
        for value in range(10):
            assert repeat.execute("SELECT %s::int + 1", (value,)).fetchone()[0] == value + 1
        other.execute("SELECT 1")  # BEGIN ... holds the server connection until commit
        try:
            assert repeat.execute("SELECT %s::int + 1", (41,)).fetchone()[0] == 42
        finally:
            other.commit()


def test_prepared_statements_behave_as_the_url_promises(lab, bouncer):
    # the URL's promise (Prisma pgbouncer=true; psycopg prepare_threshold=None): unnamed statements only - works
    _hold_the_only_server_then_query(lab, prepare_threshold=None)


def test_psycopg_default_prepare_threshold_fails_on_this_pgbouncer(lab, bouncer):
    """The measured fact behind the URL's flags: PgBouncer 1.18 in transaction mode does not carry named prepared
    statements across server connections, so psycopg's default (prepare after 5 runs) breaks."""
    with pytest.raises(psycopg.errors.InvalidSqlStatementName, match="prepared statement .* does not exist"):
        _hold_the_only_server_then_query(lab, prepare_threshold=5)


def _refused(lab, ini: str, ca_pem: str) -> str:
    """Start PgBouncer on this configuration, expect the app's login to fail, and return PgBouncer's log."""
    started = time.monotonic()
    with Bouncer(lab["base"] / "bouncer", ini, lab["rendered"]["userlist"], ca_pem, lab["port"]) as bad:
        with pytest.raises(psycopg.OperationalError) as refused:
            app_connect(lab)
        log = bad.log_text()
    elapsed = time.monotonic() - started
    assert elapsed < QUERY_WAIT_TIMEOUT + 10
    assert not server_backends(lab)
    print("\nrefused after %.1f s: %s" % (elapsed, str(refused.value).splitlines()[-1]))
    return log


def test_a_database_certificate_from_another_ca_is_refused(lab):
    log = _refused(lab, lab["rendered"]["ini"], LabCA("not the database's CA").pem)
    assert "certificate verify failed" in log, log[-2000:]


def test_a_database_certificate_for_another_name_is_refused(lab):
    # verify-full, not only verify-ca: the same CA, but 127.0.0.2 is not a name the certificate carries
    ini = lab["rendered"]["ini"].replace("host=127.0.0.1 port=", "host=127.0.0.2 port=")
    assert ini != lab["rendered"]["ini"]
    log = _refused(lab, ini, lab["pg"].ca_pem)
    assert "name `127.0.0.2' not present in server certificate" in log, log[-2000:]


def test_the_health_check_and_a_safe_shutdown(lab, bouncer):
    # the task definition's health check (pg_isready needs no login)
    pg_isready = str(lab["pg"].bindir / "pg_isready")
    assert subprocess.run([pg_isready, "-q", "-h", "127.0.0.1", "-p", str(lab["port"])], check=False).returncode == 0
    # ECS stops a task with SIGTERM: the script turns it into PgBouncer's safe shutdown, which lets the
    # transaction in flight finish before it exits
    with app_connect(lab) as conn:
        conn.execute("SELECT 1")  # a transaction is open
        bouncer.terminate()
        time.sleep(1.0)
        assert bouncer.proc is not None and bouncer.proc.poll() is None, bouncer.log_text()
        assert conn.execute("SELECT 2").fetchone()[0] == 2
        conn.commit()
    assert bouncer.stop(timeout=10) == 0, bouncer.log_text()
    assert subprocess.run([pg_isready, "-q", "-h", "127.0.0.1", "-p", str(lab["port"])], check=False).returncode != 0


def test_versions(lab):
    """The versions these facts were measured on, in the test log."""
    pgbouncer = subprocess.run([find_pgbouncer() or "pgbouncer", "--version"], capture_output=True, text=True,
                               check=False)
    print("\n%s; %s; lab set-up %.1f s" % (pgbouncer.stdout.splitlines()[0], lab["pg"].version(),
                                           lab["setup_seconds"]))
    assert pgbouncer.returncode == 0
