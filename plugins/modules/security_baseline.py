#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: security_baseline
short_description: The account's audit and threat-detection baseline - CloudTrail, GuardDuty, EBS, Access Analyzer
version_added: 0.3.0
description:
  - Keeps, in one call and one region, the security baseline of the launch's account.
  - With O(trail=true) (the home region only - the trail is multi-region), a CloudTrail trail that logs the management
    events of every region (read and write, selected explicitly), validates its log files (digest files), encrypts
    them with a customer-managed key of its own (rotation on) and delivers them to a log bucket of its own - public
    access blocked, owner-enforced object ownership, default encryption with the same key, versioning, a lifecycle
    rule, and a policy that is CloudTrail's documented one (conditioned on C(aws:SourceArn)) plus a deny of plain
    HTTP - and to a CloudWatch Logs group (retention, the same key) through a role CloudTrail assumes that may only
    C(logs:CreateLogStream) and C(logs:PutLogEvents) on that group. Logging is started.
  - A GuardDuty detector, enabled, with the protections that apply to what the launch runs (S3 data events, RDS login
    events, runtime monitoring with the agent managed for ECS Fargate).
  - EBS encryption by default (and optionally the default key), and an account-level IAM Access Analyzer.
  - Compares only what it sets, after normalising (policies as parsed JSON with single values as lists), so a second
    run with the same input makes no write call. Tags are set when a resource is created.
  - Against a loopback endpoint (the sandbox's moto), the reads moto does not implement (C(GetEbsDefaultKmsKeyId),
    IAM Access Analyzer) are tolerated with a warning and listed in RV(unverified); what they cover is then neither
    compared nor written. Against AWS every failed read fails the module.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description:
      - The launch's name, the prefix of every name this module derives (C(<name>-trail), C(alias/<name>-cloudtrail),
        C(<name>-cloudtrail-<account>), C(/aws/cloudtrail/<name>), C(<name>-cloudtrail-logs), C(<name>-account)).
      - 1-38 lower-case letters, digits or hyphens, starting with a letter or digit (it becomes part of a bucket name).
    type: str
    required: true
  trail:
    description:
      - Keep the CloudTrail trail and what it needs. Give C(true) in the home region only; a multi-region trail
        already records every other region.
    type: bool
    default: true
  trail_name:
    description: The trail's name (default C(<name>-trail)); 3-128 letters, digits, periods, underscores or hyphens.
    type: str
  trail_bucket:
    description: The log bucket's name (default C(<name>-cloudtrail-<account>)).
    type: str
  trail_key_alias:
    description:
      - Alias of the trail's own customer-managed key (default C(alias/<name>-cloudtrail)). It is not the launch's data
        key, so that who may read the audit trail and who may read the customers' data stay separate.
    type: str
  trail_log_group:
    description: The CloudWatch Logs group the trail delivers to (default C(/aws/cloudtrail/<name>)).
    type: str
  trail_log_retention_days:
    description:
      - Days the CloudWatch Logs copy is kept, one of the values CloudWatch Logs accepts. The copy is for searching
        and metric filters; the bucket holds the record.
    type: int
    default: 90
  trail_bucket_transition_days:
    description: Days after which log files move to S3 Glacier Instant Retrieval (still readable in milliseconds).
    type: int
    default: 90
  trail_bucket_expiration_days:
    description: Days after which log files are deleted (more than O(trail_bucket_transition_days)).
    type: int
    default: 400
  guardduty:
    description: Keep a GuardDuty detector enabled in the region.
    type: bool
    default: true
  guardduty_features:
    description:
      - The detector's protections, each enabled. C(RUNTIME_MONITORING) also enables its ECS Fargate agent
        management (C(ECS_FARGATE_AGENT_MANAGEMENT)). Protections not listed are left as they are.
      - 'Accepted: C(S3_DATA_EVENTS), C(RDS_LOGIN_EVENTS), C(RUNTIME_MONITORING), C(EBS_MALWARE_PROTECTION),
        C(LAMBDA_NETWORK_LOGS), C(EKS_AUDIT_LOGS).'
    type: list
    elements: str
    default: [S3_DATA_EVENTS, RDS_LOGIN_EVENTS, RUNTIME_MONITORING]
  guardduty_finding_frequency:
    description: How often updated findings are published (C(FIFTEEN_MINUTES), C(ONE_HOUR) or C(SIX_HOURS)).
    type: str
    default: FIFTEEN_MINUTES
  ebs_encryption:
    description: Keep EBS encryption by default on in the region.
    type: bool
    default: true
  ebs_default_kms_key:
    description:
      - The default key of new EBS volumes (an alias C(alias/...), a key id or ARN). Empty leaves the default as it is
        (AWS's managed C(aws/ebs) key on an account that never changed it).
    type: str
    default: ""
  access_analyzer:
    description:
      - Keep an account-level IAM Access Analyzer in the region. An active account analyzer of another name counts
        as present (AWS allows one per account and region).
    type: bool
    default: true
  access_analyzer_name:
    description: Name of the analyzer created when there is none (default C(<name>-account)).
    type: str
  tags:
    description: Tags set on what this module creates (C(managed-by=directfanz.launch) is always added).
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads everything and returns the planned RV(actions), C(changed) and the policies it would write;
      changes nothing.
  diff_mode:
    support: full
    description: Returns the trail, its key, bucket, log group and role, the detector, EBS defaults and the analyzer,
      before and after.
"""

EXAMPLES = r"""
- name: Keep the security baseline of the home region (trail included)
  directfanz.launch.security_baseline:
    name: directfanz
    region: us-east-1
    tags:
      project: directfanz
  register: baseline

- name: Keep GuardDuty, EBS encryption and Access Analyzer in another region
  directfanz.launch.security_baseline:
    name: directfanz
    region: eu-west-1
    trail: false
"""

RETURN = r"""
trail_arn:
  description: ARN of the trail (computed in check mode); empty with O(trail=false).
  returned: always
  type: str
  sample: arn:aws:cloudtrail:us-east-1:123456789012:trail/directfanz-trail
key_arn:
  description: ARN of the trail's key (a placeholder in check mode before it exists); empty with O(trail=false).
  returned: always
  type: str
bucket:
  description: Name of the log bucket; empty with O(trail=false).
  returned: always
  type: str
log_group_arn:
  description: ARN of the trail's CloudWatch Logs group; empty with O(trail=false).
  returned: always
  type: str
role_arn:
  description: ARN of the role CloudTrail assumes to deliver to the log group; empty with O(trail=false).
  returned: always
  type: str
detector_id:
  description: The GuardDuty detector's id (a placeholder in check mode before it exists); empty with O(guardduty=false).
  returned: always
  type: str
analyzer:
  description: Name of the account analyzer kept (or found); empty when not kept or not readable.
  returned: always
  type: str
policies:
  description:
    - The policy documents this module writes (key policy, bucket policy, the role's trust and inline policies), each
      C({name, kind, document}), so a linter can check them (the role does, with a check-mode run, before the real one).
  returned: always
  type: list
  elements: dict
unverified:
  description: What could not be read (moto gaps, loopback endpoints only) and was therefore neither compared nor changed.
  returned: always
  type: list
  elements: str
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create key alias/directfanz-cloudtrail", "create trail directfanz-trail",
           "start logging of trail directfanz-trail"]
"""

# Why a module of our own: amazon.aws.cloudtrail (10.x) does not select event types (no PutEventSelectors: moto and a
# fresh API-made trail then answer no selectors at all), leaves the bucket, its policy and the key to other tasks, and
# neither amazon.aws nor community.aws has a GuardDuty, EBS-default-encryption or Access Analyzer module. The bucket
# is written here rather than with amazon.aws.s3_bucket because that module has no check mode.

import json
import os
import re

try:
    import botocore
    from botocore.parsers import ResponseParserError
except ImportError:
    ResponseParserError = None  # AnsibleAWSModule reports a missing botocore

try:
    from urllib.parse import urlparse
except ImportError:  # pragma: no cover
    from urlparse import urlparse

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.kms_policy import admin_statement
from ansible_collections.directfanz.launch.plugins.module_utils.policy_views import lifecycle_view, normalise_policy
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, error_code, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")
RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
                  3653]
FEATURES = ["S3_DATA_EVENTS", "RDS_LOGIN_EVENTS", "RUNTIME_MONITORING", "EBS_MALWARE_PROTECTION", "LAMBDA_NETWORK_LOGS",
            "EKS_AUDIT_LOGS"]
# The extra configuration a feature gets: runtime monitoring's agent managed for what the launch runs (ECS Fargate).
FEATURE_EXTRAS = {"RUNTIME_MONITORING": ["ECS_FARGATE_AGENT_MANAGEMENT"]}
FREQUENCIES = ["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"]
LIFECYCLE_RULE = "cloudtrail-logs"
# Management events of every kind, nothing excluded (KMS and RDS Data API events included).
EVENT_SELECTORS = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                    "ExcludeManagementEventSources": []}]
# Key administration for the account is module_utils/kms_policy.py's admin_statement (by name instead of kms:*) - no
# use of the key: only CloudTrail encrypts with it, CloudWatch Logs for the one group, and the account's principals
# decrypt CloudTrail's log files.
# What CloudWatch Logs does with the key for the trail's group (AWS's documented kms:Encrypt*, Decrypt*, ReEncrypt*,
# GenerateDataKey*, by name; kms:Describe* is left out: it carries no encryption context, so under the group's
# encryption-context condition it would never be granted anyway).
LOGS_KEY_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom", "kms:ReEncryptTo"]

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,37}$")
TRAIL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,126})[A-Za-z0-9]$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ALIAS = re.compile(r"^alias/[A-Za-z0-9/_-]{1,250}$")
LOG_GROUP = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
KEY_REF = re.compile(r"^(alias/[A-Za-z0-9/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
                     r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+|mrk-[0-9a-f]{32})$")
ANALYZER = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,254}$")


# ---------------------------------------------------------------------------------------------------------------
# Input checks (before any API call)


def input_problems(p):
    """Everything wrong with the parameters, each saying what is accepted; [] when all is well."""
    problems = []
    name = p.get("name") or ""
    if not NAME.match(name):
        problems.append("name %r is not valid; accepted: 1-38 lower-case letters, digits or hyphens, starting with a"
                        " letter or digit (it becomes part of the log bucket's name)" % name)
    trail_name = p.get("trail_name")
    if trail_name is not None and (not TRAIL_NAME.match(trail_name) or re.search(r"[._-]{2}", trail_name)):
        problems.append("trail_name %r is not valid; accepted: 3-128 letters, digits, '.', '_' or '-', starting and"
                        " ending with a letter or digit, no two of '._-' in a row" % trail_name)
    bucket = p.get("trail_bucket")
    if bucket is not None and (not BUCKET.match(bucket) or ".." in bucket):
        problems.append("trail_bucket %r is not a valid bucket name; accepted: 3-63 lower-case letters, digits, '.' or"
                        " '-', starting and ending with a letter or digit" % bucket)
    alias = p.get("trail_key_alias")
    if alias is not None and (not ALIAS.match(alias) or alias.startswith("alias/aws/")):
        problems.append("trail_key_alias %r is not valid; accepted: alias/ followed by letters, digits, '/', '_' or"
                        " '-' (not alias/aws/..., which AWS reserves)" % alias)
    group = p.get("trail_log_group")
    if group is not None and not LOG_GROUP.match(group):
        problems.append("trail_log_group %r is not valid; accepted: 1-512 letters, digits, '.', '-', '_', '/' or '#'"
                        % group)
    if p.get("trail_log_retention_days") not in RETENTION_DAYS:
        problems.append("trail_log_retention_days %r is not accepted; accepted: one of %s"
                        % (p.get("trail_log_retention_days"), ", ".join(str(d) for d in RETENTION_DAYS)))
    transition, expiration = p.get("trail_bucket_transition_days"), p.get("trail_bucket_expiration_days")
    if not isinstance(transition, int) or transition < 1:
        problems.append("trail_bucket_transition_days %r is not accepted; accepted: 1 or more" % (transition,))
    elif not isinstance(expiration, int) or expiration <= transition:
        problems.append("trail_bucket_expiration_days %r is not accepted; accepted: more than"
                        " trail_bucket_transition_days (%d)" % (expiration, transition))
    unknown = [f for f in p.get("guardduty_features") or [] if f not in FEATURES]
    if unknown:
        problems.append("guardduty_features %s not accepted; accepted: %s"
                        % (", ".join(map(str, unknown)), ", ".join(FEATURES)))
    if len(set(p.get("guardduty_features") or [])) != len(p.get("guardduty_features") or []):
        problems.append("guardduty_features lists a protection twice; accepted: each once")
    if p.get("guardduty_finding_frequency") not in FREQUENCIES:
        problems.append("guardduty_finding_frequency %r is not accepted; accepted: %s"
                        % (p.get("guardduty_finding_frequency"), ", ".join(FREQUENCIES)))
    key = p.get("ebs_default_kms_key") or ""
    if key and (not KEY_REF.match(key) or key.startswith("alias/aws/")):
        problems.append("ebs_default_kms_key %r is not accepted; accepted: empty (keep the default), alias/<name>, a"
                        " key id or a key ARN" % key)
    analyzer = p.get("access_analyzer_name")
    if analyzer is not None and not ANALYZER.match(analyzer):
        problems.append("access_analyzer_name %r is not valid; accepted: 1-255 letters, digits, '.', '_' or '-',"
                        " starting with a letter" % analyzer)
    for tag, value in (p.get("tags") or {}).items():
        if not 1 <= len(str(tag)) <= 128 or str(tag).lower().startswith("aws:"):
            problems.append("tag key %r is not valid; accepted: 1-128 characters, not starting with 'aws:'" % (tag,))
        if value is None or len(str(value)) > 256:
            problems.append("tag %r has value %r; accepted: a string of at most 256 characters" % (tag, value))
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Names and the documents we write (pure)


def names(p, account, region, partition="aws"):
    """Every name and ARN the module manages, derived from the launch's name unless given."""
    n = p["name"]
    out = {
        "trail": p.get("trail_name") or "%s-trail" % n,
        "bucket": p.get("trail_bucket") or "%s-cloudtrail-%s" % (n, account),
        "alias": p.get("trail_key_alias") or "alias/%s-cloudtrail" % n,
        "log_group": p.get("trail_log_group") or "/aws/cloudtrail/%s" % n,
        "role": "%s-cloudtrail-logs" % n,
        "analyzer": p.get("access_analyzer_name") or "%s-account" % n,
        "account": account, "region": region, "partition": partition,
    }
    out["trail_arn"] = "arn:%s:cloudtrail:%s:%s:trail/%s" % (partition, region, account, out["trail"])
    out["log_group_arn"] = "arn:%s:logs:%s:%s:log-group:%s" % (partition, region, account, out["log_group"])
    out["role_arn"] = "arn:%s:iam::%s:role/%s" % (partition, account, out["role"])
    out["bucket_arn"] = "arn:%s:s3:::%s" % (partition, out["bucket"])
    return out


def key_policy(n):
    """The trail key's policy: CloudTrail's documented statements (encrypt for this trail only, describe the key, the
    account's principals decrypt CloudTrail log files), CloudWatch Logs for the trail's log group only, and key
    administration for the account (no kms:*)."""
    account, partition = n["account"], n["partition"]
    trails = "arn:%s:cloudtrail:*:%s:trail/*" % (partition, account)
    return {"Version": "2012-10-17", "Statement": [
        admin_statement(account, partition),
        {"Sid": "CloudTrailEncryptLogs", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "kms:GenerateDataKey*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceArn": n["trail_arn"]},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails}}},
        {"Sid": "CloudTrailDescribeKey", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "kms:DescribeKey", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceArn": n["trail_arn"]}}},
        {"Sid": "AccountDecryptsLogFiles", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": account},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails}}},
        {"Sid": "CloudWatchLogsForTheTrailGroup", "Effect": "Allow",
         "Principal": {"Service": "logs.%s.amazonaws.com" % n["region"]},
         "Action": list(LOGS_KEY_ACTIONS), "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:aws:logs:arn": n["log_group_arn"]}}},
    ]}


def bucket_policy(n):
    """CloudTrail's documented bucket policy (ACL check and writes under AWSLogs/<account>/, both for this trail only
    through aws:SourceArn) and a deny of every request that is not TLS."""
    bucket_arn = n["bucket_arn"]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": bucket_arn,
         "Condition": {"StringEquals": {"aws:SourceArn": n["trail_arn"]}}},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": "%s/AWSLogs/%s/*" % (bucket_arn, n["account"]),
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                        "aws:SourceArn": n["trail_arn"]}}},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [bucket_arn, bucket_arn + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}


def role_trust_policy(n):
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "CloudTrailDelivers", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceArn": n["trail_arn"]}}}]}


def role_policy(n):
    """Exactly CreateLogStream and PutLogEvents on the trail's group (its streams are <account>_CloudTrail_<region>)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DeliverToTheTrailGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "%s:log-stream:%s_CloudTrail_*" % (n["log_group_arn"], n["account"])}]}


def policies(n):
    """Every policy document the module writes, each {name, kind, document} (what the role lints with
    iam_policies_problems before the real run)."""
    return [{"name": "key %s" % n["alias"], "kind": "key", "document": key_policy(n)},
            {"name": "bucket %s" % n["bucket"], "kind": "resource", "document": bucket_policy(n)},
            {"name": "role %s trust" % n["role"], "kind": "trust", "document": role_trust_policy(n)},
            {"name": "role %s policy deliver-to-log-group" % n["role"], "kind": "identity", "document": role_policy(n)}]


def lifecycle_rules(p):
    return [{"ID": LIFECYCLE_RULE, "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
             "Transitions": [{"Days": p["trail_bucket_transition_days"], "StorageClass": "GLACIER_IR"}],
             "Expiration": {"Days": p["trail_bucket_expiration_days"]},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]


def encryption_rules(key_arn):
    return [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
             "BucketKeyEnabled": True}]


PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                       "RestrictPublicBuckets": True}


def desired_tags(tags):
    out = dict((str(k), str(v)) for k, v in (tags or {}).items())
    out[MANAGED_TAG[0]] = MANAGED_TAG[1]
    return out


def feature_request(features):
    """GuardDuty's Features parameter: each listed protection enabled, with its extra configuration enabled."""
    out = []
    for name in features:
        item = {"Name": name, "Status": "ENABLED"}
        if name in FEATURE_EXTRAS:
            item["AdditionalConfiguration"] = [{"Name": extra, "Status": "ENABLED"} for extra in FEATURE_EXTRAS[name]]
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Normalising


def encryption_view(rules):
    out = []
    for rule in rules or []:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        out.append((default.get("SSEAlgorithm"), default.get("KMSMasterKeyID") or "", bool(rule.get("BucketKeyEnabled"))))
    return sorted(out)


def features_view(features, names_wanted=None):
    """{name: (status, {extra: status})} for the features named (all when None)."""
    out = {}
    for f in features or []:
        if names_wanted is not None and f.get("Name") not in names_wanted:
            continue
        out[f.get("Name")] = (f.get("Status"), dict((a.get("Name"), a.get("Status"))
                                                    for a in f.get("AdditionalConfiguration") or []
                                                    if a.get("Name") in FEATURE_EXTRAS.get(f.get("Name"), [])))
    return out


def key_matches(have, want_arn, alias=None, alias_arn=None):
    """True when a key reference read back names the wanted key: AWS answers the key's ARN (or id); moto answers the
    reference as it was given, so the alias and its ARN count too."""
    candidates = set(c for c in (want_arn, (want_arn or "").split("/")[-1], alias, alias_arn) if c)
    return bool(have) and have in candidates


# ---------------------------------------------------------------------------------------------------------------
# Planning (pure)


def plan_trail(plan, p, observed, n, tags):
    """The trail's key, bucket, log group, role and the trail itself, each created or brought back to what we set.
    Returns the key ARN (a placeholder when it is created in this run)."""
    tag_pairs = sorted(tags.items())
    key = observed["key"]
    want_key_policy = key_policy(n)
    if key is None:
        key_arn = plan.call("kms", "create_key", ["create key %s" % n["alias"]], "create the key for %s" % n["alias"],
                            out="key %s" % n["alias"], pick=["KeyMetadata", "Arn"],
                            Description="CloudTrail log files and the CloudWatch Logs copy of trail %s" % n["trail"],
                            KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT",
                            Policy=json.dumps(want_key_policy, sort_keys=True),
                            Tags=[{"TagKey": k, "TagValue": v} for k, v in tag_pairs])
        plan.call("kms", "create_alias", [], "create alias %s" % n["alias"], AliasName=n["alias"], TargetKeyId=key_arn)
        plan.call("kms", "enable_key_rotation", ["turn on rotation of key %s" % n["alias"]],
                  "turn on rotation of key %s" % n["alias"], KeyId=key_arn)
    else:
        key_arn = key["arn"]
        if key["state"] in ("PendingDeletion", "PendingReplicaDeletion"):
            plan.problems.append("key %s (%s) is scheduled for deletion; cancel the deletion (kms cancel-key-deletion"
                                 " and enable-key) or give another trail_key_alias" % (n["alias"], key_arn))
        elif key["state"] == "Disabled":
            plan.call("kms", "enable_key", ["enable key %s" % n["alias"]], "enable key %s" % key_arn, KeyId=key_arn)
        if normalise_policy(key["policy"]) != normalise_policy(want_key_policy):
            plan.call("kms", "put_key_policy", ["set the policy of key %s" % n["alias"]],
                      "set the policy of key %s" % key_arn, KeyId=key_arn, PolicyName="default",
                      Policy=json.dumps(want_key_policy, sort_keys=True))
        if not key["rotation"]:
            plan.call("kms", "enable_key_rotation", ["turn on rotation of key %s" % n["alias"]],
                      "turn on rotation of key %s" % key_arn, KeyId=key_arn)

    bucket, name = observed["bucket"], n["bucket"]
    if bucket is not None and bucket.get("foreign"):
        plan.problems.append("bucket %s exists and this account cannot read it (another account's, or a policy that"
                             " denies us); give another trail_bucket" % name)
        return key_arn
    if bucket is None:
        create = {"Bucket": name}
        if n["region"] != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": n["region"]}
        plan.call("s3", "create_bucket", ["create bucket %s" % name], "create bucket %s" % name, **create)
        bucket = {"public_access_block": None, "ownership": None, "encryption": None, "versioning": None,
                  "lifecycle": None, "policy": None}
        plan.call("s3", "put_bucket_tagging", [], "tag bucket %s" % name, Bucket=name,
                  Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tag_pairs]})
    if bucket["public_access_block"] != PUBLIC_ACCESS_BLOCK:
        plan.call("s3", "put_public_access_block", ["block public access to bucket %s" % name],
                  "block public access to bucket %s" % name, Bucket=name,
                  PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK))
    if bucket["ownership"] != "BucketOwnerEnforced":
        plan.call("s3", "put_bucket_ownership_controls", ["enforce bucket-owner object ownership on %s" % name],
                  "set the object ownership of bucket %s" % name, Bucket=name,
                  OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    want_encryption = encryption_rules(key_arn)
    have = bucket["encryption"]
    if have is None or len(have) != 1 or encryption_view(have)[0][0] != "aws:kms" \
            or not encryption_view(have)[0][2] or not key_matches(encryption_view(have)[0][1], key_arn,
                                                                  n["alias"], observed.get("alias_arn")):
        plan.call("s3", "put_bucket_encryption", ["encrypt bucket %s with key %s" % (name, n["alias"])],
                  "set the default encryption of bucket %s" % name, Bucket=name,
                  ServerSideEncryptionConfiguration={"Rules": want_encryption})
    if bucket["versioning"] != "Enabled":
        plan.call("s3", "put_bucket_versioning", ["turn on versioning of bucket %s" % name],
                  "turn on versioning of bucket %s" % name, Bucket=name,
                  VersioningConfiguration={"Status": "Enabled"})
    want_rules = lifecycle_rules(p)
    if lifecycle_view(bucket["lifecycle"]) != lifecycle_view(want_rules):
        plan.call("s3", "put_bucket_lifecycle_configuration",
                  ["set the lifecycle of bucket %s (Glacier IR after %d days, deleted after %d)"
                   % (name, p["trail_bucket_transition_days"], p["trail_bucket_expiration_days"])],
                  "set the lifecycle of bucket %s" % name, Bucket=name, LifecycleConfiguration={"Rules": want_rules})
    want_bucket_policy = bucket_policy(n)
    if normalise_policy(bucket["policy"]) != normalise_policy(want_bucket_policy):
        plan.call("s3", "put_bucket_policy", ["set the policy of bucket %s" % name], "set the policy of bucket %s" % name,
                  Bucket=name, Policy=json.dumps(want_bucket_policy, sort_keys=True))

    group = observed["log_group"]
    retention = p["trail_log_retention_days"]
    if group is None:
        plan.call("logs", "create_log_group", ["create log group %s" % n["log_group"]],
                  "create log group %s" % n["log_group"], logGroupName=n["log_group"], kmsKeyId=key_arn, tags=tags)
        plan.call("logs", "put_retention_policy", [], "set the retention of log group %s" % n["log_group"],
                  logGroupName=n["log_group"], retentionInDays=retention)
    else:
        if group.get("retentionInDays") != retention:
            plan.call("logs", "put_retention_policy", ["keep log group %s %d days (was %s)"
                                                       % (n["log_group"], retention, group.get("retentionInDays"))],
                      "set the retention of log group %s" % n["log_group"], logGroupName=n["log_group"],
                      retentionInDays=retention)
        if not key_matches(group.get("kmsKeyId"), key_arn, n["alias"], observed.get("alias_arn")):
            plan.call("logs", "associate_kms_key", ["encrypt log group %s with key %s" % (n["log_group"], n["alias"])],
                      "encrypt log group %s" % n["log_group"], logGroupName=n["log_group"], kmsKeyId=key_arn)

    role = observed["role"]
    trust, inline = role_trust_policy(n), role_policy(n)
    if role is None:
        plan.call("iam", "create_role", ["create role %s" % n["role"]], "create role %s" % n["role"],
                  RoleName=n["role"], AssumeRolePolicyDocument=json.dumps(trust, sort_keys=True),
                  Description="CloudTrail delivers trail %s to log group %s" % (n["trail"], n["log_group"]),
                  Tags=[{"Key": k, "Value": v} for k, v in tag_pairs])
    elif normalise_policy(role["trust"]) != normalise_policy(trust):
        plan.call("iam", "update_assume_role_policy", ["set the trust policy of role %s" % n["role"]],
                  "set the trust policy of role %s" % n["role"], RoleName=n["role"],
                  PolicyDocument=json.dumps(trust, sort_keys=True))
    if role is None or normalise_policy(role.get("inline")) != normalise_policy(inline):
        plan.call("iam", "put_role_policy", ["set the policy of role %s" % n["role"]],
                  "set the policy of role %s" % n["role"], RoleName=n["role"], PolicyName="deliver-to-log-group",
                  PolicyDocument=json.dumps(inline, sort_keys=True))

    trail = observed["trail"]
    settings = {"S3BucketName": name, "IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": True,
                "EnableLogFileValidation": True, "KmsKeyId": key_arn,
                "CloudWatchLogsLogGroupArn": n["log_group_arn"] + ":*", "CloudWatchLogsRoleArn": n["role_arn"]}
    if trail is not None and trail.get("HomeRegion") and trail["HomeRegion"] != n["region"]:
        plan.problems.append("trail %s lives in %s; keep it with region=%s (a multi-region trail is managed in its home"
                             " region)" % (n["trail"], trail["HomeRegion"], trail["HomeRegion"]))
        return key_arn
    if trail is None:
        plan.call("cloudtrail", "create_trail", ["create trail %s (every region, log file validation, key %s)"
                                                 % (n["trail"], n["alias"])],
                  "create trail %s" % n["trail"], Name=n["trail"],
                  TagsList=[{"Key": k, "Value": v} for k, v in tag_pairs], **settings)
        selectors, logging = None, False
    else:
        differences = trail_differences(trail, settings, n["alias"], observed.get("alias_arn"))
        if differences:
            plan.call("cloudtrail", "update_trail", ["update trail %s (%s)" % (n["trail"], ", ".join(differences))],
                      "update trail %s" % n["trail"], Name=n["trail"], **settings)
        selectors, logging = observed["selectors"], observed["logging"]
    if selectors != EVENT_SELECTORS:
        plan.call("cloudtrail", "put_event_selectors", ["select all management events on trail %s" % n["trail"]],
                  "select the events of trail %s" % n["trail"], TrailName=n["trail"],
                  EventSelectors=[dict(s) for s in EVENT_SELECTORS])
    if not logging:
        plan.call("cloudtrail", "start_logging", ["start logging of trail %s" % n["trail"]],
                  "start logging of trail %s" % n["trail"], Name=n["trail"])
    return key_arn


def selectors_view(answer):
    """The event selectors read back, in the shape we write (None when the trail has advanced selectors instead)."""
    if answer.get("AdvancedEventSelectors"):
        return None
    out = []
    for s in answer.get("EventSelectors") or []:
        out.append({"ReadWriteType": s.get("ReadWriteType", "All"),
                    "IncludeManagementEvents": s.get("IncludeManagementEvents", True),
                    "DataResources": s.get("DataResources") or [],
                    "ExcludeManagementEventSources": s.get("ExcludeManagementEventSources") or []})
    return out


def trail_differences(trail, settings, alias=None, alias_arn=None):
    out = []
    for field in ("S3BucketName", "IsMultiRegionTrail", "IncludeGlobalServiceEvents", "CloudWatchLogsLogGroupArn",
                  "CloudWatchLogsRoleArn"):
        if trail.get(field) != settings[field]:
            out.append("%s %s -> %s" % (field, trail.get(field), settings[field]))
    if trail.get("LogFileValidationEnabled") is not True:
        out.append("log file validation on")
    if not key_matches(trail.get("KmsKeyId"), settings["KmsKeyId"], alias, alias_arn):
        out.append("KmsKeyId %s -> %s" % (trail.get("KmsKeyId"), settings["KmsKeyId"]))
    if trail.get("S3KeyPrefix"):
        out.append("S3KeyPrefix %s -> none" % trail["S3KeyPrefix"])
    return out


def plan_baseline(p, observed, n):
    """The whole plan from what was read (``observed``: key, alias_arn, bucket, log_group, role, trail, selectors,
    logging, detector, ebs, analyzers, and GAP markers for what could not be read) and the names. Pure."""
    plan = Plan()
    tags = desired_tags(p.get("tags"))
    outputs = {"trail_arn": "", "key_arn": "", "bucket": "", "log_group_arn": "", "role_arn": "", "detector_id": "",
               "analyzer": ""}
    if p["trail"]:
        outputs["key_arn"] = plan_trail(plan, p, observed, n, tags)
        outputs.update(trail_arn=n["trail_arn"], bucket=n["bucket"], log_group_arn=n["log_group_arn"],
                       role_arn=n["role_arn"])

    if p["guardduty"]:
        detector = observed["detector"]
        wanted_features = feature_request(p["guardduty_features"])
        frequency = p["guardduty_finding_frequency"]
        if detector is None:
            outputs["detector_id"] = plan.call(
                "guardduty", "create_detector",
                ["enable GuardDuty (%s)" % ", ".join(p["guardduty_features"]) if p["guardduty_features"]
                 else "enable GuardDuty"], "create the GuardDuty detector", out="GuardDuty detector",
                pick=["DetectorId"], Enable=True, FindingPublishingFrequency=frequency, Features=wanted_features,
                Tags=tags)
        else:
            outputs["detector_id"] = detector["id"]
            differences = []
            if detector.get("Status") != "ENABLED":
                differences.append("enable it")
            if detector.get("FindingPublishingFrequency") != frequency:
                differences.append("findings every %s" % frequency)
            have = features_view(detector.get("Features"), p["guardduty_features"])
            want = features_view(wanted_features)
            missing = sorted(name for name in want if have.get(name) != want[name])
            if missing:
                differences.append("enable %s" % ", ".join(missing))
            if differences:
                plan.call("guardduty", "update_detector",
                          ["update GuardDuty detector %s (%s)" % (detector["id"], "; ".join(differences))],
                          "update GuardDuty detector %s" % detector["id"], DetectorId=detector["id"], Enable=True,
                          FindingPublishingFrequency=frequency, Features=wanted_features)

    if p["ebs_encryption"]:
        ebs = observed["ebs"]
        if not ebs["enabled"]:
            plan.call("ec2", "enable_ebs_encryption_by_default", ["turn on EBS encryption by default"],
                      "turn on EBS encryption by default")
        wanted = p.get("ebs_default_kms_key") or ""
        known = ebs.get("key") is not GAP
        if wanted and known and not key_matches(ebs.get("key"), observed.get("ebs_key_arn") or "", wanted):
            plan.call("ec2", "modify_ebs_default_kms_key_id", ["make %s the default EBS key" % wanted],
                      "set the default EBS key", KmsKeyId=wanted)

    if p["access_analyzer"]:
        analyzers = observed["analyzers"]
        if analyzers is not GAP:
            active = [a for a in analyzers if a.get("type") == "ACCOUNT" and a.get("status") in ("ACTIVE", "CREATING")]
            if active:
                ours = [a for a in active if a.get("name") == n["analyzer"]]
                outputs["analyzer"] = (ours or active)[0]["name"]
            else:
                plan.call("accessanalyzer", "create_analyzer", ["create IAM Access Analyzer %s" % n["analyzer"]],
                          "create analyzer %s" % n["analyzer"], analyzerName=n["analyzer"], type="ACCOUNT", tags=tags)
                outputs["analyzer"] = n["analyzer"]
    return plan, outputs


# ---------------------------------------------------------------------------------------------------------------
# moto gaps: the one place a failed read is tolerated

GAP = "(not readable: moto)"


def is_loopback(endpoint_url):
    host = urlparse(endpoint_url or "").hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def tolerated_gap(endpoint_url, what, error):
    """The warning to give when a read failed only because the sandbox's moto lacks the operation, else None (then
    the failure is real). Only against a loopback endpoint (AWS never is one), and only for moto's answer to an
    operation it does not implement: its HTML "500 Internal Server Error" page (NotImplementedError inside moto) -
    AWS answers JSON or XML, never HTML. Today: ec2 GetEbsDefaultKmsKeyId and accessanalyzer ListAnalyzers."""
    if not is_loopback(endpoint_url):
        return None
    text = str(error).lower()
    if "<!doctype html" in text and "500 internal server error" in text:
        return "moto: cannot read %s (the endpoint does not implement it); it is neither compared nor changed" % what
    return None


# ---------------------------------------------------------------------------------------------------------------
# Reading


class Reader:
    def __init__(self, module):
        self.module = module
        self.endpoint = module.params.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL")
        self.unverified = []

    def read(self, client, what, method, missing=(), gap=False, **kwargs):
        """The answer; None when AWS says it does not exist (``missing`` codes); GAP for a tolerated moto gap."""
        try:
            return getattr(client, method)(aws_retry=True, **kwargs)
        except Exception as e:  # narrowed below: botocore may be absent at import time
            if not isinstance(e, (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError,
                                  ResponseParserError)):
                raise
            if error_code(e) in missing:
                return None
            text = tolerated_gap(self.endpoint, what, e) if gap else None
            if text:
                self.unverified.append(text)
                return GAP
            if isinstance(e, ResponseParserError):
                self.module.fail_json(msg="Could not %s: the endpoint's answer is not AWS's (%s)" % (what, e))
            self.module.fail_json_aws(e, msg="Could not %s" % what)


def read_trail_parts(r, clients, n):
    kms, s3, logs, iam, ct = (clients[s] for s in ("kms", "s3", "logs", "iam", "cloudtrail"))
    observed = {}
    described = r.read(kms, "describe key %s" % n["alias"], "describe_key", missing=("NotFoundException",),
                       KeyId=n["alias"])
    observed["alias_arn"] = "arn:%s:kms:%s:%s:%s" % (n["partition"], n["region"], n["account"], n["alias"])
    if described is None:
        observed["key"] = None
    else:
        meta = described["KeyMetadata"]
        policy = r.read(kms, "read the policy of key %s" % n["alias"], "get_key_policy", KeyId=meta["Arn"],
                        PolicyName="default")["Policy"]
        rotation = r.read(kms, "read the rotation of key %s" % n["alias"], "get_key_rotation_status",
                          KeyId=meta["Arn"]).get("KeyRotationEnabled")
        observed["key"] = {"arn": meta["Arn"], "state": meta.get("KeyState"), "policy": policy, "rotation": rotation}

    bucket = n["bucket"]
    head = None
    try:
        s3.head_bucket(Bucket=bucket, aws_retry=True)
        head = "ours"
    except botocore.exceptions.ClientError as e:
        if error_code(e) in ("404", "NoSuchBucket", "NotFound"):
            head = None
        elif error_code(e) in ("403", "AccessDenied"):
            head = "foreign"
        else:
            r.module.fail_json_aws(e, msg="Could not read bucket %s" % bucket)
    except botocore.exceptions.BotoCoreError as e:
        r.module.fail_json_aws(e, msg="Could not read bucket %s" % bucket)
    if head is None:
        observed["bucket"] = None
    elif head == "foreign":
        observed["bucket"] = {"foreign": True}
    else:
        pab = r.read(s3, "read the public access block of bucket %s" % bucket, "get_public_access_block",
                     missing=("NoSuchPublicAccessBlockConfiguration",), Bucket=bucket)
        own = r.read(s3, "read the object ownership of bucket %s" % bucket, "get_bucket_ownership_controls",
                     missing=("OwnershipControlsNotFoundError",), Bucket=bucket)
        enc = r.read(s3, "read the encryption of bucket %s" % bucket, "get_bucket_encryption",
                     missing=("ServerSideEncryptionConfigurationNotFoundError",), Bucket=bucket)
        ver = r.read(s3, "read the versioning of bucket %s" % bucket, "get_bucket_versioning", Bucket=bucket)
        life = r.read(s3, "read the lifecycle of bucket %s" % bucket, "get_bucket_lifecycle_configuration",
                      missing=("NoSuchLifecycleConfiguration",), Bucket=bucket)
        pol = r.read(s3, "read the policy of bucket %s" % bucket, "get_bucket_policy", missing=("NoSuchBucketPolicy",),
                     Bucket=bucket)
        observed["bucket"] = {
            "public_access_block": (pab or {}).get("PublicAccessBlockConfiguration"),
            "ownership": ((own or {}).get("OwnershipControls", {}).get("Rules") or [{}])[0].get("ObjectOwnership"),
            "encryption": (enc or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules"),
            "versioning": ver.get("Status"),
            "lifecycle": (life or {}).get("Rules"),
            "policy": (pol or {}).get("Policy")}

    groups = r.read(logs, "list log groups %s" % n["log_group"], "describe_log_groups",
                    logGroupNamePrefix=n["log_group"]).get("logGroups") or []
    observed["log_group"] = next((g for g in groups if g.get("logGroupName") == n["log_group"]), None)

    role = r.read(iam, "read role %s" % n["role"], "get_role", missing=("NoSuchEntity",), RoleName=n["role"])
    if role is None:
        observed["role"] = None
    else:
        inline = r.read(iam, "read the policy of role %s" % n["role"], "get_role_policy", missing=("NoSuchEntity",),
                        RoleName=n["role"], PolicyName="deliver-to-log-group")
        observed["role"] = {"trust": role["Role"].get("AssumeRolePolicyDocument"),
                            "inline": (inline or {}).get("PolicyDocument")}
        for key in ("trust", "inline"):  # IAM answers URL-encoded JSON text in some SDKs, a dict in boto3
            if isinstance(observed["role"][key], str):
                observed["role"][key] = json.loads(observed["role"][key])

    trail = r.read(ct, "read trail %s" % n["trail"], "get_trail", missing=("TrailNotFoundException",),
                   Name=n["trail"])
    observed["trail"] = trail["Trail"] if trail else None
    observed["selectors"], observed["logging"] = None, False
    if observed["trail"] is not None and observed["trail"].get("HomeRegion", n["region"]) == n["region"]:
        observed["selectors"] = selectors_view(r.read(ct, "read the event selectors of trail %s" % n["trail"],
                                                      "get_event_selectors", TrailName=n["trail"]))
        observed["logging"] = bool(r.read(ct, "read the status of trail %s" % n["trail"], "get_trail_status",
                                          Name=n["trail"]).get("IsLogging"))
    return observed


def read_everything(r, p, clients, n):
    observed = {"key": None, "bucket": None, "log_group": None, "role": None, "trail": None, "selectors": None,
                "logging": False, "detector": None, "ebs": {"enabled": True}, "analyzers": []}
    if p["trail"]:
        observed.update(read_trail_parts(r, clients, n))
    if p["guardduty"]:
        gd = clients["guardduty"]
        ids = r.read(gd, "list GuardDuty detectors", "list_detectors").get("DetectorIds") or []
        if ids:
            detector = r.read(gd, "read GuardDuty detector %s" % ids[0], "get_detector", DetectorId=ids[0])
            observed["detector"] = dict(detector, id=ids[0])
    if p["ebs_encryption"]:
        ec2 = clients["ec2"]
        enabled = r.read(ec2, "read EBS encryption by default", "get_ebs_encryption_by_default")
        observed["ebs"] = {"enabled": bool(enabled.get("EbsEncryptionByDefault"))}
        if p.get("ebs_default_kms_key"):
            answer = r.read(ec2, "the default EBS key (GetEbsDefaultKmsKeyId)", "get_ebs_default_kms_key_id", gap=True)
            observed["ebs"]["key"] = GAP if answer is GAP else answer.get("KmsKeyId")
            wanted = r.read(clients["kms"], "describe key %s" % p["ebs_default_kms_key"], "describe_key",
                            missing=("NotFoundException",), KeyId=p["ebs_default_kms_key"])
            if wanted is None:
                r.module.fail_json(msg="security_baseline: ebs_default_kms_key %s does not exist in %s (nothing was"
                                   " changed)" % (p["ebs_default_kms_key"], n["region"]))
            observed["ebs_key_arn"] = wanted["KeyMetadata"]["Arn"]
    if p["access_analyzer"]:
        aa = clients["accessanalyzer"]
        answer = r.read(aa, "IAM Access Analyzer (ListAnalyzers)", "list_analyzers", gap=True, type="ACCOUNT")
        observed["analyzers"] = GAP if answer is GAP else answer.get("analyzers") or []
    return observed


def state_view(p, observed):
    """The managed state, compact, for diff.before."""
    out = {}
    if p["trail"]:
        trail = observed["trail"]
        out["trail"] = None if trail is None else {
            "multi_region": trail.get("IsMultiRegionTrail"), "log_file_validation": trail.get("LogFileValidationEnabled"),
            "kms_key": trail.get("KmsKeyId"), "bucket": trail.get("S3BucketName"),
            "log_group": trail.get("CloudWatchLogsLogGroupArn"), "selectors": observed["selectors"],
            "logging": observed["logging"]}
        key = observed["key"]
        out["key"] = None if key is None else {"arn": key["arn"], "rotation": key["rotation"],
                                               "policy": json.dumps(normalise_policy(key["policy"]), sort_keys=True)}
        bucket = observed["bucket"]
        out["bucket"] = None if bucket is None else dict(
            (k, json.dumps(normalise_policy(v), sort_keys=True) if k == "policy" else v) for k, v in bucket.items())
        group = observed["log_group"]
        out["log_group"] = None if group is None else {"retention": group.get("retentionInDays"),
                                                       "kms_key": group.get("kmsKeyId")}
        role = observed["role"]
        out["role"] = None if role is None else dict((k, json.dumps(normalise_policy(v), sort_keys=True))
                                                     for k, v in role.items())
    if p["guardduty"]:
        d = observed["detector"]
        out["guardduty"] = None if d is None else {"status": d.get("Status"),
                                                   "frequency": d.get("FindingPublishingFrequency"),
                                                   "features": dict((k, list(v)) for k, v in
                                                                    features_view(d.get("Features")).items())}
    if p["ebs_encryption"]:
        out["ebs"] = observed["ebs"]
    if p["access_analyzer"]:
        a = observed["analyzers"]
        out["access_analyzer"] = a if a is GAP else sorted(x.get("name") for x in a if x.get("type") == "ACCOUNT")
    return out


def planned_view(p, observed, n, outputs):
    """diff.after: the state the plan leads to."""
    out = {}
    if p["trail"]:
        key_arn = outputs["key_arn"]
        out["trail"] = {"multi_region": True, "log_file_validation": True, "kms_key": key_arn, "bucket": n["bucket"],
                        "log_group": n["log_group_arn"] + ":*", "selectors": EVENT_SELECTORS, "logging": True}
        out["key"] = {"arn": key_arn, "rotation": True, "policy": json.dumps(normalise_policy(key_policy(n)),
                                                                             sort_keys=True)}
        out["bucket"] = {"public_access_block": PUBLIC_ACCESS_BLOCK, "ownership": "BucketOwnerEnforced",
                         "encryption": encryption_rules(key_arn), "versioning": "Enabled",
                         "lifecycle": lifecycle_rules(p), "policy": json.dumps(normalise_policy(bucket_policy(n)),
                                                                               sort_keys=True)}
        out["log_group"] = {"retention": p["trail_log_retention_days"], "kms_key": key_arn}
        out["role"] = {"trust": json.dumps(normalise_policy(role_trust_policy(n)), sort_keys=True),
                       "inline": json.dumps(normalise_policy(role_policy(n)), sort_keys=True)}
    if p["guardduty"]:
        d = observed["detector"] or {}
        features = features_view(d.get("Features"))
        features.update(features_view(feature_request(p["guardduty_features"])))
        out["guardduty"] = {"status": "ENABLED", "frequency": p["guardduty_finding_frequency"],
                            "features": dict((k, list(v)) for k, v in features.items())}
    if p["ebs_encryption"]:
        out["ebs"] = dict(observed["ebs"], enabled=True)
        if p.get("ebs_default_kms_key") and out["ebs"].get("key") is not GAP:
            out["ebs"]["key"] = observed.get("ebs_key_arn")
    if p["access_analyzer"]:
        a = observed["analyzers"]
        kept = [outputs["analyzer"]] if outputs["analyzer"] else []
        out["access_analyzer"] = a if a is GAP else sorted(set(
            [x.get("name") for x in a if x.get("type") == "ACCOUNT"] + kept))
    return out


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        trail=dict(type="bool", default=True),
        trail_name=dict(type="str"),
        trail_bucket=dict(type="str"),
        trail_key_alias=dict(type="str", no_log=False),
        trail_log_group=dict(type="str"),
        trail_log_retention_days=dict(type="int", default=90),
        trail_bucket_transition_days=dict(type="int", default=90),
        trail_bucket_expiration_days=dict(type="int", default=400),
        guardduty=dict(type="bool", default=True),
        guardduty_features=dict(type="list", elements="str",
                                default=["S3_DATA_EVENTS", "RDS_LOGIN_EVENTS", "RUNTIME_MONITORING"]),
        guardduty_finding_frequency=dict(type="str", default="FIFTEEN_MINUTES"),
        ebs_encryption=dict(type="bool", default=True),
        ebs_default_kms_key=dict(type="str", default="", no_log=False),
        access_analyzer=dict(type="bool", default=True),
        access_analyzer_name=dict(type="str"),
        tags=dict(type="dict", default={}),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    problems = input_problems(p)
    if problems:
        module.fail_json(msg="security_baseline: %s (nothing was changed)" % "; ".join(problems), problems=problems)

    region = module.region
    sts = retrying_client(module, "sts")
    identity = aws_call(module, sts, "read the caller's account", "get_caller_identity")
    account = identity["Account"]
    partition = identity["Arn"].split(":")[1]
    n = names(p, account, region, partition)

    services = ["kms", "s3", "logs", "iam", "cloudtrail", "guardduty", "ec2"]
    clients = dict((s, retrying_client(module, s)) for s in services)
    # The trail may fail its first create while IAM and KMS settle (the role or the key policy not yet visible).
    clients["cloudtrail"] = retrying_client(module, "cloudtrail", extra_codes=[
        "InvalidCloudWatchLogsRoleArnException", "InsufficientEncryptionPolicyException",
        "InsufficientS3BucketPolicyException", "InvalidCloudWatchLogsLogGroupArnException"])
    clients["accessanalyzer"] = retrying_client(module, "accessanalyzer", retries=3)
    reader = Reader(module)
    observed = read_everything(reader, p, clients, n)
    plan, outputs = plan_baseline(p, observed, n)
    plan.warnings.extend(reader.unverified)
    refuse(module, "security_baseline", plan)
    real = apply(module, plan, clients)
    outputs = real(outputs)
    written = policies(n) if p["trail"] else []
    finish(module, plan, diff={"before": state_view(p, observed), "after": real(planned_view(p, observed, n, outputs))},
           policies=written, unverified=reader.unverified, **outputs)


if __name__ == "__main__":
    main()
