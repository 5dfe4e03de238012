#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ecs_rollback
short_description: Return an ECS service to an earlier ACTIVE task definition revision, circuit breaker still on
version_added: 0.3.0
description:
  - Moves one service back to the revision before the family's latest C(ACTIVE) revision, or to O(revision). The
    deployment is an ordinary rolling one - the circuit breaker with rollback stays on, tasks of the earlier revision
    start and register into the same target groups before the current ones drain, so traffic follows the tasks.
  - Idempotent - a service already on a revision older than the family's latest (it was rolled back) is left alone
    unless O(revision) names another one, and a service on O(revision) is left alone.
  - Deregisters nothing, changes no other setting and never the desired count.
  - The next site run compares the inventory with the revision the service runs first - put the inventory back to what
    that revision runs (the image tag), or the site run rolls forward again.
author: DirectFanz platform team (@directfanz)
options:
  cluster:
    description: The ECS cluster.
    type: str
    required: true
  service:
    description: The ECS service.
    type: str
    required: true
  revision:
    description: The revision to return to; the one before the family's latest C(ACTIVE) revision when not given.
    type: int
  wait:
    description: Wait for the rollback's deployment to complete (fails when it is rolled back or fails).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1200
  wait_delay:
    description: Seconds between reads while waiting.
    type: int
    default: 15
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads and returns the planned RV(actions); changes nothing.
  diff_mode:
    support: full
    description: Returns the revision before and after.
"""

EXAMPLES = r"""
- name: Return web to the revision before its latest
  directfanz.launch.ecs_rollback:
    cluster: directfanz
    service: web
"""

RETURN = r"""
task_definition_arn:
  description: The revision the service runs after the run.
  returned: always
  type: str
previous_task_definition_arn:
  description: The revision it ran before.
  returned: always
  type: str
actions:
  description: What was done (in check mode, what would be done).
  returned: always
  type: list
  elements: str
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_pages, aws_read, finish, refuse, retrying_client)
from ansible_collections.directfanz.launch.plugins.module_utils.ecs import wait_for

NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def revision_of(arn):
    fam, dummy, rev = (arn or "").rsplit("/", 1)[-1].rpartition(":")
    return fam, int(rev) if rev.isdigit() else None


def plan_rollback(p, svc, active):
    """``svc``: the DescribeServices entry or None; ``active``: the family's ACTIVE revisions, number -> ARN."""
    plan = Plan()
    if svc is None:
        plan.problems.append("service %s does not exist in cluster %s" % (p["service"], p["cluster"]))
        return plan, None
    family, current = revision_of(svc.get("taskDefinition"))
    breaker = (svc.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}
    if not (breaker.get("enable") and breaker.get("rollback")):
        plan.warnings.append("service %s has no deployment circuit breaker with rollback; the site run (ecs_service) "
                             "turns it back on" % p["service"])
    latest = max(active) if active else None
    if p.get("revision") is not None:
        target = p["revision"]
        if target not in active:
            plan.problems.append("revision %d of %s is not ACTIVE; accepted: %s" % (
                target, family, ", ".join(str(r) for r in sorted(active)) or "none"))
            return plan, None
    elif current is not None and latest is not None and current < latest:
        return plan, svc["taskDefinition"]  # already rolled back
    else:
        older = [r for r in active if current is not None and r < current]
        if not older:
            plan.problems.append("service %s runs %s:%s and no earlier ACTIVE revision exists to return to"
                                 % (p["service"], family, current))
            return plan, None
        target = max(older)
    if target == current:
        return plan, svc["taskDefinition"]
    text = "return service %s from %s:%s to %s:%d" % (p["service"], family, current, family, target)
    plan.add("update_ecs_service", [text],
             kwargs={"cluster": p["cluster"], "service": p["service"], "taskDefinition": active[target]})
    return plan, active[target]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(cluster=dict(type="str", required=True), service=dict(type="str", required=True),
                           revision=dict(type="int"), wait=dict(type="bool", default=False),
                           wait_timeout=dict(type="int", default=1200), wait_delay=dict(type="int", default=15)),
        supports_check_mode=True,
    )
    p = module.params
    problems = ["%s %r is not accepted; accepted: letters, digits, hyphens or underscores" % (k, p[k])
                for k in ("cluster", "service") if not NAME.match(p[k] or "")]
    if p.get("revision") is not None and p["revision"] < 1:
        problems.append("revision %r is not accepted; accepted: a revision number from 1" % p["revision"])
    if problems:
        module.fail_json(msg="ecs_rollback refused the input: %s" % "; ".join(problems), problems=problems)
    ecs = retrying_client(module, "ecs", retries=8, max_delay=20)
    answer = aws_read(module, ecs, "read service %s" % p["service"], "describe_services",
                      missing=("ClusterNotFoundException",), cluster=p["cluster"], services=[p["service"]])
    found = [s for s in (answer or {}).get("services") or [] if s.get("status") == "ACTIVE"]
    svc = found[0] if found else None
    active = {}
    if svc is not None:
        family = revision_of(svc.get("taskDefinition"))[0]
        for arn in aws_pages(module, ecs, "list the revisions of %s" % family, "list_task_definitions",
                             "taskDefinitionArns", familyPrefix=family, status="ACTIVE"):
            fam, rev = revision_of(arn)
            if fam == family and rev is not None:
                active[rev] = arn
    plan, target = plan_rollback(p, svc, active)
    refuse(module, "ecs_rollback", plan)
    deployments = {}

    def update(step, real):
        made = ecs.update_service(aws_retry=True, **step["kwargs"])["service"]
        primary = [d.get("id") for d in made.get("deployments") or [] if d.get("status") == "PRIMARY"]
        deployments[p["service"]] = (primary[0] if primary else None, step["kwargs"]["taskDefinition"])
        return made["serviceArn"]

    apply(module, plan, {"ecs": ecs}, handlers={"update_ecs_service": update})
    if p["wait"] and deployments and not module.check_mode:
        wait_for(module, ecs, p, deployments)
    before = (svc or {}).get("taskDefinition")
    finish(module, plan, {"before": {"task_definition": before}, "after": {"task_definition": target}},
           task_definition_arn=target, previous_task_definition_arn=before)


if __name__ == "__main__":
    main()
