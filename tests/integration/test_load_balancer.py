"""load_balancer and launch_facts against the moto server: check mode makes nothing, one run makes everything,
a second run changes nothing, a change touches only what differs, and foreign or immutable things are refused."""

from conftest import aws_client as client
from conftest import aws_module as aws


def network(sandbox):
    ec2 = client(sandbox, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.%d.0/24" % i, AvailabilityZone="us-east-1" + az)[
        "Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]
    sg = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
    cert = client(sandbox, "acm").request_certificate(DomainName="*.example.com", ValidationMethod="DNS")[
        "CertificateArn"]
    return {"name": "site-alb", "vpc_id": vpc, "subnets": subnets, "security_groups": [sg], "certificate_arn": cert,
            "idle_timeout": 3600, "target_groups": [{"name": "site-web", "port": 3000},
                                                    {"name": "site-ws", "port": 4001, "stickiness": True}],
            "default_target_group": "site-web",
            "host_rules": [{"hosts": ["ws.example.com"], "target_group": "site-ws"}]}


def test_check_then_build_then_nothing_to_do_then_one_change(fresh):
    args = network(fresh)
    elb = client(fresh, "elbv2")
    rc, out, check = aws(fresh, "load_balancer", args, "--check")
    assert rc == 0 and check["changed"] is True, out
    assert "create load balancer site-alb in %s" % ", ".join(args["subnets"]) in check["actions"]
    assert elb.describe_load_balancers()["LoadBalancers"] == [] and elb.describe_target_groups()["TargetGroups"] == []

    rc, out, first = aws(fresh, "load_balancer", args)
    assert rc == 0 and first["changed"] is True, out
    lb = elb.describe_load_balancers(Names=["site-alb"])["LoadBalancers"][0]
    assert first["dns_name"] == lb["DNSName"] and first["canonical_hosted_zone_id"] == lb["CanonicalHostedZoneId"]
    attrs = {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
    assert attrs["idle_timeout.timeout_seconds"] == "3600"
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    listeners = {lis["Port"]: lis for lis in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert listeners[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listeners[443]["Certificates"][0]["CertificateArn"] == args["certificate_arn"]
    redirect = listeners[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
    rules = [r for r in elb.describe_rules(ListenerArn=listeners[443]["ListenerArn"])["Rules"] if not r["IsDefault"]]
    assert len(rules) == 1 and rules[0]["Actions"][0]["TargetGroupArn"] == first["target_group_arns"]["site-ws"]
    ws = {a["Key"]: a["Value"] for a in elb.describe_target_group_attributes(
        TargetGroupArn=first["target_group_arns"]["site-ws"])["Attributes"]}
    assert ws["stickiness.enabled"] == "true" and ws["stickiness.type"] == "lb_cookie"

    rc, out, second = aws(fresh, "load_balancer", args)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out

    args["host_rules"].append({"hosts": ["api.example.com"], "target_group": "site-web"})
    args["idle_timeout"] = 900
    rc, out, third = aws(fresh, "load_balancer", args, "--check", "--diff")
    assert rc == 0 and third["actions"] == ["set idle_timeout.timeout_seconds=900 on site-alb",
                                            "create rule 20: api.example.com"], out
    rc, out, fourth = aws(fresh, "load_balancer", args)
    assert rc == 0 and fourth["actions"] == third["actions"], out
    assert len(elb.describe_rules(ListenerArn=listeners[443]["ListenerArn"])["Rules"]) == 3

    # launch_facts finds it for the phases after the network (and says nothing when it is not there)
    rc, out, found = aws(fresh, "launch_facts", {"load_balancer_name": "site-alb", "distribution_name": "none"})
    assert rc == 0 and found["load_balancer"]["dns_name"] == lb["DNSName"].lower() and found["distribution"] == {}, out
    rc, out, missing = aws(fresh, "launch_facts", {"load_balancer_name": "other-alb"})
    assert rc == 0 and missing["load_balancer"] == {}, out


def test_a_target_group_made_by_someone_else_or_changed_in_an_immutable_way_is_refused(fresh):
    args = network(fresh)
    elb = client(fresh, "elbv2")
    elb.create_target_group(Name="site-ws", Protocol="HTTP", Port=4001, VpcId=args["vpc_id"], TargetType="ip")
    rc, out, result = aws(fresh, "load_balancer", args)
    assert rc != 0 and "were not made by directfanz.launch" in out and "never adopted" in out, out
    assert elb.describe_load_balancers()["LoadBalancers"] == []

    elb.delete_target_group(TargetGroupArn=elb.describe_target_groups(Names=["site-ws"])["TargetGroups"][0][
        "TargetGroupArn"])
    assert aws(fresh, "load_balancer", args)[0] == 0
    args["target_groups"][1]["port"] = 4002
    rc, out, result = aws(fresh, "load_balancer", args)
    assert rc != 0 and "AWS cannot change port, protocol, target type or VPC in place" in out, out


def test_bad_input_is_refused_before_any_call(fresh):
    args = dict(network(fresh), ssl_policy="ELBSecurityPolicy-2016-08", subnets=["subnet-1"])
    rc, out, result = aws(fresh, "load_balancer", args)
    assert rc != 0 and "may allow TLS below 1.2" in out and "at least two availability zones" in out, out
    assert client(fresh, "elbv2").describe_target_groups()["TargetGroups"] == []
