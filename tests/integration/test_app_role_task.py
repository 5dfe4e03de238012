"""The application role's one-off task, proven end to end: the role's own task file (roles/rds_pgbouncer/tasks/
app_role.yml, through ansible-playbook against the sandbox's moto) keeps the execution role and its policy and
registers and runs the task definition; then the command and environment of THAT registered task definition run
here - the ECS secrets resolved from moto's Secrets Manager the way ECS resolves valueFrom (JSON key, version id) -
against real PostgreSQL with TLS (tests/pglab), as an RDS-like master that is not a superuser. The app role then logs
in with the password whose SCRAM verifier was given, a second run of the task changes nothing and succeeds, and what
must fail fails: a certificate that does not name the host (verify-full), a wrong master password, sslmode other than
verify-full. No secret appears in the playbook's -vvv output or the task's output.

Needs PostgreSQL (tools/install_system_deps.sh). Nothing here skips: a missing program fails with that instruction."""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import subprocess

import psycopg
import pytest

from ansible_collections.directfanz.launch.plugins.filter.data import scram_sha256_verifier
from conftest import ROOT, playbook
from conftest import aws_client as client
from tests.pglab.lab import PgLab, make_base, pg_bindir

ACCOUNT = "123456789012"
LAUNCH = "directfanz-sandbox"
CLUSTER = LAUNCH
JOB = "%s-db-setup" % LAUNCH
APP_USER = "directfanz_app"
DATABASE = "directfanz"
MASTER = "rdsmaster"
CONNECTION_LIMIT = 20
IMAGE = "public.ecr.aws/docker/library/postgres:16.6"
PLAY = """
- name: Make the application role with the role's own task file
  hosts: launch_controller
  gather_facts: false
  environment: "{{ launch_aws_environment | default({}) }}"
  vars_files:
    - %s/playbooks/vars/launch_defaults.yml
  module_defaults:
    group/amazon.aws.aws: "{{ launch_aws_module_defaults }}"
    directfanz.launch.ecs_one_off_task: "{{ launch_aws_module_defaults }}"
    directfanz.launch.launch_facts: "{{ launch_aws_module_defaults }}"
  tasks:
    - name: Make it
      ansible.builtin.include_role:
        name: directfanz.launch.rds_pgbouncer
        tasks_from: app_role
    - name: Hand the outcome to the test
      ansible.builtin.copy:
        content: "{{ rds_pgbouncer_app_role_task | to_json }}"
        dest: "{{ facts_file }}"
        mode: "0600"
      changed_when: false
      check_mode: false
""" % ROOT


def require_programs() -> None:
    bindir = pg_bindir()
    missing = [p for p in ("initdb", "pg_ctl", "postgres", "psql") if bindir is None or not (bindir / p).exists()]
    if missing:
        pytest.fail("missing %s: run tools/install_system_deps.sh (as root) to install postgresql" % ", ".join(missing),
                    pytrace=False)


@pytest.fixture(scope="module")
def pg():
    """Real PostgreSQL with TLS; the RDS-like master (CREATEROLE CREATEDB, not a superuser) with a password."""
    require_programs()
    base = make_base()
    try:
        with PgLab(base) as lab:
            password = secrets.token_urlsafe(24)
            with psycopg.connect(lab.admin_conninfo(), autocommit=True) as admin:
                admin.execute("SET password_encryption = 'scram-sha-256'")
                admin.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                    psycopg.sql.Identifier(MASTER), psycopg.sql.Literal(password)))
            yield {"lab": lab, "base": base, "master_password": password}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def aws_world(sandbox, pg_port, master_password, app_password):
    """What earlier phases leave in AWS: the data key, the operations key (the certificates phase's), RDS's managed
    master secret, the pooler auth secret (with the role's verifier), the network, the cluster."""
    kms = client(sandbox, "kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/%s-data" % LAUNCH, TargetKeyId=key["KeyId"])
    operations = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/%s-operations" % LAUNCH, TargetKeyId=operations["KeyId"])
    sm = client(sandbox, "secretsmanager")
    master = sm.create_secret(Name="rds!db-0a1b2c3d-4e5f", KmsKeyId=key["Arn"], SecretString=json.dumps(
        {"username": MASTER, "password": master_password}))
    verifier = scram_sha256_verifier(app_password, base64.b64encode(secrets.token_bytes(16)).decode())
    auth = sm.create_secret(Name="%s/db/pgbouncer-auth" % LAUNCH, KmsKeyId=key["Arn"], SecretString=json.dumps(
        {"userlist": '"%s" "%s"' % (APP_USER, verifier), "verifier": verifier}))
    ec2 = client(sandbox, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # vpc_network does; moto's RunTask needs it
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for cidr, zone in (("10.42.128.0/20", "us-east-1a"), ("10.42.144.0/20", "us-east-1b"))]
    app = ec2.create_security_group(GroupName="%s-app" % LAUNCH, Description="app", VpcId=vpc)["GroupId"]
    client(sandbox, "ecs").create_cluster(clusterName=CLUSTER)
    return {"key_arn": key["Arn"], "operations_key_arn": operations["Arn"], "master_arn": master["ARN"],
            "auth_arn": auth["ARN"],
            "verifier_ref": "%s:verifier::%s" % (auth["ARN"], auth["VersionId"]), "verifier": verifier,
            "subnets": subnets, "app": app}


def role_vars(w, pg, tmp_path):
    return {
        "launch_environment": "sandbox",
        "rds_pgbouncer_setup_image": IMAGE,
        "rds_pgbouncer_setup_wait": False,  # moto runs no container (docs/one-off-tasks.md)
        "rds_pgbouncer_db": {"endpoint": "127.0.0.1", "port": pg["lab"].port, "master_user_secret_arn": w["master_arn"],
                             "kms_key_arn": w["key_arn"]},
        "rds_pgbouncer_auth_refs": {"verifier": w["verifier_ref"]},
        "rds_pgbouncer_server_ca": pg["lab"].ca_pem,
        "rds_pgbouncer_pools": {"app_role_connection_limit": CONNECTION_LIMIT},
        "rds_pgbouncer_master_username": MASTER,
        "rds_pgbouncer_app_user": APP_USER,
        "rds_pgbouncer_database": DATABASE,
        "rds_pgbouncer_tags": {"project": "directfanz"},
        "network_result": {"private_subnet_ids": w["subnets"], "security_group_ids": {"app": w["app"]}},
        "facts_file": str(tmp_path / "facts.json"),
    }


def run_role(sandbox, tmp_path, extra, *args):
    (tmp_path / "vars.json").write_text(json.dumps(extra))
    (tmp_path / "vars.json").chmod(0o600)
    book = tmp_path / "app_role.yml"
    book.write_text(PLAY)
    return playbook(sandbox, "-e", "@%s" % (tmp_path / "vars.json"), *args, playbook_file=str(book))


def resolve(sandbox, value_from: str) -> str:
    """What ECS injects for a Secrets Manager valueFrom: arn:...:secret:<name>[:<json-key>[:<stage>[:<version-id>]]]."""
    parts = value_from.split(":")
    arn, rest = ":".join(parts[:7]), parts[7:] + [""] * 3
    json_key, stage, version = rest[0], rest[1], rest[2]
    kwargs = {"SecretId": arn}
    if version:
        kwargs["VersionId"] = version
    elif stage:
        kwargs["VersionStage"] = stage
    text = client(sandbox, "secretsmanager").get_secret_value(**kwargs)["SecretString"]
    return str(json.loads(text)[json_key]) if json_key else text


def task_environment(sandbox, td: dict) -> tuple[list[str], dict[str, str]]:
    """The registered definition's command and the environment its container gets: environment plus resolved secrets."""
    c = td["containerDefinitions"][0]
    env = dict((e["name"], e["value"]) for e in c.get("environment") or [])
    for s in c.get("secrets") or []:
        env[s["name"]] = resolve(sandbox, s["valueFrom"])
    return c["command"], env


def run_task_here(command, env, tmp_path, **over):
    """The container's command, run here with its environment (psql from the lab's PostgreSQL, TMPDIR private)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    run_env = dict(env, PATH="%s:/usr/bin:/bin" % pg_bindir(), TMPDIR=str(scratch), **over)
    return subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=120, check=False)


def app_login(pg, password, host="127.0.0.1"):
    ca = pg["base"] / "client-ca.pem"
    ca.write_text(pg["lab"].ca_pem)
    return psycopg.connect(host=host, port=pg["lab"].port, user=APP_USER, password=password, dbname=DATABASE,
                           sslmode="verify-full", sslrootcert=str(ca), connect_timeout=10)


def test_the_registered_task_makes_the_role_on_real_postgresql_twice(fresh, pg, tmp_path):
    app_password = secrets.token_urlsafe(24)
    w = aws_world(fresh, pg["lab"].port, pg["master_password"], app_password)
    extra = role_vars(w, pg, tmp_path)
    checked = run_role(fresh, tmp_path, extra, "--check")
    assert checked.rc == 0 and checked.failed == 0, checked.out
    assert "run one-off task %s" % JOB in checked.out
    assert client(fresh, "ecs").list_task_definitions()["taskDefinitionArns"] == []
    assert [r["RoleName"] for r in client(fresh, "iam").list_roles()["Roles"] if "db-setup" in r["RoleName"]] == []
    first = run_role(fresh, tmp_path, extra, "-vvv")
    assert first.rc == 0 and first.failed == 0, first.out
    for value in (pg["master_password"], app_password, w["verifier"]):
        assert value not in first.out
    outcome = json.loads((tmp_path / "facts.json").read_text())
    assert outcome["status"] == "started"  # wait is false in the sandbox
    assert "started by an earlier run" not in first.out

    # the execution role reads exactly the two secrets, decrypting through Secrets Manager only
    iam = client(fresh, "iam")
    role_name = "%s-db-setup-execution" % LAUNCH
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    policy = iam.get_role_policy(RoleName=role_name, PolicyName="%s-execution" % JOB)["PolicyDocument"]
    by_sid = dict((s["Sid"], s) for s in policy["Statement"])
    assert sorted(by_sid) == ["Decrypt", "Logs", "Secrets"]  # a public image: no ECR permission
    assert sorted(by_sid["Secrets"]["Resource"]) == sorted([w["master_arn"], w["auth_arn"]])
    assert by_sid["Decrypt"]["Resource"] == w["key_arn"]
    assert by_sid["Decrypt"]["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    assert by_sid["Logs"]["Resource"] == "arn:aws:logs:us-east-1:%s:log-group:/%s/db-setup:*" % (ACCOUNT, LAUNCH)
    # the task's log group under the operations key (found by alias through launch_facts)
    group = client(fresh, "logs").describe_log_groups(logGroupNamePrefix="/%s/db-setup" % LAUNCH)["logGroups"][0]
    assert group["kmsKeyId"] == w["operations_key_arn"]

    ecs = client(fresh, "ecs")
    td = ecs.describe_task_definition(taskDefinition=outcome["task_definition_arn"])["taskDefinition"]
    c = td["containerDefinitions"][0]
    assert c["image"] == IMAGE and td["executionRoleArn"].endswith(":role/%s" % role_name)
    assert c["secrets"] == [{"name": "APP_SCRAM_VERIFIER", "valueFrom": w["verifier_ref"]},
                            {"name": "PGPASSWORD", "valueFrom": "%s:password::" % w["master_arn"]}]
    plain = dict((e["name"], e["value"]) for e in c["environment"])
    assert plain["PGSSLMODE"] == "verify-full" and plain["PGDATABASE"] == "postgres" and plain["PGUSER"] == MASTER
    assert plain["APP_ROLE_SQL"] == (ROOT / "roles/rds_pgbouncer/files/app_role.sql").read_text().rstrip("\n")
    assert c["command"][:2] == ["/bin/sh", "-c"]
    assert c["command"][2] == (ROOT / "roles/rds_pgbouncer/files/app-role-task.sh").read_text().rstrip("\n")
    for value in (pg["master_password"], app_password, w["verifier"]):
        assert value not in json.dumps(td)
    task = ecs.describe_tasks(cluster=CLUSTER, tasks=[outcome["task_arn"]])["tasks"][0]
    assert task["startedBy"] == JOB

    # the same definition, run here: the role and its database exist, the app logs in with its password
    command, env = task_environment(fresh, td)
    assert env["PGPASSWORD"] == pg["master_password"] and env["APP_SCRAM_VERIFIER"] == w["verifier"]
    done = run_task_here(command, env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "app-role task: done" in done.stdout
    for value in (pg["master_password"], app_password, w["verifier"]):
        assert value not in done.stdout + done.stderr
    assert list((tmp_path / "scratch").iterdir()) == []  # its files are removed
    with app_login(pg, app_password) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (APP_USER, DATABASE)
        assert conn.execute("SELECT rolconnlimit, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                            "WHERE rolname = current_user").fetchone() == (CONNECTION_LIMIT, False, False, False)
        assert conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
                            ).fetchone() == (APP_USER,)
    with pytest.raises(psycopg.OperationalError):
        app_login(pg, app_password + "x")

    # a second task run (the SQL is idempotent) and a second playbook run (nothing to do, no new task)
    again = run_task_here(command, env, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    with app_login(pg, app_password) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    second = run_role(fresh, tmp_path, extra)
    assert second.rc == 0 and second.changed == 0, second.out
    assert "not confirmed" in second.out
    assert ecs.list_tasks(cluster=CLUSTER)["taskArns"] == [outcome["task_arn"]]


def test_what_must_fail_fails_without_printing_a_secret(fresh, pg, tmp_path):
    app_password = secrets.token_urlsafe(24)
    w = aws_world(fresh, pg["lab"].port, pg["master_password"], app_password)
    run = run_role(fresh, tmp_path, role_vars(w, pg, tmp_path))
    assert run.rc == 0, run.out
    outcome = json.loads((tmp_path / "facts.json").read_text())
    td = client(fresh, "ecs").describe_task_definition(taskDefinition=outcome["task_definition_arn"])["taskDefinition"]
    command, env = task_environment(fresh, td)
    cases = [
        ({"PGHOST": "127.0.0.2"}, "does not match host name"),       # verify-full: the certificate does not name it
        ({"PGPASSWORD": "wrong-" + pg["master_password"]}, "password authentication failed"),
        ({"PGSSLMODE": "require"}, "accepted: verify-full only"),
        ({"APP_CONNECTION_LIMIT": "many"}, "invalid input syntax for type integer"),
        ({"APP_SCRAM_VERIFIER": "plain-password"}, "is not a SCRAM-SHA-256 secret"),
    ]
    for over, expected in cases:
        result = run_task_here(command, dict(env, **over), tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode != 0 and expected in output, (over, output)
        for value in (pg["master_password"], app_password, w["verifier"]):
            assert value not in output, over
    with pytest.raises(psycopg.OperationalError):
        app_login(pg, app_password)  # nothing was made


def test_the_role_file_refuses_a_latest_image_and_missing_inputs_before_any_write(fresh, pg, tmp_path):
    w = aws_world(fresh, pg["lab"].port, pg["master_password"], "x" * 24)
    for key, value, expected in (("rds_pgbouncer_setup_image", "public.ecr.aws/docker/library/postgres:latest",
                                  "rds_pgbouncer_setup_image"),
                                 ("rds_pgbouncer_auth_refs", {}, "rds_pgbouncer_auth_refs.verifier"),
                                 ("rds_pgbouncer_server_ca", "not a certificate", "rds_pgbouncer_server_ca")):
        extra = dict(role_vars(w, pg, tmp_path), **{key: value})
        run = run_role(fresh, tmp_path, extra)
        assert run.rc != 0 and expected in run.out, run.out
    assert client(fresh, "ecs").list_task_definitions()["taskDefinitionArns"] == []
    assert [r["RoleName"] for r in client(fresh, "iam").list_roles()["Roles"] if "db-setup" in r["RoleName"]] == []
    assert not (tmp_path / "facts.json").exists()
