# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canonical views of what S3 and IAM answer, so a module compares what it wants with what it read and sees only
real differences: a policy document (JSON text or a mapping; actions and condition keys in lower case, lists as
sorted sets, statements sorted) and a bucket's lifecycle rules (the fields the launch sets). Pure; shared by the
security baseline and the logging modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def as_list(value):
    return list(value) if isinstance(value, list) else [value]


def normalise_policy(policy):
    """A policy (dict or JSON text) where equal meaning compares equal: single values as lists, lists sorted, action
    names and condition keys in lower case, statements sorted, Id dropped; None for no policy."""
    if policy is None or policy == "":
        return None
    if isinstance(policy, str):
        policy = json.loads(policy)
    statements = policy.get("Statement", [])
    out = []
    for statement in as_list(statements):
        s = {}
        for key, value in statement.items():
            if key in ("Action", "NotAction"):
                s[key] = sorted(set(a.lower() for a in as_list(value)))
            elif key in ("Resource", "NotResource"):
                s[key] = sorted(set(as_list(value)))
            elif key in ("Principal", "NotPrincipal"):
                value = {"AWS": "*"} if value == "*" else value
                s[key] = dict((kind, sorted(set(as_list(ids)))) for kind, ids in value.items())
            elif key == "Condition":
                s[key] = dict((op, dict((ck.lower(), sorted(set(str(v) for v in as_list(cv))))
                                        for ck, cv in conds.items())) for op, conds in value.items())
            else:
                s[key] = value
        out.append(s)
    return {"Version": policy.get("Version", "2008-10-17"),
            "Statement": sorted(out, key=lambda s: (str(s.get("Sid", "")), json.dumps(s, sort_keys=True)))}


def lifecycle_view(rules):
    """The fields we set of the lifecycle rules, comparable between a request and a GetBucketLifecycleConfiguration
    answer (which may spell the filter or omit empty fields differently)."""
    out = {}
    for rule in rules or []:
        prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix"))
        out[rule.get("ID")] = {
            "status": rule.get("Status"), "prefix": prefix,
            "transitions": sorted((t.get("Days"), t.get("StorageClass")) for t in rule.get("Transitions") or []),
            "expiration": (rule.get("Expiration") or {}).get("Days"),
            "noncurrent": (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
            "abort": (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation")}
    return out
