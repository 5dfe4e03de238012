"""The sandbox runs the launch's one-off ECS tasks: moto records a RunTask but runs no container.

Why: the data phase makes the database's application role with a one-off Fargate task (roles/rds_pgbouncer/tasks/
app_role.yml, module ecs_one_off_task). moto keeps that task as a record only, so in the sandbox the role never
existed and nothing behind the pooler could log in as the app. This process polls moto's ECS (every cluster,
``ListTasks desiredStatus=RUNNING``, then ``DescribeTasks`` of the tasks it has not seen) and runs each new task here,
as its container would run:

- only task definitions whose container image is a stand-in image (``STANDIN_IMAGES``: an image repository whose
  name ends with ``postgres`` - the PostgreSQL client image of rds_pgbouncer_setup_image - gets Debian's psql on
  PATH); any other task is recorded as "not run: image X is not a stand-in image" and left alone in moto;
- the container's command (``entryPoint`` + ``command``, the RunTask ``containerOverrides`` command when given) with
  exactly the container's environment (``containerOverrides`` environment on top) and its secrets, each ``valueFrom``
  resolved from moto's Secrets Manager (``<arn>[:json-key[:version-stage[:version-id]]]``) or SSM as ECS resolves
  it - a secret that cannot be read stops the task before it starts, with ECS's ResourceInitializationError;
- as a non-root user (the container's ``user`` when it names one that is not root, else ``nobody``) in a mount
  namespace whose /etc/hosts maps the RDS endpoint names to the RDS stand-in's addresses (its state file), so
  ``PGSSLMODE=verify-full`` with the endpoint name works as inside the VPC; a private, empty ``/tmp`` (the task-local
  scratch volume; TMPDIR points at it), and the RDS stand-in's and this runner's own directories hidden;
- output: the last lines of stdout and stderr, the exit code and the start/stop times go to the state file; every line
  goes to the container's awslogs stream in moto's CloudWatch Logs (``<prefix>/<container>/<task id>``, as the awslogs
  driver names it), so the launch's ecs_one_off_task finds the log tail where it looks on AWS. Every resolved secret
  value is masked in all of these (and no value is ever printed: only names);
- then ``StopTask`` with the reason ``sandbox task_runner: exit N``: moto keeps that reason and sets the task STOPPED,
  but leaves its container PENDING with a made-up exit code 0 (docs/standin-tasks.md: what moto keeps).

A task runs once: the state file is keyed by task ARN and read back when the runner restarts (a task that was running
when the runner stopped is recorded as interrupted, never run twice).

    python -m sandbox.task_runner --aws-endpoint URL --region R --rds-state F --workdir DIR --state-file F
"""

from __future__ import annotations

import argparse
import glob
import ipaddress
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from sandbox.changes import MotoChanges

# The allow-list: (what the image repository's name ends with, what stands in for the image here). Only these images
# are run; adding one means providing its programs on the host.
STANDIN_IMAGES = (("postgres", "Debian's PostgreSQL client programs (psql)"),)
RUN_USER = "nobody"          # who a task runs as when its container names no (non-root) user
TAIL = 20                    # lines of stdout / stderr kept in the state file
MAX_LINES = 5000             # lines of output kept for the log stream (the rest is counted, not kept)
REASON_LIMIT = 255           # ECS's limit on StopTask's reason
MASK = "****"
PREFIX = "sandbox task_runner: "
WRAPPER = r"""
hosts=$1 scratch=$2 uid=$3 gid=$4 hide=$5
shift 5
fail() { echo "sandbox task_runner: $*" >&2; exit 125; }
mount --bind "$hosts" /etc/hosts || fail "could not map the RDS endpoint names (/etc/hosts)"
mount --bind "$scratch" /tmp || fail "could not give the task its private /tmp"
for dir in $hide; do
  if [ -d "$dir" ]; then mount -t tmpfs -o size=1m,mode=0755 tmpfs "$dir" || fail "could not hide $dir"; fi
done
cd /tmp
if [ "$uid" = - ]; then exec "$@"; fi
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
"""


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ----------------------------------------------------------------------------------------------- pure helpers


def image_repository(image: str) -> str:
    """The repository of an image reference, without registry, tag or digest:
    ``public.ecr.aws/docker/library/postgres:16.6`` -> ``docker/library/postgres``."""
    name = image.split("@", 1)[0]
    head, _sep, last = name.rpartition("/")
    last = last.split(":", 1)[0]
    name = "%s/%s" % (head, last) if head else last
    first, _sep, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest  # the registry host
    return name


def standin_for(image: str) -> str | None:
    """What stands in for ``image`` here (``STANDIN_IMAGES``), or None: the image is not run."""
    repository = image_repository(image).lower()
    for suffix, provided in STANDIN_IMAGES:
        if repository.rsplit("/", 1)[-1].endswith(suffix):
            return provided
    return None


def parse_value_from(value_from: str) -> dict[str, str]:
    """An ECS secret's ``valueFrom`` as ECS reads it: a Secrets Manager ARN with optional
    ``:<json-key>:<version-stage>:<version-id>`` (each may be empty), an SSM parameter ARN, or an SSM parameter name
    (same region only)."""
    parts = value_from.split(":")
    if value_from.startswith("arn:") and len(parts) >= 7 and parts[2] == "secretsmanager" and parts[5] == "secret":
        rest = parts[7:] + ["", "", ""]
        return {"kind": "secretsmanager", "id": ":".join(parts[:7]), "region": parts[3], "json_key": rest[0],
                "stage": rest[1], "version": rest[2]}
    if value_from.startswith("arn:") and len(parts) >= 6 and parts[2] == "ssm":
        name = parts[5].split("/", 1)[1] if "/" in parts[5] else parts[5]
        return {"kind": "ssm", "id": name if name.startswith("/") or "/" not in name else "/" + name,
                "region": parts[3]}
    if value_from.startswith("arn:"):
        raise ValueError("valueFrom %s is neither a Secrets Manager secret nor an SSM parameter ARN" % value_from)
    return {"kind": "ssm", "id": value_from, "region": ""}


def mask(text: str, values: list[str]) -> str:
    """``text`` with every secret value in ``values`` replaced (longest first, so a value containing another is
    masked whole)."""
    for value in sorted({v for v in values if v}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def container_command(container: dict[str, Any], override: dict[str, Any]) -> list[str]:
    """What the container runs: its entry point, then the override's command or the definition's."""
    command = override.get("command") if override.get("command") is not None else container.get("command")
    return list(container.get("entryPoint") or []) + list(command or [])


def container_environment(container: dict[str, Any], override: dict[str, Any]) -> dict[str, str]:
    """The definition's environment with the override's on top (ECS's order: an override wins)."""
    env = {e["name"]: str(e.get("value", "")) for e in container.get("environment") or []}
    env.update({e["name"]: str(e.get("value", "")) for e in override.get("environment") or []})
    return env


def rds_endpoints(rds_state: dict[str, Any]) -> dict[str, str]:
    """Endpoint name -> address of every cluster the RDS stand-in has ready."""
    return {i["endpoint"].lower().rstrip("."): i["address"] for i in (rds_state.get("instances") or {}).values()
            if i.get("state") == "ready" and i.get("endpoint") and i.get("address")}


def rds_names_in(env: dict[str, str]) -> set[str]:
    """RDS endpoint names the task's environment points at (such a task waits for the stand-in to serve them)."""
    return {v.strip().lower().rstrip(".") for v in env.values()
            if v.strip().lower().rstrip(".").endswith(".rds.amazonaws.com") and " " not in v.strip()}


def client_bindir() -> Path:
    """Where psql is: Debian's newest /usr/lib/postgresql/<major>/bin, else /usr/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else Path("/usr/bin")


def run_user(container: dict[str, Any]) -> tuple[str, int, int]:
    """(name, uid, gid) the task runs as: the container's ``user`` (``name``, ``uid``, ``uid:gid``) unless it is root or
    unknown here, else ``RUN_USER``."""
    wanted = str(container.get("user") or "").strip()
    name, _sep, group = wanted.partition(":")
    if name and name not in ("root", "0"):
        try:
            entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
            gid = int(group) if group.isdigit() else entry.pw_gid
            if entry.pw_uid != 0 and gid != 0:
                return entry.pw_name, entry.pw_uid, gid
        except KeyError:
            if name.isdigit() and int(name) != 0:
                return name, int(name), int(group) if group.isdigit() else int(name)
    entry = pwd.getpwnam(RUN_USER)
    return entry.pw_name, entry.pw_uid, entry.pw_gid


class NotStarted(Exception):
    """The task cannot start (ECS stops such a task before its container runs); the message is ECS's shape."""


# ----------------------------------------------------------------------------------------------- the runner


class Runner:
    """Polls moto's ECS and runs each new task of a stand-in image once."""

    def __init__(self, endpoint: str, region: str, rds_state: Path | None, workdir: Path, state_file: Path,
                 interval: float = 1.0, task_timeout: float = 900.0, hold: float = 120.0):
        self.endpoint = endpoint
        self.region = region
        self.kw = dict(endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.clients: dict[tuple[str, str], Any] = {}
        self.ecs = self.client("ecs")
        self.rds_state = rds_state
        self.workdir = workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        self.state_file = state_file
        self.interval = interval
        self.task_timeout = task_timeout
        self.hold = hold
        self.stopping = threading.Event()
        self.child: subprocess.Popen | None = None
        self.tasks: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []
        self.polls = 0
        self.watch = MotoChanges(endpoint)
        self.load()

    def client(self, service: str, region: str = "") -> Any:
        key = (service, region or self.region)
        if key not in self.clients:
            self.clients[key] = boto3.client(service, region_name=key[1], **self.kw)
        return self.clients[key]

    # ------------------------------------------------------------------ state

    def load(self) -> None:
        """The tasks an earlier runner saw (never run twice); one that was running then is interrupted."""
        try:
            earlier = json.loads(self.state_file.read_text()).get("tasks") or {}
        except (OSError, ValueError):
            earlier = {}
        self.tasks = earlier
        for arn, entry in earlier.items():
            if entry.get("status") == "running":
                entry.update(status="interrupted", message="the runner stopped while the task ran; not run again",
                             stopped=now())
                self.stop_in_moto(entry.get("cluster", ""), arn, entry, PREFIX + "interrupted (the runner stopped)")

    def save(self) -> None:
        state = {"updated": now(), "polls": self.polls, "aws_endpoint": self.endpoint, "region": self.region,
                 "standin_images": [{"repository_ends_with": s, "provides": p} for s, p in STANDIN_IMAGES],
                 "tasks": self.tasks, "errors": self.errors[-10:]}
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=2, default=str))
        tmp.replace(self.state_file)

    def read_rds_state(self) -> dict[str, Any]:
        if self.rds_state is None:
            return {}
        try:
            return json.loads(self.rds_state.read_text())
        except (OSError, ValueError):
            return {}

    # ------------------------------------------------------------------ polling

    def poll(self) -> None:
        clusters = [arn for page in self.ecs.get_paginator("list_clusters").paginate() for arn in page["clusterArns"]]
        for cluster in clusters:
            arns = [arn for page in self.ecs.get_paginator("list_tasks").paginate(cluster=cluster,
                                                                                  desiredStatus="RUNNING")
                    for arn in page["taskArns"]]
            # DescribeTasks only of tasks not settled yet: each read moves moto's task one step along its life cycle
            new = [a for a in arns if self.tasks.get(a, {}).get("status") in (None, "waiting")]
            for i in range(0, len(new), 100):
                for task in self.ecs.describe_tasks(cluster=cluster, tasks=new[i:i + 100]).get("tasks") or []:
                    if self.stopping.is_set():
                        return
                    self.handle(cluster, task)
                    self.save()

    def handle(self, cluster: str, task: dict[str, Any]) -> None:
        arn = task["taskArn"]
        entry = self.tasks.get(arn) or {
            "task_arn": arn, "cluster": cluster, "task_definition": task.get("taskDefinitionArn"),
            "started_by": task.get("startedBy") or "", "group": task.get("group") or "", "first_seen": now(),
            "first_seen_epoch": time.time(), "exit_code": None}
        self.tasks[arn] = entry
        try:
            definition = self.ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
        except botocore.exceptions.ClientError as exc:
            entry.update(status="not run", message="not run: task definition %s cannot be read (%s)" % (
                task.get("taskDefinitionArn"), exc.response["Error"].get("Code")))
            return
        containers = definition.get("containerDefinitions") or []
        entry["family"] = "%s:%s" % (definition.get("family"), definition.get("revision"))
        images = [c.get("image", "") for c in containers]
        entry["image"] = images[0] if len(images) == 1 else images
        foreign = [i for i in images if standin_for(i) is None]
        if foreign:
            entry.update(status="not run", message="not run: image %s is not a stand-in image (run here: images whose "
                         "repository name ends with %s)" % (foreign[0], " or ".join(s for s, _p in STANDIN_IMAGES)))
            self.say("%s (%s): %s" % (arn, entry["family"], entry["message"]))
            return
        if len(containers) != 1:
            entry.update(status="not run", message="not run: %d containers; the stand-in runs one-container tasks only"
                         % len(containers))
            return
        container = containers[0]
        override = next((o for o in (task.get("overrides") or {}).get("containerOverrides") or []
                         if o.get("name") == container.get("name")), {})
        command = container_command(container, override)
        env = container_environment(container, override)
        entry.update(container=container.get("name"), environment_names=sorted(env),
                     secret_names=sorted(s["name"] for s in container.get("secrets") or []),
                     overrides={"command": override.get("command") is not None,
                                "environment": sorted(e["name"] for e in override.get("environment") or [])})
        if not command:
            entry.update(status="not run", message="not run: the container has no command (the image's default, the "
                         "PostgreSQL server, is not stood in)")
            return
        if container.get("environmentFiles") or override.get("environmentFiles"):
            entry.update(status="not run", message="not run: environmentFiles are not supported by the stand-in")
            return
        rds = self.read_rds_state()
        waiting = sorted(rds_names_in(env) - set(rds_endpoints(rds)))
        if waiting and time.time() - entry["first_seen_epoch"] < self.hold:
            entry.update(status="waiting", message="waiting for the RDS stand-in to serve %s" % ", ".join(waiting))
            return
        host = env.get("PGHOST", "").strip().lower().rstrip(".")
        if host and not host.endswith(".rds.amazonaws.com"):
            # the stand-in runs what would reach RDS from inside the VPC; a task aimed at some other server (a test's
            # own PostgreSQL on an address, say) is not the sandbox's to run
            entry.update(status="not run", message="not run: PGHOST %s is not an RDS endpoint" % host)
            return
        self.run(entry, task, container, command, env, rds)

    # ------------------------------------------------------------------ one run

    def secret_value(self, value_from: str, task_region: str) -> str:
        """What ECS injects for ``value_from``; NotStarted with ECS's ResourceInitializationError otherwise."""
        try:
            ref = parse_value_from(value_from)
        except ValueError as exc:
            raise NotStarted("ResourceInitializationError: unable to pull secrets or registry auth: %s" % exc)
        region = ref["region"] or task_region
        try:
            if ref["kind"] == "ssm":
                answer = self.client("ssm", region).get_parameter(Name=ref["id"], WithDecryption=True)
                return answer["Parameter"]["Value"]
            kwargs = {"SecretId": ref["id"]}
            if ref["version"]:
                kwargs["VersionId"] = ref["version"]
            if ref["stage"]:
                kwargs["VersionStage"] = ref["stage"]
            text = self.client("secretsmanager", region).get_secret_value(**kwargs).get("SecretString")
        except botocore.exceptions.ClientError as exc:
            where = "ssm" if ref["kind"] == "ssm" else "asm"
            raise NotStarted("ResourceInitializationError: unable to pull secrets or registry auth: unable to "
                             "retrieve secret from %s: failed to fetch secret %s: %s" % (
                                 where, ref["id"], exc.response["Error"].get("Code")))
        if text is None:
            raise NotStarted("ResourceInitializationError: unable to pull secrets or registry auth: secret %s has no "
                             "SecretString" % ref["id"])
        if not ref["json_key"]:
            return text
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict) or ref["json_key"] not in document:
            raise NotStarted("ResourceInitializationError: unable to pull secrets or registry auth: retrieved secret "
                             "from Secrets Manager did not contain json key %s (%s)" % (ref["json_key"], ref["id"]))
        value = document[ref["json_key"]]
        return value if isinstance(value, str) else json.dumps(value)

    def log_target(self, container: dict[str, Any], task_id: str) -> dict[str, str] | None:
        """The awslogs stream of the container (group, stream, region), made now as the awslogs driver makes it before
        the container starts; NotStarted when its group does not exist (ECS's answer)."""
        config = container.get("logConfiguration") or {}
        if config.get("logDriver") != "awslogs":
            return None
        options = config.get("options") or {}
        group, region = options.get("awslogs-group"), options.get("awslogs-region") or self.region
        if not group:
            return None
        prefix = options.get("awslogs-stream-prefix")
        stream = "%s/%s/%s" % (prefix, container.get("name"), task_id) if prefix else task_id
        logs = self.client("logs", region)
        try:
            if options.get("awslogs-create-group") == "true":
                try:
                    logs.create_log_group(logGroupName=group)
                except logs.exceptions.ResourceAlreadyExistsException:
                    pass
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        except botocore.exceptions.ClientError as exc:
            raise NotStarted("ResourceInitializationError: failed to validate logger args: failed to create Cloudwatch "
                             "log stream %s in %s: %s" % (stream, group, exc.response["Error"].get("Code")))
        return {"group": group, "stream": stream, "region": region}

    def write_log(self, target: dict[str, str], lines: list[tuple[float, str, str]]) -> int:
        """The output lines as log events (CloudWatch takes no empty message; 10,000 events or 1 MB per call)."""
        logs = self.client("logs", target["region"])
        events = [{"timestamp": int(at * 1000), "message": text} for at, _stream, text in lines if text]
        batches: list[list[dict[str, Any]]] = [[]]
        size = 0
        for event in events:
            cost = len(event["message"].encode()) + 26  # CloudWatch counts 26 bytes per event
            if len(batches[-1]) >= 10000 or size + cost > 1_000_000:
                batches.append([])
                size = 0
            batches[-1].append(event)
            size += cost
        for batch in batches:
            if batch:
                logs.put_log_events(logGroupName=target["group"], logStreamName=target["stream"], logEvents=batch)
        return len(events)

    def argv(self, command: list[str], hosts: Path, scratch: Path, uid: int, gid: int) -> list[str]:
        """The command inside a private mount namespace, as ``uid:gid`` (as root), or in a user namespace of its own
        (unprivileged: the caller's user, mapped)."""
        rds = self.read_rds_state()
        # (paths with white space cannot be named to the wrapper's word list: such a directory stays visible)
        hide = " ".join(str(p) for p in (self.workdir, rds.get("base")) if p and len(str(p).split()) == 1)
        if os.geteuid() == 0:
            return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", WRAPPER,
                    "task-runner", str(hosts), str(scratch), str(uid), str(gid), hide, *command]
        return ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                WRAPPER, "task-runner", str(hosts), str(scratch), "-", "-", hide, *command]

    def run(self, entry: dict[str, Any], task: dict[str, Any], container: dict[str, Any], command: list[str],
            env: dict[str, str], rds: dict[str, Any]) -> None:
        arn = entry["task_arn"]
        task_id = arn.rsplit("/", 1)[-1]
        task_region = arn.split(":")[3] if arn.count(":") >= 5 else self.region
        values: dict[str, str] = {}
        log = None
        try:
            for secret in container.get("secrets") or []:
                values[secret["name"]] = self.secret_value(secret["valueFrom"], task_region)
            log = self.log_target(container, task_id)
        except NotStarted as exc:
            entry.update(status="not started", message=mask(str(exc), list(values.values())), stopped=now())
            self.say("%s (%s): not started: %s" % (arn, entry["family"], entry["message"]))
            self.stop_in_moto(entry["cluster"], arn, entry, PREFIX + "not started: " + entry["message"])
            return
        secret_values = list(values.values())
        name, uid, gid = run_user(container)
        base = self.workdir / "runs" / task_id
        shutil.rmtree(base, ignore_errors=True)
        scratch = base / "scratch"
        scratch.mkdir(parents=True, mode=0o700)
        base.chmod(0o755)
        if os.geteuid() == 0:
            os.chown(scratch, uid, gid)
        endpoints = rds_endpoints(rds)
        hosts = base / "hosts"
        hosts.write_text("127.0.0.1 localhost\n::1 localhost\n" + "".join(
            "%s %s\n" % (a, n) for n, a in sorted(endpoints.items())))
        hosts.chmod(0o644)
        bindir = client_bindir()
        run_env = {"PATH": "%s:/usr/local/bin:/usr/bin:/bin" % bindir, "HOME": "/tmp", "HOSTNAME": "ip-" + task_id[:8],
                   "AWS_REGION": task_region, "AWS_DEFAULT_REGION": task_region, "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}
        run_env.update(env)
        run_env.update(values)
        run_env.setdefault("TMPDIR", "/tmp")
        entry.update(status="running", message="", started=now(), run_as="%s (%d:%d)" % (name, uid, gid),
                     hosts=endpoints, psql=str(bindir / "psql"), log=log)
        self.save()
        self.say("%s (%s): running %s as %s" % (arn, entry["family"], entry["image"], name))
        started = time.monotonic()
        lines: list[tuple[float, str, str]] = []
        lock = threading.Lock()
        dropped = [0]

        def reader(pipe: Any, stream: str) -> None:
            for raw in iter(pipe.readline, b""):
                text = mask(raw.decode("utf-8", "replace").rstrip("\r\n"), secret_values)
                with lock:
                    if len(lines) < MAX_LINES:
                        lines.append((time.time(), stream, text))
                    else:
                        dropped[0] += 1
            pipe.close()

        code: int | None = None
        timed_out = False
        try:
            self.child = subprocess.Popen(self.argv(command, hosts, scratch, uid, gid), env=run_env, cwd="/",
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          start_new_session=True)
        except OSError as exc:  # unshare missing or not permitted: ECS's CannotStartContainerError
            entry.update(status="not started", stopped=now(), message="CannotStartContainerError: %s" % exc)
            self.stop_in_moto(entry["cluster"], arn, entry, PREFIX + "not started: " + entry["message"])
            return
        readers = [threading.Thread(target=reader, args=(self.child.stdout, "stdout"), daemon=True),
                   threading.Thread(target=reader, args=(self.child.stderr, "stderr"), daemon=True)]
        for thread in readers:
            thread.start()
        while code is None:
            try:
                code = self.child.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                if self.stopping.is_set() or time.monotonic() - started > self.task_timeout:
                    timed_out = not self.stopping.is_set()
                    self.kill_child()
        for thread in readers:
            thread.join(timeout=5)
        self.child = None
        seconds = round(time.monotonic() - started, 3)
        left = sorted(p.name for p in scratch.iterdir())
        shutil.rmtree(scratch, ignore_errors=True)
        entry.update(exit_code=code, stopped=now(), seconds=seconds, scratch_left=len(left),
                     stdout_tail=[t for _a, s, t in lines if s == "stdout"][-TAIL:],
                     stderr_tail=[t for _a, s, t in lines if s == "stderr"][-TAIL:], lines_dropped=dropped[0])
        if log:
            try:
                log["events"] = self.write_log(log, lines)
            except botocore.exceptions.ClientError as exc:
                log["error"] = exc.response["Error"].get("Code")
        if self.stopping.is_set():
            entry.update(status="interrupted", message="the runner was stopped while the task ran (killed)")
            reason = PREFIX + "interrupted (the runner stopped)"
        elif timed_out:
            entry.update(status="ran", message="killed after %.0f s (--task-timeout)" % self.task_timeout)
            reason = PREFIX + "exit %s (killed after %.0f s)" % (code, self.task_timeout)
        else:
            entry.update(status="ran", message="exit %d" % code)
            reason = PREFIX + "exit %d" % code
        self.say("%s (%s): %s in %.1f s" % (arn, entry["family"], entry["message"] or entry["status"], seconds))
        self.stop_in_moto(entry["cluster"], arn, entry, reason)

    def kill_child(self) -> None:
        if self.child is not None and self.child.poll() is None:
            try:
                os.killpg(self.child.pid, signal.SIGTERM)
                self.child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop_in_moto(self, cluster: str, arn: str, entry: dict[str, Any], reason: str) -> None:
        """StopTask with the outcome as its reason (ECS caps a reason at 255 characters); what moto answered is kept."""
        reason = reason[:REASON_LIMIT]
        try:
            stopped = self.ecs.stop_task(cluster=cluster, task=arn, reason=reason)["task"]
            container = (stopped.get("containers") or [{}])[0]
            entry["moto"] = {"stop_reason": stopped.get("stoppedReason"), "last_status": stopped.get("lastStatus"),
                             "desired_status": stopped.get("desiredStatus"),
                             "container_last_status": container.get("lastStatus"),
                             "container_exit_code": container.get("exitCode")}
        except Exception as exc:  # moto restarted or reset: the record here stays
            entry["moto"] = {"stop_reason": reason, "error": "%s: %s" % (exc.__class__.__name__, exc)}

    # ------------------------------------------------------------------ life cycle

    def say(self, text: str) -> None:
        print("task_runner: " + text, flush=True)

    def loop(self) -> None:
        """A round when moto's change count moved (sandbox/changes.py) or a task waits for the RDS stand-in."""
        while not self.stopping.is_set():
            if self.watch.due() or any(e.get("status") == "waiting" for e in self.tasks.values()):
                try:
                    self.poll()
                    self.watch.seen()
                except Exception as exc:  # moto restarting, a reset mid-poll: the next round tries again
                    self.errors = (self.errors + ["%s %s: %s" % (now(), exc.__class__.__name__, exc)])[-10:]
                self.polls += 1
            self.save()
            self.stopping.wait(self.interval)

    def close(self) -> None:
        self.stopping.set()
        self.kill_child()


def missing_programs() -> list[str]:
    """What the runner needs on the host (tools/install_system_deps.sh installs PostgreSQL's client)."""
    missing = [p for p in ("unshare", "mount", "setpriv") if shutil.which(p) is None]
    if not (client_bindir() / "psql").exists():
        missing.append("psql")
    return missing


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--aws-endpoint", required=True, help="moto's URL (loopback)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--rds-state", type=Path, help="the RDS stand-in's state file (endpoint names -> addresses)")
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--state-file", required=True, type=Path)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between two polls of moto")
    p.add_argument("--task-timeout", type=float, default=900.0, help="seconds a task may run before it is killed")
    p.add_argument("--hold", type=float, default=120.0,
                   help="seconds a task whose environment names an RDS endpoint waits for the RDS stand-in to serve it")
    args = p.parse_args(argv)
    host = args.aws_endpoint.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit("task_runner: the AWS endpoint must be on loopback (the sandbox's moto), not %s" % host)
    missing = missing_programs()
    if missing:
        raise SystemExit("task_runner: missing %s (tools/install_system_deps.sh installs PostgreSQL's client; "
                         "unshare, mount and setpriv come with util-linux)" % ", ".join(missing))
    runner = Runner(args.aws_endpoint, args.region, args.rds_state, args.workdir, args.state_file, args.interval,
                    args.task_timeout, args.hold)
    signal.signal(signal.SIGTERM, lambda *a: runner.stopping.set())
    signal.signal(signal.SIGINT, lambda *a: runner.stopping.set())
    runner.save()
    try:
        runner.loop()
    finally:
        runner.close()
        runner.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
