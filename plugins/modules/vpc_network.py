#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vpc_network
short_description: A whole VPC network - subnets, gateways, routes, security groups - planned and applied in one call
version_added: 0.2.0
description:
  - Makes a VPC network what the task says, in one invocation - the VPC (DNS support and DNS host names on), an
    internet gateway attached to it, public subnets sharing one route table whose default
    route goes to the internet gateway, NAT gateways with their own Elastic IPs, private subnets whose route
    table(s) send their default route to a NAT gateway, and security groups with exactly the listed ingress rules.
  - Why one module instead of amazon.aws's C(ec2_vpc_net), C(ec2_vpc_subnet), C(ec2_vpc_igw),
    C(ec2_vpc_nat_gateway), C(ec2_vpc_route_table) and C(ec2_security_group) - built with those, the network phase
    took 15 tasks and 43 s against moto, and C(--check) on an empty account failed, because each task needs the ids
    the previous one made. This module reads everything, plans every change (with placeholder ids for what does not
    exist yet) and then applies the plan, so check mode is truthful on an empty account and a run costs one module
    start - about ten times faster.
  - Every resource is found again by the tags C(managed-by=directfanz.launch) and C(launch-network=<name>) and its
    C(Name) tag (which starts with O(name)), never by its CIDR alone, so a second run finds what the first made and
    reports no change, without a single write.
  - A VPC or subnet whose CIDR or zone differs from the task cannot be changed in place - the module fails naming it
    and says what to do, before changing anything. It never deletes a subnet, a NAT gateway, a route table or a
    security group; NAT gateways the network no longer uses are reported as warnings (they cost money).
  - A NAT gateway that is C(failed) or C(deleted) is ignored and replaced (reusing its free Elastic IP); a new NAT
    gateway is waited for, up to O(wait_timeout), until it is C(available) before a route points to it.
  - No subnet assigns public IPv4 addresses on launch (C(MapPublicIpOnLaunch) false), public ones included - only
    the load balancer (its own addresses) and the NAT gateways (their Elastic IPs) live there, and neither needs it; a
    subnet found with it on gets it turned off, as a planned change. Anything that really needs a public address
    must ask for it itself (an ENI's C(AssociatePublicIpAddress)).
  - Egress rules are not managed - every group keeps AWS's default egress rule, which allows all outbound traffic.
    The ingress rules of a listed group are exactly the listed ones - any other ingress rule is revoked.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description:
      - Names the network. It is the value of the C(launch-network) tag on every resource and the prefix of every
        C(Name) tag (C(<name>), C(<name>-igw), C(<name>-public-<zone>), C(<name>-private-<zone>),
        C(<name>-nat-<zone>), C(<name>-public), C(<name>-private), C(<name>-<group>)).
      - Letters, digits, C(.), C(_) and C(-), starting with a letter or digit.
    type: str
    required: true
  cidr:
    description: The VPC's IPv4 CIDR, from C(/16) to C(/24), for example C(10.40.0.0/16).
    type: str
    required: true
  availability_zones:
    description: The zones the network spans, at least 2, for example C([us-east-1a, us-east-1b]).
    type: list
    elements: str
    required: true
  public_subnets:
    description: One CIDR per zone, in the order of O(availability_zones), inside O(cidr), overlapping no other subnet.
    type: list
    elements: str
    required: true
  private_subnets:
    description: One CIDR per zone, in the order of O(availability_zones), inside O(cidr), overlapping no other subnet.
    type: list
    elements: str
    required: true
  nat_gateways:
    description:
      - C(single) makes one NAT gateway in the first public subnet and every private subnet routes through it.
      - C(per_az) makes one NAT gateway per zone and one private route table per zone, so a zone's outage does not
        cut the others off.
      - C(none) makes no NAT gateway; the private subnets have no route to the internet.
    type: str
    choices: [none, single, per_az]
    default: single
  security_groups:
    description: Security groups in the VPC and their ingress rules. Groups not listed are left alone.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Short name of the group, unique in the list; the group is called C(<name>-<this>) in AWS.
        type: str
        required: true
      description:
        description: Description of a new group (AWS cannot change it later). Defaults to one naming the network.
        type: str
      ingress:
        description: The group's ingress rules, exactly; any other ingress rule on the group is revoked.
        type: list
        elements: dict
        default: []
        suboptions:
          ports:
            description: Ports, each a number (C(443)) or a C(from-to) range (C("8000-8100")), from 1 to 65535.
            type: list
            elements: raw
            required: true
          protocol:
            description: The protocol of the ports.
            type: str
            choices: [tcp, udp]
            default: tcp
          cidrs:
            description: Source networks, IPv4 or IPv6 CIDRs, for example C(0.0.0.0/0) and C(::/0).
            type: list
            elements: str
            default: []
          from_groups:
            description: Source groups, by their short names in O(security_groups) (the group itself is allowed).
            type: list
            elements: str
            default: []
          description:
            description: Description of each rule this entry makes; when given, a rule with another one is updated.
            type: str
  tags:
    description: Tags added to every resource. C(Name), C(managed-by) and C(launch-network) are set by the module.
    type: dict
    default: {}
  state:
    description: Only C(present) - the module makes and keeps the network; it does not delete one.
    type: str
    choices: [present]
    default: present
  wait_timeout:
    description: Seconds to wait for new NAT gateways to become C(available) (they usually take 1-3 minutes).
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and returns the plan in RV(actions), with placeholder ids for what does not exist yet; creates,
        changes and waits for nothing, also on an empty account.
  diff_mode:
    support: full
    description:
      - Shows the VPC CIDR, the subnets, the NAT mode and every group's ingress rules, as they are and as they
        would be.
"""

EXAMPLES = r"""
- name: The sandbox network, two zones, one NAT gateway
  directfanz.launch.vpc_network:
    name: directfanz-sandbox
    cidr: 10.40.0.0/16
    availability_zones: [us-east-1a, us-east-1b]
    public_subnets: [10.40.0.0/20, 10.40.16.0/20]
    private_subnets: [10.40.128.0/20, 10.40.144.0/20]
    nat_gateways: single
    security_groups:
      - name: alb
        description: Load balancer, open to the internet
        ingress:
          - ports: [80, 443]
            cidrs: [0.0.0.0/0, "::/0"]
      - name: app
        ingress:
          - ports: [3000, 8080]
            from_groups: [alb]
            description: from the load balancer
      - name: db
        ingress:
          - ports: [5432]
            from_groups: [app]
      - name: cache
        ingress:
          - ports: ["6379"]
            from_groups: [app]
    tags:
      environment: sandbox
  register: network

- name: Production, a NAT gateway per zone
  directfanz.launch.vpc_network:
    name: directfanz-production
    cidr: 10.50.0.0/16
    availability_zones: [us-east-1a, us-east-1b, us-east-1c]
    public_subnets: [10.50.0.0/20, 10.50.16.0/20, 10.50.32.0/20]
    private_subnets: [10.50.128.0/20, 10.50.144.0/20, 10.50.160.0/20]
    nat_gateways: per_az
    security_groups:
      - name: alb
        ingress:
          - ports: [443]
            cidrs: [0.0.0.0/0, "::/0"]
      - name: app
        ingress:
          - ports: ["3000-3010"]
            from_groups: [alb]
"""

RETURN = r"""
vpc_id:
  description: Id of the VPC (a placeholder in check mode before it exists).
  returned: always
  type: str
  sample: vpc-0a1b2c3d4e5f67890
internet_gateway_id:
  description: Id of the internet gateway attached to the VPC.
  returned: always
  type: str
  sample: igw-0a1b2c3d4e5f67890
public_subnet_ids:
  description: Ids of the public subnets, in the order of O(availability_zones).
  returned: always
  type: list
  elements: str
private_subnet_ids:
  description: Ids of the private subnets, in the order of O(availability_zones).
  returned: always
  type: list
  elements: str
nat_gateway_ids:
  description: Ids of the NAT gateways in use, in zone order (one with C(single), one per zone with C(per_az)).
  returned: always
  type: list
  elements: str
route_table_ids:
  description:
    - Ids of the route tables - C(public), and C(private) (with O(nat_gateways=single) or C(none)) or
      C(private-<zone>) for each zone (with C(per_az)).
  returned: always
  type: dict
  sample: {"public": "rtb-0a1b2c3d4e5f67890", "private": "rtb-0f1e2d3c4b5a69870"}
security_group_ids:
  description: Id of each listed security group, by its short name.
  returned: always
  type: dict
  sample: {"alb": "sg-0a1b2c3d4e5f67890", "app": "sg-0f1e2d3c4b5a69870"}
actions:
  description: What was done (or in check mode would be done), one readable line per change; empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["create vpc directfanz-sandbox 10.40.0.0/16", "authorize app tcp 3000 from group alb"]
"""

import ipaddress
import re
import time
import uuid

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan, apply, finish, refuse

MANAGED_TAG = ("managed-by", "directfanz.launch")
NETWORK_TAG = "launch-network"
RESERVED_TAGS = ("Name", MANAGED_TAG[0], NETWORK_TAG)
# Just-made resources are not visible to every endpoint at once: these "not found" answers are retried.
RETRY_CODES = ["InvalidVpcID.NotFound", "InvalidSubnetID.NotFound", "InvalidGroup.NotFound",
               "InvalidNatGatewayID.NotFound"]
LIVE_NAT_STATES = ("pending", "available")
DEAD_NAT_STATES = ("failed", "deleting", "deleted")
ANYWHERE = "0.0.0.0/0"
ID_KEYS = {"vpc": "VpcId", "internet gateway": "InternetGatewayId", "subnet": "SubnetId", "route table": "RouteTableId",
           "nat gateway": "NatGatewayId", "elastic ip": "AllocationId", "security group": "GroupId"}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
AWS_TEXT_RE = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$")
AWS_TEXT = "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*, at most 255 characters"
PORT_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
PORTS_ACCEPTED = 'a port from 1 to 65535 (443) or a "from-to" range ("8000-8100")'


# ---------------------------------------------------------------------------------------------------------------
# Validation (no API call)

def parse_port(value):
    """One port spec - 443, "443" or "8000-8100" - as (from, to); ValueError saying what is wrong otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("port %r is not a number or a range" % (value,))
    if isinstance(value, int):
        low = high = value
    else:
        match = PORT_RE.match(value)
        if not match:
            raise ValueError("port %r is not a number or a range" % (value,))
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if not 1 <= low <= 65535 or not 1 <= high <= 65535:
        raise ValueError("port %r is outside 1-65535" % (value,))
    if low > high:
        raise ValueError("port range %r runs backwards" % (value,))
    return low, high


def parse_ports(values):
    """Every port spec of a rule as sorted distinct (from, to) ranges, and the problems found."""
    ranges, problems = set(), []
    for value in values or []:
        try:
            ranges.add(parse_port(value))
        except ValueError as exc:
            problems.append("%s; accepted: %s" % (exc, PORTS_ACCEPTED))
    return sorted(ranges), problems


def strict_network(text):
    """The network a CIDR names, refusing a bare address and set host bits (AWS would refuse or reinterpret)."""
    if not isinstance(text, str) or "/" not in text:
        raise ValueError("%r is not a CIDR (address/prefix)" % (text,))
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ValueError("%r is not a CIDR" % (text,))
        raise ValueError("%s has host bits set (its network is %s)" % (text, loose))


def canonical_cidr(text):
    """A CIDR as AWS writes it back (compressed, lower case); text that is no CIDR is returned as it is."""
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


def _text_problem(what, text):
    if text is not None and (len(text) > 255 or not AWS_TEXT_RE.match(text)):
        return "%s %r has characters or a length AWS refuses; accepted: %s" % (what, text, AWS_TEXT)
    return None


def network_problems(p):
    problems = []
    name = p["name"] or ""
    if not NAME_RE.match(name) or len(name) > 200:
        problems.append("name %r is not accepted; accepted: letters, digits, '.', '_' and '-', starting with a letter"
                        " or digit, at most 200 characters" % name)
    vpc = None
    try:
        vpc = strict_network(p["cidr"])
        if vpc.version != 4 or not 16 <= vpc.prefixlen <= 24:
            problems.append("cidr %s is not accepted; accepted: an IPv4 CIDR from /16 to /24 such as 10.40.0.0/16"
                            % p["cidr"])
            vpc = None
    except ValueError as exc:
        problems.append("cidr %s; accepted: an IPv4 CIDR from /16 to /24 such as 10.40.0.0/16" % exc)
    azs = p["availability_zones"] or []
    if len(azs) < 2:
        problems.append("availability_zones lists %d zone(s); accepted: at least 2 (a load balancer and a highly"
                        " available database need two)" % len(azs))
    repeated = sorted(set(z for z in azs if azs.count(z) > 1))
    if repeated:
        problems.append("availability_zones lists %s more than once; accepted: each zone once" % ", ".join(repeated))

    subnets = []
    for kind in ("public_subnets", "private_subnets"):
        cidrs = p[kind] or []
        if len(cidrs) != len(azs):
            problems.append("%s has %d CIDR(s) for %d availability zone(s) (%s); accepted: one per zone, in the same"
                            " order" % (kind, len(cidrs), len(azs), ", ".join(azs)))
        for index, cidr in enumerate(cidrs):
            where = "%s %s (%s)" % (kind, cidr, azs[index] if index < len(azs) else "no zone")
            try:
                net = strict_network(cidr)
            except ValueError as exc:
                problems.append("%s: %s; accepted: an IPv4 CIDR from /16 to /28 inside cidr" % (where, exc))
                continue
            if net.version != 4 or not 16 <= net.prefixlen <= 28:
                problems.append("%s is not accepted; accepted: an IPv4 CIDR from /16 to /28 (AWS's subnet sizes)"
                                % where)
                continue
            if vpc is not None and not net.subnet_of(vpc):
                problems.append("%s lies outside the VPC cidr %s; accepted: a CIDR inside it" % (where, vpc))
            subnets.append((where, net))
    for i, (where, net) in enumerate(subnets):
        for other_where, other in subnets[i + 1:]:
            if net.overlaps(other):
                problems.append("%s overlaps %s; accepted: subnets that share no address" % (other_where, where))

    reserved = sorted(k for k in (p["tags"] or {}) if k in RESERVED_TAGS)
    if reserved:
        problems.append("tags sets %s; accepted: any other key (the module sets Name, managed-by and launch-network)"
                        % ", ".join(reserved))
    if p["wait_timeout"] is not None and p["wait_timeout"] < 1:
        problems.append("wait_timeout %d is not accepted; accepted: at least 1 second" % p["wait_timeout"])
    return problems


def group_problems(p):
    problems = []
    groups = p["security_groups"] or []
    names = [g["name"] for g in groups]
    repeated = sorted(set(n for n in names if names.count(n) > 1))
    if repeated:
        problems.append("security_groups names %s more than once; accepted: a unique name per group"
                        % ", ".join(repeated))
    for group in groups:
        gname = group["name"] or ""
        if not NAME_RE.match(gname) or gname.lower().startswith("sg-") or len("%s-%s" % (p["name"], gname)) > 255:
            problems.append("security group name %r is not accepted; accepted: letters, digits, '.', '_' and '-',"
                            " starting with a letter or digit, not with sg-" % gname)
        problem = _text_problem("security group %s: description" % gname, group.get("description"))
        if problem:
            problems.append(problem)
        for number, rule in enumerate(group.get("ingress") or [], 1):
            where = "security group %s, ingress rule %d" % (gname, number)
            if not rule.get("ports"):
                problems.append("%s gives no ports; accepted: %s, one or more" % (where, PORTS_ACCEPTED))
            problems.extend("%s: %s" % (where, problem) for problem in parse_ports(rule.get("ports"))[1])
            if rule.get("protocol", "tcp") not in ("tcp", "udp"):
                problems.append("%s: protocol %r is not accepted; accepted: tcp, udp" % (where, rule.get("protocol")))
            if not rule.get("cidrs") and not rule.get("from_groups"):
                problems.append("%s has neither cidrs nor from_groups; accepted: at least one source" % where)
            for cidr in rule.get("cidrs") or []:
                try:
                    strict_network(cidr)
                except ValueError as exc:
                    problems.append("%s: cidrs %s; accepted: IPv4 or IPv6 CIDRs such as 0.0.0.0/0, 10.0.0.0/8, ::/0"
                                    % (where, exc))
            for source in rule.get("from_groups") or []:
                if source not in names:
                    problems.append("%s: from_groups names %r, which is not in security_groups; accepted: %s"
                                    % (where, source, ", ".join(names)))
            problem = _text_problem("%s: description" % where, rule.get("description"))
            if problem:
                problems.append(problem)
    return problems


def input_problems(p):
    """Everything wrong with the task, found before any API call, so it fails once and says it all."""
    return network_problems(p) + group_problems(p)


# ---------------------------------------------------------------------------------------------------------------
# Security group rules: a rule is (protocol, from port, to port, source), source a CIDR, "group:<short name or
# id>" or "prefix:<prefix list id>"; the value is its description.

def rule_sort_key(rule):
    protocol, low, high, source = rule
    return (protocol, -1 if low is None else low, -1 if high is None else high, source)


def rule_text(rule):
    protocol, low, high, source = rule
    if protocol == "-1":
        what = "all traffic"
    elif protocol in ("icmp", "icmpv6", "1", "58"):
        what = "%s type %s code %s" % (protocol, low, high)
    elif low is None:
        what = protocol
    else:
        what = "%s %s" % (protocol, low if low == high else "%s-%s" % (low, high))
    if source.startswith("group:"):
        source = "group " + source[6:]
    elif source.startswith("prefix:"):
        source = "prefix list " + source[7:]
    return "%s from %s" % (what, source)


def desired_rules(group):
    """The rules a group of the task should have, with the description to give each (None: not compared)."""
    rules = {}
    for rule in group.get("ingress") or []:
        protocol = rule.get("protocol") or "tcp"
        sources = [canonical_cidr(c) for c in rule.get("cidrs") or []]
        sources += ["group:" + g for g in rule.get("from_groups") or []]
        for low, high in parse_ports(rule.get("ports"))[0]:
            for source in sources:
                rules[(protocol, low, high, source)] = rule.get("description")
    return rules


def existing_rules(permissions, group_names):
    """The rules in a group's IpPermissions; a referenced group of this network is named by its short name."""
    rules = {}
    for perm in permissions or []:
        protocol = str(perm.get("IpProtocol"))
        low, high = (None, None) if protocol == "-1" else (perm.get("FromPort"), perm.get("ToPort"))
        for entry in perm.get("IpRanges") or []:
            rules[(protocol, low, high, canonical_cidr(entry["CidrIp"]))] = entry.get("Description")
        for entry in perm.get("Ipv6Ranges") or []:
            rules[(protocol, low, high, canonical_cidr(entry["CidrIpv6"]))] = entry.get("Description")
        for entry in perm.get("UserIdGroupPairs") or []:
            group = group_names.get(entry.get("GroupId"), entry.get("GroupId"))
            rules[(protocol, low, high, "group:%s" % group)] = entry.get("Description")
        for entry in perm.get("PrefixListIds") or []:
            rules[(protocol, low, high, "prefix:%s" % entry["PrefixListId"])] = entry.get("Description")
    return rules


def rule_changes(desired, existing):
    """(rules to authorize, rules to revoke, rules whose description to set), each sorted."""
    authorize = sorted((r for r in desired if r not in existing), key=rule_sort_key)
    revoke = sorted((r for r in existing if r not in desired), key=rule_sort_key)
    describe = sorted((r for r in desired if r in existing and desired[r] is not None
                       and desired[r] != (existing[r] or "")), key=rule_sort_key)
    return authorize, revoke, describe


def permissions(rules, descriptions, group_ids):
    """IpPermissions for rules, one entry per (protocol, ports); group sources as ids (``group_ids``: short name ->
    id; a source that is already an id stays as it is)."""
    by_ports = {}
    for rule in sorted(rules, key=rule_sort_key):
        protocol, low, high, source = rule
        perm = by_ports.get((protocol, low, high))
        if perm is None:
            perm = {"IpProtocol": protocol}
            if low is not None:
                perm.update(FromPort=low, ToPort=high)
            by_ports[(protocol, low, high)] = perm
        entry = {}
        if source.startswith("group:"):
            entry["GroupId"] = group_ids.get(source[6:], source[6:])
            key = "UserIdGroupPairs"
        elif source.startswith("prefix:"):
            entry["PrefixListId"] = source[7:]
            key = "PrefixListIds"
        elif ":" in source:
            entry["CidrIpv6"] = source
            key = "Ipv6Ranges"
        else:
            entry["CidrIp"] = source
            key = "IpRanges"
        if descriptions.get(rule):
            entry["Description"] = descriptions[rule]
        perm.setdefault(key, []).append(entry)
    return [by_ports[k] for k in sorted(by_ports, key=lambda k: (k[0], -1 if k[1] is None else k[1]))]


# ---------------------------------------------------------------------------------------------------------------
# Planning (pure): the state read from AWS and the task in, the steps, ids and problems out.

def tags_of(resource):
    return dict((t["Key"], t["Value"]) for t in resource.get("Tags") or [])


def is_ours(resource, network, name=None):
    tags = tags_of(resource)
    return (tags.get(MANAGED_TAG[0]) == MANAGED_TAG[1] and tags.get(NETWORK_TAG) == network
            and (name is None or tags.get("Name") == name))


def full_tags(p, name):
    tags = dict((k, str(v)) for k, v in (p["tags"] or {}).items())
    tags.update({MANAGED_TAG[0]: MANAGED_TAG[1], NETWORK_TAG: p["name"], "Name": name})
    return tags


def subnet_name(p, kind, az):
    return "%s-%s-%s" % (p["name"], kind, az)


def nat_zones(p):
    azs = p["availability_zones"]
    return {"none": [], "single": azs[:1], "per_az": list(azs)}[p["nat_gateways"]]


def nat_name(p, az):
    return "%s-nat-%s" % (p["name"], az)


def private_tables(p):
    """The private route tables: (Name, key in route_table_ids, zones served, zone of the NAT or None)."""
    azs = p["availability_zones"]
    if p["nat_gateways"] == "per_az":
        return [("%s-private-%s" % (p["name"], az), "private-%s" % az, [az], az) for az in azs]
    return [("%s-private" % p["name"], "private", list(azs), azs[0] if p["nat_gateways"] == "single" else None)]


def live_nats(nats, network):
    """Our NAT gateways by Name that are, or are becoming, usable; a failed or deleted one counts as none."""
    out = {}
    for nat in sorted(nats, key=lambda n: str(n.get("CreateTime", ""))):
        if nat.get("State") in LIVE_NAT_STATES and is_ours(nat, network):
            out.setdefault(tags_of(nat).get("Name"), nat)
    return out


def free_addresses(addresses, network):
    """Allocation id of each of our Elastic IPs that no NAT gateway holds (left by a failed or deleted one), by Name."""
    return dict((tags_of(a).get("Name"), a["AllocationId"]) for a in addresses
                if is_ours(a, network) and not a.get("AssociationId"))


def association_of(route_tables, subnet_id):
    """(association id, route table id) of the subnet's explicit association, or None."""
    for table in route_tables:
        for assoc in table.get("Associations") or []:
            if assoc.get("SubnetId") == subnet_id and not assoc.get("Main"):
                return assoc["RouteTableAssociationId"], table["RouteTableId"]
    return None


def default_route(table):
    for route in (table or {}).get("Routes") or []:
        if route.get("DestinationCidrBlock") == ANYWHERE:
            return route
    return None


def plan_vpc(p, state, plan):
    vpc = state["vpc"]
    if vpc is None:
        plan.ids["vpc"] = plan.add("create_vpc", "create vpc %s %s" % (p["name"], p["cidr"]), out="vpc " + p["name"],
                                   cidr=p["cidr"], tags=full_tags(p, p["name"]))
        return
    plan.ids["vpc"] = vpc["VpcId"]
    if vpc["CidrBlock"] != p["cidr"]:
        plan.problems.append("vpc %s (%s) has CIDR %s but the task asks for %s; a VPC's CIDR cannot be changed in"
                             " place: put cidr back to %s, or move what runs in it, delete the network and run again"
                             % (p["name"], vpc["VpcId"], vpc["CidrBlock"], p["cidr"], vpc["CidrBlock"]))
    for attribute in ("EnableDnsSupport", "EnableDnsHostnames"):
        if not state["dns"].get(attribute):
            plan.add("set_vpc_attribute", "enable %s on vpc %s" % (attribute, p["name"]), vpc=vpc["VpcId"],
                     attribute=attribute)


def plan_internet_gateway(p, state, plan):
    name = p["name"] + "-igw"
    igw = state["igw"]
    if igw is None:
        plan.ids["igw"] = plan.add("create_internet_gateway", "create internet gateway %s" % name,
                                   out="internet gateway " + name, tags=full_tags(p, name))
    else:
        plan.ids["igw"] = igw["InternetGatewayId"]
    if igw is None or not any(a.get("VpcId") == plan.ids["vpc"] for a in igw.get("Attachments") or []):
        plan.add("attach_internet_gateway", "attach internet gateway %s to vpc %s" % (name, p["name"]),
                 igw=plan.ids["igw"], vpc=plan.ids["vpc"])


def plan_subnets(p, state, plan):
    ours = dict((tags_of(s).get("Name"), s) for s in state["subnets"] if is_ours(s, p["name"]))
    for kind in ("public", "private"):
        for az, cidr in zip(p["availability_zones"], p[kind + "_subnets"]):  # noqa: B905 - lengths validated
            name = subnet_name(p, kind, az)
            subnet = ours.get(name)
            if subnet is not None:
                plan.ids["subnet:" + name] = subnet["SubnetId"]
                if (subnet["CidrBlock"], subnet["AvailabilityZone"]) != (cidr, az):
                    plan.problems.append(
                        "subnet %s (%s) is %s in %s but the task asks for %s in %s; a subnet's CIDR and zone cannot be"
                        " changed: put %s_subnets back to %s, or move what runs in it, delete the subnet and run"
                        " again" % (name, subnet["SubnetId"], subnet["CidrBlock"], subnet["AvailabilityZone"], cidr,
                                    az, kind, subnet["CidrBlock"]))
                elif subnet.get("MapPublicIpOnLaunch"):
                    # Requirement 9.4: nothing in our subnets gets a public address it did not ask for.
                    plan.add("unmap_public_ip", "disable MapPublicIpOnLaunch on subnet %s" % name,
                             subnet=subnet["SubnetId"])
                continue
            wanted = ipaddress.ip_network(cidr)
            for other in state["subnets"]:
                if other is not subnet and wanted.overlaps(ipaddress.ip_network(other["CidrBlock"])):
                    plan.problems.append(
                        "subnet %s cannot be made: %s (%s%s) already holds addresses of %s in the VPC; choose another"
                        " CIDR or delete that subnet" % (name, other["SubnetId"], other["CidrBlock"],
                                                         ", Name " + tags_of(other)["Name"]
                                                         if tags_of(other).get("Name") else "", cidr))
            plan.ids["subnet:" + name] = plan.add("create_subnet", "create subnet %s %s" % (name, cidr),
                                                  out="subnet " + name, vpc=plan.ids["vpc"], cidr=cidr, az=az,
                                                  tags=full_tags(p, name))


def plan_nat_gateways(p, state, plan):
    """Elastic IPs and NAT gateways to make; returns the NAT gateways to wait for before routing to them."""
    live = live_nats(state["nats"], p["name"])
    free = free_addresses(state["addresses"], p["name"])
    waits = []
    for az in nat_zones(p):
        name = nat_name(p, az)
        nat = live.get(name)
        if nat is not None:
            plan.ids["nat:" + az] = nat["NatGatewayId"]
            if nat["State"] != "available":
                waits.append(nat["NatGatewayId"])
            continue
        allocation = free.get(name)
        if allocation is None:
            allocation = plan.add("allocate_address", "allocate elastic ip %s" % name, out="elastic ip " + name,
                                  tags=full_tags(p, name))
        subnet = subnet_name(p, "public", az)
        plan.ids["nat:" + az] = plan.add("create_nat_gateway", "create nat gateway %s in %s" % (name, subnet),
                                         out="nat gateway " + name, subnet=plan.ids["subnet:" + subnet],
                                         allocation=allocation, tags=full_tags(p, name))
        waits.append(plan.ids["nat:" + az])
    wanted = set(nat_name(p, az) for az in nat_zones(p))
    for name, nat in sorted(live.items()):
        if name not in wanted:
            plan.warnings.append("nat gateway %s (%s) is no longer used by network %s (nat_gateways=%s); delete it and"
                                 " release its elastic ip to stop paying for it"
                                 % (name, nat["NatGatewayId"], p["name"], p["nat_gateways"]))
    return waits


def plan_route_table(p, state, plan, name, key, zones, kind, target, label):
    """One route table: made if missing, its default route to ``target`` (``kind`` GatewayId or NatGatewayId; None
    for no default route), associated with the subnets of ``kind`` in ``zones``."""
    tables = [t for t in state["route_tables"] if is_ours(t, p["name"], name)]
    table = tables[0] if tables else None
    if table is None:
        rtb = plan.add("create_route_table", "create route table %s" % name, out="route table " + name,
                       vpc=plan.ids["vpc"], tags=full_tags(p, name))
    else:
        rtb = table["RouteTableId"]
    plan.ids["rtb:" + key] = rtb
    route = default_route(table)
    if target is not None:
        target_kind, target_id = target
        if route is None:
            plan.add("create_route", "route %s in %s to %s" % (ANYWHERE, name, label), table=rtb,
                     target={target_kind: target_id})
        elif route.get(target_kind) != target_id or route.get("State") == "blackhole":
            plan.add("replace_route", "replace route %s in %s (to %s) with one to %s"
                     % (ANYWHERE, name, route.get("NatGatewayId") or route.get("GatewayId") or "nowhere", label),
                     table=rtb, target={target_kind: target_id})
    elif route is not None and route.get("NatGatewayId"):
        plan.add("delete_route", "remove route %s from %s (nat_gateways=none)" % (ANYWHERE, name), table=rtb)
    for az in zones:
        subnet = subnet_name(p, kind, az)
        subnet_id = plan.ids["subnet:" + subnet]
        assoc = association_of(state["route_tables"], subnet_id)
        if assoc is None:
            plan.add("associate_route_table", "associate route table %s with subnet %s" % (name, subnet), table=rtb,
                     subnet=subnet_id)
        elif assoc[1] != rtb:
            names = dict((t["RouteTableId"], tags_of(t).get("Name") or t["RouteTableId"]) for t in state["route_tables"])
            plan.add("replace_association", "move subnet %s from route table %s to %s" % (subnet, names[assoc[1]], name),
                     association=assoc[0], table=rtb)


def plan_security_groups(p, state, plan):
    found = {}
    for group in p["security_groups"]:
        full = "%s-%s" % (p["name"], group["name"])
        mine = [g for g in state["groups"] if is_ours(g, p["name"], full)]
        if mine:
            found[group["name"]] = mine[0]
            plan.ids["sg:" + group["name"]] = mine[0]["GroupId"]
            if group.get("description") and mine[0].get("Description") != group["description"]:
                plan.warnings.append("security group %s keeps its description %r: AWS cannot change a group's"
                                     " description (the task says %r)"
                                     % (full, mine[0].get("Description"), group["description"]))
            continue
        taken = [g for g in state["groups"] if g.get("GroupName") == full]
        if taken:
            plan.problems.append("security group %s (%s) exists in the VPC but was not made by directfanz.launch for"
                                 " network %s; rename or delete it (it is never adopted)"
                                 % (full, taken[0]["GroupId"], p["name"]))
        description = group.get("description") or "%s of network %s (directfanz.launch)" % (group["name"], p["name"])
        plan.ids["sg:" + group["name"]] = plan.add(
            "create_security_group", "create security group %s (%s)" % (group["name"], full),
            out="security group " + full, vpc=plan.ids["vpc"], name=full, description=description,
            tags=full_tags(p, full))
    group_ids = dict((g["name"], plan.ids["sg:" + g["name"]]) for g in p["security_groups"])
    names = dict((g["GroupId"], short) for short, g in found.items())
    for group in p["security_groups"]:
        short = group["name"]
        want = desired_rules(group)
        have = existing_rules(found[short].get("IpPermissions"), names) if short in found else {}
        authorize, revoke, describe = rule_changes(want, have)
        common = dict(group=group_ids[short], group_ids=group_ids)
        if authorize:
            plan.add("authorize_ingress", ["authorize %s %s" % (short, rule_text(r)) for r in authorize],
                     rules=authorize, descriptions=dict((r, want[r]) for r in authorize), **common)
        if revoke:
            # with the description the rule has: AWS does not need it, moto matches group rules only with it
            plan.add("revoke_ingress", ["revoke %s %s" % (short, rule_text(r)) for r in revoke], rules=revoke,
                     descriptions=dict((r, have[r]) for r in revoke), **common)
        if describe:
            plan.add("describe_ingress", ["describe %s %s as %r" % (short, rule_text(r), want[r]) for r in describe],
                     rules=describe, descriptions=dict((r, want[r]) for r in describe), **common)


def plan_tags(p, state, plan):
    """Missing or different task tags on what exists already (new resources get theirs when made)."""
    existing = []
    if state["vpc"] is not None:
        existing.append(("vpc", p["name"], state["vpc"]))
    if state["igw"] is not None:
        existing.append(("internet gateway", p["name"] + "-igw", state["igw"]))
    for subnet in state["subnets"]:
        existing.append(("subnet", tags_of(subnet).get("Name"), subnet))
    for table in state["route_tables"]:
        existing.append(("route table", tags_of(table).get("Name"), table))
    live = live_nats(state["nats"], p["name"])
    for name, nat in sorted(live.items()):
        existing.append(("nat gateway", name, nat))
    for address in state["addresses"]:
        existing.append(("elastic ip", tags_of(address).get("Name"), address))
    for group in state["groups"]:
        existing.append(("security group", tags_of(group).get("Name"), group))
    wanted_names = set([p["name"], p["name"] + "-igw"] + [nat_name(p, az) for az in p["availability_zones"]]
                       + [subnet_name(p, k, az) for k in ("public", "private") for az in p["availability_zones"]]
                       + ["%s-public" % p["name"]] + [t[0] for t in private_tables(p)]
                       + ["%s-%s" % (p["name"], g["name"]) for g in p["security_groups"]])
    batches = {}
    for kind, name, resource in existing:
        if name not in wanted_names or (kind != "internet gateway" and not is_ours(resource, p["name"])):
            continue
        have = tags_of(resource)
        missing = tuple(sorted((k, v) for k, v in full_tags(p, name).items() if have.get(k) != v))
        if missing:
            batch = batches.setdefault(missing, ([], []))
            batch[0].append(resource[ID_KEYS[kind]])
            batch[1].append("tag %s %s with %s" % (kind, name, ", ".join("%s=%s" % kv for kv in missing)))
    for missing, (ids, texts) in sorted(batches.items()):
        plan.add("create_tags", texts, resources=ids, tags=dict(missing))


def plan_network(p, state):
    """Every step that makes the network what the task says, in the order they can run: a NAT gateway is made
    early and waited for only just before the private routes that need it."""
    plan = Plan()
    plan_vpc(p, state, plan)
    plan_internet_gateway(p, state, plan)
    plan_subnets(p, state, plan)
    waits = plan_nat_gateways(p, state, plan)
    public = [("GatewayId", plan.ids["igw"]), "internet gateway %s-igw" % p["name"]]
    plan_route_table(p, state, plan, "%s-public" % p["name"], "public", p["availability_zones"], "public", *public)
    plan_security_groups(p, state, plan)
    if waits:
        plan.add("wait_nat_gateways", None, nats=waits, timeout=p["wait_timeout"])
    for name, key, zones, nat_az in private_tables(p):
        target = ("NatGatewayId", plan.ids["nat:" + nat_az]) if nat_az else None
        plan_route_table(p, state, plan, name, key, zones, "private", target, "nat gateway %s" % nat_name(p, nat_az))
    wanted = set(["%s-public" % p["name"]] + [t[0] for t in private_tables(p)])
    for table in state["route_tables"]:
        name = tags_of(table).get("Name")
        if is_ours(table, p["name"]) and name not in wanted:
            plan.warnings.append("route table %s (%s) is no longer used by network %s (nat_gateways=%s); delete it"
                                 " once no subnet uses it" % (name, table["RouteTableId"], p["name"], p["nat_gateways"]))
    plan_tags(p, state, plan)
    return plan


def nat_mode_of(p, state):
    """The NAT layout the private subnets have now, read from their routes: none, single, per_az or mixed."""
    subnets = dict((tags_of(s).get("Name"), s["SubnetId"]) for s in state["subnets"] if is_ours(s, p["name"]))
    tables = dict((t["RouteTableId"], t) for t in state["route_tables"])
    targets = []
    for az in p["availability_zones"]:
        subnet_id = subnets.get(subnet_name(p, "private", az))
        assoc = association_of(state["route_tables"], subnet_id) if subnet_id else None
        route = default_route(tables.get(assoc[1])) if assoc else None
        targets.append(route.get("NatGatewayId") if route else None)
    distinct = set(t for t in targets if t)
    if not distinct:
        return "none"
    if None in targets:
        return "mixed"
    if len(distinct) == 1:
        return "single"
    return "per_az" if len(distinct) == len(targets) else "mixed"


def diff_of(p, state):
    """Compact before/after: the VPC CIDR, the subnets (and which assign public IPs on launch: none after), the NAT
    mode and each listed group's rules."""
    after = {"vpc": {"name": p["name"], "cidr": p["cidr"]}, "nat_gateways": p["nat_gateways"], "subnets": {},
             "public_ip_on_launch": [], "security_groups": {}}
    for kind in ("public", "private"):
        for az, cidr in zip(p["availability_zones"], p[kind + "_subnets"]):  # noqa: B905 - lengths validated
            after["subnets"][subnet_name(p, kind, az)] = "%s %s" % (cidr, az)
    for group in p["security_groups"]:
        after["security_groups"][group["name"]] = [rule_text(r) for r in sorted(desired_rules(group), key=rule_sort_key)]
    if state["vpc"] is None:
        return {"before": {}, "after": after}
    before = {"vpc": {"name": p["name"], "cidr": state["vpc"]["CidrBlock"]}, "nat_gateways": nat_mode_of(p, state),
              "subnets": {}, "public_ip_on_launch": [], "security_groups": {}}
    for subnet in state["subnets"]:
        name = tags_of(subnet).get("Name")
        if is_ours(subnet, p["name"]) and name in after["subnets"]:
            before["subnets"][name] = "%s %s" % (subnet["CidrBlock"], subnet["AvailabilityZone"])
            if subnet.get("MapPublicIpOnLaunch"):
                before["public_ip_on_launch"].append(name)
    before["public_ip_on_launch"].sort()
    found = dict((tags_of(g).get("Name"), g) for g in state["groups"] if is_ours(g, p["name"]))
    names = dict((found["%s-%s" % (p["name"], g["name"])]["GroupId"], g["name"]) for g in p["security_groups"]
                 if "%s-%s" % (p["name"], g["name"]) in found)
    for group in p["security_groups"]:
        mine = found.get("%s-%s" % (p["name"], group["name"]))
        if mine is not None:
            rules = existing_rules(mine.get("IpPermissions"), names)
            before["security_groups"][group["name"]] = [rule_text(r) for r in sorted(rules, key=rule_sort_key)]
    return {"before": before, "after": after}


def outputs(p, plan, real):
    return {
        "vpc_id": real(plan.ids["vpc"]),
        "internet_gateway_id": real(plan.ids["igw"]),
        "public_subnet_ids": [real(plan.ids["subnet:" + subnet_name(p, "public", az)]) for az in p["availability_zones"]],
        "private_subnet_ids": [real(plan.ids["subnet:" + subnet_name(p, "private", az)])
                               for az in p["availability_zones"]],
        "nat_gateway_ids": [real(plan.ids["nat:" + az]) for az in nat_zones(p)],
        "route_table_ids": dict((key[4:], real(value)) for key, value in plan.ids.items() if key.startswith("rtb:")),
        "security_group_ids": dict((g["name"], real(plan.ids["sg:" + g["name"]])) for g in p["security_groups"]),
    }


# ---------------------------------------------------------------------------------------------------------------
# API calls, one small function each

def call(module, ec2, what, method, **kwargs):
    try:
        return getattr(ec2, method)(aws_retry=True, **kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not %s" % what)


def describe_all(module, ec2, what, method, key, **kwargs):
    items, token = [], None
    while True:
        page = call(module, ec2, what, method, **(dict(kwargs, NextToken=token) if token else kwargs))
        items.extend(page.get(key) or [])
        token = page.get("NextToken")
        if not token:
            return items


def tag_filters(network):
    return [{"Name": "tag:" + MANAGED_TAG[0], "Values": [MANAGED_TAG[1]]}, {"Name": "tag:" + NETWORK_TAG,
                                                                            "Values": [network]}]


def tag_spec(resource_type, tags):
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}]


def availability_zones(module, ec2):
    return [z["ZoneName"] for z in call(module, ec2, "read the availability zones of %s" % module.region,
                                        "describe_availability_zones")["AvailabilityZones"]]


def find_vpcs(module, ec2, network):
    return describe_all(module, ec2, "read the vpcs of network %s" % network, "describe_vpcs", "Vpcs",
                        Filters=tag_filters(network) + [{"Name": "tag:Name", "Values": [network]}])


def vpc_attribute(module, ec2, vpc_id, attribute):
    answer = call(module, ec2, "read %s of vpc %s" % (attribute, vpc_id), "describe_vpc_attribute", VpcId=vpc_id,
                  Attribute=attribute[0].lower() + attribute[1:])
    return bool((answer.get(attribute) or {}).get("Value"))


def find_internet_gateways(module, ec2, what, filters):
    return describe_all(module, ec2, "read the internet gateways %s" % what, "describe_internet_gateways",
                        "InternetGateways", Filters=filters)


def find_subnets(module, ec2, vpc_id):
    return describe_all(module, ec2, "read the subnets of vpc %s" % vpc_id, "describe_subnets", "Subnets",
                        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])


def find_route_tables(module, ec2, vpc_id):
    return describe_all(module, ec2, "read the route tables of vpc %s" % vpc_id, "describe_route_tables",
                        "RouteTables", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])


def find_nat_gateways(module, ec2, what, filters):
    return describe_all(module, ec2, "read the nat gateways %s" % what, "describe_nat_gateways", "NatGateways",
                        Filters=filters)


def find_addresses(module, ec2, network):
    return call(module, ec2, "read the elastic ips of network %s" % network, "describe_addresses",
                Filters=tag_filters(network)).get("Addresses") or []


def find_security_groups(module, ec2, vpc_id):
    return describe_all(module, ec2, "read the security groups of vpc %s" % vpc_id, "describe_security_groups",
                        "SecurityGroups", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])


def create_vpc(module, ec2, cidr, tags):
    return call(module, ec2, "create vpc %s %s" % (tags["Name"], cidr), "create_vpc", CidrBlock=cidr,
                TagSpecifications=tag_spec("vpc", tags))["Vpc"]["VpcId"]


def set_vpc_attribute(module, ec2, vpc_id, attribute):
    call(module, ec2, "enable %s on vpc %s" % (attribute, vpc_id), "modify_vpc_attribute", VpcId=vpc_id,
         **{attribute: {"Value": True}})


def create_internet_gateway(module, ec2, tags):
    return call(module, ec2, "create internet gateway %s" % tags["Name"], "create_internet_gateway",
                TagSpecifications=tag_spec("internet-gateway", tags))["InternetGateway"]["InternetGatewayId"]


def attach_internet_gateway(module, ec2, igw_id, vpc_id):
    call(module, ec2, "attach internet gateway %s to vpc %s" % (igw_id, vpc_id), "attach_internet_gateway",
         InternetGatewayId=igw_id, VpcId=vpc_id)


def create_subnet(module, ec2, vpc_id, cidr, az, tags):
    return call(module, ec2, "create subnet %s %s in %s" % (tags["Name"], cidr, az), "create_subnet", VpcId=vpc_id,
                CidrBlock=cidr, AvailabilityZone=az, TagSpecifications=tag_spec("subnet", tags))["Subnet"]["SubnetId"]


def unmap_public_ip(module, ec2, subnet_id):
    """A new subnet starts with MapPublicIpOnLaunch false (AWS's default), so only one found with it on gets this."""
    call(module, ec2, "disable MapPublicIpOnLaunch on subnet %s" % subnet_id, "modify_subnet_attribute",
         SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": False})


def allocate_address(module, ec2, tags):
    return call(module, ec2, "allocate elastic ip %s" % tags["Name"], "allocate_address", Domain="vpc",
                TagSpecifications=tag_spec("elastic-ip", tags))["AllocationId"]


def create_nat_gateway(module, ec2, subnet_id, allocation_id, tags):
    # The client token makes a retried request (throttling, a dropped answer) return the same NAT gateway.
    return call(module, ec2, "create nat gateway %s in %s" % (tags["Name"], subnet_id), "create_nat_gateway",
                SubnetId=subnet_id, AllocationId=allocation_id, ClientToken=uuid.uuid4().hex,
                TagSpecifications=tag_spec("natgateway", tags))["NatGateway"]["NatGatewayId"]


def create_route_table(module, ec2, vpc_id, tags):
    return call(module, ec2, "create route table %s" % tags["Name"], "create_route_table", VpcId=vpc_id,
                TagSpecifications=tag_spec("route-table", tags))["RouteTable"]["RouteTableId"]


def create_route(module, ec2, rtb_id, target):
    call(module, ec2, "create route %s in %s" % (ANYWHERE, rtb_id), "create_route", RouteTableId=rtb_id,
         DestinationCidrBlock=ANYWHERE, **target)


def replace_route(module, ec2, rtb_id, target):
    call(module, ec2, "replace route %s in %s" % (ANYWHERE, rtb_id), "replace_route", RouteTableId=rtb_id,
         DestinationCidrBlock=ANYWHERE, **target)


def delete_route(module, ec2, rtb_id):
    call(module, ec2, "delete route %s in %s" % (ANYWHERE, rtb_id), "delete_route", RouteTableId=rtb_id,
         DestinationCidrBlock=ANYWHERE)


def associate_route_table(module, ec2, rtb_id, subnet_id):
    call(module, ec2, "associate route table %s with subnet %s" % (rtb_id, subnet_id), "associate_route_table",
         RouteTableId=rtb_id, SubnetId=subnet_id)


def replace_association(module, ec2, association_id, rtb_id):
    call(module, ec2, "replace route table association %s with %s" % (association_id, rtb_id),
         "replace_route_table_association", AssociationId=association_id, RouteTableId=rtb_id)


def create_security_group(module, ec2, vpc_id, name, description, tags):
    return call(module, ec2, "create security group %s" % name, "create_security_group", VpcId=vpc_id, GroupName=name,
                Description=description, TagSpecifications=tag_spec("security-group", tags))["GroupId"]


def authorize_ingress(module, ec2, group_id, perms):
    call(module, ec2, "authorize ingress rules on security group %s" % group_id, "authorize_security_group_ingress",
         GroupId=group_id, IpPermissions=perms)


def revoke_ingress(module, ec2, group_id, perms):
    call(module, ec2, "revoke ingress rules of security group %s" % group_id, "revoke_security_group_ingress",
         GroupId=group_id, IpPermissions=perms)


def describe_ingress(module, ec2, group_id, perms):
    call(module, ec2, "update rule descriptions of security group %s" % group_id,
         "update_security_group_rule_descriptions_ingress", GroupId=group_id, IpPermissions=perms)


def create_tags(module, ec2, resource_ids, tags):
    call(module, ec2, "tag %s" % ", ".join(resource_ids), "create_tags", Resources=resource_ids,
         Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])


def wait_nat_gateways(module, ec2, nat_ids, timeout):
    """Until every NAT gateway is available (a route to a pending one would not carry traffic yet); bounded."""
    deadline = time.monotonic() + timeout
    waiting = list(nat_ids)
    while True:
        for nat in find_nat_gateways(module, ec2, ", ".join(waiting), [{"Name": "nat-gateway-id", "Values": waiting}]):
            if nat.get("State") == "available" and nat["NatGatewayId"] in waiting:
                waiting.remove(nat["NatGatewayId"])
            elif nat.get("State") in DEAD_NAT_STATES:
                module.fail_json(msg="nat gateway %s is %s (%s); the next run replaces it"
                                     % (nat["NatGatewayId"], nat["State"], nat.get("FailureMessage", "no reason given")))
        if not waiting:
            return
        if time.monotonic() > deadline:
            module.fail_json(msg="nat gateway(s) %s still not available after %d s; run again later (they are found"
                                 " again) or raise wait_timeout" % (", ".join(waiting), timeout))
        time.sleep(min(5.0, max(0.5, deadline - time.monotonic())))


# ---------------------------------------------------------------------------------------------------------------
# Reading and applying

def read_state(module, ec2, p):
    network = p["name"]
    vpcs = find_vpcs(module, ec2, network)
    if len(vpcs) > 1:
        module.fail_json(msg="%d vpcs are tagged as network %s (%s); keep one, delete the others and run again"
                             % (len(vpcs), network, ", ".join(v["VpcId"] for v in vpcs)))
    state = {"vpc": vpcs[0] if vpcs else None, "dns": {}, "igw": None, "subnets": [], "route_tables": [], "nats": [],
             "addresses": [], "groups": []}
    vpc_id = state["vpc"]["VpcId"] if state["vpc"] else None
    if vpc_id:
        attributes = ("EnableDnsSupport", "EnableDnsHostnames")
        state["dns"] = dict((a, vpc_attribute(module, ec2, vpc_id, a)) for a in attributes)
        attached = find_internet_gateways(module, ec2, "of vpc %s" % vpc_id,
                                          [{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
        state["igw"] = attached[0] if attached else None
    if state["igw"] is None:
        # one made by a run that stopped before attaching it
        loose = [g for g in find_internet_gateways(module, ec2, "of network %s" % network, tag_filters(network))
                 if not g.get("Attachments") and tags_of(g).get("Name") == network + "-igw"]
        state["igw"] = loose[0] if loose else None
    if vpc_id:
        state["subnets"] = find_subnets(module, ec2, vpc_id)
        state["route_tables"] = find_route_tables(module, ec2, vpc_id)
        state["nats"] = find_nat_gateways(module, ec2, "of vpc %s" % vpc_id, [{"Name": "vpc-id", "Values": [vpc_id]}])
        state["groups"] = find_security_groups(module, ec2, vpc_id)
    if p["nat_gateways"] != "none":
        state["addresses"] = find_addresses(module, ec2, network)
    return state


STEP_OPS = ("create_vpc", "set_vpc_attribute", "create_internet_gateway", "attach_internet_gateway", "create_subnet",
            "unmap_public_ip", "allocate_address", "create_nat_gateway", "wait_nat_gateways", "create_route_table",
            "create_route", "replace_route", "delete_route", "associate_route_table", "replace_association",
            "create_security_group", "authorize_ingress", "revoke_ingress", "describe_ingress", "create_tags")


def run_step(module, ec2, step, real):
    """Does one step; returns the id of what it made, if it makes something."""
    op = step["op"]
    if op == "create_vpc":
        vpc_id = create_vpc(module, ec2, step["cidr"], step["tags"])
        set_vpc_attribute(module, ec2, vpc_id, "EnableDnsSupport")
        set_vpc_attribute(module, ec2, vpc_id, "EnableDnsHostnames")
        return vpc_id
    if op == "set_vpc_attribute":
        return set_vpc_attribute(module, ec2, real(step["vpc"]), step["attribute"])
    if op == "create_internet_gateway":
        return create_internet_gateway(module, ec2, step["tags"])
    if op == "attach_internet_gateway":
        return attach_internet_gateway(module, ec2, real(step["igw"]), real(step["vpc"]))
    if op == "create_subnet":
        return create_subnet(module, ec2, real(step["vpc"]), step["cidr"], step["az"], step["tags"])
    if op == "unmap_public_ip":
        return unmap_public_ip(module, ec2, step["subnet"])
    if op == "allocate_address":
        return allocate_address(module, ec2, step["tags"])
    if op == "create_nat_gateway":
        return create_nat_gateway(module, ec2, real(step["subnet"]), real(step["allocation"]), step["tags"])
    if op == "wait_nat_gateways":
        return wait_nat_gateways(module, ec2, [real(n) for n in step["nats"]], step["timeout"])
    if op == "create_route_table":
        return create_route_table(module, ec2, real(step["vpc"]), step["tags"])
    if op in ("create_route", "replace_route"):
        target = dict((k, real(v)) for k, v in step["target"].items())
        fn = create_route if op == "create_route" else replace_route
        return fn(module, ec2, real(step["table"]), target)
    if op == "delete_route":
        return delete_route(module, ec2, real(step["table"]))
    if op == "associate_route_table":
        return associate_route_table(module, ec2, real(step["table"]), real(step["subnet"]))
    if op == "replace_association":
        return replace_association(module, ec2, step["association"], real(step["table"]))
    if op == "create_security_group":
        return create_security_group(module, ec2, real(step["vpc"]), step["name"], step["description"], step["tags"])
    if op in ("authorize_ingress", "revoke_ingress", "describe_ingress"):
        perms = permissions(step["rules"], step["descriptions"],
                            dict((k, real(v)) for k, v in step["group_ids"].items()))
        fn = {"authorize_ingress": authorize_ingress, "revoke_ingress": revoke_ingress,
              "describe_ingress": describe_ingress}[op]
        return fn(module, ec2, real(step["group"]), perms)
    if op == "create_tags":
        return create_tags(module, ec2, step["resources"], step["tags"])
    raise ValueError("unknown step %s" % op)


def main():
    rule = dict(
        ports=dict(type="list", elements="raw", required=True),
        protocol=dict(type="str", choices=["tcp", "udp"], default="tcp"),
        cidrs=dict(type="list", elements="str", default=[]),
        from_groups=dict(type="list", elements="str", default=[]),
        description=dict(type="str"),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            cidr=dict(type="str", required=True),
            availability_zones=dict(type="list", elements="str", required=True),
            public_subnets=dict(type="list", elements="str", required=True),
            private_subnets=dict(type="list", elements="str", required=True),
            nat_gateways=dict(type="str", choices=["none", "single", "per_az"], default="single"),
            security_groups=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                description=dict(type="str"),
                ingress=dict(type="list", elements="dict", default=[], options=rule),
            )),
            tags=dict(type="dict", default={}),
            state=dict(type="str", choices=["present"], default="present"),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if problems:
        module.fail_json(msg="vpc_network %s: %s" % (p["name"], "; ".join(problems)), problems=problems)

    ec2 = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff(retries=10, delay=1, max_delay=30,
                                                                         catch_extra_error_codes=RETRY_CODES))
    zones = availability_zones(module, ec2)
    unknown = [z for z in p["availability_zones"] if z not in zones]
    if unknown:
        module.fail_json(msg="vpc_network %s: availability zone(s) %s are not in region %s; accepted: %s"
                             % (p["name"], ", ".join(unknown), module.region, ", ".join(zones)))

    state = read_state(module, ec2, p)
    plan = plan_network(p, state)
    refuse(module, "vpc_network %s" % p["name"], plan)
    real = apply(module, plan, handlers=dict.fromkeys(STEP_OPS, lambda step, real: run_step(module, ec2, step, real)))
    finish(module, plan, diff=diff_of(p, state), **outputs(p, plan, real))


if __name__ == "__main__":
    main()
