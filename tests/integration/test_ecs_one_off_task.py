"""ecs_one_off_task against the moto server over HTTP, through the recording proxy: check mode plans the revision and the
run and writes nothing; a first run makes the log group, registers the revision, runs the task (Fargate, private
subnets, no public IP, startedBy and group) and records it on the revision as tags; a second run makes no write call;
a changed definition is a new revision and a new run; bad input is refused before any call.

What moto does not do: run a container. Its tasks walk RUNNING -> STOPPED in four DescribeTasks while the container
stays PENDING with a made-up exit code 0 - test_moto_s_made_up_exit_code_is_not_a_success shows the module does not
take that for a success. A task that really stops (exit 0 or 1) is a canned answer: a proxy in front of moto rewrites
DescribeTasks (and answers "MISSING" for a task ECS forgot); the container's log lines are written into moto's
CloudWatch Logs over HTTP, as awslogs would, so reading the log tail is moto's own."""

import json
import time

import pytest

from conftest import aws_client as client
from conftest import module
from sandbox.aws_proxy import AwsProxy

ACCOUNT = "123456789012"
CLUSTER = "directfanz-sandbox"
NAME = "directfanz-sandbox-db-setup"
LOG_GROUP = "/directfanz-sandbox/db-setup"
MASTER = "arn:aws:secretsmanager:us-east-1:%s:secret:rds!db-0a1b2c3d-AbCdEf:password::" % ACCOUNT
VERIFIER = ("arn:aws:secretsmanager:us-east-1:%s:secret:directfanz-sandbox/db/pgbouncer-auth-XyZ123:verifier::"
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" % ACCOUNT)
EXECUTION = "arn:aws:iam::%s:role/directfanz-sandbox-db-setup-execution" % ACCOUNT
IMAGE = "public.ecr.aws/docker/library/postgres:16.6"


def world(sandbox):
    """A VPC (DNS hostnames on, as vpc_network makes it - moto's RunTask needs that, see docs/one-off-tasks.md), two
    private subnets, the app security group, the cluster."""
    ec2 = client(sandbox, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for cidr, zone in (("10.41.128.0/20", "us-east-1a"), ("10.41.144.0/20", "us-east-1b"))]
    app = ec2.create_security_group(GroupName="directfanz-app", Description="app", VpcId=vpc)["GroupId"]
    client(sandbox, "ecs").create_cluster(clusterName=CLUSTER)
    return {"subnets": subnets, "app": app}


def args(w, **over):
    out = {"cluster": CLUSTER, "name": NAME, "image": IMAGE,
           "command": ["/bin/sh", "-c", "echo making the role; psql -X -v ON_ERROR_STOP=1 -f /tmp/app_role.sql"],
           "environment": {"PGHOST": "directfanz-sandbox-db.abc.us-east-1.rds.amazonaws.com", "PGPORT": "5432",
                           "PGUSER": "postgres", "PGDATABASE": "postgres", "PGSSLMODE": "verify-full",
                           "APP_ROLE": "directfanz_app"},
           "secrets": {"PGPASSWORD": MASTER, "APP_SCRAM_VERIFIER": VERIFIER},
           "execution_role_arn": EXECUTION, "log_group": LOG_GROUP, "subnets": w["subnets"],
           "security_groups": [w["app"]], "tags": {"project": "directfanz"}, "wait": False, "wait_delay": 1,
           "wait_timeout": 30}
    out.update(over)
    return out


def run(sandbox, params, *flags, via=None):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    full = dict(params, region="us-east-1", endpoint_url=endpoint, access_key="testing",
                secret_key=sandbox["aws_secret_key"])
    return module("ecs_one_off_task", full, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def revision_tags(sandbox, arn):
    return dict((t["key"], t["value"]) for t in client(sandbox, "ecs").list_tags_for_resource(resourceArn=arn)["tags"])


def test_check_mode_plans_the_revision_and_the_run_and_writes_nothing(fresh, recorder):
    w = world(fresh)
    rc, out, result = run(fresh, args(w), "--check", "--diff", via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == [
        "create log group %s" % LOG_GROUP, "keep log group %s for 30 days" % LOG_GROUP,
        "register task definition %s (image postgres:16.6)" % NAME,
        "run one-off task %s (the new revision) on cluster %s" % (NAME, CLUSTER)]
    assert result["status"] == "none" and result["task_arn"] is None
    assert result["task_definition_arn"] == "(new revision of %s)" % NAME
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert result["diff"]["before"]["task_definition"] is None
    assert result["diff"]["after"]["task_definition"]["containers"][0]["readonlyRootFilesystem"] is True
    ecs = client(fresh, "ecs")
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []
    assert ecs.list_tasks(cluster=CLUSTER)["taskArns"] == []
    assert client(fresh, "logs").describe_log_groups()["logGroups"] == []


def test_first_run_registers_runs_and_records_and_the_second_writes_nothing(fresh, recorder):
    w = world(fresh)
    rc, out, first = run(fresh, args(w), via=recorder)
    assert rc == 0 and first["changed"] is True, out
    assert recorder.writes() == ["CreateLogGroup", "PutRetentionPolicy", "RegisterTaskDefinition", "RunTask",
                                 "TagResource"], recorder.calls
    assert first["status"] == "started" and first["exit_code"] is None
    ecs = client(fresh, "ecs")
    arn = first["task_definition_arn"]
    assert arn.endswith(":task-definition/%s:1" % NAME)
    td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    c = td["containerDefinitions"][0]
    wanted = ("256", "512", "awsvpc", ["FARGATE"])
    assert (td["cpu"], td["memory"], td["networkMode"], td["requiresCompatibilities"]) == wanted
    assert td["executionRoleArn"] == EXECUTION and "taskRoleArn" not in td
    assert c["name"] == "job" and c["image"] == IMAGE and c["readonlyRootFilesystem"] is True
    assert c["secrets"] == [{"name": "APP_SCRAM_VERIFIER", "valueFrom": VERIFIER},
                            {"name": "PGPASSWORD", "valueFrom": MASTER}]
    assert {e["name"] for e in c["environment"]} == {"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSSLMODE", "APP_ROLE"}
    assert c["logConfiguration"]["options"] == {"awslogs-group": LOG_GROUP, "awslogs-region": "us-east-1",
                                                "awslogs-stream-prefix": NAME}
    assert c["mountPoints"] == [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}]
    tags = revision_tags(fresh, arn)
    assert tags["launch-one-off-status"] == "started" and tags["launch-one-off-task"] == first["task_arn"]
    assert tags["managed-by"] == "directfanz.launch" and tags["project"] == "directfanz"
    assert tags["launch-one-off-at"].endswith("Z")
    task = ecs.describe_tasks(cluster=CLUSTER, tasks=[first["task_arn"]])["tasks"][0]
    assert task["launchType"] == "FARGATE" and task["startedBy"] == NAME and task["group"] == "one-off:%s" % NAME
    assert first["log_stream"] == "%s/job/%s" % (NAME, first["task_arn"].rsplit("/", 1)[-1])
    groups = client(fresh, "logs").describe_log_groups()["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(LOG_GROUP, 30)]

    recorder.calls.clear()
    rc, out, second = run(fresh, args(w), "--diff", via=recorder)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert "DescribeTasks" not in recorder.calls  # wait is false: the earlier task is not even looked at
    assert "started by an earlier run" in out and "not confirmed" in out
    assert second["status"] == "started" and second["task_arn"] == first["task_arn"]
    assert second["diff"]["before"] == second["diff"]["after"]
    assert ecs.list_tasks(cluster=CLUSTER)["taskArns"] == [first["task_arn"]]  # no second task
    recorder.calls.clear()
    rc, out, checked = run(fresh, args(w), "--check", via=recorder)
    assert rc == 0 and checked["changed"] is False and recorder.writes() == [], out


def test_a_changed_definition_is_a_new_revision_and_a_new_run(fresh, recorder):
    w = world(fresh)
    rc, out, first = run(fresh, args(w))
    assert rc == 0, out
    changed = args(w, environment=dict(args(w)["environment"], APP_ROLE="directfanz_app2"))
    rc, out, result = run(fresh, changed, "--check", via=recorder)
    assert rc == 0 and result["changed"] is True and recorder.writes() == [], out
    assert result["actions"] == ["register a new revision of task definition %s (environment)" % NAME,
                                 "run one-off task %s (the new revision) on cluster %s" % (NAME, CLUSTER)]
    recorder.calls.clear()
    rc, out, result = run(fresh, changed, via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert recorder.writes() == ["RegisterTaskDefinition", "RunTask", "TagResource"], recorder.calls
    assert result["task_definition_arn"].endswith("%s:2" % NAME) and result["task_arn"] != first["task_arn"]
    assert revision_tags(fresh, result["task_definition_arn"])["launch-one-off-task"] == result["task_arn"]
    assert revision_tags(fresh, first["task_definition_arn"])["launch-one-off-task"] == first["task_arn"]
    recorder.calls.clear()
    rc, out, again = run(fresh, changed, via=recorder)
    assert rc == 0 and again["changed"] is False and recorder.writes() == [], out


def test_the_log_group_is_made_under_the_key_and_kept(fresh, recorder):
    w = world(fresh)
    key = client(fresh, "kms").create_key(Description="operations")["KeyMetadata"]["Arn"]
    rc, out, checked = run(fresh, args(w, log_kms_key_arn=key), "--check", via=recorder)
    assert rc == 0 and "create log group %s encrypted with %s" % (LOG_GROUP, key) in checked["actions"], out
    assert recorder.writes() == [], recorder.calls
    rc, out, first = run(fresh, args(w, log_kms_key_arn=key))
    assert rc == 0, out
    group = client(fresh, "logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"][0]
    assert group["kmsKeyId"] == key
    recorder.calls.clear()
    rc, out, again = run(fresh, args(w, log_kms_key_arn=key), via=recorder)
    assert rc == 0 and again["changed"] is False and recorder.writes() == [], out


@pytest.mark.parametrize("over, expected", [
    ({"image": "public.ecr.aws/docker/library/postgres:latest"}, "is tagged latest"),
    ({"image": "postgres"}, "has no tag"),
    ({"secrets": {"PGPASSWORD": "hunter2-not-an-arn"}}, "secret PGPASSWORD is not an ARN"),
    ({"environment": {"PGPASSWORD": "x"}}, "environment PGPASSWORD looks like a secret"),
    ({"environment": {"DATABASE_URL": "postgres://u:pw@h/db"}}, "looks like a URL with a password"),
    ({"cpu": 256, "memory": 4096}, "memory 4096 does not go with cpu 256"),
    ({"subnets": []}, "subnets is empty"),
    ({"execution_role_arn": "directfanz-db-setup"}, "execution_role_arn"),
    ({"tags": {"launch-one-off-status": "succeeded"}}, "tag key 'launch-one-off-status' is not accepted"),
    ({"environment": {"APP_SERVER_CA": "x" * 70000}}, "ECS's limit"),
    ({"log_kms_key_arn": "alias/directfanz-sandbox-operations"},
     "log_kms_key_arn 'alias/directfanz-sandbox-operations' is not accepted; accepted: a KMS key ARN"),
])
def test_bad_input_is_refused_before_any_call(fresh, recorder, over, expected):
    w = {"subnets": ["subnet-0a1b2c3d"], "app": "sg-0a1b2c3d"}
    rc, out, result = run(fresh, args(w, **over), via=recorder)
    assert rc != 0 and expected in result.get("msg", ""), out
    assert "accepted" in result["msg"]
    assert recorder.calls == []
    assert "pw@" not in result["msg"]  # a value is never echoed


def test_a_missing_cluster_is_refused_before_any_write(fresh, recorder):
    w = world(fresh)
    rc, out, result = run(fresh, args(w, cluster="nope"), via=recorder)
    assert rc != 0 and "cluster nope does not exist" in result["msg"], out
    assert recorder.writes() == [], recorder.calls


def test_moto_s_made_up_exit_code_is_not_a_success(fresh):
    """Measured: moto's task reaches STOPPED on the fourth DescribeTasks, its container still PENDING with exitCode 0
    (nothing ran). The module calls that a failure and records it, and says why."""
    w = world(fresh)
    rc, out, result = run(fresh, args(w, wait=True))
    assert rc != 0, out
    assert "container job is PENDING with exit code 0, not STOPPED" in result["msg"], result["msg"]
    assert result["status"] == "failed"
    assert "log group %s has no events in stream %s" % (LOG_GROUP, result["log_stream"]) in result["msg"]
    assert revision_tags(fresh, result["task_definition_arn"])["launch-one-off-status"] == "failed"


class Stopping(AwsProxy):
    """Canned answers for what moto does not do: every task in a DescribeTasks answer has stopped, its container with
    ``exit_code``; tasks in ``forgotten`` are answered as AWS answers a task it forgot (failures, reason MISSING). On
    RunTask the container's log lines go into moto's CloudWatch Logs (as awslogs would write them)."""

    def __init__(self, sandbox, exit_code, lines=(), forgotten=()):
        self.exit_code, self.lines, self.forgotten = exit_code, list(lines), set(forgotten)
        self.logs = client(sandbox, "logs")
        super().__init__(sandbox["aws_endpoint_url"])

    def answer(self, method, path, name, body, status, data):
        if status >= 300 or name not in ("DescribeTasks", "RunTask"):
            return data
        doc = json.loads(data)
        if name == "RunTask":
            for task in doc.get("tasks") or []:
                if self.lines:
                    stream = "%s/job/%s" % (NAME, task["taskArn"].rsplit("/", 1)[-1])
                    self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
                    start = int(time.time() * 1000)  # moto, like AWS, drops events older than 14 days
                    answer = self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=[
                        {"timestamp": start + i, "message": line} for i, line in enumerate(self.lines)])
                    assert not answer.get("rejectedLogEventsInfo"), answer
            return data
        asked = json.loads(body).get("tasks") or []
        doc["tasks"] = [t for t in doc.get("tasks") or [] if t["taskArn"] not in self.forgotten]
        doc["failures"] = [{"arn": a, "reason": "MISSING"} for a in asked if a in self.forgotten]
        for task in doc["tasks"]:
            task.update(lastStatus="STOPPED", desiredStatus="STOPPED", stopCode="EssentialContainerExited",
                        stoppedReason="Essential container in task exited")
            for c in task.get("containers") or []:
                c.update(lastStatus="STOPPED", exitCode=self.exit_code)
        return json.dumps(doc).encode()


def writes_of(proxy):
    return [c for c in proxy.calls if not c.startswith(("Get", "List", "Describe"))]


def test_a_task_that_stops_with_exit_0_is_recorded_succeeded_and_never_run_again(fresh):
    w = world(fresh)
    proxy = Stopping(fresh, 0)
    try:
        rc, out, result = run(fresh, args(w, wait=True), via=proxy)
        assert rc == 0 and result["changed"] is True, out
        assert result["status"] == "succeeded" and result["exit_code"] == 0
        assert writes_of(proxy) == ["CreateLogGroup", "PutRetentionPolicy", "RegisterTaskDefinition", "RunTask",
                                    "TagResource", "TagResource"], proxy.calls
        assert result["actions"][-1] == "wait until it stops with exit code 0 and mark the new revision succeeded"
        tags = revision_tags(fresh, result["task_definition_arn"])
        assert tags["launch-one-off-status"] == "succeeded" and tags["launch-one-off-task"] == result["task_arn"]
        proxy.calls.clear()
        rc, out, again = run(fresh, args(w, wait=True), via=proxy)
        assert rc == 0 and again["changed"] is False and again["status"] == "succeeded", out
        assert writes_of(proxy) == [] and "DescribeTasks" not in proxy.calls, proxy.calls
    finally:
        proxy.close()


def test_a_run_started_without_wait_is_confirmed_by_a_later_run_with_wait(fresh):
    w = world(fresh)
    rc, out, first = run(fresh, args(w))
    assert rc == 0 and first["status"] == "started", out
    proxy = Stopping(fresh, 0)
    try:
        rc, out, result = run(fresh, args(w, wait=True), via=proxy)
        assert rc == 0 and result["changed"] is True, out
        assert writes_of(proxy) == ["TagResource"], proxy.calls  # no second task: the earlier one succeeded
        assert result["actions"] == ["mark revision 1 succeeded: task %s, started by an earlier run, stopped with exit "
                                     "code 0" % first["task_arn"].rsplit("/", 1)[-1]]
        assert result["status"] == "succeeded" and result["task_arn"] == first["task_arn"]
    finally:
        proxy.close()


def test_a_task_ecs_forgot_is_run_again(fresh):
    w = world(fresh)
    rc, out, first = run(fresh, args(w))
    assert rc == 0, out
    proxy = Stopping(fresh, 0, forgotten=[first["task_arn"]])
    try:
        rc, out, result = run(fresh, args(w, wait=True), via=proxy)
        assert rc == 0 and result["status"] == "succeeded", out
        assert writes_of(proxy) == ["RunTask", "TagResource", "TagResource"], proxy.calls
        assert "is gone" in result["actions"][0] and result["task_arn"] != first["task_arn"]
    finally:
        proxy.close()


def test_a_failed_task_fails_with_its_reason_exit_code_and_log_tail_and_runs_again_next_time(fresh):
    w = world(fresh)
    lines = ["line %d" % i for i in range(30)] + ['psql:/tmp/x/app_role.sql:31: ERROR:  permission denied to create role']
    proxy = Stopping(fresh, 3, lines=lines)
    try:
        rc, out, result = run(fresh, args(w, wait=True), via=proxy)
        assert rc != 0, out
        msg = result["msg"]
        assert "container job exited with code 3" in msg and "EssentialContainerExited: Essential container" in msg
        assert "log group %s, stream %s" % (LOG_GROUP, result["log_stream"]) in msg
        assert result["log_tail"] == lines[-20:] and "line 10\n" not in msg
        assert result["status"] == "failed" and result["exit_code"] == 3
        assert revision_tags(fresh, result["task_definition_arn"])["launch-one-off-status"] == "failed"
    finally:
        proxy.close()
    proxy = Stopping(fresh, 0)
    try:
        rc, out, again = run(fresh, args(w, wait=True), via=proxy)
        assert rc == 0 and again["status"] == "succeeded", out
        assert writes_of(proxy) == ["RunTask", "TagResource", "TagResource"], proxy.calls
        assert "again: the earlier task" in again["actions"][0] and "failed" in again["actions"][0]
    finally:
        proxy.close()
