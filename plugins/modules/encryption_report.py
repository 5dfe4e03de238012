#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: encryption_report
short_description: Encryption at rest and in transit of everything the launch built; fails naming what is not
version_added: 0.3.0
description:
  - Read-only. Finds what the launch built in one region by its name prefix and gives each item a verdict.
  - At rest - RDS instances (C(StorageEncrypted), the key), ElastiCache replication groups (C(AtRestEncryptionEnabled)),
    S3 buckets (default encryption), Secrets Manager secrets (their key, the RDS-managed master secrets included),
    SNS topics (C(KmsMasterKeyId)), CloudWatch Logs groups (C(kmsKeyId)) and AWS Backup vaults.
  - In transit - load balancer listeners (HTTPS with a TLS 1.2+ policy; HTTP only as a redirect to HTTPS), the RDS
    parameter group's C(rds.force_ssl=1), Redis C(TransitEncryptionEnabled), and bucket policies that deny requests
    with C(aws:SecureTransport=false).
  - Verdicts - C(ok) (encrypted with a customer-managed key, or in transit as required), C(aws-managed) (encrypted at
    rest with a key AWS owns or manages; a failure with O(require_customer_key) unless the item is in O(exempt)),
    C(fail) (not encrypted).
  - Fails naming every failing item unless O(report_only).
author: DirectFanz platform team (@directfanz)
options:
  name:
    description:
      - The launch's name prefix. Found by it - RDS instances, replication groups and load balancers C(<name>-*),
        buckets C(<name>-*), secrets C(<name>/*) (and the master secrets of the instances found), topics C(<name>-*),
        log groups C(/<name>/*), C(aws-waf-logs-<name>*) and C(/aws/cloudtrail/<name>*), backup vaults C(<name>-*).
    type: str
    required: true
  require_customer_key:
    description: Count encryption with an AWS owned or managed key as a failure (the launch encrypts with its own keys).
    type: bool
    default: true
  exempt:
    description:
      - Names of items that may use an AWS managed key even with O(require_customer_key) (each should have a reason in
        the caller, for example a public static-site bucket served through CloudFront).
    type: list
    elements: str
    default: []
  report_only:
    description: Return the report without failing on what is not encrypted.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Read-only; the same reads and report in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
"""

EXAMPLES = r"""
- name: Prove the launch's data is encrypted at rest and in transit
  directfanz.launch.encryption_report:
    name: directfanz
    region: us-east-1
    exempt: [directfanz-static-123456789012]
  register: encryption
"""

RETURN = r"""
items:
  description: Every item checked, each C({kind, name, aspect, verdict, detail}); C(aspect) is C(at rest) or C(in transit).
  returned: always
  type: list
  elements: dict
failures:
  description: The items whose verdict fails, one sentence each.
  returned: always
  type: list
  elements: str
report:
  description: One line per item, C(<verdict> <kind> <name> (<aspect>) - <detail>), for a person to read.
  returned: always
  type: list
  elements: str
summary:
  description: Counts of verdicts.
  returned: always
  type: dict
"""

import json
import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import aws_pages, aws_read, retrying_client

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Listener policies that allow nothing older than TLS 1.2 (ELBSecurityPolicy-TLS13-1-2-*, -TLS13-1-3-*, -TLS-1-2-*,
# -FS-1-2-*); ELBSecurityPolicy-2016-08 and the like still accept TLS 1.0.
TLS12_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)(-|$)")
AWS_MANAGED_ALIAS = re.compile(r"(^|:)alias/aws/")


# ---------------------------------------------------------------------------------------------------------------
# Verdicts (pure)


def item(kind, name, aspect, verdict, detail):
    return {"kind": kind, "name": name, "aspect": aspect, "verdict": verdict, "detail": detail}


def key_verdict(key, customer_keys):
    """ok for a customer-managed key (a key the launch's account manages), aws-managed for none or an aws/ alias."""
    if not key or AWS_MANAGED_ALIAS.search(key):
        return "aws-managed"
    if customer_keys is not None and key not in customer_keys:
        return "aws-managed"
    return "ok"


def denies_plain_http(policy):
    """True when a bucket policy denies every request without TLS (Deny, aws:SecureTransport false) on the bucket."""
    if not policy:
        return False
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document.get("Statement", [])
    for s in statements if isinstance(statements, list) else [statements]:
        if s.get("Effect") != "Deny":
            continue
        condition = s.get("Condition", {}).get("Bool", {})
        value = next((v for k, v in condition.items() if k.lower() == "aws:securetransport"), None)
        actions = s.get("Action") if isinstance(s.get("Action"), list) else [s.get("Action")]
        if str(value).lower() == "false" and ("s3:*" in actions or "*" in actions):
            return True
    return False


def evaluate(observed, customer_keys):
    """Items with verdicts from what was read (``observed``: lists per kind). Pure."""
    out = []
    for db in observed["rds"]:
        name = db["DBInstanceIdentifier"]
        if not db.get("StorageEncrypted"):
            out.append(item("rds instance", name, "at rest", "fail", "storage is not encrypted"))
        else:
            key = db.get("KmsKeyId") or ""
            out.append(item("rds instance", name, "at rest", key_verdict(key, customer_keys), "encrypted with %s" % key))
        for group, force in db.get("force_ssl", {}).items():
            ok = str(force) == "1"
            out.append(item("rds parameter group", group, "in transit", "ok" if ok else "fail",
                            "rds.force_ssl=%s" % force if force is not None else "rds.force_ssl is not set (0)"))
    for rg in observed["redis"]:
        name = rg["ReplicationGroupId"]
        if rg.get("AtRestEncryptionEnabled"):
            key = rg.get("KmsKeyId") or ""
            out.append(item("replication group", name, "at rest", key_verdict(key, customer_keys),
                            "encrypted with %s" % (key or "the ElastiCache service key")))
        else:
            out.append(item("replication group", name, "at rest", "fail", "AtRestEncryptionEnabled is false"))
        transit = bool(rg.get("TransitEncryptionEnabled"))
        mode = rg.get("TransitEncryptionMode")
        ok = transit and mode in (None, "required")
        out.append(item("replication group", name, "in transit", "ok" if ok else "fail",
                        "TLS required" if ok else "TransitEncryptionEnabled=%s, mode %s" % (transit, mode)))
    for bucket in observed["buckets"]:
        name = bucket["name"]
        rules = bucket.get("encryption") or []
        default = (rules[0].get("ApplyServerSideEncryptionByDefault") if rules else None) or {}
        algorithm = default.get("SSEAlgorithm")
        if algorithm in ("aws:kms", "aws:kms:dsse"):
            key = default.get("KMSMasterKeyID") or ""
            out.append(item("bucket", name, "at rest", key_verdict(key, customer_keys),
                            "%s with %s" % (algorithm, key or "aws/s3")))
        elif algorithm == "AES256":
            out.append(item("bucket", name, "at rest", "aws-managed", "SSE-S3 (AES256, keys owned by S3)"))
        else:
            out.append(item("bucket", name, "at rest", "fail", "no default encryption"))
        ok = denies_plain_http(bucket.get("policy"))
        out.append(item("bucket", name, "in transit", "ok" if ok else "fail",
                        "policy denies aws:SecureTransport=false" if ok else "no policy statement denies plain HTTP"))
    for secret in observed["secrets"]:
        key = secret.get("KmsKeyId") or ""
        out.append(item("secret", secret["Name"], "at rest", key_verdict(key, customer_keys),
                        "encrypted with %s" % (key or "aws/secretsmanager")))
    for topic in observed["topics"]:
        key = topic.get("KmsMasterKeyId") or ""
        out.append(item("topic", topic["name"], "at rest", key_verdict(key, customer_keys) if key else "fail",
                        "encrypted with %s" % key if key else "no KmsMasterKeyId (server-side encryption off)"))
    for group in observed["log_groups"]:
        key = group.get("kmsKeyId") or ""
        out.append(item("log group", group["logGroupName"], "at rest", key_verdict(key, customer_keys),
                        "encrypted with %s" % key if key else "CloudWatch Logs' service-managed encryption"))
    for vault in observed["vaults"]:
        key = vault.get("EncryptionKeyArn") or ""
        out.append(item("backup vault", vault["BackupVaultName"], "at rest", key_verdict(key, customer_keys),
                        "encrypted with %s" % (key or "the AWS Backup key")))
    for listener in observed["listeners"]:
        name = "%s:%s" % (listener["lb"], listener["Port"])
        if listener["Protocol"] in ("HTTPS", "TLS"):
            policy = listener.get("SslPolicy") or ""
            ok = bool(TLS12_POLICY.match(policy))
            out.append(item("listener", name, "in transit", "ok" if ok else "fail",
                            "%s with %s%s" % (listener["Protocol"], policy, "" if ok else " (allows TLS < 1.2)")))
        else:
            actions = listener.get("DefaultActions") or []
            redirect = any(a.get("Type") == "redirect" and (a.get("RedirectConfig") or {}).get("Protocol") == "HTTPS"
                           for a in actions)
            out.append(item("listener", name, "in transit", "ok" if redirect else "fail",
                            "%s redirects to HTTPS" % listener["Protocol"] if redirect
                            else "%s serves without TLS" % listener["Protocol"]))
    return out


def failures(items, require_customer_key, exempt):
    out = []
    for i in items:
        failing = i["verdict"] == "fail" or (i["verdict"] == "aws-managed" and require_customer_key
                                             and i["name"] not in exempt)
        if failing:
            out.append("%s %s (%s): %s" % (i["kind"], i["name"], i["aspect"], i["detail"]))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Reading


def read_everything(module, c, name):
    observed = {}
    dbs = [d for d in aws_pages(module, c["rds"], "list RDS instances", "describe_db_instances", "DBInstances",
                                token="Marker") if d["DBInstanceIdentifier"].startswith(name + "-")]
    master_secrets = []
    for db in dbs:
        db["force_ssl"] = {}
        for group in db.get("DBParameterGroups") or []:
            group_name = group["DBParameterGroupName"]
            if group_name.startswith("default."):
                db["force_ssl"][group_name] = None  # a default group never sets rds.force_ssl=1 for PostgreSQL < 15
                continue
            params = aws_pages(module, c["rds"], "read parameter group %s" % group_name, "describe_db_parameters",
                               "Parameters", token="Marker", DBParameterGroupName=group_name)
            value = next((p.get("ParameterValue") for p in params if p["ParameterName"] == "rds.force_ssl"), None)
            db["force_ssl"][group_name] = value
        if (db.get("MasterUserSecret") or {}).get("SecretArn"):
            master_secrets.append(db["MasterUserSecret"]["SecretArn"])
    observed["rds"] = dbs
    observed["redis"] = [g for g in aws_pages(module, c["elasticache"], "list replication groups",
                                              "describe_replication_groups", "ReplicationGroups", token="Marker")
                         if g["ReplicationGroupId"].startswith(name + "-")]
    buckets = []
    # by name, as S3 lists them (moto lists them in creation order)
    for b in sorted(aws_read(module, c["s3"], "list buckets", "list_buckets").get("Buckets") or [],
                    key=lambda b: b["Name"]):
        if not b["Name"].startswith(name + "-"):
            continue
        enc = aws_read(module, c["s3"], "read the encryption of bucket %s" % b["Name"], "get_bucket_encryption",
                       missing=("ServerSideEncryptionConfigurationNotFoundError",), Bucket=b["Name"])
        pol = aws_read(module, c["s3"], "read the policy of bucket %s" % b["Name"], "get_bucket_policy",
                       missing=("NoSuchBucketPolicy",), Bucket=b["Name"])
        buckets.append({"name": b["Name"], "encryption": ((enc or {}).get("ServerSideEncryptionConfiguration") or {})
                        .get("Rules"), "policy": (pol or {}).get("Policy")})
    observed["buckets"] = buckets
    secrets = aws_pages(module, c["secretsmanager"], "list secrets", "list_secrets", "SecretList")
    observed["secrets"] = [s for s in secrets if s["Name"].startswith(name + "/") or s.get("ARN") in master_secrets]
    topics = []
    for t in aws_pages(module, c["sns"], "list topics", "list_topics", "Topics"):
        topic_name = t["TopicArn"].split(":")[-1]
        if topic_name.startswith(name + "-"):
            attributes = aws_read(module, c["sns"], "read topic %s" % topic_name, "get_topic_attributes",
                                  TopicArn=t["TopicArn"])["Attributes"]
            topics.append({"name": topic_name, "KmsMasterKeyId": attributes.get("KmsMasterKeyId")})
    observed["topics"] = topics
    groups = []
    for prefix in ("/%s/" % name, "aws-waf-logs-%s" % name, "/aws/cloudtrail/%s" % name):
        groups += aws_pages(module, c["logs"], "list log groups %s*" % prefix, "describe_log_groups", "logGroups",
                            token="nextToken", logGroupNamePrefix=prefix)
    observed["log_groups"] = groups
    observed["vaults"] = [v for v in aws_pages(module, c["backup"], "list backup vaults", "list_backup_vaults",
                                               "BackupVaultList") if v["BackupVaultName"].startswith(name + "-")]
    listeners = []
    for lb in aws_pages(module, c["elbv2"], "list load balancers", "describe_load_balancers", "LoadBalancers",
                        token="Marker", next_token="NextMarker"):
        if not lb["LoadBalancerName"].startswith(name + "-"):
            continue
        for listener in aws_pages(module, c["elbv2"], "list the listeners of %s" % lb["LoadBalancerName"],
                                  "describe_listeners", "Listeners", token="Marker", next_token="NextMarker",
                                  LoadBalancerArn=lb["LoadBalancerArn"]):
            listeners.append(dict(listener, lb=lb["LoadBalancerName"]))
    observed["listeners"] = listeners
    return observed


def key_region(ref, default):
    """The region a key reference names: an ARN's own (arn:<partition>:kms:<region>:...), else the report's."""
    parts = ref.split(":")
    return parts[3] if ref.startswith("arn:") and len(parts) > 5 and parts[2] == "kms" and parts[3] else default


def customer_managed_keys(module, kms, referenced):
    """The key references (ARNs, ids, aliases) among ``referenced`` that name a customer-managed key: each alias and
    key is described once, an ARN in its own region (the DR region's replica buckets and vault use the DR key)."""
    out = set()
    clients = {module.region: kms}
    for ref in sorted(set(r for r in referenced if r)):
        if AWS_MANAGED_ALIAS.search(ref):
            continue
        region = key_region(ref, module.region)
        if region not in clients:
            clients[region] = retrying_client(module, "kms", region=region)
        described = aws_read(module, clients[region], "describe key %s" % ref, "describe_key",
                             missing=("NotFoundException",), KeyId=ref)
        if described and described["KeyMetadata"].get("KeyManager") == "CUSTOMER":
            out.add(ref)
    return out


def referenced_keys(observed):
    keys = [d.get("KmsKeyId") for d in observed["rds"]] + [g.get("KmsKeyId") for g in observed["redis"]]
    for b in observed["buckets"]:
        rules = b.get("encryption") or []
        if rules:
            keys.append((rules[0].get("ApplyServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID"))
    keys += [s.get("KmsKeyId") for s in observed["secrets"]] + [t.get("KmsMasterKeyId") for t in observed["topics"]]
    keys += [g.get("kmsKeyId") for g in observed["log_groups"]] + [v.get("EncryptionKeyArn") for v in observed["vaults"]]
    return keys


def main():
    module = AnsibleAWSModule(argument_spec=dict(
        name=dict(type="str", required=True),
        require_customer_key=dict(type="bool", default=True),
        exempt=dict(type="list", elements="str", default=[]),
        report_only=dict(type="bool", default=False),
    ), supports_check_mode=True)
    p = module.params
    if not NAME.match(p["name"] or ""):
        module.fail_json(msg="encryption_report: name %r is not valid; accepted: 1-63 lower-case letters, digits or"
                         " hyphens, starting with a letter or digit (the launch's name prefix)" % p["name"])
    clients = dict((s, retrying_client(module, s)) for s in (
        "rds", "elasticache", "s3", "secretsmanager", "sns", "logs", "backup", "elbv2", "kms"))
    observed = read_everything(module, clients, p["name"])
    keys = customer_managed_keys(module, clients["kms"], referenced_keys(observed))
    items = evaluate(observed, keys)
    failed = failures(items, p["require_customer_key"], set(p["exempt"]))
    summary = {}
    for i in items:
        summary[i["verdict"]] = summary.get(i["verdict"], 0) + 1
    report = ["%s %s %s (%s) - %s" % (i["verdict"], i["kind"], i["name"], i["aspect"], i["detail"]) for i in items]
    result = dict(changed=False, items=items, failures=failed, summary=summary, report=report)
    if failed and not p["report_only"]:
        text = "; ".join(failed)
        module.fail_json(msg="encryption_report: %d item(s) not encrypted as required: %s" % (len(failed), text),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
