#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: s3_replication
short_description: Replicate S3 buckets to versioned, KMS-encrypted, TLS-only buckets in a DR region
version_added: 0.3.0
description:
  - For each pair of O(buckets), keeps the destination bucket in O(dr_region) - versioned, encrypted by default with
    O(dr_kms_key) (bucket key on), every public access blocked, a policy that refuses plain HTTP, ACLs disabled - and
    the source bucket's replication configuration (one rule, every object, KMS-encrypted objects included and
    re-encrypted with O(dr_kms_key), delete markers replicated as O(delete_marker_replication) says).
  - Keeps the replication role O(role_name) that S3 assumes, with one inline policy naming exactly the source and
    destination buckets, the source buckets' KMS keys (resolved to ARNs) and O(dr_kms_key), and nothing else.
  - Everything is read first (one invocation); a source bucket that is missing or not versioned, a destination that
    lives in another region, or a missing DR key refuses the whole change before any write.
  - O(dr_region) equal to O(region) is refused before any API call.
  - Objects that existed before replication was configured are not copied (S3 Batch Replication does that); see
    docs/backups.md.
author: DirectFanz platform team (@directfanz)
options:
  buckets:
    description: The buckets to replicate, in O(region).
    type: list
    elements: dict
    required: true
    suboptions:
      source:
        description: Name of the source bucket (must exist and be versioned).
        type: str
        required: true
      destination:
        description: Name of the destination bucket in O(dr_region), made when missing.
        type: str
        required: true
  dr_region:
    description: Region of the destination buckets; must differ from O(region).
    type: str
    required: true
  dr_kms_key:
    description: KMS key (id, ARN or C(alias/...)) in O(dr_region) that encrypts the replicas.
    type: str
    required: true
  role_name:
    description: Name of the IAM role S3 assumes to replicate.
    type: str
    required: true
  delete_marker_replication:
    description:
      - Replicate delete markers, so an object deleted at the source disappears from the replica's current view too
        (a take-down must not survive in the DR copy). Deletions of a given version are never replicated by S3, so
        every version stays recoverable in both regions.
    type: bool
    default: true
  tags:
    description: Tags on the destination buckets and the role (C(managed-by=directfanz.launch) is always added).
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads everything and returns the planned RV(actions); changes nothing.
  diff_mode:
    support: full
    description: Returns the destinations, the role's policy and the replication rules, before and after.
"""

EXAMPLES = r"""
- name: Replicate the content and static buckets to us-west-2
  directfanz.launch.s3_replication:
    buckets:
      - source: directfanz-content-123456789012
        destination: directfanz-content-123456789012-dr
      - source: directfanz-static-123456789012
        destination: directfanz-static-123456789012-dr
    dr_region: us-west-2
    dr_kms_key: alias/directfanz-dr
    role_name: directfanz-s3-replication
    tags:
      project: directfanz
"""

RETURN = r"""
role_arn:
  description: ARN of the replication role.
  returned: always
  type: str
destinations:
  description: Source bucket name to the ARN of its destination bucket.
  returned: always
  type: dict
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create bucket x-dr in us-west-2", "replicate x to x-dr"]
"""

# Why a module of our own: amazon.aws.s3_bucket has no check mode and no replication; community.aws has no
# replication module; and the role's policy can only name the keys exactly once the buckets have been read.

import json
import re
import time

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    AWS_ERRORS, Plan, apply, aws_call, aws_read, error_code, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
POLICY_NAME = "s3-replication"
PUBLIC_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True}
NO_BUCKET = ("NoSuchBucket", "404", "NotFound")


def input_problems(p, region):
    problems = []
    dr = p["dr_region"] or ""
    if not region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if not REGION.match(dr):
        problems.append("dr_region %r is not a region name; accepted: a region such as us-west-2" % dr)
    elif region and dr == region:
        problems.append("dr_region %s is the source region; accepted: another region (a replica in the same region"
                        " does not survive the loss of the region)" % dr)
    if not (p["dr_kms_key"] or "").strip():
        problems.append("dr_kms_key is empty; accepted: a KMS key id, ARN or alias/name in dr_region")
    if not ROLE_NAME.match(p["role_name"] or ""):
        problems.append("role_name %r is not valid; accepted: 1-64 letters, digits or +=,.@_-" % p["role_name"])
    if not p["buckets"]:
        problems.append("buckets is empty; accepted: at least one {source, destination}")
    names = []
    for index, pair in enumerate(p["buckets"] or []):
        for field in ("source", "destination"):
            name = pair.get(field) or ""
            if not BUCKET.match(name):
                problems.append("buckets[%d].%s %r is not a bucket name; accepted: 3-63 lower-case letters, digits,"
                                " '.' or '-'" % (index, field, name))
            names.append(name)
        if pair.get("source") == pair.get("destination"):
            problems.append("buckets[%d]: source and destination are both %s; accepted: two buckets"
                            % (index, pair.get("source")))
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        problems.append("buckets name %s more than once; accepted: each bucket once" % ", ".join(duplicates))
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Pure planning


def bucket_arn(ctx, name):
    return "arn:%s:s3:::%s" % (ctx["partition"], name)


def desired_tags(tags):
    return dict(dict((k, str(v)) for k, v in (tags or {}).items()), **dict([MANAGED_TAG]))


def tls_policy(ctx, name):
    arn = bucket_arn(ctx, name)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "RefusePlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, arn + "/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def trust_policy():
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def role_policy(p, ctx, source_keys):
    """The least privilege S3 needs to replicate these pairs: read the sources' versions, write the replicas, decrypt
    with exactly the sources' keys and encrypt with exactly the DR key, each only through S3 for these buckets (the
    encryption context is the object's ARN, or the bucket's when a bucket key is on)."""
    sources = [bucket_arn(ctx, b["source"]) for b in p["buckets"]]
    replicas = [bucket_arn(ctx, b["destination"]) for b in p["buckets"]]
    statements = [
        {"Sid": "SourceBuckets", "Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
         "Resource": sources},
        {"Sid": "SourceVersions", "Effect": "Allow",
         "Action": ["s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging"],
         "Resource": [s + "/*" for s in sources]},
        {"Sid": "WriteReplicas", "Effect": "Allow",
         "Action": ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"],
         "Resource": [r + "/*" for r in replicas]},
    ]
    if source_keys:
        statements.append({"Sid": "DecryptSources", "Effect": "Allow", "Action": ["kms:Decrypt"],
                           "Resource": sorted(set(source_keys)),
                           "Condition": {"StringEquals": {"kms:ViaService": "s3.%s.amazonaws.com" % ctx["region"]},
                                         "StringLike": {"kms:EncryptionContext:aws:s3:arn": sorted(
                                             sources + [s + "/*" for s in sources])}}})
    statements.append({"Sid": "EncryptReplicas", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                       "Resource": [ctx["dr_key_arn"]],
                       "Condition": {"StringEquals": {"kms:ViaService": "s3.%s.amazonaws.com" % ctx["dr_region"]},
                                     "StringLike": {"kms:EncryptionContext:aws:s3:arn": sorted(
                                         replicas + [r + "/*" for r in replicas])}}})
    return {"Version": "2012-10-17", "Statement": statements}


def canonical(document):
    """A policy as comparable data: JSON text parsed, single values as one-item lists, lists sorted."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return document
    if isinstance(document, dict):
        return dict((k, canonical(v)) for k, v in document.items())
    if isinstance(document, list):
        items = [canonical(v) for v in document]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return document


def same_policy(a, b):
    def lists(value):
        if isinstance(value, dict):
            return dict((k, lists(v)) for k, v in value.items())
        if isinstance(value, list):
            return [lists(v) for v in value]
        return value

    def widen(value):
        # "Action": "s3:*" and "Action": ["s3:*"] say the same
        if isinstance(value, dict):
            return dict((k, widen(v) if k not in ("Action", "Resource") or isinstance(v, list) else [v])
                        for k, v in value.items())
        if isinstance(value, list):
            return [widen(v) for v in value]
        return value

    return canonical(widen(lists(canonical(a)))) == canonical(widen(lists(canonical(b))))


def replication_rule(p, ctx, pair):
    return {"ID": "dr-%s" % pair["destination"], "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Enabled" if p["delete_marker_replication"] else "Disabled"},
            "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
            "Destination": {"Bucket": bucket_arn(ctx, pair["destination"]),
                            "EncryptionConfiguration": {"ReplicaKmsKeyID": ctx["dr_key_arn"]}}}


def rule_view(rule):
    """The parts of a replication rule we set, as S3 may answer them (an empty prefix filter as {} or {Prefix: ''})."""
    flt = rule.get("Filter") or {}
    return {"ID": rule.get("ID"), "Priority": rule.get("Priority"), "Status": rule.get("Status"),
            "Prefix": flt.get("Prefix", "") if set(flt) <= set(["Prefix"]) else json.dumps(flt, sort_keys=True),
            "DeleteMarkerReplication": (rule.get("DeleteMarkerReplication") or {}).get("Status", "Disabled"),
            "SseKmsEncryptedObjects": ((rule.get("SourceSelectionCriteria") or {}).get("SseKmsEncryptedObjects") or {}
                                       ).get("Status", "Disabled"),
            "Bucket": (rule.get("Destination") or {}).get("Bucket"),
            "ReplicaKmsKeyID": ((rule.get("Destination") or {}).get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID")}


UNREPORTED = ("DeleteMarkerReplication", "SseKmsEncryptedObjects")


def drops_fields(rule):
    """True when a rule read back cannot be what S3 stored: the one place a gap of the endpoint is tolerated.

    S3 refuses a rule with a ReplicaKmsKeyID unless SourceSelectionCriteria.SseKmsEncryptedObjects is Enabled, so AWS
    never answers such a rule without SourceSelectionCriteria. moto 5 does: its GetBucketReplication drops
    SourceSelectionCriteria and answers DeleteMarkerReplication "Disabled" whatever was put. Those two fields are then
    not compared (a warning says they were not verified), instead of being rewritten on every run."""
    destination = rule.get("Destination") or {}
    return bool((destination.get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID")) and \
        "SourceSelectionCriteria" not in rule


def replication_differences(existing, wanted, warnings=None):
    if existing is None:
        return ["none yet"]
    out = []
    if existing.get("Role") != wanted["Role"]:
        out.append("role %s -> %s" % (existing.get("Role"), wanted["Role"]))
    before = [rule_view(r) for r in existing.get("Rules") or []]
    after = [rule_view(r) for r in wanted["Rules"]]
    if any(drops_fields(r) for r in existing.get("Rules") or []):
        if warnings is not None:
            warnings.append("replication rule %s: the endpoint does not report %s (moto drops them on"
                            " GetBucketReplication), so they were not verified" % (after[0]["ID"], " and ".join(UNREPORTED)))
        for view in before + after:
            for field in UNREPORTED:
                view.pop(field, None)
    if before != after:
        out.append("rules %s -> %s" % (", ".join(r["ID"] or "?" for r in before) or "none",
                                       ", ".join(r["ID"] for r in after)))
        if len(before) == 1 and before[0]["ID"] == after[0]["ID"]:
            out[-1] = ", ".join("%s %s -> %s" % (k, before[0][k], after[0][k]) for k in after[0]
                                if before[0][k] != after[0][k])
    return out


def source_key_arn(source):
    """The KMS key ARN a source bucket encrypts with by default, or None (SSE-S3 / no default)."""
    for rule in (source.get("Encryption") or {}).get("Rules") or []:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse"):
            return source.get("KeyArn")
    return None


def plan_replication(p, observed, ctx):
    """``observed``: ``dr_key`` (KeyMetadata or None), ``sources``/``destinations`` (name -> bucket facts or None:
    Region, Versioning, Encryption, KeyArn (sources), PublicAccessBlock, Policy, Tags, Replication (sources)),
    ``role`` (GetRole's Role + Policy, or None)."""
    plan = Plan()
    if observed["dr_key"] is None:
        plan.problems.append("dr_kms_key %s was not found in %s; accepted: an existing symmetric key of that region"
                             % (p["dr_kms_key"], ctx["dr_region"]))
    elif observed["dr_key"].get("KeyState", "Enabled") != "Enabled":
        plan.problems.append("dr_kms_key %s is %s; accepted: an enabled key"
                             % (ctx["dr_key_arn"], observed["dr_key"]["KeyState"]))
    elif observed["dr_key"].get("Placeholder"):
        plan.warnings.append("dr_kms_key %s does not exist yet in %s (check mode: an earlier task makes it)"
                             % (p["dr_kms_key"], ctx["dr_region"]))
    source_keys = []
    for pair in p["buckets"]:
        source = observed["sources"].get(pair["source"])
        if source is None:
            plan.problems.append("source bucket %s does not exist; run the phase that makes it first" % pair["source"])
            continue
        if source.get("Placeholder"):
            plan.warnings.append("source bucket %s does not exist yet (check mode: an earlier task makes it)"
                                 % pair["source"])
            continue
        if source["Region"] != ctx["region"]:
            plan.problems.append("source bucket %s is in %s, not %s; accepted: buckets of the module's region"
                                 % (pair["source"], source["Region"], ctx["region"]))
        if source.get("Versioning") != "Enabled":
            plan.problems.append("source bucket %s is not versioned (%s); S3 replicates only versioned buckets"
                                 % (pair["source"], source.get("Versioning") or "never enabled"))
        key = source_key_arn(source)
        if key:
            source_keys.append(key)
        destination = observed["destinations"].get(pair["destination"])
        if destination is not None and destination.get("Region") != ctx["dr_region"]:
            plan.problems.append("destination bucket %s exists in %s, not %s; accepted: a bucket in dr_region (or a"
                                 " new name)" % (pair["destination"], destination.get("Region"), ctx["dr_region"]))
    if plan.problems:
        return plan

    tags = desired_tags(p["tags"])
    dr_key = ctx["dr_key_arn"]
    for pair in p["buckets"]:
        name = pair["destination"]
        have = observed["destinations"].get(name)
        if have is None:
            create = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced"}
            if ctx["dr_region"] != "us-east-1":
                create["CreateBucketConfiguration"] = {"LocationConstraint": ctx["dr_region"]}
            plan.call("s3_dr", "create_bucket", ["create bucket %s in %s" % (name, ctx["dr_region"])],
                      "create bucket %s in %s" % (name, ctx["dr_region"]), **create)
            have = {}
        if have.get("Versioning") != "Enabled":
            plan.call("s3_dr", "put_bucket_versioning", ["turn on versioning of %s" % name],
                      "turn on versioning of bucket %s" % name, Bucket=name,
                      VersioningConfiguration={"Status": "Enabled"})
        wanted_encryption = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                               "KMSMasterKeyID": dr_key},
                                        "BucketKeyEnabled": True}]}
        rules = (have.get("Encryption") or {}).get("Rules") or [{}]
        default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
        if (default.get("SSEAlgorithm") != "aws:kms" or have.get("KeyArn") != dr_key
                or not rules[0].get("BucketKeyEnabled")):
            plan.call("s3_dr", "put_bucket_encryption", ["encrypt %s by default with %s" % (name, dr_key)],
                      "set the default encryption of bucket %s" % name, Bucket=name,
                      ServerSideEncryptionConfiguration=wanted_encryption)
        if have.get("PublicAccessBlock") != PUBLIC_BLOCK:
            plan.call("s3_dr", "put_public_access_block", ["block public access to %s" % name],
                      "block public access to bucket %s" % name, Bucket=name,
                      PublicAccessBlockConfiguration=dict(PUBLIC_BLOCK))
        policy = tls_policy(ctx, name)
        if not have.get("Policy") or not same_policy(have["Policy"], policy):
            plan.call("s3_dr", "put_bucket_policy", ["refuse plain HTTP to %s (bucket policy)" % name],
                      "set the policy of bucket %s" % name, Bucket=name, Policy=json.dumps(policy))
        current = have.get("Tags") or {}
        if any(current.get(k) != v for k, v in tags.items()):
            merged = dict(current, **tags)
            plan.call("s3_dr", "put_bucket_tagging", ["tag bucket %s (%s)" % (name, ", ".join(sorted(
                k for k in tags if current.get(k) != tags[k])))], "tag bucket %s" % name, Bucket=name,
                Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(merged.items())]})

    role = observed["role"]
    policy = role_policy(p, ctx, source_keys)
    if role is None:
        plan.call("iam", "create_role", ["create role %s (trusted by s3.amazonaws.com)" % p["role_name"]],
                  "create role %s" % p["role_name"], RoleName=p["role_name"],
                  AssumeRolePolicyDocument=json.dumps(trust_policy()),
                  Description="S3 replication to %s (directfanz.launch)" % ctx["dr_region"],
                  Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
        role = {}
    elif not same_policy(role.get("AssumeRolePolicyDocument"), trust_policy()):
        plan.call("iam", "update_assume_role_policy", ["trust only s3.amazonaws.com with role %s" % p["role_name"]],
                  "update the trust policy of role %s" % p["role_name"], RoleName=p["role_name"],
                  PolicyDocument=json.dumps(trust_policy()))
    if not role.get("Policy") or not same_policy(role["Policy"], policy):
        plan.call("iam", "put_role_policy", ["%s the replication policy of role %s" % (
            "update" if role.get("Policy") else "write", p["role_name"])],
            "write policy %s of role %s" % (POLICY_NAME, p["role_name"]), RoleName=p["role_name"],
            PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))

    for pair in p["buckets"]:
        wanted = {"Role": ctx["role_arn"], "Rules": [replication_rule(p, ctx, pair)]}
        existing = observed["sources"][pair["source"]].get("Replication")
        differences = replication_differences(existing, wanted, plan.warnings)
        if differences:
            text = "replicate %s to %s (%s)" % (pair["source"], pair["destination"], "; ".join(differences))
            plan.add("put_replication", [text],
                     Bucket=pair["source"], ReplicationConfiguration=wanted)
    return plan


def state_view(p, observed):
    out = {}
    for pair in p["buckets"]:
        dest = observed["destinations"].get(pair["destination"])
        source = observed["sources"].get(pair["source"]) or {}
        entry = {}
        if dest is not None:
            entry["destination"] = {"name": pair["destination"], "versioning": dest.get("Versioning"),
                                    "key": dest.get("KeyArn"), "public_access_block": dest.get("PublicAccessBlock")}
        if source.get("Replication"):
            entry["replication"] = [rule_view(r) for r in source["Replication"].get("Rules") or []]
        if entry:
            out[pair["source"]] = entry
    if observed["role"] is not None:
        out["role"] = {"name": p["role_name"], "policy": json.dumps(canonical(observed["role"].get("Policy")),
                                                                    sort_keys=True)}
    return out


def planned_view(p, observed, ctx):
    source_keys = [source_key_arn(observed["sources"][b["source"]]) for b in p["buckets"]
                   if observed["sources"].get(b["source"])]
    out = {}
    for pair in p["buckets"]:
        out[pair["source"]] = {
            "destination": {"name": pair["destination"], "versioning": "Enabled", "key": ctx["dr_key_arn"],
                            "public_access_block": dict(PUBLIC_BLOCK)},
            "replication": [rule_view(replication_rule(p, ctx, pair))]}
    policy = role_policy(p, ctx, [k for k in source_keys if k])
    out["role"] = {"name": p["role_name"], "policy": json.dumps(canonical(policy), sort_keys=True)}
    return out


# ---------------------------------------------------------------------------------------------------------------
# Reading


def _optional(module, client, what, method, missing, key=None, **kwargs):
    answer = aws_read(module, client, what, method, missing=missing, **kwargs)
    if answer is None:
        return None
    return answer.get(key) if key else answer


def read_bucket(module, s3, kms, name, source):
    """Facts of one bucket, or None when it does not exist. A bucket of another account is a failure."""
    try:
        location = s3.get_bucket_location(Bucket=name, aws_retry=True)
    except botocore.exceptions.ClientError as e:
        if error_code(e) in NO_BUCKET:
            return None
        module.fail_json_aws(e, msg="Could not read the region of bucket %s (a bucket of another account?)" % name)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg="Could not read the region of bucket %s" % name)
    facts = {"Region": location.get("LocationConstraint") or "us-east-1"}
    if facts["Region"] == "EU":
        facts["Region"] = "eu-west-1"
    regional = s3
    facts["Versioning"] = aws_call(module, regional, "read the versioning of bucket %s" % name, "get_bucket_versioning",
                                   Bucket=name).get("Status")
    facts["Encryption"] = _optional(module, regional, "read the encryption of bucket %s" % name, "get_bucket_encryption",
                                    ("ServerSideEncryptionConfigurationNotFoundError",),
                                    key="ServerSideEncryptionConfiguration", Bucket=name)
    key_id = None
    for rule in (facts["Encryption"] or {}).get("Rules") or []:
        key_id = (rule.get("ApplyServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID") or key_id
    facts["KeyArn"] = None
    if key_id:
        # the bucket may name its key by alias or id; IAM policies and comparisons need the ARN
        found = aws_read(module, kms, "describe KMS key %s of bucket %s" % (key_id, name), "describe_key",
                         missing=("NotFoundException",), KeyId=key_id)
        facts["KeyArn"] = found["KeyMetadata"]["Arn"] if found else key_id
    if source:
        facts["Replication"] = _optional(module, regional, "read the replication of bucket %s" % name,
                                         "get_bucket_replication", ("ReplicationConfigurationNotFoundError",),
                                         key="ReplicationConfiguration", Bucket=name)
        return facts
    facts["PublicAccessBlock"] = _optional(module, regional, "read the public access block of bucket %s" % name,
                                           "get_public_access_block", ("NoSuchPublicAccessBlockConfiguration",),
                                           key="PublicAccessBlockConfiguration", Bucket=name)
    facts["Policy"] = _optional(module, regional, "read the policy of bucket %s" % name, "get_bucket_policy",
                                ("NoSuchBucketPolicy",), key="Policy", Bucket=name)
    tagging = _optional(module, regional, "read the tags of bucket %s" % name, "get_bucket_tagging", ("NoSuchTagSet",),
                        key="TagSet", Bucket=name)
    facts["Tags"] = dict((t["Key"], t["Value"]) for t in tagging or [])
    return facts


def read_role(module, iam, name):
    role = _optional(module, iam, "read role %s" % name, "get_role", ("NoSuchEntity",), key="Role", RoleName=name)
    if role is None:
        return None
    role["Policy"] = _optional(module, iam, "read policy %s of role %s" % (POLICY_NAME, name), "get_role_policy",
                               ("NoSuchEntity",), key="PolicyDocument", RoleName=name, PolicyName=POLICY_NAME)
    return role


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            buckets=dict(type="list", elements="dict", required=True, options=dict(
                source=dict(type="str", required=True),
                destination=dict(type="str", required=True),
            )),
            dr_region=dict(type="str", required=True),
            dr_kms_key=dict(type="str", required=True, no_log=False),
            role_name=dict(type="str", required=True),
            delete_marker_replication=dict(type="bool", default=True),
            tags=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p, module.region)
    if problems:
        module.fail_json(msg="s3_replication refused the input: %s" % "; ".join(problems), problems=problems)

    region, dr_region = module.region, p["dr_region"]
    clients = {"sts": retrying_client(module, "sts"), "iam": retrying_client(module, "iam"),
               "s3": retrying_client(module, "s3"), "s3_dr": retrying_client(module, "s3", region=dr_region),
               "kms": retrying_client(module, "kms"), "kms_dr": retrying_client(module, "kms", region=dr_region)}
    identity = aws_call(module, clients["sts"], "read the account id with STS GetCallerIdentity", "get_caller_identity")
    partition = identity["Arn"].split(":")[1]

    dr_key = aws_read(module, clients["kms_dr"], "describe KMS key %s in %s" % (p["dr_kms_key"], dr_region),
                      "describe_key", missing=("NotFoundException",), KeyId=p["dr_kms_key"])
    dr_key = dr_key["KeyMetadata"] if dr_key else None
    if dr_key is None and module.check_mode:
        dr_key = {"Arn": "(key %s in %s)" % (p["dr_kms_key"], dr_region), "Placeholder": True}
    observed = {"dr_key": dr_key, "sources": {}, "destinations": {},
                "role": read_role(module, clients["iam"], p["role_name"])}
    for pair in p["buckets"]:
        source = read_bucket(module, clients["s3"], clients["kms"], pair["source"], True)
        if source is None and module.check_mode:
            source = {"Placeholder": True}
        observed["sources"][pair["source"]] = source
        observed["destinations"][pair["destination"]] = read_bucket(module, clients["s3_dr"], clients["kms_dr"],
                                                                    pair["destination"], False)
    ctx = {"partition": partition, "account": identity["Account"], "region": region, "dr_region": dr_region,
           "dr_key_arn": dr_key["Arn"] if dr_key else p["dr_kms_key"],
           "role_arn": "arn:%s:iam::%s:role/%s" % (partition, identity["Account"], p["role_name"])}
    if any((s or {}).get("Placeholder") for s in observed["sources"].values()):
        # in check mode a source that is only planned: drop it from the pairs we plan for, the warning names it
        planned = [b for b in p["buckets"] if not observed["sources"][b["source"]].get("Placeholder")]
        plan = plan_replication(dict(p, buckets=planned), observed, ctx)
        for pair in p["buckets"]:
            if pair not in planned:
                plan.warnings.append("source bucket %s does not exist yet (check mode: an earlier task makes it);"
                                     " its replication to %s was not planned" % (pair["source"], pair["destination"]))
    else:
        plan = plan_replication(p, observed, ctx)
    refuse(module, "s3_replication", plan)
    diff = None
    if module._diff:
        diff = {"before": state_view(p, observed), "after": planned_view(p, observed, ctx)}

    role_is_new = any(step["op"] == "create_role" for step in plan.steps)

    def put_replication(step, real):
        # A role made seconds ago may not be visible to S3 yet (IAM is eventually consistent): S3 answers
        # InvalidRequest / AccessDenied about the role. Only then, and only for a new role, wait and try again.
        attempts = 8 if role_is_new else 1
        for attempt in range(attempts):
            try:
                return clients["s3"].put_bucket_replication(aws_retry=True, Bucket=step["Bucket"],
                                                            ReplicationConfiguration=step["ReplicationConfiguration"])
            except botocore.exceptions.ClientError as e:
                if attempt + 1 < attempts and error_code(e) in ("InvalidRequest", "AccessDenied"):
                    time.sleep(5)
                    continue
                module.fail_json_aws(e, msg="Could not set the replication of bucket %s" % step["Bucket"])
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg="Could not set the replication of bucket %s" % step["Bucket"])

    apply(module, plan, clients, handlers={"put_replication": put_replication})
    finish(module, plan, diff, role_arn=ctx["role_arn"],
           destinations=dict((b["source"], "arn:%s:s3:::%s" % (partition, b["destination"])) for b in p["buckets"]))


if __name__ == "__main__":
    main()
