#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: launch_logging
short_description: Logs at every layer of the launch - ALB, CloudFront, S3 server access, VPC flow, Route 53 queries
version_added: 0.3.0
description:
  - Keeps, in one call and one read pass, the logs of everything the launch built (requirement 9.4). It finds what to
    log itself - the load balancer by name, the distribution by its C(launch-distribution) tag, the VPC by its
    C(launch-network) tag, the buckets by name, the public hosted zone by its domain - and plans around whatever does
    not exist yet (a warning and an entry in RV(missing), never an error), so it runs alone and in check mode on an
    empty account.
  - A log bucket C(<name>-logs-<account>) in the home region for the three deliveries that can only write to S3 -
    ALB access logs (prefix C(alb/)), CloudFront standard logs (C(cloudfront/)) and S3 server access logs of the
    listed buckets (C(s3-access/<bucket>/)). It is SSE-S3 (AES256), because ALB access logs and S3 server access
    logs accept no other default encryption; public access blocked; versioned; ACLs enabled
    (C(BucketOwnerPreferred)) only when a distribution is logged, because CloudFront's standard logs are written
    through the bucket ACL (the C(awslogsdelivery) account's grant, kept here), otherwise C(BucketOwnerEnforced);
    a lifecycle rule per prefix (Glacier Instant Retrieval, then expiry); a policy that lets only Elastic Load
    Balancing (the region's ELB account, or C(logdelivery.elasticloadbalancing.amazonaws.com) in regions opened
    since August 2022) write under C(alb/AWSLogs/<account>/), only S3's logging service write each listed bucket's
    prefix (conditioned on that bucket as C(aws:SourceArn) and this account), and denies plain HTTP.
  - VPC flow logs (all traffic, one-minute aggregation) to a CloudWatch Logs group C(/aws/vpc/flow-logs/<name>) and
    Route 53 query logs of the zone to C(/aws/route53/<zone>) in us-east-1 (the only region Route 53 delivers to),
    both encrypted with a customer-managed key C(alias/<name>-logs) of this module (one per region that holds a group;
    rotation on) whose policy lets CloudWatch Logs use it for exactly those groups. Flow logs are delivered through a
    role C(<name>-flow-logs) that VPC Flow Logs assumes (this account's flow logs only) and that may only write
    streams of that group; Route 53 through a CloudWatch Logs resource policy C(<name>-route53-query-logs) for that
    group and that zone only.
  - Owns the logging settings of what other modules keep - C(access_logs.s3.*) of the load balancer (C(load_balancer)
    sets only its own four attributes), C(Logging) of the distribution (C(cloudfront_distribution) keeps settings it
    is not given), C(LoggingEnabled) of the buckets - and writes only those; a second run with the same input makes
    no write call.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description:
      - The launch's name, the prefix of every name this module derives (C(<name>-logs-<account>),
        C(alias/<name>-logs), C(/aws/vpc/flow-logs/<name>), C(<name>-flow-logs), C(<name>-route53-query-logs)).
      - 1-38 lower-case letters, digits or hyphens, starting with a letter or digit (it becomes part of a bucket name).
    type: str
    required: true
  log_bucket:
    description: The log bucket's name (default C(<name>-logs-<account>)).
    type: str
  load_balancer_name:
    description: The Application Load Balancer whose access logs are kept (default C(<name>-alb)); empty for none.
    type: str
  distribution_name:
    description: The C(launch-distribution) tag of the CloudFront distribution whose standard logs are kept (default
      O(name)); empty for none.
    type: str
  network_name:
    description: The C(launch-network) name of the VPC whose flow logs are kept (default O(name)); empty for none.
    type: str
  buckets:
    description: Buckets whose S3 server access logs are kept (the content and static buckets). Each must be in the
      home region (S3 delivers only to a bucket of the same region) and cannot be the log bucket itself.
    type: list
    elements: str
    default: []
  zone:
    description: The public hosted zone (its domain) whose Route 53 query logs are kept; empty for none.
    type: str
    default: ""
  alb_log_days:
    description: Days ALB access logs are kept.
    type: int
    default: 365
  cloudfront_log_days:
    description: Days CloudFront standard logs are kept.
    type: int
    default: 365
  s3_access_log_days:
    description: Days S3 server access logs are kept.
    type: int
    default: 365
  log_transition_days:
    description: Days after which the bucket's log files move to S3 Glacier Instant Retrieval (0 for never); less
      than every C(*_log_days).
    type: int
    default: 30
  flow_log_retention_days:
    description: Days the flow log group keeps its events (one of the values CloudWatch Logs accepts).
    type: int
    default: 90
  flow_log_traffic_type:
    description: Which traffic flow logs record.
    type: str
    choices: [ALL, ACCEPT, REJECT]
    default: ALL
  query_log_retention_days:
    description: Days the Route 53 query log group keeps its events (one of the values CloudWatch Logs accepts).
    type: int
    default: 30
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
    description: Returns where each layer logs (bucket, prefixes, groups, keys), before and after.
"""

EXAMPLES = r"""
- name: Keep the logs of every layer the launch built
  directfanz.launch.launch_logging:
    name: directfanz
    region: us-east-1
    buckets: [directfanz-content-123456789012, directfanz-static-123456789012]
    zone: directfanz.io
  register: logging
"""

RETURN = r"""
log_bucket:
  description: Name of the log bucket (ALB, CloudFront and S3 server access logs).
  returned: always
  type: str
key_arns:
  description: Region to the ARN of this module's log key there (a placeholder in check mode before it exists).
  returned: always
  type: dict
flow_log_group:
  description: The flow log group's name; empty when no VPC was found or O(network_name) is empty.
  returned: always
  type: str
query_log_group:
  description: The query log group's name (in us-east-1); empty when no zone was found or O(zone) is empty.
  returned: always
  type: str
destinations:
  description: Each layer logged, to where it logs (C(s3://bucket/prefix) or C(logs:<region>:<group>)).
  returned: always
  type: dict
  sample: {"alb directfanz-alb": "s3://directfanz-logs-123456789012/alb/"}
missing:
  description: What was asked for and not found (so not logged yet), one sentence each.
  returned: always
  type: list
  elements: str
policies:
  description: The policy documents this module writes, each C({name, kind, document}), for a linter (the role lints
    them with a check-mode run before the real one).
  returned: always
  type: list
  elements: dict
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
"""

# Why a module of our own: amazon.aws has no module for ALB access logs apart from elb_application_lb (which owns the
# whole load balancer and would fight load_balancer), none for CloudFront logging (community.aws.cloudfront_distribution
# rewrites the whole configuration), community.aws.s3_logging has no check mode and manages no target policy, and
# there is no module for Route 53 query logging or CloudWatch Logs resource policies. One module also gives one read
# pass and one plan for the five layers.

import json
import re

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils import cloudfront
from ansible_collections.directfanz.launch.plugins.module_utils.kms_policy import LOGS_ACTIONS, admin_statement
from ansible_collections.directfanz.launch.plugins.module_utils.policy_views import lifecycle_view, normalise_policy
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, aws_read, error_code, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")
RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
                  3653]
QUERY_LOG_REGION = "us-east-1"  # Route 53 delivers query logs only to a log group there
# Elastic Load Balancing's account per region, for regions opened before August 2022 (AWS's table in "Enable access
# logs for your Application Load Balancer"); later regions take the logdelivery.elasticloadbalancing service principal.
ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580", "ap-south-1": "718504428378", "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864", "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-south-1": "635631232127",
    "eu-west-3": "009996457667", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517", "us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993", "cn-northwest-1": "037604701340"}
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
# CloudFront's standard logs (legacy) are written by the awslogsdelivery account through the bucket ACL.
AWSLOGSDELIVERY = "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"
# Regions whose buckets CloudFront does not deliver standard logs to (CloudFront Developer Guide).
NO_CLOUDFRONT_LOGS = ("af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ca-west-1",
                      "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1")
PREFIXES = {"alb": "alb/", "cloudfront": "cloudfront/", "s3": "s3-access/"}
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                       "RestrictPublicBuckets": True}
FLOW_AGGREGATION = 60  # seconds: a flow shows up within a minute (the default is ten), at no extra cost

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,37}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
LB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


# ---------------------------------------------------------------------------------------------------------------
# Input checks (before any API call)


def input_problems(p, region):
    """Everything wrong with the parameters, each saying what is accepted; [] when all is well."""
    problems = []
    name = p.get("name") or ""
    if not NAME.match(name):
        problems.append("name %r is not valid; accepted: 1-38 lower-case letters, digits or hyphens, starting with a"
                        " letter or digit (it becomes part of the log bucket's name)" % name)
    for key in ("log_bucket",):
        value = p.get(key)
        if value is not None and (not BUCKET.match(value) or ".." in value):
            problems.append("%s %r is not a valid bucket name; accepted: 3-63 lower-case letters, digits, '.' or '-',"
                            " starting and ending with a letter or digit" % (key, value))
    lb = p.get("load_balancer_name")
    if lb and not LB_NAME.match(lb):
        problems.append("load_balancer_name %r is not valid; accepted: 1-32 letters, digits or hyphens, not starting or"
                        " ending with a hyphen (or empty: no load balancer)" % lb)
    buckets = p.get("buckets") or []
    for bucket in buckets:
        if not BUCKET.match(bucket or "") or ".." in bucket:
            problems.append("buckets: %r is not a valid bucket name; accepted: 3-63 lower-case letters, digits, '.' or"
                            " '-', starting and ending with a letter or digit" % (bucket,))
    if len(set(buckets)) != len(buckets):
        problems.append("buckets lists a bucket twice; accepted: each once")
    log_bucket = p.get("log_bucket")
    for bucket in buckets:
        if bucket == log_bucket or (not log_bucket and bucket.startswith("%s-logs-" % name)):
            problems.append("buckets: %s is the log bucket; accepted: buckets other than the log bucket (a bucket that"
                            " logs its own access logs into itself writes without end)" % bucket)
    zone = (p.get("zone") or "").lower().rstrip(".")
    if zone and not DOMAIN.match(zone):
        problems.append("zone %r is not a domain name; accepted: a public zone such as example.com (or empty: no query"
                        " logs)" % p.get("zone"))
    days = {}
    for key in ("alb_log_days", "cloudfront_log_days", "s3_access_log_days"):
        value = p.get(key)
        if not isinstance(value, int) or value < 1:
            problems.append("%s %r is not accepted; accepted: 1 or more" % (key, value))
        else:
            days[key] = value
    transition = p.get("log_transition_days")
    if not isinstance(transition, int) or transition < 0:
        problems.append("log_transition_days %r is not accepted; accepted: 0 (never) or more" % (transition,))
    elif transition:
        for key, value in sorted(days.items()):
            if value <= transition:
                problems.append("%s %d is not accepted; accepted: more than log_transition_days (%d), or"
                                " log_transition_days 0" % (key, value, transition))
    for key in ("flow_log_retention_days", "query_log_retention_days"):
        if p.get(key) not in RETENTION_DAYS:
            problems.append("%s %r is not accepted; accepted: one of %s"
                            % (key, p.get(key), ", ".join(str(d) for d in RETENTION_DAYS)))
    if p.get("distribution_name") and region in NO_CLOUDFRONT_LOGS:
        problems.append("CloudFront does not deliver standard logs to a bucket in %s; accepted: a home region other"
                        " than %s, or distribution_name empty" % (region, ", ".join(NO_CLOUDFRONT_LOGS)))
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
    zone = (p.get("zone") or "").lower().rstrip(".")
    out = {"account": account, "region": region, "partition": partition, "zone": zone,
           "log_bucket": p.get("log_bucket") or "%s-logs-%s" % (n, account),
           "alias": "alias/%s-logs" % n,
           "flow_group": "/aws/vpc/flow-logs/%s" % n, "flow_role": "%s-flow-logs" % n,
           "query_group": "/aws/route53/%s" % zone if zone else "",
           "query_policy": "%s-route53-query-logs" % n,
           "load_balancer": p["load_balancer_name"], "distribution": p["distribution_name"],
           "network": p["network_name"], "buckets": list(p.get("buckets") or [])}
    out["log_bucket_arn"] = "arn:%s:s3:::%s" % (partition, out["log_bucket"])
    out["flow_group_arn"] = group_arn(partition, region, account, out["flow_group"])
    out["flow_role_arn"] = "arn:%s:iam::%s:role/%s" % (partition, account, out["flow_role"])
    out["query_group_arn"] = group_arn(partition, QUERY_LOG_REGION, account, out["query_group"]) if zone else ""
    return out


def group_arn(partition, region, account, group):
    return "arn:%s:logs:%s:%s:log-group:%s" % (partition, region, account, group)


def key_policy(n, region, groups):
    """A log key's policy: key administration for the account by name (kms_policy's, no kms:*, no use of the key), and
    CloudWatch Logs of ``region`` using it for exactly ``groups`` (the encryption context CloudWatch Logs sends names
    the group; LOGS_ACTIONS leaves kms:Describe* out, which carries no such context)."""
    partition, account = n["partition"], n["account"]
    return {"Version": "2012-10-17", "Statement": [
        admin_statement(account, partition),
        {"Sid": "CloudWatchLogsForTheLaunchLogGroups", "Effect": "Allow",
         "Principal": {"Service": "logs.%s.amazonaws.com" % region}, "Action": list(LOGS_ACTIONS), "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:aws:logs:arn": sorted(groups)}}}]}


def sid_of(bucket):
    return "S3AccessLogsFrom" + "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", bucket))


def bucket_policy(n, lb, sources):
    """The log bucket's policy: Elastic Load Balancing writes under alb/AWSLogs/<account>/ (the region's ELB account,
    or the log-delivery service principal where AWS has no such account); S3's logging service writes each source
    bucket's prefix, for that bucket of this account only; nothing over plain HTTP. (CloudFront's standard logs come
    through the bucket ACL, not the policy.) Each logging statement names one Resource: S3 checks the policy grants
    the prefix when logging is turned on."""
    arn, account, partition = n["log_bucket_arn"], n["account"], n["partition"]
    statements = []
    if lb:
        elb = ELB_ACCOUNTS.get(n["region"])
        principal = {"AWS": "arn:%s:iam::%s:root" % (partition, elb)} if elb else {"Service": ELB_LOG_DELIVERY}
        statements.append({"Sid": "ElbDeliversAccessLogs", "Effect": "Allow", "Principal": principal,
                           "Action": "s3:PutObject", "Resource": "%s/%sAWSLogs/%s/*" % (arn, PREFIXES["alb"], account)})
    for bucket in sources:
        statements.append({"Sid": sid_of(bucket), "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                           "Action": "s3:PutObject", "Resource": "%s/%s%s/*" % (arn, PREFIXES["s3"], bucket),
                           "Condition": {"ArnLike": {"aws:SourceArn": "arn:%s:s3:::%s" % (partition, bucket)},
                                         "StringEquals": {"aws:SourceAccount": account}}})
    statements.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": [arn, arn + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    return {"Version": "2012-10-17", "Statement": statements}


def flow_trust_policy(n):
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "VpcFlowLogsDeliver", "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
         "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:SourceAccount": n["account"]},
                       "ArnLike": {"aws:SourceArn": "arn:%s:ec2:%s:%s:vpc-flow-log/*"
                                   % (n["partition"], n["region"], n["account"])}}}]}


def flow_role_policy(n):
    """Only the streams of the flow log group (the group exists: this module makes it, so no logs:CreateLogGroup)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DeliverToTheFlowLogGroup", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
         "Resource": [n["flow_group_arn"], n["flow_group_arn"] + ":log-stream:*"]}]}


def query_resource_policy(n, zone_id):
    """Route 53 writes the query log group, for this zone of this account only."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Route53QueryLogs", "Effect": "Allow", "Principal": {"Service": "route53.amazonaws.com"},
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": n["query_group_arn"] + ":*",
         "Condition": {"StringEquals": {"aws:SourceAccount": n["account"]},
                       "ArnLike": {"aws:SourceArn": "arn:%s:route53:::hostedzone/%s" % (n["partition"], zone_id)}}}]}


def lifecycle_rules(p):
    rules = []
    for kind, key in (("alb", "alb_log_days"), ("cloudfront", "cloudfront_log_days"), ("s3", "s3_access_log_days")):
        rule = {"ID": "%s-logs" % kind, "Status": "Enabled", "Filter": {"Prefix": PREFIXES[kind]},
                "Expiration": {"Days": p[key]}, "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
        if p["log_transition_days"]:
            rule["Transitions"] = [{"Days": p["log_transition_days"], "StorageClass": "GLACIER_IR"}]
        rules.append(rule)
    return rules


def desired_tags(tags):
    out = dict((str(k), str(v)) for k, v in (tags or {}).items())
    out[MANAGED_TAG[0]] = MANAGED_TAG[1]
    return out


def desired_logging(n):
    """The distribution's Logging: the log bucket, no cookies (they carry sessions)."""
    return {"Enabled": True, "IncludeCookies": False, "Bucket": "%s.s3.amazonaws.com" % n["log_bucket"],
            "Prefix": PREFIXES["cloudfront"]}


# ---------------------------------------------------------------------------------------------------------------
# Normalising


def key_matches(have, want_arn, aliases=()):
    """A key reference read back names the wanted key: AWS answers the key's ARN; moto answers the reference as it was
    given, so the alias and the alias's ARN count too."""
    candidates = set(c for c in [want_arn, (want_arn or "").split("/")[-1]] + list(aliases) if c)
    return bool(have) and have in candidates


def bare_group_arn(arn):
    """A log group ARN without the ':*' DescribeLogGroups' ``arn`` carries (and some APIs want, others not)."""
    return arn[:-2] if (arn or "").endswith(":*") else (arn or "")


def has_delivery_grant(acl):
    return any(g.get("Grantee", {}).get("ID") == AWSLOGSDELIVERY and g.get("Permission") == "FULL_CONTROL"
               for g in (acl or {}).get("Grants") or [])


# ---------------------------------------------------------------------------------------------------------------
# Planning (pure)


def wanted_groups(n, observed):
    """Region -> the log groups of this module there (only for what exists to log)."""
    out = {}
    if observed.get("vpc"):
        out.setdefault(n["region"], []).append(n["flow_group_arn"])
    if observed.get("zone"):
        out.setdefault(QUERY_LOG_REGION, []).append(n["query_group_arn"])
    return out


def plan_keys(plan, n, observed, tags):
    """The log key of each region that holds one of our groups. Returns region -> key ARN (or placeholder)."""
    arns = {}
    for region, groups in sorted(wanted_groups(n, observed).items()):
        key = observed["keys"].get(region)
        policy = key_policy(n, region, groups)
        service = "kms:%s" % region
        where = "%s in %s" % (n["alias"], region)
        if key is None:
            arns[region] = plan.call(service, "create_key", ["create key %s" % where], "create the key %s" % where,
                                     out="key %s" % where, pick=["KeyMetadata", "Arn"],
                                     Description="The launch's log groups in %s (VPC flow logs, Route 53 query logs)"
                                     % region, KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT",
                                     Policy=json.dumps(policy, sort_keys=True),
                                     Tags=[{"TagKey": k, "TagValue": v} for k, v in sorted(tags.items())])
            plan.call(service, "create_alias", [], "create alias %s" % where, AliasName=n["alias"],
                      TargetKeyId=arns[region])
            plan.call(service, "enable_key_rotation", ["turn on rotation of key %s" % where],
                      "turn on rotation of key %s" % where, KeyId=arns[region])
            continue
        arns[region] = key["arn"]
        if key["state"] in ("PendingDeletion", "PendingReplicaDeletion"):
            plan.problems.append("key %s (%s) is scheduled for deletion; cancel the deletion (kms cancel-key-deletion and"
                                 " enable-key) first" % (where, key["arn"]))
        elif key["state"] == "Disabled":
            plan.call(service, "enable_key", ["enable key %s" % where], "enable key %s" % key["arn"], KeyId=key["arn"])
        if normalise_policy(key["policy"]) != normalise_policy(policy):
            plan.call(service, "put_key_policy", ["set the policy of key %s" % where],
                      "set the policy of key %s" % key["arn"], KeyId=key["arn"], PolicyName="default",
                      Policy=json.dumps(policy, sort_keys=True))
        if not key["rotation"]:
            plan.call(service, "enable_key_rotation", ["turn on rotation of key %s" % where],
                      "turn on rotation of key %s" % key["arn"], KeyId=key["arn"])
    return arns


def plan_bucket(plan, p, n, observed, tags, sources):
    """The log bucket: made if missing, then each setting brought back to ours."""
    bucket, name = observed["log_bucket"], n["log_bucket"]
    if bucket is not None and bucket.get("foreign"):
        plan.problems.append("bucket %s exists and this account cannot read it (another account's, or a policy that"
                             " denies us); give another log_bucket" % name)
        return
    if bucket is None:
        create = {"Bucket": name}
        if n["region"] != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": n["region"]}
        plan.call("s3", "create_bucket", ["create bucket %s" % name], "create bucket %s" % name, **create)
        plan.call("s3", "put_bucket_tagging", [], "tag bucket %s" % name, Bucket=name,
                  Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
        bucket = {}
    if bucket.get("public_access_block") != PUBLIC_ACCESS_BLOCK:
        plan.call("s3", "put_public_access_block", ["block public access to bucket %s" % name],
                  "block public access to bucket %s" % name, Bucket=name,
                  PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK))
    cloudfront_logged = bool(observed.get("distribution"))
    ownership = "BucketOwnerPreferred" if cloudfront_logged else "BucketOwnerEnforced"
    if bucket.get("ownership") != ownership:
        why = " (CloudFront writes its logs through the ACL)" if cloudfront_logged else ""
        plan.call("s3", "put_bucket_ownership_controls", ["set object ownership %s on bucket %s%s" % (ownership, name, why)],
                  "set the object ownership of bucket %s" % name, Bucket=name,
                  OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]})
    if cloudfront_logged and not has_delivery_grant(bucket.get("acl")):
        plan.add("grant_log_delivery", "grant CloudFront's log delivery (awslogsdelivery) FULL_CONTROL on bucket %s"
                 % name, bucket=name)
    rules = bucket.get("encryption") or []
    algorithms = [((r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")) for r in rules]
    if algorithms != ["AES256"]:
        plan.call("s3", "put_bucket_encryption",
                  ["encrypt bucket %s with SSE-S3 (ALB and S3 server access logs accept no other)" % name],
                  "set the default encryption of bucket %s" % name, Bucket=name,
                  ServerSideEncryptionConfiguration={"Rules": [
                      {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    if bucket.get("versioning") != "Enabled":
        plan.call("s3", "put_bucket_versioning", ["turn on versioning of bucket %s" % name],
                  "turn on versioning of bucket %s" % name, Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    want_rules = lifecycle_rules(p)
    if lifecycle_view(bucket.get("lifecycle")) != lifecycle_view(want_rules):
        plan.call("s3", "put_bucket_lifecycle_configuration",
                  ["set the lifecycle of bucket %s (alb %d, cloudfront %d, s3-access %d days)"
                   % (name, p["alb_log_days"], p["cloudfront_log_days"], p["s3_access_log_days"])],
                  "set the lifecycle of bucket %s" % name, Bucket=name, LifecycleConfiguration={"Rules": want_rules})
    policy = bucket_policy(n, observed.get("lb"), sources)
    if normalise_policy(bucket.get("policy")) != normalise_policy(policy):
        plan.call("s3", "put_bucket_policy", ["set the policy of bucket %s" % name], "set the policy of bucket %s" % name,
                  Bucket=name, Policy=json.dumps(policy, sort_keys=True))


def plan_group(plan, region, group, retention, key_arn, observed_group, tags, alias):
    service = "logs:%s" % region
    if observed_group is None:
        plan.call(service, "create_log_group", ["create log group %s in %s" % (group, region)],
                  "create log group %s" % group, logGroupName=group, kmsKeyId=key_arn, tags=tags)
        plan.call(service, "put_retention_policy", [], "set the retention of log group %s" % group,
                  logGroupName=group, retentionInDays=retention)
        return
    if observed_group.get("retentionInDays") != retention:
        plan.call(service, "put_retention_policy", ["keep log group %s %d days (was %s)"
                                                    % (group, retention, observed_group.get("retentionInDays"))],
                  "set the retention of log group %s" % group, logGroupName=group, retentionInDays=retention)
    if not key_matches(observed_group.get("kmsKeyId"), key_arn, [alias]):
        plan.call(service, "associate_kms_key", ["encrypt log group %s with key %s" % (group, alias)],
                  "encrypt log group %s" % group, logGroupName=group, kmsKeyId=key_arn)


def plan_flow_logs(plan, p, n, observed, tags, key_arn):
    vpc = observed["vpc"]
    plan_group(plan, n["region"], n["flow_group"], p["flow_log_retention_days"], key_arn, observed["flow_group"], tags,
               n["alias"])
    role, trust, inline = observed["flow_role"], flow_trust_policy(n), flow_role_policy(n)
    if role is None:
        plan.call("iam", "create_role", ["create role %s" % n["flow_role"]], "create role %s" % n["flow_role"],
                  RoleName=n["flow_role"], AssumeRolePolicyDocument=json.dumps(trust, sort_keys=True),
                  Description="VPC Flow Logs delivers the flow logs of %s to %s" % (n["network"], n["flow_group"]),
                  Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
    elif normalise_policy(role["trust"]) != normalise_policy(trust):
        plan.call("iam", "update_assume_role_policy", ["set the trust policy of role %s" % n["flow_role"]],
                  "set the trust policy of role %s" % n["flow_role"], RoleName=n["flow_role"],
                  PolicyDocument=json.dumps(trust, sort_keys=True))
    if role is None or normalise_policy(role.get("inline")) != normalise_policy(inline):
        plan.call("iam", "put_role_policy", ["set the policy of role %s" % n["flow_role"]],
                  "set the policy of role %s" % n["flow_role"], RoleName=n["flow_role"],
                  PolicyName="deliver-to-log-group", PolicyDocument=json.dumps(inline, sort_keys=True))
    ours = [f for f in vpc.get("flow_logs") or [] if f.get("LogDestinationType", "cloud-watch-logs") == "cloud-watch-logs"
            and f.get("LogGroupName") == n["flow_group"]]
    good = [f for f in ours if f.get("TrafficType") == p["flow_log_traffic_type"]
            and f.get("DeliverLogsPermissionArn") == n["flow_role_arn"]
            and f.get("MaxAggregationInterval", 600) == FLOW_AGGREGATION]
    if good:
        return
    for old in ours:  # a flow log cannot be changed: replaced
        plan.call("ec2", "delete_flow_logs", ["delete flow log %s of vpc %s (%s, to be replaced)"
                                              % (old["FlowLogId"], vpc["id"], old.get("TrafficType"))],
                  "delete flow log %s" % old["FlowLogId"], FlowLogIds=[old["FlowLogId"]])
    text = "log %s traffic of vpc %s (%s) to %s" % (p["flow_log_traffic_type"], n["network"], vpc["id"], n["flow_group"])
    plan.add("create_flow_log", text,
             kwargs={"ResourceIds": [vpc["id"]], "ResourceType": "VPC", "TrafficType": p["flow_log_traffic_type"],
                     "LogDestinationType": "cloud-watch-logs", "LogGroupName": n["flow_group"],
                     "DeliverLogsPermissionArn": n["flow_role_arn"], "MaxAggregationInterval": FLOW_AGGREGATION,
                     "TagSpecifications": [{"ResourceType": "vpc-flow-log", "Tags": [
                         {"Key": k, "Value": v} for k, v in sorted(dict(tags, Name=n["flow_group"]).items())]}]})


def plan_query_logs(plan, p, n, observed, tags, key_arn):
    zone_id = observed["zone"]["id"]
    plan_group(plan, QUERY_LOG_REGION, n["query_group"], p["query_log_retention_days"], key_arn,
               observed["query_group"], tags, n["alias"])
    policy = query_resource_policy(n, zone_id)
    if normalise_policy(observed.get("query_policy")) != normalise_policy(policy):
        plan.call("logs:%s" % QUERY_LOG_REGION, "put_resource_policy",
                  ["let Route 53 write log group %s (resource policy %s)" % (n["query_group"], n["query_policy"])],
                  "put resource policy %s" % n["query_policy"], policyName=n["query_policy"],
                  policyDocument=json.dumps(policy, sort_keys=True))
    config = observed.get("query_config")
    if config is not None and bare_group_arn(config.get("CloudWatchLogsLogGroupArn")) == n["query_group_arn"]:
        return
    if config is not None:  # one configuration per zone, and it cannot be changed: replaced
        plan.call("route53", "delete_query_logging_config",
                  ["stop query logging of zone %s to %s (to be replaced)"
                   % (n["zone"], bare_group_arn(config.get("CloudWatchLogsLogGroupArn")))],
                  "delete query logging configuration %s" % config["Id"], Id=config["Id"])
    # the ARN as DescribeLogGroups answers it (':*' at the end): the form Route 53 checks the group by
    plan.call("route53", "create_query_logging_config", ["log the DNS queries of zone %s to %s in %s"
                                                         % (n["zone"], n["query_group"], QUERY_LOG_REGION)],
              "create the query logging configuration of zone %s" % n["zone"], HostedZoneId=zone_id,
              CloudWatchLogsLogGroupArn=n["query_group_arn"] + ":*")


def plan_logging(p, observed, n):
    """The whole plan from what was read (``observed``: log_bucket, keys, lb, distribution, sources, vpc, flow_group,
    flow_role, zone, query_group, query_policy, query_config; None for what does not exist) and the names. Pure.
    Order: keys, the bucket (its policy before anything delivers to it), the deliveries to S3, then the groups."""
    plan = Plan()
    tags = desired_tags(p.get("tags"))
    missing = []
    if n["load_balancer"] and observed.get("lb") is None:
        missing.append("load balancer %s not found in %s: its access logs are not set (run the network phase)"
                       % (n["load_balancer"], n["region"]))
    if n["distribution"] and observed.get("distribution") is None:
        missing.append("distribution %s not found: its standard logs are not set (run the edge phase)" % n["distribution"])
    if n["network"] and observed.get("vpc") is None:
        missing.append("network %s (its VPC) not found in %s: no flow logs (run the network phase)"
                       % (n["network"], n["region"]))
    if n["zone"] and observed.get("zone") is None:
        missing.append("public hosted zone %s not found: no query logs (run the dns_zone phase)" % n["zone"])
    sources = []
    for bucket in n["buckets"]:
        source = observed["sources"].get(bucket)
        if source is None:
            missing.append("bucket %s not found: its server access logs are not set" % bucket)
        elif source["region"] != n["region"]:
            plan.problems.append("bucket %s is in %s; S3 delivers server access logs only to a bucket in the same region"
                                 " (the log bucket is in %s): log it from a run in %s with a log bucket there"
                                 % (bucket, source["region"], n["region"], source["region"]))
        else:
            sources.append(bucket)
    plan.warnings.extend(missing)

    keys = plan_keys(plan, n, observed, tags)
    plan_bucket(plan, p, n, observed, tags, sources)
    destinations = {}
    lb = observed.get("lb")
    if lb is not None:
        want = {"access_logs.s3.enabled": "true", "access_logs.s3.bucket": n["log_bucket"],
                "access_logs.s3.prefix": PREFIXES["alb"].rstrip("/")}
        have = dict((k, lb["attributes"].get(k)) for k in want)
        if have != want:
            plan.call("elbv2", "modify_load_balancer_attributes",
                      ["send the access logs of load balancer %s to s3://%s/%s" % (n["load_balancer"], n["log_bucket"],
                                                                                   PREFIXES["alb"])],
                      "set the access logs of load balancer %s" % n["load_balancer"], LoadBalancerArn=lb["arn"],
                      Attributes=[{"Key": k, "Value": v} for k, v in sorted(want.items())])
        destinations["alb %s" % n["load_balancer"]] = "s3://%s/%s" % (n["log_bucket"], PREFIXES["alb"])
    dist = observed.get("distribution")
    if dist is not None:
        want = desired_logging(n)
        if dict((k, (dist["config"].get("Logging") or {}).get(k)) for k in want) != want:
            config = dict(dist["config"], Logging=want)
            plan.call("cloudfront", "update_distribution",
                      ["send the standard logs of distribution %s (%s) to s3://%s/%s"
                       % (n["distribution"], dist["id"], n["log_bucket"], PREFIXES["cloudfront"])],
                      "set the logging of distribution %s" % dist["id"], Id=dist["id"], IfMatch=dist["etag"],
                      DistributionConfig=config)
        destinations["cloudfront %s" % n["distribution"]] = "s3://%s/%s" % (n["log_bucket"], PREFIXES["cloudfront"])
    for bucket in sources:
        want = {"TargetBucket": n["log_bucket"], "TargetPrefix": "%s%s/" % (PREFIXES["s3"], bucket)}
        have = observed["sources"][bucket].get("logging") or {}
        if dict((k, have.get(k)) for k in want) != want:
            plan.call("s3", "put_bucket_logging", ["send the server access logs of bucket %s to s3://%s/%s"
                                                   % (bucket, want["TargetBucket"], want["TargetPrefix"])],
                      "set the server access logging of bucket %s" % bucket, Bucket=bucket,
                      BucketLoggingStatus={"LoggingEnabled": want})
        destinations["s3 %s" % bucket] = "s3://%s/%s" % (want["TargetBucket"], want["TargetPrefix"])
    outputs = {"log_bucket": n["log_bucket"], "key_arns": keys, "flow_log_group": "", "query_log_group": "",
               "destinations": destinations, "missing": missing}
    if observed.get("vpc") is not None:
        plan_flow_logs(plan, p, n, observed, tags, keys[n["region"]])
        outputs["flow_log_group"] = n["flow_group"]
        destinations["vpc %s" % n["network"]] = "logs:%s:%s" % (n["region"], n["flow_group"])
    if observed.get("zone") is not None:
        plan_query_logs(plan, p, n, observed, tags, keys[QUERY_LOG_REGION])
        outputs["query_log_group"] = n["query_group"]
        destinations["route53 %s" % n["zone"]] = "logs:%s:%s" % (QUERY_LOG_REGION, n["query_group"])
    return plan, outputs


def policies(n, observed):
    """Every policy document the module would write, each {name, kind, document} (what the role lints)."""
    sources = [b for b in n["buckets"] if (observed["sources"].get(b) or {}).get("region") == n["region"]]
    out = [{"name": "bucket %s" % n["log_bucket"], "kind": "resource",
            "document": bucket_policy(n, observed.get("lb"), sources)}]
    for region, groups in sorted(wanted_groups(n, observed).items()):
        out.append({"name": "key %s in %s" % (n["alias"], region), "kind": "key",
                    "document": key_policy(n, region, groups)})
    if observed.get("vpc") is not None:
        out.append({"name": "role %s trust" % n["flow_role"], "kind": "trust", "document": flow_trust_policy(n)})
        out.append({"name": "role %s policy deliver-to-log-group" % n["flow_role"], "kind": "identity",
                    "document": flow_role_policy(n)})
    if observed.get("zone") is not None:
        out.append({"name": "log resource policy %s" % n["query_policy"], "kind": "resource",
                    "document": query_resource_policy(n, observed["zone"]["id"])})
    return out


def state_view(n, observed):
    """Where each layer logs today (diff.before)."""
    lb, dist, vpc, config = observed.get("lb"), observed.get("distribution"), observed.get("vpc"), observed.get(
        "query_config")
    out = {"log_bucket": None if observed["log_bucket"] is None else dict(
        (k, v) for k, v in observed["log_bucket"].items() if k in ("ownership", "versioning", "public_access_block")),
        "keys": dict((r, k["arn"]) for r, k in sorted(observed["keys"].items()) if k)}
    if lb is not None:
        keys = ("access_logs.s3.enabled", "access_logs.s3.bucket", "access_logs.s3.prefix")
        out["alb"] = dict((k, lb["attributes"].get(k)) for k in keys)
    if dist is not None:
        out["cloudfront"] = dist["config"].get("Logging")
    out["s3_access"] = dict((b, (s or {}).get("logging") or None) for b, s in sorted(observed["sources"].items()))
    if vpc is not None:
        out["flow_logs"] = sorted("%s %s -> %s" % (f.get("TrafficType"), f.get("LogDestinationType"),
                                                   f.get("LogGroupName") or f.get("LogDestination"))
                                  for f in vpc.get("flow_logs") or [])
    if observed.get("zone") is not None:
        out["query_logging"] = bare_group_arn(config.get("CloudWatchLogsLogGroupArn")) if config else None
    return out


def planned_view(p, n, observed, outputs):
    """Where each layer logs once the plan is applied (diff.after)."""
    before = state_view(n, observed)
    out = dict(before)
    out["log_bucket"] = {"ownership": "BucketOwnerPreferred" if observed.get("distribution") else "BucketOwnerEnforced",
                         "versioning": "Enabled", "public_access_block": PUBLIC_ACCESS_BLOCK}
    out["keys"] = dict(outputs["key_arns"])
    if "alb" in out:
        out["alb"] = {"access_logs.s3.enabled": "true", "access_logs.s3.bucket": n["log_bucket"],
                      "access_logs.s3.prefix": PREFIXES["alb"].rstrip("/")}
    if "cloudfront" in out:
        out["cloudfront"] = desired_logging(n)
    out["s3_access"] = dict(before["s3_access"])
    for bucket in outputs["destinations"]:
        if bucket.startswith("s3 "):
            name = bucket[3:]
            out["s3_access"][name] = {"TargetBucket": n["log_bucket"], "TargetPrefix": "%s%s/" % (PREFIXES["s3"], name)}
    if "flow_logs" in out:
        kept = [line for line in before["flow_logs"] if not line.endswith("-> %s" % n["flow_group"])]
        out["flow_logs"] = sorted(kept + ["%s cloud-watch-logs -> %s" % (p["flow_log_traffic_type"], n["flow_group"])])
    if "query_logging" in out:
        out["query_logging"] = n["query_group_arn"]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Reading (one pass)


def read_key(module, kms, n, region):
    described = aws_read(module, kms, "describe key %s in %s" % (n["alias"], region), "describe_key",
                         missing=("NotFoundException",), KeyId=n["alias"])
    if described is None:
        return None
    meta = described["KeyMetadata"]
    policy = aws_call(module, kms, "read the policy of key %s" % n["alias"], "get_key_policy", KeyId=meta["Arn"],
                      PolicyName="default")["Policy"]
    rotation = aws_call(module, kms, "read the rotation of key %s" % n["alias"], "get_key_rotation_status",
                        KeyId=meta["Arn"]).get("KeyRotationEnabled")
    return {"arn": meta["Arn"], "state": meta.get("KeyState"), "policy": policy, "rotation": rotation}


def bucket_exists(module, s3, bucket):
    """'ours', 'foreign' (403) or None (404)."""
    try:
        s3.head_bucket(Bucket=bucket, aws_retry=True)
        return "ours"
    except botocore.exceptions.ClientError as e:
        if error_code(e) in ("404", "NoSuchBucket", "NotFound"):
            return None
        if error_code(e) in ("403", "AccessDenied"):
            return "foreign"
        module.fail_json_aws(e, msg="Could not read bucket %s" % bucket)
    except botocore.exceptions.BotoCoreError as e:
        module.fail_json_aws(e, msg="Could not read bucket %s" % bucket)


def read_log_bucket(module, s3, name):
    head = bucket_exists(module, s3, name)
    if head is None:
        return None
    if head == "foreign":
        return {"foreign": True}

    def read(what, method, missing=()):
        return aws_read(module, s3, "read the %s of bucket %s" % (what, name), method, missing=missing, Bucket=name)
    pab = read("public access block", "get_public_access_block", ("NoSuchPublicAccessBlockConfiguration",))
    own = read("object ownership", "get_bucket_ownership_controls", ("OwnershipControlsNotFoundError",))
    enc = read("encryption", "get_bucket_encryption", ("ServerSideEncryptionConfigurationNotFoundError",))
    ver = read("versioning", "get_bucket_versioning")
    life = read("lifecycle", "get_bucket_lifecycle_configuration", ("NoSuchLifecycleConfiguration",))
    pol = read("policy", "get_bucket_policy", ("NoSuchBucketPolicy",))
    acl = read("ACL", "get_bucket_acl")
    return {"public_access_block": (pab or {}).get("PublicAccessBlockConfiguration"),
            "ownership": ((own or {}).get("OwnershipControls", {}).get("Rules") or [{}])[0].get("ObjectOwnership"),
            "encryption": (enc or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules"),
            "versioning": ver.get("Status"), "lifecycle": (life or {}).get("Rules"), "policy": (pol or {}).get("Policy"),
            "acl": {"Owner": acl.get("Owner"), "Grants": acl.get("Grants") or []}}


def read_group(module, logs, group):
    groups = aws_call(module, logs, "list log groups %s" % group, "describe_log_groups",
                      logGroupNamePrefix=group).get("logGroups") or []
    return next((g for g in groups if g.get("logGroupName") == group), None)


def read_everything(module, clients, n):
    observed = {"log_bucket": None, "keys": {}, "lb": None, "distribution": None, "sources": {}, "vpc": None,
                "flow_group": None, "flow_role": None, "zone": None, "query_group": None, "query_policy": None,
                "query_config": None}
    s3 = clients["s3"]
    observed["log_bucket"] = read_log_bucket(module, s3, n["log_bucket"])
    for bucket in n["buckets"]:
        if bucket_exists(module, s3, bucket) != "ours":
            observed["sources"][bucket] = None
            continue
        location = aws_call(module, s3, "read the region of bucket %s" % bucket, "get_bucket_location", Bucket=bucket)
        region = location.get("LocationConstraint") or "us-east-1"
        region = "eu-west-1" if region == "EU" else region
        logging = aws_call(module, s3, "read the logging of bucket %s" % bucket, "get_bucket_logging", Bucket=bucket)
        observed["sources"][bucket] = {"region": region, "logging": logging.get("LoggingEnabled")}

    if n["load_balancer"]:
        elb = clients["elbv2"]
        found = aws_read(module, elb, "read load balancer %s" % n["load_balancer"], "describe_load_balancers",
                         missing=("LoadBalancerNotFound",), Names=[n["load_balancer"]])
        if found and found.get("LoadBalancers"):
            arn = found["LoadBalancers"][0]["LoadBalancerArn"]
            attributes = aws_call(module, elb, "read the attributes of load balancer %s" % n["load_balancer"],
                                  "describe_load_balancer_attributes", LoadBalancerArn=arn)["Attributes"]
            observed["lb"] = {"arn": arn, "attributes": dict((a["Key"], a["Value"]) for a in attributes)}

    if n["distribution"]:
        dists = cloudfront.Distributions(module)
        ours = cloudfront.find(dists, n["distribution"], [])[0]
        if ours is not None:
            config, etag = dists.get_config(ours["Id"])
            observed["distribution"] = {"id": ours["Id"], "config": config, "etag": etag}

    if n["network"]:
        ec2 = clients["ec2"]
        vpcs = aws_call(module, ec2, "find the VPC of network %s" % n["network"], "describe_vpcs", Filters=[
            {"Name": "tag:managed-by", "Values": [MANAGED_TAG[1]]}, {"Name": "tag:launch-network", "Values": [n["network"]]},
            {"Name": "tag:Name", "Values": [n["network"]]}]).get("Vpcs") or []
        if vpcs:
            vpc_id = vpcs[0]["VpcId"]
            flows = aws_call(module, ec2, "read the flow logs of vpc %s" % vpc_id, "describe_flow_logs",
                             Filters=[{"Name": "resource-id", "Values": [vpc_id]}]).get("FlowLogs") or []
            observed["vpc"] = {"id": vpc_id, "flow_logs": flows}
            observed["flow_group"] = read_group(module, clients["logs:%s" % n["region"]], n["flow_group"])
            iam = clients["iam"]
            role = aws_read(module, iam, "read role %s" % n["flow_role"], "get_role", missing=("NoSuchEntity",),
                            RoleName=n["flow_role"])
            if role is not None:
                inline = aws_read(module, iam, "read the policy of role %s" % n["flow_role"], "get_role_policy",
                                  missing=("NoSuchEntity",), RoleName=n["flow_role"], PolicyName="deliver-to-log-group")
                observed["flow_role"] = {"trust": role["Role"].get("AssumeRolePolicyDocument"),
                                         "inline": (inline or {}).get("PolicyDocument")}

    if n["zone"]:
        r53 = clients["route53"]
        answer = aws_call(module, r53, "find hosted zone %s" % n["zone"], "list_hosted_zones_by_name",
                          DNSName=n["zone"], MaxItems="100")
        public = [z for z in answer.get("HostedZones") or [] if z["Name"].rstrip(".").lower() == n["zone"]
                  and not (z.get("Config") or {}).get("PrivateZone")]
        if len(public) > 1:
            module.fail_json(msg="launch_logging: %d public hosted zones are named %s (%s); keep one and run again"
                             " (nothing was changed)" % (len(public), n["zone"], ", ".join(z["Id"] for z in public)))
        if public:
            zone_id = public[0]["Id"].split("/")[-1]
            observed["zone"] = {"id": zone_id}
            logs = clients["logs:%s" % QUERY_LOG_REGION]
            observed["query_group"] = read_group(module, logs, n["query_group"])
            policies_read, token = [], None
            while True:
                page = aws_call(module, logs, "read the CloudWatch Logs resource policies", "describe_resource_policies",
                                **({"nextToken": token} if token else {}))
                policies_read.extend(page.get("resourcePolicies") or [])
                token = page.get("nextToken")
                if not token:
                    break
            observed["query_policy"] = next((x.get("policyDocument") for x in policies_read
                                             if x.get("policyName") == n["query_policy"]), None)
            # Every configuration of the account, filtered here: ListQueryLoggingConfigs with HostedZoneId is the
            # narrower call, but moto 5.2 answers NoSuchHostedZone to it for a zone that exists.
            configs, token = [], None
            while True:
                page = aws_call(module, r53, "list the query logging configurations", "list_query_logging_configs",
                                **({"NextToken": token} if token else {}))
                configs.extend(page.get("QueryLoggingConfigs") or [])
                token = page.get("NextToken")
                if not token:
                    break
            observed["query_config"] = next((c for c in configs if c.get("HostedZoneId", "").split("/")[-1] == zone_id),
                                            None)

    for region in sorted(wanted_groups(n, observed)):
        observed["keys"][region] = read_key(module, clients["kms:%s" % region], n, region)
    return observed


# ---------------------------------------------------------------------------------------------------------------
# Handlers (steps that are more than one call)


def handlers(module, clients):
    def grant_log_delivery(step, real):
        """The bucket's ACL with the awslogsdelivery grant added (read now: a new bucket's owner is known only once it
        exists). PutBucketAcl replaces the whole ACL, so the grants already there are kept."""
        s3 = clients["s3"]
        acl = aws_call(module, s3, "read the ACL of bucket %s" % step["bucket"], "get_bucket_acl", Bucket=step["bucket"])
        if has_delivery_grant(acl):
            return None
        grant = {"Grantee": {"Type": "CanonicalUser", "ID": AWSLOGSDELIVERY}, "Permission": "FULL_CONTROL"}
        grants = list(acl.get("Grants") or []) + [grant]
        aws_call(module, s3, "grant CloudFront's log delivery on bucket %s" % step["bucket"], "put_bucket_acl",
                 Bucket=step["bucket"], AccessControlPolicy={"Owner": acl["Owner"], "Grants": grants})
        return None

    def create_flow_log(step, real):
        """CreateFlowLogs answers a failure inside a 200 (``Unsuccessful``), not as an error."""
        answer = aws_call(module, clients["ec2_flow_logs"], "create the flow log of %s" % step["kwargs"]["ResourceIds"][0],
                          "create_flow_logs", **real(step["kwargs"]))
        failed = answer.get("Unsuccessful") or []
        if failed:
            reasons = "; ".join((f.get("Error") or {}).get("Message", str(f)) for f in failed)
            module.fail_json(msg="Could not create the flow log of %s: %s" % (step["kwargs"]["ResourceIds"][0], reasons))
        return (answer.get("FlowLogIds") or [None])[0]

    return {"grant_log_delivery": grant_log_delivery, "create_flow_log": create_flow_log}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        log_bucket=dict(type="str"),
        load_balancer_name=dict(type="str"),
        distribution_name=dict(type="str"),
        network_name=dict(type="str"),
        buckets=dict(type="list", elements="str", default=[]),
        zone=dict(type="str", default=""),
        alb_log_days=dict(type="int", default=365),
        cloudfront_log_days=dict(type="int", default=365),
        s3_access_log_days=dict(type="int", default=365),
        log_transition_days=dict(type="int", default=30),
        flow_log_retention_days=dict(type="int", default=90),
        flow_log_traffic_type=dict(type="str", choices=["ALL", "ACCEPT", "REJECT"], default="ALL"),
        query_log_retention_days=dict(type="int", default=30),
        tags=dict(type="dict", default={}),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = dict(module.params)
    if p["load_balancer_name"] is None:
        p["load_balancer_name"] = "%s-alb" % p["name"]
    for key in ("distribution_name", "network_name"):
        if p[key] is None:
            p[key] = p["name"]
    region = module.region
    problems = input_problems(p, region)
    if problems:
        module.fail_json(msg="launch_logging: %s (nothing was changed)" % "; ".join(problems), problems=problems)

    identity = aws_call(module, retrying_client(module, "sts"), "read the caller's account", "get_caller_identity")
    n = names(p, identity["Account"], region, identity["Arn"].split(":")[1])
    clients = dict((s, retrying_client(module, s)) for s in ("s3", "elbv2", "ec2", "iam", "route53"))
    # A just-made role may not be assumable yet (IAM is eventually consistent): CreateFlowLogs alone is retried on it.
    clients["ec2_flow_logs"] = retrying_client(module, "ec2", extra_codes=["InvalidParameter", "AccessDenied"])
    # Route 53 checks the resource policy when the configuration is made; a just-put policy may not be seen yet.
    clients["route53"] = retrying_client(module, "route53", extra_codes=[
        "InsufficientCloudWatchLogsResourcePolicy", "PriorRequestNotComplete"])
    clients["cloudfront"] = retrying_client(module, "cloudfront")
    for where in set([region, QUERY_LOG_REGION]):
        clients["kms:%s" % where] = retrying_client(module, "kms", region=where)
        clients["logs:%s" % where] = retrying_client(module, "logs", region=where)
    observed = read_everything(module, clients, n)
    plan, outputs = plan_logging(p, observed, n)
    refuse(module, "launch_logging", plan)
    real = apply(module, plan, clients, handlers(module, clients))
    outputs = real(outputs)
    finish(module, plan, diff={"before": state_view(n, observed), "after": real(planned_view(p, n, observed, outputs))},
           policies=policies(n, observed), **outputs)


if __name__ == "__main__":
    main()
