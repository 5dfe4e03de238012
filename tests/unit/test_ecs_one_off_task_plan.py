"""ecs_one_off_task's pure parts (module_utils/ecs_task.py) on plain dicts: the input checks (each message says what is
accepted and never echoes a value), the canonical comparison against what ECS answers (with the defaults it adds),
the record kept in the revision's tags, the verdict on a task (an exit code of a container that never stopped is not
a success), and the planner's every branch: succeeded, never run, started with and without wait, failed, gone."""

import copy

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import ecs_task as T

ACCOUNT = "123456789012"
TD_ARN = "arn:aws:ecs:us-east-1:%s:task-definition/db-setup:4" % ACCOUNT
TASK_ARN = "arn:aws:ecs:us-east-1:%s:task/directfanz/0123456789abcdef" % ACCOUNT
CLUSTER = {"clusterName": "directfanz", "status": "ACTIVE"}


def params(**over):
    p = {"cluster": "directfanz", "name": "db-setup", "image": "postgres:16.6", "allow_latest": False,
         "command": ["/bin/sh", "-c", "true"], "environment": {"PGHOST": "db.internal", "PGPORT": "5432"},
         "environment_safe_keys": [],
         "secrets": {"PGPASSWORD": "arn:aws:secretsmanager:us-east-1:%s:secret:rds!db-1-AbCdEf:password::" % ACCOUNT},
         "cpu": 256, "memory": 512, "cpu_architecture": "X86_64", "user": None, "scratch_path": "/tmp",
         "execution_role_arn": "arn:aws:iam::%s:role/db-setup-execution" % ACCOUNT, "task_role_arn": None,
         "log_group": "/directfanz/db-setup", "log_retention": 30, "log_kms_key_arn": None,
         "subnets": ["subnet-0a", "subnet-0b"], "security_groups": ["sg-0a"], "tags": {"project": "directfanz"},
         "wait": True, "wait_timeout": 900, "wait_delay": 10}
    p.update(over)
    return p


def as_ecs_answers(p, tags=None):
    """What DescribeTaskDefinition answers for the registered definition: ECS's additions included."""
    td = copy.deepcopy(T.task_definition(p, "us-east-1"))
    td.pop("tags")
    td.update(taskDefinitionArn=TD_ARN, revision=4, status="ACTIVE", compatibilities=["EC2", "FARGATE"],
              requiresAttributes=[{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"}],
              registeredAt="2026-12-01T00:00:00Z", placementConstraints=[])
    c = td["containerDefinitions"][0]
    c.update(cpu=0, portMappings=[], volumesFrom=[], systemControls=[])
    td["tags"] = tags if tags is not None else T.ecs_tags(T.desired_tags(p["tags"]))
    return td


def record(status, task=TASK_ARN):
    return T.ecs_tags(dict(T.desired_tags({"project": "directfanz"}), **{
        T.STATUS_TAG: status, T.TASK_TAG: task, T.AT_TAG: "2026-12-01T00:00:00Z"}))


def observed(latest=None, task=None, group=None):
    return {"cluster": CLUSTER, "latest": latest, "log_group": group or {"logGroupName": "/directfanz/db-setup",
                                                                         "retentionInDays": 30}, "task": task}


def stopped(code, container_status="STOPPED", **extra):
    container = {"name": "job", "lastStatus": container_status}
    if code is not None:
        container["exitCode"] = code
    container.update(extra)
    return {"taskArn": TASK_ARN, "lastStatus": "STOPPED", "desiredStatus": "STOPPED", "containers": [container],
            "stopCode": "EssentialContainerExited", "stoppedReason": "Essential container in task exited"}


def ops(plan):
    return [s["op"] for s in plan.steps]


# ---- input


def test_good_input_has_no_problem():
    assert T.input_problems(params()) == []


@pytest.mark.parametrize("over, expected", [
    ({"image": "postgres:latest"}, "tagged latest"),
    ({"image": "postgres"}, "has no tag"),
    ({"name": "bad name"}, "name 'bad name' is not accepted"),
    ({"cpu": 300}, "cpu 300 is not a Fargate size"),
    ({"memory": 8192}, "accepted with cpu 256: 512, 1024 or 2048 MiB"),
    ({"command": []}, "command is empty"),
    ({"secrets": {"PGPASSWORD": "s3cret-value"}}, "secret PGPASSWORD is not an ARN"),
    ({"environment": {"API_TOKEN": "abc"}}, "environment API_TOKEN looks like a secret"),
    ({"environment": {"KEY_MATERIAL": "-----BEGIN RSA PRIVATE KEY-----"}}, "looks like a secret"),
    ({"environment": {"NOTE": "sk_live_abcdef"}}, "the value of environment NOTE looks like a Stripe key"),
    ({"environment": {"PGPASSWORD": "x"}, "secrets": {}}, "PGPASSWORD looks like a secret"),
    ({"task_role_arn": "nope"}, "task_role_arn 'nope'"),
    ({"user": "root"}, "runs as root"),
    ({"log_retention": 31}, "log_retention 31"),
    ({"scratch_path": "tmp"}, "scratch_path 'tmp' is not an absolute path"),
    ({"subnets": ["subnet-0a", "(new subnet a)"]}, "subnets entry '(new subnet a)'"),
    ({"tags": {"managed-by": "me"}}, "tag key 'managed-by' is not accepted"),
    ({"wait_delay": 0}, "wait_timeout and wait_delay must be positive"),
])
def test_bad_input_names_what_is_accepted_and_never_the_value(over, expected):
    problems = T.input_problems(params(**over))
    assert any(expected in problem for problem in problems), problems
    for value in ("s3cret-value", "abcdef", "-----BEGIN RSA"):
        assert not any(value in problem for problem in problems)


def test_placeholders_of_earlier_modules_are_accepted_in_check_mode_only():
    p = params(subnets=["(new subnet private-a)"], security_groups=["(new security group app)"])
    assert T.input_problems(p, check_mode=True) == []
    assert len(T.input_problems(p)) == 2


def test_safe_keys_let_a_secret_looking_name_through():
    assert T.input_problems(params(environment={"PUBLIC_KEY_URL": "https://x"},
                                   environment_safe_keys=["PUBLIC_KEY_URL"])) == []


def test_a_definition_over_ecs_s_limit_is_refused():
    problems = T.input_problems(params(environment={"APP_SERVER_CA": "A" * 70000}))
    assert problems and "ECS's limit" in problems[0]


# ---- the definition and its comparison


def test_the_definition_is_fargate_read_only_with_a_scratch_volume_and_awslogs():
    td = T.task_definition(params(), "eu-west-1")
    c = td["containerDefinitions"][0]
    assert td["family"] == "db-setup" and td["networkMode"] == "awsvpc" and td["requiresCompatibilities"] == ["FARGATE"]
    assert "taskRoleArn" not in td and td["volumes"] == [{"name": "scratch"}]
    assert c["readonlyRootFilesystem"] is True and c["memory"] == 512
    assert c["mountPoints"] == [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}]
    assert c["logConfiguration"]["options"] == {"awslogs-group": "/directfanz/db-setup", "awslogs-region": "eu-west-1",
                                                "awslogs-stream-prefix": "db-setup"}
    assert {t["key"] for t in td["tags"]} == {"project", "managed-by"}


def test_what_ecs_adds_is_not_a_difference():
    p = params()
    assert T.canonical_task(as_ecs_answers(p)) == T.canonical_task(T.task_definition(p, "us-east-1"))


def test_a_difference_names_the_field_only():
    have = T.canonical_task(as_ecs_answers(params()))
    wanted = T.canonical_task(T.task_definition(params(image="postgres:16.7", environment={"PGHOST": "x"}), "us-east-1"))
    assert T.task_changes(wanted, have) == ["environment", "image"]


def test_the_record_and_the_log_stream():
    assert T.record_of(record("started")) == {"status": "started", "task": TASK_ARN, "at": "2026-12-01T00:00:00Z"}
    assert T.record_of(T.ecs_tags({"project": "x"})) == {}
    assert T.log_stream(params(), TASK_ARN) == "db-setup/job/0123456789abcdef"
    assert T.log_stream(params(), "(new task db-setup)") is None


# ---- the verdict


def test_exit_0_of_a_stopped_container_is_a_success():
    assert T.task_verdict(stopped(0))[0::2] == ("succeeded", 0)


def test_a_non_zero_exit_names_the_code_the_reason_and_the_stop():
    verdict, why, code = T.task_verdict(stopped(1, reason="OutOfMemoryError: Container killed"))
    assert (verdict, code) == ("failed", 1)
    assert "container job exited with code 1 (OutOfMemoryError" in why
    assert "EssentialContainerExited: Essential container in task exited" in why


def test_a_container_that_never_ran_is_a_failure():
    verdict, why, code = T.task_verdict(stopped(None, reason="CannotPullContainerError: pull access denied"))
    assert verdict == "failed" and code is None
    assert "never ran to its end" in why and "CannotPullContainerError" in why


def test_moto_s_pending_container_with_exit_0_is_not_a_success():
    verdict, why, code = T.task_verdict(stopped(0, container_status="PENDING"))
    assert verdict == "failed" and "container job is PENDING with exit code 0, not STOPPED" in why


def test_running_and_gone():
    running = dict(stopped(None), lastStatus="RUNNING", desiredStatus="RUNNING")
    assert T.task_verdict(running)[0] == "running"
    assert T.task_verdict(None)[0] == "gone"


# ---- the planner


def test_nothing_yet_registers_and_runs_and_waits():
    plan, outcome = T.plan_one_off(params(), observed(group=None) | {"log_group": None}, {"region": "us-east-1"})
    assert ops(plan) == ["create_log_group", "put_retention_policy", "register_task_definition", "start_task",
                         "mark_revision", "wait_task", "mark_revision"]
    start = plan.steps[3]
    assert start["kwargs"]["taskDefinition"] == "(new revision of db-setup)"
    assert start["kwargs"]["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert start["kwargs"]["launchType"] == "FARGATE" and start["kwargs"]["group"] == "one-off:db-setup"
    assert start["kwargs"]["startedBy"] == "db-setup"
    assert plan.steps[4]["status"] == "started" and plan.steps[4]["task"] == "(new task db-setup)"
    assert plan.steps[6]["status"] == "succeeded"
    assert outcome["status"] == "none" and outcome["task_definition_arn"] == "(new revision of db-setup)"


def test_a_succeeded_revision_is_nothing_to_do():
    plan, outcome = T.plan_one_off(params(), observed(as_ecs_answers(params(), record("succeeded"))),
                                   {"region": "us-east-1"})
    assert plan.steps == [] and not plan.changed and not plan.warnings
    assert outcome == {"task_definition_arn": TD_ARN, "task_arn": TASK_ARN, "status": "succeeded", "exit_code": 0}


def test_without_wait_a_run_is_not_waited_for_and_a_started_one_only_warns():
    plan, unused = T.plan_one_off(params(wait=False), observed(as_ecs_answers(params(), T.ecs_tags(
        T.desired_tags({"project": "directfanz"})))), {"region": "us-east-1"})
    assert ops(plan) == ["start_task", "mark_revision"]
    plan, outcome = T.plan_one_off(params(wait=False), observed(as_ecs_answers(params(), record("started"))),
                                   {"region": "us-east-1"})
    assert plan.steps == [] and outcome["status"] == "started"
    assert "not confirmed" in plan.warnings[0] and TASK_ARN in plan.warnings[0]


def test_started_and_stopped_with_0_is_only_marked():
    plan, outcome = T.plan_one_off(params(), observed(as_ecs_answers(params(), record("started")), task=stopped(0)),
                                   {"region": "us-east-1"})
    assert ops(plan) == ["mark_revision"] and plan.steps[0]["task"] == TASK_ARN
    assert plan.actions == ["mark revision 4 succeeded: task 0123456789abcdef, started by an earlier run, stopped "
                            "with exit code 0"]


def test_started_and_still_running_is_waited_for():
    running = dict(stopped(None), lastStatus="RUNNING", desiredStatus="RUNNING")
    plan, unused = T.plan_one_off(params(), observed(as_ecs_answers(params(), record("started")), task=running),
                                  {"region": "us-east-1"})
    assert ops(plan) == ["wait_task", "mark_revision"] and plan.steps[0]["task"] == TASK_ARN


@pytest.mark.parametrize("task, why", [(None, "is gone"), (stopped(2), "failed - container job exited with code 2")])
def test_started_and_gone_or_failed_is_run_again(task, why):
    plan, unused = T.plan_one_off(params(), observed(as_ecs_answers(params(), record("started")), task=task),
                                  {"region": "us-east-1"})
    assert ops(plan) == ["start_task", "mark_revision", "wait_task", "mark_revision"]
    assert why in plan.actions[0] and plan.steps[0]["kwargs"]["taskDefinition"] == TD_ARN


def test_failed_is_run_again():
    plan, unused = T.plan_one_off(params(), observed(as_ecs_answers(params(), record("failed"))), {"region": "us-east-1"})
    assert ops(plan)[0] == "start_task" and "again: the earlier task 0123456789abcdef failed" in plan.actions[0]


def test_a_changed_definition_is_a_new_revision_whose_record_is_empty():
    plan, outcome = T.plan_one_off(params(image="postgres:16.7"), observed(as_ecs_answers(params(), record("succeeded"))),
                                   {"region": "us-east-1"})
    assert ops(plan)[:2] == ["register_task_definition", "start_task"]
    assert plan.actions[0] == "register a new revision of task definition db-setup (image)"
    assert outcome["status"] == "none"


def test_missing_tags_are_added_to_the_revision():
    tags = [t for t in record("succeeded") if t["key"] != "project"]
    plan, unused = T.plan_one_off(params(), observed(as_ecs_answers(params(), tags)), {"region": "us-east-1"})
    assert ops(plan) == ["tag_resource"] and plan.steps[0]["kwargs"]["tags"] == [{"key": "project", "value": "directfanz"}]


def test_a_missing_cluster_refuses_except_in_check_mode():
    obs = dict(observed(), cluster=None)
    plan, unused = T.plan_one_off(params(), obs, {"region": "us-east-1"})
    assert plan.problems and "does not exist" in plan.problems[0]
    plan, unused = T.plan_one_off(params(), obs, {"region": "us-east-1", "check_mode": True})
    assert not plan.problems and plan.warnings
