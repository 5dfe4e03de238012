#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: long_creates
short_description: Wait, together, for the launch's long creates - RDS instances, replication groups, distributions
version_added: 0.3.0
description:
  - A Multi-AZ RDS instance, an ElastiCache replication group and a CloudFront distribution each take 5-20 minutes
    to become ready on AWS. The phases that make them only start them; this read-only module, run just before the
    first task that needs them, polls all of them in one loop until every one is ready, so a launch takes about the
    longest single create, not their sum.
  - Returns the critical path - each long create with when it was started (as AWS reports it) and when it was
    seen ready - and what the later tasks need (the database and cache endpoints).
  - A resource that failed (C(failed), C(create-failed), C(incompatible-*)) stops the wait at once, naming it.
    A resource that does not exist is reported as C(absent) and not waited for (check mode on a new account, or
    a phase that was not run).
  - In check mode it reads once and never waits.
author: DirectFanz platform team (@directfanz)
options:
  db_instances:
    description: Identifiers of RDS instances to wait for (status C(available)).
    type: list
    elements: str
    default: []
  replication_groups:
    description: Ids of ElastiCache replication groups to wait for (status C(available)).
    type: list
    elements: str
    default: []
  distributions:
    description: C(launch-distribution) names of our CloudFront distributions to wait for (status C(Deployed)).
    type: list
    elements: str
    default: []
  wait_timeout:
    description: Seconds to wait for all of them together.
    type: int
    default: 2400
  poll_interval:
    description: Seconds between two rounds of reads.
    type: int
    default: 10
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Read-only; in check mode it reads once and does not wait.
  diff_mode:
    support: none
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Wait for the database, the cache and the distribution together
  directfanz.launch.long_creates:
    db_instances: [directfanz-db]
    replication_groups: [directfanz-redis]
    distributions: [directfanz]
  register: ready
"""

RETURN = r"""
resources:
  description:
    - One entry per resource - C(kind) (rds, redis, cloudfront), C(id), C(status), C(started) (ISO time AWS gives,
      or empty), C(ready_after) (seconds from the start of this wait until it was seen ready; 0 when it was ready
      already), C(endpoint) and C(port) where the resource has them.
  returned: always
  type: list
  elements: dict
critical_path:
  description: One line per resource, slowest last - what a person reads to see where the launch spent its time.
  returned: always
  type: list
  elements: str
waited:
  description: Seconds this task waited.
  returned: always
  type: float
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.directfanz.launch.plugins.module_utils import cloudfront
from ansible_collections.directfanz.launch.plugins.module_utils.plan import aws_read, retrying_client

READY = {"rds": ("available",), "redis": ("available",), "cloudfront": ("Deployed",)}
FAILED = {"rds": ("failed", "incompatible-parameters", "incompatible-network", "incompatible-restore",
                  "storage-full", "inaccessible-encryption-credentials"),
          "redis": ("create-failed",), "cloudfront": ()}


def iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def read_rds(module, rds, ident):
    answer = aws_read(module, rds, "read db instance %s" % ident, "describe_db_instances",
                      missing=("DBInstanceNotFound", "DBInstanceNotFoundFault"), DBInstanceIdentifier=ident)
    if not answer or not answer.get("DBInstances"):
        return {"kind": "rds", "id": ident, "status": "absent", "started": ""}
    db = answer["DBInstances"][0]
    endpoint = db.get("Endpoint") or {}  # AWS gives none until the instance is made
    return {"kind": "rds", "id": ident, "status": db.get("DBInstanceStatus", ""),
            "started": iso(db.get("InstanceCreateTime")), "endpoint": endpoint.get("Address", ""),
            "port": endpoint.get("Port", 0)}


def read_redis(module, cache, ident):
    answer = aws_read(module, cache, "read replication group %s" % ident, "describe_replication_groups",
                      missing=("ReplicationGroupNotFoundFault",), ReplicationGroupId=ident)
    if not answer or not answer.get("ReplicationGroups"):
        return {"kind": "redis", "id": ident, "status": "absent", "started": ""}
    group = answer["ReplicationGroups"][0]
    primary = {}
    for node_group in group.get("NodeGroups") or []:
        primary = node_group.get("PrimaryEndpoint") or primary
    return {"kind": "redis", "id": ident, "status": group.get("Status", ""),
            "started": iso(group.get("ReplicationGroupCreateTime")), "endpoint": primary.get("Address", ""),
            "port": primary.get("Port", 0)}


def read_distribution(module, dists, name):
    ours = cloudfront.find(dists, name, [])[0]
    if ours is None:
        return {"kind": "cloudfront", "id": name, "status": "absent", "started": ""}
    return {"kind": "cloudfront", "id": name, "status": ours.get("Status", ""), "started": iso(ours.get("LastModifiedTime")),
            "endpoint": ours.get("DomainName", "").lower(), "distribution_id": ours["Id"]}


def critical_path(resources):
    """Slowest last: the one the launch waited for is the bottom line."""
    lines = []
    for r in sorted(resources, key=lambda r: (r.get("ready_after", -1), r["kind"], r["id"])):
        if r["status"] == "absent":
            lines.append("%s %s: absent (not started by this run)" % (r["kind"], r["id"]))
            continue
        ready = ("ready after %.0f s of waiting" % r["ready_after"] if r.get("ready_after") else "ready already"
                 ) if r["status"] in READY[r["kind"]] else "still %s" % r["status"]
        lines.append("%s %s: started %s, %s" % (r["kind"], r["id"], r["started"] or "(time not given)", ready))
    return lines


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            db_instances=dict(type="list", elements="str", default=[]),
            replication_groups=dict(type="list", elements="str", default=[]),
            distributions=dict(type="list", elements="str", default=[]),
            wait_timeout=dict(type="int", default=2400),
            poll_interval=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["wait_timeout"] < 0 or p["poll_interval"] < 1:
        module.fail_json(msg="long_creates: wait_timeout must be 0 or more and poll_interval 1 or more seconds (got %s"
                             " and %s)" % (p["wait_timeout"], p["poll_interval"]))
    readers = []
    if p["db_instances"]:
        rds = retrying_client(module, "rds")
        readers += [lambda i=i: read_rds(module, rds, i) for i in p["db_instances"]]
    if p["replication_groups"]:
        cache = retrying_client(module, "elasticache")
        readers += [lambda i=i: read_redis(module, cache, i) for i in p["replication_groups"]]
    if p["distributions"]:
        dists = cloudfront.Distributions(module)
        readers += [lambda i=i: read_distribution(module, dists, i) for i in p["distributions"]]

    started = time.monotonic()
    deadline = started + p["wait_timeout"]
    done = {}
    first_round = True
    while True:
        pending = []
        for index, read in enumerate(readers):
            if index in done:
                continue
            r = read()
            if r["status"] in FAILED[r["kind"]]:
                module.fail_json(msg="%s %s is %s: it will not become ready; see its events in the console, fix the"
                                     " cause and run again" % (r["kind"], r["id"], r["status"]), resources=[r])
            if r["status"] == "absent" or r["status"] in READY[r["kind"]]:
                r["ready_after"] = 0 if first_round or r["status"] == "absent" else round(time.monotonic() - started, 1)
                done[index] = r
            else:
                pending.append(r)
        first_round = False
        if not pending or module.check_mode:
            break
        if time.monotonic() >= deadline:
            resources = list(done.values()) + pending
            behind = ", ".join("%s %s (%s)" % (r["kind"], r["id"], r["status"]) for r in pending)
            module.fail_json(msg="still not ready after %d s: %s; they go on by themselves - run again later or raise"
                                 " wait_timeout" % (p["wait_timeout"], behind),
                             resources=resources, critical_path=critical_path(resources))
        time.sleep(min(float(p["poll_interval"]), max(0.5, deadline - time.monotonic())))
    resources = [done[i] for i in sorted(done)] + pending
    module.exit_json(changed=False, resources=resources, critical_path=critical_path(resources),
                     waited=round(time.monotonic() - started, 1))


if __name__ == "__main__":
    main()
