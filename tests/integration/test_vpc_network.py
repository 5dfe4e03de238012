"""vpc_network against the moto server: check mode on an empty account plans everything and writes nothing, one
run builds the whole network (checked with boto3), a second run makes no write call, a removed port or a rule added
by hand is revoked and nothing else, per_az makes a NAT gateway and a private route table per zone, a deleted NAT
gateway is replaced, and bad input or an immutable change is refused before any write.

moto makes a default VPC (with its own subnets and security group) per region on first use: everything here tells
ours apart by its tags, never by being the only one."""

from conftest import aws_client, module

# `recorder` (conftest): a proxy in front of moto that notes every call, so a test can say a run made no write call.

NAME = "directfanz-sandbox"
SANDBOX = {
    "name": NAME, "cidr": "10.40.0.0/16", "availability_zones": ["us-east-1a", "us-east-1b"],
    "public_subnets": ["10.40.0.0/20", "10.40.16.0/20"], "private_subnets": ["10.40.128.0/20", "10.40.144.0/20"],
    "tags": {"environment": "sandbox"},
    "security_groups": [
        {"name": "alb", "ingress": [{"ports": [80, 443], "cidrs": ["0.0.0.0/0", "::/0"]}]},
        {"name": "app", "ingress": [{"ports": [3000, 8080], "from_groups": ["alb"], "description": "from the alb"}]},
        {"name": "db", "ingress": [{"ports": [5432], "from_groups": ["app"]}]},
        {"name": "cache", "ingress": [{"ports": [6379], "from_groups": ["app"]}]},
    ],
}


def ec2(sandbox):
    return aws_client(sandbox, "ec2")


def network(sandbox, *flags, via=None, **over):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict(SANDBOX, region="us-east-1", endpoint_url=endpoint, access_key="testing",
                  secret_key=sandbox["aws_secret_key"])
    params.update(over)
    return module("vpc_network", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def our_addresses(sandbox):
    return ec2(sandbox).describe_addresses(Filters=[{"Name": "tag:launch-network", "Values": [NAME]}])["Addresses"]


def not_default_vpcs(sandbox):
    return [v for v in ec2(sandbox).describe_vpcs()["Vpcs"] if not v.get("IsDefault")]


def ingress(sandbox, group_id, names):
    """A group's ingress rules as 'tcp 3000 from alb' strings, group ids turned into short names."""
    group = ec2(sandbox).describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    rules = []
    for perm in group["IpPermissions"]:
        sources = ([r["CidrIp"] for r in perm.get("IpRanges", [])] + [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
                   + [names.get(p["GroupId"], p["GroupId"]) for p in perm.get("UserIdGroupPairs", [])])
        rules += ["%s %s from %s" % (perm["IpProtocol"], perm.get("FromPort"), s) for s in sources]
    return sorted(rules)


def build(sandbox, **over):
    rc, out, result = network(sandbox, **over)
    assert rc == 0 and result["changed"] is True, out
    return result


def test_check_mode_on_an_empty_account_plans_everything_and_writes_nothing(fresh, recorder):
    rc, out, result = network(fresh, "--check", "--diff", via=recorder)
    assert rc == 0 and result["changed"] is True, out
    actions = result["actions"]
    for line in ("create vpc directfanz-sandbox 10.40.0.0/16",
                 "create subnet directfanz-sandbox-public-us-east-1a 10.40.0.0/20",
                 "create subnet directfanz-sandbox-private-us-east-1b 10.40.144.0/20",
                 "create nat gateway directfanz-sandbox-nat-us-east-1a in directfanz-sandbox-public-us-east-1a",
                 "route 0.0.0.0/0 in directfanz-sandbox-public to internet gateway directfanz-sandbox-igw",
                 "authorize alb tcp 443 from ::/0", "authorize app tcp 3000 from group alb",
                 "authorize db tcp 5432 from group app"):
        assert line in actions, actions
    assert result["vpc_id"] == "(new vpc directfanz-sandbox)"
    assert result["diff"]["before"] == {} and result["diff"]["after"]["subnets"][
        "directfanz-sandbox-private-us-east-1a"] == "10.40.128.0/20 us-east-1a"
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert not_default_vpcs(fresh) == []
    assert ec2(fresh).describe_addresses()["Addresses"] == [] and ec2(fresh).describe_nat_gateways()["NatGateways"] == []


def test_one_run_builds_the_network_and_a_second_makes_no_write_call(fresh, recorder):
    first = build(fresh)
    client = ec2(fresh)
    vpc_id = first["vpc_id"]
    vpcs = not_default_vpcs(fresh)
    assert [v["VpcId"] for v in vpcs] == [vpc_id] and vpcs[0]["CidrBlock"] == "10.40.0.0/16"
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        key = attribute[0].upper() + attribute[1:]
        assert client.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)[key]["Value"] is True

    igw = client.describe_internet_gateways(InternetGatewayIds=[first["internet_gateway_id"]])["InternetGateways"][0]
    assert igw["Attachments"][0]["VpcId"] == vpc_id

    subnets = dict((s["SubnetId"], s) for s in client.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"])
    public, private = first["public_subnet_ids"], first["private_subnet_ids"]
    assert [(subnets[s]["CidrBlock"], subnets[s]["AvailabilityZone"], subnets[s]["MapPublicIpOnLaunch"]) for s in public] \
        == [("10.40.0.0/20", "us-east-1a", False), ("10.40.16.0/20", "us-east-1b", False)]
    assert [(subnets[s]["CidrBlock"], subnets[s]["AvailabilityZone"], subnets[s]["MapPublicIpOnLaunch"])
            for s in private] == [("10.40.128.0/20", "us-east-1a", False), ("10.40.144.0/20", "us-east-1b", False)]
    assert {"Key": "environment", "Value": "sandbox"} in subnets[public[0]]["Tags"]

    tables = dict((t["RouteTableId"], t) for t in client.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"])
    assert sorted(first["route_table_ids"]) == ["private", "public"]

    def default_route(table_id):
        return [r for r in tables[table_id]["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"][0]

    def associated(table_id):
        return sorted(a["SubnetId"] for a in tables[table_id]["Associations"] if a.get("SubnetId"))

    assert default_route(first["route_table_ids"]["public"])["GatewayId"] == first["internet_gateway_id"]
    assert associated(first["route_table_ids"]["public"]) == sorted(public)
    [nat_id] = first["nat_gateway_ids"]
    assert default_route(first["route_table_ids"]["private"])["NatGatewayId"] == nat_id
    assert associated(first["route_table_ids"]["private"]) == sorted(private)

    nat = client.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]
    assert nat["State"] == "available" and nat["SubnetId"] == public[0]
    eip = client.describe_addresses(AllocationIds=[nat["NatGatewayAddresses"][0]["AllocationId"]])["Addresses"][0]
    assert {"Key": "Name", "Value": "directfanz-sandbox-nat-us-east-1a"} in eip["Tags"]
    assert {"Key": "launch-network", "Value": NAME} in eip["Tags"]

    ids = first["security_group_ids"]
    names = dict((v, k) for k, v in ids.items())
    assert ingress(fresh, ids["alb"], names) == ["tcp 443 from 0.0.0.0/0", "tcp 443 from ::/0", "tcp 80 from 0.0.0.0/0",
                                                 "tcp 80 from ::/0"]
    assert ingress(fresh, ids["app"], names) == ["tcp 3000 from alb", "tcp 8080 from alb"]
    assert ingress(fresh, ids["db"], names) == ["tcp 5432 from app"]
    assert ingress(fresh, ids["cache"], names) == ["tcp 6379 from app"]

    rc, out, second = network(fresh, "--diff", via=recorder)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert second["diff"]["before"] == second["diff"]["after"]
    outputs = ("vpc_id", "internet_gateway_id", "public_subnet_ids", "private_subnet_ids", "nat_gateway_ids",
               "route_table_ids", "security_group_ids")
    assert dict((k, second[k]) for k in outputs) == dict((k, first[k]) for k in outputs)


def test_a_removed_port_is_revoked_and_nothing_else(fresh, recorder):
    first = build(fresh)
    groups = [dict(g) for g in SANDBOX["security_groups"]]
    groups[1] = {"name": "app", "ingress": [{"ports": [3000], "from_groups": ["alb"], "description": "from the alb"}]}
    rc, out, check = network(fresh, "--check", security_groups=groups)
    assert rc == 0 and check["actions"] == ["revoke app tcp 8080 from group alb"], out
    rc, out, result = network(fresh, security_groups=groups, via=recorder)
    assert rc == 0 and result["actions"] == check["actions"], out
    assert recorder.writes() == ["RevokeSecurityGroupIngress"], recorder.calls
    ids = first["security_group_ids"]
    names = dict((v, k) for k, v in ids.items())
    assert ingress(fresh, ids["app"], names) == ["tcp 3000 from alb"]
    assert ingress(fresh, ids["alb"], names)[0] == "tcp 443 from 0.0.0.0/0"
    rc, out, again = network(fresh, security_groups=groups)
    assert rc == 0 and again["changed"] is False, out


def test_a_public_subnet_that_assigns_public_ips_gets_it_turned_off(fresh, recorder):
    """Requirement 9.4: what an older run (or a hand change) turned on is a planned change - check mode says it and
    writes nothing; the run makes exactly one ModifySubnetAttribute; the next run makes none."""
    first = build(fresh)
    client = ec2(fresh)
    subnet = first["public_subnet_ids"][1]
    client.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    rc, out, check = network(fresh, "--check", "--diff", via=recorder)
    assert rc == 0 and check["actions"] == ["disable MapPublicIpOnLaunch on subnet directfanz-sandbox-public-us-east-1b"]
    assert check["diff"]["before"]["public_ip_on_launch"] == ["directfanz-sandbox-public-us-east-1b"], out
    assert check["diff"]["after"]["public_ip_on_launch"] == []
    assert recorder.writes() == [], recorder.calls
    assert client.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["MapPublicIpOnLaunch"] is True
    recorder.calls.clear()
    rc, out, result = network(fresh, via=recorder)
    assert rc == 0 and result["actions"] == check["actions"], out
    assert recorder.writes() == ["ModifySubnetAttribute"], recorder.calls
    assert client.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["MapPublicIpOnLaunch"] is False
    rc, out, again = network(fresh)
    assert rc == 0 and again["changed"] is False, out


def test_a_rule_added_by_hand_is_revoked(fresh):
    first = build(fresh)
    db = first["security_group_ids"]["db"]
    ec2(fresh).authorize_security_group_ingress(GroupId=db, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    rc, out, result = network(fresh, "--diff")
    assert rc == 0 and result["actions"] == ["revoke db tcp 22 from 0.0.0.0/0"], out
    assert result["diff"]["before"]["security_groups"]["db"] == ["tcp 22 from 0.0.0.0/0", "tcp 5432 from group app"]
    names = dict((v, k) for k, v in first["security_group_ids"].items())
    assert ingress(fresh, db, names) == ["tcp 5432 from app"]


def test_per_az_makes_a_nat_gateway_and_a_private_route_table_per_zone(fresh):
    result = build(fresh, nat_gateways="per_az")
    client = ec2(fresh)
    nats = result["nat_gateway_ids"]
    assert len(set(nats)) == 2
    described = dict((n["NatGatewayId"], n) for n in client.describe_nat_gateways(NatGatewayIds=nats)["NatGateways"])
    assert [described[n]["SubnetId"] for n in nats] == result["public_subnet_ids"]
    assert sorted(result["route_table_ids"]) == ["private-us-east-1a", "private-us-east-1b", "public"]
    for az, nat, subnet in zip(["us-east-1a", "us-east-1b"], nats, result["private_subnet_ids"]):  # noqa: B905
        table = client.describe_route_tables(RouteTableIds=[result["route_table_ids"]["private-" + az]])["RouteTables"][0]
        assert [r["NatGatewayId"] for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"] == [nat]
        assert [a["SubnetId"] for a in table["Associations"] if a.get("SubnetId")] == [subnet]
    assert len(our_addresses(fresh)) == 2
    rc, out, again = network(fresh, nat_gateways="per_az")
    assert rc == 0 and again["changed"] is False, out


def test_a_deleted_nat_gateway_is_replaced_and_routed_to(fresh):
    first = build(fresh)
    client = ec2(fresh)
    client.delete_nat_gateway(NatGatewayId=first["nat_gateway_ids"][0])  # moto marks it deleted at once
    rc, out, result = network(fresh)
    assert rc == 0 and result["changed"] is True, out
    assert "create nat gateway directfanz-sandbox-nat-us-east-1a in directfanz-sandbox-public-us-east-1a" \
        in result["actions"]
    [nat_id] = result["nat_gateway_ids"]
    assert nat_id != first["nat_gateway_ids"][0]
    table = client.describe_route_tables(RouteTableIds=[result["route_table_ids"]["private"]])["RouteTables"][0]
    assert [r["NatGatewayId"] for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"] == [nat_id]


def test_bad_input_is_refused_before_any_call(fresh, recorder):
    bad_groups = [{"name": "app", "ingress": [{"ports": [0, "9000-8000"], "from_groups": ["web"]}]}]
    rc, out, result = network(fresh, via=recorder, cidr="10.40.0.0/8", availability_zones=["us-east-1a"],
                              public_subnets=["10.41.0.0/20"], security_groups=bad_groups)
    assert rc != 0, out
    for said in ("cidr 10.40.0.0/8 has host bits set", "availability_zones lists 1 zone(s); accepted: at least 2",
                 "private_subnets has 2 CIDR(s) for 1 availability zone(s)", "port 0 is outside 1-65535",
                 "port range '9000-8000' runs backwards", "from_groups names 'web', which is not in security_groups"):
        assert said in result["msg"], result["msg"]
    assert recorder.calls == []
    assert not_default_vpcs(fresh) == []

    rc, out, result = network(fresh, via=recorder, availability_zones=["us-east-1a", "us-east-1z"])
    assert rc != 0 and "availability zone(s) us-east-1z are not in region us-east-1; accepted: us-east-1a" \
        in result["msg"], out
    assert recorder.writes() == [] and not_default_vpcs(fresh) == []


def test_a_subnet_or_vpc_that_cannot_change_in_place_is_refused_and_nothing_is_written(fresh, recorder):
    first = build(fresh)
    rc, out, result = network(fresh, via=recorder, public_subnets=["10.40.0.0/21", "10.40.16.0/20"],
                              security_groups=[])
    assert rc != 0, out
    assert ("subnet directfanz-sandbox-public-us-east-1a (%s) is 10.40.0.0/20 in us-east-1a but the task asks for"
            " 10.40.0.0/21 in us-east-1a; a subnet's CIDR and zone cannot be changed" % first["public_subnet_ids"][0]) \
        in result["msg"]
    assert "(nothing was changed)" in result["msg"]
    rc, out, result = network(fresh, via=recorder, cidr="10.40.0.0/17",
                              private_subnets=["10.40.64.0/20", "10.40.80.0/20"])
    assert rc != 0 and "has CIDR 10.40.0.0/16 but the task asks for 10.40.0.0/17" in result["msg"], out
    assert recorder.calls and recorder.writes() == [], recorder.calls
