# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Least privilege, checked before a policy is written (requirement 9.3): `iam_policy_problems` runs parliament (with
its community auditors) over a policy document and adds our own rule - no Allow statement grants every action of a
service (``*``, ``svc:*``, NotAction) or any resource (``*``, NotResource) unless every action in it is one AWS documents
as having no resource type (the allowlist below, each entry with its reason) - and answers the problems as sentences,
[] when there are none. A role asserts the answer is empty before its IAM call; the tests run it over every policy the
launch writes.

Policy kinds, because the same words mean different things:
  - ``identity`` (a role's inline policy): the rules above as they stand;
  - ``trust`` (a role's assume-role policy): no Resource element exists, so parliament's "neither Resource nor
    NotResource" is not a problem; a ``*`` principal without a condition is;
  - ``resource`` (bucket, topic, secret policies): a ``*`` principal on Allow needs a condition;
  - ``key`` (a KMS key policy): ``Resource: "*"`` means "this key" (AWS: key policies can only name the key they are
    on), so neither parliament's RESOURCE_STAR nor our resource rule applies; the action and principal rules do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError

# Actions that accept no resource but "*" (the Service Authorization Reference lists no resource type for them), so a
# statement granting them on "*" is as narrow as IAM allows. Keep it short; each entry says why it is here.
RESOURCELESS = {
    "ecr:getauthorizationtoken": "the registry's login token is account-wide; what can be pulled with it is limited"
                                 " by the role's ecr:BatchGetImage statements on named repositories",
    "sts:getcalleridentity": "answers who the caller is; needs no permission at all and has no resource",
    "cloudwatch:putmetricdata": "custom metrics have no ARN; narrow with the cloudwatch:namespace condition",
    "xray:puttracesegments": "X-Ray segments have no resource type",
    "xray:puttelemetryrecords": "X-Ray telemetry has no resource type",
    "ssmmessages:createcontrolchannel": "ECS Exec's channels have no resource type",
    "ssmmessages:createdatachannel": "ECS Exec's channels have no resource type",
    "ssmmessages:opencontrolchannel": "ECS Exec's channels have no resource type",
    "ssmmessages:opendatachannel": "ECS Exec's channels have no resource type",
}

# parliament findings we accept for named actions, with the reason (the finding stays for every other action).
# Each: (issue, action) -> (the policy kinds it is accepted in, why).
ACCEPTED_FINDINGS = {
    ("CREDENTIALS_EXPOSURE", "ecr:getauthorizationtoken"): (
        ("identity",), "an ECS execution role must fetch the registry token to pull the service's image; the token can"
        " only pull what the role's own ecr: statements allow"),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "kms:putkeypolicy"): (
        ("key",), "the account keeps the right to change its own key's policy; without it the key becomes"
        " unmanageable (KMS's lockout safety check refuses such a policy)"),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "kms:revokegrant"): (
        ("key",), "key administrators must be able to revoke grants that services made on the key"),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "kms:creategrant"): (
        ("key",), "RDS, ElastiCache and AWS Backup hold a grant per instance, cluster or copy job on the data key; the"
        " data key allows it only with kms:GrantIsForAWSResource and through those services (kms_policy.py)"),
}

KINDS = ("identity", "trust", "resource", "key")


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _label(name, index, statement):
    where = "statement %s" % (statement.get("Sid") or "#%d" % (index + 1))
    return "%s %s" % (name, where) if name else where


def own_rule(document, kind, name=""):
    """Our rule over the Allow statements: (problem sentences)."""
    problems = []
    statements = _as_list(document.get("Statement"))
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue  # Deny statements only narrow
        label = _label(name, index, statement)
        if "NotAction" in statement:
            problems.append("%s: allows NotAction %s - every other action; accepted: an explicit Action list"
                            % (label, json.dumps(statement["NotAction"])))
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        broad = [a for a in actions if a == "*" or a.endswith(":*")]
        if broad:
            problems.append("%s: allows %s - every action of %s; accepted: the actions it needs, by name"
                            % (label, ", ".join(broad), "every service" if "*" in broad else "the service"))
        if "NotResource" in statement:
            problems.append("%s: allows NotResource %s - every other resource; accepted: an explicit Resource list"
                            % (label, json.dumps(statement["NotResource"])))
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if "*" in resources and kind != "key":
            others = sorted(a for a in actions if a.lower() not in RESOURCELESS)
            if others:
                problems.append("%s: allows %s on every resource (\"*\"); accepted: the ARNs it needs (\"*\" only for"
                                " actions without a resource type: %s)"
                                % (label, ", ".join(others), ", ".join(sorted(RESOURCELESS))))
        principal = statement.get("Principal")
        if kind in ("trust", "resource", "key") and principal is not None:
            everyone = principal == "*" or "*" in _as_list((principal or {}).get("AWS") if isinstance(principal, dict)
                                                           else None)
            if everyone and not statement.get("Condition"):
                problems.append("%s: allows every principal (\"*\") without a condition; accepted: named principals or"
                                " a condition such as aws:SourceAccount / kms:CallerAccount" % label)
        grants = [a for a in actions if a.lower() in ("kms:creategrant", "kms:*", "*")]
        bools = dict((k.lower(), str(v).lower()) for k, v in ((statement.get("Condition") or {}).get("Bool") or {}).items())
        if grants and not broad and bools.get("kms:grantisforawsresource") != "true":
            problems.append("%s: allows kms:CreateGrant without the condition kms:GrantIsForAWSResource = true (anyone"
                            " allowed could grant themselves use of the key); accepted: that condition, so only AWS"
                            " services make grants for their own resources" % label)
    return problems


def _ignored(issue, kind, detail):
    if kind == "key" and issue == "RESOURCE_STAR":
        return True
    if kind == "trust" and issue == "MALFORMED" and "neither Resource nor NotResource" in str(detail):
        return True
    return False


_CONFIG_LOADED = []


def _load_community_config(parliament):
    """The titles and severities of the community auditors' findings (parliament's CLI loads them the same way)."""
    if not _CONFIG_LOADED:
        import os
        import parliament.community_auditors as community
        parliament.override_config(os.path.join(os.path.dirname(community.__file__), "config_override.yaml"))
        _CONFIG_LOADED.append(True)


def parliament_problems(document, kind, name=""):
    """parliament's findings (community auditors included) as sentences, less the ones that do not apply to the kind
    and the accepted ones."""
    try:
        import parliament
    except ImportError:
        raise AnsibleFilterError("iam_policy_problems needs parliament on the controller: pip install parliament==1.6.4"
                                 " (requirements.txt)")
    _load_community_config(parliament)
    found = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
    problems = []
    for finding in found.findings:
        finding = parliament.enhance_finding(finding)
        detail = finding.detail
        if _ignored(finding.issue, kind, detail):
            continue
        # the community auditors put the actions in the location, the built-in ones in the detail
        actions = [holder.get("actions") for holder in (detail, finding.location) if isinstance(holder, dict)]
        actions = next((a for a in actions if a), None)
        if actions:
            remaining = [a for a in actions
                         if kind not in ACCEPTED_FINDINGS.get((finding.issue, a.lower()), ((), ""))[0]]
            if not remaining:
                continue
            detail = ", ".join(sorted(remaining))
        elif isinstance(detail, list):
            detail = ", ".join(str(d) for d in detail)
        prefix = "%s: " % name if name else ""
        suffix = ": %s" % detail if detail else ""
        problems.append("%sparliament %s (%s, %s)%s" % (prefix, finding.issue, finding.severity, finding.title.strip(),
                                                        suffix))
    return problems


def iam_policy_problems(policy, kind="identity", name=""):
    """Every least-privilege problem of ``policy`` (a dict or JSON text), each a sentence naming the policy
    (``name``) and statement; [] when there is none."""
    if kind not in KINDS:
        raise AnsibleFilterError("iam_policy_problems: kind %r is not accepted; accepted: %s" % (kind, ", ".join(KINDS)))
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError as e:
            return ["%s: not JSON (%s)" % (name or "policy", e)]
    if not isinstance(policy, dict) or "Statement" not in policy:
        return ["%s: not a policy document (a mapping with Statement)" % (name or "policy")]
    return own_rule(policy, kind, name) + parliament_problems(policy, kind, name)


def iam_policies_problems(items):
    """The problems of a list of {name, kind, document} (what a role is about to write), all together."""
    out = []
    for item in items or []:
        out.extend(iam_policy_problems(item.get("document"), item.get("kind", "identity"), item.get("name", "")))
    return out


class FilterModule(object):
    def filters(self):
        return {
            "iam_policy_problems": iam_policy_problems,
            "iam_policies_problems": iam_policies_problems,
        }
