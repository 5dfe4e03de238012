"""backup_plan's pure parts: the input checks (DR region equal to the primary refused), the planner on plain dicts,
the one predicate that tells "the endpoint lacks this API" from an AWS refusal, and the selection calls on canned
answers (botocore Stubber) - moto implements no backup selection call, so this is where their logic is proven."""

import copy

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from ansible_collections.directfanz.launch.plugins.modules import backup_plan as M

ACCOUNT = "123456789012"
CTX = {"account": ACCOUNT, "partition": "aws", "region": "us-east-1", "dr_region": "us-west-2"}
KEY = {"KeyId": "k1", "Arn": "arn:aws:kms:us-east-1:%s:key/k1" % ACCOUNT, "KeyState": "Enabled",
       "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Rotation": True}
DR_KEY = dict(KEY, KeyId="k2", Arn="arn:aws:kms:us-west-2:%s:key/k2" % ACCOUNT)
ROLE = "arn:aws:iam::%s:role/launch-backup" % ACCOUNT
HTML_500 = ("<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>")


def params(**overrides):
    p = {"name": "launch-daily", "vault_name": "launch", "kms_key": "alias/launch-data", "dr_region": "us-west-2",
         "dr_vault_name": "launch", "dr_kms_key": "alias/launch-dr", "rule_name": "daily",
         "schedule": "cron(0 5 ? * * *)", "start_window_minutes": 60, "completion_window_minutes": 480,
         "delete_after_days": 30, "copy_delete_after_days": None,
         "selection": {"name": "launch-tagged", "iam_role_arn": ROLE, "resource_types": ["rds", "s3"],
                       "tags": {"project": "directfanz", "environment": "production"}},
         "tags": {"project": "directfanz"}}
    p.update(overrides)
    return p


def empty():
    return {"keys": {"primary": dict(KEY), "dr": dict(DR_KEY)}, "vaults": {"primary": None, "dr": None}, "plans": [],
            "selections": {}}


def built(p=None):
    """What AWS holds after the plan for ``p`` was applied, as the reads return it."""
    p = p or params()
    tags = M.desired_tags(p["tags"])
    rule = dict(M.desired_rule(p, CTX), RuleId="r1")
    selection = dict(M.desired_selection(p, CTX), SelectionId="s1")
    return {"keys": {"primary": dict(KEY), "dr": dict(DR_KEY)},
            "vaults": {"primary": {"BackupVaultName": "launch", "EncryptionKeyArn": KEY["Arn"], "Tags": dict(tags),
                                   "BackupVaultArn": M.vault_arn(CTX, "us-east-1", "launch")},
                       "dr": {"BackupVaultName": "launch", "EncryptionKeyArn": DR_KEY["Arn"], "Tags": dict(tags),
                              "BackupVaultArn": M.vault_arn(CTX, "us-west-2", "launch")}},
            "plans": [{"BackupPlanId": "p1", "BackupPlanArn": "arn:aws:backup:us-east-1:%s:backup-plan:p1" % ACCOUNT,
                       "BackupPlan": {"BackupPlanName": p["name"], "Rules": [rule]}, "Tags": dict(tags)}],
            "selections": {"launch-tagged": selection}}


# ---------------------------------------------------------------------------------------------------------------
# input


def test_dr_region_equal_to_the_primary_is_refused_with_what_is_accepted():
    problems = M.input_problems(params(dr_region="us-east-1"), "us-east-1")
    assert problems == ["dr_region us-east-1 is the primary region; accepted: another region (a copy in the same"
                        " region does not survive the loss of the region)"]


@pytest.mark.parametrize("override, expected", [
    ({"dr_region": "west"}, "dr_region 'west' is not a region name"),
    ({"schedule": "daily"}, "schedule 'daily' is not accepted; accepted: a cron(...) expression"),
    ({"start_window_minutes": 30}, "start_window_minutes 30 is too short; accepted: at least 60"),
    ({"completion_window_minutes": 60}, "completion_window_minutes 60 is not longer than start_window_minutes 60"),
    ({"delete_after_days": 0}, "delete_after_days 0 is out of range; accepted: 1-36500 days"),
    ({"vault_name": "a"}, "vault_name 'a' is not valid; accepted: 2-50 letters"),
    ({"kms_key": " "}, "kms_key is empty"),
])
def test_bad_input_is_named(override, expected):
    problems = M.input_problems(params(**override), "us-east-1")
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_selection_without_tags_or_with_a_bad_role_is_refused():
    p = params(selection={"name": "s", "iam_role_arn": "launch-backup", "resource_types": ["rds"], "tags": {}})
    problems = M.input_problems(p, "us-east-1")
    assert any("selection.iam_role_arn 'launch-backup' is not a role ARN" in x for x in problems)
    assert any("selection.tags is empty, which would select every database and bucket" in x for x in problems)


def test_no_region_is_refused():
    assert M.input_problems(params(), None)[0].startswith("no region is set")


# ---------------------------------------------------------------------------------------------------------------
# planning


def test_an_empty_account_gets_both_vaults_the_plan_and_the_selection_in_order():
    plan = M.plan_backup(params(), empty(), CTX)
    assert not plan.problems and not plan.warnings
    assert [(s.get("service"), s["op"]) for s in plan.steps] == [
        ("backup", "create_backup_vault"), ("backup_dr", "create_backup_vault"), ("backup", "create_backup_plan"),
        (None, "create_selection")]
    primary, dr, created, selection = plan.steps
    assert primary["kwargs"]["EncryptionKeyArn"] == KEY["Arn"] and dr["kwargs"]["EncryptionKeyArn"] == DR_KEY["Arn"]
    assert primary["kwargs"]["BackupVaultTags"] == {"project": "directfanz", "managed-by": "directfanz.launch"}
    rule = created["kwargs"]["BackupPlan"]["Rules"][0]
    assert rule["ScheduleExpression"] == "cron(0 5 ? * * *)" and rule["Lifecycle"] == {"DeleteAfterDays": 30}
    assert (rule["StartWindowMinutes"], rule["CompletionWindowMinutes"]) == (60, 480)
    assert rule["CopyActions"] == [{"DestinationBackupVaultArn": "arn:aws:backup:us-west-2:%s:backup-vault:launch"
                                    % ACCOUNT, "Lifecycle": {"DeleteAfterDays": 30}}]
    # the selection is made for the plan this run creates (its placeholder), by tag AND resource type
    assert selection["plan_id"] == created["out"] == "(new backup plan launch-daily)"
    assert selection["selection"] == {
        "SelectionName": "launch-tagged", "IamRoleArn": ROLE,
        "Resources": ["arn:aws:rds:us-east-1:%s:db:*" % ACCOUNT, "arn:aws:s3:::*"],
        "Conditions": {"StringEquals": [
            {"ConditionKey": "aws:ResourceTag/environment", "ConditionValue": "production"},
            {"ConditionKey": "aws:ResourceTag/project", "ConditionValue": "directfanz"}]}}


def test_what_exists_as_wanted_plans_nothing():
    plan = M.plan_backup(params(), built(), CTX)
    assert plan.steps == [] and not plan.problems and not plan.warnings


def test_service_defaults_in_the_answer_are_no_difference():
    observed = built()
    rule = observed["plans"][0]["BackupPlan"]["Rules"][0]
    del rule["ScheduleExpressionTimezone"]  # an older plan without it: UTC
    rule["CopyActions"] = list(reversed(rule["CopyActions"]))
    observed["selections"]["launch-tagged"]["Conditions"] = dict(
        observed["selections"]["launch-tagged"]["Conditions"], StringLike=[], StringNotEquals=[])
    observed["selections"]["launch-tagged"]["ListOfTags"] = []
    assert M.plan_backup(params(), observed, CTX).steps == []


def test_a_changed_rule_is_one_explicit_update_of_the_plan():
    plan = M.plan_backup(params(delete_after_days=35, schedule="cron(0 6 ? * * *)"), built(), CTX)
    assert [s["op"] for s in plan.steps] == ["update_plan"]
    assert plan.actions == ["update backup plan launch-daily (ScheduleExpression cron(0 5 ? * * *) -> cron(0 6 ? * * *);"
                            " DeleteAfterDays 30 -> 35; copies to arn:aws:backup:us-west-2:%s:backup-vault:launch kept 30"
                            " days -> to arn:aws:backup:us-west-2:%s:backup-vault:launch kept 35 days)" % (ACCOUNT, ACCOUNT)]
    assert plan.steps[0]["kwargs"]["BackupPlanId"] == "p1"
    assert plan.steps[0]["kwargs"]["BackupPlan"]["Rules"][0]["Lifecycle"] == {"DeleteAfterDays": 35}


def test_a_foreign_rule_in_our_plan_is_removed_by_name():
    observed = built()
    observed["plans"][0]["BackupPlan"]["Rules"].append({"RuleName": "hourly", "TargetBackupVaultName": "launch"})
    plan = M.plan_backup(params(), observed, CTX)
    assert plan.actions == ["update backup plan launch-daily (remove rules hourly)"]


def test_a_vault_under_another_key_is_refused_not_replaced():
    observed = built()
    observed["vaults"]["dr"]["EncryptionKeyArn"] = "arn:aws:kms:us-west-2:%s:key/other" % ACCOUNT
    plan = M.plan_backup(params(), observed, CTX)
    assert plan.problems == ["DR vault launch in us-west-2 is encrypted with arn:aws:kms:us-west-2:%s:key/other, not %s;"
                             " a vault's key cannot be changed: choose another vault name or delete the empty vault"
                             % (ACCOUNT, DR_KEY["Arn"])]


def test_missing_disabled_or_unrotated_keys():
    observed = empty()
    observed["keys"]["dr"] = None
    plan = M.plan_backup(params(), observed, CTX)
    assert plan.problems == ["dr_kms_key was not found in us-west-2; accepted: an existing symmetric KMS key of that"
                             " region"] and plan.steps == []
    observed = empty()
    observed["keys"]["primary"]["KeyState"] = "Disabled"
    observed["keys"]["dr"]["Rotation"] = False
    plan = M.plan_backup(params(), observed, CTX)
    assert plan.problems == ["kms_key %s is Disabled; accepted: an enabled key" % KEY["Arn"]]
    assert plan.warnings == ["dr_kms_key %s has automatic rotation off" % DR_KEY["Arn"]]


def test_a_key_only_planned_in_check_mode_is_planned_around_with_a_warning():
    observed = empty()
    observed["keys"]["dr"] = {"KeyId": "alias/launch-dr", "Arn": "(key alias/launch-dr in us-west-2)", "Placeholder": True}
    plan = M.plan_backup(params(), observed, CTX)
    assert not plan.problems and plan.steps[1]["kwargs"]["EncryptionKeyArn"] == "(key alias/launch-dr in us-west-2)"
    assert plan.warnings == ["dr_kms_key alias/launch-dr does not exist yet in us-west-2 (check mode: an earlier task"
                             " makes it)"]


def test_two_plans_of_our_name_are_refused():
    observed = built()
    observed["plans"].append(dict(copy.deepcopy(observed["plans"][0]), BackupPlanId="p2"))
    plan = M.plan_backup(params(), observed, CTX)
    assert plan.problems == ["2 backup plans are named launch-daily (p1, p2); accepted: at most one - delete the others"]


def test_missing_tags_are_added_and_others_kept():
    observed = built()
    observed["vaults"]["primary"]["Tags"] = {"owner": "ops"}
    plan = M.plan_backup(params(), observed, CTX)
    assert plan.actions == ["tag vault launch in us-east-1 (managed-by, project)"]
    assert plan.steps[0]["kwargs"]["Tags"] == {"project": "directfanz", "managed-by": "directfanz.launch"}


def test_selections_the_endpoint_cannot_list_are_not_verified_and_not_touched():
    observed = built()
    observed["selections"] = None
    plan = M.plan_backup(params(), observed, CTX)
    assert plan.steps == []
    assert plan.warnings == ["backup selection launch-tagged of plan launch-daily was not verified: the endpoint does"
                             " not implement %s; nothing about the selection was read or changed" % M.SELECTION_API]


def test_a_missing_selection_is_created_for_the_existing_plan():
    observed = built()
    observed["selections"] = {}
    plan = M.plan_backup(params(), observed, CTX)
    assert [(s["op"], s["plan_id"]) for s in plan.steps] == [("create_selection", "p1")]


def test_a_changed_selection_is_replaced_since_selections_cannot_be_updated():
    p = params(selection=dict(params()["selection"], resource_types=["rds"]))
    plan = M.plan_backup(p, built(), CTX)
    assert [s["op"] for s in plan.steps] == ["delete_backup_selection", "create_selection"]
    assert plan.steps[0]["kwargs"] == {"BackupPlanId": "p1", "SelectionId": "s1"}
    assert plan.actions == ["replace backup selection launch-tagged (Resources; selections cannot be updated)"]
    assert plan.steps[1]["selection"]["Resources"] == ["arn:aws:rds:us-east-1:%s:db:*" % ACCOUNT]


# ---------------------------------------------------------------------------------------------------------------
# the one predicate for a missing API, and the selection calls on canned answers


def client_error(code, message, status):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message},
                                            "ResponseMetadata": {"HTTPStatusCode": status}}, "ListBackupSelections")


def test_only_an_answer_without_an_aws_error_code_counts_as_unimplemented():
    assert M.unimplemented(client_error("500", HTML_500, 500))
    assert M.unimplemented(client_error("404", "<!doctype html><html><title>404 Not Found</title>", 404))
    assert not M.unimplemented(client_error("ServiceUnavailableException", "try later", 503))
    assert not M.unimplemented(client_error("InvalidParameterValueException", "bad role", 400))
    assert not M.unimplemented(client_error("500", "internal failure", 500))  # a real 5xx without a page


class FakeModule:
    def __init__(self):
        self.warnings = []
        self.check_mode = False

    def warn(self, text):
        self.warnings.append(text)

    def fail_json_aws(self, e, msg):
        raise AssertionError("%s: %s" % (msg, e))


@pytest.fixture()
def backup():
    client = boto3.client("backup", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_read_selections_reads_each_selection_of_the_plan(backup):
    client, stub = backup
    stub.add_response("list_backup_selections", {"BackupSelectionsList": [
        {"SelectionId": "s1", "SelectionName": "launch-tagged", "BackupPlanId": "p1"}], "NextToken": "t"},
        {"BackupPlanId": "p1"})
    stub.add_response("list_backup_selections", {"BackupSelectionsList": []}, {"BackupPlanId": "p1", "NextToken": "t"})
    wanted = M.desired_selection(params(), CTX)
    stub.add_response("get_backup_selection", {"BackupSelection": wanted, "SelectionId": "s1", "BackupPlanId": "p1"},
                      {"BackupPlanId": "p1", "SelectionId": "s1"})
    found = M.read_selections(FakeModule(), client, "p1")
    assert found == {"launch-tagged": dict(wanted, SelectionId="s1")}
    observed = built()
    observed["selections"] = found
    assert M.plan_backup(params(), observed, CTX).steps == []  # read back as wanted: nothing to do


def test_read_selections_says_none_when_the_endpoint_lacks_the_api(backup):
    client, stub = backup
    stub.add_client_error("list_backup_selections", "500", HTML_500, 500, expected_params={"BackupPlanId": "p1"})
    assert M.read_selections(FakeModule(), client, "p1") is None


def test_read_selections_fails_on_an_aws_refusal(backup):
    client, stub = backup
    stub.add_client_error("list_backup_selections", "AccessDeniedException", "no", 403)
    with pytest.raises(AssertionError, match="Could not read the backup selections of plan p1"):
        M.read_selections(FakeModule(), client, "p1")


def test_make_selection_creates_it_for_the_real_plan_id(backup):
    client, stub = backup
    wanted = M.desired_selection(params(), CTX)
    stub.add_response("create_backup_selection", {"SelectionId": "s9", "BackupPlanId": "p7"},
                      {"BackupPlanId": "p7", "BackupSelection": wanted})
    step = {"op": "create_selection", "texts": ["create backup selection launch-tagged"], "plan_id": "(new plan)",
            "selection": wanted}
    selection, unverified = {"name": "launch-tagged", "id": "", "verified": False}, []
    made = M.make_selection(FakeModule(), client, step, lambda v: "p7" if v == "(new plan)" else v, selection, unverified)
    assert made == "s9" and selection == {"name": "launch-tagged", "id": "s9", "verified": True} and unverified == []
    assert step["texts"] == ["create backup selection launch-tagged"]


def test_make_selection_on_an_endpoint_without_it_reports_nothing_made(backup):
    client, stub = backup
    stub.add_client_error("create_backup_selection", "500", HTML_500, 500)
    wanted = M.desired_selection(params(), CTX)
    step = {"op": "create_selection", "texts": ["create backup selection launch-tagged"], "plan_id": "p1",
            "selection": wanted}
    module, selection, unverified = FakeModule(), {"name": "launch-tagged", "id": "", "verified": False}, []
    assert M.make_selection(module, client, step, lambda v: v, selection, unverified) is None
    assert step["texts"] == []  # not in the actions: it was not done
    assert selection["verified"] is False and unverified == [
        "backup selection launch-tagged (the endpoint does not implement %s)" % M.SELECTION_API]
    assert module.warnings == ["backup selection launch-tagged was NOT made: the endpoint does not implement %s"
                               " (planned: create backup selection launch-tagged)" % M.SELECTION_API]


def test_make_selection_fails_on_an_aws_refusal(backup):
    client, stub = backup
    stub.add_client_error("create_backup_selection", "InvalidParameterValueException", "role cannot be assumed", 400)
    step = {"op": "create_selection", "texts": ["x"], "plan_id": "p1", "selection": M.desired_selection(params(), CTX)}
    with pytest.raises(AssertionError, match="Could not create backup selection launch-tagged"):
        M.make_selection(FakeModule(), client, step, lambda v: v, {}, [])
