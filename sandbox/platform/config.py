"""The app's configuration "as deployed": the web service's task definition in moto's ECS and the Secrets Manager
values it references.

The sandbox starts before the launch has built anything, so nothing here may assume the cluster, the service or a
secret exists: ``read`` reports what it found and what is missing, and the platform re-reads until the
configuration is complete (and now and then afterwards, so a new task definition revision or a rotated secret is
picked up as a redeploy would).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# What the app needs before it counts as configured (roles/app_secrets/vars/schema.yml).
REQUIRED = ("DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PUBLISHABLE_KEY",
            "SENDGRID_API_KEY", "CONTENT_BUCKET", "NEXTAUTH_URL")
SECRET_KEYS = ("DATABASE_URL", "DIRECT_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
               "SENDGRID_API_KEY", "NEXTAUTH_SECRET", "JWT_SECRET", "ENCRYPTION_KEY", "GOOGLE_CLIENT_SECRET",
               "CLOUDFRONT_SIGNING_PRIVATE_KEY", "STREAM_INGEST_SECRET")


def split_value_from(value_from: str) -> tuple[str, str, str, str]:
    """ECS's ``valueFrom`` of a Secrets Manager secret: ``<arn>[:json-key:version-stage:version-id]``."""
    parts = value_from.split(":")
    if value_from.startswith("arn:") and len(parts) >= 7:
        arn = ":".join(parts[:7])
        rest = parts[7:] + ["", "", ""]
        return arn, rest[0], rest[1], rest[2]
    return value_from, "", "", ""


class ConfigReader:
    """Reads the web service's configuration from moto (boto3, the sandbox's dummy credentials)."""

    def __init__(self, endpoint: str, region: str, service: str = "web", cluster: str = ""):
        kw = dict(region_name=region, endpoint_url=endpoint, aws_access_key_id="testing",
                  aws_secret_access_key="testing", config=Config(retries={"max_attempts": 2}, connect_timeout=3,
                                                                 read_timeout=10))
        self.ecs = boto3.client("ecs", **kw)
        self.s3 = boto3.client("s3", **kw)
        self.published: dict[str, str] = {}
        self.secrets = boto3.client("secretsmanager", **kw)
        self.service = service
        self.cluster = cluster

    def find_service(self) -> dict[str, Any] | None:
        clusters = [self.cluster] if self.cluster else self.ecs.list_clusters().get("clusterArns", [])
        for cluster in clusters:
            try:
                found = self.ecs.describe_services(cluster=cluster, services=[self.service]).get("services", [])
            except ClientError:
                continue
            for svc in found:
                if svc.get("status") == "ACTIVE" and svc.get("serviceName") == self.service:
                    return svc
        return None

    def secret_value(self, value_from: str) -> str:
        arn, json_key, stage, version = split_value_from(value_from)
        kwargs: dict[str, Any] = {"SecretId": arn}
        if version:
            kwargs["VersionId"] = version
        elif stage:
            kwargs["VersionStage"] = stage
        text = self.secrets.get_secret_value(**kwargs)["SecretString"]
        if json_key:
            return str(json.loads(text)[json_key])
        return text

    def read(self) -> dict[str, Any]:
        """One look: ``{"values", "missing", "problems", "service", "task_definition", "read_at"}``."""
        out: dict[str, Any] = {"values": {}, "missing": [], "problems": [], "service": None,
                               "task_definition": None, "read_at": time.time()}
        try:
            svc = self.find_service()
            if svc is None:
                out["problems"].append("no ACTIVE ECS service named %s in %s" % (
                    self.service, "cluster " + self.cluster if self.cluster else "any cluster"))
            else:
                out["service"] = svc["serviceArn"]
                td = self.ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
                out["task_definition"] = td["taskDefinitionArn"]
                containers = td.get("containerDefinitions") or []
                container = next((c for c in containers if c.get("name") == self.service), containers[0]
                                 if containers else {})
                for env in container.get("environment") or []:
                    out["values"][env["name"]] = env.get("value", "")
                for secret in container.get("secrets") or []:
                    try:
                        out["values"][secret["name"]] = self.secret_value(secret["valueFrom"])
                    except (ClientError, KeyError, ValueError) as e:
                        out["problems"].append("secret %s (%s) not readable: %s" % (
                            secret["name"], secret["valueFrom"], getattr(e, "response", {}).get(
                                "Error", {}).get("Code") or type(e).__name__))
        except (ClientError, BotoCoreError) as e:
            out["problems"].append("moto not readable: %s" % e)
        out["missing"] = [k for k in REQUIRED if not out["values"].get(k)]
        return out

    def publish_static(self, files: dict[str, tuple[bytes, str]]) -> list[str]:
        """The release's static files, put into the launch's static bucket (``*-static-<account>``) under ``static/``
        once it exists - what the app's deployment does in production, so the edge's static behaviour has objects to
        serve and cache. Each file is written once per bucket; returns what was written this round."""
        written = []
        for entry in self.s3.list_buckets().get("Buckets", []):
            bucket = entry["Name"]
            # a bucket made again under the same name (a moto reset, then a new build) is a new bucket
            made = "%s@%s" % (bucket, entry.get("CreationDate"))
            if not re.match(r"^[a-z0-9-]+-static-\d{12}$", bucket) or self.published.get(made):
                continue
            for name, (data, kind) in files.items():
                self.s3.put_object(Bucket=bucket, Key="static/" + name, Body=data, ContentType=kind,
                                   CacheControl="public, max-age=86400")
                written.append("%s/static/%s" % (bucket, name))
            self.published[made] = "done"
        return written


def public_view(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration without secret values (for /__sim/state and /health/deep): names, and where a URL is a
    secret its scheme, host and port only."""
    values = config.get("values") or {}
    shown: dict[str, Any] = {}
    for key, value in sorted(values.items()):
        if key in ("DATABASE_URL", "DIRECT_URL", "REDIS_URL"):
            parts = urlsplit(value)
            shown[key] = "%s://%s:%s" % (parts.scheme, parts.hostname, parts.port)
        elif key in SECRET_KEYS or "KEY" in key or "SECRET" in key or "TOKEN" in key:
            shown[key] = "(set)"
        else:
            shown[key] = value
    return {"configured": not config.get("missing"), "missing": list(config.get("missing") or []),
            "problems": list(config.get("problems") or []), "service": config.get("service"),
            "task_definition": config.get("task_definition"), "read_at": config.get("read_at"), "values": shown}


def libpq_params(url: str) -> dict[str, Any]:
    """psycopg connection keywords from a DATABASE_URL meant for Prisma: libpq refuses Prisma's own query
    parameters (pgbouncer, connection_limit, pool_timeout...), so only libpq's are kept."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("DATABASE_URL scheme %r is not accepted; accepted: postgresql://" % parts.scheme)
    params: dict[str, Any] = {"host": parts.hostname or "", "port": parts.port or 5432,
                              "user": unquote(parts.username or ""), "password": unquote(parts.password or ""),
                              "dbname": unquote(parts.path.lstrip("/")) or "postgres"}
    for item in (parts.query or "").split("&"):
        key, _sep, value = item.partition("=")
        if key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "application_name", "target_session_attrs"):
            params[key] = unquote(value)
    return params
