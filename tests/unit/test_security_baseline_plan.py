"""security_baseline's pure parts: input checks, the documents it writes (and that they lint clean), the plan on an
empty account, on one that already matches (no step), and on drifted state (each drift planned alone), the moto gap
rule (loopback and moto's HTML page only), and the refusals (a key scheduled for deletion, a foreign bucket, a trail
of another home region)."""

import copy
import json

import pytest

from ansible_collections.directfanz.launch.plugins.filter.iam_lint import iam_policies_problems
from ansible_collections.directfanz.launch.plugins.modules import security_baseline as M

ACCOUNT = "123456789012"
KEY_ARN = "arn:aws:kms:us-east-1:%s:key/1111aaaa-2222-3333-4444-555566667777" % ACCOUNT


def params(**overrides):
    p = {"name": "directfanz", "trail": True, "trail_name": None, "trail_bucket": None, "trail_key_alias": None,
         "trail_log_group": None, "trail_log_retention_days": 90, "trail_bucket_transition_days": 90,
         "trail_bucket_expiration_days": 400, "guardduty": True,
         "guardduty_features": ["S3_DATA_EVENTS", "RDS_LOGIN_EVENTS", "RUNTIME_MONITORING"],
         "guardduty_finding_frequency": "FIFTEEN_MINUTES", "ebs_encryption": True, "ebs_default_kms_key": "",
         "access_analyzer": True, "access_analyzer_name": None, "tags": {"project": "directfanz"}}
    p.update(overrides)
    return p


def names(p=None):
    return M.names(p or params(), ACCOUNT, "us-east-1")


def empty():
    return {"key": None, "alias_arn": None, "bucket": None, "log_group": None, "role": None, "trail": None,
            "selectors": None, "logging": False, "detector": None, "ebs": {"enabled": False}, "analyzers": []}


def in_place(p=None):
    """What AWS answers once the module has run with ``p``."""
    p = p or params()
    n = names(p)
    return {
        "key": {"arn": KEY_ARN, "state": "Enabled", "policy": json.dumps(M.key_policy(n)), "rotation": True},
        "alias_arn": "arn:aws:kms:us-east-1:%s:%s" % (ACCOUNT, n["alias"]),
        "bucket": {"public_access_block": dict(M.PUBLIC_ACCESS_BLOCK), "ownership": "BucketOwnerEnforced",
                   "encryption": M.encryption_rules(KEY_ARN), "versioning": "Enabled",
                   # S3 answers the filter in its own spelling and adds nothing we compare
                   "lifecycle": M.lifecycle_rules(p), "policy": json.dumps(M.bucket_policy(n))},
        "log_group": {"logGroupName": n["log_group"], "retentionInDays": 90, "kmsKeyId": KEY_ARN},
        "role": {"trust": M.role_trust_policy(n), "inline": M.role_policy(n)},
        "trail": {"Name": n["trail"], "S3BucketName": n["bucket"], "IsMultiRegionTrail": True,
                  "IncludeGlobalServiceEvents": True, "LogFileValidationEnabled": True, "KmsKeyId": KEY_ARN,
                  "CloudWatchLogsLogGroupArn": n["log_group_arn"] + ":*", "CloudWatchLogsRoleArn": n["role_arn"],
                  "HomeRegion": "us-east-1"},
        "selectors": copy.deepcopy(M.EVENT_SELECTORS), "logging": True,
        "detector": {"id": "d1", "Status": "ENABLED", "FindingPublishingFrequency": "FIFTEEN_MINUTES",
                     "Features": [{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
                                  {"Name": "RDS_LOGIN_EVENTS", "Status": "ENABLED"},
                                  {"Name": "RUNTIME_MONITORING", "Status": "ENABLED", "AdditionalConfiguration": [
                                      {"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"},
                                      {"Name": "EKS_ADDON_MANAGEMENT", "Status": "DISABLED"}]},
                                  {"Name": "EKS_AUDIT_LOGS", "Status": "DISABLED"}]},
        "ebs": {"enabled": True},
        "analyzers": [{"name": "directfanz-account", "type": "ACCOUNT", "status": "ACTIVE"}],
    }


def ops(plan):
    return [s["op"] for s in plan.steps]


# ---------------------------------------------------------------------------------------------------------------
# input


def test_good_input_has_no_problem():
    assert M.input_problems(params()) == []


@pytest.mark.parametrize("override, fragment", [
    ({"name": "DirectFanz"}, "name 'DirectFanz' is not valid; accepted: 1-38 lower-case"),
    ({"name": "x" * 39}, "1-38 lower-case"),
    ({"trail_name": "a--b"}, "trail_name 'a--b' is not valid"),
    ({"trail_bucket": "Bad_Bucket"}, "not a valid bucket name"),
    ({"trail_key_alias": "alias/aws/cloudtrail"}, "not alias/aws/"),
    ({"trail_key_alias": "cloudtrail"}, "accepted: alias/ followed by"),
    ({"trail_log_retention_days": 100}, "trail_log_retention_days 100 is not accepted; accepted: one of 1, 3, 5"),
    ({"trail_bucket_transition_days": 0}, "trail_bucket_transition_days 0 is not accepted"),
    ({"trail_bucket_expiration_days": 90}, "accepted: more than trail_bucket_transition_days (90)"),
    ({"guardduty_features": ["S3_DATA_EVENTS", "EKS_RUNTIME"]}, "guardduty_features EKS_RUNTIME not accepted"),
    ({"guardduty_features": ["S3_DATA_EVENTS", "S3_DATA_EVENTS"]}, "a protection twice"),
    ({"guardduty_finding_frequency": "DAILY"}, "guardduty_finding_frequency 'DAILY' is not accepted"),
    ({"ebs_default_kms_key": "my-key"}, "ebs_default_kms_key 'my-key' is not accepted"),
    ({"access_analyzer_name": "1analyzer"}, "access_analyzer_name '1analyzer' is not valid"),
    ({"tags": {"aws:x": "y"}}, "tag key 'aws:x' is not valid"),
])
def test_bad_input_is_named_with_what_is_accepted(override, fragment):
    problems = M.input_problems(params(**override))
    assert any(fragment in problem for problem in problems), problems


# ---------------------------------------------------------------------------------------------------------------
# documents


def test_every_policy_the_module_writes_lints_clean():
    written = M.policies(names())
    assert sorted(w["kind"] for w in written) == ["identity", "key", "resource", "trust"]
    assert iam_policies_problems(written) == []


def test_the_documents_say_what_cloudtrail_documents_and_no_more():
    n = names()
    bucket = {s["Sid"]: s for s in M.bucket_policy(n)["Statement"]}
    assert bucket["AWSCloudTrailWrite"]["Resource"] == "arn:aws:s3:::directfanz-cloudtrail-%s/AWSLogs/%s/*" % (
        ACCOUNT, ACCOUNT)
    for sid in ("AWSCloudTrailWrite", "AWSCloudTrailAclCheck"):
        assert bucket[sid]["Condition"]["StringEquals"]["aws:SourceArn"] == n["trail_arn"]
    assert bucket["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    role = M.role_policy(n)["Statement"]
    assert role == [{"Sid": "DeliverToTheTrailGroup", "Effect": "Allow",
                     "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                     "Resource": "arn:aws:logs:us-east-1:%s:log-group:/aws/cloudtrail/directfanz:log-stream:%s_CloudTrail_*"
                                 % (ACCOUNT, ACCOUNT)}]
    key = {s["Sid"]: s for s in M.key_policy(n)["Statement"]}
    assert "kms:*" not in key["KeyAdministration"]["Action"] and "kms:Decrypt" not in key["KeyAdministration"]["Action"]
    assert key["CloudTrailEncryptLogs"]["Condition"]["StringEquals"] == {"aws:SourceArn": n["trail_arn"]}
    assert key["CloudWatchLogsForTheTrailGroup"]["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:aws:logs:arn": n["log_group_arn"]}}


def test_names_follow_the_launch_name_unless_given():
    n = names(params(trail_name="audit", trail_bucket="my-audit-logs"))
    assert (n["trail"], n["bucket"], n["alias"], n["log_group"], n["role"], n["analyzer"]) == (
        "audit", "my-audit-logs", "alias/directfanz-cloudtrail", "/aws/cloudtrail/directfanz",
        "directfanz-cloudtrail-logs", "directfanz-account")
    assert n["trail_arn"] == "arn:aws:cloudtrail:us-east-1:%s:trail/audit" % ACCOUNT


# ---------------------------------------------------------------------------------------------------------------
# plans


def test_an_empty_account_gets_everything_in_dependency_order():
    plan, outputs = M.plan_baseline(params(), empty(), names())
    assert plan.problems == []
    assert ops(plan) == [
        "create_key", "create_alias", "enable_key_rotation",
        "create_bucket", "put_bucket_tagging", "put_public_access_block", "put_bucket_ownership_controls",
        "put_bucket_encryption", "put_bucket_versioning", "put_bucket_lifecycle_configuration", "put_bucket_policy",
        "create_log_group", "put_retention_policy", "create_role", "put_role_policy",
        "create_trail", "put_event_selectors", "start_logging",
        "create_detector", "enable_ebs_encryption_by_default", "create_analyzer"]
    trail = next(s for s in plan.steps if s["op"] == "create_trail")["kwargs"]
    assert trail["KmsKeyId"] == "(new key alias/directfanz-cloudtrail)" == outputs["key_arn"]
    assert trail["IsMultiRegionTrail"] and trail["EnableLogFileValidation"] and trail["IncludeGlobalServiceEvents"]
    detector = next(s for s in plan.steps if s["op"] == "create_detector")["kwargs"]
    assert detector["Features"][2] == {"Name": "RUNTIME_MONITORING", "Status": "ENABLED", "AdditionalConfiguration": [
        {"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}]}
    assert outputs["detector_id"] == "(new GuardDuty detector)"


def test_what_is_in_place_plans_no_step():
    plan, outputs = M.plan_baseline(params(), in_place(), names())
    assert plan.steps == [] and plan.problems == [] and not plan.changed
    assert outputs["key_arn"] == KEY_ARN and outputs["detector_id"] == "d1" and outputs["analyzer"] == "directfanz-account"


def test_moto_answers_key_references_as_given_and_that_still_matches():
    observed = in_place()
    alias = names()["alias"]
    observed["trail"]["KmsKeyId"] = alias
    observed["log_group"]["kmsKeyId"] = observed["alias_arn"]
    plan, unused = M.plan_baseline(params(), observed, names())
    assert plan.steps == []


@pytest.mark.parametrize("drift, expected", [
    (lambda o: o["key"].update(rotation=False), ["enable_key_rotation"]),
    (lambda o: o["key"].update(policy=json.dumps({"Version": "2012-10-17", "Statement": []})), ["put_key_policy"]),
    (lambda o: o["key"].update(state="Disabled"), ["enable_key"]),
    (lambda o: o["bucket"].update(public_access_block=None), ["put_public_access_block"]),
    (lambda o: o["bucket"].update(ownership="ObjectWriter"), ["put_bucket_ownership_controls"]),
    (lambda o: o["bucket"].update(encryption=[{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]),
     ["put_bucket_encryption"]),
    (lambda o: o["bucket"].update(versioning="Suspended"), ["put_bucket_versioning"]),
    (lambda o: o["bucket"].update(lifecycle=None), ["put_bucket_lifecycle_configuration"]),
    (lambda o: o["bucket"].update(policy=None), ["put_bucket_policy"]),
    (lambda o: o["log_group"].update(retentionInDays=None), ["put_retention_policy"]),
    (lambda o: o["log_group"].pop("kmsKeyId"), ["associate_kms_key"]),
    (lambda o: o["role"].update(inline={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}), ["put_role_policy"]),
    (lambda o: o["role"].update(trust={"Version": "2012-10-17", "Statement": []}), ["update_assume_role_policy"]),
    (lambda o: o["trail"].update(LogFileValidationEnabled=False), ["update_trail"]),
    (lambda o: o["trail"].update(IsMultiRegionTrail=False), ["update_trail"]),
    (lambda o: o.update(selectors=[]), ["put_event_selectors"]),
    (lambda o: o.update(logging=False), ["start_logging"]),
    (lambda o: o["detector"].update(Status="DISABLED"), ["update_detector"]),
    (lambda o: o["detector"]["Features"][2]["AdditionalConfiguration"][0].update(Status="DISABLED"),
     ["update_detector"]),
    (lambda o: o["ebs"].update(enabled=False), ["enable_ebs_encryption_by_default"]),
    (lambda o: o.update(analyzers=[]), ["create_analyzer"]),
])
def test_each_drift_is_planned_alone(drift, expected):
    observed = in_place()
    drift(observed)
    plan, unused = M.plan_baseline(params(), observed, names())
    assert ops(plan) == expected and plan.problems == []


def test_the_update_of_a_detector_names_what_differs():
    observed = in_place()
    observed["detector"]["Features"] = [{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}]
    plan, unused = M.plan_baseline(params(), observed, names())
    assert plan.actions == ["update GuardDuty detector d1 (enable RDS_LOGIN_EVENTS, RUNTIME_MONITORING)"]


def test_another_account_analyzer_counts_as_present():
    observed = in_place()
    observed["analyzers"] = [{"name": "org-made", "type": "ACCOUNT", "status": "ACTIVE"}]
    plan, outputs = M.plan_baseline(params(), observed, names())
    assert plan.steps == [] and outputs["analyzer"] == "org-made"


def test_a_region_without_the_trail_plans_only_the_regional_parts():
    plan, outputs = M.plan_baseline(params(trail=False), empty(), names())
    assert ops(plan) == ["create_detector", "enable_ebs_encryption_by_default", "create_analyzer"]
    assert outputs["trail_arn"] == "" and outputs["key_arn"] == ""


def test_an_unreadable_part_is_neither_compared_nor_written():
    observed = empty()
    observed["analyzers"] = M.GAP
    observed["ebs"] = {"enabled": True, "key": M.GAP}
    plan, unused = M.plan_baseline(params(trail=False, guardduty=False, ebs_default_kms_key="alias/ebs"), observed, names())
    assert plan.steps == []


def test_a_different_ebs_default_key_is_set():
    observed = in_place()
    observed["ebs"] = {"enabled": True, "key": "arn:aws:kms:us-east-1:%s:key/other" % ACCOUNT}
    observed["ebs_key_arn"] = KEY_ARN
    plan, unused = M.plan_baseline(params(ebs_default_kms_key="alias/ebs"), observed, names())
    assert ops(plan) == ["modify_ebs_default_kms_key_id"]
    observed["ebs"]["key"] = KEY_ARN
    assert M.plan_baseline(params(ebs_default_kms_key="alias/ebs"), observed, names())[0].steps == []


@pytest.mark.parametrize("drift, fragment", [
    (lambda o: o["key"].update(state="PendingDeletion"), "is scheduled for deletion"),
    (lambda o: o.update(bucket={"foreign": True}), "this account cannot read it"),
    (lambda o: o["trail"].update(HomeRegion="eu-west-1"), "lives in eu-west-1; keep it with region=eu-west-1"),
])
def test_what_cannot_be_fixed_here_refuses_the_whole_change(drift, fragment):
    observed = in_place()
    drift(observed)
    plan, unused = M.plan_baseline(params(), observed, names())
    assert any(fragment in problem for problem in plan.problems), plan.problems


def test_policies_compare_by_meaning():
    a = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "S3:PutObject"],
                                                 "Resource": "arn:aws:s3:::b/*"}]}
    b = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["s3:putobject", "s3:getobject"],
                                                "Resource": ["arn:aws:s3:::b/*"]}}
    assert M.normalise_policy(a) == M.normalise_policy(json.dumps(b))


# ---------------------------------------------------------------------------------------------------------------
# the moto gap rule

HTML = "An error occurred (500): <!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>"


def test_a_gap_is_tolerated_only_against_loopback_and_only_for_motos_html_page():
    assert M.tolerated_gap("http://127.0.0.1:5000", "IAM Access Analyzer", HTML).startswith("moto: cannot read")
    assert M.tolerated_gap("https://access-analyzer.us-east-1.amazonaws.com", "x", HTML) is None
    assert M.tolerated_gap(None, "x", HTML) is None
    assert M.tolerated_gap("http://127.0.0.1:5000", "x", "AccessDeniedException: not authorized") is None
