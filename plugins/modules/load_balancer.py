#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: load_balancer
short_description: An Application Load Balancer with its target groups, HTTPS and redirect listeners and host rules
version_added: 0.2.0
description:
  - In one call, makes an internet-facing Application Load Balancer, its target groups, an HTTPS listener on
    the given certificate (TLS 1.2+ policy) forwarding to a default target group, an HTTP listener that
    redirects to HTTPS, and host-header rules sending each host to its own target group.
  - Only what the task sets is compared; the HTTPS listener's rules are exactly the listed ones (others are
    deleted - the listener belongs to this load balancer).
  - Why not amazon.aws.elb_application_lb with community.aws.elb_target_group - they take one task per target
    group plus one for the load balancer and its attributes, cannot plan in check mode when the VPC or the
    target groups do not exist yet, and a rule change there replaces the whole listener configuration; one
    call here reads everything once and changes only what differs.
  - A load balancer or target group of the same name that this collection did not make is refused, never
    adopted. Settings AWS cannot change in place (a target group's port, protocol, target type or VPC; the
    scheme) are refused with what to do.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description: Name of the load balancer (1-32 letters, digits and hyphens).
    type: str
    required: true
  subnets:
    description: Public subnets in at least two availability zones.
    type: list
    elements: str
    required: true
  security_groups:
    description: Security groups of the load balancer.
    type: list
    elements: str
    required: true
  vpc_id:
    description: VPC of the target groups.
    type: str
    required: true
  certificate_arn:
    description:
      - ACM certificate of the HTTPS listener, in the load balancer's region. May be empty only in check mode
        (before the certificates phase has run).
    type: str
    required: true
  ssl_policy:
    description: TLS policy of the HTTPS listener; only TLS 1.2+ policies are accepted.
    type: str
    default: ELBSecurityPolicy-TLS13-1-2-2021-06
  idle_timeout:
    description: Seconds a connection may stay idle (WebSockets need minutes, not the default 60).
    type: int
    default: 60
  deletion_protection:
    description: Refuse deletion of the load balancer.
    type: bool
    default: false
  target_groups:
    description: The target groups (IP targets, as ECS on Fargate registers them).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Target group name (1-32 letters, digits and hyphens).
        type: str
        required: true
      port:
        description: Port the targets listen on.
        type: int
        required: true
      protocol:
        description: Protocol to the targets.
        type: str
        choices: [HTTP, HTTPS]
        default: HTTP
      health_check_path:
        description: Path of the health check.
        type: str
        default: /health
      health_check_matcher:
        description: HTTP codes that count as healthy.
        type: str
        default: "200-399"
      deregistration_delay:
        description: Seconds a deregistering target keeps its connections.
        type: int
        default: 30
      stickiness:
        description: Load-balancer-cookie stickiness (a WebSocket's reconnects land on the same task).
        type: bool
        default: false
      stickiness_duration:
        description: Seconds the stickiness cookie lasts.
        type: int
        default: 86400
  default_target_group:
    description: Target group of requests no host rule matches.
    type: str
    required: true
  host_rules:
    description: Host-header rules of the HTTPS listener, in priority order (priorities 10, 20, ...).
    type: list
    elements: dict
    default: []
    suboptions:
      hosts:
        description: Host names the rule matches.
        type: list
        elements: str
        required: true
      target_group:
        description: Target group the matching requests go to.
        type: str
        required: true
  tags:
    description: Tags on the load balancer and target groups (C(managed-by=directfanz.launch) is always added).
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads everything and reports the planned actions, also when nothing exists yet; changes nothing.
  diff_mode:
    support: full
    description: Shows the managed settings (attributes, target groups, listeners, rules) before and after.
"""

EXAMPLES = r"""
- name: The platform's load balancer
  directfanz.launch.load_balancer:
    name: example-alb
    subnets: "{{ network.public_subnet_ids }}"
    security_groups: ["{{ network.security_group_ids.alb }}"]
    vpc_id: "{{ network.vpc_id }}"
    certificate_arn: "{{ certificate_arn }}"
    idle_timeout: 3600
    target_groups:
      - {name: example-web, port: 3000}
      - {name: example-ws, port: 3001, stickiness: true}
    default_target_group: example-web
    host_rules:
      - {hosts: [ws.example.com], target_group: example-ws}
"""

RETURN = r"""
arn:
  description: ARN of the load balancer (empty in check mode before it exists).
  returned: always
  type: str
dns_name:
  description: DNS name of the load balancer, the target of alias records.
  returned: always
  type: str
canonical_hosted_zone_id:
  description: Route 53 zone id for alias records to the load balancer.
  returned: always
  type: str
target_group_arns:
  description: Target group name to ARN.
  returned: always
  type: dict
listener_arns:
  description: Listener port (as a string) to ARN.
  returned: always
  type: dict
actions:
  description: What was (or in check mode would be) done, one line each.
  returned: always
  type: list
  elements: str
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, aws_read, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
TLS12_POLICIES = ("ELBSecurityPolicy-TLS13-1-2-", "ELBSecurityPolicy-TLS-1-2-", "ELBSecurityPolicy-FS-1-2-",
                  "ELBSecurityPolicy-TLS13-1-3-")


def input_problems(p, check_mode):
    problems = []
    names = [tg["name"] for tg in p["target_groups"]]
    for name in [p["name"]] + names:
        if not NAME.match(name) or name.lower().startswith("internal-"):
            problems.append("name %r: 1-32 letters, digits and hyphens, not starting or ending with a hyphen" % name)
    if len(set(names)) != len(names):
        problems.append("target group names %s list one twice" % names)
    for tg in p["target_groups"]:
        if not 1 <= tg["port"] <= 65535:
            problems.append("target group %s: port %d is not 1-65535" % (tg["name"], tg["port"]))
        if not 0 <= tg["deregistration_delay"] <= 3600:
            problems.append("target group %s: deregistration_delay must be 0-3600 s" % tg["name"])
        if not 1 <= tg["stickiness_duration"] <= 604800:
            problems.append("target group %s: stickiness_duration must be 1-604800 s" % tg["name"])
        if not tg["health_check_path"].startswith("/"):
            problems.append("target group %s: health_check_path must start with /" % tg["name"])
    used = [p["default_target_group"]] + [rule["target_group"] for rule in p["host_rules"]]
    for name in used:
        if name not in names:
            problems.append("target group %r is used by a rule but not listed in target_groups (%s)"
                            % (name, ", ".join(names)))
    hosts = [h.lower().rstrip(".") for rule in p["host_rules"] for h in rule["hosts"]]
    if len(set(hosts)) != len(hosts):
        problems.append("host rules name a host twice: %s" % hosts)
    if any(len(rule["hosts"]) == 0 or len(rule["hosts"]) > 5 for rule in p["host_rules"]):
        problems.append("each host rule takes 1-5 host names")
    if len(p["subnets"]) < 2:
        problems.append("an Application Load Balancer needs subnets in at least two availability zones")
    if not p["security_groups"]:
        problems.append("security_groups is empty")
    if not 1 <= p["idle_timeout"] <= 4000:
        problems.append("idle_timeout %d is not 1-4000 seconds" % p["idle_timeout"])
    if not p["ssl_policy"].startswith(TLS12_POLICIES):
        problems.append("ssl_policy %s may allow TLS below 1.2; accepted: policies starting with %s"
                        % (p["ssl_policy"], ", ".join(TLS12_POLICIES)))
    if not p["certificate_arn"] and not check_mode:
        problems.append("certificate_arn is empty: the HTTPS listener needs the certificates phase's certificate")
    elif p["certificate_arn"] and ":acm:" not in p["certificate_arn"]:
        problems.append("certificate_arn %s is not an ACM certificate ARN" % p["certificate_arn"])
    return problems


def lb_attributes(p):
    return {"idle_timeout.timeout_seconds": str(p["idle_timeout"]),
            "deletion_protection.enabled": str(p["deletion_protection"]).lower(),
            "routing.http.drop_invalid_header_fields.enabled": "true",
            "routing.http2.enabled": "true"}


def tg_attributes(tg):
    out = {"deregistration_delay.timeout_seconds": str(tg["deregistration_delay"]),
           "stickiness.enabled": str(tg["stickiness"]).lower()}
    if tg["stickiness"]:
        out.update({"stickiness.type": "lb_cookie", "stickiness.lb_cookie.duration_seconds": str(tg["stickiness_duration"])})
    return out


def tg_health(tg):
    return {"HealthCheckPath": tg["health_check_path"], "Matcher": {"HttpCode": tg["health_check_matcher"]},
            "HealthCheckProtocol": tg["protocol"], "HealthCheckEnabled": True}


def attribute_changes(wanted, current):
    """The attributes to set: those whose current value differs (only the ones we manage)."""
    return dict((k, v) for k, v in wanted.items() if current.get(k) != v)


def rule_plan(wanted, current):
    """wanted: [(priority, [hosts], tg_arn)]; current: describe_rules' non-default rules.
    Returns (create, modify, delete) lists; modify and delete carry the rule ARN."""
    by_priority = dict((int(r["Priority"]), r) for r in current if not r.get("IsDefault"))
    create, modify = [], []
    for priority, hosts, tg_arn in wanted:
        rule = by_priority.pop(priority, None)
        if rule is None:
            create.append((priority, hosts, tg_arn))
        elif rule_shape(rule) != (sorted(hosts), tg_arn):
            modify.append((rule["RuleArn"], priority, hosts, tg_arn))
    delete = [(r["RuleArn"], priority) for priority, r in sorted(by_priority.items())]
    return create, modify, delete


def rule_shape(rule):
    hosts = []
    for cond in rule.get("Conditions", []):
        if cond.get("Field") == "host-header":
            hosts.extend((cond.get("HostHeaderConfig") or {}).get("Values") or cond.get("Values") or [])
    targets = [a.get("TargetGroupArn") for a in rule.get("Actions", []) if a.get("Type") == "forward"]
    return sorted(h.lower() for h in hosts), (targets[0] if len(targets) == 1 else targets)


def listener_shape(listener):
    """The managed part of a listener, comparable with the wanted shape."""
    action = (listener.get("DefaultActions") or [{}])[0]
    shape = {"Protocol": listener.get("Protocol"), "Type": action.get("Type")}
    if action.get("Type") == "forward":
        shape["TargetGroupArn"] = action.get("TargetGroupArn")
    if action.get("Type") == "redirect":
        config = action.get("RedirectConfig") or {}
        shape["Redirect"] = (config.get("Protocol"), str(config.get("Port")), config.get("StatusCode"))
    if listener.get("Protocol") == "HTTPS":
        shape["SslPolicy"] = listener.get("SslPolicy")
        shape["Certificate"] = ((listener.get("Certificates") or [{}])[0]).get("CertificateArn")
    return shape


class Elb:
    """ELBv2 reads, one small function each, retried with jittered backoff; every write is a plan step."""

    def __init__(self, module):
        self.module = module
        self.conn = retrying_client(module, "elbv2")

    def call(self, what, method, **kwargs):
        return aws_call(self.module, self.conn, what, method, **kwargs)

    def find_lb(self, name):
        answer = aws_read(self.module, self.conn, "read load balancer %s" % name, "describe_load_balancers",
                          missing=("LoadBalancerNotFound",), Names=[name])
        return answer["LoadBalancers"][0] if answer else None

    def find_tgs(self, names):
        found = {}
        for name in names:
            answer = aws_read(self.module, self.conn, "read target group %s" % name, "describe_target_groups",
                              missing=("TargetGroupNotFound",), Names=[name])
            if answer:
                found[name] = answer["TargetGroups"][0]
        return found

    def tags(self, arns):
        if not arns:
            return {}
        answer = self.call("read the tags of %s" % ", ".join(arns), "describe_tags", ResourceArns=list(arns))
        return dict((d["ResourceArn"], dict((t["Key"], t["Value"]) for t in d.get("Tags", [])))
                    for d in answer["TagDescriptions"])

    def attributes(self, what, method, **kwargs):
        return dict((a["Key"], a["Value"]) for a in self.call("read the attributes of %s" % what, method,
                                                              **kwargs)["Attributes"])


def read_state(elb, p):
    """Everything the plan compares with: the load balancer, the named target groups, their owners' tags and
    attributes, the listeners and the HTTPS listener's rules."""
    lb = elb.find_lb(p["name"])
    tgs = elb.find_tgs([tg["name"] for tg in p["target_groups"]])
    state = {"lb": lb, "tgs": tgs, "tg_attributes": {}, "lb_attributes": {}, "listeners": {}, "rules": [],
             "owners": elb.tags(([lb["LoadBalancerArn"]] if lb else []) + [tg["TargetGroupArn"] for tg in tgs.values()])}
    for name, tg in tgs.items():
        state["tg_attributes"][name] = elb.attributes(name, "describe_target_group_attributes",
                                                      TargetGroupArn=tg["TargetGroupArn"])
    if lb is not None:
        state["lb_attributes"] = elb.attributes(p["name"], "describe_load_balancer_attributes",
                                                LoadBalancerArn=lb["LoadBalancerArn"])
        for listener in elb.call("list the listeners of %s" % p["name"], "describe_listeners",
                                 LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            state["listeners"][listener["Port"]] = listener
    if state["listeners"].get(443):
        state["rules"] = elb.call("list the rules of %s" % p["name"], "describe_rules",
                                  ListenerArn=state["listeners"][443]["ListenerArn"])["Rules"]
    return state


def refusals(p, state):
    """What stops the whole change: resources we did not make (never adopted) and changes AWS cannot make."""
    problems = []
    foreign = [arn for arn, t in state["owners"].items() if t.get(MANAGED_TAG[0]) != MANAGED_TAG[1]]
    if foreign:
        problems.append("%s already exist(s) and were not made by directfanz.launch (no managed-by tag); pick other"
                        " names or remove them - they are never adopted" % ", ".join(foreign))
    lb = state["lb"]
    if lb and lb.get("Scheme") != "internet-facing":
        problems.append("load balancer %s is %s, not internet-facing; delete it to recreate" % (p["name"], lb["Scheme"]))
    for tg in p["target_groups"]:
        have = state["tgs"].get(tg["name"])
        if have and ((have["Port"], have["Protocol"], have.get("TargetType"), have.get("VpcId"))
                     != (tg["port"], tg["protocol"], "ip", p["vpc_id"])):
            problems.append("target group %s is %s:%s %s in %s; AWS cannot change port, protocol, target type or VPC"
                            " in place: give it another name (then delete the old one) or delete it first"
                            % (tg["name"], have["Protocol"], have["Port"], have.get("TargetType"), have.get("VpcId")))
    return problems


def plan_target_groups(p, state, plan, tag_list, before, after):
    """Target groups: made when missing (planned against the attributes a new one starts with), otherwise their
    health check and attributes set where they differ. Returns name -> ARN (or placeholder)."""
    tg_arns = {}
    for tg in p["target_groups"]:
        name, have = tg["name"], state["tgs"].get(tg["name"])
        after["target_groups"][name] = dict(tg_attributes(tg), health=tg["health_check_path"])
        if have is None:
            arn = plan.call("elbv2", "create_target_group",
                            "create target group %s (%s:%d, ip targets)" % (name, tg["protocol"], tg["port"]),
                            "create target group %s" % name, out="target group " + name,
                            pick=("TargetGroups", 0, "TargetGroupArn"), Name=name, Protocol=tg["protocol"],
                            Port=tg["port"], VpcId=p["vpc_id"], TargetType="ip", Tags=tag_list, **tg_health(tg))
            current = {}  # a new one gets every managed attribute set: no guess at the defaults
        else:
            arn, current = have["TargetGroupArn"], state["tg_attributes"][name]
            before["target_groups"][name] = dict(dict((k, current.get(k)) for k in tg_attributes(tg)),
                                                 health=have.get("HealthCheckPath"))
            health_now = {"HealthCheckPath": have.get("HealthCheckPath"), "Matcher": have.get("Matcher"),
                          "HealthCheckProtocol": have.get("HealthCheckProtocol"),
                          "HealthCheckEnabled": have.get("HealthCheckEnabled", True)}
            if health_now != tg_health(tg):
                plan.call("elbv2", "modify_target_group", "update the health check of %s" % name,
                          "update target group %s" % name, TargetGroupArn=arn, **tg_health(tg))
        tg_arns[name] = arn
        changes = attribute_changes(tg_attributes(tg), current)
        if changes:
            plan.call("elbv2", "modify_target_group_attributes",
                      "set %s on %s" % (", ".join("%s=%s" % kv for kv in sorted(changes.items())), name),
                      "set the attributes of %s" % name, TargetGroupArn=arn,
                      Attributes=[{"Key": k, "Value": v} for k, v in sorted(changes.items())])
    return tg_arns


def plan_balancer(p, state, plan, tag_list, before):
    """The load balancer itself, its security groups, subnets and attributes. Returns its ARN (or placeholder)."""
    lb = state["lb"]
    if lb is None:
        arn = plan.call("elbv2", "create_load_balancer",
                        "create load balancer %s in %s" % (p["name"], ", ".join(p["subnets"])),
                        "create load balancer %s" % p["name"], out="load balancer " + p["name"],
                        pick=("LoadBalancers", 0, "LoadBalancerArn"), Name=p["name"], Subnets=p["subnets"],
                        SecurityGroups=p["security_groups"], Scheme="internet-facing", Type="application",
                        IpAddressType="ipv4", Tags=tag_list)
        current = {}  # a new one gets every managed attribute set (moto omits some defaults until set)
    else:
        arn, current = lb["LoadBalancerArn"], state["lb_attributes"]
        if sorted(lb.get("SecurityGroups", [])) != sorted(p["security_groups"]):
            plan.call("elbv2", "set_security_groups",
                      "set the security groups of %s to %s" % (p["name"], ", ".join(p["security_groups"])),
                      "set the security groups of %s" % p["name"], LoadBalancerArn=arn,
                      SecurityGroups=p["security_groups"])
        if sorted(az["SubnetId"] for az in lb.get("AvailabilityZones", [])) != sorted(p["subnets"]):
            plan.call("elbv2", "set_subnets", "set the subnets of %s to %s" % (p["name"], ", ".join(p["subnets"])),
                      "set the subnets of %s" % p["name"], LoadBalancerArn=arn, Subnets=p["subnets"])
        before["attributes"] = dict((k, current.get(k)) for k in lb_attributes(p))
    changes = attribute_changes(lb_attributes(p), current)
    if changes:
        plan.call("elbv2", "modify_load_balancer_attributes",
                  "set %s on %s" % (", ".join("%s=%s" % kv for kv in sorted(changes.items())), p["name"]),
                  "set the attributes of %s" % p["name"], LoadBalancerArn=arn,
                  Attributes=[{"Key": k, "Value": v} for k, v in sorted(changes.items())])
    return arn


def plan_listeners(p, state, plan, lb_arn, tg_arns, before, after):
    """443 forwards to the default target group on the certificate; 80 redirects to 443. Returns port -> ARN."""
    default_tg = tg_arns[p["default_target_group"]]
    https = {"Protocol": "HTTPS", "Type": "forward", "TargetGroupArn": default_tg,
             "SslPolicy": p["ssl_policy"], "Certificate": p["certificate_arn"] or "(the certificates phase's)"}
    http = {"Protocol": "HTTP", "Type": "redirect", "Redirect": ("HTTPS", "443", "HTTP_301")}
    listener_args = {
        443: dict(Protocol="HTTPS", SslPolicy=p["ssl_policy"], Certificates=[{"CertificateArn": p["certificate_arn"]}],
                  DefaultActions=[{"Type": "forward", "TargetGroupArn": default_tg}]),
        80: dict(Protocol="HTTP", DefaultActions=[{"Type": "redirect", "RedirectConfig": {
            "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301", "Host": "#{host}", "Path": "/#{path}",
            "Query": "#{query}"}}]),
    }
    listener_arns = {}
    for port, wanted in ((443, https), (80, http)):
        have = state["listeners"].get(port)
        after["listeners"][str(port)] = wanted
        if have is None:
            listener_arns[str(port)] = plan.call(
                "elbv2", "create_listener", "create the %s listener on port %d" % (wanted["Protocol"], port),
                "create listener %d on %s" % (port, p["name"]), out="listener %d of %s" % (port, p["name"]),
                pick=("Listeners", 0, "ListenerArn"), LoadBalancerArn=lb_arn, Port=port, **listener_args[port])
            continue
        listener_arns[str(port)] = have["ListenerArn"]
        before["listeners"][str(port)] = listener_shape(have)
        if listener_shape(have) != wanted:
            plan.call("elbv2", "modify_listener", "update the %s listener on port %d" % (wanted["Protocol"], port),
                      "update listener %d of %s" % (port, p["name"]), ListenerArn=have["ListenerArn"], Port=port,
                      **listener_args[port])
    return listener_arns


def plan_rules(p, state, plan, tg_arns, listener_arn, tag_list, before, after):
    """Host rules on the HTTPS listener: exactly the listed ones, at priorities 10, 20, ..."""
    wanted = [(10 * (i + 1), sorted(h.lower().rstrip(".") for h in rule["hosts"]), tg_arns[rule["target_group"]])
              for i, rule in enumerate(p["host_rules"])]
    after["rules"] = ["%d %s -> %s" % (prio, ",".join(hosts), rule["target_group"])
                      for (prio, hosts, tga), rule in zip(wanted, p["host_rules"])]  # noqa: B905 - same list
    names = dict((arn, name) for name, arn in tg_arns.items())
    for rule in state["rules"]:
        if not rule.get("IsDefault"):
            hosts, target = rule_shape(rule)
            before["rules"].append("%s %s -> %s" % (rule["Priority"], ",".join(hosts), names.get(target, target)))
    create, modify, delete = rule_plan(wanted, state["rules"])

    def rule_args(hosts, tg_arn):
        return dict(Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": hosts}}],
                    Actions=[{"Type": "forward", "TargetGroupArn": tg_arn}])

    for rule_arn, priority in delete:
        plan.call("elbv2", "delete_rule", "delete rule %d of the HTTPS listener" % priority, "delete rule %s" % rule_arn,
                  RuleArn=rule_arn)
    for rule_arn, priority, hosts, tg_arn in modify:
        plan.call("elbv2", "modify_rule", "update rule %d: %s" % (priority, ", ".join(hosts)),
                  "update rule %s" % rule_arn, RuleArn=rule_arn, **rule_args(hosts, tg_arn))
    for priority, hosts, tg_arn in create:
        plan.call("elbv2", "create_rule", "create rule %d: %s" % (priority, ", ".join(hosts)),
                  "create rule %d on %s" % (priority, p["name"]), ListenerArn=listener_arn, Priority=priority,
                  Tags=tag_list, **rule_args(hosts, tg_arn))


def plan_load_balancer(p, state):
    """The whole change, in the order it can run (target groups, the load balancer, listeners, rules), with the
    before/after diff. Pure: ``state`` is what `read_state` found."""
    plan = Plan()
    plan.problems.extend(refusals(p, state))
    before = {"attributes": {}, "target_groups": {}, "listeners": {}, "rules": []}
    after = {"attributes": lb_attributes(p), "target_groups": {}, "listeners": {}, "rules": []}
    if plan.problems:
        return plan, {"before": before, "after": after}, {}, {}
    tags = dict((k, str(v)) for k, v in p["tags"].items())
    tags[MANAGED_TAG[0]] = MANAGED_TAG[1]
    tag_list = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    tg_arns = plan_target_groups(p, state, plan, tag_list, before, after)
    lb_arn = plan_balancer(p, state, plan, tag_list, before)
    listener_arns = plan_listeners(p, state, plan, lb_arn, tg_arns, before, after)
    plan_rules(p, state, plan, tg_arns, listener_arns["443"], tag_list, before, after)
    return plan, {"before": before, "after": after}, tg_arns, listener_arns


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            subnets=dict(type="list", elements="str", required=True),
            security_groups=dict(type="list", elements="str", required=True),
            vpc_id=dict(type="str", required=True),
            certificate_arn=dict(type="str", required=True),
            ssl_policy=dict(type="str", default="ELBSecurityPolicy-TLS13-1-2-2021-06"),
            idle_timeout=dict(type="int", default=60),
            deletion_protection=dict(type="bool", default=False),
            target_groups=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                port=dict(type="int", required=True),
                protocol=dict(type="str", choices=["HTTP", "HTTPS"], default="HTTP"),
                health_check_path=dict(type="str", default="/health"),
                health_check_matcher=dict(type="str", default="200-399"),
                deregistration_delay=dict(type="int", default=30),
                stickiness=dict(type="bool", default=False),
                stickiness_duration=dict(type="int", default=86400),
            )),
            default_target_group=dict(type="str", required=True),
            host_rules=dict(type="list", elements="dict", default=[], options=dict(
                hosts=dict(type="list", elements="str", required=True),
                target_group=dict(type="str", required=True),
            )),
            tags=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p, module.check_mode)
    if problems:
        module.fail_json(msg="load_balancer %s: %s" % (p["name"], "; ".join(problems)), problems=problems)

    elb = Elb(module)
    state = read_state(elb, p)
    plan, diff, tg_arns, listener_arns = plan_load_balancer(p, state)
    refuse(module, "load_balancer %s" % p["name"], plan)
    real = apply(module, plan, {"elbv2": elb.conn})
    lb = state["lb"]
    if lb is None and not module.check_mode:
        lb = elb.find_lb(p["name"])  # its DNS name and zone, for the phases after this one
    finish(module, plan, diff, arn=lb["LoadBalancerArn"] if lb else "", dns_name=lb["DNSName"] if lb else "",
           canonical_hosted_zone_id=lb.get("CanonicalHostedZoneId", "") if lb else "",
           target_group_arns=real(tg_arns), listener_arns=real(listener_arns))


if __name__ == "__main__":
    main()
