"""launch_logging against the sandbox's moto over HTTP, through a recording proxy that names every call (S3's,
CloudFront's and Route 53's REST calls too): on a platform that exists but logs nothing, --check plans every layer and
writes nothing; a run turns on ALB access logs, CloudFront standard logs, S3 server access logs of the content and
static buckets (into one SSE-S3 log bucket with the delivery policy and grant), VPC flow logs and Route 53 query logs
(KMS-encrypted groups with their retention), read back with boto3; the second run makes no write call; bad input
makes no call at all; on an empty account it plans around what is missing.

moto gaps met: none that needs tolerating. Two answers differ from AWS and the module is written for both: moto's
ListQueryLoggingConfigs with HostedZoneId answers NoSuchHostedZone (the module lists all configurations and filters),
and CreateQueryLoggingConfig accepts only the log group ARN ending ':*' (DescribeLogGroups' ``arn``, which the module
passes). moto checks a bucket-policy grant for PutBucketLogging only as an exact Resource string, which is the form
the module writes anyway. moto does not deliver any log: what is verified is the configuration."""

import json

import pytest

from conftest import Recorder, aws_module
from conftest import aws_client as client

ACCOUNT = "123456789012"
NAME = "directfanz-sandbox"
ZONE = "directfanz.example"
LOG_BUCKET = "%s-logs-%s" % (NAME, ACCOUNT)
CONTENT, STATIC = "%s-content-%s" % (NAME, ACCOUNT), "%s-static-%s" % (NAME, ACCOUNT)
FLOW_GROUP = "/aws/vpc/flow-logs/%s" % NAME
QUERY_GROUP = "/aws/route53/%s" % ZONE


class Recording(Recorder):
    """The recorder, naming the REST calls it lists as "?" by method: GET/HEAD are reads, any other method a write."""

    def canned(self, method, path, name, body):
        if name == "?":
            self.calls[-1] = ("Get" if method in ("GET", "HEAD") else method) + " " + path.split("?")[0]
        return None


@pytest.fixture()
def recording(fresh):
    proxy = Recording(fresh["aws_endpoint_url"])
    yield proxy
    proxy.close()


def writes(proxy):
    return [c for c in proxy.calls if not c.startswith(("Get", "List", "Describe", "Head"))]


def logging(sandbox, *flags, via=None, **args):
    params = dict({"name": NAME, "buckets": [CONTENT, STATIC], "zone": ZONE, "tags": {"project": "directfanz"}}, **args)
    if via is not None:
        params["endpoint_url"] = via.url
    return aws_module(sandbox, "launch_logging", params, *flags)


def platform(sandbox):
    """What earlier phases built, made with boto3: the two buckets, the tagged VPC, the load balancer, the tagged
    distribution and the public zone."""
    s3, ec2 = client(sandbox, "s3"), client(sandbox, "ec2")
    for bucket in (CONTENT, STATIC):
        s3.create_bucket(Bucket=bucket)
    tags = [{"Key": "managed-by", "Value": "directfanz.launch"}, {"Key": "launch-network", "Value": NAME},
            {"Key": "Name", "Value": NAME}]
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])["Vpc"]
    subnets = [ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
               for cidr, az in (("10.40.0.0/20", "us-east-1a"), ("10.40.16.0/20", "us-east-1b"))]
    group = ec2.create_security_group(GroupName=NAME + "-alb", Description="alb", VpcId=vpc["VpcId"])["GroupId"]
    lb = client(sandbox, "elbv2").create_load_balancer(Name=NAME + "-alb", Subnets=subnets,
                                                       SecurityGroups=[group])["LoadBalancers"][0]
    client(sandbox, "route53").create_hosted_zone(Name=ZONE, CallerReference="zone")
    config = {"CallerReference": "edge", "Comment": "%s (managed by directfanz.launch)" % NAME, "Enabled": True,
              "Origins": {"Quantity": 1, "Items": [{"Id": "app", "DomainName": "origin.example.com",
                                                    "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                           "OriginProtocolPolicy": "https-only"}}]},
              "DefaultCacheBehavior": {"TargetOriginId": "app", "ViewerProtocolPolicy": "redirect-to-https",
                                       "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}
    dist = client(sandbox, "cloudfront").create_distribution_with_tags(DistributionConfigWithTags={
        "DistributionConfig": config, "Tags": {"Items": [{"Key": "managed-by", "Value": "directfanz.launch"},
                                                         {"Key": "launch-distribution", "Value": NAME}]}})
    return {"vpc": vpc["VpcId"], "lb": lb["LoadBalancerArn"], "distribution": dist["Distribution"]["Id"]}


def lb_logging(sandbox, arn):
    attributes = client(sandbox, "elbv2").describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    return dict((a["Key"], a["Value"]) for a in attributes if a["Key"].startswith("access_logs.s3."))


EVERY_LAYER = {
    "alb %s-alb" % NAME: "s3://%s/alb/" % LOG_BUCKET, "cloudfront %s" % NAME: "s3://%s/cloudfront/" % LOG_BUCKET,
    "s3 " + CONTENT: "s3://%s/s3-access/%s/" % (LOG_BUCKET, CONTENT),
    "s3 " + STATIC: "s3://%s/s3-access/%s/" % (LOG_BUCKET, STATIC),
    "vpc %s" % NAME: "logs:us-east-1:" + FLOW_GROUP, "route53 %s" % ZONE: "logs:us-east-1:" + QUERY_GROUP}


def test_check_mode_plans_every_layer_and_writes_nothing(fresh, recording):
    built = platform(fresh)
    rc, out, result = logging(fresh, "--check", "--diff", via=recording)
    assert rc == 0 and result["changed"] is True, out
    assert result["destinations"] == EVERY_LAYER and result["missing"] == []
    assert "log the DNS queries of zone %s to %s in us-east-1" % (ZONE, QUERY_GROUP) in result["actions"]
    assert result["diff"]["before"]["alb"]["access_logs.s3.enabled"] in (None, "false")
    assert result["diff"]["after"]["alb"]["access_logs.s3.bucket"] == LOG_BUCKET
    assert recording.calls and writes(recording) == [], recording.calls
    assert [b["Name"] for b in client(fresh, "s3").list_buckets()["Buckets"] if b["Name"] == LOG_BUCKET] == []
    assert lb_logging(fresh, built["lb"]).get("access_logs.s3.bucket", "") == ""
    assert client(fresh, "ec2").describe_flow_logs()["FlowLogs"] == []


def test_a_run_logs_every_layer_and_the_second_writes_nothing(fresh, recording):
    built = platform(fresh)
    rc, out, first = logging(fresh)
    assert rc == 0 and first["changed"] is True and first["destinations"] == EVERY_LAYER, out
    key = first["key_arns"]["us-east-1"]
    assert key.startswith("arn:aws:kms:us-east-1:%s:key/" % ACCOUNT)

    assert lb_logging(fresh, built["lb"]) == {"access_logs.s3.enabled": "true", "access_logs.s3.bucket": LOG_BUCKET,
                                              "access_logs.s3.prefix": "alb"}
    logging_config = client(fresh, "cloudfront").get_distribution_config(Id=built["distribution"])[
        "DistributionConfig"]["Logging"]
    assert logging_config == {"Enabled": True, "IncludeCookies": False, "Bucket": LOG_BUCKET + ".s3.amazonaws.com",
                              "Prefix": "cloudfront/"}
    s3 = client(fresh, "s3")
    for bucket in (CONTENT, STATIC):
        assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"] == {
            "TargetBucket": LOG_BUCKET, "TargetPrefix": "s3-access/%s/" % bucket}
    rule = s3.get_bucket_encryption(Bucket=LOG_BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_ownership_controls(Bucket=LOG_BUCKET)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerPreferred"}]
    grants = s3.get_bucket_acl(Bucket=LOG_BUCKET)["Grants"]
    assert {"Grantee": {"ID": "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0",
                        "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"} in grants
    assert s3.get_bucket_versioning(Bucket=LOG_BUCKET)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=LOG_BUCKET)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    rules = dict((r["ID"], r) for r in s3.get_bucket_lifecycle_configuration(Bucket=LOG_BUCKET)["Rules"])
    assert sorted(rules) == ["alb-logs", "cloudfront-logs", "s3-logs"] and rules["alb-logs"]["Expiration"] == {
        "Days": 365}
    sids = [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=LOG_BUCKET)["Policy"])["Statement"]]
    assert sorted(sids) == ["DenyInsecureTransport", "ElbDeliversAccessLogs",
                            "S3AccessLogsFromDirectfanzSandboxContent123456789012",
                            "S3AccessLogsFromDirectfanzSandboxStatic123456789012"]

    logs = client(fresh, "logs")
    for group, days in ((FLOW_GROUP, 90), (QUERY_GROUP, 30)):
        found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
        assert (found["retentionInDays"], found["kmsKeyId"]) == (days, key)
    [flow] = client(fresh, "ec2").describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [built["vpc"]]}])[
        "FlowLogs"]
    assert (flow["TrafficType"], flow["LogGroupName"], flow["MaxAggregationInterval"]) == ("ALL", FLOW_GROUP, 60)
    assert flow["DeliverLogsPermissionArn"] == "arn:aws:iam::%s:role/%s-flow-logs" % (ACCOUNT, NAME)
    [config] = client(fresh, "route53").list_query_logging_configs()["QueryLoggingConfigs"]
    assert config["CloudWatchLogsLogGroupArn"] == "arn:aws:logs:us-east-1:%s:log-group:%s:*" % (ACCOUNT, QUERY_GROUP)
    [policy] = [p for p in logs.describe_resource_policies()["resourcePolicies"]
                if p["policyName"] == NAME + "-route53-query-logs"]
    assert json.loads(policy["policyDocument"])["Statement"][0]["Principal"] == {"Service": "route53.amazonaws.com"}
    key_policy = json.loads(client(fresh, "kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert sorted(s["Sid"] for s in key_policy["Statement"]) == ["CloudWatchLogsForTheLaunchLogGroups",
                                                                 "KeyAdministration"]

    rc, out, second = logging(fresh, "--diff", via=recording)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recording.calls and writes(recording) == [], recording.calls
    assert second["diff"]["before"] == second["diff"]["after"]


def test_bad_input_makes_no_call(fresh, recording):
    rc, out, result = logging(fresh, via=recording, buckets=[LOG_BUCKET, "Bad_Bucket"], flow_log_retention_days=42)
    assert rc != 0 and result.get("failed") is True, out
    assert "buckets: %s is the log bucket" % LOG_BUCKET in result["msg"]
    assert "buckets: 'Bad_Bucket' is not a valid bucket name" in result["msg"]
    assert "flow_log_retention_days 42 is not accepted; accepted: one of" in result["msg"]
    assert recording.calls == []


def test_on_an_empty_account_it_plans_around_what_is_missing(fresh, recording):
    rc, out, result = logging(fresh, "--check", via=recording)
    assert rc == 0 and len(result["missing"]) == 6, out
    assert "load balancer %s-alb not found in us-east-1" % NAME in result["missing"][0]
    assert result["destinations"] == {} and result["key_arns"] == {}
    assert result["actions"][0] == "create bucket %s" % LOG_BUCKET
    assert writes(recording) == [], recording.calls
