#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ecs_service
short_description: All Fargate services of the launch - log groups, task definitions, Cloud Map names - in one call
version_added: 0.3.0
description:
  - Keeps, in one invocation, all the services of the launch on one ECS cluster. Per service - its CloudWatch Logs group
    (with retention), its task definition (family C(<launch_name>-<name>), one container), optionally its Cloud Map name
    (a private DNS namespace and a discovery service), and the ECS service itself.
  - Reads everything first (the cluster, the services, each family's latest C(ACTIVE) revision and the revision the
    service runs, the log groups, the Cloud Map namespaces and services), plans every change, refuses the whole change
    before its first write when something is wrong, then applies the plan.
  - A task definition revision is registered only when the wanted definition differs from both the revision the service
    runs and the family's latest C(ACTIVE) revision. Definitions are compared canonically, over what this module sets
    only - the defaults ECS adds when it registers (C(essential), C(cpu=0), empty lists, C(protocol=tcp), C(hostPort),
    C(compatibilities), C(requiresAttributes), C(registeredAt) ...) are not differences.
  - A changed secret must roll the service. Give each service a O(services[].config_version) (for example a hash of its
    secrets' version ids); it is the container's C(LAUNCH_CONFIG_VERSION) docker label, so a new value is a new revision
    and a rolling deployment, and an unchanged one is nothing.
  - The desired count is set when a service is created and never again - auto-scaling owns it afterwards.
  - After creating (or updating) a service the module compares what ECS answers with what it sent and corrects, with one
    C(UpdateService) carrying exactly those fields, whatever did not stick; it warns naming the fields.
  - Images must be pinned - a tag that is not C(latest), or a digest. Environment values that look like secrets are
    refused (names containing SECRET, PASSWORD, TOKEN, KEY, CREDENTIAL or PRIVATE unless listed as safe, and values
    shaped like keys or URLs with a password); secrets go in O(services[].secrets) as ARNs.
  - Never deletes a service, a revision, a log group or a Cloud Map resource.
author: DirectFanz platform team (@directfanz)
options:
  cluster:
    description: The ECS cluster the services run on (the foundation's, C(ecs_foundation)).
    type: str
    required: true
  launch_name:
    description: The launch's name; task definition families are C(<launch_name>-<service name>).
    type: str
    required: true
  allow_latest:
    description:
      - Accept images tagged C(latest) or untagged. Never set in production - a re-run could then deploy whatever the
        tag points at today, and a rollback could not name what ran before.
    type: bool
    default: false
  vpc_id:
    description: The VPC a new Cloud Map private DNS namespace is made in (needed only when one must be made).
    type: str
  log_kms_key_arn:
    description:
      - The ARN of the KMS key (in the module's region) the services' log groups are encrypted with - new groups are
        made with it, an existing group with another key or none gets it (AssociateKmsKey; what was logged before
        stays under the old key). CloudWatch Logs takes no alias. Omitted, the groups' encryption is left as it is.
      - The key's policy must let C(logs.<region>.amazonaws.com) use it for these groups (the launch's operations key
        does).
    type: str
  tags:
    description: Tags on what the module makes (C(managed-by=directfanz.launch) is always added); never removed.
    type: dict
    default: {}
  wait:
    description:
      - Wait until each deployment this run started has C(rolloutState=COMPLETED), and fail when it is C(FAILED) -
        which is what a deployment the circuit breaker rolled back shows - naming the service and the reason.
      - Off in the sandbox - moto never starts a task, so its deployments stay C(IN_PROGRESS).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for all deployments together.
    type: int
    default: 1200
  wait_delay:
    description: Seconds between two reads of the deployments while waiting.
    type: int
    default: 15
  services:
    description: The services, each once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The ECS service's and the container's name (lower-case letters, digits, hyphens; 1-32).
        type: str
        required: true
      image:
        description:
          - The image, pinned - C(<repository>:<tag>) with a tag other than C(latest), or
            C(<repository>@sha256:<digest>).
        type: str
        required: true
      cpu:
        description: Task CPU units - 256, 512, 1024, 2048, 4096, 8192 or 16384.
        type: int
        required: true
      memory:
        description: Task memory in MiB - a valid Fargate combination with O(services[].cpu).
        type: int
        required: true
      cpu_architecture:
        description: The task's CPU architecture.
        type: str
        choices: [X86_64, ARM64]
        default: X86_64
      container_port:
        description: The port the container listens on (TCP).
        type: int
      command:
        description: The container's command, when the image's own is not the one.
        type: list
        elements: str
      health_check:
        description: The container health check.
        type: dict
        suboptions:
          command:
            description: C([CMD-SHELL, "..."]) or C([CMD, ...]).
            type: list
            elements: str
            required: true
          interval:
            description: Seconds between checks (5-300).
            type: int
            default: 30
          timeout:
            description: Seconds a check may take (2-60).
            type: int
            default: 5
          retries:
            description: Failures before the container is unhealthy (1-10).
            type: int
            default: 3
          start_period:
            description: Seconds after start during which failures do not count (0-300).
            type: int
            default: 60
      log_group:
        description:
          - The CloudWatch Logs group of the container's awslogs driver; made with O(services[].log_retention) when
            missing.
        type: str
        required: true
      log_retention:
        description: Days the log group keeps events (a value CloudWatch Logs accepts, such as 30 or 90).
        type: int
        default: 30
      log_stream_prefix:
        description: The awslogs stream prefix; the service name when not given.
        type: str
      readonly_root_filesystem:
        description: Mount the root filesystem read-only (where the image allows; give writable O(services[].volumes)).
        type: bool
        default: true
      user:
        description: The user the container runs as, by uid or name (C(root), C(0) refused); the image's own when not given.
        type: str
      environment:
        description: Plain environment values - nothing secret (see the module description).
        type: dict
        default: {}
      environment_safe_keys:
        description: Environment names that look like secrets but are not (for example C(PUBLIC_KEY_URL)).
        type: list
        elements: str
        default: []
      secrets:
        description: Environment names the container gets from Secrets Manager or SSM - name to C(valueFrom) ARN.
        type: dict
        default: {}
      config_version:
        description:
          - A version of the service's configuration (a hash of its secrets' versions); a new value rolls the
            service.
        type: str
      execution_role_arn:
        description: The task execution role (pulls the image, writes logs, reads the O(services[].secrets)).
        type: str
        required: true
      task_role_arn:
        description: The role the application's own AWS calls use.
        type: str
        required: true
      ulimits:
        description: Container ulimits.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: The limit, such as C(nofile).
            type: str
            required: true
          soft:
            description: Soft limit.
            type: int
            required: true
          hard:
            description: Hard limit.
            type: int
            required: true
      stop_timeout:
        description: Seconds between SIGTERM and SIGKILL (2-120).
        type: int
        default: 30
      volumes:
        description: Task-local writable volumes (Fargate ephemeral storage), mounted into the container.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Volume name.
            type: str
            required: true
          container_path:
            description: Absolute path in the container.
            type: str
            required: true
      desired_count:
        description: Tasks when the service is created (the auto-scaling minimum); never changed afterwards.
        type: int
        default: 2
      subnets:
        description: Private subnets the tasks run in.
        type: list
        elements: str
        required: true
      security_groups:
        description: Security groups of the tasks.
        type: list
        elements: str
        required: true
      assign_public_ip:
        description: Give tasks public IPs (only for services in public subnets; the launch's never are).
        type: bool
        default: false
      capacity_provider_strategy:
        description: The service's strategy; the cluster's default strategy when not given.
        type: list
        elements: dict
        suboptions:
          capacity_provider:
            description: C(FARGATE) or C(FARGATE_SPOT).
            type: str
            required: true
          base:
            description: Tasks always placed on this provider.
            type: int
            default: 0
          weight:
            description: Relative share.
            type: int
            default: 1
      load_balancers:
        description: Target groups the tasks register into.
        type: list
        elements: dict
        default: []
        suboptions:
          target_group_arn:
            description: The target group (type C(ip)).
            type: str
            required: true
          container_port:
            description: The container port registered; O(services[].container_port) when not given.
            type: int
      health_check_grace_period:
        description:
          - Seconds the load balancer's failed health checks are ignored after a task starts (with load balancers
            only).
        type: int
        default: 60
      discovery:
        description: A Cloud Map name for the service - C(<name>.<namespace>), A records per task.
        type: dict
        suboptions:
          namespace:
            description: The private DNS namespace, such as C(directfanz.internal); made in O(vpc_id) when missing.
            type: str
            required: true
          name:
            description: The discovery service's name; the service name when not given.
            type: str
          ttl:
            description: TTL of the A records, seconds.
            type: int
            default: 10
      enable_execute_command:
        description: Allow ECS Exec into the tasks (off unless asked).
        type: bool
        default: false
      minimum_healthy_percent:
        description: Lower bound of running tasks during a deployment.
        type: int
        default: 100
      maximum_percent:
        description: Upper bound of running tasks during a deployment.
        type: int
        default: 200
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and returns the planned RV(actions) and C(changed); changes nothing. A missing cluster is planned
        around with a warning (the foundation of the same run makes it).
  diff_mode:
    support: full
    description: Returns per service its canonical task definition and service settings, before and after.
"""

EXAMPLES = r"""
- name: Keep the launch's services
  directfanz.launch.ecs_service:
    cluster: directfanz
    launch_name: directfanz
    services:
      - name: web
        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/directfanz/web:1.4.2
        cpu: 512
        memory: 1024
        container_port: 3000
        health_check: {command: [CMD-SHELL, "wget -qO- http://127.0.0.1:3000/health || exit 1"]}
        log_group: /directfanz/web
        user: "1000"
        volumes: [{name: tmp, container_path: /tmp}]
        environment: {NODE_ENV: production}
        secrets:
          NEXTAUTH_SECRET: "arn:aws:secretsmanager:us-east-1:123456789012:secret:directfanz/app/NEXTAUTH_SECRET-a1B2c3"
        config_version: 3f1c0a
        execution_role_arn: arn:aws:iam::123456789012:role/directfanz-web-execution
        task_role_arn: arn:aws:iam::123456789012:role/directfanz-web-task
        subnets: [subnet-0a, subnet-0b]
        security_groups: [sg-0app]
        load_balancers:
          - target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/directfanz-web/0123"
  register: services
"""

RETURN = r"""
services:
  description: Per service name, what it runs after the run (computed in check mode).
  returned: always
  type: dict
  sample:
    web:
      family: directfanz-web
      task_definition_arn: arn:aws:ecs:us-east-1:123456789012:task-definition/directfanz-web:3
      registered: false
      service_name: web
      service_arn: arn:aws:ecs:us-east-1:123456789012:service/directfanz/web
      resource_id: service/directfanz/web
      deployment_id: ecs-svc/1234567890
corrected:
  description: Per service, the settings ECS did not keep on a write and that one more UpdateService set.
  returned: always
  type: dict
  sample: {web: [deploymentConfiguration, healthCheckGracePeriodSeconds]}
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["register task definition directfanz-web (image web:1.4.2)", "update service web (taskDefinition)"]
"""

# Why a module of our own: community.aws.ecs_taskdefinition compares the whole returned definition (with the defaults
# ECS adds) and registers a revision on every run; community.aws.ecs_service resets desired_count on each run (the
# auto-scaled count), cannot verify what moto/ECS kept, and reports a rolled-back deployment as a success. One call for
# all services also costs one module start instead of about twelve.

import re
import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.ecs import (
    ENV_NAME, FARGATE_SIZES, LOG_GROUP, PLACEHOLDER, RETENTION_DAYS, ROLE_ARN, SECRET_ARN, SECRET_VALUES, SECRET_WORDS,
    image_problem, wait_for)
from ansible_collections.directfanz.launch.plugins.module_utils.log_groups import key_problem, plan_group
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, aws_pages, aws_read, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")
CONFIG_LABEL = "LAUNCH_CONFIG_VERSION"
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
NAME = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
TARGET_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
                              r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]+$")
PLACEHOLDER_PART = re.compile(r"\(new [^()]+\)")
NAMESPACE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
ULIMITS = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
           "rttime", "sigpending", "stack")
# The fields of UpdateService we compare; the names are the API's.
SERVICE_FIELDS = ("taskDefinition", "networkConfiguration", "loadBalancers", "serviceRegistries", "deploymentConfiguration",
                  "healthCheckGracePeriodSeconds", "enableExecuteCommand", "capacityProviderStrategy", "propagateTags")


# ---------------------------------------------------------------------------------------------------------------
# Input checks (before any API call)


def family_of(p, service):
    return "%s-%s" % (p["launch_name"], service["name"])


def size_problem(cpu, memory):
    if cpu not in FARGATE_SIZES:
        return "cpu %r is not a Fargate size; accepted: %s" % (cpu, ", ".join(str(c) for c in sorted(FARGATE_SIZES)))
    allowed = FARGATE_SIZES[cpu]
    if memory not in allowed:
        if cpu == 256:
            what = "512, 1024 or 2048"
        else:
            step = allowed[1] - allowed[0]
            what = "%d to %d in steps of %d" % (allowed[0], allowed[-1], step)
        return "memory %r does not go with cpu %d on Fargate; accepted with cpu %d: %s MiB" % (memory, cpu, cpu, what)
    return None


def environment_problems(name, service):
    """Names and values that look like secrets; a message names the key, never the value."""
    problems = []
    safe = set(service.get("environment_safe_keys") or [])
    for key, value in sorted((service.get("environment") or {}).items()):
        if not ENV_NAME.match(key):
            problems.append("service %s: environment name %r is not accepted; accepted: letters, digits and _ not "
                            "starting with a digit" % (name, key))
            continue
        if key in (service.get("secrets") or {}):
            problems.append("service %s: %s is both in environment and in secrets; accepted: one of them" % (name, key))
        if key in safe:
            continue
        if SECRET_WORDS.search(key.upper()):
            problems.append("service %s: environment %s looks like a secret (its name); accepted: put it in secrets as a "
                            "Secrets Manager ARN, or list it in environment_safe_keys when it is not secret" % (name, key))
            continue
        for what, pattern in SECRET_VALUES:
            if pattern.search(str(value)):
                problems.append("service %s: the value of environment %s looks like %s; accepted: put it in secrets as a "
                                "Secrets Manager ARN (the value is not shown)" % (name, key, what))
                break
    return problems


def secret_ref_ok(value_from, check_mode):
    """A valueFrom is a secret's ARN; in check mode also what secrets_manager answers there for a secret or a version
    it would make ("(new secret NAME)", "(new version)"), so a --check before the config phase ever ran plans too."""
    if SECRET_ARN.match(value_from or ""):
        return True
    filled = PLACEHOLDER_PART.sub("x", value_from or "")
    return check_mode and filled != value_from and bool(SECRET_ARN.match(filled) or filled.startswith("x:"))


def service_problems(p, service, check_mode=False):
    name = service.get("name") or ""
    problems = []
    if not SERVICE_NAME.match(name):
        return ["service name %r is not accepted; accepted: 1-32 lower-case letters, digits and hyphens, starting with a "
                "letter" % name]
    family = family_of(p, service)
    if len(family) > 255:
        problems.append("service %s: family %s is longer than 255 characters" % (name, family))
    problem = image_problem(service.get("image"), p.get("allow_latest"))
    if problem:
        problems.append("service %s: %s" % (name, problem))
    problem = size_problem(service.get("cpu"), service.get("memory"))
    if problem:
        problems.append("service %s: %s" % (name, problem))
    port = service.get("container_port")
    if port is not None and not 1 <= port <= 65535:
        problems.append("service %s: container_port %r is not accepted; accepted: 1-65535" % (name, port))
    check = service.get("health_check")
    if check:
        command = check.get("command") or []
        if len(command) < 2 or command[0] not in ("CMD", "CMD-SHELL"):
            problems.append("service %s: health_check.command %r is not accepted; accepted: [CMD-SHELL, '<shell line>'] "
                            "or [CMD, <executable>, <args>...]" % (name, command))
        for field, low, high in (("interval", 5, 300), ("timeout", 2, 60), ("retries", 1, 10), ("start_period", 0, 300)):
            value = check.get(field)
            if value is None or not low <= value <= high:
                problems.append("service %s: health_check.%s %r is not accepted; accepted: %d-%d"
                                % (name, field, value, low, high))
    if not LOG_GROUP.match(service.get("log_group") or ""):
        problems.append("service %s: log_group %r is not accepted; accepted: 1-512 letters, digits, '.', '-', '_', '/' "
                        "or '#'" % (name, service.get("log_group")))
    if service.get("log_retention") not in RETENTION_DAYS:
        problems.append("service %s: log_retention %r is not accepted; accepted: %s days"
                        % (name, service.get("log_retention"), ", ".join(str(d) for d in RETENTION_DAYS)))
    user = service.get("user")
    if user is not None and (user.split(":")[0] in ("root", "0") or not user.strip()):
        problems.append("service %s: user %r runs as root; accepted: a non-root uid or user name (or none: the image's "
                        "user)" % (name, user))
    problems.extend(environment_problems(name, service))
    for key, value_from in sorted((service.get("secrets") or {}).items()):
        if not ENV_NAME.match(key):
            problems.append("service %s: secret name %r is not accepted; accepted: letters, digits and _" % (name, key))
        if not secret_ref_ok(value_from, check_mode):
            problems.append("service %s: secret %s is not an ARN; accepted: a Secrets Manager secret ARN (optionally with "
                            ":<json-key>:<stage>:<version-id>) or an SSM parameter ARN" % (name, key))
    for field in ("execution_role_arn", "task_role_arn"):
        if not ROLE_ARN.match(service.get(field) or ""):
            problems.append("service %s: %s %r is not accepted; accepted: arn:aws:iam::<account>:role/<name>"
                            % (name, field, service.get(field)))
    for limit in service.get("ulimits") or []:
        if limit.get("name") not in ULIMITS:
            problems.append("service %s: ulimit %r is not accepted; accepted: %s"
                            % (name, limit.get("name"), ", ".join(ULIMITS)))
        elif not 0 <= limit.get("soft", -1) <= limit.get("hard", -1):
            problems.append("service %s: ulimit %s needs 0 <= soft <= hard" % (name, limit["name"]))
    if not 2 <= (service.get("stop_timeout") or 0) <= 120:
        problems.append("service %s: stop_timeout %r is not accepted; accepted: 2-120 seconds (Fargate's bounds)"
                        % (name, service.get("stop_timeout")))
    names = [v.get("name") for v in service.get("volumes") or []]
    for volume in service.get("volumes") or []:
        if not NAME.match(volume.get("name") or "") or names.count(volume.get("name")) > 1:
            problems.append("service %s: volume name %r is not accepted; accepted: unique names of letters, digits, - "
                            "and _" % (name, volume.get("name")))
        if not (volume.get("container_path") or "").startswith("/"):
            problems.append("service %s: volume %s container_path %r is not absolute"
                            % (name, volume.get("name"), volume.get("container_path")))
    if (service.get("desired_count") or 0) < 0:
        problems.append("service %s: desired_count must be 0 or more" % name)
    if not service.get("subnets"):
        problems.append("service %s: subnets is empty; accepted: the private subnets the tasks run in" % name)
    if not service.get("security_groups"):
        problems.append("service %s: security_groups is empty; accepted: the tasks' security group ids" % name)
    for lb in service.get("load_balancers") or []:
        placeholder = check_mode and PLACEHOLDER.match(lb.get("target_group_arn") or "")
        if not TARGET_GROUP_ARN.match(lb.get("target_group_arn") or "") and not placeholder:
            problems.append("service %s: target_group_arn %r is not a target group ARN" % (name, lb.get("target_group_arn")))
        if (lb.get("container_port") or port) is None:
            problems.append("service %s: a load balancer needs a container port (container_port)" % name)
    if service.get("load_balancers") and not 0 <= (service.get("health_check_grace_period") or 0) <= 2147483647:
        problems.append("service %s: health_check_grace_period must be 0 or more seconds" % name)
    for item in service.get("capacity_provider_strategy") or []:
        if item.get("capacity_provider") not in ("FARGATE", "FARGATE_SPOT"):
            problems.append("service %s: capacity provider %r is not accepted; accepted: FARGATE, FARGATE_SPOT"
                            % (name, item.get("capacity_provider")))
    discovery = service.get("discovery")
    if discovery:
        if not NAMESPACE.match(discovery.get("namespace") or ""):
            problems.append("service %s: discovery.namespace %r is not a DNS name such as directfanz.internal"
                            % (name, discovery.get("namespace")))
        if not 0 <= (discovery.get("ttl") or 0) <= 86400:
            problems.append("service %s: discovery.ttl must be 0-86400 seconds" % name)
    low, high = service.get("minimum_healthy_percent"), service.get("maximum_percent")
    if low is None or high is None or not 0 <= low <= 100 or not 100 <= high <= 400 or high <= low:
        problems.append("service %s: minimum_healthy_percent %r / maximum_percent %r are not accepted; accepted: 0-100 "
                        "and 100-400, maximum above minimum (the launch uses 100/200)" % (name, low, high))
    return problems


def input_problems(p, check_mode=False):
    """Every problem of the input, each saying what is accepted; no API call. In check mode the placeholders an
    earlier module planned ("(new target group x)") stand for what it would make."""
    problems = []
    if not NAME.match(p.get("cluster") or ""):
        problems.append("cluster %r is not accepted; accepted: 1-200 letters, digits, hyphens or underscores"
                        % p.get("cluster"))
    if not NAME.match(p.get("launch_name") or ""):
        problems.append("launch_name %r is not accepted; accepted: letters, digits, hyphens or underscores"
                        % p.get("launch_name"))
    services = p.get("services") or []
    if not services:
        problems.append("services is empty; accepted: the launch's services, each a dict with name, image, cpu, ...")
    seen = set()
    for service in services:
        if service.get("name") in seen:
            problems.append("service %r is listed twice; accepted: each service once" % service.get("name"))
        seen.add(service.get("name"))
        problems.extend(service_problems(p, service, check_mode))
    if (p.get("wait_timeout") or 0) <= 0 or (p.get("wait_delay") or 0) <= 0:
        problems.append("wait_timeout and wait_delay must be positive seconds")
    problem = key_problem(p.get("log_kms_key_arn"), p.get("region"))
    if problem:
        problems.append(problem)
    tags = p.get("tags") or {}
    if len(tags) > 49:
        problems.append("tags has %d entries; accepted: at most 49 (managed-by is added)" % len(tags))
    for key in tags:
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            problems.append("tag key %r is not accepted; accepted: 1-128 characters not starting with 'aws:'" % key)
    return problems


# ---------------------------------------------------------------------------------------------------------------
# What the task asks for, and the canonical form both sides are compared in


def desired_tags(tags):
    return dict(((k, str(v)) for k, v in (tags or {}).items()), **{MANAGED_TAG[0]: MANAGED_TAG[1]})


def ecs_tags(tags):
    return [{"key": k, "value": v} for k, v in sorted(desired_tags(tags).items())]


def container_definition(p, service, region):
    name = service["name"]
    c = {"name": name, "image": service["image"], "essential": True,
         "logConfiguration": {"logDriver": "awslogs", "options": {
             "awslogs-group": service["log_group"], "awslogs-region": region,
             "awslogs-stream-prefix": service.get("log_stream_prefix") or name}},
         "readonlyRootFilesystem": bool(service.get("readonly_root_filesystem")),
         "stopTimeout": service["stop_timeout"]}
    if service.get("container_port"):
        c["portMappings"] = [{"containerPort": service["container_port"], "protocol": "tcp"}]
    if service.get("command"):
        c["command"] = list(service["command"])
    if service.get("health_check"):
        hc = service["health_check"]
        c["healthCheck"] = {"command": list(hc["command"]), "interval": hc["interval"], "timeout": hc["timeout"],
                            "retries": hc["retries"], "startPeriod": hc["start_period"]}
    if service.get("user"):
        c["user"] = service["user"]
    if service.get("environment"):
        c["environment"] = [{"name": k, "value": str(v)} for k, v in sorted(service["environment"].items())]
    if service.get("secrets"):
        c["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(service["secrets"].items())]
    if service.get("ulimits"):
        c["ulimits"] = [{"name": u["name"], "softLimit": u["soft"], "hardLimit": u["hard"]}
                        for u in sorted(service["ulimits"], key=lambda u: u["name"])]
    if service.get("volumes"):
        c["mountPoints"] = [{"sourceVolume": v["name"], "containerPath": v["container_path"], "readOnly": False}
                            for v in service["volumes"]]
    if service.get("config_version"):
        c["dockerLabels"] = {CONFIG_LABEL: service["config_version"]}
    return c


def task_definition(p, service, region):
    """The RegisterTaskDefinition arguments of ``service``."""
    kwargs = {"family": family_of(p, service), "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
              "cpu": str(service["cpu"]), "memory": str(service["memory"]),
              "executionRoleArn": service["execution_role_arn"], "taskRoleArn": service["task_role_arn"],
              "runtimePlatform": {"cpuArchitecture": service["cpu_architecture"], "operatingSystemFamily": "LINUX"},
              "containerDefinitions": [container_definition(p, service, region)],
              "tags": ecs_tags(p.get("tags"))}
    if service.get("volumes"):
        kwargs["volumes"] = [{"name": v["name"]} for v in service["volumes"]]
    return kwargs


def _health(check):
    if not check:
        return None
    return {"command": list(check.get("command") or []), "interval": check.get("interval", 30),
            "timeout": check.get("timeout", 5), "retries": check.get("retries", 3),
            "startPeriod": check.get("startPeriod", 0)}


def canonical_container(c):
    """A container definition reduced to what this module sets, with ECS's defaults read as their values: essential
    true, protocol tcp, hostPort (always the container port in awsvpc), cpu 0, empty lists as absent."""
    log = c.get("logConfiguration") or {}
    return {
        "name": c.get("name"), "image": c.get("image"), "essential": c.get("essential", True) is not False,
        "command": list(c.get("command") or []),
        "portMappings": sorted([pm.get("containerPort"), (pm.get("protocol") or "tcp").lower()]
                               for pm in c.get("portMappings") or []),
        "environment": sorted([e.get("name"), e.get("value", "")] for e in c.get("environment") or []),
        "secrets": sorted([s.get("name"), s.get("valueFrom")] for s in c.get("secrets") or []),
        "healthCheck": _health(c.get("healthCheck")),
        "logConfiguration": {"logDriver": log.get("logDriver"), "options": dict(log.get("options") or {})} if log else None,
        "readonlyRootFilesystem": bool(c.get("readonlyRootFilesystem")),
        "user": c.get("user") or None,
        "ulimits": sorted([u.get("name"), u.get("softLimit"), u.get("hardLimit")] for u in c.get("ulimits") or []),
        "stopTimeout": c.get("stopTimeout"),
        "mountPoints": sorted([m.get("sourceVolume"), m.get("containerPath"), bool(m.get("readOnly"))]
                              for m in c.get("mountPoints") or []),
        "dockerLabels": dict(c.get("dockerLabels") or {}),
    }


def canonical_task(td):
    """A task definition (RegisterTaskDefinition arguments or DescribeTaskDefinition's answer) as the comparable
    subset: ECS's additions (revision, status, compatibilities, requiresAttributes, registeredAt/By, placement
    constraints, empty volumes' host) are left out."""
    if not td:
        return None
    platform = td.get("runtimePlatform") or {}
    return {
        "family": td.get("family"), "cpu": str(td.get("cpu")), "memory": str(td.get("memory")),
        "networkMode": td.get("networkMode"), "requiresCompatibilities": sorted(td.get("requiresCompatibilities") or []),
        "executionRoleArn": td.get("executionRoleArn"), "taskRoleArn": td.get("taskRoleArn"),
        "runtimePlatform": {"cpuArchitecture": platform.get("cpuArchitecture") or "X86_64",
                            "operatingSystemFamily": platform.get("operatingSystemFamily") or "LINUX"},
        "volumes": sorted(v.get("name") for v in td.get("volumes") or []),
        "containers": sorted((canonical_container(c) for c in td.get("containerDefinitions") or []),
                             key=lambda c: c["name"] or ""),
    }


def task_changes(wanted, have):
    """Top-level (and per-container) fields that differ, for the actions line."""
    if have is None:
        return ["new"]
    out = [k for k in sorted(wanted) if k != "containers" and wanted[k] != have.get(k)]
    if len(wanted["containers"]) != len(have.get("containers") or []):
        return out + ["containers"]
    for w, h in zip(wanted["containers"], have["containers"], strict=True):
        out.extend(k for k in sorted(w) if w[k] != h.get(k))
    return out


def normal_strategy(items):
    """A capacity provider strategy in canonical order and shape (an omitted base reads as 0), or None for none."""
    if not items:
        return None
    return sorted(({"capacityProvider": i.get("capacityProvider") or i.get("capacity_provider"),
                    "base": int(i.get("base") or 0), "weight": int(i.get("weight") or 0)} for i in items),
                  key=lambda i: i["capacityProvider"])


def wanted_service(p, service, cluster, task_ref, registry_ref):
    """The service settings this module sets, in UpdateService's names (the canonical, comparable form)."""
    port = service.get("container_port")
    lbs = sorted(({"targetGroupArn": lb["target_group_arn"], "containerName": service["name"],
                   "containerPort": lb.get("container_port") or port} for lb in service.get("load_balancers") or []),
                 key=lambda lb: lb["targetGroupArn"])
    strategy = normal_strategy(service.get("capacity_provider_strategy")) \
        or normal_strategy((cluster or {}).get("defaultCapacityProviderStrategy"))
    out = {
        "taskDefinition": task_ref,
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": sorted(service["subnets"]), "securityGroups": sorted(service["security_groups"]),
            "assignPublicIp": "ENABLED" if service.get("assign_public_ip") else "DISABLED"}},
        "loadBalancers": lbs,
        "serviceRegistries": [{"registryArn": registry_ref}] if registry_ref else [],
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                    "maximumPercent": service["maximum_percent"],
                                    "minimumHealthyPercent": service["minimum_healthy_percent"]},
        "enableExecuteCommand": bool(service.get("enable_execute_command")),
        "capacityProviderStrategy": strategy,
        "propagateTags": "SERVICE",
    }
    if lbs:
        out["healthCheckGracePeriodSeconds"] = service["health_check_grace_period"]
    return out


def service_view(svc, wanted_keys=SERVICE_FIELDS):
    """What ECS answers for a service, in the same canonical form as `wanted_service`."""
    if svc is None:
        return None
    network = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    deployment = svc.get("deploymentConfiguration") or {}
    breaker = deployment.get("deploymentCircuitBreaker") or {}
    view = {
        "taskDefinition": svc.get("taskDefinition"),
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": sorted(network.get("subnets") or []), "securityGroups": sorted(network.get("securityGroups") or []),
            "assignPublicIp": network.get("assignPublicIp") or "DISABLED"}},
        "loadBalancers": sorted(({"targetGroupArn": lb.get("targetGroupArn"), "containerName": lb.get("containerName"),
                                  "containerPort": lb.get("containerPort")} for lb in svc.get("loadBalancers") or []),
                                key=lambda lb: lb["targetGroupArn"] or ""),
        "serviceRegistries": sorted(({"registryArn": r.get("registryArn")} for r in svc.get("serviceRegistries") or []),
                                    key=lambda r: r["registryArn"] or ""),
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": bool(breaker.get("enable")),
                                                                 "rollback": bool(breaker.get("rollback"))},
                                    "maximumPercent": deployment.get("maximumPercent"),
                                    "minimumHealthyPercent": deployment.get("minimumHealthyPercent")},
        "healthCheckGracePeriodSeconds": svc.get("healthCheckGracePeriodSeconds"),
        "enableExecuteCommand": bool(svc.get("enableExecuteCommand")),
        "capacityProviderStrategy": normal_strategy(svc.get("capacityProviderStrategy")),
        "propagateTags": svc.get("propagateTags") or "NONE",
    }
    return dict((k, view[k]) for k in wanted_keys)


def differing(wanted, have):
    """The UpdateService fields whose wanted value differs from ``have`` (a `service_view`)."""
    return [k for k in SERVICE_FIELDS if k in wanted and wanted[k] != (have or {}).get(k)]


def update_kwargs(wanted, fields):
    kwargs = dict((k, wanted[k]) for k in fields)
    if "capacityProviderStrategy" in kwargs:
        if kwargs["capacityProviderStrategy"] is None:
            kwargs["capacityProviderStrategy"] = []
        kwargs["forceNewDeployment"] = True  # ECS needs a new deployment to move tasks to another strategy
    return kwargs


def create_kwargs(p, service, wanted):
    kwargs = {"cluster": p["cluster"], "serviceName": service["name"], "taskDefinition": wanted["taskDefinition"],
              "desiredCount": service["desired_count"], "networkConfiguration": wanted["networkConfiguration"],
              "deploymentConfiguration": wanted["deploymentConfiguration"], "deploymentController": {"type": "ECS"},
              "enableExecuteCommand": wanted["enableExecuteCommand"], "propagateTags": "SERVICE",
              "schedulingStrategy": "REPLICA", "tags": ecs_tags(p.get("tags"))}
    if wanted["capacityProviderStrategy"]:
        kwargs["capacityProviderStrategy"] = wanted["capacityProviderStrategy"]
    else:
        kwargs["launchType"] = "FARGATE"
    if wanted["loadBalancers"]:
        kwargs["loadBalancers"] = wanted["loadBalancers"]
        kwargs["healthCheckGracePeriodSeconds"] = wanted["healthCheckGracePeriodSeconds"]
    if wanted["serviceRegistries"]:
        kwargs["serviceRegistries"] = wanted["serviceRegistries"]
    return kwargs


# ---------------------------------------------------------------------------------------------------------------
# Planning (pure: plain dicts in, a Plan out)


def plan_log_group(p, plan, service, observed, planned):
    """The service's log group, once per run (services may share one): module_utils/log_groups.py's plan, with the
    module's key (an existing group with another key or none is associated with it)."""
    name = service["log_group"]
    if name in planned:
        return
    planned.add(name)
    plan_group(plan, name, service["log_retention"], p.get("log_kms_key_arn"), observed["log_groups"].get(name),
               desired_tags(p.get("tags")))


def plan_discovery(p, plan, service, observed, namespaces):
    """The Cloud Map namespace (made once per run) and the discovery service; returns its ARN or placeholder."""
    discovery = service.get("discovery")
    if not discovery:
        return None
    ns_name = discovery["namespace"].lower().rstrip(".")
    sd_name = discovery.get("name") or service["name"]
    ttl = discovery["ttl"]
    ns = observed["namespaces"].get(ns_name)
    if ns is not None:
        ns_id = ns["Id"]
    elif ns_name in namespaces:
        ns_id = namespaces[ns_name]
    else:
        if not p.get("vpc_id"):
            plan.problems.append("service %s: Cloud Map namespace %s does not exist and vpc_id is not given; accepted: the "
                                 "VPC id to make the private DNS namespace in" % (service["name"], ns_name))
        ns_id = plan.add("create_namespace", ["create Cloud Map private DNS namespace %s" % ns_name],
                         out="namespace %s" % ns_name, name=ns_name, vpc=p.get("vpc_id"),
                         tags=[{"Key": k, "Value": v} for k, v in sorted(desired_tags(p.get("tags")).items())])
        namespaces[ns_name] = ns_id
    found = observed["discovery_services"].get((ns_name, sd_name))
    if found is None:
        return plan.call("servicediscovery", "create_service", ["create Cloud Map service %s.%s (A, TTL %d)"
                                                                % (sd_name, ns_name, ttl)],
                         "Could not create Cloud Map service %s.%s" % (sd_name, ns_name), out="discovery %s" % sd_name,
                         pick=("Service", "Arn"), Name=sd_name, NamespaceId=ns_id,
                         DnsConfig={"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": ttl}]},
                         HealthCheckCustomConfig={"FailureThreshold": 1},
                         Tags=[{"Key": k, "Value": v} for k, v in sorted(desired_tags(p.get("tags")).items())])
    records = (found.get("DnsConfig") or {}).get("DnsRecords") or []
    if [(r.get("Type"), r.get("TTL")) for r in records] != [("A", ttl)]:
        plan.call("servicediscovery", "update_service", ["set Cloud Map service %s.%s to A records, TTL %d"
                                                         % (sd_name, ns_name, ttl)],
                  "Could not update Cloud Map service %s.%s" % (sd_name, ns_name), Id=found["Id"],
                  Service={"DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": ttl}]}})
    return found["Arn"]


def plan_task_definition(p, plan, service, observed, region):
    """Which revision the service should run: the one it runs or the family's latest ACTIVE one when either is the
    wanted definition, else a new revision. Returns (the ARN or placeholder, whether one is registered)."""
    kwargs = task_definition(p, service, region)
    wanted = canonical_task(kwargs)
    found = observed["task_definitions"].get(service["name"]) or {}
    for td in (found.get("current"), found.get("latest")):
        if td is not None and canonical_task(td) == wanted:
            return td["taskDefinitionArn"], False
    have = canonical_task(found.get("current") or found.get("latest"))
    changes = task_changes(wanted, have)
    image = service["image"].rsplit("/", 1)[-1]
    text = ("register task definition %s (image %s)" % (kwargs["family"], image) if have is None
            else "register a new revision of task definition %s (%s)" % (kwargs["family"], ", ".join(changes)))
    ref = plan.call("ecs", "register_task_definition", [text], "Could not register task definition %s" % kwargs["family"],
                    out="revision of %s" % kwargs["family"], pick=("taskDefinition", "taskDefinitionArn"), **kwargs)
    return ref, True


def target_group_name(arn):
    parts = arn.split("/")
    return parts[-2] if len(parts) >= 3 else arn


def plan_service(p, plan, service, observed, task_ref, registry_ref):
    name = service["name"]
    cluster = observed.get("cluster")
    wanted = wanted_service(p, service, cluster, task_ref, registry_ref)
    svc = observed["services"].get(name)
    if svc is not None and svc.get("status") == "DRAINING":
        plan.problems.append("service %s is DRAINING (being deleted); wait until it is INACTIVE and run again" % name)
        return
    if svc is None:
        plan.add("create_ecs_service", ["create service %s (%d tasks, %s)" % (
            name, service["desired_count"], "target groups " + ", ".join(
                target_group_name(lb["targetGroupArn"]) for lb in wanted["loadBalancers"]) if wanted["loadBalancers"]
            else "no load balancer")], service=name, kwargs=create_kwargs(p, service, wanted), wanted=wanted)
        return
    fields = differing(wanted, service_view(svc))
    if fields:
        kwargs = dict(update_kwargs(wanted, fields), cluster=p["cluster"], service=name)
        plan.add("update_ecs_service", ["update service %s (%s)" % (name, ", ".join(fields))], service=name, kwargs=kwargs,
                 wanted=wanted, fields=fields)
    have = dict((t["key"], t["value"]) for t in svc.get("tags") or [])
    missing = dict((k, v) for k, v in desired_tags(p.get("tags")).items() if have.get(k) != v)
    if missing:
        plan.call("ecs", "tag_resource", ["tag service %s with %s" % (name, ", ".join(sorted(missing)))],
                  "Could not tag service %s" % name, resourceArn=svc["serviceArn"],
                  tags=[{"key": k, "value": v} for k, v in sorted(missing.items())])


def plan_services(p, observed, ctx):
    """The whole plan, service by service in the given order: log group, Cloud Map name, task definition, service.
    ``observed``: cluster (the ACTIVE DescribeClusters entry or None), services (name -> DescribeServices entry, absent
    when missing or INACTIVE), task_definitions (name -> {current, latest}: DescribeTaskDefinition answers or None),
    log_groups (name -> DescribeLogGroups entry), namespaces (name -> ListNamespaces entry), discovery_services
    ((namespace, name) -> ListServices entry). ``ctx``: region, check_mode."""
    plan = Plan()
    if observed.get("cluster") is None:
        if ctx.get("check_mode"):
            plan.warnings.append("cluster %s does not exist yet; planned as if the foundation made it with no default "
                                 "capacity provider strategy" % p["cluster"])
        else:
            plan.problems.append("cluster %s does not exist; run the foundation (ecs_foundation) first" % p["cluster"])
    logs, namespaces = set(), {}
    for service in p["services"]:
        plan_log_group(p, plan, service, observed, logs)
        registry = plan_discovery(p, plan, service, observed, namespaces)
        task_ref = plan_task_definition(p, plan, service, observed, ctx["region"])[0]
        plan_service(p, plan, service, observed, task_ref, registry)
    return plan


# ---------------------------------------------------------------------------------------------------------------
# Reading


def latest_active(module, ecs, family):
    """The family's latest ACTIVE revision (DescribeTaskDefinition on a family name alone would do on ECS, but moto
    answers the highest revision even when it is INACTIVE, so list the ACTIVE ones and take the highest)."""
    arns = aws_pages(module, ecs, "list the revisions of task definition %s" % family, "list_task_definitions",
                     "taskDefinitionArns", familyPrefix=family, status="ACTIVE")
    revisions = []
    for arn in arns:
        fam, dummy, rev = arn.rsplit("/", 1)[-1].rpartition(":")
        if fam == family and rev.isdigit():
            revisions.append((int(rev), arn))
    if not revisions:
        return None
    return describe_task(module, ecs, max(revisions)[1])


def describe_task(module, ecs, ref):
    answer = aws_read(module, ecs, "read task definition %s" % ref, "describe_task_definition",
                      missing=("ClientException",), taskDefinition=ref)
    return (answer or {}).get("taskDefinition")


def read_state(module, clients, p):
    ecs = clients["ecs"]
    answer = aws_read(module, ecs, "read cluster %s" % p["cluster"], "describe_clusters", clusters=[p["cluster"]])
    clusters = [c for c in (answer or {}).get("clusters") or [] if c.get("status") == "ACTIVE"]
    cluster = clusters[0] if clusters else None
    services = {}
    names = [s["name"] for s in p["services"]]
    if cluster is not None:
        for i in range(0, len(names), 10):
            answer = aws_read(module, ecs, "read the services of cluster %s" % p["cluster"], "describe_services",
                              missing=("ClusterNotFoundException",), cluster=p["cluster"], services=names[i:i + 10],
                              include=["TAGS"])
            for svc in (answer or {}).get("services") or []:
                if svc.get("status") != "INACTIVE":
                    services[svc["serviceName"]] = svc
    task_definitions = {}
    for service in p["services"]:
        latest = latest_active(module, ecs, family_of(p, service))
        current = None
        running = (services.get(service["name"]) or {}).get("taskDefinition")
        if running and (latest is None or running != latest.get("taskDefinitionArn")):
            current = describe_task(module, ecs, running)
        elif running:
            current = latest
        task_definitions[service["name"]] = {"latest": latest, "current": current}
    log_groups = {}
    for name in sorted(set(s["log_group"] for s in p["services"])):
        for group in aws_pages(module, clients["logs"], "read log group %s" % name, "describe_log_groups", "logGroups",
                               token="nextToken", logGroupNamePrefix=name):
            if group["logGroupName"] == name:
                log_groups[name] = group
    namespaces, discovery_services = {}, {}
    wanted_ns = set(s["discovery"]["namespace"].lower().rstrip(".") for s in p["services"] if s.get("discovery"))
    if wanted_ns:
        sd = clients["servicediscovery"]
        for ns in aws_pages(module, sd, "list the Cloud Map namespaces", "list_namespaces", "Namespaces",
                            Filters=[{"Name": "TYPE", "Values": ["DNS_PRIVATE"], "Condition": "EQ"}]):
            if ns["Name"].lower().rstrip(".") in wanted_ns:
                namespaces[ns["Name"].lower().rstrip(".")] = ns
        for ns_name, ns in sorted(namespaces.items()):
            for found in aws_pages(module, sd, "list the Cloud Map services of %s" % ns_name, "list_services", "Services",
                                   Filters=[{"Name": "NAMESPACE_ID", "Values": [ns["Id"]], "Condition": "EQ"}]):
                discovery_services[(ns_name, found["Name"])] = found
    return {"cluster": cluster, "services": services, "task_definitions": task_definitions, "log_groups": log_groups,
            "namespaces": namespaces, "discovery_services": discovery_services}


# ---------------------------------------------------------------------------------------------------------------
# Views and outputs


def before_view(p, observed):
    out = {}
    for service in p["services"]:
        found = observed["task_definitions"].get(service["name"]) or {}
        out[service["name"]] = {"task_definition": canonical_task(found.get("current") or found.get("latest")),
                                "service": service_view(observed["services"].get(service["name"]))}
    return out


def after_view(p, observed, plan, region, real):
    out = {}
    steps = dict((s.get("service"), s) for s in plan.steps if s["op"] in ("create_ecs_service", "update_ecs_service"))
    for service in p["services"]:
        name = service["name"]
        step = steps.get(name)
        svc = service_view(observed["services"].get(name))
        if step is not None:
            svc = real(step["wanted"])
        view = canonical_task(task_definition(p, service, region))
        out[name] = {"task_definition": view, "service": svc}
    return out


def main():
    lb_spec = dict(target_group_arn=dict(type="str", required=True), container_port=dict(type="int"))
    service_spec = dict(
        name=dict(type="str", required=True),
        image=dict(type="str", required=True),
        cpu=dict(type="int", required=True),
        memory=dict(type="int", required=True),
        cpu_architecture=dict(type="str", choices=["X86_64", "ARM64"], default="X86_64"),
        container_port=dict(type="int"),
        command=dict(type="list", elements="str"),
        health_check=dict(type="dict", options=dict(
            command=dict(type="list", elements="str", required=True),
            interval=dict(type="int", default=30), timeout=dict(type="int", default=5),
            retries=dict(type="int", default=3), start_period=dict(type="int", default=60))),
        log_group=dict(type="str", required=True),
        log_retention=dict(type="int", default=30),
        log_stream_prefix=dict(type="str"),
        readonly_root_filesystem=dict(type="bool", default=True),
        user=dict(type="str"),
        environment=dict(type="dict", default={}),
        environment_safe_keys=dict(type="list", elements="str", default=[], no_log=False),
        secrets=dict(type="dict", default={}, no_log=False),  # names -> ARNs, not values
        config_version=dict(type="str"),
        execution_role_arn=dict(type="str", required=True),
        task_role_arn=dict(type="str", required=True),
        ulimits=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), soft=dict(type="int", required=True),
            hard=dict(type="int", required=True))),
        stop_timeout=dict(type="int", default=30),
        volumes=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), container_path=dict(type="str", required=True))),
        desired_count=dict(type="int", default=2),
        subnets=dict(type="list", elements="str", required=True),
        security_groups=dict(type="list", elements="str", required=True),
        assign_public_ip=dict(type="bool", default=False),
        capacity_provider_strategy=dict(type="list", elements="dict", options=dict(
            capacity_provider=dict(type="str", required=True), base=dict(type="int", default=0),
            weight=dict(type="int", default=1))),
        load_balancers=dict(type="list", elements="dict", default=[], options=lb_spec),
        health_check_grace_period=dict(type="int", default=60),
        discovery=dict(type="dict", options=dict(namespace=dict(type="str", required=True), name=dict(type="str"),
                                                 ttl=dict(type="int", default=10))),
        enable_execute_command=dict(type="bool", default=False),
        minimum_healthy_percent=dict(type="int", default=100),
        maximum_percent=dict(type="int", default=200),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            launch_name=dict(type="str", required=True),
            allow_latest=dict(type="bool", default=False),
            vpc_id=dict(type="str"),
            log_kms_key_arn=dict(type="str", no_log=False),
            tags=dict(type="dict", default={}),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1200),
            wait_delay=dict(type="int", default=15),
            services=dict(type="list", elements="dict", required=True, options=service_spec),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p, module.check_mode)
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="ecs_service refused the input: %s" % "; ".join(problems), problems=problems)

    clients = dict((s, retrying_client(module, s, retries=8, max_delay=20)) for s in ("ecs", "logs", "servicediscovery"))
    observed = read_state(module, clients, p)
    plan = plan_services(p, observed, {"region": module.region, "check_mode": module.check_mode})
    refuse(module, "ecs_service", plan)

    ecs = clients["ecs"]
    corrected, deployments, arns = {}, {}, {}

    def done_before(step):
        return [text for s in plan.steps[:plan.steps.index(step)] for text in s["texts"]]

    def checked(step, answer, fields, real):
        """Compares the fields a write sent with what ECS answered; returns those that did not stick."""
        return [f for f in fields if real(step["wanted"])[f] != service_view(answer, SERVICE_FIELDS)[f]]

    def primary(svc):
        for d in svc.get("deployments") or []:
            if d.get("status") == "PRIMARY":
                return d.get("id")
        return None

    def create_service(step, real):
        name = step["service"]
        made = aws_call(module, ecs, "create service %s" % name, "create_service", done=done_before(step),
                        **real(step["kwargs"]))
        svc = made["service"]
        answer = aws_read(module, ecs, "read service %s back" % name, "describe_services", cluster=p["cluster"],
                          services=[name], include=["TAGS"])
        svc = ((answer or {}).get("services") or [svc])[0]
        fields = [f for f in SERVICE_FIELDS if f in step["wanted"]]
        lost = checked(step, svc, fields, real)
        if lost:
            wanted = real(step["wanted"])
            fixed = aws_call(module, ecs, "correct service %s" % name, "update_service",
                             done=done_before(step) + step["texts"], cluster=p["cluster"], service=name,
                             **update_kwargs(wanted, lost))["service"]
            corrected[name] = lost
            still = checked(step, fixed, lost, real)
            module.warn("service %s: ECS did not keep %s on CreateService; set them with UpdateService%s" % (
                name, ", ".join(lost), (" - still not kept: %s" % ", ".join(still)) if still else ""))
            svc = fixed
        deployments[name] = (primary(svc), real(step["wanted"])["taskDefinition"])
        arns[name] = svc["serviceArn"]
        return svc["serviceArn"]

    def update_service(step, real):
        name = step["service"]
        svc = aws_call(module, ecs, "update service %s" % name, "update_service", done=done_before(step),
                       **real(step["kwargs"]))["service"]
        still = checked(step, svc, step["fields"], real)
        if still:
            module.warn("service %s: ECS did not keep %s on UpdateService" % (name, ", ".join(still)))
        deployments[name] = (primary(svc), real(step["wanted"])["taskDefinition"])
        return svc["serviceArn"]

    def create_namespace(step, real):
        kwargs = {"Name": step["name"], "Vpc": step["vpc"], "Tags": step["tags"],
                  "Description": "the launch's private names (directfanz.launch)"}
        op = aws_call(module, clients["servicediscovery"], "create Cloud Map namespace %s" % step["name"],
                      "create_private_dns_namespace", done=done_before(step), **kwargs)["OperationId"]
        deadline = time.time() + p["wait_timeout"]
        while True:
            answer = aws_call(module, clients["servicediscovery"], "read the creation of namespace %s" % step["name"],
                              "get_operation", OperationId=op)["Operation"]
            if answer.get("Status") == "SUCCESS":
                return answer["Targets"]["NAMESPACE"]
            if answer.get("Status") == "FAIL" or time.time() > deadline:
                module.fail_json(msg="Could not create Cloud Map namespace %s: %s" % (
                    step["name"], answer.get("ErrorMessage") or "still %s after %d s" % (answer.get("Status"),
                                                                                         p["wait_timeout"])),
                    actions_done=done_before(step))
            time.sleep(2)

    real = apply(module, plan, clients, handlers={"create_ecs_service": create_service, "update_ecs_service": update_service,
                                                  "create_namespace": create_namespace})

    if p["wait"] and deployments and not module.check_mode:
        wait_for(module, ecs, p, deployments)

    results = {}
    for service in p["services"]:
        name = service["name"]
        svc = observed["services"].get(name) or {}
        found = observed["task_definitions"].get(name) or {}
        ref = None
        registered = False
        for s in plan.steps:
            if s["op"] == "register_task_definition" and s["kwargs"]["family"] == family_of(p, service):
                ref, registered = real(s["out"]), True
        if ref is None:
            wanted = canonical_task(task_definition(p, service, module.region))
            ref = next((td["taskDefinitionArn"] for td in (found.get("current"), found.get("latest"))
                        if td is not None and canonical_task(td) == wanted), None)
        results[name] = {"family": family_of(p, service), "task_definition_arn": ref, "registered": registered,
                         "service_name": name, "resource_id": "service/%s/%s" % (p["cluster"], name),
                         "service_arn": arns.get(name) or svc.get("serviceArn") or "(new service %s)" % name,
                         "deployment_id": (deployments.get(name) or (None,))[0]}
    diff = None
    if module._diff:
        diff = {"before": before_view(p, observed), "after": after_view(p, observed, plan, module.region, real)}
    finish(module, plan, diff, services=results, corrected=corrected)


if __name__ == "__main__":
    main()
