# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key policies of the launch's customer-managed KMS keys - pure, shared by the modules and the filters that write
them, so every key is administered by the same named actions.

KMS's default key policy gives the account root ``kms:*`` ("Enable IAM User Permissions"): any principal of the
account whose IAM policy says ``kms:Decrypt`` on ``*`` can then decrypt with the key directly. The launch's keys
instead grant administration by name (no ``kms:*``, no cryptographic action) and use only through the AWS services
that hold data under them (``kms:ViaService``), so reading customer data needs both an IAM permission and a path
through the service that stores it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Administration of a key, by name: no cryptographic action (Encrypt, Decrypt, GenerateDataKey*), no CreateGrant.
KEY_ADMIN_ACTIONS = ["kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
                     "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
                     "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
                     "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:ScheduleKeyDeletion",
                     "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription"]
# What a service does with a key on a principal's behalf (RDS storage and snapshots, ElastiCache, Secrets Manager,
# S3 SSE-KMS): AWS's documented set for keys used through integrated services.
USE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
               "kms:ReEncryptFrom", "kms:ReEncryptTo"]
# Grants the services make for their own resources (RDS, ElastiCache and AWS Backup hold a grant per instance,
# cluster or copy job): only with kms:GrantIsForAWSResource, so no principal can grant itself use of the key.
GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
# The services that hold the launch's data under its data key.
DATA_SERVICES = ("rds", "elasticache", "secretsmanager", "s3")


def root(account, partition="aws"):
    return "arn:%s:iam::%s:root" % (partition, account)


def admin_statement(account, partition="aws"):
    return {"Sid": "KeyAdministration", "Effect": "Allow", "Principal": {"AWS": root(account, partition)},
            "Action": list(KEY_ADMIN_ACTIONS), "Resource": "*"}


def data_key_policy(account, region, partition="aws", services=DATA_SERVICES):
    """The data key's policy: administration by name; use and grants by the account's principals only through the
    services that hold the data, in the key's region."""
    via = sorted("%s.%s.amazonaws.com" % (service, region) for service in services)
    return {"Version": "2012-10-17", "Statement": [
        admin_statement(account, partition),
        {"Sid": "UseThroughTheDataServices", "Effect": "Allow", "Principal": {"AWS": root(account, partition)},
         "Action": list(USE_ACTIONS), "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": account, "kms:ViaService": via}}},
        {"Sid": "GrantsForTheServicesResources", "Effect": "Allow", "Principal": {"AWS": root(account, partition)},
         "Action": list(GRANT_ACTIONS), "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": account, "kms:ViaService": via},
                       "Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ]}


# What CloudWatch Logs does with a key for an encrypted group (AWS's documented kms:Encrypt*, Decrypt*, ReEncrypt*,
# GenerateDataKey*, by name; kms:Describe* is left out: it carries no encryption context, so under the group condition
# it would never be granted anyway).
LOGS_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom", "kms:ReEncryptTo"]
# What a service publishing to an encrypted topic needs (SNS's "compatibility between event sources from AWS services
# and encrypted topics"), and what the account's own publishers need through SNS.
TOPIC_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]
# The services that publish alerts to the administrators' topic: alarms, EventBridge rules, budgets, Cost Anomaly
# Detection and AWS Backup's vault notifications.
ALERT_PUBLISHERS = ("backup.amazonaws.com", "budgets.amazonaws.com", "cloudwatch.amazonaws.com",
                    "costalerts.amazonaws.com", "events.amazonaws.com")
# Publishers whose KMS requests carry aws:SourceAccount, so the statement can name this account. CloudWatch documents
# the condition for alarms publishing to an encrypted topic; SNS documents that EventBridge's requests do not carry it
# (aws:SourceAccount/SourceArn/SourceOrgID "are not supported" there, and every event would be dropped); Budgets, Cost
# Anomaly Detection and AWS Backup document it only for the topic policy, not for the key - so they get the topic's
# encryption context alone, which already limits them to the launch's topics in this account.
SOURCE_ACCOUNT_PUBLISHERS = ("cloudwatch.amazonaws.com",)


def operations_log_groups(name):
    """The launch's log groups the operations key encrypts, as name patterns: the services', the pooler's and the
    one-off tasks' ``/<name>/...`` groups and the web ACLs' ``aws-waf-logs-<name>-...`` groups (WAF requires that
    prefix). CloudTrail's group has the trail key, VPC flow and Route 53 query logs the logging key."""
    return ["/%s/*" % name, "aws-waf-logs-%s-*" % name]


def operations_key_policy(account, region, name, partition="aws", log_group_patterns=None,
                          publishers=ALERT_PUBLISHERS):
    """The operations key's policy (``alias/<name>-operations``, one per region that holds the alerts topic):
    administration by name; CloudWatch Logs of the region for the launch's log groups only (their ARN as encryption
    context); the alert publishers for the launch's topics only (SNS's ``aws:sns:topicArn`` encryption context, and
    ``aws:SourceAccount`` where the service's requests carry it); the account's principals only through SNS in the
    region. Nothing else: no principal decrypts log data or messages outside those services.

    The encryption contexts are matched with StringLike, not ArnLike: KMS types ``kms:EncryptionContext:*`` as strings
    (parliament: MISMATCHED_TYPE for ArnLike), and neither a log group name nor a topic name can hold the ``:`` that
    would make the two operators differ."""
    patterns = operations_log_groups(name) if log_group_patterns is None else list(log_group_patterns)
    me = root(account, partition)
    topics = "arn:%s:sns:%s:%s:%s-*" % (partition, region, account, name)
    statements = [admin_statement(account, partition)]
    if patterns:
        statements.append(
            {"Sid": "CloudWatchLogsForTheLaunchGroups", "Effect": "Allow",
             "Principal": {"Service": "logs.%s.amazonaws.com" % region}, "Action": list(LOGS_ACTIONS), "Resource": "*",
             "Condition": {"StringLike": {"kms:EncryptionContext:aws:logs:arn": sorted(
                 "arn:%s:logs:%s:%s:log-group:%s" % (partition, region, account, p) for p in patterns)}}})
    with_account = sorted(p for p in set(publishers) if p in SOURCE_ACCOUNT_PUBLISHERS)
    without = sorted(p for p in set(publishers) if p not in SOURCE_ACCOUNT_PUBLISHERS)
    if with_account:
        statements.append(
            {"Sid": "AlarmsPublishToTheLaunchTopics", "Effect": "Allow", "Principal": {"Service": with_account},
             "Action": list(TOPIC_ACTIONS), "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceAccount": account},
                           "StringLike": {"kms:EncryptionContext:aws:sns:topicArn": topics}}})
    if without:
        statements.append(
            {"Sid": "ServicesPublishToTheLaunchTopics", "Effect": "Allow", "Principal": {"Service": without},
             "Action": list(TOPIC_ACTIONS), "Resource": "*",
             "Condition": {"StringLike": {"kms:EncryptionContext:aws:sns:topicArn": topics}}})
    statements.append(
        {"Sid": "AccountPublishesThroughSns", "Effect": "Allow", "Principal": {"AWS": me},
         "Action": list(TOPIC_ACTIONS), "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": account, "kms:ViaService": "sns.%s.amazonaws.com" % region}}})
    return {"Version": "2012-10-17", "Statement": statements}
