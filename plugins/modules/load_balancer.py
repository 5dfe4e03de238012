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

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

MANAGED_TAG = ("managed-by", "directfanz.launch")
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
TLS12_POLICIES = ("ELBSecurityPolicy-TLS13-1-2-", "ELBSecurityPolicy-TLS-1-2-", "ELBSecurityPolicy-FS-1-2-",
                  "ELBSecurityPolicy-TLS13-1-3-")
PLACEHOLDER = "(made in this run)"
# What a new target group starts with, so the plan (also in check mode) lists only the attributes that differ.
LB_DEFAULTS = {"idle_timeout.timeout_seconds": "60", "deletion_protection.enabled": "false",
               "routing.http.drop_invalid_header_fields.enabled": "false", "routing.http2.enabled": "true"}
TG_DEFAULTS = {"deregistration_delay.timeout_seconds": "300", "stickiness.enabled": "false"}


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
    """ELBv2 calls, one small function each, retried with jittered backoff."""

    def __init__(self, module):
        self.module = module
        self.conn = module.client("elbv2", retry_decorator=AWSRetry.jittered_backoff(retries=10, delay=1,
                                                                                     max_delay=30))

    def call(self, what, method, **kwargs):
        try:
            return getattr(self.conn, method)(aws_retry=True, **kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg="Could not %s" % what)

    def find_lb(self, name):
        try:
            return self.conn.describe_load_balancers(Names=[name], aws_retry=True)["LoadBalancers"][0]
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") == "LoadBalancerNotFound":
                return None
            self.module.fail_json_aws(e, msg="Could not read load balancer %s" % name)
        except botocore.exceptions.BotoCoreError as e:
            self.module.fail_json_aws(e, msg="Could not read load balancer %s" % name)

    def find_tgs(self, names):
        found = {}
        for name in names:
            try:
                found[name] = self.conn.describe_target_groups(Names=[name], aws_retry=True)["TargetGroups"][0]
            except botocore.exceptions.ClientError as e:
                if e.response.get("Error", {}).get("Code") != "TargetGroupNotFound":
                    self.module.fail_json_aws(e, msg="Could not read target group %s" % name)
            except botocore.exceptions.BotoCoreError as e:
                self.module.fail_json_aws(e, msg="Could not read target group %s" % name)
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
    check = module.check_mode
    problems = input_problems(p, check)
    if problems:
        module.fail_json(msg="load_balancer %s: %s" % (p["name"], "; ".join(problems)), problems=problems)

    elb = Elb(module)
    tags = dict((k, str(v)) for k, v in p["tags"].items())
    tags[MANAGED_TAG[0]] = MANAGED_TAG[1]
    tag_list = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    actions = []
    before = {"attributes": {}, "target_groups": {}, "listeners": {}, "rules": []}
    after = {"attributes": lb_attributes(p), "target_groups": {}, "listeners": {}, "rules": []}

    # Read everything first; refuse what we did not make before changing anything.
    lb = elb.find_lb(p["name"])
    tgs = elb.find_tgs([tg["name"] for tg in p["target_groups"]])
    owners = elb.tags(([lb["LoadBalancerArn"]] if lb else []) + [tg["TargetGroupArn"] for tg in tgs.values()])
    foreign = [arn for arn, t in owners.items() if t.get(MANAGED_TAG[0]) != MANAGED_TAG[1]]
    if foreign:
        module.fail_json(msg="%s already exist(s) and were not made by directfanz.launch (no managed-by tag); pick"
                             " other names or remove them - they are never adopted" % ", ".join(foreign))
    immutable = []
    if lb and lb.get("Scheme") != "internet-facing":
        immutable.append("load balancer %s is %s, not internet-facing; delete it to recreate" % (p["name"], lb["Scheme"]))
    for tg in p["target_groups"]:
        have = tgs.get(tg["name"])
        if have and ((have["Port"], have["Protocol"], have.get("TargetType"), have.get("VpcId"))
                     != (tg["port"], tg["protocol"], "ip", p["vpc_id"])):
            immutable.append("target group %s is %s:%s %s in %s; AWS cannot change port, protocol, target type or VPC"
                             " in place: give it another name (then delete the old one) or delete it first"
                             % (tg["name"], have["Protocol"], have["Port"], have.get("TargetType"), have.get("VpcId")))
    if immutable:
        module.fail_json(msg="; ".join(immutable))

    # Target groups.
    tg_arns = {}
    for tg in p["target_groups"]:
        have = tgs.get(tg["name"])
        after["target_groups"][tg["name"]] = dict(tg_attributes(tg), health=tg["health_check_path"])
        if have is None:
            actions.append("create target group %s (%s:%d, ip targets)" % (tg["name"], tg["protocol"], tg["port"]))
            current_attrs = dict(TG_DEFAULTS)
            if not check:
                have = elb.call("create target group %s" % tg["name"], "create_target_group", Name=tg["name"],
                                Protocol=tg["protocol"], Port=tg["port"], VpcId=p["vpc_id"], TargetType="ip",
                                Tags=tag_list, **tg_health(tg))["TargetGroups"][0]
                current_attrs = elb.attributes(tg["name"], "describe_target_group_attributes",
                                               TargetGroupArn=have["TargetGroupArn"])
        else:
            current_attrs = elb.attributes(tg["name"], "describe_target_group_attributes",
                                           TargetGroupArn=have["TargetGroupArn"])
            before["target_groups"][tg["name"]] = dict(
                dict((k, current_attrs.get(k)) for k in tg_attributes(tg)), health=have.get("HealthCheckPath"))
            health_now = {"HealthCheckPath": have.get("HealthCheckPath"), "Matcher": have.get("Matcher"),
                          "HealthCheckProtocol": have.get("HealthCheckProtocol"),
                          "HealthCheckEnabled": have.get("HealthCheckEnabled", True)}
            if health_now != tg_health(tg):
                actions.append("update the health check of %s" % tg["name"])
                if not check:
                    elb.call("update target group %s" % tg["name"], "modify_target_group",
                             TargetGroupArn=have["TargetGroupArn"], **tg_health(tg))
        tg_arns[tg["name"]] = have["TargetGroupArn"] if have else PLACEHOLDER
        changes = attribute_changes(tg_attributes(tg), current_attrs)
        if changes:
            actions.append("set %s on %s" % (", ".join("%s=%s" % kv for kv in sorted(changes.items())), tg["name"]))
            if not check:
                elb.call("set the attributes of %s" % tg["name"], "modify_target_group_attributes",
                         TargetGroupArn=have["TargetGroupArn"],
                         Attributes=[{"Key": k, "Value": v} for k, v in sorted(changes.items())])

    # The load balancer and its attributes.
    if lb is None:
        actions.append("create load balancer %s in %s" % (p["name"], ", ".join(p["subnets"])))
        if not check:
            lb = elb.call("create load balancer %s" % p["name"], "create_load_balancer", Name=p["name"],
                          Subnets=p["subnets"], SecurityGroups=p["security_groups"], Scheme="internet-facing",
                          Type="application", IpAddressType="ipv4", Tags=tag_list)["LoadBalancers"][0]
        # What AWS started it with; check mode plans against the documented defaults instead.
        current_attrs = dict(LB_DEFAULTS) if check else elb.attributes(
            p["name"], "describe_load_balancer_attributes", LoadBalancerArn=lb["LoadBalancerArn"])
    else:
        if sorted(lb.get("SecurityGroups", [])) != sorted(p["security_groups"]):
            actions.append("set the security groups of %s to %s" % (p["name"], ", ".join(p["security_groups"])))
            if not check:
                elb.call("set the security groups of %s" % p["name"], "set_security_groups",
                         LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=p["security_groups"])
        have_subnets = sorted(az["SubnetId"] for az in lb.get("AvailabilityZones", []))
        if have_subnets != sorted(p["subnets"]):
            actions.append("set the subnets of %s to %s" % (p["name"], ", ".join(p["subnets"])))
            if not check:
                elb.call("set the subnets of %s" % p["name"], "set_subnets", LoadBalancerArn=lb["LoadBalancerArn"],
                         Subnets=p["subnets"])
        current_attrs = elb.attributes(p["name"], "describe_load_balancer_attributes",
                                       LoadBalancerArn=lb["LoadBalancerArn"])
    before["attributes"] = dict((k, current_attrs.get(k)) for k in lb_attributes(p)) if lb else {}
    changes = attribute_changes(lb_attributes(p), current_attrs)
    if changes:
        actions.append("set %s on %s" % (", ".join("%s=%s" % kv for kv in sorted(changes.items())), p["name"]))
        if not check:
            elb.call("set the attributes of %s" % p["name"], "modify_load_balancer_attributes",
                     LoadBalancerArn=lb["LoadBalancerArn"],
                     Attributes=[{"Key": k, "Value": v} for k, v in sorted(changes.items())])

    # Listeners: 443 forwards to the default target group on the certificate; 80 redirects to 443.
    listeners = {}
    if lb is not None:
        for listener in elb.call("list the listeners of %s" % p["name"], "describe_listeners",
                                 LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            listeners[listener["Port"]] = listener
    https = {"Protocol": "HTTPS", "Type": "forward", "TargetGroupArn": tg_arns[p["default_target_group"]],
             "SslPolicy": p["ssl_policy"], "Certificate": p["certificate_arn"] or "(the certificates phase's)"}
    http = {"Protocol": "HTTP", "Type": "redirect", "Redirect": ("HTTPS", "443", "HTTP_301")}
    listener_args = {
        443: dict(Protocol="HTTPS", SslPolicy=p["ssl_policy"], Certificates=[{"CertificateArn": p["certificate_arn"]}],
                  DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arns[p["default_target_group"]]}]),
        80: dict(Protocol="HTTP", DefaultActions=[{"Type": "redirect", "RedirectConfig": {
            "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301", "Host": "#{host}", "Path": "/#{path}",
            "Query": "#{query}"}}]),
    }
    listener_arns = {}
    for port, wanted in ((443, https), (80, http)):
        have = listeners.get(port)
        after["listeners"][str(port)] = wanted
        if have is None:
            actions.append("create the %s listener on port %d" % (wanted["Protocol"], port))
            if not check:
                have = elb.call("create listener %d on %s" % (port, p["name"]), "create_listener",
                                LoadBalancerArn=lb["LoadBalancerArn"], Port=port, **listener_args[port])["Listeners"][0]
        else:
            before["listeners"][str(port)] = listener_shape(have)
            if listener_shape(have) != wanted:
                actions.append("update the %s listener on port %d" % (wanted["Protocol"], port))
                if not check:
                    elb.call("update listener %d of %s" % (port, p["name"]), "modify_listener",
                             ListenerArn=have["ListenerArn"], Port=port, **listener_args[port])
        listener_arns[str(port)] = have["ListenerArn"] if have else PLACEHOLDER

    # Host rules on the HTTPS listener: exactly the listed ones.
    wanted_rules = [(10 * (i + 1), sorted(h.lower().rstrip(".") for h in rule["hosts"]), tg_arns[rule["target_group"]])
                    for i, rule in enumerate(p["host_rules"])]
    after["rules"] = ["%d %s -> %s" % (prio, ",".join(hosts), rule["target_group"])
                      for (prio, hosts, tga), rule in zip(wanted_rules, p["host_rules"])]  # noqa: B905 - same list
    current_rules = []
    if listeners.get(443):
        current_rules = elb.call("list the rules of %s" % p["name"], "describe_rules",
                                 ListenerArn=listeners[443]["ListenerArn"])["Rules"]
        names = dict((arn, name) for name, arn in tg_arns.items())
        for rule in current_rules:
            if not rule.get("IsDefault"):
                hosts, target = rule_shape(rule)
                before["rules"].append("%s %s -> %s" % (rule["Priority"], ",".join(hosts), names.get(target, target)))
    create, modify, delete = rule_plan(wanted_rules, current_rules)

    def rule_args(hosts, tg_arn):
        return dict(Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": hosts}}],
                    Actions=[{"Type": "forward", "TargetGroupArn": tg_arn}])

    for rule_arn, priority in delete:
        actions.append("delete rule %d of the HTTPS listener" % priority)
        if not check:
            elb.call("delete rule %s" % rule_arn, "delete_rule", RuleArn=rule_arn)
    for rule_arn, priority, hosts, tg_arn in modify:
        actions.append("update rule %d: %s" % (priority, ", ".join(hosts)))
        if not check:
            elb.call("update rule %s" % rule_arn, "modify_rule", RuleArn=rule_arn, **rule_args(hosts, tg_arn))
    for priority, hosts, tg_arn in create:
        actions.append("create rule %d: %s" % (priority, ", ".join(hosts)))
        if not check:
            elb.call("create rule %d on %s" % (priority, p["name"]), "create_rule",
                     ListenerArn=listener_arns["443"], Priority=priority, Tags=tag_list, **rule_args(hosts, tg_arn))

    module.exit_json(changed=bool(actions), actions=actions, diff={"before": before, "after": after},
                     arn=lb["LoadBalancerArn"] if lb else "", dns_name=lb["DNSName"] if lb else "",
                     canonical_hosted_zone_id=lb.get("CanonicalHostedZoneId", "") if lb else "",
                     target_group_arns=tg_arns, listener_arns=listener_arns)


if __name__ == "__main__":
    main()
