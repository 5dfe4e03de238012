#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: route53_health_checks
short_description: Route 53 HTTPS health checks with a string match, kept as a set in one call
version_added: 0.9.0
description:
  - Keeps the launch's Route 53 health checks (requirement 6.3) - one per listed endpoint, found again by its C(Name)
    tag - in one invocation - every health check and its tags read first, then one plan, then the writes.
  - A check whose mutable settings differ (path, port, search string, failure threshold, SNI, disabled) is updated
    in place with C(UpdateHealthCheck); one whose type or request interval differs (Route 53 cannot change them) is
    replaced - deleted and created, which the plan says. Checks this module made (tag C(managed-by=directfanz.launch)
    and the O(prefix)) that are no longer listed are deleted when O(purge) is true.
  - Route 53's default checker regions are used (no C(Regions)) - every region checks, and a custom list could not be
    verified against the sandbox (moto forgets C(Regions) on C(UpdateHealthCheck)).
  - moto does not evaluate health checks (it answers every status request with success), so the configuration is what
    the sandbox verifies.
author: DirectFanz platform team (@directfanz)
options:
  prefix:
    description: Every check's C(Name) tag starts with it (the launch's name); purge looks only at checks with it.
    type: str
    required: true
  checks:
    description: The health checks.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The check's name (its C(Name) tag is C(<prefix>-<name>)); lower-case letters, digits, hyphens.
        type: str
        required: true
      fqdn:
        description: The host name checked (sent as SNI and Host).
        type: str
        required: true
      path:
        description: The request path, starting with C(/).
        type: str
        default: /
      port:
        description: The port.
        type: int
        default: 443
      search_string:
        description: Text the first 5120 bytes of the answer must contain (C(HTTPS_STR_MATCH)); empty for C(HTTPS).
        type: str
        default: ""
      request_interval:
        description: Seconds between checks from each checker, C(10) (fast, billed more) or C(30).
        type: int
        default: 30
      failure_threshold:
        description: Consecutive failures (1-10) before a checker counts the endpoint as unhealthy.
        type: int
        default: 3
  tags:
    description: Tags added to every check (besides C(Name) and C(managed-by)).
    type: dict
    default: {}
  purge:
    description: Delete checks of this prefix made by this module that are no longer listed.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads every health check and its tags and returns the planned RV(actions); changes nothing.
  diff_mode:
    support: full
    description: Each check of the prefix (its settings), before and after.
"""

EXAMPLES = r"""
- name: The apex and api health checks
  directfanz.launch.route53_health_checks:
    prefix: directfanz-production
    checks:
      - {name: apex, fqdn: directfanz.io, path: /api/health, search_string: ok}
      - {name: api, fqdn: api.directfanz.io, path: /health, search_string: ok}
"""

RETURN = r"""
checks:
  description: Per listed check (by name) its id (C((new health check NAME)) in check mode before it exists) and its
    C(Name) tag - what alarms on C(AWS/Route53 HealthCheckStatus) and failover records need.
  returned: always
  type: dict
actions:
  description: One line per change made (or planned in check mode).
  returned: always
  type: list
  elements: str
"""

import re
import uuid

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.health_checks import MANAGED, read_health_checks
from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan, apply, finish, refuse, retrying_client

CHECK_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
FQDN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
# What UpdateHealthCheck can change; the rest (type, interval) needs a new check.
MUTABLE = ("FullyQualifiedDomainName", "ResourcePath", "Port", "SearchString", "FailureThreshold", "EnableSNI",
           "Disabled", "Inverted")
IMMUTABLE = ("Type", "RequestInterval")


def input_problems(p):
    problems = []
    if not CHECK_NAME.match(p["prefix"] or ""):
        problems.append("prefix %r is not accepted; accepted: lower-case letters, digits and hyphens" % p["prefix"])
    seen = set()
    for i, c in enumerate(p["checks"]):
        label = "checks[%d] (%s)" % (i, c["name"])
        if not CHECK_NAME.match(c["name"] or ""):
            problems.append("%s: the name is not accepted; accepted: lower-case letters, digits and hyphens" % label)
        if c["name"] in seen:
            problems.append("%s: the name is listed twice" % label)
        seen.add(c["name"])
        if not FQDN.match(c["fqdn"] or ""):
            problems.append("%s: fqdn %r is not a host name; accepted: for example api.directfanz.io" % (label, c["fqdn"]))
        if not (c["path"] or "").startswith("/") or len(c["path"]) > 255 or " " in c["path"]:
            problems.append("%s: path %r is not accepted; accepted: an absolute path of at most 255 characters"
                            % (label, c["path"]))
        if not 1 <= c["port"] <= 65535:
            problems.append("%s: port %r is not a port; accepted: 1-65535" % (label, c["port"]))
        if len(c["search_string"] or "") > 255:
            problems.append("%s: search_string has %d characters; accepted: at most 255" % (label, len(c["search_string"])))
        if c["request_interval"] not in (10, 30):
            problems.append("%s: request_interval %r is not accepted; accepted: 10 or 30 seconds"
                            % (label, c["request_interval"]))
        if not 1 <= c["failure_threshold"] <= 10:
            problems.append("%s: failure_threshold %r is not accepted; accepted: 1-10" % (label, c["failure_threshold"]))
    return problems


def wanted_config(c):
    config = {"Type": "HTTPS_STR_MATCH" if c["search_string"] else "HTTPS", "FullyQualifiedDomainName": c["fqdn"],
              "Port": c["port"], "ResourcePath": c["path"], "RequestInterval": c["request_interval"],
              "FailureThreshold": c["failure_threshold"], "EnableSNI": True, "Disabled": False, "Inverted": False}
    if c["search_string"]:
        config["SearchString"] = c["search_string"]
    return config


def tag_name(p, c):
    return "%s-%s" % (p["prefix"], c["name"])


def plan_checks(p, observed, reference=lambda name: name):
    """The Plan. ``observed``: Name tag -> {id, version, config, managed}; ``reference`` makes a CallerReference."""
    plan = Plan()
    ids = {}
    wanted_tags = dict((str(k), str(v)) for k, v in (p.get("tags") or {}).items())
    wanted_tags[MANAGED[0]] = MANAGED[1]
    for c in p["checks"]:
        name = tag_name(p, c)
        want = wanted_config(c)
        have = observed.get(name)
        replace = have and [k for k in IMMUTABLE if have["config"].get(k) != want[k]]
        if replace:
            plan.call("route53", "delete_health_check", ["delete health check %s to make it again (%s cannot change)"
                                                         % (name, ", ".join(replace))],
                      "delete health check %s" % name, HealthCheckId=have["id"])
            have = None
        if have is None:
            ids[c["name"]] = plan.call("route53", "create_health_check", ["create health check %s: %s https://%s:%d%s%s"
                                                                          % (name, want["Type"], c["fqdn"], c["port"],
                                                                             c["path"], (" contains %r" % c["search_string"])
                                                                             if c["search_string"] else "")],
                                       "create health check %s" % name, out="health check %s" % name,
                                       pick=["HealthCheck", "Id"], CallerReference=reference(name),
                                       HealthCheckConfig=want)
            plan.call("route53", "change_tags_for_resource", ["tag health check %s" % name], "tag health check %s" % name,
                      ResourceType="healthcheck", ResourceId=ids[c["name"]],
                      AddTags=[{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v}
                                                                  for k, v in sorted(wanted_tags.items())])
            continue
        ids[c["name"]] = have["id"]
        changes = dict((k, want.get(k)) for k in MUTABLE if k in want and have["config"].get(k) != want.get(k))
        if "SearchString" not in want and have["config"].get("SearchString"):
            changes["SearchString"] = ""
        if changes:
            plan.call("route53", "update_health_check", ["update health check %s: %s" % (
                name, ", ".join("%s %r -> %r" % (k, have["config"].get(k), v) for k, v in sorted(changes.items())))],
                "update health check %s" % name, HealthCheckId=have["id"], HealthCheckVersion=have["version"],
                **changes)
        missing = dict((k, v) for k, v in wanted_tags.items() if have["tags"].get(k) != v)
        if missing:
            plan.call("route53", "change_tags_for_resource", ["tag health check %s" % name], "tag health check %s" % name,
                      ResourceType="healthcheck", ResourceId=have["id"],
                      AddTags=[{"Key": k, "Value": v} for k, v in sorted(missing.items())])
    if p["purge"]:
        listed = set(tag_name(p, c) for c in p["checks"])
        for name in sorted(observed):
            if name not in listed and observed[name]["managed"] and name.startswith(p["prefix"] + "-"):
                plan.call("route53", "delete_health_check", ["delete health check %s (no longer listed)" % name],
                          "delete health check %s" % name, HealthCheckId=observed[name]["id"])
    return plan, ids


def view(observed, prefix):
    return dict((name, dict((k, v) for k, v in sorted(o["config"].items()) if k in MUTABLE + IMMUTABLE))
                for name, o in sorted(observed.items()) if name.startswith(prefix + "-"))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            prefix=dict(type="str", required=True),
            checks=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                fqdn=dict(type="str", required=True),
                path=dict(type="str", default="/"),
                port=dict(type="int", default=443),
                search_string=dict(type="str", default=""),
                request_interval=dict(type="int", default=30),
                failure_threshold=dict(type="int", default=3),
            )),
            tags=dict(type="dict", default={}),
            purge=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if problems:
        module.fail_json(msg="route53_health_checks refused the input: %s (no AWS call was made)" % "; ".join(problems),
                         problems=problems)
    client = retrying_client(module, "route53")
    observed = read_health_checks(module, client)
    plan, ids = plan_checks(p, observed, reference=lambda name: "%s-%s" % (name, uuid.uuid4().hex[:12]))
    refuse(module, "route53_health_checks", plan)
    real = apply(module, plan, clients={"route53": client})
    wanted = dict((tag_name(p, c), dict((k, v) for k, v in sorted(wanted_config(c).items()))) for c in p["checks"])
    finish(module, plan, diff={"before": view(observed, p["prefix"]), "after": wanted},
           checks=dict((c["name"], {"id": real(ids[c["name"]]), "name": tag_name(p, c), "fqdn": c["fqdn"]})
                       for c in p["checks"]))


if __name__ == "__main__":
    main()
