#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_plan
short_description: AWS Backup vaults in a primary and a DR region, a daily plan with a cross-region copy, a tag selection
version_added: 0.3.0
description:
  - Keeps, in one call for one region pair, a backup vault in the primary region (O(region)) under a KMS key, a vault in
    the disaster-recovery region O(dr_region) under a key of that region, a backup plan with one daily rule (schedule,
    start and completion windows, deletion after O(delete_after_days)) whose recovery points are copied to the DR
    vault, and a backup selection that assigns the resources of the given types carrying all of O(selection.tags).
  - O(dr_region) equal to O(region) is refused before any API call - a copy in the same region survives nothing.
  - Both keys are read before anything is written; a missing, disabled or non-symmetric key refuses the change, a
    customer-managed key without rotation is named in a warning. A vault's key cannot be changed - a vault that
    exists under another key is refused, never replaced.
  - A change of the plan is one C(UpdateBackupPlan) (the plan keeps its id and selections); a change of the selection
    is C(DeleteBackupSelection) + C(CreateBackupSelection), since AWS Backup has no update for selections.
  - When the endpoint answers that it does not implement the selection API (moto answers HTTP 500 to C(ListBackupSelections)
    and C(CreateBackupSelection)), the module says so in a warning naming what was not made or verified, returns
    RV(selection.verified=false) and never reports the selection as made.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description: Name of the backup plan, 1-50 letters, digits, C(-), C(_) or C(.).
    type: str
    required: true
  vault_name:
    description: Name of the vault in O(region), 2-50 letters, digits, C(-) or C(_).
    type: str
    required: true
  kms_key:
    description: The KMS key (id, ARN or C(alias/...)) of the primary vault, in O(region).
    type: str
    required: true
  dr_region:
    description: The disaster-recovery region that holds the copy vault; must differ from O(region).
    type: str
    required: true
  dr_vault_name:
    description: Name of the vault in O(dr_region); defaults to O(vault_name).
    type: str
  dr_kms_key:
    description: The KMS key (id, ARN or C(alias/...)) of the DR vault, in O(dr_region).
    type: str
    required: true
  rule_name:
    description: Name of the plan's rule.
    type: str
    default: daily
  schedule:
    description: When the rule starts a backup, a C(cron(...)) expression in UTC.
    type: str
    default: cron(0 5 ? * * *)
  start_window_minutes:
    description: Minutes after the scheduled time within which a job must start, at least 60.
    type: int
    default: 60
  completion_window_minutes:
    description: Minutes after the scheduled time within which a job must complete, more than O(start_window_minutes).
    type: int
    default: 480
  delete_after_days:
    description: Days a recovery point is kept in the primary vault (1-36500).
    type: int
    default: 30
  copy_delete_after_days:
    description: Days the copy is kept in the DR vault; defaults to O(delete_after_days).
    type: int
  selection:
    description: The backup selection of the plan.
    type: dict
    required: true
    suboptions:
      name:
        description: Name of the selection, 1-50 letters, digits, C(-), C(_) or C(.).
        type: str
        required: true
      iam_role_arn:
        description: The role AWS Backup assumes to back up and restore the selected resources.
        type: str
        required: true
      resource_types:
        description: Kinds of resources of this account that are selected (C(rds) - DB instances in O(region), C(s3)).
        type: list
        elements: str
        choices: [rds, s3]
        default: [rds, s3]
      tags:
        description: A resource is selected only when it carries every one of these tags (AND); at least one.
        type: dict
        required: true
  tags:
    description: Tags on the vaults and the plan (C(managed-by=directfanz.launch) is always added; others are kept).
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads everything and returns the planned RV(actions); changes nothing.
  diff_mode:
    support: full
    description: Returns the vaults, the plan's rule and the selection, before and after.
"""

EXAMPLES = r"""
- name: Back up the launch's tagged database and buckets daily, with a copy in us-west-2
  directfanz.launch.backup_plan:
    name: directfanz-daily
    vault_name: directfanz
    kms_key: alias/directfanz-data
    dr_region: us-west-2
    dr_kms_key: alias/directfanz-dr
    selection:
      name: directfanz-tagged
      iam_role_arn: arn:aws:iam::123456789012:role/directfanz-backup
      tags:
        project: directfanz
        environment: production
    tags:
      project: directfanz
"""

RETURN = r"""
vault_arn:
  description: ARN of the primary vault (computed in check mode before it exists).
  returned: always
  type: str
dr_vault_arn:
  description: ARN of the DR vault (computed in check mode before it exists).
  returned: always
  type: str
plan_id:
  description: Id of the backup plan (a placeholder in check mode before it exists).
  returned: always
  type: str
plan_arn:
  description: ARN of the backup plan, or empty before it exists in check mode.
  returned: always
  type: str
selection:
  description: The backup selection.
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    id:
      description: Its id; empty when it is not known (check mode, or an endpoint without the selection API).
      type: str
    verified:
      description: True only when it was read back as wanted or made by AWS in this run.
      type: bool
unverified:
  description: What the endpoint did not let the module make or read back (empty on AWS).
  returned: always
  type: list
  elements: str
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create vault directfanz in us-east-1", "create backup plan directfanz-daily"]
"""

# Why a module of our own: amazon.aws.backup_vault / backup_plan / backup_selection are three tasks per region and
# two regions, backup_selection has no way to say that the endpoint cannot make it, and none of them checks the keys
# before the vault is made under them (a vault's key is fixed for life).

import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    AWS_ERRORS, Plan, apply, aws_call, aws_pages, aws_read, error_code, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
VAULT_NAME = re.compile(r"^[A-Za-z0-9_-]{2,50}$")
PLAN_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
SCHEDULE = re.compile(r"^cron\([^()]+\)$")
RESOURCE_ARNS = {"rds": "arn:%(partition)s:rds:%(region)s:%(account)s:db:*", "s3": "arn:%(partition)s:s3:::*"}
MISSING = ("ResourceNotFoundException", "AccessDeniedException")
SELECTION_API = "AWS Backup selections (ListBackupSelections, GetBackupSelection, CreateBackupSelection)"


def unimplemented(error):
    """True when ``error`` says the endpoint does not implement the operation, rather than that AWS refused it.

    The ONE place the module tolerates a missing API. AWS answers every refusal with a JSON error that has a code
    ("ResourceNotFoundException", "InvalidParameterValueException"...). An endpoint that lacks the operation (moto
    raises NotImplementedError: an HTML 500 page; or a 404 for a path it has no route for) gives botocore no code to
    parse, so the code is the bare HTTP status."""
    return error_code(error) in ("404", "500", "501") and "<html" in str(error).lower()


# ---------------------------------------------------------------------------------------------------------------
# Input checks (before any API call)


def input_problems(p, region):
    problems = []
    dr = p["dr_region"] or ""
    if not region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if not REGION.match(dr):
        problems.append("dr_region %r is not a region name; accepted: a region such as us-west-2" % dr)
    elif region and dr == region:
        problems.append("dr_region %s is the primary region; accepted: another region (a copy in the same region does"
                        " not survive the loss of the region)" % dr)
    if not PLAN_NAME.match(p["name"] or ""):
        problems.append("name %r is not valid; accepted: 1-50 letters, digits, '-', '_' or '.'" % p["name"])
    if not PLAN_NAME.match(p["rule_name"] or ""):
        problems.append("rule_name %r is not valid; accepted: 1-50 letters, digits, '-', '_' or '.'" % p["rule_name"])
    for field in ("vault_name", "dr_vault_name"):
        value = p.get(field)
        if value is not None and not VAULT_NAME.match(value):
            problems.append("%s %r is not valid; accepted: 2-50 letters, digits, '-' or '_'" % (field, value))
    for field in ("kms_key", "dr_kms_key"):
        if not (p.get(field) or "").strip():
            problems.append("%s is empty; accepted: a KMS key id, ARN or alias/name" % field)
    if not SCHEDULE.match(p["schedule"] or ""):
        problems.append("schedule %r is not accepted; accepted: a cron(...) expression such as cron(0 5 ? * * *)"
                        % p["schedule"])
    start, completion = p["start_window_minutes"], p["completion_window_minutes"]
    if start < 60:
        problems.append("start_window_minutes %d is too short; accepted: at least 60" % start)
    if completion <= start:
        problems.append("completion_window_minutes %d is not longer than start_window_minutes %d; accepted: more"
                        % (completion, start))
    for field in ("delete_after_days", "copy_delete_after_days"):
        value = p.get(field)
        if value is not None and not 1 <= value <= 36500:
            problems.append("%s %d is out of range; accepted: 1-36500 days" % (field, value))
    selection = p["selection"] or {}
    if not PLAN_NAME.match(selection.get("name") or ""):
        problems.append("selection.name %r is not valid; accepted: 1-50 letters, digits, '-', '_' or '.'"
                        % selection.get("name"))
    if not ROLE_ARN.match(selection.get("iam_role_arn") or ""):
        problems.append("selection.iam_role_arn %r is not a role ARN; accepted: arn:aws:iam::<account>:role/<name>"
                        % selection.get("iam_role_arn"))
    if not selection.get("resource_types"):
        problems.append("selection.resource_types is empty; accepted: rds, s3 or both")
    tags = selection.get("tags") or {}
    if not tags:
        problems.append("selection.tags is empty, which would select every database and bucket of the account;"
                        " accepted: at least one tag, such as {project: directfanz}")
    for key, value in tags.items():
        if not key or value is None or str(value) == "":
            problems.append("selection.tags %r has no value; accepted: tag names with non-empty values" % key)
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Pure planning


def desired_tags(tags):
    return dict(dict((k, str(v)) for k, v in (tags or {}).items()), **dict([MANAGED_TAG]))


def vault_arn(ctx, region, name):
    return "arn:%s:backup:%s:%s:backup-vault:%s" % (ctx["partition"], region, ctx["account"], name)


def desired_rule(p, ctx):
    copy_days = p.get("copy_delete_after_days") or p["delete_after_days"]
    return {"RuleName": p["rule_name"], "TargetBackupVaultName": p["vault_name"], "ScheduleExpression": p["schedule"],
            "ScheduleExpressionTimezone": "Etc/UTC", "StartWindowMinutes": p["start_window_minutes"],
            "CompletionWindowMinutes": p["completion_window_minutes"],
            "Lifecycle": {"DeleteAfterDays": p["delete_after_days"]},
            "CopyActions": [{"DestinationBackupVaultArn": vault_arn(ctx, ctx["dr_region"], p["dr_vault_name"]),
                             "Lifecycle": {"DeleteAfterDays": copy_days}}]}


def rule_view(rule):
    """The parts of a rule this module sets, with the service's defaults filled in, for comparison and diff."""
    if rule is None:
        return None
    return {"RuleName": rule.get("RuleName"), "TargetBackupVaultName": rule.get("TargetBackupVaultName"),
            "ScheduleExpression": rule.get("ScheduleExpression"),
            "ScheduleExpressionTimezone": rule.get("ScheduleExpressionTimezone") or "Etc/UTC",
            "StartWindowMinutes": rule.get("StartWindowMinutes"),
            "CompletionWindowMinutes": rule.get("CompletionWindowMinutes"),
            "DeleteAfterDays": (rule.get("Lifecycle") or {}).get("DeleteAfterDays"),
            "CopyActions": sorted(((c.get("DestinationBackupVaultArn"), (c.get("Lifecycle") or {}).get("DeleteAfterDays"))
                                   for c in rule.get("CopyActions") or []), key=lambda c: (c[0] or "", c[1] or 0))}


def rule_differences(existing, wanted):
    """The changed fields of the rule, as 'field old -> new' texts."""
    before, after = rule_view(existing), rule_view(wanted)
    out = []
    for field in ("TargetBackupVaultName", "ScheduleExpression", "ScheduleExpressionTimezone", "StartWindowMinutes",
                  "CompletionWindowMinutes", "DeleteAfterDays", "CopyActions"):
        if before[field] != after[field]:
            if field == "CopyActions":
                out.append("copies %s -> %s" % tuple(", ".join("to %s kept %s days" % c for c in side) or "none"
                                                     for side in (before[field], after[field])))
            else:
                out.append("%s %s -> %s" % (field, before[field], after[field]))
    return out


def desired_selection(p, ctx):
    selection = p["selection"]
    resources = sorted(RESOURCE_ARNS[kind] % dict(ctx, region=ctx["region"]) for kind in selection["resource_types"])
    conditions = [{"ConditionKey": "aws:ResourceTag/%s" % k, "ConditionValue": str(v)}
                  for k, v in sorted(selection["tags"].items())]
    return {"SelectionName": selection["name"], "IamRoleArn": selection["iam_role_arn"], "Resources": resources,
            "Conditions": {"StringEquals": conditions}}


def selection_view(selection):
    """A selection as sets, with empty parts dropped, so the service's ordering and empty lists are no difference."""
    if selection is None:
        return None
    conditions = {}
    for operator, items in (selection.get("Conditions") or {}).items():
        if items:
            conditions[operator] = sorted("%s=%s" % (c["ConditionKey"], c["ConditionValue"]) for c in items)
    return {"SelectionName": selection.get("SelectionName"), "IamRoleArn": selection.get("IamRoleArn"),
            "Resources": sorted(selection.get("Resources") or []),
            "NotResources": sorted(selection.get("NotResources") or []),
            "ListOfTags": sorted("%s:%s=%s" % (t.get("ConditionType"), t.get("ConditionKey"), t.get("ConditionValue"))
                                 for t in selection.get("ListOfTags") or []),
            "Conditions": conditions}


def key_problems(label, key, region):
    """Problems and warnings about a vault key (DescribeKey's KeyMetadata plus our 'Rotation'), or its absence."""
    if key is None:
        return ["%s was not found in %s; accepted: an existing symmetric KMS key of that region" % (label, region)], []
    if key.get("Placeholder"):
        return [], ["%s %s does not exist yet in %s (check mode: an earlier task makes it)" % (label, key["KeyId"], region)]
    problems, warnings = [], []
    if key.get("KeyState") != "Enabled":
        problems.append("%s %s is %s; accepted: an enabled key" % (label, key["Arn"], key.get("KeyState")))
    if (key.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT"
            or key.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT"):
        problems.append("%s %s is not a symmetric encryption key; accepted: SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT"
                        % (label, key["Arn"]))
    if key.get("KeyManager") == "CUSTOMER" and key.get("Rotation") is False:
        warnings.append("%s %s has automatic rotation off" % (label, key["Arn"]))
    return problems, warnings


def plan_vault(plan, service, label, region, name, key, existing, tags):
    """Steps for one vault: create it under ``key``, or refuse another key; add the tags it lacks."""
    if existing is None:
        plan.call(service, "create_backup_vault", ["create vault %s in %s (key %s)" % (name, region, key["Arn"])],
                  "create vault %s in %s" % (name, region), BackupVaultName=name, EncryptionKeyArn=key["Arn"],
                  BackupVaultTags=tags)
        return
    if existing.get("EncryptionKeyArn") and existing["EncryptionKeyArn"] != key["Arn"]:
        plan.problems.append("%s vault %s in %s is encrypted with %s, not %s; a vault's key cannot be changed:"
                             " choose another vault name or delete the empty vault" %
                             (label, name, region, existing["EncryptionKeyArn"], key["Arn"]))
    missing = dict((k, v) for k, v in tags.items() if existing.get("Tags", {}).get(k) != v)
    if missing:
        plan.call(service, "tag_resource", ["tag vault %s in %s (%s)" % (name, region, ", ".join(sorted(missing)))],
                  "tag vault %s in %s" % (name, region), ResourceArn=existing["BackupVaultArn"], Tags=missing)


def plan_backup(p, observed, ctx):
    """The plan for both vaults, the backup plan and its selection, from what was read.

    ``observed``: ``keys`` {primary, dr} (KeyMetadata + Rotation, or None), ``vaults`` {primary, dr} (DescribeBackupVault
    + Tags, or None), ``plans`` (the backup plans of that name: GetBackupPlan answers + Tags), ``selections`` (name ->
    GetBackupSelection's BackupSelection + SelectionId; None when the endpoint cannot list them)."""
    plan = Plan()
    tags = desired_tags(p["tags"])
    for role, label, region in (("primary", "kms_key", ctx["region"]), ("dr", "dr_kms_key", ctx["dr_region"])):
        problems, warnings = key_problems(label, observed["keys"][role], region)
        plan.problems.extend(problems)
        plan.warnings.extend(warnings)
    if plan.problems:
        return plan
    plan_vault(plan, "backup", "primary", ctx["region"], p["vault_name"], observed["keys"]["primary"],
               observed["vaults"]["primary"], tags)
    plan_vault(plan, "backup_dr", "DR", ctx["dr_region"], p["dr_vault_name"], observed["keys"]["dr"],
               observed["vaults"]["dr"], tags)

    rule = desired_rule(p, ctx)
    document = {"BackupPlanName": p["name"], "Rules": [rule]}
    plans = observed["plans"]
    if len(plans) > 1:
        plan.problems.append("%d backup plans are named %s (%s); accepted: at most one - delete the others"
                             % (len(plans), p["name"], ", ".join(x["BackupPlanId"] for x in plans)))
        return plan
    wanted_selection = desired_selection(p, ctx)
    if not plans:
        plan_id = plan.call("backup", "create_backup_plan", ["create backup plan %s (%s, keep %d days, copy to %s)"
                                                             % (p["name"], p["schedule"], p["delete_after_days"],
                                                                ctx["dr_region"])],
                            "create backup plan %s" % p["name"], out="backup plan %s" % p["name"],
                            pick=["BackupPlanId"], BackupPlan=document, BackupPlanTags=tags)
        plan.add("create_selection", ["create backup selection %s" % wanted_selection["SelectionName"]],
                 plan_id=plan_id, selection=wanted_selection)
        return plan
    existing = plans[0]
    rules = existing["BackupPlan"].get("Rules") or []
    ours = [r for r in rules if r.get("RuleName") == p["rule_name"]]
    changes = rule_differences(ours[0], rule) if ours else ["add rule %s" % p["rule_name"]]
    others = sorted(r["RuleName"] for r in rules if r.get("RuleName") != p["rule_name"])
    if others:
        changes.append("remove rules %s" % ", ".join(others))
    if changes:
        plan.add("update_plan", ["update backup plan %s (%s)" % (p["name"], "; ".join(changes))],
                 failure="update backup plan %s" % p["name"],
                 kwargs={"BackupPlanId": existing["BackupPlanId"], "BackupPlan": document})
    missing = dict((k, v) for k, v in tags.items() if existing.get("Tags", {}).get(k) != v)
    if missing:
        plan.call("backup", "tag_resource", ["tag backup plan %s (%s)" % (p["name"], ", ".join(sorted(missing)))],
                  "tag backup plan %s" % p["name"], ResourceArn=existing["BackupPlanArn"], Tags=missing)

    selections = observed["selections"]
    if selections is None:
        plan.warnings.append("backup selection %s of plan %s was not verified: the endpoint does not implement %s;"
                             " nothing about the selection was read or changed" %
                             (wanted_selection["SelectionName"], p["name"], SELECTION_API))
        return plan
    found = selections.get(wanted_selection["SelectionName"])
    if found is None:
        plan.add("create_selection", ["create backup selection %s" % wanted_selection["SelectionName"]],
                 plan_id=existing["BackupPlanId"], selection=wanted_selection)
    elif selection_view(found) != selection_view(wanted_selection):
        what = [field for field, value in selection_view(wanted_selection).items() if selection_view(found)[field] != value]
        plan.call("backup", "delete_backup_selection",
                  ["replace backup selection %s (%s; selections cannot be updated)"
                   % (wanted_selection["SelectionName"], ", ".join(what))],
                  "delete backup selection %s" % wanted_selection["SelectionName"],
                  BackupPlanId=existing["BackupPlanId"], SelectionId=found["SelectionId"])
        plan.add("create_selection", [], plan_id=existing["BackupPlanId"], selection=wanted_selection)
    return plan


def state_view(vaults, plans, selections, selection_name):
    out = {}
    for role in ("primary", "dr"):
        vault = vaults.get(role)
        if vault:
            out["%s_vault" % role] = {"name": vault.get("BackupVaultName"), "key": vault.get("EncryptionKeyArn")}
    if plans:
        rules = plans[0]["BackupPlan"].get("Rules") or []
        out["plan"] = {"name": plans[0]["BackupPlan"].get("BackupPlanName"), "rules": [rule_view(r) for r in rules]}
    if selections is None:
        out["selection"] = "(not readable at this endpoint)"
    elif selection_name in selections:
        out["selection"] = selection_view(selections[selection_name])
    return out


def planned_view(p, observed, ctx):
    vaults = {"primary": {"BackupVaultName": p["vault_name"], "EncryptionKeyArn": observed["keys"]["primary"]["Arn"]},
              "dr": {"BackupVaultName": p["dr_vault_name"], "EncryptionKeyArn": observed["keys"]["dr"]["Arn"]}}
    plans = [{"BackupPlan": {"BackupPlanName": p["name"], "Rules": [desired_rule(p, ctx)]}}]
    selection = desired_selection(p, ctx)
    selections = None if observed["selections"] is None and observed["plans"] else {selection["SelectionName"]: selection}
    return state_view(vaults, plans, selections, selection["SelectionName"])


# ---------------------------------------------------------------------------------------------------------------
# Reading


def read_key(module, kms, key_id):
    """KeyMetadata plus 'Rotation' (None when not readable: AWS-managed keys), or None when the key is not there."""
    answer = aws_read(module, kms, "describe KMS key %s" % key_id, "describe_key", missing=("NotFoundException",),
                      KeyId=key_id)
    if answer is None:
        return None
    key = dict(answer["KeyMetadata"])
    key["Rotation"] = None
    if key.get("KeyManager") == "CUSTOMER":
        status = aws_read(module, kms, "read the rotation of KMS key %s" % key["Arn"], "get_key_rotation_status",
                          KeyId=key["KeyId"])
        key["Rotation"] = bool((status or {}).get("KeyRotationEnabled"))
    return key


def read_vault(module, backup, name, region):
    vault = aws_read(module, backup, "read vault %s in %s" % (name, region), "describe_backup_vault", missing=MISSING,
                     BackupVaultName=name)
    if vault is None:
        return None
    tags = aws_call(module, backup, "read the tags of vault %s" % name, "list_tags", ResourceArn=vault["BackupVaultArn"])
    return dict(vault, Tags=tags.get("Tags") or {})


def read_plans(module, backup, name):
    listed = aws_pages(module, backup, "list backup plans", "list_backup_plans", "BackupPlansList")
    plans = []
    for item in listed:
        if item.get("BackupPlanName") != name:
            continue
        found = aws_read(module, backup, "read backup plan %s" % item["BackupPlanId"], "get_backup_plan",
                         missing=MISSING, BackupPlanId=item["BackupPlanId"])
        if found is None:
            continue  # deleted between the list and the read
        tags = aws_call(module, backup, "read the tags of backup plan %s" % name, "list_tags",
                        ResourceArn=found["BackupPlanArn"])
        plans.append(dict(found, Tags=tags.get("Tags") or {}))
    return plans


def read_selections(module, backup, plan_id):
    """name -> BackupSelection (+ SelectionId) of the plan, or None when the endpoint lacks the selection API.

    Called without aws_retry: the retrying client would back off for minutes on an endpoint's 500 that means
    "not implemented" (botocore still retries a real 5xx a few times)."""
    items, marker = [], None
    try:
        while True:
            page = backup.list_backup_selections(BackupPlanId=plan_id, **({"NextToken": marker} if marker else {}))
            items.extend(page.get("BackupSelectionsList") or [])
            marker = page.get("NextToken")
            if not marker:
                break
        found = {}
        for item in items:
            answer = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=item["SelectionId"])
            found[item["SelectionName"]] = dict(answer["BackupSelection"], SelectionId=item["SelectionId"])
        return found
    except AWS_ERRORS as e:
        if unimplemented(e):
            return None
        module.fail_json_aws(e, msg="Could not read the backup selections of plan %s" % plan_id)


def make_selection(module, backup, step, real, selection, unverified):
    """The create_selection step: CreateBackupSelection, or - when the endpoint does not implement it - nothing made,
    said so: the step's action line is dropped, a warning names the selection, ``selection`` says not verified and
    ``unverified`` names it. Returns the new selection's id (None when not made)."""
    wanted = step["selection"]
    try:
        answer = backup.create_backup_selection(BackupPlanId=real(step["plan_id"]), BackupSelection=wanted)
    except AWS_ERRORS as e:
        if not unimplemented(e):
            module.fail_json_aws(e, msg="Could not create backup selection %s" % wanted["SelectionName"])
        texts, step["texts"] = step["texts"], []
        module.warn("backup selection %s was NOT made: the endpoint does not implement %s (planned: %s)"
                    % (wanted["SelectionName"], SELECTION_API, "; ".join(texts) or "its replacement"))
        selection.update(id="", verified=False)
        note = "backup selection %s (the endpoint does not implement %s)" % (wanted["SelectionName"], SELECTION_API)
        if note not in unverified:
            unverified.append(note)
        return None
    selection.update(id=answer["SelectionId"], verified=True)
    return answer["SelectionId"]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            vault_name=dict(type="str", required=True),
            kms_key=dict(type="str", required=True, no_log=False),
            dr_region=dict(type="str", required=True),
            dr_vault_name=dict(type="str"),
            dr_kms_key=dict(type="str", required=True, no_log=False),
            rule_name=dict(type="str", default="daily"),
            schedule=dict(type="str", default="cron(0 5 ? * * *)"),
            start_window_minutes=dict(type="int", default=60),
            completion_window_minutes=dict(type="int", default=480),
            delete_after_days=dict(type="int", default=30),
            copy_delete_after_days=dict(type="int"),
            selection=dict(type="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                iam_role_arn=dict(type="str", required=True),
                resource_types=dict(type="list", elements="str", choices=["rds", "s3"], default=["rds", "s3"]),
                tags=dict(type="dict", required=True),
            )),
            tags=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    p = dict(module.params)
    p["dr_vault_name"] = p["dr_vault_name"] or p["vault_name"]
    problems = input_problems(p, module.region)
    if problems:
        module.fail_json(msg="backup_plan refused the input: %s" % "; ".join(problems), problems=problems)

    region, dr_region = module.region, p["dr_region"]
    clients = {"sts": retrying_client(module, "sts"),
               "kms": retrying_client(module, "kms"), "kms_dr": retrying_client(module, "kms", region=dr_region),
               "backup": retrying_client(module, "backup"),
               "backup_dr": retrying_client(module, "backup", region=dr_region)}
    identity = aws_call(module, clients["sts"], "read the account id with STS GetCallerIdentity", "get_caller_identity")
    ctx = {"account": identity["Account"], "partition": identity["Arn"].split(":")[1], "region": region,
           "dr_region": dr_region}

    observed = {"keys": {"primary": read_key(module, clients["kms"], p["kms_key"]),
                         "dr": read_key(module, clients["kms_dr"], p["dr_kms_key"])},
                "vaults": {"primary": read_vault(module, clients["backup"], p["vault_name"], region),
                           "dr": read_vault(module, clients["backup_dr"], p["dr_vault_name"], dr_region)},
                "plans": read_plans(module, clients["backup"], p["name"]),
                "selections": {}}
    for role, key_id, where in (("primary", p["kms_key"], region), ("dr", p["dr_kms_key"], dr_region)):
        if observed["keys"][role] is None and module.check_mode:
            # check mode on an account where the key's own task only planned it: plan around it, named as such
            observed["keys"][role] = {"KeyId": key_id, "Arn": "(key %s in %s)" % (key_id, where), "Placeholder": True}
    if len(observed["plans"]) == 1:
        observed["selections"] = read_selections(module, clients["backup"], observed["plans"][0]["BackupPlanId"])

    plan = plan_backup(p, observed, ctx)
    refuse(module, "backup_plan %s" % p["name"], plan)
    diff = None
    if module._diff:
        diff = {"before": state_view(observed["vaults"], observed["plans"], observed["selections"],
                                     p["selection"]["name"]),
                "after": planned_view(p, observed, ctx)}

    unverified = []
    if observed["selections"] is None:
        unverified.append("backup selection %s (the endpoint does not implement %s)"
                          % (p["selection"]["name"], SELECTION_API))
    # verified: read back as wanted, or made by AWS in this run (never in check mode, never when the endpoint lacks it)
    selection = {"name": p["selection"]["name"], "id": "", "verified": False}
    found = (observed["selections"] or {}).get(p["selection"]["name"])
    if found is not None:
        selection["id"] = found["SelectionId"]
        selection["verified"] = not any(step["op"] == "delete_backup_selection" for step in plan.steps)

    def update_plan(step, real):
        try:
            return clients["backup"].update_backup_plan(aws_retry=True, **real(step["kwargs"]))
        except AWS_ERRORS as e:
            if unimplemented(e):
                module.fail_json(msg="Could not %s: the endpoint does not implement UpdateBackupPlan (moto lacks it);"
                                     " the planned change was: %s" % (step["failure"], "; ".join(step["texts"])))
            module.fail_json_aws(e, msg="Could not %s" % step["failure"])

    def create_selection(step, real):
        return make_selection(module, clients["backup"], step, real, selection, unverified)

    real = apply(module, plan, clients, handlers={"update_plan": update_plan, "create_selection": create_selection})
    plans = observed["plans"]
    plan_ids = [s.get("out") for s in plan.steps if s["op"] == "create_backup_plan"]
    plan_id = real(plan_ids[0]) if plan_ids else plans[0]["BackupPlanId"]
    if plans:
        plan_arn = plans[0]["BackupPlanArn"]
    elif module.check_mode:
        plan_arn = ""
    else:
        plan_arn = "arn:%s:backup:%s:%s:backup-plan:%s" % (ctx["partition"], region, ctx["account"], plan_id)
    finish(module, plan, diff, vault_arn=vault_arn(ctx, region, p["vault_name"]),
           dr_vault_arn=vault_arn(ctx, dr_region, p["dr_vault_name"]), plan_id=plan_id, plan_arn=plan_arn,
           selection=selection, unverified=unverified)


if __name__ == "__main__":
    main()
