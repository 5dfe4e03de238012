# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-off Fargate tasks (module ecs_one_off_task): the input checks, the task definition and the canonical form it is
compared in, the record of a run kept as tags on the task definition revision itself, the verdict on a stopped task,
and the pure planner. No API call here, so all of it is unit-tested on plain dicts.

Why the record is on the revision: ECS forgets a stopped task about an hour after it stops, so the task list cannot say
whether a job ran; a revision is never forgotten (even a deregistered one stays describable) and a changed definition
is a new revision, which has no record yet - exactly "run again when the job changed"."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from typing import Optional

from ansible_collections.directfanz.launch.plugins.module_utils.ecs import (
    ENV_NAME, FARGATE_SIZES, LOG_GROUP, PLACEHOLDER, RETENTION_DAYS, ROLE_ARN, SECRET_ARN, SECRET_VALUES, SECRET_WORDS,
    image_problem)
from ansible_collections.directfanz.launch.plugins.module_utils.log_groups import key_problem, plan_group
from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan

MANAGED_TAG = ("managed-by", "directfanz.launch")
# The record of a run, as tags on the revision (ECS tag values accept letters, digits, spaces and _ . : / = + - @).
STATUS_TAG = "launch-one-off-status"   # started | succeeded | failed
TASK_TAG = "launch-one-off-task"       # the task ARN of that run
AT_TAG = "launch-one-off-at"           # when the status was written, UTC
RECORD_TAGS = (STATUS_TAG, TASK_TAG, AT_TAG)
JOB_TAG = "launch-one-off-job"         # on the task itself: the job's name
CONTAINER = "job"                      # the one container of a one-off task definition
SCRATCH_VOLUME = "scratch"
# ECS's limit on a task definition (RegisterTaskDefinition's whole request body).
MAX_DEFINITION_BYTES = 65536
MAX_USER_TAGS = 50 - 1 - len(RECORD_TAGS)

# The family and the task's startedBy (letters, digits, hyphens, underscores; startedBy allows 128).
JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
SUBNET = re.compile(r"^subnet-[0-9a-f]+$")
SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]+$")


# ---------------------------------------------------------------------------------------------------------------
# Input checks (before any API call)


def size_problem(cpu: int, memory: int) -> Optional[str]:
    if cpu not in FARGATE_SIZES:
        return "cpu %r is not a Fargate size; accepted: %s" % (cpu, ", ".join(str(c) for c in sorted(FARGATE_SIZES)))
    allowed = FARGATE_SIZES[cpu]
    if memory not in allowed:
        if cpu == 256:
            what = "512, 1024 or 2048"
        else:
            what = "%d to %d in steps of %d" % (allowed[0], allowed[-1], allowed[1] - allowed[0])
        return "memory %r does not go with cpu %d on Fargate; accepted with cpu %d: %s MiB" % (memory, cpu, cpu, what)
    return None


def environment_problems(p: dict) -> list:
    """Names and values that look like secrets (a message names the key, never the value)."""
    problems = []
    safe = set(p.get("environment_safe_keys") or [])
    secrets = p.get("secrets") or {}
    for key, value in sorted((p.get("environment") or {}).items()):
        if not ENV_NAME.match(key):
            problems.append("environment name %r is not accepted; accepted: letters, digits and _ not starting with a "
                            "digit" % key)
            continue
        if key in secrets:
            problems.append("%s is both in environment and in secrets; accepted: one of them" % key)
        if key in safe:
            continue
        if SECRET_WORDS.search(key.upper()):
            problems.append("environment %s looks like a secret (its name); accepted: put it in secrets as a Secrets "
                            "Manager or SSM ARN, or list it in environment_safe_keys when it is not secret" % key)
            continue
        for what, pattern in SECRET_VALUES:
            if pattern.search(str(value)):
                problems.append("the value of environment %s looks like %s; accepted: put it in secrets as a Secrets "
                                "Manager ARN (the value is not shown)" % (key, what))
                break
    return problems


def input_problems(p: dict, check_mode: bool = False) -> list:
    """Every problem of the input, each saying what is accepted; no API call. In check mode the placeholders an earlier
    module planned ("(new subnet x)") stand for what it would make."""
    problems = []
    if not CLUSTER_NAME.match(p.get("cluster") or ""):
        problems.append("cluster %r is not accepted; accepted: 1-255 letters, digits, hyphens or underscores"
                        % p.get("cluster"))
    if not JOB_NAME.match(p.get("name") or ""):
        problems.append("name %r is not accepted; accepted: 1-128 letters, digits, hyphens or underscores, starting with "
                        "a letter or digit (it is the task definition family and the task's startedBy)" % p.get("name"))
    problem = image_problem(p.get("image"), p.get("allow_latest"))
    if problem:
        problems.append(problem)
    problem = size_problem(p.get("cpu"), p.get("memory"))
    if problem:
        problems.append(problem)
    if not p.get("command"):
        problems.append("command is empty; accepted: the container's command as a list, such as [/bin/sh, -c, '...']")
    problems.extend(environment_problems(p))
    for key, value_from in sorted((p.get("secrets") or {}).items()):
        if not ENV_NAME.match(key):
            problems.append("secret name %r is not accepted; accepted: letters, digits and _" % key)
        if not SECRET_ARN.match(value_from or ""):
            problems.append("secret %s is not an ARN; accepted: a Secrets Manager secret ARN (optionally with "
                            ":<json-key>:<stage>:<version-id>) or an SSM parameter ARN - never a value" % key)
    for field, required in (("execution_role_arn", True), ("task_role_arn", False)):
        value = p.get(field)
        if (value or required) and not ROLE_ARN.match(value or ""):
            problems.append("%s %r is not accepted; accepted: arn:aws:iam::<account>:role/<name>" % (field, value))
    user = p.get("user")
    if user is not None and (not user.strip() or user.split(":")[0] in ("root", "0")):
        problems.append("user %r runs as root; accepted: a non-root uid or user name (or none: the image's user)" % user)
    if not LOG_GROUP.match(p.get("log_group") or ""):
        problems.append("log_group %r is not accepted; accepted: 1-512 letters, digits, '.', '-', '_', '/' or '#'"
                        % p.get("log_group"))
    if p.get("log_retention") not in RETENTION_DAYS:
        problems.append("log_retention %r is not accepted; accepted: %s days"
                        % (p.get("log_retention"), ", ".join(str(d) for d in RETENTION_DAYS)))
    problem = key_problem(p.get("log_kms_key_arn"), p.get("region"))
    if problem:
        problems.append(problem)
    if not (p.get("scratch_path") or "").startswith("/"):
        problems.append("scratch_path %r is not an absolute path; accepted: where the task may write, such as /tmp"
                        % p.get("scratch_path"))
    for field, pattern, what in (("subnets", SUBNET, "subnet-<hex>"), ("security_groups", SECURITY_GROUP, "sg-<hex>")):
        values = p.get(field) or []
        if not values:
            problems.append("%s is empty; accepted: the private %s ids the task runs in" % (field, what))
        for value in values:
            if not pattern.match(value or "") and not (check_mode and PLACEHOLDER.match(value or "")):
                problems.append("%s entry %r is not accepted; accepted: %s" % (field, value, what))
    if (p.get("wait_timeout") or 0) <= 0 or (p.get("wait_delay") or 0) <= 0:
        problems.append("wait_timeout and wait_delay must be positive seconds")
    tags = p.get("tags") or {}
    if len(tags) > MAX_USER_TAGS:
        problems.append("tags has %d entries; accepted: at most %d (managed-by and the run's record are added)"
                        % (len(tags), MAX_USER_TAGS))
    for key in tags:
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:") or key in RECORD_TAGS or key == MANAGED_TAG[0]:
            problems.append("tag key %r is not accepted; accepted: 1-128 characters, not starting with 'aws:' and not one "
                            "the module sets (%s)" % (key, ", ".join((MANAGED_TAG[0],) + RECORD_TAGS)))
    if not problems:
        size = len(json.dumps(task_definition(p, "us-east-1")))
        if size > MAX_DEFINITION_BYTES:
            problems.append("the task definition would be %d bytes; accepted: at most %d (ECS's limit) - keep large "
                            "inputs such as a CA bundle to the region's certificates" % (size, MAX_DEFINITION_BYTES))
    return problems


# ---------------------------------------------------------------------------------------------------------------
# The task definition, and the canonical form both sides are compared in


def desired_tags(tags: Optional[dict]) -> dict:
    return dict(((k, str(v)) for k, v in (tags or {}).items()), **{MANAGED_TAG[0]: MANAGED_TAG[1]})


def ecs_tags(tags: dict) -> list:
    return [{"key": k, "value": v} for k, v in sorted(tags.items())]


def tag_dict(tags: Optional[list]) -> dict:
    return dict((t.get("key"), t.get("value")) for t in tags or [])


def task_definition(p: dict, region: str) -> dict:
    """The RegisterTaskDefinition arguments. The container's hard memory limit is the task's memory: what the job may
    use anyway on Fargate, said explicitly (moto's RunTask also needs a container-level memory - docs/one-off-tasks.md).
    The root filesystem is read-only; the job writes only to a task-local volume at ``scratch_path``."""
    container = {
        "name": CONTAINER, "image": p["image"], "essential": True, "command": list(p["command"]),
        "memory": int(p["memory"]), "readonlyRootFilesystem": True,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": p["log_group"], "awslogs-region": region, "awslogs-stream-prefix": p["name"]}},
        "mountPoints": [{"sourceVolume": SCRATCH_VOLUME, "containerPath": p["scratch_path"], "readOnly": False}],
    }
    if p.get("environment"):
        container["environment"] = [{"name": k, "value": str(v)} for k, v in sorted(p["environment"].items())]
    if p.get("secrets"):
        container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(p["secrets"].items())]
    if p.get("user"):
        container["user"] = p["user"]
    kwargs = {"family": p["name"], "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
              "cpu": str(p["cpu"]), "memory": str(p["memory"]), "executionRoleArn": p["execution_role_arn"],
              "runtimePlatform": {"cpuArchitecture": p.get("cpu_architecture") or "X86_64",
                                  "operatingSystemFamily": "LINUX"},
              "containerDefinitions": [container], "volumes": [{"name": SCRATCH_VOLUME}],
              "tags": ecs_tags(desired_tags(p.get("tags")))}
    if p.get("task_role_arn"):
        kwargs["taskRoleArn"] = p["task_role_arn"]
    return kwargs


def canonical_container(c: dict) -> dict:
    """A container definition reduced to what the module sets, with ECS's defaults read as their values."""
    log = c.get("logConfiguration") or {}
    return {
        "name": c.get("name"), "image": c.get("image"), "essential": c.get("essential", True) is not False,
        "command": list(c.get("command") or []), "memory": c.get("memory"),
        "environment": sorted([e.get("name"), e.get("value", "")] for e in c.get("environment") or []),
        "secrets": sorted([s.get("name"), s.get("valueFrom")] for s in c.get("secrets") or []),
        "logConfiguration": {"logDriver": log.get("logDriver"), "options": dict(log.get("options") or {})} if log else None,
        "readonlyRootFilesystem": bool(c.get("readonlyRootFilesystem")),
        "user": c.get("user") or None,
        "mountPoints": sorted([m.get("sourceVolume"), m.get("containerPath"), bool(m.get("readOnly"))]
                              for m in c.get("mountPoints") or []),
    }


def canonical_task(td: Optional[dict]) -> Optional[dict]:
    """RegisterTaskDefinition arguments or DescribeTaskDefinition's answer as the comparable subset: what ECS adds
    (revision, status, compatibilities, requiresAttributes, registeredAt/By, tags) is left out."""
    if not td:
        return None
    platform = td.get("runtimePlatform") or {}
    return {
        "family": td.get("family"), "cpu": str(td.get("cpu")), "memory": str(td.get("memory")),
        "networkMode": td.get("networkMode"), "requiresCompatibilities": sorted(td.get("requiresCompatibilities") or []),
        "executionRoleArn": td.get("executionRoleArn"), "taskRoleArn": td.get("taskRoleArn") or None,
        "runtimePlatform": {"cpuArchitecture": platform.get("cpuArchitecture") or "X86_64",
                            "operatingSystemFamily": platform.get("operatingSystemFamily") or "LINUX"},
        "volumes": sorted(v.get("name") for v in td.get("volumes") or []),
        "containers": sorted((canonical_container(c) for c in td.get("containerDefinitions") or []),
                             key=lambda c: c["name"] or ""),
    }


def task_changes(wanted: dict, have: Optional[dict]) -> list:
    """The fields that differ (per container too), for the actions line - names only, never values."""
    if have is None:
        return ["new"]
    out = [k for k in sorted(wanted) if k != "containers" and wanted[k] != have.get(k)]
    if len(wanted["containers"]) != len(have.get("containers") or []):
        return out + ["containers"]
    for w, h in zip(wanted["containers"], have["containers"], strict=True):
        out.extend(k for k in sorted(w) if w[k] != h.get(k))
    return out


def record_of(tags: Optional[list]) -> dict:
    """The run's record on a revision: {status, task, at}, empty when the revision never ran."""
    found = tag_dict(tags)
    if not found.get(STATUS_TAG):
        return {}
    return {"status": found.get(STATUS_TAG), "task": found.get(TASK_TAG) or None, "at": found.get(AT_TAG) or None}


def task_id(task_arn: str) -> str:
    return (task_arn or "").rsplit("/", 1)[-1]


def log_stream(p: dict, task_arn: Optional[str]) -> Optional[str]:
    """awslogs' stream of the task's container: <prefix>/<container>/<task id>."""
    if not task_arn or PLACEHOLDER.match(task_arn):
        return None
    return "%s/%s/%s" % (p["name"], CONTAINER, task_id(task_arn))


def revision_of(arn: str) -> str:
    return (arn or "").rsplit(":", 1)[-1]


# ---------------------------------------------------------------------------------------------------------------
# The verdict on a task a wait (or a later run) reads


def task_verdict(task: Optional[dict]) -> tuple:
    """("succeeded"|"failed"|"running"|"gone", why, exit code) for a DescribeTasks entry (None: ECS does not know it).
    Success is the task STOPPED with its container STOPPED and exit code 0 - an exit code alone is not enough: a
    container that never ran has none on AWS (and moto answers 0 for a container it leaves PENDING)."""
    if task is None:
        return "gone", "ECS no longer knows the task (it forgets stopped tasks about an hour after they stop)", None
    last = task.get("lastStatus") or "UNKNOWN"
    if last != "STOPPED":
        return "running", "the task is %s (desired %s)" % (last, task.get("desiredStatus") or "?"), None
    containers = [c for c in task.get("containers") or [] if c.get("name") == CONTAINER] or task.get("containers") or []
    reasons = []
    exit_code = None
    for c in containers:
        code = c.get("exitCode")
        exit_code = code if exit_code is None else exit_code
        if c.get("lastStatus") == "STOPPED" and code == 0:
            continue
        if code is None or c.get("lastStatus") != "STOPPED":
            reasons.append("container %s never ran to its end (lastStatus %s, no exit code%s)" % (
                c.get("name"), c.get("lastStatus") or "?", ": %s" % c["reason"] if c.get("reason") else "")
                if code is None else "container %s is %s with exit code %s, not STOPPED" % (
                    c.get("name"), c.get("lastStatus") or "?", code))
        else:
            reasons.append("container %s exited with code %s%s" % (
                c.get("name"), code, " (%s)" % c["reason"] if c.get("reason") else ""))
    if not containers:
        reasons.append("the task has no container")
    if reasons:
        stopped = task.get("stoppedReason") or "no stoppedReason"
        if task.get("stopCode"):
            stopped = "%s: %s" % (task["stopCode"], stopped)
        return "failed", "%s; the task stopped: %s" % ("; ".join(reasons), stopped), exit_code
    return "succeeded", "the task stopped with exit code 0", 0


# ---------------------------------------------------------------------------------------------------------------
# Planning (pure: plain dicts in, a Plan out)


def run_kwargs(p: dict, td_ref: str) -> dict:
    """RunTask's arguments (the module adds a clientToken per run, so a retried call does not start a second task)."""
    return {"cluster": p["cluster"], "taskDefinition": td_ref, "count": 1, "launchType": "FARGATE",
            "startedBy": p["name"], "group": "one-off:%s" % p["name"],
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": list(p["subnets"]),
                                                             "securityGroups": list(p["security_groups"]),
                                                             "assignPublicIp": "DISABLED"}},
            "tags": ecs_tags(dict(desired_tags(p.get("tags")), **{JOB_TAG: p["name"]}))}


def plan_log_group(p: dict, plan: Plan, group: Optional[dict]) -> None:
    """The task's log group (module_utils/log_groups.py): made with the retention and the key, an existing group with
    another key or none associated with it."""
    plan_group(plan, p["log_group"], p["log_retention"], p.get("log_kms_key_arn"), group, desired_tags(p.get("tags")))


def plan_run(p: dict, plan: Plan, td_ref: str, label: str, why: str = "") -> None:
    """Run the task, record it as started, and with ``wait`` wait for it and record the verdict."""
    text = "run one-off task %s (%s) on cluster %s%s" % (p["name"], label, p["cluster"], why)
    task = plan.add("start_task", [text], out="task %s" % p["name"], kwargs=run_kwargs(p, td_ref), revision=td_ref)
    plan.add("mark_revision", [], revision=td_ref, status="started", task=task)
    if p["wait"]:
        plan.add("wait_task", [], task=task, revision=td_ref)
        plan.add("mark_revision", ["wait until it stops with exit code 0 and mark %s succeeded" % label],
                 revision=td_ref, status="succeeded", task=task)


def plan_one_off(p: dict, observed: dict, ctx: dict) -> tuple:
    """The plan and what it leads to. ``observed``: cluster (DescribeClusters entry or None), latest (the family's latest
    ACTIVE revision, DescribeTaskDefinition's taskDefinition with its ``tags``, or None), log_group (DescribeLogGroups
    entry or None), task (the DescribeTasks entry of the task the record names, read only when the record says started
    and ``wait`` is on; None when ECS does not know it). ``ctx``: region, check_mode.
    Returns (plan, outcome): outcome has task_definition_arn, task_arn, status, exit_code - what is true without the
    steps; the module updates it as the steps run."""
    plan = Plan()
    if observed.get("cluster") is None:
        if ctx.get("check_mode"):
            plan.warnings.append("cluster %s does not exist yet; planned as if the foundation made it" % p["cluster"])
        else:
            plan.problems.append("cluster %s does not exist; accepted: an ACTIVE cluster (the compute phase's "
                                 "foundation, ecs_foundation, makes it)" % p["cluster"])
    plan_log_group(p, plan, observed.get("log_group"))
    wanted = task_definition(p, ctx["region"])
    latest = observed.get("latest")
    outcome = {"task_definition_arn": None, "task_arn": None, "status": "none", "exit_code": None}
    if latest is not None and canonical_task(latest) == canonical_task(wanted):
        td_ref = latest["taskDefinitionArn"]
        label = "revision %s" % revision_of(td_ref)
        record = record_of(latest.get("tags"))
        have = tag_dict(latest.get("tags"))
        missing = dict((k, v) for k, v in desired_tags(p.get("tags")).items() if have.get(k) != v)
        if missing:
            plan.call("ecs", "tag_resource", ["tag task definition %s:%s with %s" % (
                p["name"], revision_of(td_ref), ", ".join(sorted(missing)))],
                "tag task definition %s" % td_ref, resourceArn=td_ref, tags=ecs_tags(missing))
    else:
        changes = task_changes(canonical_task(wanted), canonical_task(latest))
        image = p["image"].rsplit("/", 1)[-1]
        text = ("register task definition %s (image %s)" % (p["name"], image) if latest is None
                else "register a new revision of task definition %s (%s)" % (p["name"], ", ".join(changes)))
        td_ref = plan.call("ecs", "register_task_definition", [text], "register task definition %s" % p["name"],
                           out="revision of %s" % p["name"], pick=("taskDefinition", "taskDefinitionArn"), **wanted)
        label = "the new revision"
        record = {}
    outcome["task_definition_arn"] = td_ref
    status = record.get("status")
    outcome["task_arn"] = record.get("task")
    outcome["status"] = status or "none"
    if status == "succeeded":
        outcome["exit_code"] = 0
        return plan, outcome
    if status == "started" and not p["wait"]:
        plan.warnings.append("one-off task %s (%s) was started by an earlier run as %s and its success is not "
                             "confirmed: wait is false, so it is neither awaited nor run again"
                             % (p["name"], label, record.get("task")))
        return plan, outcome
    if status == "started":
        verdict, why, code = task_verdict(observed.get("task"))
        if verdict == "succeeded":
            outcome["exit_code"] = code
            plan.add("mark_revision", ["mark %s succeeded: task %s, started by an earlier run, stopped with exit code 0"
                                       % (label, task_id(record.get("task")))],
                     revision=td_ref, status="succeeded", task=record.get("task"))
            return plan, outcome
        if verdict == "running":
            plan.add("wait_task", [], task=record.get("task"), revision=td_ref)
            plan.add("mark_revision", ["wait for task %s, started by an earlier run (%s), and mark %s succeeded when it "
                                       "stops with exit code 0" % (task_id(record.get("task")), why, label)],
                     revision=td_ref, status="succeeded", task=record.get("task"))
            return plan, outcome
        plan_run(p, plan, td_ref, label, " again: the earlier task %s %s" % (
            task_id(record.get("task")), "is gone - %s" % why if verdict == "gone" else "failed - %s" % why))
        return plan, outcome
    again = " again: the earlier task %s failed" % task_id(record.get("task")) if status == "failed" else ""
    plan_run(p, plan, td_ref, label, again)
    return plan, outcome


def view(p: dict, td: Optional[dict], record: dict) -> dict:
    """What the diff shows: the canonical definition and the run's record."""
    return {"task_definition": canonical_task(td), "record": dict(record)}
