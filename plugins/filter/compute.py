# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure data shaping for the compute phase (role ecs_services): the inventory's short per-service settings become the
arguments of ecs_service and ecs_autoscaling, the IAM roles and their least-privilege policies, and a configuration
version per service. Functions, not Jinja loops: ansible-core 2.19 renders multi-statement templates as strings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json


def secret_arn(value_from):
    """The secret's own ARN from a ``valueFrom`` (which may end in :<json-key>:<stage>:<version-id>): IAM names the
    secret, not the version. SSM parameter ARNs are returned as they are."""
    parts = str(value_from).split(":")
    if len(parts) > 7 and parts[2] == "secretsmanager":
        return ":".join(parts[:7])
    return str(value_from)


def secrets_dict(value):
    """A service's secrets as {NAME: valueFrom}, from app_secrets' [{name, valueFrom}] or a dict already."""
    if isinstance(value, dict):
        return dict((str(k), str(v)) for k, v in value.items())
    return dict((str(i["name"]), str(i["valueFrom"])) for i in value or [])


def config_version(secrets):
    """A short hash of a service's secrets (names and versioned references): a changed secret version is a new value,
    hence a new task definition revision and a rolling deployment; the same secrets are the same value."""
    text = json.dumps(sorted(secrets_dict(secrets).items()), separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def role_names(services, name):
    """Per service its execution and task role names."""
    return dict((svc, {"execution": "%s-%s-execution" % (name, svc), "task": "%s-%s-task" % (name, svc)})
                for svc in services)


def execution_policy(secrets, region, account, log_group, repository_arn=None, kms_key_arn=None, partition="aws"):
    """The execution role's one inline policy: pull its own image, write its own log group, read exactly its own
    secrets, and decrypt them only through Secrets Manager and only for those secrets (the encryption context names
    the secret)."""
    arns = sorted(set(secret_arn(v) for v in secrets_dict(secrets).values()))
    statements = [
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "arn:%s:logs:%s:%s:log-group:%s:*" % (partition, region, account, log_group)},
        {"Sid": "EcrToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    ]
    if repository_arn:
        statements.append({"Sid": "Pull", "Effect": "Allow", "Resource": repository_arn,
                           "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                      "ecr:GetDownloadUrlForLayer"]})
    sm = [a for a in arns if ":secretsmanager:" in a]
    ssm = [a for a in arns if ":ssm:" in a]
    if sm:
        statements.append({"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": sm})
        statements.append({"Sid": "Decrypt", "Effect": "Allow", "Action": "kms:Decrypt",
                           "Resource": kms_key_arn or "*",
                           "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.%s.amazonaws.com" % region},
                                         "ForAnyValue:StringEquals": {"kms:EncryptionContext:SecretARN": sm}}})
    if ssm:
        statements.append({"Sid": "Parameters", "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": ssm})
    return {"Version": "2012-10-17", "Statement": statements}


def task_policy(grants, region, bucket_arn=None, kms_key_arn=None):
    """The task role's inline policy from the service's grants, or None when it needs no AWS permission at all.
    ``grants``: {"content_prefix": "uploads/"} - read/write objects under that prefix of the content bucket only,
    and use its key (``kms_key_arn``, the data key) only through S3."""
    grants = grants or {}
    prefix = grants.get("content_prefix")
    if not prefix or not bucket_arn:
        return None
    prefix = prefix.lstrip("/")
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ContentObjects", "Effect": "Allow", "Resource": "%s/%s*" % (bucket_arn, prefix),
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]},
        {"Sid": "ContentList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": ["%s*" % prefix]}}},
        {"Sid": "ContentKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": kms_key_arn or "*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.%s.amazonaws.com" % region}}},
    ]}


def iam_roles(config, ctx):
    """The roles of every service as a list for one looped iam_role task: {name, kind, service, description}."""
    names = role_names(list(config), ctx["name"])
    out = []
    for svc in config:
        out.append({"name": names[svc]["execution"], "service": svc, "kind": "execution",
                    "description": "%s %s: pulls its image, writes its logs, reads its own secrets" % (ctx["name"], svc)})
        out.append({"name": names[svc]["task"], "service": svc, "kind": "task",
                    "description": "%s %s: the application's own AWS permissions" % (ctx["name"], svc)})
    return out


def iam_policies(config, ctx):
    """The inline policies as a list for one looped iam_policy task: {role, name, document}; a task role that needs
    nothing gets no policy at all."""
    names = role_names(list(config), ctx["name"])
    secrets = ctx.get("secrets") or {}
    repositories = ctx.get("repositories") or {}
    out = []
    for svc, cfg in config.items():
        out.append({"role": names[svc]["execution"], "name": "%s-execution" % svc, "document": execution_policy(
            secrets.get(svc) or {}, ctx["region"], ctx["account"], log_group(ctx, svc),
            (repositories.get(svc) or {}).get("arn"), ctx.get("kms_key_arn") or None)})
        document = task_policy(cfg.get("task_grants"), ctx["region"], ctx.get("content_bucket_arn"),
                               ctx.get("kms_key_arn") or None)
        if document:
            out.append({"role": names[svc]["task"], "name": "%s-task" % svc, "document": document})
    return out


def log_group(ctx, svc):
    return "/%s/%s" % (ctx["name"], svc)


def service_specs(config, ctx):
    """ecs_service's ``services`` from the per-service settings and what the earlier phases found.
    ``ctx``: name, account, images, secrets (service -> secrets), environment (the plain app environment),
    subnets, security_groups (short name -> id), target_group_arns (target group name -> ARN), network_name,
    namespace, log_retention, enable_execute_command."""
    names = role_names(list(config), ctx["name"])
    arn = "arn:%s:iam::%s:role/" % (ctx.get("partition") or "aws", ctx["account"])
    groups = ctx.get("security_groups") or {}
    tgs = ctx.get("target_group_arns") or {}
    out = []
    for svc, cfg in config.items():
        secrets = secrets_dict((ctx.get("secrets") or {}).get(svc) or {})
        env = dict(ctx.get("environment") or {}) if cfg.get("app_environment", True) else {}
        env.update(dict((str(k), str(v)) for k, v in (cfg.get("environment") or {}).items()))
        spec = {"name": svc, "image": (ctx.get("images") or {}).get(svc) or "", "cpu": int(cfg["cpu"]),
                "memory": int(cfg["memory"]), "container_port": cfg.get("port"),
                "log_group": log_group(ctx, svc), "log_retention": int(ctx.get("log_retention") or 30),
                "readonly_root_filesystem": bool(cfg.get("readonly_root_filesystem", True)),
                "environment": env, "secrets": secrets, "config_version": config_version(secrets),
                "execution_role_arn": arn + names[svc]["execution"], "task_role_arn": arn + names[svc]["task"],
                "desired_count": int(cfg.get("min", 2)), "subnets": list(ctx.get("subnets") or []),
                "security_groups": [groups.get(g, g) for g in cfg.get("security_groups") or ["app"]],
                "stop_timeout": int(cfg.get("stop_timeout", 30)),
                "volumes": list(cfg.get("volumes") or []), "ulimits": list(cfg.get("ulimits") or []),
                "environment_safe_keys": list(cfg.get("environment_safe_keys") or []),
                "enable_execute_command": bool(ctx.get("enable_execute_command"))}
        for key in ("user", "command"):
            if cfg.get(key):
                spec[key] = cfg[key]
        if cfg.get("health_check"):
            spec["health_check"] = {"command": list(cfg["health_check"])}
        if cfg.get("target_groups"):
            spec["load_balancers"] = [{"target_group_arn": tgs.get("%s-%s" % (ctx["network_name"], tg), "")}
                                      for tg in cfg["target_groups"]]
            spec["health_check_grace_period"] = int(cfg.get("health_check_grace_period", 60))
        if cfg.get("discovery"):
            spec["discovery"] = {"namespace": ctx["namespace"], "name": svc, "ttl": int(cfg.get("discovery_ttl", 10))}
        out.append(spec)
    return out


def missing_inputs(config, ctx):
    """What the services cannot run without, one sentence each (an empty list when all is there)."""
    problems = []
    tgs = ctx.get("target_group_arns") or {}
    for svc, cfg in config.items():
        if not (ctx.get("images") or {}).get(svc):
            problems.append("no image for service %s (ecs_services_images.%s: a pinned tag or a digest)" % (svc, svc))
        for tg in cfg.get("target_groups") or []:
            if "%s-%s" % (ctx["network_name"], tg) not in tgs:
                problems.append("target group %s-%s of service %s not found (run the network phase first)"
                                % (ctx["network_name"], tg, svc))
        env = dict(cfg.get("environment") or {})
        for key in cfg.get("required_environment") or []:
            if not env.get(key):
                problems.append("service %s needs the environment value %s (from the data phase)" % (svc, key))
        for key in cfg.get("required_secrets") or []:
            if key not in secrets_dict((ctx.get("secrets") or {}).get(svc) or {}):
                problems.append("service %s needs the secret %s (ecs_services_secrets.%s.%s: a Secrets Manager ARN)"
                                % (svc, key, svc, key))
    if not ctx.get("subnets"):
        problems.append("no private subnets (run the network phase first)")
    return problems


def scaling_specs(config, ctx):
    """ecs_autoscaling's ``services``: every service with a ``max``; request tracking and a requests spike use the
    first target group of the service."""
    tgs = ctx.get("target_group_arns") or {}
    out = []
    for svc, cfg in config.items():
        if not cfg.get("max"):
            continue
        spec = {"name": svc, "min": int(cfg.get("min", 2)), "max": int(cfg["max"]),
                "cpu_target": float(cfg.get("cpu_target", 60)),
                "scale_out_cooldown": int(cfg.get("scale_out_cooldown", 60)),
                "scale_in_cooldown": int(cfg.get("scale_in_cooldown", 300))}
        first = (cfg.get("target_groups") or [None])[0]
        if first and ctx.get("load_balancer_arn"):
            spec["load_balancer_arn"] = ctx["load_balancer_arn"]
            spec["target_group_arn"] = tgs.get("%s-%s" % (ctx["network_name"], first), "")
            if cfg.get("requests_target"):
                spec["requests_target"] = int(cfg["requests_target"])
        if cfg.get("spike_threshold"):
            spec["spike"] = {"threshold": float(cfg["spike_threshold"]), "metric": cfg.get("spike_metric", "cpu"),
                             "datapoints": int(cfg.get("spike_datapoints", 1)),
                             "cooldown": int(cfg.get("spike_cooldown", 60))}
        out.append(spec)
    return out


class FilterModule(object):
    def filters(self):
        return {
            "ecs_secret_arn": secret_arn,
            "ecs_config_version": config_version,
            "ecs_iam_roles": iam_roles,
            "ecs_iam_policies": iam_policies,
            "ecs_service_specs": service_specs,
            "ecs_missing_inputs": missing_inputs,
            "ecs_scaling_specs": scaling_specs,
        }
