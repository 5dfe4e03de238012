# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudWatch Logs groups the launch keeps - retention, KMS key, tags - planned the same way wherever a module makes
one (ecs_service for the services, ecs_one_off_task for a one-off task, log_groups for the web ACLs' groups). Pure.

The key: CloudWatch Logs takes only a key ARN (no alias) and answers ``kmsKeyId`` as that ARN, so the comparison is
exact. A group made before the key existed, or with another key, gets ``AssociateKmsKey``; with no key given the
group's encryption is left as it is (a module that does not know the key never undoes one that does). Log data
written before an association stays under the key it was written with - AWS does not re-encrypt it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from typing import Optional

from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan

# A KMS key's ARN as CloudWatch Logs takes it (an alias or a bare key id is refused by CreateLogGroup/AssociateKmsKey).
KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):[0-9]{12}:key/([0-9a-f-]{36}|mrk-[0-9a-f]{32})$")


def key_problem(key_arn: Optional[str], region: Optional[str], what: str = "log_kms_key_arn") -> Optional[str]:
    """None when ``key_arn`` is empty or a key ARN in ``region`` (a log group can only use a key of its own region)."""
    if not key_arn:
        return None
    m = KEY_ARN.match(str(key_arn))
    if not m:
        return ("%s %r is not accepted; accepted: a KMS key ARN such as arn:aws:kms:<region>:<account>:key/<key id>"
                " (CloudWatch Logs takes no alias)" % (what, key_arn))
    if region and m.group(1) != region:
        return ("%s %r is a key of %s; accepted: a key of the log group's region %s" % (what, key_arn, m.group(1), region))
    return None


def plan_group(plan: Plan, name: str, retention: int, key_arn: Optional[str], group: Optional[dict],
               tags: dict, service: str = "logs") -> None:
    """The steps that make log group ``name`` (``group``: its DescribeLogGroups entry, or None) keep ``retention``
    days and ``key_arn`` (None: leave the key alone). Tags are given when the group is made."""
    if group is None:
        kwargs = {"logGroupName": name, "tags": dict(tags)}
        text = "create log group %s" % name
        if key_arn:
            kwargs["kmsKeyId"] = key_arn
            text = "create log group %s encrypted with %s" % (name, key_arn)
        plan.call(service, "create_log_group", [text], "create log group %s" % name, **kwargs)
        plan.call(service, "put_retention_policy", ["keep log group %s for %d days" % (name, retention)],
                  "set the retention of log group %s" % name, logGroupName=name, retentionInDays=retention)
        return
    if group.get("retentionInDays") != retention:
        plan.call(service, "put_retention_policy", ["keep log group %s for %d days (was %s)"
                                                    % (name, retention, group.get("retentionInDays") or "forever")],
                  "set the retention of log group %s" % name, logGroupName=name, retentionInDays=retention)
    if key_arn and group.get("kmsKeyId") != key_arn:
        plan.call(service, "associate_kms_key", ["encrypt log group %s with %s (was %s)"
                                                 % (name, key_arn, group.get("kmsKeyId") or "CloudWatch Logs' own key")],
                  "associate key %s with log group %s" % (key_arn, name), logGroupName=name, kmsKeyId=key_arn)


def group_view(group: Optional[dict]) -> dict:
    """What is kept of a group, for diff.before / diff.after."""
    if group is None:
        return {}
    return {"retention_days": group.get("retentionInDays"), "kms_key_id": group.get("kmsKeyId") or ""}


def planned_group(group: Optional[dict], retention: int, key_arn: Optional[str]) -> dict:
    """The group's view once the plan is made."""
    return {"retention_days": retention,
            "kms_key_id": key_arn or ((group or {}).get("kmsKeyId") or "")}
