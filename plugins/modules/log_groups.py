#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: log_groups
short_description: Keep a set of CloudWatch Logs groups - retention, KMS key and tags - in one call
version_added: 0.3.0
description:
  - Keeps, in one call and one region, every listed log group with its retention and KMS key - a group that does not
    exist is made with both, an existing group with another retention gets it, an existing group with another key or
    none is associated with O(kms_key_arn) (AssociateKmsKey; events logged before keep the key they were written with).
  - Only the listed groups are read or touched; groups not listed are never changed or deleted.
  - Tags from O(tags) (and C(managed-by=directfanz.launch)) are added when they are missing or differ; tags it did not
    set are never removed.
  - Why not C(amazon.aws.cloudwatchlogs_log_group) - it sets a key only when it creates a group (an existing group
    keeps no key or its old one), and it is one task per group.
author: DirectFanz platform team (@directfanz)
options:
  groups:
    description: The log groups to keep.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The group's name, 1-512 letters, digits, C(.), C(-), C(_), C(/) or C(#).
        type: str
        required: true
      retention_days:
        description: Days events are kept, one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...).
        type: int
        required: true
  kms_key_arn:
    description:
      - The ARN of the KMS key (in the module's region) the groups are encrypted with; CloudWatch Logs takes no alias.
      - Its policy must let C(logs.<region>.amazonaws.com) use it for these groups (the launch's operations key does).
      - Omitted, the groups' encryption is left as it is.
    type: str
  tags:
    description: Tags on the groups (C(managed-by) is always added).
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads the groups and returns the planned RV(actions) and C(changed); changes nothing.
  diff_mode:
    support: full
    description: Returns each listed group's retention, key and tags, before and after.
"""

EXAMPLES = r"""
- name: Keep the web ACL's log group under the operations key
  directfanz.launch.log_groups:
    groups:
      - name: aws-waf-logs-directfanz-regional
        retention_days: 90
    kms_key_arn: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    tags:
      project: directfanz
    region: eu-west-1
  register: waf_logs
"""

RETURN = r"""
log_groups:
  description: The listed groups after the run (in check mode, as planned), in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The group's name.
      type: str
    arn:
      description: The group's ARN without CloudWatch Logs' trailing C(:*) (what WAF and other services take).
      type: str
    retention_days:
      description: Days events are kept.
      type: int
    kms_key_id:
      description: The key's ARN, or empty when the group uses CloudWatch Logs' own key.
      type: str
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["encrypt log group aws-waf-logs-x with arn:aws:kms:eu-west-1:123456789012:key/1 (was CloudWatch Logs' own key)"]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.ecs import LOG_GROUP, RETENTION_DAYS
from ansible_collections.directfanz.launch.plugins.module_utils.log_groups import (
    group_view, key_problem, plan_group, planned_group)
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, aws_pages, aws_read, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")


def input_problems(p, region):
    """Everything wrong with the input, each saying what is accepted; no API call."""
    problems = []
    groups = p.get("groups") or []
    if not groups:
        problems.append("groups is empty; accepted: a list of {name, retention_days}")
    seen = set()
    for index, group in enumerate(groups):
        name = group.get("name") or ""
        if not LOG_GROUP.match(name):
            problems.append("groups[%d]: name %r is not accepted; accepted: 1-512 letters, digits, '.', '-', '_', '/'"
                            " or '#'" % (index, name))
        if name in seen:
            problems.append("log group %r is listed twice; accepted: each group once" % name)
        seen.add(name)
        if group.get("retention_days") not in RETENTION_DAYS:
            problems.append("groups[%d] (%s): retention_days %r is not accepted; accepted: %s" % (
                index, name, group.get("retention_days"), ", ".join(str(d) for d in RETENTION_DAYS)))
    problem = key_problem(p.get("kms_key_arn"), region, "kms_key_arn")
    if problem:
        problems.append(problem)
    for key, value in (p.get("tags") or {}).items():
        if not 1 <= len(str(key)) <= 128 or str(key).lower().startswith("aws:"):
            problems.append("tag key %r is not valid; accepted: 1-128 characters, not starting with 'aws:'" % (key,))
        if value is None or len(str(value)) > 256:
            problems.append("tag %r has value %r; accepted: a string of at most 256 characters" % (key, value))
    if not region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    return problems


def desired_tags(tags):
    return dict(((str(k), str(v)) for k, v in (tags or {}).items()), **{MANAGED_TAG[0]: MANAGED_TAG[1]})


def plan_groups(p, observed, ctx):
    """The plan for every listed group. ``observed``: name -> {group (DescribeLogGroups entry or None), tags};
    ``ctx``: ``arn`` (name -> the group's ARN). Pure."""
    plan = Plan()
    tags = desired_tags(p.get("tags"))
    for group in p["groups"]:
        name = group["name"]
        found = observed[name]
        plan_group(plan, name, group["retention_days"], p.get("kms_key_arn"), found["group"], tags)
        if found["group"] is None:
            continue
        missing = dict((k, v) for k, v in tags.items() if found["tags"].get(k) != v)
        if missing:
            plan.call("logs", "tag_resource", ["tag log group %s (%s)" % (
                name, ", ".join("%s=%s" % kv for kv in sorted(missing.items())))],
                "tag log group %s" % name, resourceArn=ctx["arn"][name], tags=missing)
    return plan


def views(p, observed):
    """(diff.before, diff.after) of the listed groups."""
    tags = desired_tags(p.get("tags"))
    before, after = {}, {}
    for group in p["groups"]:
        name, found = group["name"], observed[group["name"]]
        if found["group"] is not None:
            before[name] = dict(group_view(found["group"]), tags=found["tags"])
        after[name] = dict(planned_group(found["group"], group["retention_days"], p.get("kms_key_arn")),
                           tags=dict(found["tags"], **tags))
    return before, after


def read_group(module, logs, name, arn):
    found = None
    for entry in aws_pages(module, logs, "read log group %s" % name, "describe_log_groups", "logGroups",
                           token="nextToken", logGroupNamePrefix=name):
        if entry["logGroupName"] == name:
            found = entry
    if found is None:
        return {"group": None, "tags": {}}
    answer = aws_read(module, logs, "read the tags of log group %s" % name, "list_tags_for_resource",
                      resourceArn=arn) or {}
    return {"group": found, "tags": answer.get("tags") or {}}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            groups=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                retention_days=dict(type="int", required=True),
            )),
            kms_key_arn=dict(type="str", no_log=False),
            tags=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p, module.region)
    if problems:
        module.fail_json(msg="log_groups refused the input: %s" % "; ".join(problems), problems=problems)

    clients = dict((s, retrying_client(module, s, retries=8, max_delay=20)) for s in ("sts", "logs"))
    identity = aws_call(module, clients["sts"], "read the account id with STS GetCallerIdentity", "get_caller_identity")
    partition, account = identity["Arn"].split(":")[1], identity["Account"]
    ctx = {"arn": dict((g["name"], "arn:%s:logs:%s:%s:log-group:%s" % (partition, module.region, account, g["name"]))
                       for g in p["groups"])}
    observed = dict((g["name"], read_group(module, clients["logs"], g["name"], ctx["arn"][g["name"]]))
                    for g in p["groups"])
    plan = plan_groups(p, observed, ctx)
    refuse(module, "log_groups", plan)
    diff = None
    if module._diff:
        before, after = views(p, observed)
        diff = {"before": before, "after": after}
    apply(module, plan, clients)
    unused_before, after = views(p, observed)
    finish(module, plan, diff, log_groups=[
        {"name": g["name"], "arn": ctx["arn"][g["name"]], "retention_days": after[g["name"]]["retention_days"],
         "kms_key_id": after[g["name"]]["kms_key_id"]} for g in p["groups"]])


if __name__ == "__main__":
    main()
