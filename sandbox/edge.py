"""The sandbox's edge: real nginx standing in for the launch's Application Load Balancer and CloudFront distributions,
configured from what the launch built in moto, plus the data plane (sandbox/dataplane.py: PgBouncer, Redis and the
VPC-internal DNS).

Why real nginx read from moto: a host rule, a cache behaviour or a WAF rule the launch got wrong must show up as a
failed check, so the edge may not be configured by hand - it follows moto (one read a second) and reloads nginx when
what it reads changes. docs/standin-edge.md maps every moto field to its nginx equivalent and lists what is not read.

- each load balancer gets an address of a free block 127.X.Y.0/24 (.1, .2, ...), each distribution one too (.21,
  ...), bound on the listeners' ports (443 and 80) - we run as root;
- the ALB's listeners, host/path rules and actions (forward, redirect, fixed-response); a target group goes to the
  platform service its name says (``<name>-<service>``; ``api`` is served by ``web``), read from the platform's
  state file; WebSocket upgrades pass only on routes to the ``ws`` service;
- the distribution's aliases, default and ordered cache behaviours (path pattern -> origin: a load balancer of
  moto, reached over TLS with SNI, or an S3 bucket read from moto's REST endpoint by a small signing origin that
  stands in for origin access control), caching what the behaviour's cache policy allows with ``X-Cache`` in
  CloudFront's words, the custom error responses (502/503/504 -> the maintenance page);
- WAF: the web ACL of each load balancer / distribution, in ModSecurity + OWASP CRS (blocking; AWS managed rule
  groups mapped to CRS rule files) and nginx ``limit_req`` for a rate-based rule (403 on excess);
- TLS: certificates signed by the sandbox CA for the names of the ACM certificate the listener/distribution names
  (D and *.D when moto has none readable).

    python -m sandbox.edge --aws-endpoint URL --region R --domain D --workdir DIR --ca-dir PKI \\
        --platform-state F1 --rds-state F2 --state-file F
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import hashlib
import http.server
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sandbox.changes import MotoChanges
from sandbox.dns_stub import free_udp_tcp_port, serve

NGINX = "/usr/sbin/nginx"
MODSECURITY_MODULE = "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so"
CRS_SETUP = "/etc/modsecurity/crs/crs-setup.conf"
CRS_RULES = Path("/usr/share/modsecurity-crs/rules")
LOCK_DIR = Path(tempfile.gettempdir()) / "sandbox-edge"
ALB_HOSTS = range(1, 11)
CF_HOSTS = range(21, 41)

# AWS managed cache policies (moto 5.2.5 answers 404 for their ids): TTLs in seconds and what the key holds.
MANAGED_CACHE_POLICIES: dict[str, dict[str, Any]] = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": {"name": "Managed-CachingOptimized", "min": 1, "default": 86400,
                                             "max": 31536000, "query": False},
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": {"name": "Managed-CachingOptimizedForUncompressedObjects", "min": 1,
                                             "default": 86400, "max": 31536000, "query": False},
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": {"name": "Managed-CachingDisabled", "min": 0, "default": 0, "max": 0,
                                             "query": False},
    "83da9c7e-98b4-4e11-a168-04f0df8e2c65": {"name": "Managed-UseOriginCacheControlHeaders", "min": 0, "default": 0,
                                             "max": 31536000, "query": False},
    "4cc15a8a-d715-48a4-82b8-cc0b614638fe": {"name": "Managed-UseOriginCacheControlHeaders-QueryStrings", "min": 0,
                                             "default": 0, "max": 31536000, "query": True},
}
# AWS managed origin request policies: whether the viewer's Host header reaches the origin.
MANAGED_ORIGIN_REQUEST_POLICIES: dict[str, dict[str, Any]] = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": {"name": "Managed-AllViewer", "host": True, "query": True},
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": {"name": "Managed-AllViewerAndCloudFrontHeaders-2022-06", "host": True,
                                             "query": True},
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": {"name": "Managed-AllViewerExceptHostHeader", "host": False,
                                             "query": True},
}
# AWS managed response headers policies: the headers they add.
MANAGED_RESPONSE_HEADERS_POLICIES: dict[str, dict[str, Any]] = {
    "67f7725c-6f97-4210-82d7-5512b31e9d03": {"name": "Managed-SecurityHeadersPolicy", "headers": {
        "Strict-Transport-Security": "max-age=31536000", "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN", "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-XSS-Protection": "1; mode=block"}},
}
# AWS managed rule groups -> the OWASP CRS rule files that catch the same class of request. Groups without an
# equivalent (IP reputation, anonymous IPs, bot control) add nothing and are listed in the state file.
RULE_GROUP_FILES: dict[str, list[str]] = {
    "AWSManagedRulesCommonRuleSet": ["REQUEST-920-PROTOCOL-ENFORCEMENT.conf", "REQUEST-930-APPLICATION-ATTACK-LFI.conf",
                                     "REQUEST-931-APPLICATION-ATTACK-RFI.conf",
                                     "REQUEST-941-APPLICATION-ATTACK-XSS.conf"],
    "AWSManagedRulesKnownBadInputsRuleSet": ["REQUEST-930-APPLICATION-ATTACK-LFI.conf",
                                             "REQUEST-944-APPLICATION-ATTACK-JAVA.conf"],
    "AWSManagedRulesSQLiRuleSet": ["REQUEST-942-APPLICATION-ATTACK-SQLI.conf"],
    "AWSManagedRulesLinuxRuleSet": ["REQUEST-930-APPLICATION-ATTACK-LFI.conf",
                                    "REQUEST-932-APPLICATION-ATTACK-RCE.conf"],
    "AWSManagedRulesUnixRuleSet": ["REQUEST-932-APPLICATION-ATTACK-RCE.conf"],
    "AWSManagedRulesWindowsRuleSet": ["REQUEST-932-APPLICATION-ATTACK-RCE.conf"],
    "AWSManagedRulesPHPRuleSet": ["REQUEST-933-APPLICATION-ATTACK-PHP.conf"],
}
# the network role's services by port, for a target group whose name does not say its service
SERVICE_PORTS = {3000: "web", 4000: "api", 4001: "ws", 8080: "stream"}
# services the platform stand-in serves from another one (the API is part of the web service)
SERVED_BY = {"api": "web"}


def log(message: str) -> None:
    """One flushed line on stderr: the edge runs as a background process whose log is a file."""
    sys.stderr.write("edge: %s\n" % message)
    sys.stderr.flush()


def bindable(address: str, port: int) -> bool:
    """Whether a TCP listener could bind address:port now."""
    with socket.socket() as sock:
        try:
            sock.bind((address, port))
            return True
        except OSError:
            return False


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace a file so that no reader sees half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)


def read_json(path: Path | None) -> dict[str, Any]:
    """A stand-in's state file, or {} while it is not written (the stand-ins start together)."""
    if path is None:
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# --------------------------------------------------------------------------------------------- certificates

class Issuer:
    """Leaf certificates signed by the sandbox CA (sandbox/pki.py wrote ca.pem and ca.key), one per set of names."""

    def __init__(self, ca_dir: Path, out_dir: Path):
        self.ca_file = ca_dir / "ca.pem"
        self.cert = x509.load_pem_x509_certificate(self.ca_file.read_bytes())
        self.key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), None)
        self.out = out_dir
        self.out.mkdir(parents=True, exist_ok=True)

    def pair(self, names: list[str]) -> tuple[Path, Path]:
        """The certificate and key files for ``names`` (made once per set of names)."""
        names = sorted({n.lower().rstrip(".") for n in names if n})
        tag = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
        cert_file, key_file = self.out / ("%s.crt" % tag), self.out / ("%s.key" % tag)
        if cert_file.exists() and key_file.exists():
            return cert_file, key_file
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        first = names[0] if len(names[0]) <= 64 else names[0].split(".")[0][:64]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, first)]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=7))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self.key, hashes.SHA256()))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_file.chmod(0o600)
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cert_file, key_file


# --------------------------------------------------------------------------------------------- the S3 origin

class S3Origin:
    """A loopback HTTP origin that reads objects from moto's S3 REST endpoint with signed requests - what origin
    access control does for CloudFront (moto refuses unsigned reads of private objects). nginx sends the bucket in
    ``X-Standin-Bucket``; moto's status, body and object headers are passed on as S3 would answer CloudFront."""

    PASSED = ("Content-Type", "Cache-Control", "ETag", "Last-Modified", "Content-Encoding", "Expires",
              "Content-Disposition", "Content-Language")

    def __init__(self, s3: Any):
        self.s3 = s3
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                origin.answer(self, body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                origin.answer(self, body=False)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler: http.server.BaseHTTPRequestHandler, body: bool) -> None:
        """One object read: GetObject on moto, its answer passed on."""
        bucket = handler.headers.get("X-Standin-Bucket", "")
        key = unquote(handler.path.split("?", 1)[0].lstrip("/"))
        prefix = handler.headers.get("X-Standin-Origin-Path", "").strip("/")
        if not key and handler.headers.get("X-Standin-Root-Object"):
            key = handler.headers["X-Standin-Root-Object"].lstrip("/")
        key = "%s/%s" % (prefix, key) if prefix else key
        status, headers, data = 200, {}, b""
        try:
            answer = self.s3.get_object(Bucket=bucket, Key=key)
            data = answer["Body"].read()
            meta = answer["ResponseMetadata"]["HTTPHeaders"]
            headers = {h: meta[h.lower()] for h in self.PASSED if h.lower() in meta}
        except Exception as exc:  # moto's error: S3's status and error document
            response = getattr(exc, "response", {}) or {}
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 502)
            code = str(response.get("Error", {}).get("Code") or "")
            if not code or code.isdigit():  # moto's 403 for a policy Deny has no error document
                code = {403: "AccessDenied", 404: "NoSuchKey"}.get(status, exc.__class__.__name__)
            headers = {"Content-Type": "application/xml"}
            data = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
                    "</Error>" % (code, "moto refused the read" if status == 403 else code)).encode()
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Server", "AmazonS3")
        handler.end_headers()
        if body:
            handler.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------------------------- reading moto

def glob_regex(pattern: str) -> str:
    """An ALB/CloudFront wildcard pattern (``*`` any run, ``?`` one character) as a regex body."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def arn_parts(arn: str) -> tuple[str, str, str]:
    """(scope, name, id) of a WAFv2 web ACL ARN: .../global/webacl/NAME/ID or .../regional/webacl/NAME/ID."""
    resource = arn.split(":", 5)[5]
    scope, dummy, name, acl_id = resource.split("/", 3)
    return ("CLOUDFRONT" if scope == "global" else "REGIONAL"), name, acl_id


class Reader:
    """Everything the edge renders, read from moto in one round (plain data, so a round compares with the last)."""

    def __init__(self, endpoint: str, region: str):
        kw = dict(endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.region = region
        self.elbv2 = boto3.client("elbv2", region_name=region, **kw)
        self.cloudfront = boto3.client("cloudfront", region_name="us-east-1", **kw)
        self.acm = {r: boto3.client("acm", region_name=r, **kw) for r in sorted({region, "us-east-1"})}
        self.waf = {"REGIONAL": boto3.client("wafv2", region_name=region, **kw),
                    "CLOUDFRONT": boto3.client("wafv2", region_name="us-east-1", **kw)}
        self.s3 = boto3.client("s3", region_name=region, **kw)
        self.unread: set[str] = set()

    def certificate_names(self, arn: str) -> list[str]:
        """The names an ACM certificate covers, or [] when moto has none readable under that ARN."""
        region = arn.split(":")[3] if arn.startswith("arn:") else self.region
        try:
            cert = self.acm.get(region, self.acm[self.region]).describe_certificate(CertificateArn=arn)["Certificate"]
        except Exception:
            self.unread.add("certificate %s (not readable in moto: the domain's names are used)" % arn)
            return []
        return sorted({cert["DomainName"], *(cert.get("SubjectAlternativeNames") or [])})

    def web_acl(self, scope: str, name: str, acl_id: str) -> dict[str, Any] | None:
        """A web ACL reduced to what the edge enforces: managed rule groups that block, and rate-based rules."""
        try:
            acl = self.waf[scope].get_web_acl(Name=name, Scope=scope, Id=acl_id)["WebACL"]
        except Exception as exc:
            self.unread.add("web ACL %s (%s)" % (name, exc.__class__.__name__))
            return None
        groups, rates, skipped = [], [], []
        for rule in sorted(acl.get("Rules") or [], key=lambda r: r.get("Priority", 0)):
            statement = rule.get("Statement") or {}
            managed = statement.get("ManagedRuleGroupStatement")
            if managed:
                if "Count" in (rule.get("OverrideAction") or {}):
                    skipped.append("%s (count only)" % managed.get("Name"))
                else:
                    groups.append(managed.get("Name", ""))
                continue
            rate = statement.get("RateBasedStatement")
            if rate and "Block" in (rule.get("Action") or {}):
                rates.append({"name": rule.get("Name", ""), "limit": int(rate["Limit"]),
                              "window": int(rate.get("EvaluationWindowSec") or 300),
                              "key": rate.get("AggregateKeyType", "IP")})
                continue
            skipped.append("%s (statement %s)" % (rule.get("Name"), ", ".join(statement) or "none"))
        default = "block" if "Block" in (acl.get("DefaultAction") or {}) else "allow"
        return {"name": acl["Name"], "arn": acl["ARN"], "groups": groups, "rates": rates, "skipped": skipped,
                "default": default}

    def load_balancers(self) -> list[dict[str, Any]]:
        """Application load balancers with their listeners, rules (in priority order) and target groups."""
        out = []
        lbs = [lb for page in self.elbv2.get_paginator("describe_load_balancers").paginate()
               for lb in page["LoadBalancers"] if lb.get("Type", "application") == "application"]
        for lb in sorted(lbs, key=lambda x: x["LoadBalancerName"]):
            arn = lb["LoadBalancerArn"]
            groups = {tg["TargetGroupArn"]: {"name": tg["TargetGroupName"], "port": tg.get("Port")}
                      for tg in self.elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"]}
            listeners = []
            for listener in self.elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]:
                rules = self.elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
                ordered = sorted((r for r in rules if not r.get("IsDefault")), key=lambda r: int(r["Priority"]))
                names: list[str] = []
                for cert in listener.get("Certificates") or []:
                    names += self.certificate_names(cert["CertificateArn"])
                listeners.append({
                    "port": int(listener["Port"]), "protocol": listener["Protocol"],
                    "ssl_policy": listener.get("SslPolicy", ""), "certificate_names": names,
                    "rules": [{"priority": int(r["Priority"]), "conditions": self.conditions(r),
                               "action": self.action(r["Actions"], groups)} for r in ordered],
                    "default": self.action(listener.get("DefaultActions") or [], groups)})
            try:
                acl_arn = (self.waf["REGIONAL"].get_web_acl_for_resource(ResourceArn=arn).get("WebACL") or {}).get(
                    "ARN")
            except Exception as exc:
                self.unread.add("web ACL of %s (%s)" % (lb["LoadBalancerName"], exc.__class__.__name__))
                acl_arn = None
            out.append({"kind": "alb", "key": arn, "name": lb["LoadBalancerName"],
                        "dns_name": lb["DNSName"].lower().rstrip("."), "listeners": sorted(
                            listeners, key=lambda x: x["port"]),
                        "waf": self.web_acl(*arn_parts(acl_arn)) if acl_arn else None})
        return out

    def conditions(self, rule: dict[str, Any]) -> dict[str, list[str]]:
        """A rule's host-header and path-pattern values; any other condition field is listed as unread and makes
        the rule match nothing (the edge cannot judge it)."""
        out: dict[str, list[str]] = {}
        for condition in rule.get("Conditions") or []:
            field = condition.get("Field", "")
            if field == "host-header":
                out["host"] = (condition.get("HostHeaderConfig") or {}).get("Values") or condition.get("Values", [])
            elif field == "path-pattern":
                out["path"] = (condition.get("PathPatternConfig") or {}).get("Values") or condition.get("Values", [])
            else:
                self.unread.add("rule condition %s (rule %s matches nothing here)" % (field, rule.get("Priority")))
                out["never"] = [field]
        return out

    def action(self, actions: list[dict[str, Any]], groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The deciding action of a rule: forward (to one target group), redirect or fixed-response."""
        for action in sorted(actions, key=lambda a: a.get("Order", 0)):
            kind = action.get("Type")
            if kind == "forward":
                arn = action.get("TargetGroupArn") or next(
                    (t["TargetGroupArn"] for t in (action.get("ForwardConfig") or {}).get("TargetGroups", [])), "")
                group = groups.get(arn) or {"name": arn.split("/")[-2] if "/" in arn else arn, "port": None}
                return {"type": "forward", "target_group": group["name"], "port": group["port"]}
            if kind == "redirect":
                return {"type": "redirect", **{k: str(v) for k, v in (action.get("RedirectConfig") or {}).items()}}
            if kind == "fixed-response":
                config = action.get("FixedResponseConfig") or {}
                return {"type": "fixed", "status": int(config.get("StatusCode", 503)),
                        "body": config.get("MessageBody", ""), "content_type": config.get("ContentType", "text/plain")}
            self.unread.add("listener action %s" % kind)
        return {"type": "fixed", "status": 503, "body": "", "content_type": "text/plain"}

    def policy(self, kind: str, policy_id: str) -> dict[str, Any] | None:
        """A cache / origin request / response headers policy: the managed table, else moto's own policy."""
        if not policy_id:
            return None
        table = {"cache": MANAGED_CACHE_POLICIES, "origin_request": MANAGED_ORIGIN_REQUEST_POLICIES,
                 "response_headers": MANAGED_RESPONSE_HEADERS_POLICIES}[kind]
        if policy_id in table:
            return table[policy_id]
        try:
            if kind == "cache":
                config = self.cloudfront.get_cache_policy(Id=policy_id)["CachePolicy"]["CachePolicyConfig"]
                params = config.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
                query = (params.get("QueryStringsConfig") or {}).get("QueryStringBehavior", "none") != "none"
                return {"name": config.get("Name"), "min": int(config.get("MinTTL", 0)),
                        "default": int(config.get("DefaultTTL", 86400)), "max": int(config.get("MaxTTL", 31536000)),
                        "query": query}
            if kind == "origin_request":
                config = self.cloudfront.get_origin_request_policy(Id=policy_id)["OriginRequestPolicy"][
                    "OriginRequestPolicyConfig"]
                headers = config.get("HeadersConfig") or {}
                host = headers.get("HeaderBehavior") in ("allViewer", "allViewerAndWhitelistCloudFront") or "host" in [
                    h.lower() for h in (headers.get("Headers") or {}).get("Items", [])]
                return {"name": config.get("Name"), "host": host, "query": True}
            config = self.cloudfront.get_response_headers_policy(Id=policy_id)["ResponseHeadersPolicy"][
                "ResponseHeadersPolicyConfig"]
            custom = {h["Header"]: h["Value"] for h in (config.get("CustomHeadersConfig") or {}).get("Items", [])}
            return {"name": config.get("Name"), "headers": custom}
        except Exception:
            self.unread.add("%s policy %s (not in moto, not a managed policy the edge knows)" % (kind, policy_id))
            return None

    def behavior(self, b: dict[str, Any]) -> dict[str, Any]:
        cache = self.policy("cache", b.get("CachePolicyId", ""))
        if cache is None:  # a legacy behaviour (ForwardedValues with TTLs) or an unknown policy
            cache = {"name": "legacy", "min": int(b.get("MinTTL", 0)), "default": int(b.get("DefaultTTL", 0)),
                     "max": int(b.get("MaxTTL", 0)),
                     "query": bool((b.get("ForwardedValues") or {}).get("QueryString"))}
        methods = (b.get("AllowedMethods") or {}).get("Items") or ["GET", "HEAD"]
        return {"path": b.get("PathPattern", "*"), "origin": b["TargetOriginId"],
                "viewer_protocol": b.get("ViewerProtocolPolicy", "allow-all"), "methods": sorted(methods),
                "cache": cache, "origin_request": self.policy("origin_request", b.get("OriginRequestPolicyId", "")),
                "response_headers": self.policy("response_headers", b.get("ResponseHeadersPolicyId", ""))}

    def distributions(self) -> list[dict[str, Any]]:
        """Enabled distributions with their aliases, origins, behaviours, error responses and web ACL."""
        out = []
        items = self.cloudfront.list_distributions()["DistributionList"].get("Items") or []
        for summary in sorted(items, key=lambda d: d["Id"]):
            dist = self.cloudfront.get_distribution(Id=summary["Id"])["Distribution"]
            config = dist["DistributionConfig"]
            if not config.get("Enabled", True):
                continue
            origins = {}
            for origin in (config.get("Origins") or {}).get("Items") or []:
                domain = origin["DomainName"].lower().rstrip(".")
                bucket = re.match(r"^([a-z0-9][a-z0-9.-]+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$", domain)
                custom = origin.get("CustomOriginConfig") or {}
                origins[origin["Id"]] = {
                    "domain": domain, "path": origin.get("OriginPath", ""),
                    "s3_bucket": bucket.group(1) if bucket and "CustomOriginConfig" not in origin else None,
                    "protocol": custom.get("OriginProtocolPolicy", "https-only"),
                    "read_timeout": int(custom.get("OriginReadTimeout", 30))}
            viewer = config.get("ViewerCertificate") or {}
            names = self.certificate_names(viewer["ACMCertificateArn"]) if viewer.get("ACMCertificateArn") else []
            acl_id = config.get("WebACLId") or ""
            out.append({
                "kind": "cloudfront", "key": dist["Id"], "name": dist["Id"], "arn": dist["ARN"],
                "dns_name": dist["DomainName"].lower().rstrip("."),
                "aliases": sorted(a.lower() for a in (config.get("Aliases") or {}).get("Items") or []),
                "certificate_names": names, "origins": origins,
                "default": self.behavior(config["DefaultCacheBehavior"]),
                "behaviors": [self.behavior(b) for b in (config.get("CacheBehaviors") or {}).get("Items") or []],
                "errors": [{"code": int(e["ErrorCode"]), "page": e.get("ResponsePagePath", ""),
                            "status": int(e.get("ResponseCode") or e["ErrorCode"])}
                           for e in (config.get("CustomErrorResponses") or {}).get("Items") or []],
                "root_object": config.get("DefaultRootObject", ""),
                "waf": self.web_acl(*arn_parts(acl_id)) if acl_id.startswith("arn:") else None})
        return out


# --------------------------------------------------------------------------------------------- rendering

def nginx_string(text: str) -> str:
    """A double-quoted nginx string."""
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "${dollar}")


def ssl_protocols(policy: str) -> str:
    """TLS versions of an ELB security policy / CloudFront minimum protocol (TLS 1.2+ is all the launch accepts)."""
    if "TLS13-1-3" in policy:
        return "TLSv1.3"
    return "TLSv1.2 TLSv1.3"


class Renderer:
    """nginx.conf from the model: one server per listener and per distribution, each on its own address."""

    def __init__(self, workdir: Path, issuer: Issuer, domain: str, s3_port: int, ca_file: Path):
        self.faults: dict[str, Any] = {}
        self.dir = workdir
        self.issuer = issuer
        self.domain = domain
        self.s3_port = s3_port
        self.ca_file = ca_file
        self.waf_files: dict[str, Path] = {}
        self.notes: list[str] = []

    def cert(self, names: list[str], extra: list[str]) -> tuple[Path, Path]:
        wanted = names or [self.domain, "*." + self.domain]
        return self.issuer.pair(wanted + extra)

    def service_of(self, target_group: str, port: int | None, services: dict[str, str]) -> str | None:
        """The platform service behind a target group: the name's last part, else the network role's port."""
        service = target_group.rsplit("-", 1)[-1].lower()
        if service not in services and service not in SERVED_BY:
            service = SERVICE_PORTS.get(port or 0, service)
        service = service if service in services else SERVED_BY.get(service, service)
        return service if service in services else None

    def waf(self, acl: dict[str, Any] | None, label: str, zones: list[str]) -> list[str]:
        """ModSecurity and limit_req directives for a server protected by ``acl``."""
        if not acl:
            return []
        lines = []
        files: list[str] = []
        for group in acl["groups"]:
            for name in RULE_GROUP_FILES.get(group, []):
                if name not in files:
                    files.append(name)
        if files:
            rules = self.dir / "waf" / ("%s.conf" % label)
            audit = self.dir / "logs" / ("modsec-%s.log" % label)
            body = ["# %s: %s" % (acl["name"], ", ".join(acl["groups"])),
                    "SecRuleEngine On", "SecRequestBodyAccess On", "SecResponseBodyAccess Off",
                    "SecRequestBodyLimit 13107200", "SecRequestBodyNoFilesLimit 131072",
                    "SecTmpDir %s" % (self.dir / "tmp"), "SecDataDir %s" % (self.dir / "tmp"),
                    "SecAuditEngine RelevantOnly", 'SecAuditLogRelevantStatus "^403$"', "SecAuditLogParts ABHZ",
                    "SecAuditLogType Serial", "SecAuditLog %s" % audit,
                    "Include %s" % CRS_SETUP, "Include %s" % (CRS_RULES / "REQUEST-901-INITIALIZATION.conf"),
                    "Include %s" % (CRS_RULES / "REQUEST-905-COMMON-EXCEPTIONS.conf")]
            body += ["Include %s" % (CRS_RULES / name) for name in files]
            body += ["Include %s" % (CRS_RULES / "REQUEST-949-BLOCKING-EVALUATION.conf"), ""]
            rules.write_text("\n".join(body))
            lines += ["modsecurity on;", "modsecurity_rules_file %s;" % rules]
        for index, rate in enumerate(acl["rates"]):
            zone = "%s_rate%d" % (label, index)
            per_minute = max(1, -(-rate["limit"] * 60 // rate["window"]))
            zones.append("limit_req_zone $binary_remote_addr zone=%s:1m rate=%dr/m;" % (zone, per_minute))
            lines += ["limit_req zone=%s burst=%d nodelay;" % (zone, rate["limit"])]
        if acl["rates"]:
            lines += ["limit_req_status 403;", "limit_req_log_level warn;"]
        if acl["default"] == "block":
            lines += ["return 403;"]
        return lines

    def render(self, model: dict[str, Any], addresses: dict[str, str], services: dict[str, str]) -> str:
        http: list[str] = []
        zones: list[str] = []
        upstreams = sorted(set(services))
        for name in upstreams:
            http += ["upstream svc_%s { server %s; keepalive 16; }" % (name, services[name])]
        lb_by_dns = {lb["dns_name"]: lb for lb in model["albs"]}
        for n, lb in enumerate(model["albs"]):
            address = addresses[lb["key"]]
            for listener in lb["listeners"]:
                http += self.alb_listener(n, lb, listener, address, services, zones)
        cache_paths = []
        for n, dist in enumerate(model["distributions"]):
            zone = "cf%d" % n
            cache_dir = self.dir / "cache" / dist["key"]
            cache_dir.mkdir(parents=True, exist_ok=True)
            cache_paths.append("proxy_cache_path %s levels=1:2 keys_zone=%s:10m max_size=256m inactive=1d "
                               "use_temp_path=off;" % (cache_dir, zone))
            http += self.distribution(n, dist, addresses[dist["key"]], lb_by_dns, addresses, zone, zones)
        base = self.dir
        head = [
            "# Rendered by sandbox/edge.py from moto - do not edit (it is rewritten when moto changes).",
            "load_module %s;" % MODSECURITY_MODULE,
            "worker_processes 1;",
            "worker_shutdown_timeout 10s;",
            # the work directory may sit in a root-only (0700) directory, such as a test's tmp_path
            "user root root;" if os.geteuid() == 0 else "",
            "pid %s;" % (base / "nginx.pid"),
            "error_log %s warn;" % (base / "logs" / "error.log"),
            "events { worker_connections 1024; }",
            "http {",
            "  default_type application/octet-stream;",
            "  server_tokens off;",
            "  log_format edge '$server_addr:$server_port $host \"$request\" $status $upstream_cache_status "
            "$upstream_addr $request_time';",
            "  access_log %s edge;" % (base / "logs" / "access.log"),
            "  client_body_temp_path %s;" % (base / "tmp" / "body"),
            "  proxy_temp_path %s;" % (base / "tmp" / "proxy"),
            "  fastcgi_temp_path %s;" % (base / "tmp" / "fastcgi"),
            "  uwsgi_temp_path %s;" % (base / "tmp" / "uwsgi"),
            "  scgi_temp_path %s;" % (base / "tmp" / "scgi"),
            "  sendfile on; keepalive_timeout 65; server_names_hash_bucket_size 256; map_hash_bucket_size 256;",
            "  variables_hash_bucket_size 256;",
            '  geo $dollar { default "$"; }',
            '  map $status $edge_is_error { ~^[45] 1; default 0; }',
            '  map "$edge_is_error:$upstream_cache_status" $cf_x_cache {',
            '    ~^1: "Error from cloudfront"; "0:HIT" "Hit from cloudfront"; "0:STALE" "Hit from cloudfront";',
            '    "0:UPDATING" "Hit from cloudfront"; "0:REVALIDATED" "RefreshHit from cloudfront";',
            '    default "Miss from cloudfront"; }',
        ]
        return "\n".join(head + ["  " + z for z in zones + cache_paths] + ["  " + line for line in http] + ["}", ""])

    def alb_listener(self, n: int, lb: dict[str, Any], listener: dict[str, Any], address: str,
                     services: dict[str, str], zones: list[str]) -> list[str]:
        """One listener: a map of host/path to the rule that decides, and the server acting on it."""
        label = "alb%d_%d" % (n, listener["port"])
        route, upstream, upgrade = "$%s_route" % label, "$%s_upstream" % label, "$%s_upgrade" % label
        rules = listener["rules"] + [{"priority": "default", "conditions": {}, "action": listener["default"]}]
        lines = ['map "$host $uri" %s {' % route]
        for rule in listener["rules"]:
            cond = rule["conditions"]
            if "never" in cond:
                continue
            host = "(?:%s)" % "|".join(glob_regex(h.lower()) for h in cond["host"]) if cond.get("host") else "[^ ]*"
            path = "(?:%s)" % "|".join(glob_regex(p) for p in cond["path"]) if cond.get("path") else ".*"
            lines.append('  "~^%s %s$" r%s;' % (host, path, rule["priority"]))
        lines += ["  default rdefault;", "}"]
        ups = ["map %s %s {" % (route, upstream)]
        ups_up = ["map %s %s {" % (route, upgrade)]
        server_ifs = []
        for rule in rules:
            key = "r%s" % rule["priority"]
            action = rule["action"]
            if action["type"] == "forward":
                service = self.service_of(action["target_group"], action.get("port"), services)
                if service is None:  # a target group with no registered target: the ALB answers 503
                    server_ifs.append("if (%s = %s) { return 503; }" % (route, key))
                    continue
                ups.append("  %s svc_%s;" % (key, service))
                # the fault drop_upgrade: the proxy forwards the handshake without its Upgrade header (as a
                # misconfigured proxy does), so the service answers it as a plain request
                if service == "ws" and not self.faults.get("drop_upgrade"):
                    ups_up.append("  %s $http_upgrade;" % key)
            elif action["type"] == "redirect":
                server_ifs.append("if (%s = %s) { return %s %s; }" % (route, key, action.get(
                    "StatusCode", "HTTP_301").replace("HTTP_", ""), self.redirect_url(action)))
            else:
                server_ifs.append("if (%s = %s) { default_type %s; return %d %s; }" % (
                    route, key, nginx_string(action["content_type"]), action["status"],
                    nginx_string(action["body"])))
        ups += ['  default "";', "}"]
        ups_up += ['  default "";', "}"]
        connection = "$%s_connection" % label
        lines += ups + ups_up + ['map %s %s { "" ""; default upgrade; }' % (upgrade, connection)]
        tls = listener["protocol"] == "HTTPS"
        server = ["server {", "  listen %s:%d%s;" % (address, listener["port"], " ssl http2" if tls else ""),
                  "  server_name _;"]
        if tls:
            cert, key = self.cert(listener["certificate_names"], [lb["dns_name"]])
            server += ["  ssl_certificate %s;" % cert, "  ssl_certificate_key %s;" % key,
                       "  ssl_protocols %s;" % ssl_protocols(listener["ssl_policy"])]
        server += ["  " + line for line in self.waf(lb["waf"], label, zones)]
        server += ["  " + line for line in server_ifs]
        server += ["  location / {", "    proxy_pass http://%s;" % upstream, "    proxy_http_version 1.1;",
                   "    proxy_set_header Host $host;", "    proxy_set_header Upgrade %s;" % upgrade,
                   "    proxy_set_header Connection %s;" % connection,
                   "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                   "    proxy_set_header X-Forwarded-Proto $scheme;",
                   "    proxy_set_header X-Forwarded-Port $server_port;",
                   "    proxy_read_timeout 3600s; proxy_buffering off;",
                   "  }", "}"]
        return lines + server

    @staticmethod
    def redirect_url(action: dict[str, Any]) -> str:
        """An ALB redirect's URL with its #{...} placeholders as nginx variables."""
        protocol = action.get("Protocol", "#{protocol}").replace("#{protocol}", "$scheme").lower()
        port = action.get("Port", "#{port}")
        host = action.get("Host", "#{host}").replace("#{host}", "$host")
        path = action.get("Path", "/#{path}").replace("/#{path}", "$uri").replace("#{path}", "$uri")
        query = action.get("Query", "#{query}")
        default_port = (protocol == "https" and port == "443") or (protocol == "http" and port == "80")
        url = "%s://%s%s%s" % (protocol, host, "" if default_port else ":" + port.replace("#{port}", "$server_port"),
                               path)
        url += "$is_args$args" if query == "#{query}" else ("?" + query if query else "")
        return url

    def distribution(self, n: int, dist: dict[str, Any], address: str, lb_by_dns: dict[str, Any],
                     addresses: dict[str, str], zone: str, zones: list[str]) -> list[str]:
        """One distribution: an HTTP server (viewer protocol policy) and an HTTPS server with its behaviours."""
        label = "cf%d" % n
        names = dist["aliases"] + [dist["dns_name"]]
        plain = ["server {", "  listen %s:80;" % address, "  server_name _;"]
        behaviors = dist["behaviors"] + [dist["default"]]
        # the viewer protocol policy of the default behaviour decides plain HTTP (per behaviour would need a copy
        # of every location on port 80; the launch sets redirect-to-https everywhere)
        policy = dist["default"]["viewer_protocol"]
        if policy == "allow-all":
            plain += self.locations(dist, behaviors, lb_by_dns, addresses, zone, label) + ["}"]
        elif policy == "https-only":
            plain += ["  return 403;", "}"]
        else:
            plain += ["  return 301 https://$host$request_uri;", "}"]
        cert, key = self.cert(dist["certificate_names"], names)
        tls = ["server {", "  listen %s:443 ssl http2;" % address, "  server_name _;",
               "  ssl_certificate %s;" % cert, "  ssl_certificate_key %s;" % key,
               "  ssl_protocols TLSv1.2 TLSv1.3;"]
        tls += ["  " + line for line in self.waf(dist["waf"], label, zones)]
        tls += self.locations(dist, behaviors, lb_by_dns, addresses, zone, label) + ["}"]
        return plain + tls

    def locations(self, dist: dict[str, Any], behaviors: list[dict[str, Any]], lb_by_dns: dict[str, Any],
                  addresses: dict[str, str], zone: str, label: str) -> list[str]:
        """The ordered cache behaviours as regex locations (nginx tries them in order, as CloudFront does), the
        default behaviour as ``location /``, and the custom error responses."""
        out = []
        errors = [e for e in dist["errors"] if e["page"]]
        for error in errors:
            out.append("  error_page %d =%d %s;" % (error["code"], error["status"], error["page"]))
        for index, behavior in enumerate(behaviors):
            default = index == len(behaviors) - 1
            head = "  location / {" if default else '  location ~ "^%s$" {' % glob_regex(behavior["path"])
            out += [head] + ["    " + line for line in self.behavior(dist, behavior, lb_by_dns, addresses, zone,
                                                                     bool(errors))] + ["  }"]
        return out

    def behavior(self, dist: dict[str, Any], b: dict[str, Any], lb_by_dns: dict[str, Any],
                 addresses: dict[str, str], zone: str, intercept: bool) -> list[str]:
        origin = dist["origins"].get(b["origin"])
        # add_header in a location replaces the server's: every CloudFront header is set here
        lines = ['add_header X-Cache $cf_x_cache always;',
                 'add_header Via "1.1 %s.cloudfront.net (CloudFront)" always;' % dist["key"].lower(),
                 'add_header X-Amz-Cf-Pop "SBX1-P1" always;', 'add_header X-Amz-Cf-Id $request_id always;']
        for name, value in sorted(((b.get("response_headers") or {}).get("headers") or {}).items()):
            lines.append("add_header %s %s always;" % (name, nginx_string(value)))
        methods = set(b["methods"])
        lines.append("if ($request_method !~ ^(%s)$) { return 403; }" % "|".join(sorted(methods)))
        if origin is None:
            self.notes.append("%s behaviour %s names origin %s, which the distribution lacks"
                              % (dist["key"], b["path"], b["origin"]))
            return lines + ["return 502;"]
        cache = b["cache"]
        if cache["max"] > 0:
            key = "$scheme$host$uri" + ("$is_args$args" if cache["query"] else "")
            lines += ["proxy_cache %s;" % zone, "proxy_cache_key %s;" % key,
                      "proxy_cache_valid 200 203 204 206 301 302 %ds;" % max(cache["default"], cache["min"]),
                      "proxy_cache_methods GET HEAD;", "proxy_cache_lock on;"]
        else:
            lines += ["proxy_no_cache 1;", "proxy_cache_bypass 1;"]
        if intercept:
            lines.append("proxy_intercept_errors on;")
        forward_host = bool((b.get("origin_request") or {}).get("host"))
        # the viewer's request URI goes to the origin as it came (query string included, whatever the policy)
        if origin["s3_bucket"]:
            lines += ["proxy_pass http://127.0.0.1:%d;" % self.s3_port,
                      "proxy_set_header Host %s;" % origin["domain"],
                      "proxy_set_header X-Standin-Bucket %s;" % origin["s3_bucket"],
                      "proxy_set_header X-Standin-Origin-Path %s;" % nginx_string(origin["path"] or "/"),
                      "proxy_set_header X-Standin-Root-Object %s;" % nginx_string(dist["root_object"] or ""),
                      "proxy_hide_header Server;"]
            return lines
        lb = lb_by_dns.get(origin["domain"])
        if lb is None:  # CloudFront cannot reach an origin that does not exist: 502, then the error responses
            self.notes.append("%s origin %s is no load balancer in moto" % (dist["key"], origin["domain"]))
            return lines + ["return 502;"]
        host = "$host" if forward_host else origin["domain"]
        https = origin["protocol"] != "http-only"
        port = 443 if https else 80
        if not any(listener["port"] == port for listener in lb["listeners"]):
            return lines + ["return 502;"]
        lines += ["proxy_pass %s://%s:%d;" % ("https" if https else "http", addresses[lb["key"]], port),
                  # the load balancer sees CloudFront's address, not the viewer's (its WAF rate rule counts per
                  # client address: a viewer's burst straight at the load balancer does not block CloudFront)
                  "proxy_bind %s;" % addresses[dist["key"]],
                  "proxy_http_version 1.1;", "proxy_set_header Host %s;" % host,
                  "proxy_set_header Connection \"\";",
                  "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                  "proxy_set_header CloudFront-Forwarded-Proto $scheme;",
                  "proxy_read_timeout %ds;" % origin["read_timeout"], "proxy_connect_timeout 10s;"]
        if https:
            lines += ["proxy_ssl_server_name on;", "proxy_ssl_name %s;" % host,
                      "proxy_ssl_verify on;", "proxy_ssl_trusted_certificate %s;" % self.ca_file,
                      "proxy_ssl_protocols TLSv1.2 TLSv1.3;"]
        return lines


# --------------------------------------------------------------------------------------------- nginx

class Nginx:
    """nginx as a child: its own prefix and configuration, started once, reloaded (SIGHUP) on a new configuration
    that ``nginx -t`` accepts; a configuration it refuses is kept beside the running one and reported."""

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.conf = workdir / "nginx.conf"
        self.proc: subprocess.Popen[bytes] | None = None
        self.text = ""
        self.error = ""
        self.generation = 0
        self.reloaded_at = 0.0

    def test(self, conf: Path) -> str:
        """'' when ``nginx -t`` accepts the file, else its complaint."""
        check = subprocess.run([NGINX, "-t", "-q", "-p", str(self.dir), "-e", str(self.dir / "logs" / "test.log"),
                                "-c", str(conf)], capture_output=True, text=True, timeout=120, check=False)
        return "" if check.returncode == 0 else (check.stderr or check.stdout).strip()[-2000:]

    def apply(self, text: str) -> bool:
        """Run ``text``; True when nginx now runs it."""
        if text == self.text and self.running():
            return False
        candidate = self.dir / "nginx.conf.new"
        candidate.write_text(text)
        problem = self.test(candidate)
        if problem:
            if problem != self.error:
                log("nginx -t refused the rendered configuration (kept the running one): %s" % problem)
            self.error = problem
            return False
        candidate.replace(self.conf)
        self.text, self.error = text, ""
        self.generation += 1
        if not self.running():
            out = open(self.dir / "logs" / "nginx.out", "ab")
            self.proc = subprocess.Popen([NGINX, "-p", str(self.dir), "-e", str(self.dir / "logs" / "error.log"),
                                          "-c", str(self.conf), "-g", "daemon off;"], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            out.close()
        else:
            assert self.proc is not None
            old = self.workers()
            self.proc.send_signal(signal.SIGHUP)
            # for a moment the old and the new workers both accept: the new configuration counts as running once
            # the old workers are gone (worker_shutdown_timeout bounds a WebSocket holding one open)
            deadline = time.monotonic() + 15
            while old & self.workers() and time.monotonic() < deadline:
                time.sleep(0.05)
        self.reloaded_at = time.time()
        return True

    def workers(self) -> set[int]:
        """The master's worker processes (children in /proc whose parent is the master)."""
        if self.proc is None:
            return set()
        found = set()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                    found.add(int(entry))
        return found

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.running():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish their requests
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------- the edge

class Edge:
    """The polling loop: read moto, render, reload; run the data plane; write the state file."""

    def __init__(self, args: argparse.Namespace):
        from sandbox.dataplane import DataPlane

        self.args = args
        self.domain = args.domain.lower().rstrip(".")
        self.dir = args.workdir.resolve()
        for sub in ("logs", "tmp", "certs", "waf", "cache"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.reader = Reader(args.aws_endpoint, args.region)
        self.issuer = Issuer(args.ca_dir, self.dir / "certs")
        self.s3 = S3Origin(self.reader.s3)
        self.renderer = Renderer(self.dir, self.issuer, self.domain, self.s3.port, args.ca_dir / "ca.pem")
        self.nginx = Nginx(self.dir)
        self.lock: IO[str] | None = None
        self.prefix = self.pick_block()
        self.assigned: dict[str, str] = {}
        self.model: dict[str, Any] = {"albs": [], "distributions": []}
        self.stopping = threading.Event()
        self.vpc_names: dict[str, dict[str, list[str]]] = {}
        self.dns_port = free_udp_tcp_port()
        self.dns = serve(self.vpc_names, "127.0.0.1", self.dns_port)
        self.data = DataPlane(self.dir / "data", args.aws_endpoint, args.region, args.ca_dir, self.prefix,
                              self.vpc_names)
        self.errors: list[str] = []
        self.watch = MotoChanges(args.aws_endpoint)
        self.inputs: tuple | None = None

    def pick_block(self) -> str:
        """A free 127.X.Y.0/24 (X never 0 nor 53), locked for the edge's life so two edges never share one."""
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        rng = random.Random()
        for attempt in range(200):  # noqa: B007 - bounded
            prefix = "127.%d.%d" % (rng.choice([x for x in range(1, 255) if x not in (0, 53)]), rng.randrange(256))
            lock = open(LOCK_DIR / (prefix + ".lock"), "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            if all(bindable("%s.%d" % (prefix, h), p) for h in (*ALB_HOSTS[:2], *CF_HOSTS[:3]) for p in (80, 443)):
                self.lock = lock
                return prefix
            lock.close()
        raise SystemExit("edge: no free 127.X.Y.0/24 block with ports 80 and 443 free")

    def address_for(self, key: str, hosts: range) -> str:
        """A stable address per load balancer / distribution (kept while it exists)."""
        if key not in self.assigned:
            used = set(self.assigned.values())
            free = [a for a in ("%s.%d" % (self.prefix, h) for h in hosts) if a not in used]
            if not free:
                raise RuntimeError("no address left for %s in %s.0/24" % (key, self.prefix))
            self.assigned[key] = free[0]
        return self.assigned[key]

    def services(self) -> dict[str, str]:
        return dict(read_json(self.args.platform_state).get("services") or {})

    def poll(self) -> None:
        self.reader.unread = set()
        model = {"albs": self.reader.load_balancers(), "distributions": self.reader.distributions()}
        live = {x["key"] for x in model["albs"] + model["distributions"]}
        self.assigned = {k: v for k, v in self.assigned.items() if k in live}
        addresses = {lb["key"]: self.address_for(lb["key"], ALB_HOSTS) for lb in model["albs"]}
        addresses.update({d["key"]: self.address_for(d["key"], CF_HOSTS) for d in model["distributions"]})
        self.renderer.notes = []
        self.renderer.faults = read_faults(self.args.workdir)
        text = self.renderer.render(model, addresses, self.services())
        if self.nginx.apply(text):
            log("nginx runs configuration %d (%d load balancer(s), %d distribution(s))"
                % (self.nginx.generation, len(model["albs"]), len(model["distributions"])))
        self.model = model

    def state(self) -> dict[str, Any]:
        albs, dists = self.model["albs"], self.model["distributions"]
        live = next((d for d in dists if self.domain in d["aliases"]), dists[0] if dists else None)
        alias_targets = {x["dns_name"] + ".": self.assigned[x["key"]] for x in albs + dists if x["key"] in self.assigned}
        waf = {}
        for x in albs + dists:
            acl = x.get("waf")
            if acl:
                waf[self.assigned.get(x["key"], "")] = {
                    "web_acl": acl["name"], "server": "%s %s" % (x["kind"], x["dns_name"]), "groups": acl["groups"],
                    "crs_files": sorted({f for g in acl["groups"] for f in RULE_GROUP_FILES.get(g, [])}),
                    "rate_limits": [dict(r, per_minute=max(1, -(-r["limit"] * 60 // r["window"])), burst=r["limit"])
                                    for r in acl["rates"]], "not_enforced": acl["skipped"] + [
                        g for g in acl["groups"] if g not in RULE_GROUP_FILES]}
        data = self.data.state()
        return {
            "edge": {"cloudfront": self.assigned.get(live["key"]) if live else None,
                     "alb": self.assigned.get(albs[0]["key"]) if albs else None},
            "alias_targets": alias_targets,
            "servers": {self.assigned[x["key"]]: {"kind": x["kind"], "dns_name": x["dns_name"],
                                                  "aliases": x.get("aliases", [])}
                        for x in albs + dists if x["key"] in self.assigned},
            "vpc_dns_server": "127.0.0.1:%d" % self.dns_port,
            "pooler": data["pooler"], "redis": data["redis"],
            "nginx_conf": str(self.nginx.conf), "nginx_generation": self.nginx.generation,
            "nginx_reloaded_at": self.nginx.reloaded_at, "nginx_error": self.nginx.error,
            "block": self.prefix + ".0/24", "waf": waf, "ca_file": str(self.args.ca_dir / "ca.pem"),
            "faults": self.renderer.faults,
            "unread": sorted(self.reader.unread | set(self.renderer.notes)) + data["unread"],
            "errors": self.errors[-10:] + data["errors"], "pid": os.getpid(), "updated": time.time(),
            "children": {"nginx": self.nginx.proc.pid if self.nginx.proc else None,
                         "nginx_workers": sorted(self.nginx.workers()), **data["children"]},
        }

    def local_inputs(self) -> tuple:
        """What the edge follows besides moto: its faults, the platform's services, the RDS stand-in's state."""
        rds: dict[str, Any] = {}
        if self.args.rds_state is not None:
            rds = {k: v for k, v in read_json(self.args.rds_state).items() if k != "updated"}
        return (json.dumps(read_faults(self.args.workdir), sort_keys=True), json.dumps(self.services()),
                json.dumps(rds, sort_keys=True, default=str))

    def run(self) -> None:
        """Poll until SIGTERM - a round only when moto's change count moved or a local input changed
        (sandbox/changes.py); the state file is first written once nginx answers."""
        while not self.stopping.is_set():
            due = self.watch.due()
            inputs = self.local_inputs()
            if due or inputs != self.inputs or not self.nginx.running():
                ok = True
                try:
                    self.poll()
                except Exception as exc:  # moto restarting, a transient error: keep serving, try again
                    ok = False
                    self.errors.append("%s: %s" % (exc.__class__.__name__, exc))
                    log("poll failed: %s" % exc)
                try:
                    ok &= self.data.poll(self.args.rds_state)
                except Exception as exc:
                    ok = False
                    self.errors.append("data plane: %s: %s" % (exc.__class__.__name__, exc))
                    log("data plane poll failed: %s" % exc)
                if ok:
                    self.watch.seen()
                    self.inputs = inputs
            if self.nginx.running():
                write_atomic(self.args.state_file, json.dumps(self.state(), indent=2, default=str))
            self.stopping.wait(self.args.interval)

    def close(self) -> None:
        self.nginx.stop()
        self.data.close()
        self.s3.close()
        for server in self.dns:
            server.shutdown()
            server.server_close()
        self.args.state_file.unlink(missing_ok=True)
        if self.lock is not None:
            self.lock.close()


FAULTS = ("drop_upgrade",)


def read_faults(workdir: Path) -> dict[str, Any]:
    """The edge's injected faults (``<workdir>/faults.json``, written by ``--fault``); {} without."""
    try:
        found = json.loads((workdir / "faults.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in found.items() if k in FAULTS}


def set_fault(state_file: Path, fault: str) -> int:
    """``--fault drop_upgrade`` / ``--fault clear`` on a running edge: written beside its nginx.conf, applied by its
    next poll (the state file's ``faults`` and ``nginx_generation`` show when)."""
    workdir = Path(json.loads(state_file.read_text())["nginx_conf"]).parent
    faults = {} if fault == "clear" else dict(read_faults(workdir), **{fault: True})
    tmp = workdir / "faults.json.tmp"
    tmp.write_text(json.dumps(faults))
    tmp.rename(workdir / "faults.json")
    print("edge: faults %s" % (faults or "cleared"))
    return 0


def missing_programs() -> list[str]:
    """What the edge needs from Debian (nginx-light, libnginx-mod-http-modsecurity, modsecurity-crs)."""
    needed = [NGINX, MODSECURITY_MODULE, CRS_SETUP, str(CRS_RULES / "REQUEST-942-APPLICATION-ATTACK-SQLI.conf")]
    return [p for p in needed if not Path(p).exists()]


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if "--fault" in argv:  # the control form: python -m sandbox.edge --state-file F --fault drop_upgrade|clear
        c = argparse.ArgumentParser(description="inject a fault into a running edge")
        c.add_argument("--state-file", required=True, type=Path)
        c.add_argument("--fault", required=True, choices=FAULTS + ("clear",))
        control = c.parse_args(argv)
        return set_fault(control.state_file, control.fault)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--aws-endpoint", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--domain", required=True)
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--ca-dir", required=True, type=Path)
    p.add_argument("--platform-state", type=Path, help="the stand-in platform's state file (services -> 127.0.0.1:P)")
    p.add_argument("--rds-state", type=Path, help="sandbox/rds_standin.py's state file")
    p.add_argument("--state-file", required=True, type=Path)
    p.add_argument("--interval", type=float, default=1.0)
    args = p.parse_args(argv)
    host = args.aws_endpoint.split("//", 1)[-1].split("/")[0].rsplit(":", 1)[0]
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit("edge: the AWS endpoint must be on loopback (the sandbox's moto), got %s" % host)
    missing = missing_programs()
    if missing:
        raise SystemExit("edge: missing %s (tools/install_system_deps.sh installs nginx-light, "
                         "libnginx-mod-http-modsecurity and modsecurity-crs)" % ", ".join(missing))
    args.workdir.mkdir(parents=True, exist_ok=True)
    edge = Edge(args)
    signal.signal(signal.SIGTERM, lambda *a: edge.stopping.set())
    signal.signal(signal.SIGINT, lambda *a: edge.stopping.set())
    try:
        edge.run()
    finally:
        edge.close()
        shutil.rmtree(args.workdir / "tmp", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
