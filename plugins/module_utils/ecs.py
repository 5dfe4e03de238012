# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ECS deployments, shared by ecs_service and ecs_rollback: the verdict on a deployment a wait reads (pure) and the
bounded wait itself. A circuit-breaker rollback is a failure here, never a success."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.directfanz.launch.plugins.module_utils.plan import aws_read


# Input rules shared by ecs_service and ecs_one_off_task (the same ECS API takes both definitions).
# Fargate's task sizes: CPU units -> the memory values (MiB) it accepts.
FARGATE_SIZES = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:|ssm:[a-z0-9-]+:\d{12}:parameter/)\S+$")
LOG_GROUP = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
# What an earlier module answers in check mode for something it would make ("(new target group x)", "(new subnet x)").
PLACEHOLDER = re.compile(r"^\(new [^()]+\)$")
# What an environment name or value must not look like: secrets belong in `secrets`.
SECRET_WORDS = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY($|_)|APIKEY|ACCESSKEY")
SECRET_VALUES = (
    ("a Stripe key", re.compile(r"^(sk|rk|pk)_(live|test)_|^whsec_")),
    ("an AWS access key id", re.compile(r"(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}($|[^A-Z0-9])")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a URL with a password", re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:\s]*:[^/@\s]+@")),
    ("a JSON web token", re.compile(r"^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")),
)

# <registry/path>[:tag] or <registry/path>@sha256:<64 hex>
IMAGE = re.compile(r"^(?P<repo>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)"
                   r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def image_problem(image, allow_latest):
    """Why ``image`` is not a pinned reference, or None."""
    m = IMAGE.match(image or "")
    if not m:
        return ("image %r is not an image reference; accepted: <repository>:<tag> or <repository>@sha256:<64 hex>"
                % image)
    if m.group("digest"):
        return None
    tag = m.group("tag")
    if allow_latest:
        return None
    if not tag:
        return ("image %r has no tag, which means latest; accepted: a pinned tag other than latest (such as :1.4.2) "
                "or a digest (@sha256:...)" % image)
    if tag == "latest":
        return ("image %r is tagged latest; accepted: a pinned tag other than latest (such as :1.4.2) or a digest "
                "(@sha256:...); allow_latest is never set in production" % image)
    return None


def rollout_verdict(svc: dict, deployment_id: str, task_definition_arn: str) -> tuple:
    """("done"|"failed"|"waiting", why) for the deployment ``deployment_id`` that should run ``task_definition_arn``.
    A circuit-breaker rollback marks our deployment FAILED and starts one of the previous revision; a deployment that
    is gone while the service runs another revision was replaced - both are failures, never success."""
    if svc is None:
        return "failed", "the service is gone"
    deployments = svc.get("deployments") or []
    ours = [d for d in deployments if d.get("id") == deployment_id]
    if not ours:
        if svc.get("taskDefinition") != task_definition_arn:
            return "failed", "deployment %s is gone and the service runs %s (rolled back or replaced)" % (
                deployment_id, svc.get("taskDefinition"))
        primary = [d for d in deployments if d.get("status") == "PRIMARY"]
        if primary and primary[0].get("rolloutState") == "COMPLETED":
            return "done", "the service runs %s" % task_definition_arn
        return "waiting", "another deployment of %s is in progress" % task_definition_arn
    d = ours[0]
    state = d.get("rolloutState")
    if state == "COMPLETED":
        return "done", d.get("rolloutStateReason") or "completed"
    if state == "FAILED":
        back = [x.get("taskDefinition") for x in deployments
                if x.get("id") != deployment_id and x.get("status") == "PRIMARY"]
        return "failed", "%s%s" % (d.get("rolloutStateReason") or "the deployment failed",
                                   "; the circuit breaker rolled back to %s" % back[0] if back else "")
    counts = (state or "IN_PROGRESS", d.get("runningCount") or 0, d.get("desiredCount") or 0)
    return "waiting", "%s: %d of %d tasks running" % counts


def wait_for(module, ecs, p: dict, deployments: dict) -> None:
    """Polls the services whose deployments this run started until each is done; fails on the first failed one (a
    circuit-breaker rollback) or at the timeout, naming what is still in progress."""
    deadline = time.time() + p["wait_timeout"]
    pending = dict(deployments)
    while True:
        names = sorted(pending)
        states = {}
        for i in range(0, len(names), 10):
            answer = aws_read(module, ecs, "read the deployments of cluster %s" % p["cluster"], "describe_services",
                              cluster=p["cluster"], services=names[i:i + 10])
            for svc in (answer or {}).get("services") or []:
                states[svc["serviceName"]] = svc
        for name in names:
            deployment_id, td = pending[name]
            verdict, why = rollout_verdict(states.get(name), deployment_id, td)
            if verdict == "failed":
                module.fail_json(msg="service %s: the deployment of %s failed: %s" % (name, td, why),
                                 service=name, deployment_id=deployment_id)
            if verdict == "done":
                pending.pop(name)
        if not pending:
            return
        if time.time() > deadline:
            module.fail_json(msg="the deployments of %s are still in progress after %d s (wait_timeout)" % (
                ", ".join(sorted(pending)), p["wait_timeout"]), pending=sorted(pending))
        time.sleep(p["wait_delay"])
