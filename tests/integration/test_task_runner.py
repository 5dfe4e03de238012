"""The sandbox's one-off task runner (sandbox/task_runner.py) against a real moto server and the real RDS stand-in
(sandbox/rds_standin.py: a PostgreSQL cluster with TLS for the moto instance's endpoint name), both started here.

The application role's task definition is registered and run the way roles/rds_pgbouncer/tasks/app_role.yml does it:
through the collection's own module ecs_one_off_task (ad hoc, wait false as in the sandbox inventory) with the role's
command (files/app-role-task.sh), environment and secret references (the managed master secret's ``:password::``, the
pooler auth secret's version-pinned ``:verifier::<version-id>``). The runner then runs it once - not again on later
polls - as a non-root user with PGSSLMODE=verify-full against the endpoint name, and the application role logs in
with the password whose SCRAM verifier was given. A failing script is recorded with its exit code (and StopTask's
reason in moto), a task of another image is not run, a secret that cannot be read stops the task before it starts, and
no secret value appears in the state file, the runner's log or the log stream.

Needs root (the runner's mount namespace), PostgreSQL 15+ (server and psql) and util-linux (unshare, setpriv):
tools/install_system_deps.sh. Nothing here skips."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from conftest import module

from ansible_collections.directfanz.launch.plugins.filter.data import scram_sha256_verifier
from sandbox import pki, rds_standin, task_runner

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = "directfanz-sandbox"
CLUSTER = LAUNCH
JOB = "%s-db-setup" % LAUNCH
DB = "%s-db" % LAUNCH
APP_USER = "directfanz_app"
DATABASE = "directfanz"
MASTER = "postgres"
IMAGE = "docker.io/library/postgres:16.6-bookworm"   # the sandbox inventory's rds_pgbouncer_setup_image
LOG_GROUP = "/%s/db-setup" % LAUNCH
ACCOUNT = "123456789012"
FILES = ROOT / "roles" / "rds_pgbouncer" / "files"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (OSError, ValueError, KeyError) as exc:  # a state file being written, a server starting
            last = exc
        time.sleep(0.2)
    pytest.fail("%s not within %.0f s (last: %r)" % (what, timeout, last))


def require_programs() -> None:
    missing = task_runner.missing_programs() + rds_standin.missing_programs()
    if missing:
        pytest.fail("missing %s: run tools/install_system_deps.sh (as root)" % ", ".join(missing), pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the task runner's mount namespace (and the RDS stand-in's postgres user) need root: run the tests "
                    "as root", pytrace=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """moto, the sandbox CA, the RDS stand-in with the data phase's database, the runner; the secrets, network and
    cluster the app-role task needs."""
    require_programs()
    tmp = tmp_path_factory.mktemp("task-runner")
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    # the runner's own environment must not reach a task (LEAK_CANARY is looked for inside one)
    env = dict(os.environ, PYTHONPATH=str(ROOT), LEAK_CANARY="runner-environment")
    for key in [k for k in env if k.startswith("AWS_")]:
        env.pop(key)
    procs: list[subprocess.Popen] = []
    # the runner's directory outside /tmp, as in the sandbox (.sandbox/...), so hiding it from the task is exercised
    work = Path(tempfile.mkdtemp(prefix="task-runner-test-", dir="/var/tmp"))

    def start(name: str, argv: list[str]) -> subprocess.Popen:
        log = open(tmp / ("%s.log" % name), "wb")
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        procs.append(proc)
        return proc

    try:
        start("moto", [sys.executable, "-m", "sandbox.moto_server", "-H", "127.0.0.1", "-p", str(port)])
        until(lambda: urllib.request.urlopen(url + "/moto-api/", timeout=2).status == 200, "moto")
        pki.make_ca(tmp / "pki", "task runner test CA")
        rds_state, runner_state = tmp / "rds.json", tmp / "runner.json"
        start("rds", [sys.executable, "-m", "sandbox.rds_standin", "--aws-endpoint", url, "--ca-dir",
                      str(tmp / "pki"), "--state-file", str(rds_state), "--interval", "0.5"])
        runner = start("runner", [sys.executable, "-m", "sandbox.task_runner", "--aws-endpoint", url, "--region",
                                  "us-east-1", "--rds-state", str(rds_state), "--workdir", str(work),
                                  "--state-file", str(runner_state), "--interval", "0.5", "--hold", "3"])
        until(lambda: runner_state.exists() or runner.poll() is not None, "the runner's state file")
        assert runner.poll() is None, (tmp / "runner.log").read_text()
        kw = dict(region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
        w = build(kw)
        ready = until(lambda: json.loads(rds_state.read_text())["instances"].get(DB, {}).get("state") == "ready"
                      and json.loads(rds_state.read_text()), "the RDS stand-in's cluster", 90)
        w.update(url=url, kw=kw, tmp=tmp, runner_state=runner_state, runner_log=tmp / "runner.log",
                 instance=ready["instances"][DB], ca=str(tmp / "pki" / "ca.pem"),
                 ca_pem=(tmp / "pki" / "ca.pem").read_text(), work=work, rds_base=ready["base"])
        yield w
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


def build(kw: dict[str, Any]) -> dict[str, Any]:
    """What the earlier phases leave: the data key, the database with its managed master secret, the pooler auth
    secret with the app role's verifier, the network (DNS hostnames on: moto's RunTask needs them) and the cluster."""
    kms = boto3.client("kms", **kw)
    key = kms.create_key(Description="data")["KeyMetadata"]["Arn"]
    rds = boto3.client("rds", **kw)
    rds.create_db_instance(DBInstanceIdentifier=DB, Engine="postgres", EngineVersion="16.6",
                           DBInstanceClass="db.t4g.medium", AllocatedStorage=100, MasterUsername=MASTER,
                           ManageMasterUserPassword=True, MasterUserSecretKmsKeyId=key, DBName=DATABASE)
    described = rds.describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]
    sm = boto3.client("secretsmanager", **kw)
    master_arn = described["MasterUserSecret"]["SecretArn"]
    master_password = json.loads(sm.get_secret_value(SecretId=master_arn)["SecretString"])["password"]
    app_password = secrets.token_urlsafe(24)
    verifier = scram_sha256_verifier(app_password, base64.b64encode(secrets.token_bytes(16)).decode())
    auth = sm.create_secret(Name="%s/db/pgbouncer-auth" % LAUNCH, KmsKeyId=key, SecretString=json.dumps(
        {"userlist": '"%s" "%s"' % (APP_USER, verifier), "verifier": verifier}))
    ec2 = boto3.client("ec2", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for cidr, zone in (("10.42.128.0/20", "us-east-1a"), ("10.42.144.0/20", "us-east-1b"))]
    app = ec2.create_security_group(GroupName="%s-app" % LAUNCH, Description="app", VpcId=vpc)["GroupId"]
    boto3.client("ecs", **kw).create_cluster(clusterName=CLUSTER)
    return {"master_arn": master_arn, "master_password": master_password, "app_password": app_password,
            "verifier": verifier, "verifier_ref": "%s:verifier::%s" % (auth["ARN"], auth["VersionId"]),
            "endpoint": described["Endpoint"]["Address"], "port": described["Endpoint"]["Port"],
            "subnets": subnets, "app": app}


def role_task(w: dict[str, Any], **over: Any) -> dict[str, Any]:
    """ecs_one_off_task's arguments as roles/rds_pgbouncer/tasks/app_role.yml gives them (the file lookups strip the
    final newline, as ansible.builtin.file does)."""
    args = {
        "region": "us-east-1", "endpoint_url": w["url"], "access_key": "testing", "secret_key": "testing",
        "cluster": CLUSTER, "name": JOB, "image": IMAGE,
        "command": ["/bin/sh", "-c", (FILES / "app-role-task.sh").read_text().rstrip("\n")],
        "environment": {
            "APP_ROLE_SQL": (FILES / "app_role.sql").read_text().rstrip("\n"), "APP_SERVER_CA": w["ca_pem"],
            "APP_ROLE": APP_USER, "APP_DATABASE": DATABASE, "APP_CONNECTION_LIMIT": "20", "PGHOST": w["endpoint"],
            "PGPORT": str(w["port"]), "PGUSER": MASTER, "PGDATABASE": "postgres", "PGSSLMODE": "verify-full"},
        "secrets": {"PGPASSWORD": "%s:password::" % w["master_arn"], "APP_SCRAM_VERIFIER": w["verifier_ref"]},
        "cpu": 256, "memory": 512,
        "execution_role_arn": "arn:aws:iam::%s:role/%s-db-setup-execution" % (ACCOUNT, LAUNCH),
        "log_group": LOG_GROUP, "log_retention": 30, "subnets": w["subnets"], "security_groups": [w["app"]],
        "tags": {"project": "directfanz"}, "wait": False,
    }
    args.update(over)
    return args


def one_off(w: dict[str, Any], **over: Any) -> tuple[int, str, dict[str, Any]]:
    return module("ecs_one_off_task", role_task(w, **over), env={"AWS_ENDPOINT_URL": w["url"]})


def state(w: dict[str, Any]) -> dict[str, Any]:
    return json.loads(w["runner_state"].read_text())


def settled(w: dict[str, Any], arn: str, timeout: float = 60) -> dict[str, Any]:
    """The runner's entry for ``arn`` once it is settled (ran, not run, not started)."""
    return until(lambda: state(w)["tasks"].get(arn, {}).get("status") in ("ran", "not run", "not started")
                 and state(w)["tasks"][arn], "the runner settling task %s" % arn, timeout)


def later_polls(w: dict[str, Any], count: int = 3) -> None:
    """``count`` more reads of moto by the runner. It reads when moto's change count moves (sandbox/changes.py): a
    harmless write before each wait makes it look again."""
    ssm = boto3.client("ssm", **w["kw"])
    target = state(w)["polls"] + count
    for n in range(count * 20):
        if state(w)["polls"] >= target:
            return
        before = state(w)["polls"]
        ssm.put_parameter(Name="/runner-test/nudge", Value=str(n), Type="String", Overwrite=True)
        until(lambda before=before: state(w)["polls"] > before, "a poll of the runner after a change in moto", 20)
    assert state(w)["polls"] >= target, state(w)["polls"]


def log_events(w: dict[str, Any], stream: str) -> list[str]:
    answer = boto3.client("logs", **w["kw"]).get_log_events(logGroupName=LOG_GROUP, logStreamName=stream,
                                                            startFromHead=True)
    return [e["message"] for e in answer["events"]]


def app_login(w: dict[str, Any], password: str) -> psycopg.Connection:
    """The application role over TLS verified against the endpoint's name (the stand-in's address for it)."""
    return psycopg.connect(host=w["endpoint"], hostaddr=w["instance"]["address"], port=w["port"], user=APP_USER,
                           password=password, dbname=DATABASE, sslmode="verify-full", sslrootcert=w["ca"],
                           connect_timeout=10)


def secret_values(w: dict[str, Any]) -> list[str]:
    return [w["master_password"], w["app_password"], w["verifier"]]


def no_secret_anywhere(w: dict[str, Any], *streams: str) -> None:
    texts = {"state file": w["runner_state"].read_text(), "runner log": w["runner_log"].read_text()}
    for stream in streams:
        texts["log stream " + stream] = "\n".join(log_events(w, stream))
    for where, text in texts.items():
        for value in secret_values(w):
            assert value not in text, "a secret value is in the %s" % where


def run_plain(w: dict[str, Any], family: str, image: str, script: str, secrets_: list[dict[str, str]] | None = None,
              overrides: dict[str, Any] | None = None) -> str:
    """A one-container task definition of ``image`` running ``script``, run through moto; its task ARN."""
    ecs = boto3.client("ecs", **w["kw"])
    container = {"name": "job", "image": image, "memory": 512, "command": ["/bin/sh", "-c", script],
                 "environment": [{"name": "GREETING", "value": "hello"}], "secrets": secrets_ or [],
                 "logConfiguration": {"logDriver": "awslogs", "options": {
                     "awslogs-group": LOG_GROUP, "awslogs-region": "us-east-1", "awslogs-stream-prefix": family}}}
    arn = ecs.register_task_definition(family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                       cpu="256", memory="512", containerDefinitions=[container]
                                       )["taskDefinition"]["taskDefinitionArn"]
    kwargs: dict[str, Any] = {}
    if overrides:
        kwargs["overrides"] = {"containerOverrides": [dict({"name": "job"}, **overrides)]}
    network = {"awsvpcConfiguration": {"subnets": w["subnets"], "securityGroups": [w["app"]],
                                       "assignPublicIp": "DISABLED"}}
    task = ecs.run_task(cluster=CLUSTER, taskDefinition=arn, launchType="FARGATE", startedBy=family,
                        networkConfiguration=network, **kwargs)["tasks"][0]
    return task["taskArn"]


def moto_task(w: dict[str, Any], arn: str) -> dict[str, Any]:
    return boto3.client("ecs", **w["kw"]).describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]


# ------------------------------------------------------------------------------------------------ pure parts


def test_the_allow_list_reads_the_repository_name_not_the_registry_or_tag() -> None:
    for image in ("postgres:16.6", "docker.io/library/postgres:16.6-bookworm", "public.ecr.aws/docker/library/"
                  "postgres@sha256:" + "0" * 64, "%s.dkr.ecr.us-east-1.amazonaws.com/directfanz-postgres:1" % ACCOUNT):
        assert task_runner.standin_for(image), image
    for image in ("ghcr.io/cloudnative-pg/pgbouncer:1.24.0-7", "bitnami/postgresql:16", "postgres.example.com/app:1",
                  "%s.dkr.ecr.us-east-1.amazonaws.com/directfanz-web:1.0" % ACCOUNT):
        assert task_runner.standin_for(image) is None, image


def test_value_from_is_read_as_ecs_reads_it() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:%s:secret:rds!db-0a1b-AbCdEf" % ACCOUNT
    assert task_runner.parse_value_from(arn + ":password::") == {
        "kind": "secretsmanager", "id": arn, "region": "us-east-1", "json_key": "password", "stage": "", "version": ""}
    assert task_runner.parse_value_from(arn + ":verifier:AWSPREVIOUS:v-1")["stage"] == "AWSPREVIOUS"
    assert task_runner.parse_value_from(arn + ":verifier::v-1")["version"] == "v-1"
    assert task_runner.parse_value_from(arn)["json_key"] == ""
    assert task_runner.parse_value_from("arn:aws:ssm:eu-west-1:%s:parameter/a/b" % ACCOUNT) == {
        "kind": "ssm", "id": "/a/b", "region": "eu-west-1"}
    assert task_runner.parse_value_from("plain-name") == {"kind": "ssm", "id": "plain-name", "region": ""}
    with pytest.raises(ValueError, match="neither a Secrets Manager secret nor an SSM parameter"):
        task_runner.parse_value_from("arn:aws:s3:::bucket/key")


def test_overrides_win_and_secrets_are_masked_whole() -> None:
    container = {"entryPoint": ["/entry"], "command": ["a"], "environment": [{"name": "X", "value": "1"},
                                                                             {"name": "Y", "value": "2"}]}
    override = {"command": ["b"], "environment": [{"name": "Y", "value": "3"}]}
    assert task_runner.container_command(container, override) == ["/entry", "b"]
    assert task_runner.container_command(container, {}) == ["/entry", "a"]
    assert task_runner.container_environment(container, override) == {"X": "1", "Y": "3"}
    assert task_runner.mask("pw=abc123 and abc", ["abc", "abc123"]) == "pw=**** and ****"


# ------------------------------------------------------------------------------------------------ against moto


def test_the_app_role_task_runs_once_and_the_role_logs_in_with_its_password(world: dict[str, Any]) -> None:
    w = world
    rc, out, result = one_off(w)
    assert rc == 0 and result.get("status") == "started", out
    arn = result["task_arn"]
    entry = settled(w, arn)
    assert entry["status"] == "ran" and entry["exit_code"] == 0, entry
    assert "app-role task: done" in entry["stdout_tail"], entry
    assert entry["run_as"].startswith("nobody ") and entry["hosts"] == {w["endpoint"].lower(): w["instance"]["address"]}
    assert entry["scratch_left"] == 0  # the script removed its private files
    assert entry["secret_names"] == ["APP_SCRAM_VERIFIER", "PGPASSWORD"]
    assert entry["started"] <= entry["stopped"]

    # moto: stopped with the outcome as the reason (its container stays PENDING: docs/standin-tasks.md)
    task = moto_task(w, arn)
    assert (task["lastStatus"], task["desiredStatus"], task["stoppedReason"]) == (
        "STOPPED", "STOPPED", "sandbox task_runner: exit 0")
    # the log stream where awslogs puts it and ecs_one_off_task reads it: <prefix>/<container>/<task id>
    stream = "%s/job/%s" % (JOB, arn.rsplit("/", 1)[-1])
    assert entry["log"]["stream"] == stream
    # (stdout and stderr are two pipes, as for Docker's log drivers: their relative order is not kept, each one's is)
    lines = [line for line in log_events(w, stream) if line.startswith("app-role task:")]
    assert lines[-1] == "app-role task: done" and lines[0].startswith("app-role task: role %s" % APP_USER), lines

    # once, not on every poll
    later_polls(w)
    assert state(w)["tasks"][arn]["started"] == entry["started"]
    assert log_events(w, stream).count("app-role task: done") == 1
    assert w["runner_log"].read_text().count("%s (%s:1): running" % (arn, JOB)) == 1

    # the role exists with the verifier's password, its connection limit, owning its database
    with app_login(w, w["app_password"]) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (APP_USER, DATABASE)
        assert conn.execute("SELECT rolconnlimit, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
                            ).fetchone() == (20, False, False)
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
    with pytest.raises(psycopg.OperationalError):
        app_login(w, w["app_password"] + "x")
    no_secret_anywhere(w, stream)


def test_what_ecs_one_off_task_sees_of_a_run_in_the_sandbox(world: dict[str, Any]) -> None:
    """With wait on, the module reads the runner's outcome from moto: the stop reason and the log tail. moto keeps the
    container PENDING with a made-up exit code 0, which the module rightly refuses as a success - so the sandbox keeps
    wait off (docs/standin-tasks.md); what it shows is the real exit code and output."""
    w = world
    rc, out, result = one_off(w, environment=dict(role_task(w)["environment"], APP_CONNECTION_LIMIT="21"), wait=True,
                              wait_delay=4, wait_timeout=90)
    assert rc != 0, out
    assert "the task stopped: sandbox task_runner: exit 0" in result["msg"], result.get("msg")
    assert "app-role task: done" in result["msg"] and "app-role task: done" in result["log_tail"]
    assert settled(w, result["task_arn"])["exit_code"] == 0
    with app_login(w, w["app_password"]) as conn:  # the new revision's run changed the limit
        assert conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user").fetchone() == (21,)
    for value in secret_values(w):
        assert value not in out


def test_a_failing_script_is_recorded_with_its_exit_code(world: dict[str, Any]) -> None:
    w = world
    # the role's own task definition, run with a containerOverrides environment the script refuses
    rc, out, result = one_off(w)
    assert rc == 0, out
    td = boto3.client("ecs", **w["kw"]).describe_task_definition(taskDefinition=result["task_definition_arn"])
    task = boto3.client("ecs", **w["kw"]).run_task(
        cluster=CLUSTER, taskDefinition=td["taskDefinition"]["taskDefinitionArn"], launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": w["subnets"], "securityGroups": [w["app"]]}},
        overrides={"containerOverrides": [{"name": "job", "environment": [{"name": "PGSSLMODE", "value": "require"}]}]}
    )["tasks"][0]
    entry = settled(w, task["taskArn"])
    assert entry["status"] == "ran" and entry["exit_code"] == 2, entry
    assert entry["overrides"] == {"command": False, "environment": ["PGSSLMODE"]}
    assert any("accepted: verify-full only" in line for line in entry["stderr_tail"]), entry
    assert moto_task(w, task["taskArn"])["stoppedReason"] == "sandbox task_runner: exit 2"

    # a script that fails with its own code and prints a secret it was given: recorded, the value masked
    arn = run_plain(w, "runner-fails", IMAGE, 'echo "about to fail"; echo "pw=$PGPASSWORD" >&2; exit 3',
                    [{"name": "PGPASSWORD", "valueFrom": "%s:password::" % w["master_arn"]}])
    entry = settled(w, arn)
    assert (entry["status"], entry["exit_code"]) == ("ran", 3), entry
    assert entry["stdout_tail"] == ["about to fail"] and entry["stderr_tail"] == ["pw=****"], entry
    assert moto_task(w, arn)["stoppedReason"] == "sandbox task_runner: exit 3"
    stream = "runner-fails/job/%s" % arn.rsplit("/", 1)[-1]
    # (stdout and stderr are two pipes: their relative order within a millisecond is not kept)
    assert sorted(log_events(w, stream)) == ["about to fail", "pw=****"]

    # the command override is what runs
    arn = run_plain(w, "runner-override", IMAGE, "exit 9", overrides={"command": ["/bin/sh", "-c", "echo $GREETING"]})
    entry = settled(w, arn)
    assert (entry["exit_code"], entry["stdout_tail"]) == (0, ["hello"]), entry
    no_secret_anywhere(w, stream)


def test_a_task_of_another_image_is_not_run(world: dict[str, Any]) -> None:
    w = world
    marker_dir = w["tmp"] / "marker"
    marker_dir.mkdir(mode=0o777)
    marker_dir.chmod(0o777)
    image = "%s.dkr.ecr.us-east-1.amazonaws.com/directfanz-web:1.0" % ACCOUNT
    arn = run_plain(w, "runner-web", image, "touch %s/ran" % marker_dir)
    entry = settled(w, arn)
    assert entry["status"] == "not run", entry
    assert entry["message"].startswith("not run: image %s is not a stand-in image" % image), entry
    later_polls(w, 2)
    assert not (marker_dir / "ran").exists()
    task = moto_task(w, arn)
    assert task["desiredStatus"] == "RUNNING" and task["stoppedReason"] == ""  # left as moto keeps it


def test_a_secret_that_cannot_be_read_stops_the_task_before_it_starts(world: dict[str, Any]) -> None:
    w = world
    marker_dir = w["tmp"] / "marker-secret"
    marker_dir.mkdir(mode=0o777)
    marker_dir.chmod(0o777)
    arn = run_plain(w, "runner-nokey", IMAGE, "touch %s/ran" % marker_dir,
                    [{"name": "PGPASSWORD", "valueFrom": "%s:no_such_key::" % w["master_arn"]}])
    entry = settled(w, arn)
    assert entry["status"] == "not started" and entry["exit_code"] is None, entry
    assert "did not contain json key no_such_key" in entry["message"], entry
    assert not (marker_dir / "ran").exists()
    task = moto_task(w, arn)
    assert task["stoppedReason"].startswith("sandbox task_runner: not started: ResourceInitializationError: "), task
    missing = "arn:aws:secretsmanager:us-east-1:%s:secret:no-such-secret-AbCdEf" % ACCOUNT
    arn = run_plain(w, "runner-nosecret", IMAGE, "true", [{"name": "X", "valueFrom": missing}])
    entry = settled(w, arn)
    assert entry["status"] == "not started" and "ResourceNotFoundException" in entry["message"], entry
    no_secret_anywhere(w)


def test_the_task_runs_as_nobody_in_its_own_namespace_with_only_its_environment(world: dict[str, Any]) -> None:
    w = world
    script = "; ".join([
        'echo "uid=$(id -u) gid=$(id -g)"', 'getent hosts "$ENDPOINT"', 'echo "tmp=$(ls -A /tmp | wc -l)"',
        '[ -e "$WORK/runs" ] && echo "workdir visible" || echo "workdir hidden"',
        '[ -e "$RDS_BASE" ] && echo "rds sockets visible" || echo "rds sockets hidden"',
        'echo "psql=$(command -v psql) tmpdir=$TMPDIR"', "env | cut -d= -f1 | sort | tr '\\n' ' '"])
    arn = run_plain(w, "runner-inside", IMAGE, script, overrides={"environment": [
        {"name": "ENDPOINT", "value": w["endpoint"]}, {"name": "WORK", "value": str(w["work"])},
        {"name": "RDS_BASE", "value": w["rds_base"]}]})
    entry = settled(w, arn)
    assert entry["exit_code"] == 0, entry
    out = entry["stdout_tail"]
    assert out[0] == "uid=65534 gid=65534", out
    assert out[1].split() == [w["instance"]["address"], w["endpoint"].lower()], out
    assert out[2:5] == ["tmp=0", "workdir hidden", "rds sockets hidden"], out
    assert out[5] == "psql=%s tmpdir=/tmp" % (task_runner.client_bindir() / "psql"), out
    names = set(out[6].split())
    assert {"GREETING", "ENDPOINT", "AWS_REGION", "AWS_EXECUTION_ENV", "TMPDIR"} <= names, names
    assert not names & {"LEAK_CANARY", "PYTHONPATH", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, names


def test_a_task_naming_an_rds_endpoint_waits_for_the_standin_then_runs(world: dict[str, Any]) -> None:
    """A name the RDS stand-in does not serve (yet) holds the task for --hold seconds (3 here), then it runs - and
    fails to resolve the name, as a task would whose database is not there."""
    w = world
    name = "%s-missing.aaaaaaaaaa.us-east-1.rds.amazonaws.com" % LAUNCH
    arn = run_plain(w, "runner-hold", IMAGE, 'getent hosts "$PGHOST" || { echo "no address for $PGHOST" >&2; exit 2; }',
                    overrides={"environment": [{"name": "PGHOST", "value": name}]})
    waiting = until(lambda: state(w)["tasks"].get(arn, {}).get("status") in ("waiting", "ran")
                    and state(w)["tasks"][arn], "the task seen")
    assert waiting["status"] == "waiting" and waiting["message"] == "waiting for the RDS stand-in to serve " + name
    entry = settled(w, arn)
    assert (entry["status"], entry["exit_code"], entry["stderr_tail"]) == ("ran", 2, ["no address for " + name])
