#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ecs_one_off_task
short_description: Ensure a one-off Fargate task with exactly this definition has run to success once
version_added: 0.3.0
description:
  - A job that must run inside the VPC once - such as making the database's application role, where the controller has
    no route to the private database - as a Fargate task. The same mechanism runs the platform's migrations.
  - Keeps the job's CloudWatch Logs group (with retention) and its task definition (family O(name), one container
    C(job)). A revision is registered only when the wanted definition differs from the family's latest C(ACTIVE)
    revision, compared canonically over what this module sets (the defaults ECS adds are not differences).
  - The record of a run is kept on the task definition revision itself, as ECS tags - C(launch-one-off-status)
    (C(started), C(succeeded) or C(failed)), C(launch-one-off-task) (the task ARN) and C(launch-one-off-at) (UTC). ECS
    forgets a stopped task about an hour after it stops, so the task list cannot be the record; a changed definition
    is a new revision without a record, so a changed job runs again.
  - A revision marked C(succeeded) is left alone (no write). One that never ran is run - C(RunTask) with launch type
    C(FARGATE), C(awsvpc) in O(subnets) without a public IP, C(startedBy=<name>), group C(one-off:<name>) - and marked
    C(started); with O(wait) the module polls the task until it stops and marks it C(succeeded) when the container
    stopped with exit code 0, else marks it C(failed) and fails with the task's stop reason, the container's exit
    code and reason, and the last lines of its log stream (naming the log group and stream).
  - A revision marked C(started) by an earlier run is, with O(wait), looked up - stopped with exit code 0 is marked
    C(succeeded), still running is awaited, gone or failed is run again (the job must therefore be idempotent). Without
    O(wait) it is neither awaited nor run again - the module warns that its success is not confirmed.
  - A revision marked C(failed) is run again.
  - Images must be pinned - a tag that is not C(latest), or a digest - unless O(allow_latest). Environment names and
    values that look like secrets are refused (as in C(ecs_service)); secrets go in O(secrets) as ARNs, so no secret
    value passes through this module or the task definition.
  - The root filesystem is read-only; the job may write only to a task-local volume at O(scratch_path).
  - Never deletes a revision, a task or a log group.
author: DirectFanz platform team (@directfanz)
options:
  cluster:
    description: The ECS cluster the task runs on (the compute phase's foundation, C(ecs_foundation)).
    type: str
    required: true
  name:
    description:
      - The job's name - the task definition family, the task's C(startedBy) and its group C(one-off:<name>), and the
        log stream prefix. 1-128 letters, digits, hyphens or underscores.
    type: str
    required: true
  image:
    description:
      - The image, pinned - C(<repository>:<tag>) with a tag other than C(latest), or C(<repository>@sha256:<digest>).
    type: str
    required: true
  allow_latest:
    description: Accept images tagged C(latest) or untagged. Never set in production.
    type: bool
    default: false
  command:
    description: The container's command, such as C([/bin/sh, -c, "<script>"]).
    type: list
    elements: str
    required: true
  environment:
    description:
      - Plain environment values - nothing secret. Names containing SECRET, PASSWORD, TOKEN, KEY, CREDENTIAL or PRIVATE
        (unless listed in O(environment_safe_keys)) and values shaped like keys, tokens or URLs with a password are
        refused.
    type: dict
    default: {}
  environment_safe_keys:
    description: Environment names that look like secrets but are not.
    type: list
    elements: str
    default: []
  secrets:
    description:
      - Environment names the container gets from Secrets Manager or SSM - name to C(valueFrom) ARN (a Secrets Manager
        ARN may end in C(:<json-key>:<stage>:<version-id>)). Only references pass through; ECS reads the values.
    type: dict
    default: {}
  cpu:
    description: Task CPU units - 256, 512, 1024, 2048, 4096, 8192 or 16384.
    type: int
    default: 256
  memory:
    description: Task memory in MiB - a valid Fargate combination with O(cpu); also the container's hard limit.
    type: int
    default: 512
  cpu_architecture:
    description: The task's CPU architecture.
    type: str
    choices: [X86_64, ARM64]
    default: X86_64
  user:
    description: The user the container runs as, by uid or name (C(root), C(0) refused); the image's own when not given.
    type: str
  scratch_path:
    description: Where a task-local writable volume is mounted (the root filesystem is read-only).
    type: str
    default: /tmp
  execution_role_arn:
    description: The task execution role (pulls the image, writes the log group, reads the O(secrets)).
    type: str
    required: true
  task_role_arn:
    description: The role the job's own AWS calls use; none when the job makes no AWS call.
    type: str
  log_group:
    description: The CloudWatch Logs group of the container's awslogs driver; made with O(log_retention) when missing.
    type: str
    required: true
  log_retention:
    description: Days the log group keeps events (a value CloudWatch Logs accepts, such as 30 or 90).
    type: int
    default: 30
  log_kms_key_arn:
    description:
      - The ARN of the KMS key (in the module's region) the log group is encrypted with - a new group is made with it,
        an existing group with another key or none gets it (AssociateKmsKey). CloudWatch Logs takes no alias.
        Omitted, the group's encryption is left as it is.
    type: str
  subnets:
    description: The private subnets the task may run in.
    type: list
    elements: str
    required: true
  security_groups:
    description: The task's security groups.
    type: list
    elements: str
    required: true
  tags:
    description:
      - Tags on the log group, the task definition and the task (C(managed-by=directfanz.launch) is always added); never
        removed. The record's own tags (C(launch-one-off-*)) are refused here.
    type: dict
    default: {}
  wait:
    description:
      - Wait until the task stops, and mark the revision C(succeeded) or C(failed) by its exit code.
      - Off in the sandbox - moto never runs the container (its tasks reach C(STOPPED) after four reads with the
        container still C(PENDING)), so a run there stays C(started) (docs/one-off-tasks.md).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the task to stop (the revision stays C(started) when it runs longer).
    type: int
    default: 900
  wait_delay:
    description: Seconds between two reads of the task while waiting.
    type: int
    default: 10
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and returns the planned RV(actions) and C(changed) - whether it would register a revision and
        run the task; writes nothing. A missing cluster is planned around with a warning.
  diff_mode:
    support: full
    description: Returns the canonical task definition and the run's record, before and after.
"""

EXAMPLES = r"""
- name: Make the application role inside the VPC, once per definition
  directfanz.launch.ecs_one_off_task:
    cluster: directfanz
    name: directfanz-db-setup
    image: public.ecr.aws/docker/library/postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    command: [/bin/sh, -c, "{{ lookup('ansible.builtin.file', 'app-role-task.sh') }}"]
    environment:
      PGHOST: directfanz-db.abcdefghij.us-east-1.rds.amazonaws.com
      PGPORT: "5432"
      PGUSER: postgres
      PGDATABASE: postgres
      PGSSLMODE: verify-full
    secrets:
      PGPASSWORD: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0a1b2c3d-AbCdEf:password::"
    execution_role_arn: arn:aws:iam::123456789012:role/directfanz-db-setup-execution
    log_group: /directfanz/db-setup
    subnets: [subnet-0a, subnet-0b]
    security_groups: [sg-0app]
  register: db_setup
"""

RETURN = r"""
task_definition_arn:
  description: The revision the job runs (a placeholder in check mode when one would be registered).
  returned: always
  type: str
  sample: arn:aws:ecs:us-east-1:123456789012:task-definition/directfanz-db-setup:2
task_arn:
  description: The task of the revision's run (this one's or the earlier run's), or null when it never ran.
  returned: always
  type: str
  sample: arn:aws:ecs:us-east-1:123456789012:task/directfanz/0123456789abcdef0123456789abcdef
status:
  description:
    - The revision's record after the run - C(succeeded), C(started) (not awaited, O(wait=false)) or C(failed); C(none)
      in check mode for a revision that never ran.
  returned: always
  type: str
  sample: succeeded
exit_code:
  description: The container's exit code, when known.
  returned: always
  type: int
  sample: 0
log_group:
  description: The job's log group.
  returned: always
  type: str
  sample: /directfanz/db-setup
log_stream:
  description: The container's log stream (C(<name>/job/<task id>)), when a task is known.
  returned: always
  type: str
  sample: directfanz-db-setup/job/0123456789abcdef0123456789abcdef
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["register task definition directfanz-db-setup (image postgres:16.6)",
           "run one-off task directfanz-db-setup (the new revision) on cluster directfanz",
           "wait until it stops with exit code 0 and mark the new revision succeeded"]
"""

# Why a module of our own: community.aws.ecs_task runs a task on every invocation (it cannot say "this already ran")
# and community.aws.ecs_taskdefinition registers a revision on every run; neither reports a task's exit code or logs.

import time
import uuid

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.ecs_task import (
    AT_TAG, STATUS_TAG, TASK_TAG, input_problems, log_stream, plan_one_off, record_of, task_definition, task_verdict,
    view)
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    apply, aws_call, aws_pages, aws_read, finish, refuse, retrying_client)

LOG_TAIL = 20


def latest_active(module, ecs, family):
    """The family's latest ACTIVE revision with its tags (moto answers DescribeTaskDefinition on a family with the
    highest revision even when it is INACTIVE, so list the ACTIVE ones and take the highest)."""
    arns = aws_pages(module, ecs, "list the revisions of task definition %s" % family, "list_task_definitions",
                     "taskDefinitionArns", familyPrefix=family, status="ACTIVE")
    revisions = []
    for arn in arns:
        fam, dummy, rev = arn.rsplit("/", 1)[-1].rpartition(":")
        if fam == family and rev.isdigit():
            revisions.append((int(rev), arn))
    if not revisions:
        return None
    answer = aws_read(module, ecs, "read task definition %s" % max(revisions)[1], "describe_task_definition",
                      missing=("ClientException",), taskDefinition=max(revisions)[1], include=["TAGS"])
    if not answer:
        return None
    return dict(answer["taskDefinition"], tags=answer.get("tags") or [])


def describe_task(module, ecs, cluster, arn):
    """The DescribeTasks entry of ``arn``, or None when ECS does not know it (AWS lists it under failures as MISSING;
    moto answers no task and no failure)."""
    answer = aws_read(module, ecs, "read task %s" % arn, "describe_tasks", missing=("ClusterNotFoundException",),
                      cluster=cluster, tasks=[arn])
    tasks = [t for t in (answer or {}).get("tasks") or [] if t.get("taskArn") == arn]
    return tasks[0] if tasks else None


def read_state(module, clients, p):
    ecs = clients["ecs"]
    answer = aws_read(module, ecs, "read cluster %s" % p["cluster"], "describe_clusters", clusters=[p["cluster"]])
    clusters = [c for c in (answer or {}).get("clusters") or [] if c.get("status") == "ACTIVE"]
    cluster = clusters[0] if clusters else None
    latest = latest_active(module, ecs, p["name"])
    group = None
    for found in aws_pages(module, clients["logs"], "read log group %s" % p["log_group"], "describe_log_groups",
                           "logGroups", token="nextToken", logGroupNamePrefix=p["log_group"]):
        if found["logGroupName"] == p["log_group"]:
            group = found
    task = None
    record = record_of((latest or {}).get("tags"))
    if cluster is not None and p["wait"] and record.get("status") == "started" and record.get("task"):
        task = describe_task(module, ecs, p["cluster"], record["task"])
    return {"cluster": cluster, "latest": latest, "log_group": group, "task": task}


def log_tail(module, logs, group, stream):
    """The last lines of the container's log stream; an empty list when the stream does not exist (a container that
    never started writes none)."""
    answer = aws_read(module, logs, "read log stream %s of %s" % (stream, group), "get_log_events",
                      missing=("ResourceNotFoundException",), logGroupName=group, logStreamName=stream, limit=LOG_TAIL,
                      startFromHead=False)
    return [e.get("message", "").rstrip("\n") for e in (answer or {}).get("events") or []]


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            name=dict(type="str", required=True),
            image=dict(type="str", required=True),
            allow_latest=dict(type="bool", default=False),
            command=dict(type="list", elements="str", required=True),
            environment=dict(type="dict", default={}),
            environment_safe_keys=dict(type="list", elements="str", default=[], no_log=False),
            secrets=dict(type="dict", default={}, no_log=False),  # names -> ARNs, never values
            cpu=dict(type="int", default=256),
            memory=dict(type="int", default=512),
            cpu_architecture=dict(type="str", choices=["X86_64", "ARM64"], default="X86_64"),
            user=dict(type="str"),
            scratch_path=dict(type="str", default="/tmp"),
            execution_role_arn=dict(type="str", required=True),
            task_role_arn=dict(type="str"),
            log_group=dict(type="str", required=True),
            log_retention=dict(type="int", default=30),
            log_kms_key_arn=dict(type="str", no_log=False),
            subnets=dict(type="list", elements="str", required=True),
            security_groups=dict(type="list", elements="str", required=True),
            tags=dict(type="dict", default={}),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=900),
            wait_delay=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p, module.check_mode)
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="ecs_one_off_task refused the input: %s" % "; ".join(problems), problems=problems)

    clients = dict((s, retrying_client(module, s, retries=8, max_delay=20)) for s in ("ecs", "logs"))
    ecs = clients["ecs"]
    observed = read_state(module, clients, p)
    plan, outcome = plan_one_off(p, observed, {"region": module.region, "check_mode": module.check_mode})
    refuse(module, "ecs_one_off_task", plan)
    record = record_of((observed["latest"] or {}).get("tags"))
    after = dict(record)

    def done_before(step):
        return [text for s in plan.steps[:plan.steps.index(step)] for text in s["texts"]]

    def report(step=None, real=None):
        """The outputs, also on a failure during apply (with the revision's real ARN)."""
        if step is not None:
            outcome["task_definition_arn"] = real(step["revision"])
        return dict(outcome, log_group=p["log_group"], log_stream=log_stream(p, outcome["task_arn"]))

    def mark(step, real, status, task_arn):
        at = now()
        tags = [{"key": STATUS_TAG, "value": status}, {"key": TASK_TAG, "value": task_arn}, {"key": AT_TAG, "value": at}]
        aws_call(module, ecs, "record %s on task definition %s" % (status, real(step["revision"])), "tag_resource",
                 done=done_before(step), resourceArn=real(step["revision"]), tags=tags)
        after.update(status=status, task=task_arn, at=at)
        outcome["status"] = status

    def start_task(step, real):
        kwargs = dict(real(step["kwargs"]), clientToken=uuid.uuid4().hex)  # a retried RunTask starts no second task
        answer = aws_call(module, ecs, "run one-off task %s" % p["name"], "run_task", done=done_before(step), **kwargs)
        tasks = answer.get("tasks") or []
        if not tasks:
            failures = ["%s: %s%s" % (f.get("arn") or "-", f.get("reason") or "?",
                                      " (%s)" % f["detail"] if f.get("detail") else "")
                        for f in answer.get("failures") or []]
            module.fail_json(msg="Could not run one-off task %s: ECS started no task (%s); nothing is recorded, the next "
                                 "run tries again" % (p["name"], "; ".join(failures) or "no reason given"),
                             failures=answer.get("failures") or [], actions_done=done_before(step),
                             **report(step, real))
        outcome.update(task_arn=tasks[0]["taskArn"], exit_code=None)
        return tasks[0]["taskArn"]

    def mark_revision(step, real):
        mark(step, real, step["status"], real(step["task"]))

    def wait_task(step, real):
        arn = real(step["task"])
        outcome["task_arn"] = arn
        deadline = time.time() + p["wait_timeout"]
        while True:
            verdict, why, code = task_verdict(describe_task(module, ecs, p["cluster"], arn))
            if verdict == "succeeded":
                outcome["exit_code"] = code
                return
            if verdict in ("failed", "gone"):
                outcome["exit_code"] = code
                mark(step, real, "failed", arn)
                stream = log_stream(p, arn)
                lines = log_tail(module, clients["logs"], p["log_group"], stream)
                tail = ("; its last %d log lines (log group %s, stream %s):\n%s" % (len(lines), p["log_group"], stream,
                                                                                    "\n".join(lines))
                        if lines else "; log group %s has no events in stream %s" % (p["log_group"], stream))
                module.fail_json(msg="one-off task %s failed: %s%s" % (p["name"], why, tail), log_tail=lines,
                                 actions_done=done_before(step), **report(step, real))
            if time.time() > deadline:
                module.fail_json(msg="one-off task %s (%s) has not stopped after %d s (wait_timeout): %s; the revision "
                                     "stays marked started and the next run waits for it again"
                                 % (p["name"], arn, p["wait_timeout"], why), actions_done=done_before(step),
                                 **report(step, real))
            time.sleep(p["wait_delay"])

    real = apply(module, plan, clients, handlers={"start_task": start_task, "mark_revision": mark_revision,
                                                  "wait_task": wait_task})
    outcome["task_definition_arn"] = real(outcome["task_definition_arn"])
    diff = None
    if module._diff:
        diff = {"before": view(p, observed["latest"], record),
                "after": view(p, task_definition(p, module.region), after)}
    finish(module, plan, diff, **report())


if __name__ == "__main__":
    main()
