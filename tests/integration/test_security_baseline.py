"""security_baseline against the sandbox's moto over HTTP, through a recording proxy that names every call (S3's and
GuardDuty's REST calls too): --check on an empty account plans everything and writes nothing; a first run builds the
trail (multi-region, log file validation, its own key with rotation, management events selected, logging), the log
bucket (public access blocked, owner-enforced, KMS, versioning, lifecycle, CloudTrail's policy with aws:SourceArn and
TLS only), the CloudWatch Logs group (retention, KMS) and its delivery role, GuardDuty with its protections, EBS
encryption by default; a second run makes no write call; drift is repaired with exactly the calls it needs; bad input
makes no call at all; IAM Access Analyzer, which moto lacks, is a warning and an `unverified` entry."""

import json

import pytest

from conftest import Recorder, aws_module
from conftest import aws_client as client

ACCOUNT = "123456789012"
NAME = "directfanz-sandbox"
TRAIL = "%s-trail" % NAME
BUCKET = "%s-cloudtrail-%s" % (NAME, ACCOUNT)
GROUP = "/aws/cloudtrail/%s" % NAME
ROLE = "%s-cloudtrail-logs" % NAME
ALIAS = "alias/%s-cloudtrail" % NAME


class Recording(Recorder):
    """The recorder, naming the REST calls it lists as "?" (S3, GuardDuty) by method: GET/HEAD are reads, any other
    method a write, so a REST write still fails the "no write call" checks."""

    def canned(self, method, path, name, body):
        if name == "?":
            self.calls[-1] = ("Get" if method in ("GET", "HEAD") else method) + " " + path.split("?")[0]
        return None


@pytest.fixture()
def recording(fresh):
    proxy = Recording(fresh["aws_endpoint_url"])
    yield proxy
    proxy.close()


def baseline(sandbox, *flags, via=None, **args):
    params = dict({"name": NAME, "tags": {"project": "directfanz"}}, **args)
    if via is not None:
        params["endpoint_url"] = via.url
    return aws_module(sandbox, "security_baseline", params, *flags)


def nothing_exists(sandbox):
    return (client(sandbox, "cloudtrail").describe_trails()["trailList"] == []
            and client(sandbox, "s3").list_buckets()["Buckets"] == []
            and client(sandbox, "guardduty").list_detectors()["DetectorIds"] == []
            and client(sandbox, "iam").list_roles()["Roles"] == []
            and client(sandbox, "ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False
            and [a for a in client(sandbox, "kms").list_aliases()["Aliases"] if a["AliasName"] == ALIAS] == [])


EVERYTHING = [
    "create key %s" % ALIAS, "turn on rotation of key %s" % ALIAS, "create bucket %s" % BUCKET,
    "block public access to bucket %s" % BUCKET, "enforce bucket-owner object ownership on %s" % BUCKET,
    "encrypt bucket %s with key %s" % (BUCKET, ALIAS), "turn on versioning of bucket %s" % BUCKET,
    "set the lifecycle of bucket %s (Glacier IR after 90 days, deleted after 400)" % BUCKET,
    "set the policy of bucket %s" % BUCKET, "create log group %s" % GROUP, "create role %s" % ROLE,
    "set the policy of role %s" % ROLE,
    "create trail %s (every region, log file validation, key %s)" % (TRAIL, ALIAS),
    "select all management events on trail %s" % TRAIL, "start logging of trail %s" % TRAIL,
    "enable GuardDuty (S3_DATA_EVENTS, RDS_LOGIN_EVENTS, RUNTIME_MONITORING)", "turn on EBS encryption by default"]


def test_check_mode_on_an_empty_account_plans_everything_and_writes_nothing(fresh, recording):
    rc, out, result = baseline(fresh, "--check", "--diff", via=recording)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == EVERYTHING
    assert result["trail_arn"] == "arn:aws:cloudtrail:us-east-1:%s:trail/%s" % (ACCOUNT, TRAIL)
    assert result["key_arn"] == "(new key %s)" % ALIAS and result["detector_id"] == "(new GuardDuty detector)"
    assert sorted(p["kind"] for p in result["policies"]) == ["identity", "key", "resource", "trust"]
    assert result["diff"]["before"]["trail"] is None and result["diff"]["after"]["trail"]["logging"] is True
    assert recording.calls and writes(recording) == [], recording.calls
    assert nothing_exists(fresh)


def writes(proxy):
    return [c for c in proxy.calls if not c.startswith(("Get", "List", "Describe", "Head"))]


def test_first_run_builds_the_baseline_and_the_second_writes_nothing(fresh, recording):
    rc, out, first = baseline(fresh)
    assert rc == 0 and first["changed"] is True and first["actions"] == EVERYTHING, out
    assert "moto: cannot read IAM Access Analyzer (ListAnalyzers)" in out and len(first["unverified"]) == 1
    key_arn = first["key_arn"]
    assert key_arn.startswith("arn:aws:kms:us-east-1:%s:key/" % ACCOUNT)

    ct = client(fresh, "cloudtrail")
    trail = ct.get_trail(Name=TRAIL)["Trail"]
    assert trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"] and trail["IncludeGlobalServiceEvents"]
    assert trail["S3BucketName"] == BUCKET and trail["KmsKeyId"] == key_arn
    assert trail["CloudWatchLogsLogGroupArn"] == "arn:aws:logs:us-east-1:%s:log-group:%s:*" % (ACCOUNT, GROUP)
    assert trail["CloudWatchLogsRoleArn"] == "arn:aws:iam::%s:role/%s" % (ACCOUNT, ROLE)
    assert ct.get_event_selectors(TrailName=TRAIL)["EventSelectors"] == [
        {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
         "ExcludeManagementEventSources": []}]
    assert ct.get_trail_status(Name=TRAIL)["IsLogging"] is True

    kms = client(fresh, "kms")
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    key_policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    assert {s["Sid"] for s in key_policy["Statement"]} == {
        "KeyAdministration", "CloudTrailEncryptLogs", "CloudTrailDescribeKey", "AccountDecryptsLogFiles",
        "CloudWatchLogsForTheTrailGroup"}

    s3 = client(fresh, "s3")
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    life = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"][0]
    assert life["Expiration"] == {"Days": 400} and life["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER_IR"}]
    policy = {s["Sid"]: s for s in json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]}
    assert policy["AWSCloudTrailWrite"]["Condition"]["StringEquals"]["aws:SourceArn"] == trail["TrailARN"]
    assert policy["DenyInsecureTransport"]["Effect"] == "Deny"

    group = client(fresh, "logs").describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]
    assert group["retentionInDays"] == 90 and group["kmsKeyId"] == key_arn
    iam = client(fresh, "iam")
    inline = iam.get_role_policy(RoleName=ROLE, PolicyName="deliver-to-log-group")["PolicyDocument"]
    assert inline["Statement"][0]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    trust = iam.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}

    gd = client(fresh, "guardduty")
    detector = gd.get_detector(DetectorId=first["detector_id"])
    assert detector["Status"] == "ENABLED" and detector["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
    features = {f["Name"]: f for f in detector["Features"]}
    assert sorted(features) == ["RDS_LOGIN_EVENTS", "RUNTIME_MONITORING", "S3_DATA_EVENTS"]
    assert features["RUNTIME_MONITORING"]["AdditionalConfiguration"] == [
        {"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}]
    assert client(fresh, "ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True

    rc, out, second = baseline(fresh, "--diff", via=recording)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recording.calls and writes(recording) == [], recording.calls
    assert second["diff"]["before"] == second["diff"]["after"]
    assert second["key_arn"] == key_arn and second["detector_id"] == first["detector_id"]


def test_drift_is_repaired_with_exactly_the_calls_it_needs(fresh, recording):
    rc, out, unused = baseline(fresh)
    assert rc == 0, out
    client(fresh, "cloudtrail").stop_logging(Name=TRAIL)
    client(fresh, "logs").put_retention_policy(logGroupName=GROUP, retentionInDays=7)
    client(fresh, "s3").delete_bucket_policy(Bucket=BUCKET)

    rc, out, planned = baseline(fresh, "--check")
    assert rc == 0 and planned["actions"] == [
        "set the policy of bucket %s" % BUCKET, "keep log group %s 90 days (was 7)" % GROUP,
        "start logging of trail %s" % TRAIL], out
    assert client(fresh, "cloudtrail").get_trail_status(Name=TRAIL)["IsLogging"] is False

    rc, out, fixed = baseline(fresh, via=recording)
    assert rc == 0 and fixed["actions"] == planned["actions"], out
    assert writes(recording) == ["PUT /%s" % BUCKET, "PutRetentionPolicy", "StartLogging"], recording.calls
    assert client(fresh, "cloudtrail").get_trail_status(Name=TRAIL)["IsLogging"] is True


@pytest.mark.parametrize("args, fragment", [
    ({"name": "DirectFanz"}, "name 'DirectFanz' is not valid; accepted: 1-38 lower-case letters"),
    ({"trail_log_retention_days": 100}, "trail_log_retention_days 100 is not accepted; accepted: one of"),
    ({"guardduty_features": ["EKS_RUNTIME"]}, "guardduty_features EKS_RUNTIME not accepted; accepted: S3_DATA_EVENTS"),
])
def test_bad_input_makes_no_call(fresh, recording, args, fragment):
    rc, out, result = baseline(fresh, via=recording, **args)
    assert rc != 0 and fragment in result.get("msg", ""), out
    assert "nothing was changed" in result["msg"] and recording.calls == []


def test_a_region_without_the_trail_keeps_only_the_regional_parts(fresh):
    rc, out, result = baseline(fresh, region="eu-west-1", trail=False)
    assert rc == 0 and result["actions"] == [
        "enable GuardDuty (S3_DATA_EVENTS, RDS_LOGIN_EVENTS, RUNTIME_MONITORING)",
        "turn on EBS encryption by default"], out
    assert result["trail_arn"] == "" and result["policies"] == []
    assert client(fresh, "guardduty", "eu-west-1").list_detectors()["DetectorIds"] != []
    assert client(fresh, "guardduty").list_detectors()["DetectorIds"] == []
    rc, out, again = baseline(fresh, region="eu-west-1", trail=False)
    assert rc == 0 and again["changed"] is False, out
