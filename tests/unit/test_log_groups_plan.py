"""Log groups under the launch's key, planned the same way by ecs_service, ecs_one_off_task (module_utils/ecs_task.py)
and log_groups (module_utils/log_groups.py): made with the key, an existing group with another key or none associated
with it, no key given leaves the group's key alone, a key that is not a key ARN of the group's region refused."""

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import ecs_task
from ansible_collections.directfanz.launch.plugins.module_utils import log_groups as L
from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan
from ansible_collections.directfanz.launch.plugins.modules import ecs_service
from ansible_collections.directfanz.launch.plugins.modules import log_groups as M

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"


def planned(group, key=KEY, retention=30):
    plan = Plan()
    L.plan_group(plan, "/d/web", retention, key, group, {"managed-by": "directfanz.launch"})
    return plan


def test_a_new_group_is_made_with_the_key_and_its_retention():
    plan = planned(None)
    assert [(s["op"], s["kwargs"]) for s in plan.steps] == [
        ("create_log_group", {"logGroupName": "/d/web", "tags": {"managed-by": "directfanz.launch"}, "kmsKeyId": KEY}),
        ("put_retention_policy", {"logGroupName": "/d/web", "retentionInDays": 30})]
    assert plan.actions[0] == "create log group /d/web encrypted with %s" % KEY
    assert "kmsKeyId" not in planned(None, key=None).steps[0]["kwargs"]


@pytest.mark.parametrize("have,was", [(None, "CloudWatch Logs' own key"), (OTHER, OTHER)])
def test_an_existing_group_with_no_or_another_key_is_associated(have, was):
    group = {"logGroupName": "/d/web", "retentionInDays": 30}
    if have:
        group["kmsKeyId"] = have
    plan = planned(group)
    assert [(s["op"], s["kwargs"]) for s in plan.steps] == [
        ("associate_kms_key", {"logGroupName": "/d/web", "kmsKeyId": KEY})]
    assert plan.actions == ["encrypt log group /d/web with %s (was %s)" % (KEY, was)]


def test_the_same_key_and_retention_plan_nothing_and_no_key_leaves_the_key_alone():
    assert planned({"logGroupName": "/d/web", "retentionInDays": 30, "kmsKeyId": KEY}).steps == []
    assert planned({"logGroupName": "/d/web", "retentionInDays": 30, "kmsKeyId": OTHER}, key=None).steps == []
    assert planned({"logGroupName": "/d/web", "retentionInDays": 30}, key=None).steps == []
    plan = planned({"logGroupName": "/d/web", "kmsKeyId": KEY}, retention=90)
    assert plan.actions == ["keep log group /d/web for 90 days (was forever)"]


@pytest.mark.parametrize("key,message", [
    ("alias/directfanz-operations", "log_kms_key_arn 'alias/directfanz-operations' is not accepted; accepted: a KMS"
                                    " key ARN such as arn:aws:kms:<region>:<account>:key/<key id> (CloudWatch Logs"
                                    " takes no alias)"),
    ("1234abcd-12ab-34cd-56ef-1234567890ab", "is not accepted; accepted: a KMS key ARN"),
    (KEY.replace("eu-west-1", "us-east-1"), "is a key of us-east-1; accepted: a key of the log group's region eu-west-1"),
])
def test_a_key_that_is_not_a_key_arn_of_the_region_is_refused(key, message):
    assert message in L.key_problem(key, "eu-west-1")
    assert L.key_problem(KEY, "eu-west-1") is None and L.key_problem(None, "eu-west-1") is None


def test_ecs_service_and_the_one_off_task_plan_their_groups_alike():
    group = {"logGroupName": "/d/web", "retentionInDays": 30}
    plan = Plan()
    ecs_service.plan_log_group({"log_kms_key_arn": KEY, "tags": {}}, plan,
                               {"log_group": "/d/web", "log_retention": 30}, {"log_groups": {"/d/web": group}}, set())
    assert [s["op"] for s in plan.steps] == ["associate_kms_key"]
    plan = Plan()
    ecs_task.plan_log_group({"log_group": "/d/web", "log_retention": 30, "log_kms_key_arn": KEY, "tags": {}}, plan, group)
    assert [s["op"] for s in plan.steps] == ["associate_kms_key"]


def test_ecs_service_and_the_one_off_task_refuse_an_alias_before_any_call():
    assert any("log_kms_key_arn 'alias/x' is not accepted" in p for p in ecs_service.input_problems(
        {"cluster": "c", "launch_name": "d", "services": [], "log_kms_key_arn": "alias/x", "region": "eu-west-1",
         "wait_timeout": 1, "wait_delay": 1}))
    assert any("log_kms_key_arn 'alias/x' is not accepted" in p for p in ecs_task.input_problems(
        {"log_kms_key_arn": "alias/x", "region": "eu-west-1", "log_retention": 30}))


# --- the log_groups module's planner ---------------------------------------------------------------------------

def params(**overrides):
    return dict({"groups": [{"name": "aws-waf-logs-d-regional", "retention_days": 90}], "kms_key_arn": KEY,
                 "tags": {"project": "d"}}, **overrides)


CTX = {"arn": {"aws-waf-logs-d-regional": "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-d-regional"}}


def test_the_module_makes_a_missing_group_and_tags_it_in_the_create():
    plan = M.plan_groups(params(), {"aws-waf-logs-d-regional": {"group": None, "tags": {}}}, CTX)
    assert [s["op"] for s in plan.steps] == ["create_log_group", "put_retention_policy"]
    assert plan.steps[0]["kwargs"]["tags"] == {"project": "d", "managed-by": "directfanz.launch"}


def test_the_module_adds_missing_tags_and_the_key_and_never_removes_a_tag():
    group = {"logGroupName": "aws-waf-logs-d-regional", "retentionInDays": 90}
    observed = {"aws-waf-logs-d-regional": {"group": group, "tags": {"other": "x", "managed-by": "directfanz.launch"}}}
    plan = M.plan_groups(params(), observed, CTX)
    assert [(s["op"], s["kwargs"]) for s in plan.steps] == [
        ("associate_kms_key", {"logGroupName": "aws-waf-logs-d-regional", "kmsKeyId": KEY}),
        ("tag_resource", {"resourceArn": CTX["arn"]["aws-waf-logs-d-regional"], "tags": {"project": "d"}})]
    before, after = M.views(params(), observed)
    assert before["aws-waf-logs-d-regional"]["kms_key_id"] == "" and after["aws-waf-logs-d-regional"] == {
        "retention_days": 90, "kms_key_id": KEY, "tags": {"other": "x", "managed-by": "directfanz.launch", "project": "d"}}
    observed["aws-waf-logs-d-regional"] = {"group": dict(group, kmsKeyId=KEY),
                                           "tags": {"project": "d", "managed-by": "directfanz.launch"}}
    assert M.plan_groups(params(), observed, CTX).steps == []


@pytest.mark.parametrize("overrides,message", [
    ({"groups": []}, "groups is empty; accepted: a list of {name, retention_days}"),
    ({"groups": [{"name": "bad name", "retention_days": 90}]}, "groups[0]: name 'bad name' is not accepted"),
    ({"groups": [{"name": "a", "retention_days": 90}] * 2}, "log group 'a' is listed twice"),
    ({"groups": [{"name": "a", "retention_days": 100}]}, "groups[0] (a): retention_days 100 is not accepted; accepted: 1,"),
    ({"kms_key_arn": "alias/d-operations"}, "kms_key_arn 'alias/d-operations' is not accepted; accepted: a KMS key ARN"),
    ({"tags": {"aws:x": "1"}}, "tag key 'aws:x' is not valid"),
])
def test_the_module_refuses_bad_input_saying_what_is_accepted(overrides, message):
    assert any(message in p for p in M.input_problems(params(**overrides), "eu-west-1")), M.input_problems(
        params(**overrides), "eu-west-1")
    assert M.input_problems(params(), "eu-west-1") == []
