#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ecs_foundation
short_description: The ECR repositories and the ECS cluster the platform's services run on, in one call
version_added: 0.3.0
description:
  - Keeps, in one invocation and one region, what the services stand on - an ECR repository per service (scan on
    push, immutable tags, KMS encryption, a lifecycle policy, tags), optionally the registry's enhanced scanning,
    and the ECS cluster (Container Insights, the Fargate capacity providers with a default strategy, tags and,
    when asked, the ECS Exec logging configuration).
  - Reads everything first (the registry's repositories, each one's lifecycle policy and tags, the registry's
    scanning configuration, the cluster with its settings, configuration and tags), plans every change, refuses the
    whole change before its first write when something cannot be changed in place, then applies the plan.
  - Compares only what it sets, normalised - lifecycle policies as canonical JSON, the capacity provider strategy in
    any order with an omitted C(base) read as 0 - so a second run with the same input makes no write call.
  - A repository's encryption cannot change after it is created. A repository whose encryption differs from the
    task (AES256 instead of KMS, or another KMS key) is refused with a message; recreate it (which deletes its
    images) and run again.
  - Tags from O(tags) (and C(managed-by=directfanz.launch)) are added to the repositories and the cluster; tags it did
    not set are never removed. Repositories and clusters are never deleted.
author: DirectFanz platform team (@directfanz)
options:
  services:
    description:
      - The services that get a repository, for example C([web, ws, stream, pgbouncer]). Each is listed once.
      - The repository is called C(<repository_prefix>/<service>), or C(<service>) without a prefix.
    type: list
    elements: str
    required: true
  repository_prefix:
    description:
      - A namespace in front of every repository name, for example C(directfanz); empty for none.
      - Together with a service the name must follow ECR's rules - 2-256 characters, lower-case letters and digits
        in C(/)-separated parts, each part's words joined by single C(.), C(_) or C(-).
    type: str
    default: ""
  scan_on_push:
    description: Basic scanning of each image when it is pushed (the repository's C(scanOnPush)).
    type: bool
    default: true
  immutable_tags:
    description: C(IMMUTABLE) image tags - a pushed tag can never point at another image.
    type: bool
    default: true
  kms_key:
    description:
      - The KMS key new repositories are encrypted with - a key id, key ARN, alias name (C(alias/...)) or alias ARN.
      - Without it, repositories are encrypted with KMS under the AWS-managed key C(aws/ecr).
      - Compared with an existing repository's key as given, by key id, or as the ARN KMS resolves it to.
    type: str
  keep_tagged_images:
    description: The lifecycle policy keeps this many most recently pushed tagged images and expires older ones.
    type: int
    default: 30
  untagged_expiry_days:
    description: The lifecycle policy expires untagged images this many days after they were pushed.
    type: int
    default: 7
  enhanced_scanning:
    description:
      - Whether the account allows enhanced scanning (Amazon Inspector) - the inventory says so.
      - C(true) sets the registry's scanning configuration to C(ENHANCED) with one C(SCAN_ON_PUSH) rule on
        O(enhanced_scanning_filters). When AWS refuses because Inspector cannot be enabled for the account (not
        subscribed, not allowed by the organisation, or not offered in the region), the module warns, keeps
        C(BASIC) (each repository's O(scan_on_push) then applies) and does not report the change; set it to
        C(false) for such an account to stop the attempt.
      - C(false) leaves the registry's scanning configuration as it is (it is account-wide and may be someone
        else's); RV(registry_scan_type) still reports it.
    type: bool
    default: false
  enhanced_scanning_filters:
    description:
      - Repository name filters (wildcard C(*) allowed) of the C(SCAN_ON_PUSH) rule, with O(enhanced_scanning=true).
      - The registry's rules are replaced by this one rule; the default C(*) scans every repository on push.
    type: list
    elements: str
    default: ["*"]
  cluster_name:
    description: The ECS cluster - 1-255 letters, digits, hyphens or underscores.
    type: str
    required: true
  container_insights:
    description:
      - The cluster's C(containerInsights) setting - C(enabled), C(enhanced) (with container-level metrics) or
        C(disabled).
    type: str
    choices: [enabled, enhanced, disabled]
    default: enabled
  fargate_base:
    description: The default strategy's C(base) on C(FARGATE) - the first tasks of a service always run on-demand (0-100000).
    type: int
    default: 2
  fargate_weight:
    description:
      - The default strategy's C(weight) on C(FARGATE) (0-1000; 0 only with O(allow_spot=true)).
    type: int
    default: 1
  allow_spot:
    description:
      - Attach C(FARGATE_SPOT) to the cluster and put it in the default strategy with O(spot_weight).
      - C(false) (the default) attaches C(FARGATE) only and strategies use C(FARGATE) alone; turning it off again
        detaches C(FARGATE_SPOT), which AWS refuses while a service still uses it.
    type: bool
    default: false
  spot_weight:
    description: The default strategy's C(weight) on C(FARGATE_SPOT), with O(allow_spot=true) (1-1000).
    type: int
    default: 1
  execute_command:
    description:
      - Configure ECS Exec at the cluster level - session logging to O(execute_command_log_group).
      - Off by default - no C(executeCommandConfiguration) is sent, and a configuration already on the cluster is
        left alone. Whether a task can be entered is the service's C(enableExecuteCommand), which the services
        keep off unless asked.
    type: bool
    default: false
  execute_command_log_group:
    description: The CloudWatch Logs group ECS Exec sessions are logged to; required with O(execute_command=true).
    type: str
  execute_command_log_encryption:
    description:
      - Whether the session log group is encrypted (C(cloudWatchEncryptionEnabled)); the group must then have a KMS
        key.
    type: bool
    default: false
  execute_command_kms_key:
    description: A KMS key id or ARN that encrypts the ECS Exec session data between the client and the task.
    type: str
  tags:
    description: Tags on the repositories and the cluster (C(managed-by=directfanz.launch) is always added).
    type: dict
    default: {}
  state:
    description: Only C(present) - the module makes and keeps the foundation; it deletes nothing.
    type: str
    choices: [present]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and returns the planned RV(actions) and C(changed); changes nothing. Repository URIs and ARNs
        and the cluster ARN of what does not exist yet are computed from the account and region.
  diff_mode:
    support: full
    description: Returns each repository, the registry's scanning type and the cluster, before and after.
"""

EXAMPLES = r"""
- name: Build the repositories and the cluster the services run on
  directfanz.launch.ecs_foundation:
    services: [web, ws, stream, pgbouncer]
    repository_prefix: directfanz
    kms_key: alias/directfanz-launch
    keep_tagged_images: 30
    untagged_expiry_days: 7
    enhanced_scanning: true
    cluster_name: directfanz
    container_insights: enabled
    allow_spot: true
    spot_weight: 3
    tags:
      project: directfanz
  register: foundation

- name: Enable ECS Exec session logging for a debugging window
  directfanz.launch.ecs_foundation:
    services: [web]
    cluster_name: directfanz
    execute_command: true
    execute_command_log_group: /directfanz/ecs-exec
"""

RETURN = r"""
repositories:
  description: Per service, its repository's C(name), C(arn) and C(uri) (computed in check mode before it exists).
  returned: always
  type: dict
  sample:
    web:
      name: directfanz/web
      arn: arn:aws:ecr:us-east-1:123456789012:repository/directfanz/web
      uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/directfanz/web
cluster_name:
  description: The cluster's name.
  returned: always
  type: str
  sample: directfanz
cluster_arn:
  description: The cluster's ARN (computed in check mode before it exists).
  returned: always
  type: str
  sample: arn:aws:ecs:us-east-1:123456789012:cluster/directfanz
capacity_provider_strategy:
  description: The cluster's default capacity provider strategy after the run.
  returned: always
  type: list
  elements: dict
  sample: [{"capacityProvider": "FARGATE", "base": 2, "weight": 1}]
execute_command:
  description: Whether the cluster is configured for ECS Exec by this run's input.
  returned: always
  type: bool
registry_scan_type:
  description: The registry's scanning type after the run, C(BASIC) or C(ENHANCED).
  returned: always
  type: str
  sample: ENHANCED
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create repository directfanz/web", "set the lifecycle policy of repository directfanz/web"]
"""

# Why a module of our own: community.aws.ecs_ecr has no lifecycle comparison that survives AWS's reformatting of
# the policy text and no registry scanning; community.aws.ecs_cluster cannot set Container Insights or ECS Exec's
# configuration; and one task per repository plus one for the cluster becomes one call that plans everything
# before it writes.

import json
import re

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_pages, aws_read, error_code, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")
# ECR's repository name: '/'-separated parts of lower-case words joined by single '.', '_' or '-'.
REPOSITORY_NAME = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
SCAN_FILTER = re.compile(r"^[a-z0-9*](?:[._/a-z0-9*-]*[a-z0-9*])?$")
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
LOG_GROUP = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
KMS_KEY = re.compile(r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+"
                     r"|alias/[A-Za-z0-9/_-]{1,250}|(mrk-)?[0-9a-fA-F-]{32,36})$")
# The errors PutRegistryScanningConfiguration answers when Amazon Inspector cannot be enabled for the account.
INSPECTOR_REFUSALS = ("ValidationException", "AccessDeniedException", "AccessDenied", "UnsupportedFeatureException",
                      "InvalidParameterException")


# ---------------------------------------------------------------------------------------------------------------
# Input checks (before any API call)


def repository_name(p, service):
    prefix = (p.get("repository_prefix") or "").strip("/")
    return "%s/%s" % (prefix, service) if prefix else service


def _range_problem(p, field, low, high):
    value = p.get(field)
    if value is None or isinstance(value, bool) or not low <= value <= high:
        return "%s %r is not accepted; accepted: a whole number from %d to %d" % (field, value, low, high)
    return None


def input_problems(p):
    """Every problem of the input, each saying what is accepted; no API call."""
    problems = []
    services = p.get("services") or []
    if not services:
        problems.append("services is empty; accepted: the services that get a repository, such as [web, ws]")
    seen = set()
    for service in services:
        if service in seen:
            problems.append("service %r is listed twice; accepted: each service once" % service)
        seen.add(service)
        name = repository_name(p, service)
        if not 2 <= len(name) <= 256 or not REPOSITORY_NAME.match(name):
            problems.append("repository name %r (service %r) is not valid; accepted: 2-256 characters, lower-case "
                            "letters and digits in '/'-separated parts whose words are joined by single '.', '_' "
                            "or '-' (such as directfanz/web)" % (name, service))
    for field, high in (("keep_tagged_images", 10000), ("untagged_expiry_days", 3650)):
        problem = _range_problem(p, field, 1, high)
        if problem:
            problems.append(problem)
    for key in ("kms_key", "execute_command_kms_key"):
        if p.get(key) and not KMS_KEY.match(p[key]):
            problems.append("%s %r is not a KMS key; accepted: a key id, key ARN, alias/<name> or alias ARN"
                            % (key, p[key]))
    if p.get("enhanced_scanning"):
        filters = p.get("enhanced_scanning_filters") or []
        if not filters:
            problems.append("enhanced_scanning_filters is empty; accepted: repository name filters such as ['*']")
        for pattern in filters:
            if not 1 <= len(pattern) <= 255 or not SCAN_FILTER.match(pattern):
                problems.append("enhanced_scanning_filters entry %r is not accepted; accepted: 1-255 lower-case "
                                "letters, digits, '.', '_', '-', '/' and '*' wildcards, such as 'directfanz/*'"
                                % pattern)
    name = p.get("cluster_name") or ""
    if not CLUSTER_NAME.match(name):
        problems.append("cluster_name %r is not valid; accepted: 1-255 letters, digits, hyphens or underscores" % name)
    problem = _range_problem(p, "fargate_base", 0, 100000)
    if problem:
        problems.append(problem)
    problem = _range_problem(p, "fargate_weight", 0 if p.get("allow_spot") else 1, 1000)
    if problem:
        problems.append(problem if p.get("allow_spot") else problem + " (0 only with allow_spot: true)")
    if p.get("allow_spot"):
        problem = _range_problem(p, "spot_weight", 1, 1000)
        if problem:
            problems.append(problem)
    if p.get("execute_command"):
        group = p.get("execute_command_log_group")
        if not group:
            problems.append("execute_command_log_group is missing; it is required with execute_command: true")
        elif not LOG_GROUP.match(group):
            problems.append("execute_command_log_group %r is not valid; accepted: 1-512 letters, digits, '.', '-', "
                            "'_', '/' or '#'" % group)
    tags = p.get("tags") or {}
    if len(tags) > 49:
        problems.append("tags has %d entries; accepted: at most 49 (managed-by is added)" % len(tags))
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            problems.append("tag key %r is not accepted; accepted: 1-128 characters not starting with 'aws:'" % key)
        if value is None or len(str(value)) > 256:
            problems.append("tag %r has value %r; accepted: a string of at most 256 characters" % (key, value))
    return problems


# ---------------------------------------------------------------------------------------------------------------
# What the task asks for


def desired_tags(tags):
    return dict(((k, str(v)) for k, v in (tags or {}).items()), **{MANAGED_TAG[0]: MANAGED_TAG[1]})


def lifecycle_policy(p):
    """The lifecycle policy every repository gets: untagged images expire after D days (priority 1), and only the
    newest N tagged images are kept (priority 2; the wildcard pattern matches every tag)."""
    return {"rules": [
        {"rulePriority": 1, "description": "expire untagged images %d days after push" % p["untagged_expiry_days"],
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": p["untagged_expiry_days"]},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": "keep the last %d tagged images" % p["keep_tagged_images"],
         "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                       "countNumber": p["keep_tagged_images"]},
         "action": {"type": "expire"}}]}


def canonical_json(value):
    """JSON text (or a parsed value) as one canonical string, so AWS's re-formatting is not a difference."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def scanning_rules(p):
    return [{"scanFrequency": "SCAN_ON_PUSH",
             "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in p["enhanced_scanning_filters"]]}]


def capacity_providers(p):
    return ["FARGATE", "FARGATE_SPOT"] if p["allow_spot"] else ["FARGATE"]


def strategy(p):
    wanted = [{"capacityProvider": "FARGATE", "base": p["fargate_base"], "weight": p["fargate_weight"]}]
    if p["allow_spot"]:
        wanted.append({"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": p["spot_weight"]})
    return wanted


def normal_strategy(items):
    """A capacity provider strategy in a canonical order and shape. THE ONE PLACE a server's omission is tolerated:
    moto leaves out ``base`` when the request did not give it, where ECS answers ``base: 0``; both read as 0."""
    return sorted(({"capacityProvider": i["capacityProvider"], "base": int(i.get("base") or 0),
                    "weight": int(i.get("weight") or 0)} for i in items or []),
                  key=lambda i: i["capacityProvider"])


def exec_configuration(p):
    """The cluster's ``configuration`` when ECS Exec is asked for, else None (nothing is sent)."""
    if not p["execute_command"]:
        return None
    config = {"logging": "OVERRIDE",
              "logConfiguration": {"cloudWatchLogGroupName": p["execute_command_log_group"],
                                   "cloudWatchEncryptionEnabled": bool(p["execute_command_log_encryption"])}}
    if p.get("execute_command_kms_key"):
        config["kmsKeyId"] = p["execute_command_kms_key"]
    return {"executeCommandConfiguration": config}


def normal_exec(configuration):
    config = (configuration or {}).get("executeCommandConfiguration") or {}
    if not config:
        return None
    log = config.get("logConfiguration") or {}
    out = {"logging": config.get("logging") or "DEFAULT",
           "logConfiguration": {"cloudWatchLogGroupName": log.get("cloudWatchLogGroupName"),
                                "cloudWatchEncryptionEnabled": bool(log.get("cloudWatchEncryptionEnabled"))}}
    if config.get("kmsKeyId"):
        out["kmsKeyId"] = config["kmsKeyId"]
    return {"executeCommandConfiguration": out}


def insights_of(cluster):
    for setting in cluster.get("settings") or []:
        if setting.get("name") == "containerInsights":
            return setting.get("value")
    return "disabled"


# ---------------------------------------------------------------------------------------------------------------
# Planning (pure: plain dicts in, a Plan out)


def key_matches(wanted, existing, resolved):
    """Whether a repository encrypted with ``existing`` is encrypted with the key the task names (``resolved``: the
    ARN KMS gave for ``wanted``, when it was looked up). THE ONE PLACE the key's spelling is tolerated: ECR answers
    the key's ARN, moto answers the key as it was given (an alias stays an alias), so the name given, its key id
    and its resolved ARN all count as the same key."""
    if not existing:
        return False
    return wanted == existing or existing.endswith(":key/" + wanted) or (resolved is not None and resolved == existing)


def encryption_problem(p, name, repo, resolved_key):
    found = repo.get("encryptionConfiguration") or {}
    kind = found.get("encryptionType") or "AES256"
    if kind != "KMS":
        return ("repository %s is encrypted with %s, the task asks for KMS; ECR cannot change a repository's "
                "encryption - delete the repository (its images go with it) and run again to recreate it"
                % (name, kind))
    if p.get("kms_key") and not key_matches(p["kms_key"], found.get("kmsKey"), resolved_key):
        return ("repository %s is encrypted with KMS key %s, the task asks for %s; ECR cannot change a repository's "
                "encryption - delete the repository (its images go with it) and run again to recreate it"
                % (name, found.get("kmsKey"), p["kms_key"]))
    return None


def plan_repository(p, plan, service, observed):
    name = repository_name(p, service)
    repo = observed["repositories"].get(name)
    tags = desired_tags(p["tags"])
    mutability = "IMMUTABLE" if p["immutable_tags"] else "MUTABLE"
    policy = lifecycle_policy(p)
    if repo is None:
        encryption = {"encryptionType": "KMS"}
        if p.get("kms_key"):
            encryption["kmsKey"] = p["kms_key"]
        plan.call("ecr", "create_repository", ["create repository %s" % name], "Could not create repository %s" % name,
                  repositoryName=name, imageTagMutability=mutability,
                  imageScanningConfiguration={"scanOnPush": p["scan_on_push"]}, encryptionConfiguration=encryption,
                  tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
        plan.call("ecr", "put_lifecycle_policy", ["set the lifecycle policy of repository %s" % name],
                  "Could not set the lifecycle policy of repository %s" % name, repositoryName=name,
                  lifecyclePolicyText=canonical_json(policy))
        return
    problem = encryption_problem(p, name, repo, observed.get("kms_key_arn"))
    if problem:
        plan.problems.append(problem)
    if repo.get("imageTagMutability") != mutability:
        plan.call("ecr", "put_image_tag_mutability", ["set the tags of repository %s %s (was %s)"
                                                      % (name, mutability, repo.get("imageTagMutability"))],
                  "Could not set the tag mutability of repository %s" % name, repositoryName=name,
                  imageTagMutability=mutability)
    scan = bool((repo.get("imageScanningConfiguration") or {}).get("scanOnPush"))
    if scan != p["scan_on_push"]:
        plan.call("ecr", "put_image_scanning_configuration", ["turn scan on push %s for repository %s"
                                                              % ("on" if p["scan_on_push"] else "off", name)],
                  "Could not set scan on push of repository %s" % name, repositoryName=name,
                  imageScanningConfiguration={"scanOnPush": p["scan_on_push"]})
    existing_policy = observed["lifecycle"].get(name)
    if existing_policy is None or canonical_json(existing_policy) != canonical_json(policy):
        plan.call("ecr", "put_lifecycle_policy", ["%s the lifecycle policy of repository %s"
                                                  % ("set" if existing_policy is None else "update", name)],
                  "Could not set the lifecycle policy of repository %s" % name, repositoryName=name,
                  lifecyclePolicyText=canonical_json(policy))
    have = observed["repository_tags"].get(name) or {}
    missing = dict((k, v) for k, v in tags.items() if have.get(k) != v)
    if missing:
        plan.call("ecr", "tag_resource", ["tag repository %s with %s" % (name, ", ".join(sorted(missing)))],
                  "Could not tag repository %s" % name, resourceArn=repo["repositoryArn"],
                  tags=[{"Key": k, "Value": v} for k, v in sorted(missing.items())])


def plan_registry(p, plan, observed):
    if not p["enhanced_scanning"]:
        return
    found = observed["registry_scanning"] or {}
    rules = scanning_rules(p)
    if found.get("scanType") == "ENHANCED" and canonical_json(found.get("rules") or []) == canonical_json(rules):
        return
    plan.add("put_registry_scanning", ["set the registry's scanning to ENHANCED, scan on push for %s (was %s)"
                                       % (", ".join(p["enhanced_scanning_filters"]), found.get("scanType") or "BASIC")],
             scanType="ENHANCED", rules=rules)


def plan_cluster(p, plan, observed, cluster_arn):
    name = p["cluster_name"]
    cluster = observed["cluster"]
    tags = desired_tags(p["tags"])
    configuration = exec_configuration(p)
    if cluster is None:
        kwargs = dict(clusterName=name, settings=[{"name": "containerInsights", "value": p["container_insights"]}],
                      capacityProviders=capacity_providers(p), defaultCapacityProviderStrategy=strategy(p),
                      tags=[{"key": k, "value": v} for k, v in sorted(tags.items())])
        if configuration:
            kwargs["configuration"] = configuration
        plan.call("ecs", "create_cluster", ["create cluster %s" % name], "Could not create cluster %s" % name,
                  **kwargs)
        return
    update, why = {}, []
    if insights_of(cluster) != p["container_insights"]:
        update["settings"] = [{"name": "containerInsights", "value": p["container_insights"]}]
        why.append("containerInsights %s -> %s" % (insights_of(cluster), p["container_insights"]))
    if configuration and normal_exec(cluster.get("configuration")) != configuration:
        update["configuration"] = configuration
        why.append("ECS Exec logging to %s" % p["execute_command_log_group"])
    if update:
        plan.call("ecs", "update_cluster", ["update cluster %s (%s)" % (name, ", ".join(why))],
                  "Could not update cluster %s" % name, cluster=name, **update)
    providers = capacity_providers(p)
    if (sorted(cluster.get("capacityProviders") or []) != sorted(providers)
            or normal_strategy(cluster.get("defaultCapacityProviderStrategy")) != normal_strategy(strategy(p))):
        shares = ", ".join("%s base %d weight %d" % (s["capacityProvider"], s["base"], s["weight"]) for s in strategy(p))
        plan.call("ecs", "put_cluster_capacity_providers",
                  ["set the capacity providers of cluster %s to %s (%s)" % (name, ", ".join(providers), shares)],
                  "Could not set the capacity providers of cluster %s" % name, cluster=name,
                  capacityProviders=providers, defaultCapacityProviderStrategy=strategy(p))
    have = dict((t["key"], t["value"]) for t in cluster.get("tags") or [])
    missing = dict((k, v) for k, v in tags.items() if have.get(k) != v)
    if missing:
        plan.call("ecs", "tag_resource", ["tag cluster %s with %s" % (name, ", ".join(sorted(missing)))],
                  "Could not tag cluster %s" % name, resourceArn=cluster.get("clusterArn") or cluster_arn,
                  tags=[{"key": k, "value": v} for k, v in sorted(missing.items())])


def plan_foundation(p, observed, ctx):
    """The whole plan: every repository (in the order of ``services``), the registry's scanning, the cluster.
    ``observed``: repositories (name -> DescribeRepositories entry), lifecycle (name -> policy text or None),
    repository_tags (name -> dict), kms_key_arn (the ARN of ``kms_key`` when it was looked up), registry_scanning
    (GetRegistryScanningConfiguration's scanningConfiguration), cluster (the ACTIVE DescribeClusters entry or None).
    """
    plan = Plan()
    for service in p["services"]:
        plan_repository(p, plan, service, observed)
    plan_registry(p, plan, observed)
    plan_cluster(p, plan, observed, ctx["cluster_arn"])
    return plan


# ---------------------------------------------------------------------------------------------------------------
# Views and outputs


def repository_view(repo, policy, tags):
    if repo is None:
        return None
    encryption = repo.get("encryptionConfiguration") or {}
    return {"encryption": encryption.get("encryptionType"), "kms_key": encryption.get("kmsKey"),
            "tag_mutability": repo.get("imageTagMutability"),
            "scan_on_push": bool((repo.get("imageScanningConfiguration") or {}).get("scanOnPush")),
            "lifecycle_policy": canonical_json(policy) if policy is not None else None, "tags": tags or {}}


def cluster_view(cluster):
    if cluster is None:
        return None
    return {"container_insights": insights_of(cluster), "capacity_providers": sorted(cluster.get("capacityProviders") or []),
            "default_strategy": normal_strategy(cluster.get("defaultCapacityProviderStrategy")),
            "configuration": normal_exec(cluster.get("configuration")),
            "tags": dict((t["key"], t["value"]) for t in cluster.get("tags") or [])}


def before_view(p, observed):
    names = [repository_name(p, s) for s in p["services"]]
    repositories = dict((n, repository_view(observed["repositories"].get(n), observed["lifecycle"].get(n),
                                            observed["repository_tags"].get(n))) for n in names)
    return {"repositories": repositories,
            "registry_scan_type": (observed["registry_scanning"] or {}).get("scanType") or "BASIC",
            "cluster": cluster_view(observed["cluster"])}


def after_view(p, observed, registry_scan_type):
    repositories = {}
    for service in p["services"]:
        name = repository_name(p, service)
        repo = observed["repositories"].get(name)
        encryption = (repo or {}).get("encryptionConfiguration") or {"encryptionType": "KMS",
                                                                     "kmsKey": p.get("kms_key")}
        tags = dict((observed["repository_tags"].get(name) or {}), **desired_tags(p["tags"]))
        repositories[name] = repository_view(
            {"encryptionConfiguration": encryption, "imageTagMutability": "IMMUTABLE" if p["immutable_tags"] else "MUTABLE",
             "imageScanningConfiguration": {"scanOnPush": p["scan_on_push"]}}, lifecycle_policy(p), tags)
    cluster = observed["cluster"] or {}
    configuration = exec_configuration(p) or cluster.get("configuration")
    have = dict((t["key"], t["value"]) for t in cluster.get("tags") or [])
    after = {"settings": [{"name": "containerInsights", "value": p["container_insights"]}],
             "capacityProviders": capacity_providers(p), "defaultCapacityProviderStrategy": strategy(p),
             "configuration": configuration,
             "tags": [{"key": k, "value": v} for k, v in sorted(dict(have, **desired_tags(p["tags"])).items())]}
    return {"repositories": repositories, "registry_scan_type": registry_scan_type, "cluster": cluster_view(after)}


def outputs(p, observed, ctx):
    repositories = {}
    for service in p["services"]:
        name = repository_name(p, service)
        repo = observed["repositories"].get(name) or {}
        repositories[service] = {
            "name": name,
            "arn": repo.get("repositoryArn") or "arn:%s:ecr:%s:%s:repository/%s" % (ctx["partition"], ctx["region"],
                                                                                    ctx["account"], name),
            "uri": repo.get("repositoryUri") or "%s.dkr.ecr.%s.%s/%s" % (ctx["account"], ctx["region"], ctx["dns_suffix"],
                                                                         name)}
    return repositories


# ---------------------------------------------------------------------------------------------------------------
# Reading


def partition_of(region):
    if region.startswith("cn-"):
        return "aws-cn", "amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "amazonaws.com"
    return "aws", "amazonaws.com"


def read_state(module, clients, p):
    ecr, ecs = clients["ecr"], clients["ecs"]
    scanning = aws_read(module, ecr, "read the registry's scanning configuration", "get_registry_scanning_configuration")
    names = [repository_name(p, s) for s in p["services"]]
    wanted = set(names)
    # All of the registry's repositories in pages: DescribeRepositories fails as a whole when one listed name is
    # missing, so asking for the names would cost a call per repository.
    repositories = dict((r["repositoryName"], r) for r in aws_pages(
        module, ecr, "list the registry's repositories", "describe_repositories", "repositories")
        if r["repositoryName"] in wanted)
    lifecycle, repository_tags = {}, {}
    for name in names:
        if name not in repositories:
            continue
        answer = aws_read(module, ecr, "read the lifecycle policy of repository %s" % name, "get_lifecycle_policy",
                          missing=("LifecyclePolicyNotFoundException",), repositoryName=name)
        lifecycle[name] = answer.get("lifecyclePolicyText") if answer else None
        tags = aws_read(module, ecr, "read the tags of repository %s" % name, "list_tags_for_resource",
                        resourceArn=repositories[name]["repositoryArn"])
        repository_tags[name] = dict((t["Key"], t["Value"]) for t in tags.get("tags") or [])
    kms_key_arn = None
    key = p.get("kms_key")
    if key and any(not key_matches(key, (r.get("encryptionConfiguration") or {}).get("kmsKey"), None)
                   and (r.get("encryptionConfiguration") or {}).get("encryptionType") == "KMS"
                   for r in repositories.values()):
        # An alias (or an ARN in another form) names the key only through KMS; ask once.
        answer = aws_read(module, clients["kms"], "look up KMS key %s" % key, "describe_key", missing=("NotFoundException",),
                          KeyId=key)
        kms_key_arn = answer["KeyMetadata"]["Arn"] if answer else None
    answer = aws_read(module, ecs, "read cluster %s" % p["cluster_name"], "describe_clusters",
                      clusters=[p["cluster_name"]], include=["SETTINGS", "CONFIGURATIONS", "TAGS"])
    clusters = [c for c in (answer or {}).get("clusters") or [] if c.get("status") != "INACTIVE"]
    return {"repositories": repositories, "lifecycle": lifecycle, "repository_tags": repository_tags,
            "kms_key_arn": kms_key_arn, "registry_id": (scanning or {}).get("registryId"),
            "registry_scanning": (scanning or {}).get("scanningConfiguration") or {},
            "cluster": clusters[0] if clusters else None}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            services=dict(type="list", elements="str", required=True),
            repository_prefix=dict(type="str", default=""),
            scan_on_push=dict(type="bool", default=True),
            immutable_tags=dict(type="bool", default=True),
            kms_key=dict(type="str", no_log=False),  # a key id or alias, not a secret
            keep_tagged_images=dict(type="int", default=30),
            untagged_expiry_days=dict(type="int", default=7),
            enhanced_scanning=dict(type="bool", default=False),
            enhanced_scanning_filters=dict(type="list", elements="str", default=["*"]),
            cluster_name=dict(type="str", required=True),
            container_insights=dict(type="str", choices=["enabled", "enhanced", "disabled"], default="enabled"),
            fargate_base=dict(type="int", default=2),
            fargate_weight=dict(type="int", default=1),
            allow_spot=dict(type="bool", default=False),
            spot_weight=dict(type="int", default=1),
            execute_command=dict(type="bool", default=False),
            execute_command_log_group=dict(type="str"),
            execute_command_log_encryption=dict(type="bool", default=False),
            execute_command_kms_key=dict(type="str", no_log=False),
            tags=dict(type="dict", default={}),
            state=dict(type="str", choices=["present"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="ecs_foundation refused the input: %s" % "; ".join(problems), problems=problems)

    clients = dict((service, retrying_client(module, service, retries=8, max_delay=20)) for service in ("ecr", "ecs", "kms"))
    observed = read_state(module, clients, p)
    region = module.region
    partition, dns_suffix = partition_of(region)
    account = observed["registry_id"]
    ctx = {"account": account, "partition": partition, "region": region, "dns_suffix": dns_suffix,
           "cluster_arn": "arn:%s:ecs:%s:%s:cluster/%s" % (partition, region, account, p["cluster_name"])}

    plan = plan_foundation(p, observed, ctx)
    refuse(module, "ecs_foundation", plan)
    scan_type = (observed["registry_scanning"] or {}).get("scanType") or "BASIC"
    refused = []

    def put_registry_scanning(step, real):
        try:
            return clients["ecr"].put_registry_scanning_configuration(aws_retry=True, scanType=step["scanType"],
                                                                      rules=step["rules"])
        except botocore.exceptions.ClientError as e:
            message = e.response.get("Error", {}).get("Message", "")
            if error_code(e) in INSPECTOR_REFUSALS or "inspector" in message.lower():
                refused.append(step)
                module.warn("enhanced scanning was not enabled: AWS answered %s (%s); the registry keeps %s scanning "
                            "and each repository's scan on push. Set enhanced_scanning: false for this account to "
                            "stop asking." % (error_code(e), message, scan_type))
                return None
            module.fail_json_aws(e, msg="Could not set the registry's scanning configuration",
                                 actions_done=[t for s in plan.steps[:plan.steps.index(step)] for t in s["texts"]])
        except botocore.exceptions.BotoCoreError as e:
            module.fail_json_aws(e, msg="Could not set the registry's scanning configuration")

    apply(module, plan, clients, handlers={"put_registry_scanning": put_registry_scanning})
    for step in refused:
        plan.steps.remove(step)  # not done: neither an action nor a change
    if p["enhanced_scanning"] and not refused:
        scan_type = "ENHANCED"
    diff = None
    if module._diff:
        diff = {"before": before_view(p, observed), "after": after_view(p, observed, scan_type)}

    repositories = outputs(p, observed, ctx)
    if not module.check_mode and any(step["op"] == "create_repository" for step in plan.steps):
        # What AWS made: the real ARNs and URIs (and the registry id they carry).
        made = dict((r["repositoryName"], r) for r in aws_pages(
            module, clients["ecr"], "list the registry's repositories", "describe_repositories", "repositories"))
        observed["repositories"].update(dict((n, made[n]) for n in made if n in set(
            repository_name(p, s) for s in p["services"])))
        repositories = outputs(p, observed, ctx)
    cluster_arn = (observed["cluster"] or {}).get("clusterArn") or ctx["cluster_arn"]
    finish(module, plan, diff, repositories=repositories, cluster_name=p["cluster_name"], cluster_arn=cluster_arn,
           capacity_provider_strategy=strategy(p), execute_command=bool(p["execute_command"]),
           registry_scan_type=scan_type)


if __name__ == "__main__":
    main()
