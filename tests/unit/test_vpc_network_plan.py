"""vpc_network without AWS: every input problem found at once and said with what is accepted, port specs,
security group rule diffing (extra revoked, missing authorized, IPv4/IPv6, group references), and the plan made
from what AWS holds (placeholders on an empty account, dead NAT gateways replaced, immutable things refused)."""

import copy

import pytest

from ansible_collections.directfanz.launch.plugins.modules import vpc_network as M

NAME = "directfanz-sandbox"
AZS = ["us-east-1a", "us-east-1b"]


def group(name, *rules, description=None):
    return {"name": name, "description": description, "ingress": [dict({"protocol": "tcp", "cidrs": [], "from_groups": [],
                                                                        "description": None}, **r) for r in rules]}


def params(**over):
    p = {"name": NAME, "cidr": "10.40.0.0/16", "availability_zones": list(AZS),
         "public_subnets": ["10.40.0.0/20", "10.40.16.0/20"], "private_subnets": ["10.40.128.0/20", "10.40.144.0/20"],
         "nat_gateways": "single", "tags": {"environment": "sandbox"}, "state": "present", "wait_timeout": 600,
         "security_groups": [group("alb", {"ports": [80, 443], "cidrs": ["0.0.0.0/0", "::/0"]}),
                             group("app", {"ports": [3000, 8080], "from_groups": ["alb"]}),
                             group("db", {"ports": [5432], "from_groups": ["app"]}),
                             group("cache", {"ports": [6379], "from_groups": ["app"]})]}
    p.update(over)
    return p


# --- ports ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [(443, (443, 443)), ("443", (443, 443)), ("8000-8100", (8000, 8100)),
                                            (" 80 - 90 ", (80, 90)), (1, (1, 1)), ("65535", (65535, 65535))])
def test_a_port_is_a_number_or_a_range(spec, expected):
    assert M.parse_port(spec) == expected


@pytest.mark.parametrize("spec, why", [(0, "outside 1-65535"), (65536, "outside 1-65535"), ("1-70000", "outside"),
                                       ("90-80", "runs backwards"), ("http", "not a number or a range"),
                                       (True, "not a number"), (80.5, "not a number"), (None, "not a number"),
                                       ("80,443", "not a number or a range")])
def test_a_bad_port_says_why(spec, why):
    with pytest.raises(ValueError, match=why):
        M.parse_port(spec)


def test_ports_are_deduplicated_sorted_and_every_bad_one_named():
    assert M.parse_ports([443, "80", "443", "8000-8100"]) == ([(80, 80), (443, 443), (8000, 8100)], [])
    ranges, problems = M.parse_ports([22, 0, "x"])
    assert ranges == [(22, 22)] and len(problems) == 2
    assert all('accepted: a port from 1 to 65535 (443) or a "from-to" range' in p for p in problems)


# --- input validation ---------------------------------------------------------------------------------------------

def test_the_sandbox_input_is_accepted():
    assert M.input_problems(params()) == []
    assert M.input_problems(params(nat_gateways="per_az", availability_zones=AZS + ["us-east-1c"],
                                   public_subnets=["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"],
                                   private_subnets=["10.40.128.0/20", "10.40.144.0/20", "10.40.160.0/28"])) == []


def test_every_network_problem_is_found_at_once_with_what_is_accepted():
    problems = M.input_problems(params(name="bad name", cidr="10.40.0.1/16", availability_zones=["us-east-1a"],
                                       public_subnets=["10.40.0.0/20", "10.40.16.0/20"], private_subnets=["x"],
                                       tags={"Name": "n", "team": "platform"}, wait_timeout=0))
    text = "\n".join(problems)
    assert "name 'bad name' is not accepted; accepted: letters, digits" in text
    assert "cidr 10.40.0.1/16 has host bits set (its network is 10.40.0.0/16)" in text
    assert "availability_zones lists 1 zone(s); accepted: at least 2" in text
    assert "public_subnets has 2 CIDR(s) for 1 availability zone(s) (us-east-1a); accepted: one per zone" in text
    assert "private_subnets x (us-east-1a): 'x' is not a CIDR" in text
    assert "tags sets Name; accepted: any other key" in text
    assert "wait_timeout 0 is not accepted; accepted: at least 1 second" in text
    assert len(problems) == 7, problems


@pytest.mark.parametrize("over, expected", [
    ({"cidr": "10.0.0.0/8"}, "cidr 10.0.0.0/8 is not accepted; accepted: an IPv4 CIDR from /16 to /24"),
    ({"cidr": "10.40.0.0/25"}, "accepted: an IPv4 CIDR from /16 to /24"),
    ({"cidr": "fd00::/56"}, "cidr fd00::/56 is not accepted"),
    ({"availability_zones": ["us-east-1a", "us-east-1a"]}, "availability_zones lists us-east-1a more than once"),
    ({"public_subnets": ["10.41.0.0/20", "10.40.16.0/20"]},
     "public_subnets 10.41.0.0/20 (us-east-1a) lies outside the VPC cidr 10.40.0.0/16"),
    ({"private_subnets": ["10.40.8.0/24", "10.40.144.0/20"]},
     "private_subnets 10.40.8.0/24 (us-east-1a) overlaps public_subnets 10.40.0.0/20 (us-east-1a)"),
    ({"public_subnets": ["10.40.0.0/20", "10.40.0.0/20"]}, "public_subnets 10.40.0.0/20 (us-east-1b) overlaps"),
    ({"public_subnets": ["10.40.0.0/29", "10.40.16.0/20"]}, "accepted: an IPv4 CIDR from /16 to /28"),
    ({"private_subnets": ["10.40.128.0/20"]}, "private_subnets has 1 CIDR(s) for 2 availability zone(s)"),
])
def test_a_network_problem_says_what_is_wrong_and_what_is_accepted(over, expected):
    problems = M.input_problems(params(**over))
    assert any(expected in p for p in problems), problems


def test_every_security_group_problem_is_found_at_once():
    groups = [group("alb", {"ports": [443, 70000], "cidrs": ["0.0.0.0/0", "10.0.0.1/8", "2001:db8::/32"]}),
              group("alb", {"ports": [], "protocol": "icmp"}),
              group("sg-web", {"ports": ["8000-8100"], "from_groups": ["alb", "web"], "description": "tab\there"}),
              group("db", {"ports": [5432], "from_groups": ["db"]}, description="Database é")]
    problems = M.input_problems(params(security_groups=groups))
    text = "\n".join(problems)
    assert "security_groups names alb more than once; accepted: a unique name per group" in text
    assert "security group alb, ingress rule 1: port 70000 is outside 1-65535" in text
    assert "security group alb, ingress rule 1: cidrs 10.0.0.1/8 has host bits set (its network is 10.0.0.0/8)" in text
    assert "security group alb, ingress rule 1 gives no ports" in text
    assert "security group alb, ingress rule 1: protocol 'icmp' is not accepted; accepted: tcp, udp" in text
    assert "security group alb, ingress rule 1 has neither cidrs nor from_groups; accepted: at least one source" in text
    assert "security group name 'sg-web' is not accepted" in text and "not with sg-" in text
    assert ("security group sg-web, ingress rule 1: from_groups names 'web', which is not in security_groups;"
            " accepted: alb, alb, sg-web, db") in text
    assert "security group sg-web, ingress rule 1: description 'tab\\there' has characters or a length AWS refuses" in text
    assert "security group db: description 'Database é' has characters" in text
    assert "2001:db8::/32" not in text  # an IPv6 source is fine, and a group may admit itself (db from db)
    assert len(problems) == 10, problems


# --- security group rules -----------------------------------------------------------------------------------------

def test_desired_rules_expand_ports_times_sources():
    g = group("alb", {"ports": [80, "443"], "cidrs": ["0.0.0.0/0", "2001:DB8::/32"], "description": "web"},
              {"ports": ["8000-8100"], "protocol": "udp", "from_groups": ["app"]})
    assert M.desired_rules(g) == {
        ("tcp", 80, 80, "0.0.0.0/0"): "web", ("tcp", 80, 80, "2001:db8::/32"): "web",
        ("tcp", 443, 443, "0.0.0.0/0"): "web", ("tcp", 443, 443, "2001:db8::/32"): "web",
        ("udp", 8000, 8100, "group:app"): None}


def test_existing_rules_name_our_groups_and_keep_foreign_sources():
    perms = [{"IpProtocol": "tcp", "FromPort": 3000, "ToPort": 3000,
              "UserIdGroupPairs": [{"GroupId": "sg-alb", "UserId": "1"}, {"GroupId": "sg-other", "UserId": "1"}]},
             {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "w"}],
              "Ipv6Ranges": [{"CidrIpv6": "::/0"}], "PrefixListIds": [{"PrefixListId": "pl-1"}]},
             {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
    assert M.existing_rules(perms, {"sg-alb": "alb"}) == {
        ("tcp", 3000, 3000, "group:alb"): None, ("tcp", 3000, 3000, "group:sg-other"): None,
        ("tcp", 443, 443, "0.0.0.0/0"): "w", ("tcp", 443, 443, "::/0"): None, ("tcp", 443, 443, "prefix:pl-1"): None,
        ("-1", None, None, "10.0.0.0/8"): None}


def test_rule_diff_authorizes_the_missing_revokes_the_extra_and_redescribes():
    desired = {("tcp", 80, 80, "0.0.0.0/0"): None, ("tcp", 80, 80, "::/0"): None, ("tcp", 443, 443, "0.0.0.0/0"): "web",
               ("tcp", 3000, 3000, "group:alb"): "from alb"}
    existing = {("tcp", 80, 80, "0.0.0.0/0"): "old", ("tcp", 443, 443, "0.0.0.0/0"): "old",
                ("tcp", 3000, 3000, "group:alb"): "from alb", ("tcp", 22, 22, "0.0.0.0/0"): None,
                ("tcp", 3000, 3000, "group:sg-foreign"): None, ("-1", None, None, "10.0.0.0/8"): None}
    authorize, revoke, describe = M.rule_changes(desired, existing)
    assert authorize == [("tcp", 80, 80, "::/0")]
    assert revoke == [("-1", None, None, "10.0.0.0/8"), ("tcp", 22, 22, "0.0.0.0/0"),
                      ("tcp", 3000, 3000, "group:sg-foreign")]
    assert describe == [("tcp", 443, 443, "0.0.0.0/0")]  # a rule given no description keeps the one it has
    assert M.rule_changes(desired, dict(desired)) == ([], [], [])


def test_rule_text_reads_as_a_sentence():
    assert M.rule_text(("tcp", 3000, 3000, "group:alb")) == "tcp 3000 from group alb"
    assert M.rule_text(("udp", 8000, 8100, "::/0")) == "udp 8000-8100 from ::/0"
    assert M.rule_text(("-1", None, None, "10.0.0.0/8")) == "all traffic from 10.0.0.0/8"
    assert M.rule_text(("icmp", 8, -1, "prefix:pl-1")) == "icmp type 8 code -1 from prefix list pl-1"


def test_permissions_group_by_ports_and_resolve_group_ids():
    rules = [("tcp", 443, 443, "::/0"), ("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 3000, 3000, "group:alb"),
             ("tcp", 3000, 3000, "group:sg-foreign"), ("-1", None, None, "prefix:pl-1")]
    perms = M.permissions(rules, {("tcp", 443, 443, "::/0"): "web"}, {"alb": "sg-123"})
    assert perms == [
        {"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": "pl-1"}]},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "web"}]},
        {"IpProtocol": "tcp", "FromPort": 3000, "ToPort": 3000,
         "UserIdGroupPairs": [{"GroupId": "sg-123"}, {"GroupId": "sg-foreign"}]}]


# --- planning -----------------------------------------------------------------------------------------------------

def tags(name, **extra):
    return [{"Key": k, "Value": v} for k, v in dict({"managed-by": "directfanz.launch", "launch-network": NAME,
                                                     "Name": name, "environment": "sandbox"}, **extra).items()]


EMPTY = {"vpc": None, "dns": {}, "igw": None, "subnets": [], "route_tables": [], "nats": [], "addresses": [], "groups": []}


def built(nat_state="available"):
    """What a finished single-NAT run leaves in AWS (hand-made, in the shapes describe_* return)."""
    subnets = [{"SubnetId": "subnet-%s-%s" % (kind, az[-1]), "CidrBlock": cidr, "AvailabilityZone": az,
                "MapPublicIpOnLaunch": False, "Tags": tags("%s-%s-%s" % (NAME, kind, az))}
               for kind, cidrs in (("public", ["10.40.0.0/20", "10.40.16.0/20"]),
                                   ("private", ["10.40.128.0/20", "10.40.144.0/20"]))
               for az, cidr in zip(AZS, cidrs)]  # noqa: B905

    def table(rid, name, kind, route):
        return {"RouteTableId": rid, "Tags": tags(name), "Routes": [dict({"DestinationCidrBlock": "0.0.0.0/0",
                                                                          "State": "active"}, **route)],
                "Associations": [{"RouteTableAssociationId": "a-%s-%s" % (kind, az[-1]), "Main": False,
                                  "SubnetId": "subnet-%s-%s" % (kind, az[-1])} for az in AZS]}
    sg_ids = {"alb": "sg-alb", "app": "sg-app", "db": "sg-db", "cache": "sg-cache"}
    perms = {"alb": [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                      "Ipv6Ranges": [{"CidrIpv6": "::/0"}]} for port in (80, 443)],
             "app": [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": "sg-alb"}]}
                     for port in (3000, 8080)],
             "db": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": "sg-app"}]}],
             "cache": [{"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379,
                        "UserIdGroupPairs": [{"GroupId": "sg-app"}]}]}
    return {"vpc": {"VpcId": "vpc-1", "CidrBlock": "10.40.0.0/16", "Tags": tags(NAME)},
            "dns": {"EnableDnsSupport": True, "EnableDnsHostnames": True},
            "igw": {"InternetGatewayId": "igw-1", "Attachments": [{"VpcId": "vpc-1"}], "Tags": tags(NAME + "-igw")},
            "subnets": subnets,
            "route_tables": [table("rtb-pub", NAME + "-public", "public", {"GatewayId": "igw-1"}),
                             table("rtb-priv", NAME + "-private", "private", {"NatGatewayId": "nat-1"}),
                             {"RouteTableId": "rtb-main", "Tags": [], "Routes": [],
                              "Associations": [{"Main": True, "RouteTableAssociationId": "a-main"}]}],
            "nats": [{"NatGatewayId": "nat-1", "State": nat_state, "SubnetId": "subnet-public-a",
                      "Tags": tags(NAME + "-nat-us-east-1a")}],
            "addresses": [{"AllocationId": "eipalloc-1", "AssociationId": "eipassoc-1",
                           "Tags": tags(NAME + "-nat-us-east-1a")}],
            "groups": [{"GroupId": "sg-default", "GroupName": "default", "IpPermissions": [], "Tags": []}]
            + [{"GroupId": sg_ids[g], "GroupName": "%s-%s" % (NAME, g), "Tags": tags("%s-%s" % (NAME, g)),
                "IpPermissions": perms[g], "Description": "x"} for g in sg_ids]}


def test_an_empty_account_gets_a_whole_plan_with_placeholders():
    plan = M.plan_network(params(), copy.deepcopy(EMPTY))
    assert plan.problems == [] and plan.warnings == []
    actions = plan.actions
    assert actions[:3] == ["create vpc directfanz-sandbox 10.40.0.0/16", "create internet gateway directfanz-sandbox-igw",
                           "attach internet gateway directfanz-sandbox-igw to vpc directfanz-sandbox"]
    assert "create subnet directfanz-sandbox-public-us-east-1a 10.40.0.0/20" in actions
    assert "authorize app tcp 3000 from group alb" in actions and "authorize alb tcp 443 from ::/0" in actions
    assert ("route 0.0.0.0/0 in directfanz-sandbox-private to nat gateway directfanz-sandbox-nat-us-east-1a"
            in actions)
    ops = [s["op"] for s in plan.steps]
    # the NAT gateway is made early and waited for just before the private routes that need it
    assert ops.index("create_nat_gateway") < ops.index("create_security_group") < ops.index("wait_nat_gateways") \
        < ops.index("create_route_table", ops.index("wait_nat_gateways"))
    assert plan.ids["vpc"] == "(new vpc directfanz-sandbox)"
    nat = [s for s in plan.steps if s["op"] == "create_nat_gateway"][0]
    assert nat["subnet"] == "(new subnet directfanz-sandbox-public-us-east-1a)"
    assert nat["allocation"] == "(new elastic ip directfanz-sandbox-nat-us-east-1a)"
    assert nat["tags"] == {"managed-by": "directfanz.launch", "launch-network": NAME, "Name": NAME + "-nat-us-east-1a",
                           "environment": "sandbox"}
    out = M.outputs(params(), plan, lambda v: v)
    assert out["route_table_ids"] == {"public": "(new route table directfanz-sandbox-public)",
                                      "private": "(new route table directfanz-sandbox-private)"}
    assert M.diff_of(params(), EMPTY)["before"] == {}


def test_a_built_network_needs_no_step():
    state = built()
    plan = M.plan_network(params(), state)
    assert plan.steps == [] and plan.problems == [] and plan.warnings == []
    diff = M.diff_of(params(), state)
    assert diff["before"] == diff["after"] and diff["before"]["nat_gateways"] == "single"
    out = M.outputs(params(), plan, lambda v: v)
    assert out["public_subnet_ids"] == ["subnet-public-a", "subnet-public-b"] and out["nat_gateway_ids"] == ["nat-1"]
    assert out["security_group_ids"] == {"alb": "sg-alb", "app": "sg-app", "db": "sg-db", "cache": "sg-cache"}


def test_a_subnet_that_assigns_public_ips_gets_it_turned_off_as_a_planned_change():
    """Requirement 9.4: only the load balancer and the NAT gateways live in the public subnets, and neither needs a
    public IP on launch; a subnet found with it on (an older run of ours, or a hand change) is turned off."""
    state = built()
    for subnet in state["subnets"]:
        if subnet["SubnetId"] in ("subnet-public-a", "subnet-private-b"):
            subnet["MapPublicIpOnLaunch"] = True
    plan = M.plan_network(params(), state)
    assert plan.actions == ["disable MapPublicIpOnLaunch on subnet directfanz-sandbox-public-us-east-1a",
                            "disable MapPublicIpOnLaunch on subnet directfanz-sandbox-private-us-east-1b"]
    assert [(s["op"], s["subnet"]) for s in plan.steps] == [("unmap_public_ip", "subnet-public-a"),
                                                            ("unmap_public_ip", "subnet-private-b")]
    diff = M.diff_of(params(), state)
    assert diff["before"]["public_ip_on_launch"] == ["directfanz-sandbox-private-us-east-1b",
                                                     "directfanz-sandbox-public-us-east-1a"]
    assert diff["after"]["public_ip_on_launch"] == []


def test_a_new_public_subnet_is_made_without_public_ips_on_launch():
    plan = M.plan_network(params(), copy.deepcopy(EMPTY))
    assert not any("MapPublicIpOnLaunch" in text for text in plan.actions)
    assert [s for s in plan.steps if s["op"] == "create_subnet" and "public" in s] == []


def test_a_pending_nat_is_waited_for_but_is_no_change():
    plan = M.plan_network(params(), built(nat_state="pending"))
    assert plan.actions == [] and [s["op"] for s in plan.steps] == ["wait_nat_gateways"]


@pytest.mark.parametrize("dead", ["failed", "deleted"])
def test_a_dead_nat_is_replaced_reusing_its_free_elastic_ip(dead):
    state = built(nat_state=dead)
    state["addresses"][0].pop("AssociationId")
    plan = M.plan_network(params(), state)
    assert plan.actions == ["create nat gateway directfanz-sandbox-nat-us-east-1a in directfanz-sandbox-public-us-east-1a",
                            "replace route 0.0.0.0/0 in directfanz-sandbox-private (to nat-1) with one to nat gateway"
                            " directfanz-sandbox-nat-us-east-1a"]
    assert [s for s in plan.steps if s["op"] == "create_nat_gateway"][0]["allocation"] == "eipalloc-1"


def test_per_az_adds_a_nat_and_a_table_per_zone_and_warns_about_the_old_table():
    plan = M.plan_network(params(nat_gateways="per_az"), built())
    assert "create nat gateway directfanz-sandbox-nat-us-east-1b in directfanz-sandbox-public-us-east-1b" in plan.actions
    assert ("move subnet directfanz-sandbox-private-us-east-1a from route table directfanz-sandbox-private to"
            " directfanz-sandbox-private-us-east-1a") in plan.actions
    assert plan.ids["nat:us-east-1a"] == "nat-1"  # the first zone keeps its NAT gateway
    assert any("route table directfanz-sandbox-private (rtb-priv) is no longer used" in w for w in plan.warnings)


def test_none_removes_the_default_route_and_warns_about_the_nat():
    plan = M.plan_network(params(nat_gateways="none"), built())
    assert plan.actions == ["remove route 0.0.0.0/0 from directfanz-sandbox-private (nat_gateways=none)"]
    assert any("nat gateway directfanz-sandbox-nat-us-east-1a (nat-1) is no longer used" in w for w in plan.warnings)


def test_a_removed_port_and_a_foreign_rule_are_revoked_and_nothing_else():
    state = built()
    db = [g for g in state["groups"] if g["GroupId"] == "sg-db"][0]
    db["IpPermissions"].append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    p = params()
    p["security_groups"][1]["ingress"][0]["ports"] = [3000]
    plan = M.plan_network(p, state)
    assert plan.actions == ["revoke app tcp 8080 from group alb", "revoke db tcp 22 from 0.0.0.0/0"]
    revoke = plan.steps[0]
    assert M.permissions(revoke["rules"], revoke["descriptions"], revoke["group_ids"]) == [
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": "sg-alb"}]}]


def test_new_tags_are_added_in_one_call():
    plan = M.plan_network(params(tags={"environment": "sandbox", "team": "platform"}), built())
    assert [s["op"] for s in plan.steps] == ["create_tags"]
    assert len(plan.steps[0]["resources"]) == 14 and plan.steps[0]["tags"] == {"team": "platform"}
    assert "tag subnet directfanz-sandbox-public-us-east-1a with team=platform" in plan.actions


def test_what_cannot_change_in_place_is_refused_naming_it():
    state = built()
    state["vpc"]["CidrBlock"] = "10.41.0.0/16"
    state["subnets"][0]["CidrBlock"] = "10.40.0.0/21"
    state["groups"].append({"GroupId": "sg-hand", "GroupName": NAME + "-queue", "Tags": [], "IpPermissions": []})
    state["subnets"].append({"SubnetId": "subnet-hand", "CidrBlock": "10.40.200.0/24", "AvailabilityZone": "us-east-1a",
                             "Tags": [{"Key": "Name", "Value": "by-hand"}]})
    p = params(security_groups=params()["security_groups"] + [group("queue", {"ports": [5672], "from_groups": ["app"]})])
    p["availability_zones"] = AZS + ["us-east-1c"]
    p["public_subnets"].append("10.40.32.0/20")
    p["private_subnets"].append("10.40.192.0/18")
    problems = "\n".join(M.plan_network(p, state).problems)
    assert ("vpc directfanz-sandbox (vpc-1) has CIDR 10.41.0.0/16 but the task asks for 10.40.0.0/16; a VPC's CIDR cannot"
            " be changed in place: put cidr back to 10.41.0.0/16") in problems
    assert ("subnet directfanz-sandbox-public-us-east-1a (subnet-public-a) is 10.40.0.0/21 in us-east-1a but the task"
            " asks for 10.40.0.0/20 in us-east-1a; a subnet's CIDR and zone cannot be changed") in problems
    assert ("subnet directfanz-sandbox-private-us-east-1c cannot be made: subnet-hand (10.40.200.0/24, Name by-hand)"
            " already holds addresses of 10.40.192.0/18") in problems
    assert ("security group directfanz-sandbox-queue (sg-hand) exists in the VPC but was not made by directfanz.launch"
            in problems)


def test_nat_mode_is_read_from_the_private_routes():
    state = built()
    assert M.nat_mode_of(params(), state) == "single"
    state["route_tables"][1]["Routes"] = []
    assert M.nat_mode_of(params(), state) == "none"
