"""wafv2_attachments against the moto server: check mode changes nothing, one run logs and associates, the next
only reads; a resource of another web ACL is refused unless replace_other_associations, then moved; logging=false
deletes; bad inputs are refused before any AWS call."""


import pytest
from botocore.exceptions import ClientError
from conftest import module
from conftest import aws_client as client

VISIBILITY = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "test"}


def attach(sandbox, *flags, **args):
    # region is deliberately another one: the module works in the web ACL's region (us-east-1 here)
    url = sandbox["recorder"].url
    sandbox["recorder"].calls.clear()
    params = dict({"region": "eu-west-1", "endpoint_url": url, "access_key": "testing",
                   "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("wafv2_attachments", params, *flags, env={"AWS_ENDPOINT_URL": url})


def web_acl(sandbox, name, scope="REGIONAL"):
    rule = {"Name": "rate", "Priority": 1, "Action": {"Block": {}},
            "Statement": {"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}},
            "VisibilityConfig": dict(VISIBILITY, MetricName="rate")}
    return client(sandbox, "wafv2").create_web_acl(Name=name, Scope=scope, DefaultAction={"Allow": {}}, Rules=[rule],
                                                   VisibilityConfig=VISIBILITY)["Summary"]["ARN"]


def load_balancer(sandbox):
    ec2 = client(sandbox, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.%d.0/24" % i, AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for i, zone in enumerate(["us-east-1a", "us-east-1b"])]
    return client(sandbox, "elbv2").create_load_balancer(Name="web", Subnets=subnets)["LoadBalancers"][0][
        "LoadBalancerArn"]


def log_group(sandbox):
    logs = client(sandbox, "logs")
    logs.create_log_group(logGroupName="aws-waf-logs-test")
    return logs.describe_log_groups(logGroupNamePrefix="aws-waf-logs-test")["logGroups"][0]["arn"]


def logging_of(sandbox, acl):
    try:
        return client(sandbox, "wafv2").get_logging_configuration(ResourceArn=acl)["LoggingConfiguration"]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "WAFNonexistentItemException"
        return None


def acl_of(sandbox, resource):
    return client(sandbox, "wafv2").get_web_acl_for_resource(ResourceArn=resource).get("WebACL", {}).get("ARN")


@pytest.fixture()
def recorded(fresh, recorder):
    """The sandbox, with the module's calls going through conftest's recording proxy."""
    return dict(fresh, recorder=recorder)


@pytest.fixture()
def world(recorded):
    return {"acl": web_acl(recorded, "app"), "alb": load_balancer(recorded), "group": log_group(recorded)}


def test_check_then_apply_then_nothing_to_do(recorded, world):
    acl, alb, group = world["acl"], world["alb"], world["group"]
    assert group.endswith(":*")  # CloudWatch Logs' form; the module sends it without
    plain = group[:-2]
    args = dict(web_acl_arn=acl, log_destination_arns=[group], redacted_headers=["Authorization", "cookie"],
                resource_arns=[alb])

    rc, out, checked = attach(recorded, "--check", "--diff", **args)
    assert rc == 0 and checked["changed"] is True, out
    assert checked["actions"] == ["enable logging to %s, redacting headers: authorization, cookie" % plain,
                                  "associate %s" % alb]
    assert checked["diff"]["before"] == {"logging": [], "redacted_headers": [], "associations": {alb: None}}
    assert checked["diff"]["after"] == {"logging": [plain], "redacted_headers": ["authorization", "cookie"],
                                        "associations": {alb: acl}}
    assert recorded["recorder"].writes() == [], recorded["recorder"].calls
    assert sorted(recorded["recorder"].operations()) == ["GetLoggingConfiguration", "GetWebACL", "GetWebACLForResource"]
    assert logging_of(recorded, acl) is None and acl_of(recorded, alb) is None

    rc, out, applied = attach(recorded, **args)
    assert rc == 0 and applied["changed"] is True and applied["actions"] == checked["actions"], out
    assert applied["logging"] == {"destinations": [plain], "redacted_headers": ["authorization", "cookie"]}
    assert applied["associations"] == [alb] and applied["web_acl_arn"] == acl
    config = logging_of(recorded, acl)
    assert config["LogDestinationConfigs"] == [plain]
    assert config["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}},
                                        {"SingleHeader": {"Name": "cookie"}}]
    assert acl_of(recorded, alb) == acl
    assert recorded["recorder"].writes() == ["PutLoggingConfiguration", "AssociateWebACL"]

    shouted = dict(args)
    shouted["redacted_headers"] = ["COOKIE", "authorization"]
    rc, out, again = attach(recorded, **shouted)
    assert rc == 0 and again["changed"] is False and again["actions"] == [], out
    assert recorded["recorder"].writes() == [], recorded["recorder"].calls


def test_another_web_acls_resource_is_refused_then_moved(recorded, world):
    acl, alb = world["acl"], world["alb"]
    client(recorded, "wafv2").associate_web_acl(WebACLArn=acl, ResourceArn=alb)
    other = web_acl(recorded, "other")
    group = world["group"][:-2]

    rc, out, refused = attach(recorded, web_acl_arn=other, log_destination_arns=[group], resource_arns=[alb])
    assert rc != 0 and "resource %s is associated with another web ACL, %s" % (alb, acl) in out, out
    assert "replace_other_associations: true to move it to %s" % other in out and "nothing was changed" in out
    assert recorded["recorder"].writes() == [] and acl_of(recorded, alb) == acl and logging_of(recorded, other) is None

    rc, out, moved = attach(recorded, "--diff", web_acl_arn=other, resource_arns=[alb], replace_other_associations=True)
    assert rc == 0 and moved["changed"] is True, out
    assert moved["actions"] == ["associate %s (moving it from %s)" % (alb, acl)]
    assert moved["diff"]["before"]["associations"] == {alb: acl} and moved["diff"]["after"]["associations"] == {alb: other}
    assert acl_of(recorded, alb) == other
    assert recorded["recorder"].writes() == ["DisassociateWebACL", "AssociateWebACL"]

    rc, out, again = attach(recorded, web_acl_arn=other, resource_arns=[alb], replace_other_associations=True)
    assert rc == 0 and again["changed"] is False and recorded["recorder"].writes() == [], out


def test_logging_false_deletes_the_logging_configuration(recorded, world):
    acl, group = world["acl"], world["group"][:-2]
    rc, out, result = attach(recorded, web_acl_arn=acl, log_destination_arns=[group])
    assert rc == 0 and logging_of(recorded, acl)["LogDestinationConfigs"] == [group], out

    rc, out, result = attach(recorded, "--check", web_acl_arn=acl, logging=False)
    assert rc == 0 and result["changed"] is True and result["actions"] == ["disable logging to %s" % group], out
    assert logging_of(recorded, acl) is not None and recorded["recorder"].writes() == []

    rc, out, result = attach(recorded, web_acl_arn=acl, logging=False)
    assert rc == 0 and result["changed"] is True and result["logging"] == {"destinations": [], "redacted_headers": []}
    assert logging_of(recorded, acl) is None and recorded["recorder"].writes() == ["DeleteLoggingConfiguration"]

    rc, out, result = attach(recorded, web_acl_arn=acl, logging=False)
    assert rc == 0 and result["changed"] is False and recorded["recorder"].writes() == [], out


def test_bad_inputs_are_refused_before_any_call(recorded, world):
    cloudfront = web_acl(recorded, "edge", scope="CLOUDFRONT")
    rc, out, result = attach(recorded, web_acl_arn=cloudfront, resource_arns=[world["alb"]])
    assert rc != 0 and "resource_arns cannot be used with the global (CloudFront) web ACL %s" % cloudfront in out, out
    assert "WebACLId" in out and recorded["recorder"].calls == []

    bad = world["group"].replace("aws-waf-logs-test", "waf-test")
    rc, out, result = attach(recorded, web_acl_arn=world["acl"], log_destination_arns=[bad], resource_arns=[world["alb"]])
    assert rc != 0 and "the CloudWatch Logs group name waf-test does not start with aws-waf-logs-" in out, out
    assert "arn:aws:logs:us-east-1:<account>:log-group:aws-waf-logs-<name>" in out and recorded["recorder"].calls == []
    assert logging_of(recorded, world["acl"]) is None and acl_of(recorded, world["alb"]) is None


def test_a_missing_web_acl_is_said_plainly(recorded):
    missing = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/gone/a1b2c3d4-5678-90ab-cdef-111122223333"
    rc, out, result = attach(recorded, web_acl_arn=missing, logging=False)
    assert rc != 0 and "web ACL %s does not exist in us-east-1" % missing in out, out
