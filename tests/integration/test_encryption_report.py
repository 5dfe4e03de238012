"""encryption_report against the sandbox's moto over HTTP, on resources made here with boto3 - one of each kind
encrypted as the launch does it and one not: every item gets its verdict (at rest and in transit), the module fails
naming exactly what is not encrypted, `report_only` reports without failing, `exempt` lets a named item keep an AWS
managed key, other launches' resources are not looked at, and the module makes no write call (recording proxy)."""

import json

from conftest import Recorder, aws_module
from conftest import aws_client as client

NAME = "df"
DENY_HTTP = {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::df-good", "arn:aws:s3:::df-good/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


class Recording(Recorder):
    def canned(self, method, path, name, body):
        if name == "?":
            self.calls[-1] = ("Get" if method in ("GET", "HEAD") else method) + " " + path.split("?")[0]
        return None


def build(sandbox):
    kms = client(sandbox, "kms")
    key = kms.create_key(Description="data")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/df-data", TargetKeyId=key)
    s3 = client(sandbox, "s3")
    s3.create_bucket(Bucket="df-good")
    s3.put_bucket_encryption(Bucket="df-good", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/df-data"}}]})
    s3.put_bucket_policy(Bucket="df-good", Policy=json.dumps({"Version": "2012-10-17", "Statement": [DENY_HTTP]}))
    # a DR replica: another region's bucket under that region's customer-managed key (by ARN) - ok, the key described
    # in its own region
    dr_key = client(sandbox, "kms", "us-west-2").create_key(Description="dr")["KeyMetadata"]["Arn"]
    s3w = client(sandbox, "s3", "us-west-2")
    s3w.create_bucket(Bucket="df-good-us-west-2", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3w.put_bucket_encryption(Bucket="df-good-us-west-2", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": dr_key}}]})
    s3w.put_bucket_policy(Bucket="df-good-us-west-2", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        dict(DENY_HTTP, Resource=["arn:aws:s3:::df-good-us-west-2", "arn:aws:s3:::df-good-us-west-2/*"])]}))
    s3.create_bucket(Bucket="df-static")  # SSE-S3, no TLS-only policy
    s3.put_bucket_encryption(Bucket="df-static", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    # moto answers no default encryption for a bucket that was never given one; S3 itself has applied SSE-S3 to every
    # bucket since January 2023, so this verdict ("no default encryption") only ever shows against moto
    s3.create_bucket(Bucket="df-bare")
    s3.create_bucket(Bucket="other-launch-bucket")
    sm = client(sandbox, "secretsmanager")
    sm.create_secret(Name="df/app/KEY", SecretString="x", KmsKeyId="alias/df-data")
    sm.create_secret(Name="df/app/PLAIN", SecretString="y")
    sns = client(sandbox, "sns")
    sns.create_topic(Name="df-alerts", Attributes={"KmsMasterKeyId": "alias/df-data"})
    sns.create_topic(Name="df-plain")
    logs = client(sandbox, "logs")
    logs.create_log_group(logGroupName="/df/web", kmsKeyId=key)
    logs.create_log_group(logGroupName="/df/ws")
    ec = client(sandbox, "elasticache")
    ec.create_replication_group(ReplicationGroupId="df-redis", ReplicationGroupDescription="r", Engine="redis",
                                CacheNodeType="cache.t4g.micro", NumCacheClusters=1, AtRestEncryptionEnabled=True,
                                TransitEncryptionEnabled=True, KmsKeyId="alias/df-data")
    rds = client(sandbox, "rds")
    rds.create_db_parameter_group(DBParameterGroupName="df-pg", DBParameterGroupFamily="postgres16", Description="p")
    rds.modify_db_parameter_group(DBParameterGroupName="df-pg", Parameters=[
        {"ParameterName": "rds.force_ssl", "ParameterValue": "0", "ApplyMethod": "immediate"}])
    rds.create_db_instance(DBInstanceIdentifier="df-db", Engine="postgres", DBInstanceClass="db.t4g.micro",
                           AllocatedStorage=20, MasterUsername="u", MasterUserPassword="passw0rd-long",
                           StorageEncrypted=True, KmsKeyId="alias/df-data", DBParameterGroupName="df-pg")
    ec2 = client(sandbox, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.%d.0/24" % i, AvailabilityZone="us-east-1" + z)["Subnet"]
               ["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
    elb = client(sandbox, "elbv2")
    lb = elb.create_load_balancer(Name="df-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elb.create_target_group(Name="df-web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    cert = client(sandbox, "acm").request_certificate(DomainName="df.example")["CertificateArn"]
    elb.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443, SslPolicy="ELBSecurityPolicy-2016-08",
                        Certificates=[{"CertificateArn": cert}], DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])
    elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8080, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": tg}])


def report(sandbox, *flags, via=None, **args):
    params = dict({"name": NAME}, **args)
    if via is not None:
        params["endpoint_url"] = via.url
    return aws_module(sandbox, "encryption_report", params, *flags)


EXPECTED_FAILURES = [
    "rds parameter group df-pg (in transit): rds.force_ssl=0",
    "bucket df-bare (at rest): no default encryption",
    "bucket df-bare (in transit): no policy statement denies plain HTTP",
    "bucket df-static (at rest): SSE-S3 (AES256, keys owned by S3)",
    "bucket df-static (in transit): no policy statement denies plain HTTP",
    "secret df/app/PLAIN (at rest): encrypted with aws/secretsmanager",
    "topic df-plain (at rest): no KmsMasterKeyId (server-side encryption off)",
    "log group /df/ws (at rest): CloudWatch Logs' service-managed encryption",
    "listener df-alb:443 (in transit): HTTPS with ELBSecurityPolicy-2016-08 (allows TLS < 1.2)",
    "listener df-alb:8080 (in transit): HTTP serves without TLS",
]


def test_every_item_gets_its_verdict_and_the_module_fails_naming_what_is_not_encrypted(fresh):
    build(fresh)
    proxy = Recording(fresh["aws_endpoint_url"])
    try:
        rc, out, result = report(fresh, via=proxy)
        assert rc != 0, out
        assert result["failures"] == EXPECTED_FAILURES
        assert result["msg"].startswith("encryption_report: 10 item(s) not encrypted as required: rds parameter group")
        assert proxy.calls and [c for c in proxy.calls if not c.startswith(("Get", "List", "Describe"))] == [], \
            proxy.calls
    finally:
        proxy.close()
    verdicts = {(i["kind"], i["name"], i["aspect"]): i["verdict"] for i in result["items"]}
    assert verdicts[("rds instance", "df-db", "at rest")] == "ok"
    assert verdicts[("replication group", "df-redis", "at rest")] == "ok"
    assert verdicts[("replication group", "df-redis", "in transit")] == "ok"
    assert verdicts[("bucket", "df-good", "at rest")] == verdicts[("bucket", "df-good", "in transit")] == "ok"
    assert verdicts[("bucket", "df-good-us-west-2", "at rest")] == "ok"  # its region's key, described there
    assert verdicts[("secret", "df/app/KEY", "at rest")] == "ok"
    assert verdicts[("topic", "df-alerts", "at rest")] == "ok"
    assert verdicts[("log group", "/df/web", "at rest")] == "ok"
    assert verdicts[("listener", "df-alb:80", "in transit")] == "ok"
    assert not any(i["name"] == "other-launch-bucket" for i in result["items"])
    assert result["summary"] == {"ok": 11, "fail": 7, "aws-managed": 3}


def test_report_only_reports_and_exempt_items_may_keep_an_aws_managed_key(fresh):
    build(fresh)
    rc, out, result = report(fresh, report_only=True, exempt=["df-static", "/df/ws"])
    assert rc == 0 and result["changed"] is False, out
    assert result["failures"] == [f for f in EXPECTED_FAILURES if not f.startswith(("bucket df-static (at rest)",
                                                                                    "log group /df/ws"))]
    assert any(line.startswith("aws-managed bucket df-static (at rest)") for line in result["report"])
    rc, out, lenient = report(fresh, report_only=True, require_customer_key=False)
    assert rc == 0 and "secret df/app/PLAIN (at rest): encrypted with aws/secretsmanager" not in lenient["failures"]
    assert "topic df-plain (at rest): no KmsMasterKeyId (server-side encryption off)" in lenient["failures"]


def test_nothing_built_is_nothing_to_fail_and_a_bad_name_makes_no_call(fresh, recorder):
    rc, out, result = report(fresh)
    assert rc == 0 and result["items"] == [] and result["failures"] == [], out
    rc, out, result = report(fresh, via=recorder, name="Not A Prefix")
    assert rc != 0 and "name 'Not A Prefix' is not valid; accepted: 1-63 lower-case" in result["msg"], out
    assert recorder.calls == []
