"""launch_logging's pure parts: input checks (every problem at once, each saying what is accepted), the documents it
writes (and that they lint clean), the plan on an account where everything exists but nothing logs, on one that
already logs (no step), on drift (each drift planned alone), on what is missing (warnings, never an error), the
refusals, and that the modules owning the load balancer and the distribution leave the logging settings alone."""

import copy
import json

import pytest

from ansible_collections.directfanz.launch.plugins.filter.iam_lint import iam_policies_problems
from ansible_collections.directfanz.launch.plugins.modules import cloudfront_distribution as CF
from ansible_collections.directfanz.launch.plugins.modules import launch_logging as M
from ansible_collections.directfanz.launch.plugins.modules import load_balancer as LB

ACCOUNT = "123456789012"
NAME = "directfanz"
LOG_BUCKET = "%s-logs-%s" % (NAME, ACCOUNT)
CONTENT, STATIC = "%s-content-%s" % (NAME, ACCOUNT), "%s-static-%s" % (NAME, ACCOUNT)
KEY = "arn:aws:kms:us-east-1:%s:key/1111aaaa-2222-3333-4444-555566667777" % ACCOUNT
FLOW_GROUP = "/aws/vpc/flow-logs/%s" % NAME
QUERY_GROUP = "/aws/route53/directfanz.io"


def params(**overrides):
    p = {"name": NAME, "log_bucket": None, "load_balancer_name": NAME + "-alb", "distribution_name": NAME,
         "network_name": NAME, "buckets": [CONTENT, STATIC], "zone": "directfanz.io", "alb_log_days": 365,
         "cloudfront_log_days": 365, "s3_access_log_days": 365, "log_transition_days": 30,
         "flow_log_retention_days": 90, "flow_log_traffic_type": "ALL", "query_log_retention_days": 30,
         "tags": {"project": "directfanz"}}
    p.update(overrides)
    return p


def names(p=None, region="us-east-1"):
    return M.names(p or params(), ACCOUNT, region)


def nothing_logs():
    """Everything to log exists (load balancer, distribution, buckets, VPC, zone); nothing of ours does."""
    return {"log_bucket": None, "keys": {"us-east-1": None},
            "lb": {"arn": "arn:lb", "attributes": {"access_logs.s3.enabled": "false", "access_logs.s3.bucket": "",
                                                   "access_logs.s3.prefix": "", "idle_timeout.timeout_seconds": "3600"}},
            "distribution": {"id": "E1", "etag": "ETAG1", "config": {
                "CallerReference": "r", "Comment": "%s (managed by directfanz.launch)" % NAME, "Enabled": True,
                "Logging": {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""}}},
            "sources": {CONTENT: {"region": "us-east-1", "logging": None},
                        STATIC: {"region": "us-east-1", "logging": None}},
            "vpc": {"id": "vpc-1", "flow_logs": []}, "flow_group": None, "flow_role": None,
            "zone": {"id": "Z1"}, "query_group": None, "query_policy": None, "query_config": None}


def logging_everywhere():
    """What a finished run leaves (in the shapes the reads return)."""
    n = names()
    p = params()
    observed = nothing_logs()
    observed["keys"] = {"us-east-1": {"arn": KEY, "state": "Enabled", "rotation": True,
                                      "policy": json.dumps(M.key_policy(n, "us-east-1", [n["flow_group_arn"],
                                                                                         n["query_group_arn"]]))}}
    observed["log_bucket"] = {
        "public_access_block": dict(M.PUBLIC_ACCESS_BLOCK), "ownership": "BucketOwnerPreferred",
        "encryption": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}],
        "versioning": "Enabled", "lifecycle": M.lifecycle_rules(p),
        "policy": json.dumps(M.bucket_policy(n, observed["lb"], [CONTENT, STATIC])),
        "acl": {"Owner": {"ID": "owner"}, "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": "owner"}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "CanonicalUser", "ID": M.AWSLOGSDELIVERY}, "Permission": "FULL_CONTROL"}]}}
    observed["lb"]["attributes"].update({"access_logs.s3.enabled": "true", "access_logs.s3.bucket": LOG_BUCKET,
                                         "access_logs.s3.prefix": "alb"})
    observed["distribution"]["config"]["Logging"] = {"Enabled": True, "IncludeCookies": False,
                                                     "Bucket": LOG_BUCKET + ".s3.amazonaws.com", "Prefix": "cloudfront/"}
    for bucket in (CONTENT, STATIC):
        observed["sources"][bucket]["logging"] = {"TargetBucket": LOG_BUCKET,
                                                  "TargetPrefix": "s3-access/%s/" % bucket}
    observed["vpc"]["flow_logs"] = [{"FlowLogId": "fl-1", "LogDestinationType": "cloud-watch-logs",
                                     "LogGroupName": FLOW_GROUP, "TrafficType": "ALL", "MaxAggregationInterval": 60,
                                     "DeliverLogsPermissionArn": n["flow_role_arn"]}]
    observed["flow_group"] = {"logGroupName": FLOW_GROUP, "retentionInDays": 90, "kmsKeyId": KEY}
    observed["flow_role"] = {"trust": M.flow_trust_policy(n), "inline": M.flow_role_policy(n)}
    observed["query_group"] = {"logGroupName": QUERY_GROUP, "retentionInDays": 30, "kmsKeyId": KEY}
    observed["query_policy"] = json.dumps(M.query_resource_policy(n, "Z1"))
    observed["query_config"] = {"Id": "q-1", "HostedZoneId": "Z1",
                                "CloudWatchLogsLogGroupArn": n["query_group_arn"] + ":*"}
    return observed


def plan_of(observed, p=None, region="us-east-1"):
    p = p or params()
    return M.plan_logging(p, observed, names(p, region))


# --- input -------------------------------------------------------------------------------------------------------

def test_the_role_defaults_are_accepted():
    assert M.input_problems(params(), "us-east-1") == []
    assert M.input_problems(params(zone="", buckets=[], load_balancer_name="", distribution_name="",
                                   network_name=""), "us-east-1") == []


def test_every_problem_is_found_at_once_with_what_is_accepted():
    problems = M.input_problems(params(name="Direct_Fanz", buckets=["ok-bucket", "ok-bucket", "Bad_Bucket"],
                                       zone="not a zone", alb_log_days=0, log_transition_days=400,
                                       flow_log_retention_days=42, query_log_retention_days=0,
                                       tags={"aws:owner": "x"}), "us-east-1")
    text = "\n".join(problems)
    assert "name 'Direct_Fanz' is not valid; accepted: 1-38 lower-case letters" in text
    assert "buckets: 'Bad_Bucket' is not a valid bucket name; accepted:" in text
    assert "buckets lists a bucket twice; accepted: each once" in text
    assert "zone 'not a zone' is not a domain name; accepted: a public zone such as example.com" in text
    assert "alb_log_days 0 is not accepted; accepted: 1 or more" in text
    assert "cloudfront_log_days 365 is not accepted; accepted: more than log_transition_days (400)" in text
    assert "flow_log_retention_days 42 is not accepted; accepted: one of 1, 3, 5" in text
    assert "query_log_retention_days 0 is not accepted" in text
    assert "tag key 'aws:owner' is not valid" in text
    assert len(problems) == 10, problems


@pytest.mark.parametrize("over, region, expected", [
    ({"buckets": [LOG_BUCKET]}, "us-east-1", "buckets: %s is the log bucket" % LOG_BUCKET),
    ({"buckets": ["mine"], "log_bucket": "mine"}, "us-east-1", "buckets: mine is the log bucket"),
    ({}, "me-south-1", "CloudFront does not deliver standard logs to a bucket in me-south-1"),
    ({"load_balancer_name": "-alb"}, "us-east-1", "load_balancer_name '-alb' is not valid"),
])
def test_a_problem_says_what_is_wrong_and_what_is_accepted(over, region, expected):
    problems = M.input_problems(params(**over), region)
    assert len(problems) == 1 and problems[0].startswith(expected) and "accepted" in problems[0], problems


def test_a_home_region_without_cloudfront_log_delivery_is_fine_without_a_distribution():
    assert M.input_problems(params(distribution_name=""), "me-south-1") == []


# --- documents ---------------------------------------------------------------------------------------------------

def test_the_bucket_policy_lets_each_service_write_only_its_prefix():
    n = names()
    statements = dict((s["Sid"], s) for s in M.bucket_policy(n, {"arn": "lb"}, [CONTENT])["Statement"])
    elb = statements["ElbDeliversAccessLogs"]
    assert elb["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}  # us-east-1's ELB account
    assert elb["Resource"] == "arn:aws:s3:::%s/alb/AWSLogs/%s/*" % (LOG_BUCKET, ACCOUNT)
    s3 = statements["S3AccessLogsFromDirectfanzContent123456789012"]
    assert s3["Principal"] == {"Service": "logging.s3.amazonaws.com"} and s3["Action"] == "s3:PutObject"
    assert s3["Resource"] == "arn:aws:s3:::%s/s3-access/%s/*" % (LOG_BUCKET, CONTENT)
    assert s3["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::" + CONTENT},
                               "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    assert sorted(statements) == ["DenyInsecureTransport", "ElbDeliversAccessLogs",
                                  "S3AccessLogsFromDirectfanzContent123456789012"]


def test_a_region_opened_since_august_2022_uses_the_log_delivery_principal():
    n = names(region="eu-central-2")
    elb = [s for s in M.bucket_policy(n, {"arn": "lb"}, [])["Statement"] if s["Sid"] == "ElbDeliversAccessLogs"][0]
    assert elb["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}


def test_no_load_balancer_no_elb_statement():
    assert [s["Sid"] for s in M.bucket_policy(names(), None, [])["Statement"]] == ["DenyInsecureTransport"]


def test_the_key_lets_cloudwatch_logs_use_it_for_exactly_our_groups():
    n = names()
    policy = M.key_policy(n, "us-east-1", [n["query_group_arn"], n["flow_group_arn"]])
    logs = [s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsForTheLaunchLogGroups"][0]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["StringEquals"]["kms:EncryptionContext:aws:logs:arn"] == sorted(
        ["arn:aws:logs:us-east-1:%s:log-group:%s" % (ACCOUNT, FLOW_GROUP),
         "arn:aws:logs:us-east-1:%s:log-group:%s" % (ACCOUNT, QUERY_GROUP)])
    assert "kms:*" not in json.dumps(policy)


def test_every_policy_it_writes_lints_clean():
    observed = nothing_logs()
    written = M.policies(names(), observed)
    assert sorted(w["kind"] for w in written) == ["identity", "key", "resource", "resource", "trust"]
    assert iam_policies_problems(written) == []


def test_the_query_policy_names_the_zone_and_the_group():
    n = names()
    statement = M.query_resource_policy(n, "Z1")["Statement"][0]
    assert statement["Principal"] == {"Service": "route53.amazonaws.com"}
    assert statement["Resource"] == "arn:aws:logs:us-east-1:%s:log-group:%s:*" % (ACCOUNT, QUERY_GROUP)
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws:route53:::hostedzone/Z1"


def test_the_lifecycle_keeps_each_kind_its_own_days():
    rules = dict((r["ID"], r) for r in M.lifecycle_rules(params(alb_log_days=90)))
    assert rules["alb-logs"]["Filter"] == {"Prefix": "alb/"} and rules["alb-logs"]["Expiration"] == {"Days": 90}
    assert rules["s3-logs"]["Filter"] == {"Prefix": "s3-access/"} and rules["s3-logs"]["Expiration"] == {"Days": 365}
    assert rules["cloudfront-logs"]["Transitions"] == [{"Days": 30, "StorageClass": "GLACIER_IR"}]
    assert "Transitions" not in M.lifecycle_rules(params(log_transition_days=0))[0]


# --- planning ----------------------------------------------------------------------------------------------------

def test_where_nothing_logs_the_whole_plan_runs_in_order():
    plan, outputs = plan_of(nothing_logs())
    assert plan.problems == [] and plan.warnings == []
    ops = [s["op"] for s in plan.steps]
    # the key before the groups that name it; the bucket policy before anything is told to deliver to the bucket
    assert ops.index("create_key") < ops.index("create_log_group")
    assert ops.index("put_bucket_policy") < ops.index("modify_load_balancer_attributes") < ops.index(
        "update_distribution") < ops.index("put_bucket_logging")
    assert ops.index("put_bucket_ownership_controls") < ops.index("grant_log_delivery")
    assert ops.index("create_role") < ops.index("create_flow_log")
    assert ops.index("put_resource_policy") < ops.index("create_query_logging_config")
    assert ops.count("put_bucket_logging") == 2 and ops.count("create_log_group") == 2
    assert outputs["key_arns"] == {"us-east-1": "(new key alias/directfanz-logs in us-east-1)"}
    assert outputs["destinations"] == {
        "alb directfanz-alb": "s3://%s/alb/" % LOG_BUCKET, "cloudfront directfanz": "s3://%s/cloudfront/" % LOG_BUCKET,
        "s3 " + CONTENT: "s3://%s/s3-access/%s/" % (LOG_BUCKET, CONTENT),
        "s3 " + STATIC: "s3://%s/s3-access/%s/" % (LOG_BUCKET, STATIC),
        "vpc directfanz": "logs:us-east-1:" + FLOW_GROUP, "route53 directfanz.io": "logs:us-east-1:" + QUERY_GROUP}
    enc = [s for s in plan.steps if s["op"] == "put_bucket_encryption"][0]
    assert enc["kwargs"]["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    groups = [s for s in plan.steps if s["op"] == "create_log_group"]
    assert [g["kwargs"]["kmsKeyId"] for g in groups] == ["(new key alias/directfanz-logs in us-east-1)"] * 2
    flow = [s for s in plan.steps if s["op"] == "create_flow_log"][0]["kwargs"]
    assert (flow["TrafficType"], flow["MaxAggregationInterval"], flow["LogGroupName"]) == ("ALL", 60, FLOW_GROUP)
    cf = [s for s in plan.steps if s["op"] == "update_distribution"][0]["kwargs"]
    assert cf["IfMatch"] == "ETAG1" and cf["DistributionConfig"]["Logging"] == {
        "Enabled": True, "IncludeCookies": False, "Bucket": LOG_BUCKET + ".s3.amazonaws.com", "Prefix": "cloudfront/"}
    assert cf["DistributionConfig"]["CallerReference"] == "r"  # the rest of the configuration is sent back as read
    query = [s for s in plan.steps if s["op"] == "create_query_logging_config"][0]["kwargs"]
    assert query == {"HostedZoneId": "Z1",
                     "CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:%s:log-group:%s:*" % (ACCOUNT, QUERY_GROUP)}


def test_where_everything_logs_there_is_no_step_and_the_diff_is_even():
    observed = logging_everywhere()
    plan, outputs = plan_of(observed)
    assert plan.steps == [] and plan.problems == [] and plan.warnings == []
    n = names()
    assert M.state_view(n, observed) == M.planned_view(params(), n, observed, outputs)
    assert outputs["key_arns"] == {"us-east-1": KEY}


def drifted(change):
    observed = logging_everywhere()
    change(observed)
    return plan_of(observed)[0]


@pytest.mark.parametrize("change, ops", [
    (lambda o: o["lb"]["attributes"].update({"access_logs.s3.enabled": "false"}), ["modify_load_balancer_attributes"]),
    (lambda o: o["distribution"]["config"]["Logging"].update({"IncludeCookies": True}), ["update_distribution"]),
    (lambda o: o["sources"][STATIC].update({"logging": None}), ["put_bucket_logging"]),
    (lambda o: o["log_bucket"].update({"ownership": "BucketOwnerEnforced"}), ["put_bucket_ownership_controls"]),
    (lambda o: o["log_bucket"]["acl"]["Grants"].pop(), ["grant_log_delivery"]),
    (lambda o: o["log_bucket"].update({"encryption": [{"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY}}]}), ["put_bucket_encryption"]),
    (lambda o: o["log_bucket"].update({"policy": None}), ["put_bucket_policy"]),
    (lambda o: o["keys"]["us-east-1"].update({"rotation": False}), ["enable_key_rotation"]),
    (lambda o: o["flow_group"].update({"retentionInDays": 7}), ["put_retention_policy"]),
    (lambda o: o["query_group"].update({"kmsKeyId": None}), ["associate_kms_key"]),
    (lambda o: o["vpc"]["flow_logs"][0].update({"TrafficType": "REJECT"}), ["delete_flow_logs", "create_flow_log"]),
    (lambda o: o["vpc"].update({"flow_logs": []}), ["create_flow_log"]),
    (lambda o: o["query_config"].update({"CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:1:log-group:x:*"}),
     ["delete_query_logging_config", "create_query_logging_config"]),
    (lambda o: o.update({"query_policy": None}), ["put_resource_policy"]),
])
def test_each_drift_is_planned_alone(change, ops):
    assert [s["op"] for s in drifted(change).steps] == ops


def test_another_destination_of_the_vpc_is_left_alone():
    def change(o):
        o["vpc"]["flow_logs"].append({"FlowLogId": "fl-s3", "LogDestinationType": "s3", "TrafficType": "REJECT",
                                      "LogDestination": "arn:aws:s3:::elsewhere"})
    assert drifted(change).steps == []


def test_query_logs_use_a_key_in_us_east_1_when_home_is_elsewhere():
    observed = nothing_logs()
    observed["keys"] = {"eu-west-1": None, "us-east-1": None}
    observed["sources"] = {CONTENT: {"region": "eu-west-1", "logging": None}}
    plan, outputs = plan_of(observed, params(buckets=[CONTENT]), region="eu-west-1")
    assert plan.problems == []
    assert sorted(outputs["key_arns"]) == ["eu-west-1", "us-east-1"]
    services = dict((s["kwargs"]["logGroupName"], s["service"]) for s in plan.steps if s["op"] == "create_log_group")
    assert services == {FLOW_GROUP: "logs:eu-west-1", QUERY_GROUP: "logs:us-east-1"}
    bucket = [s for s in plan.steps if s["op"] == "create_bucket"][0]["kwargs"]
    assert bucket["CreateBucketConfiguration"] == {"LocationConstraint": "eu-west-1"}


def test_what_does_not_exist_yet_is_a_warning_and_is_not_logged():
    observed = dict(nothing_logs(), lb=None, distribution=None, vpc=None, zone=None, keys={},
                    sources={CONTENT: None, STATIC: {"region": "us-east-1", "logging": None}})
    plan, outputs = plan_of(observed)
    assert plan.problems == []
    assert outputs["missing"] == plan.warnings and len(plan.warnings) == 5
    assert "load balancer directfanz-alb not found in us-east-1: its access logs are not set" in plan.warnings[0]
    assert "bucket %s not found" % CONTENT in plan.warnings[4]
    ops = [s["op"] for s in plan.steps]
    assert "create_key" not in ops and "create_log_group" not in ops and "grant_log_delivery" not in ops
    own = [s for s in plan.steps if s["op"] == "put_bucket_ownership_controls"][0]["kwargs"]
    assert own["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}  # no ACLs without CloudFront
    assert list(outputs["destinations"]) == ["s3 " + STATIC]


@pytest.mark.parametrize("change, expected", [
    (lambda o: o.update({"log_bucket": {"foreign": True}}), "exists and this account cannot read it"),
    (lambda o: o["keys"]["us-east-1"].update({"state": "PendingDeletion"}), "is scheduled for deletion"),
    (lambda o: o["sources"][CONTENT].update({"region": "eu-west-1"}),
     "S3 delivers server access logs only to a bucket in the same region"),
])
def test_what_cannot_work_is_refused_naming_it(change, expected):
    plan = drifted(change)
    assert len(plan.problems) == 1 and expected in plan.problems[0], plan.problems


def test_a_key_answered_as_its_alias_counts_as_the_key():
    observed = logging_everywhere()
    observed["flow_group"]["kmsKeyId"] = "alias/directfanz-logs"
    assert plan_of(observed)[0].steps == []


# --- one owner per setting ---------------------------------------------------------------------------------------

def test_load_balancer_never_sets_the_access_log_attributes():
    """load_balancer sets its managed attributes explicitly - and only those, which leaves access_logs.s3.* to us."""
    p = {"idle_timeout": 3600, "deletion_protection": True}
    assert not [k for k in LB.lb_attributes(p) if k.startswith("access_logs.")]
    current = {"access_logs.s3.enabled": "true", "access_logs.s3.bucket": LOG_BUCKET}
    current.update(LB.lb_attributes(p))
    assert LB.attribute_changes(LB.lb_attributes(p), current) == {}


def test_cloudfront_distribution_keeps_the_logging_it_is_not_given():
    current = {"Comment": "old", "Logging": {"Enabled": True, "IncludeCookies": False, "Bucket": "b.s3.amazonaws.com",
                                             "Prefix": "cloudfront/"}}
    assert CF.merged(copy.deepcopy(current), {"Comment": "new"})["Logging"] == current["Logging"]
