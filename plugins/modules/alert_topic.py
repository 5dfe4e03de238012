#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: alert_topic
short_description: An SNS topic that e-mails the administrators, and the EventBridge rules and alarms that feed it
version_added: 0.2.0
description:
  - Keeps, in one call and one region, everything that routes alerts to the administrators - an SNS topic with
    e-mail subscriptions and a policy that lets AWS services publish to it, EventBridge rules on the default event
    bus whose only target is the topic, and CloudWatch metric alarms whose alarm and OK actions are the topic.
  - Compares only what it sets, after normalising (policies and event patterns as parsed JSON, alarm dimensions in
    any order, thresholds as numbers), so a second run with the same input changes nothing.
  - An e-mail subscription waiting for its confirmation counts as present and is never subscribed again (that would
    send another confirmation mail each run); such addresses are returned in RV(pending_confirmation).
  - Rules and alarms it made earlier that are no longer listed are left alone; remove them with O(state=absent)
    while they are still listed, or by hand.
  - Tags from O(tags) (and C(managed-by=directfanz.launch)) are added to the topic on every run and to rules and
    alarms when they are created; tags it did not set are never removed.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description: Name of the SNS topic, 1-256 letters, digits, hyphens or underscores (FIFO topics cannot e-mail).
    type: str
    required: true
  emails:
    description: E-mail addresses subscribed to the topic (compared without regard to case; listed twice counts once).
    type: list
    elements: str
    default: []
  purge_subscriptions:
    description:
      - Unsubscribe the topic's e-mail subscriptions whose address is not in O(emails).
      - A subscription still waiting for confirmation cannot be unsubscribed through the API; it is reported in a
        warning and AWS deletes it by itself when it stays unconfirmed. Subscriptions of other protocols are kept.
    type: bool
    default: true
  tags:
    description: Tags on the topic, and on rules and alarms this module creates (C(managed-by) is always added).
    type: dict
    default: {}
  publishers:
    description:
      - Service principals allowed to C(sns:Publish) to the topic, on behalf of this account only
        (condition C(aws:SourceAccount)). The account's own principals keep the usual topic-owner actions.
    type: list
    elements: str
    default: [events.amazonaws.com, cloudwatch.amazonaws.com, budgets.amazonaws.com, costalerts.amazonaws.com]
  kms_master_key_id:
    description:
      - The KMS key the topic is encrypted with at rest (SNS server-side encryption), as an alias
        (C(alias/<name>)) or the ARN of a key or an alias. Compared as written, as SNS answers it.
      - Omitted (the default) leaves the topic's encryption as it is, so a task that keeps the topic without this
        option never undoes the one that sets it.
      - The key's policy must let the O(publishers) use it (C(kms:GenerateDataKey*), C(kms:Decrypt)), or AWS drops
        what they publish; the launch's operations key policy (C(operations_key_policy)) does.
    type: str
  event_rules:
    description:
      - EventBridge rules on the default event bus, each C(ENABLED) with exactly one target, the topic (target
        id C(alert-topic)); other targets of a listed rule are removed.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Rule name, 1-64 letters, digits, dots, hyphens or underscores.
        type: str
        required: true
      description:
        description: What the rule sends (at most 512 characters).
        type: str
        default: ""
      event_pattern:
        description:
          - >-
            The event pattern, for example C({"source": ["aws.acm"]}). Required with O(state=present).
          - Every field holds a list of values or a nested object, as EventBridge requires.
        type: dict
  alarms:
    description:
      - CloudWatch metric alarms whose alarm and OK actions are the topic.
      - When an alarm is updated, its insufficient-data actions, datapoints to alarm and unit are kept.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Alarm name, 1-255 characters without control characters.
        type: str
        required: true
      description:
        description: What the alarm means and what to do (at most 1024 characters).
        type: str
        default: ""
      namespace:
        description: Metric namespace, for example C(AWS/CertificateManager). Required with O(state=present).
        type: str
      metric_name:
        description: Metric name, for example C(DaysToExpiry). Required with O(state=present).
        type: str
      dimensions:
        description: Metric dimensions, name to value.
        type: dict
        default: {}
      statistic:
        description:
          - One of C(Minimum), C(Maximum), C(Average), C(Sum), C(SampleCount). Required with O(state=present).
        type: str
      period:
        description: Seconds per evaluated period, a multiple of 60 (at least 60). Required with O(state=present).
        type: int
      evaluation_periods:
        description: Number of periods compared with the threshold (at least 1).
        type: int
        default: 1
      threshold:
        description: The value the statistic is compared with. Required with O(state=present).
        type: float
      comparison:
        description:
          - One of C(GreaterThanThreshold), C(GreaterThanOrEqualToThreshold), C(LessThanThreshold),
            C(LessThanOrEqualToThreshold). Required with O(state=present).
        type: str
      treat_missing_data:
        description: One of C(missing), C(notBreaching), C(breaching), C(ignore).
        type: str
        default: missing
  state:
    description:
      - C(present) creates or updates the topic, its subscriptions and policy, the rules and the alarms.
      - C(absent) deletes the listed alarms, the listed rules (with their targets) and then the topic with its
        subscriptions.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and returns the planned RV(actions) and C(changed); changes nothing. Before the topic
        exists its ARN is computed from the partition, region and account, so later tasks can use it.
  diff_mode:
    support: full
    description: Returns the topic (ARN, tags, policy, KMS key), the subscribed addresses, the listed rules and alarms,
      before and after.
"""

EXAMPLES = r"""
- name: Send ACM expiry events and the DaysToExpiry alarm to the administrators
  directfanz.launch.alert_topic:
    name: directfanz-alerts
    emails: [ops@example.com]
    kms_master_key_id: alias/directfanz-operations
    tags:
      project: directfanz
    region: us-east-1
    event_rules:
      - name: directfanz-acm-events
        description: ACM certificate expiry and renewal events
        event_pattern:
          source: [aws.acm]
          detail-type: [ACM Certificate Approaching Expiration, ACM Certificate Expired]
    alarms:
      - name: directfanz-certificate-days-to-expiry
        description: The certificate has fewer than 30 days left; check its validation CNAME.
        namespace: AWS/CertificateManager
        metric_name: DaysToExpiry
        dimensions:
          CertificateArn: arn:aws:acm:us-east-1:123456789012:certificate/abc
        statistic: Minimum
        period: 86400
        threshold: 30
        comparison: LessThanThreshold
  register: alerts

- name: Remove the alerting of a region
  directfanz.launch.alert_topic:
    name: directfanz-alerts
    region: eu-west-1
    state: absent
    event_rules:
      - name: directfanz-acm-events
    alarms:
      - name: directfanz-certificate-days-to-expiry
"""

RETURN = r"""
topic_arn:
  description: ARN of the topic (computed in check mode before the topic exists).
  returned: always
  type: str
  sample: arn:aws:sns:us-east-1:123456789012:directfanz-alerts
subscriptions:
  description:
    - The topic's subscriptions after the run, each C({endpoint, protocol, arn}); C(arn) is C(PendingConfirmation)
      while AWS waits for the address to confirm (and in check mode for addresses it would subscribe).
  returned: always
  type: list
  elements: dict
  contains:
    endpoint:
      description: The address.
      type: str
    protocol:
      description: The protocol, C(email) for the ones this module manages.
      type: str
    arn:
      description: Subscription ARN, or C(PendingConfirmation).
      type: str
pending_confirmation:
  description: Addresses whose subscription waits for the recipient to confirm it (in check mode, also new ones).
  returned: always
  type: list
  elements: str
rules:
  description: The listed EventBridge rules, each C({name, arn}) (empty after O(state=absent)).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Rule name.
      type: str
    arn:
      description: Rule ARN.
      type: str
alarms:
  description: The listed CloudWatch alarms, each C({name, arn}) (empty after O(state=absent)).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Alarm name.
      type: str
    arn:
      description: Alarm ARN.
      type: str
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create topic directfanz-alerts", "encrypt topic directfanz-alerts with alias/directfanz-operations (was none)",
           "subscribe ops@example.com", "update alarm x (threshold 30.0 -> 20.0)"]
"""

# Why a module of our own: community.aws.sns_topic (10.0) fails in check mode when the topic does not exist yet
# and a policy is given ("Cannot set ... policy ... for SNS topics not owned by this account"), so a first
# --check run of the launch stops here; amazon.aws.cloudwatchevent_rule (10.1) has no check mode at all; and the
# three tasks (sns_topic, cloudwatchevent_rule, cloudwatch_metric_alarm) per region become one call per region.

import json
import re

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, finish, refuse, retrying_client)

from ansible_collections.directfanz.launch.plugins.module_utils.validation import EMAIL

MANAGED_TAG = ("managed-by", "directfanz.launch")
TARGET_ID = "alert-topic"
PENDING = "PendingConfirmation"
# costalerts: Cost Anomaly Detection's IMMEDIATE alerts (cost_anomaly_monitor's SNS subscription)
DEFAULT_PUBLISHERS = ["events.amazonaws.com", "cloudwatch.amazonaws.com", "budgets.amazonaws.com",
                      "costalerts.amazonaws.com"]
# What SNS's own default topic policy lets the owning account do.
# What the topic policy grants the owning account: SNS's default owner statement without its permission management
# (AddPermission, RemovePermission, SetTopicAttributes - the policy linter's PERMISSIONS_MANAGEMENT_ACTIONS). Within
# the account, IAM policies already govern who may administer the topic; a resource policy granting the account root
# those actions only widens that to every principal IAM lets touch SNS.
OWNER_ACTIONS = ["SNS:DeleteTopic", "SNS:GetTopicAttributes", "SNS:ListSubscriptionsByTopic", "SNS:Publish",
                 "SNS:Subscribe"]
STATISTICS = ["Minimum", "Maximum", "Average", "Sum", "SampleCount"]
COMPARISONS = ["GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold",
               "LessThanOrEqualToThreshold"]
MISSING_DATA = ["missing", "notBreaching", "breaching", "ignore"]

TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
RULE_NAME = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A KMS key as SNS takes it for KmsMasterKeyId: an alias name, or the ARN of a key or of an alias. A bare key id is
# refused: it reads as nothing a person can check, and the other modules of the launch name keys by alias or ARN.
KMS_KEY = re.compile(r"^(alias/[A-Za-z0-9/_-]{1,250}|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:"
                     r"(key/[0-9a-f-]{1,64}|key/mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]{1,250}))$")


# ---------------------------------------------------------------------------------------------------------------
# Input checks (before any API call)


def _pattern_problem(pattern, path=""):
    """None when every field of an event pattern holds a list or a nested object, as EventBridge requires."""
    for key, value in pattern.items():
        where = "%s.%s" % (path, key) if path else key
        if isinstance(value, dict):
            if not value:
                return "field %r is an empty object" % where
            problem = _pattern_problem(value, where)
            if problem:
                return problem
        elif not isinstance(value, list) or not value:
            return ("field %r is %r; accepted: a non-empty list of values such as [\"aws.acm\"] or a nested object"
                    % (where, value))
    return None


def rule_problems(rules, state):
    problems = []
    seen = set()
    for index, rule in enumerate(rules):
        name = rule.get("name") or ""
        label = "event_rules[%d] (%s)" % (index, name)
        if not RULE_NAME.match(name):
            problems.append("%s: rule name %r is not valid; accepted: 1-64 letters, digits, '.', '-' or '_'"
                            % (label, name))
        if name in seen:
            problems.append("event rule %r is listed twice; accepted: each rule name once" % name)
        seen.add(name)
        if len(rule.get("description") or "") > 512:
            problems.append("%s: description is %d characters long; accepted: at most 512"
                            % (label, len(rule["description"])))
        if state != "present":
            continue
        pattern = rule.get("event_pattern")
        if not pattern:
            problems.append("%s: event_pattern is missing; accepted: an object such as {\"source\": [\"aws.acm\"]}"
                            % label)
        else:
            problem = _pattern_problem(pattern)
            if problem:
                problems.append("%s: event_pattern %s" % (label, problem))
    return problems


def alarm_problems(alarms, state):
    problems = []
    seen = set()
    for index, alarm in enumerate(alarms):
        name = alarm.get("name") or ""
        label = "alarms[%d] (%s)" % (index, name)
        if not name or len(name) > 255 or CONTROL.search(name):
            problems.append("%s: alarm name %r is not valid; accepted: 1-255 characters without control characters"
                            % (label, name))
        if name in seen:
            problems.append("alarm %r is listed twice; accepted: each alarm name once" % name)
        seen.add(name)
        if len(alarm.get("description") or "") > 1024:
            problems.append("%s: description is %d characters long; accepted: at most 1024"
                            % (label, len(alarm["description"])))
        if state != "present":
            continue
        for field in ("namespace", "metric_name", "statistic", "period", "threshold", "comparison"):
            if alarm.get(field) is None or alarm.get(field) == "":
                problems.append("%s: %s is missing; it is required with state=present" % (label, field))
        for field in ("namespace", "metric_name"):
            value = alarm.get(field)
            if value and (len(value) > 255 or value.startswith(":") or CONTROL.search(value)):
                problems.append("%s: %s %r is not valid; accepted: 1-255 characters, not starting with ':'"
                                % (label, field, value))
        statistic = alarm.get("statistic")
        if statistic and statistic not in STATISTICS:
            problems.append("%s: statistic %r is not accepted; accepted: %s" % (label, statistic, ", ".join(STATISTICS)))
        comparison = alarm.get("comparison")
        if comparison and comparison not in COMPARISONS:
            problems.append("%s: comparison %r is not accepted; accepted: %s"
                            % (label, comparison, ", ".join(COMPARISONS)))
        missing = alarm.get("treat_missing_data") or "missing"
        if missing not in MISSING_DATA:
            problems.append("%s: treat_missing_data %r is not accepted; accepted: %s"
                            % (label, missing, ", ".join(MISSING_DATA)))
        period = alarm.get("period")
        if period is not None and (period < 60 or period % 60):
            problems.append("%s: period %s is not accepted; accepted: a multiple of 60 seconds, at least 60"
                            % (label, period))
        evaluation_periods = alarm.get("evaluation_periods")
        if evaluation_periods is not None and evaluation_periods < 1:
            problems.append("%s: evaluation_periods %s is not accepted; accepted: 1 or more" % (label, evaluation_periods))
        dimensions = alarm.get("dimensions") or {}
        if len(dimensions) > 30:
            problems.append("%s: %d dimensions; accepted: at most 30" % (label, len(dimensions)))
        for key, value in dimensions.items():
            if not key or len(key) > 255 or value is None or not 1 <= len(str(value)) <= 1024:
                problems.append("%s: dimension %r=%r is not valid; accepted: a name of 1-255 and a value of 1-1024"
                                " characters" % (label, key, value))
    return problems


def input_problems(p):
    """Everything wrong with the module's parameters, each saying what is accepted; [] when all is well."""
    problems = []
    name = p.get("name") or ""
    if not TOPIC_NAME.match(name):
        problems.append("topic name %r is not valid; accepted: 1-256 letters, digits, '-' or '_' (no FIFO topics:"
                        " they cannot send e-mail)" % name)
    for address in p.get("emails") or []:
        if not isinstance(address, str) or not EMAIL.match(address):
            problems.append("e-mail address %r is not an address like ops@example.com" % (address,))
    for principal in p.get("publishers") or []:
        if not isinstance(principal, str) or not SERVICE_PRINCIPAL.match(principal):
            problems.append("publisher %r is not a service principal; accepted: names like events.amazonaws.com"
                            % (principal,))
    key = p.get("kms_master_key_id")
    if key is not None and not KMS_KEY.match(str(key)):
        problems.append("kms_master_key_id %r is not accepted; accepted: an alias such as alias/directfanz-operations,"
                        " or the ARN of a key or an alias (arn:aws:kms:<region>:<account>:key/<id>)" % (key,))
    for key, value in (p.get("tags") or {}).items():
        if not 1 <= len(str(key)) <= 128 or str(key).lower().startswith("aws:"):
            problems.append("tag key %r is not valid; accepted: 1-128 characters, not starting with 'aws:'" % (key,))
        if value is None or len(str(value)) > 256:
            problems.append("tag %r has value %r; accepted: a string of at most 256 characters" % (key, value))
    state = p.get("state") or "present"
    problems += rule_problems(p.get("event_rules") or [], state)
    problems += alarm_problems(p.get("alarms") or [], state)
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Normalising and comparing


def _as_list(value):
    return list(value) if isinstance(value, list) else [value]


def _sorted_values(values):
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True))


def normalise_statement(statement):
    out = {}
    for key, value in statement.items():
        if key in ("Action", "NotAction"):
            out[key] = sorted(set(a.lower() for a in _as_list(value)))
        elif key in ("Resource", "NotResource"):
            out[key] = sorted(set(_as_list(value)))
        elif key in ("Principal", "NotPrincipal"):
            value = {"AWS": "*"} if value == "*" else value
            out[key] = {kind: sorted(set(_as_list(ids))) for kind, ids in value.items()}
        elif key == "Condition":
            out[key] = {operator: {ckey.lower(): sorted(set(str(v) for v in _as_list(cvalue)))
                                   for ckey, cvalue in conditions.items()}
                        for operator, conditions in value.items()}
        else:
            out[key] = value
    return out


def normalise_policy(policy):
    """A policy document (dict or JSON text) in a form where equal meaning compares equal: statements sorted by Sid,
    single values as one-element lists, lists sorted, action names and condition keys in lower case, Id dropped."""
    if policy is None or policy == "":
        return None
    if isinstance(policy, str):
        policy = json.loads(policy)
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    normalised = [normalise_statement(s) for s in statements]
    return {"Version": policy.get("Version", "2008-10-17"),
            "Statement": sorted(normalised, key=lambda s: (str(s.get("Sid", "")), json.dumps(s, sort_keys=True)))}


def topic_policy(topic_arn, account, partition, publishers):
    """The policy we want on the topic: the owning account keeps SNS's usual owner actions but permission management,
    and each publisher service may publish on behalf of this account only."""
    statements = [{"Sid": "AccountPrincipals", "Effect": "Allow",
                   "Principal": {"AWS": "arn:%s:iam::%s:root" % (partition, account)},
                   "Action": list(OWNER_ACTIONS), "Resource": topic_arn}]
    if publishers:
        statements.append({"Sid": "ServicePublishers", "Effect": "Allow",
                           "Principal": {"Service": sorted(set(publishers))}, "Action": "sns:Publish",
                           "Resource": topic_arn, "Condition": {"StringEquals": {"aws:SourceAccount": account}}})
    return {"Version": "2012-10-17", "Statement": statements}


def normalise_pattern(pattern):
    """An event pattern (dict or JSON text) with its lists sorted: EventBridge matches any value of a list, so order
    carries no meaning."""
    if pattern is None or pattern == "":
        return None
    return _sorted_lists(json.loads(pattern) if isinstance(pattern, str) else pattern)


def _sorted_lists(value):
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return _sorted_values([_sorted_lists(v) for v in value])
    return value


def desired_tags(tags):
    out = {str(k): str(v) for k, v in (tags or {}).items()}
    out[MANAGED_TAG[0]] = MANAGED_TAG[1]
    return out


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def alarm_request(alarm, topic_arn):
    """The PutMetricAlarm parameters for one alarm of the module's input."""
    request = {
        "AlarmName": alarm["name"],
        "ActionsEnabled": True,
        "AlarmActions": [topic_arn],
        "OKActions": [topic_arn],
        "Namespace": alarm["namespace"],
        "MetricName": alarm["metric_name"],
        "Dimensions": [{"Name": str(k), "Value": str(v)} for k, v in sorted((alarm.get("dimensions") or {}).items())],
        "Statistic": alarm["statistic"],
        "Period": int(alarm["period"]),
        "EvaluationPeriods": int(alarm.get("evaluation_periods") or 1),
        "Threshold": float(alarm["threshold"]),
        "ComparisonOperator": alarm["comparison"],
        "TreatMissingData": alarm.get("treat_missing_data") or "missing",
    }
    if alarm.get("description"):
        request["AlarmDescription"] = alarm["description"]
    return request


def alarm_view(alarm):
    """The fields we set of an alarm, from a PutMetricAlarm request or a DescribeAlarms answer, normalised."""
    threshold = alarm.get("Threshold")
    return {
        "description": alarm.get("AlarmDescription") or "",
        "namespace": alarm.get("Namespace"),
        "metric_name": alarm.get("MetricName"),
        "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []},
        "statistic": alarm.get("Statistic"),
        "period": alarm.get("Period"),
        "evaluation_periods": alarm.get("EvaluationPeriods"),
        "threshold": None if threshold is None else float(threshold),
        "comparison": alarm.get("ComparisonOperator"),
        "treat_missing_data": alarm.get("TreatMissingData") or "missing",
        "actions_enabled": alarm.get("ActionsEnabled", True),
        "alarm_actions": sorted(alarm.get("AlarmActions") or []),
        "ok_actions": sorted(alarm.get("OKActions") or []),
    }


# Fields whose old and new values are short enough to show in an action.
_SHOWN = ("namespace", "metric_name", "dimensions", "statistic", "period", "evaluation_periods", "threshold",
          "comparison", "treat_missing_data", "actions_enabled")


def alarm_differences(existing, request):
    """What differs between an existing alarm and the request, as "field old -> new" (or just the field name for
    long values), in a fixed order; [] when the alarm already matches."""
    before, after = alarm_view(existing), alarm_view(request)
    out = []
    for field in ("description", "namespace", "metric_name", "dimensions", "statistic", "period", "evaluation_periods",
                  "threshold", "comparison", "treat_missing_data", "actions_enabled", "alarm_actions", "ok_actions"):
        if before[field] != after[field]:
            label = field.replace("_", " ")
            out.append("%s %r -> %r" % (label, before[field], after[field]) if field in _SHOWN else label)
    return out


def rule_view(rule):
    """Description, pattern and state of a rule (DescribeRule answer or our input), normalised."""
    return {"description": rule.get("Description") or "", "event_pattern": normalise_pattern(rule.get("EventPattern")),
            "state": rule.get("State")}


def rule_differences(existing, wanted):
    before, after = rule_view(existing), rule_view(wanted)
    out = []
    if before["description"] != after["description"]:
        out.append("description")
    if before["event_pattern"] != after["event_pattern"]:
        out.append("event pattern")
    if before["state"] != after["state"]:
        out.append("state %s -> %s" % (before["state"], after["state"]))
    return out


def target_is_ours(target, topic_arn):
    """Our target: id alert-topic, the topic's ARN, and nothing that would change the event sent."""
    return target.get("Id") == TARGET_ID and target.get("Arn") == topic_arn and set(target) <= {"Id", "Arn"}


# ---------------------------------------------------------------------------------------------------------------
# Planning: what to call, from what was read. Pure; main() runs the plan.


def plan_subscriptions(existing, emails, purge):
    """From the topic's subscriptions and the wanted addresses: (addresses to subscribe, e-mail subscriptions to
    unsubscribe, pending addresses to keep, pending addresses that cannot be unsubscribed). Addresses compare
    without regard to case; a pending subscription counts as present."""
    wanted = []
    for address in emails:
        if address.lower() not in [w.lower() for w in wanted]:
            wanted.append(address)
    present = {}
    for sub in existing:
        if sub.get("Protocol") != "email" or sub.get("SubscriptionArn") == "Deleted":
            continue
        present.setdefault(sub["Endpoint"].lower(), []).append(sub)
    wanted_keys = set(a.lower() for a in wanted)
    subscribe = [a for a in wanted if a.lower() not in present]
    pending = sorted(subs[0]["Endpoint"] for key, subs in present.items()
                     if key in wanted_keys and any(s["SubscriptionArn"] == PENDING for s in subs))
    unsubscribe, stuck = [], []
    if purge:
        for key in sorted(present):
            if key in wanted_keys:
                continue
            for sub in present[key]:
                (stuck if sub["SubscriptionArn"] == PENDING else unsubscribe).append(sub)
    return subscribe, unsubscribe, pending, sorted(s["Endpoint"] for s in stuck)


def plan_present(p, observed, ctx):
    """Operations (in order) that make AWS match the input, given what was read. ``observed`` holds ``topic``
    (None, or {arn, policy, tags}), ``subscriptions`` (ListSubscriptionsByTopic entries), ``rules`` (name ->
    DescribeRule answer plus ``Targets``) and ``alarms`` (name -> DescribeAlarms entry); ``ctx`` holds the
    ``topic_arn``, ``account`` and ``partition``. Returns (the plan, the addresses pending confirmation)."""
    plan = Plan()
    name, arn = p["name"], ctx["topic_arn"]
    tags = desired_tags(p["tags"])
    policy = topic_policy(arn, ctx["account"], ctx["partition"], p["publishers"])
    topic = observed["topic"]
    key = p.get("kms_master_key_id")
    if topic is None:
        attributes = {"Policy": json.dumps(policy, sort_keys=True)}
        texts = ["create topic %s" % name]
        if key:
            attributes["KmsMasterKeyId"] = key
            texts = ["create topic %s encrypted with %s" % (name, key)]
        plan.call("sns", "create_topic", texts, "create topic %s" % name, Name=name, Attributes=attributes,
                  Tags=tag_list(tags))
    else:
        changed_tags = {k: v for k, v in tags.items() if topic["tags"].get(k) != v}
        if changed_tags:
            plan.call("sns", "tag_resource",
                      ["tag topic %s (%s)" % (name, ", ".join("%s=%s" % kv for kv in sorted(changed_tags.items())))],
                      "tag topic %s" % arn, ResourceArn=arn, Tags=tag_list(changed_tags))
        if normalise_policy(topic["policy"]) != normalise_policy(policy):
            plan.call("sns", "set_topic_attributes", ["set the policy of topic %s" % name],
                      "set the policy of topic %s" % arn, TopicArn=arn, AttributeName="Policy",
                      AttributeValue=json.dumps(policy, sort_keys=True))
        # compared as written: SNS answers KmsMasterKeyId as it was set (an alias stays an alias)
        if key and (topic.get("kms_master_key_id") or "") != key:
            plan.call("sns", "set_topic_attributes", ["encrypt topic %s with %s (was %s)"
                                                      % (name, key, topic.get("kms_master_key_id") or "none")],
                      "set the KMS key of topic %s" % arn, TopicArn=arn, AttributeName="KmsMasterKeyId",
                      AttributeValue=key)

    subscribe, unsubscribe, pending, stuck = plan_subscriptions(observed["subscriptions"], p["emails"],
                                                                p["purge_subscriptions"])
    for address in subscribe:
        plan.call("sns", "subscribe", ["subscribe %s" % address], "subscribe %s to topic %s"
                  % (address, arn), TopicArn=arn, Protocol="email", Endpoint=address)
    for sub in unsubscribe:
        plan.call("sns", "unsubscribe", ["unsubscribe %s" % sub["Endpoint"]], "unsubscribe %s (%s)"
                  % (sub["Endpoint"], sub["SubscriptionArn"]), SubscriptionArn=sub["SubscriptionArn"])
    for address in stuck:
        plan.warnings.append("%s is no longer listed but its subscription still waits for confirmation, which the"
                             " API cannot unsubscribe; AWS deletes it by itself if it stays unconfirmed" % address)

    for rule in p["event_rules"]:
        wanted = {"Description": rule.get("description") or "", "EventPattern": rule["event_pattern"],
                  "State": "ENABLED"}
        existing = observed["rules"].get(rule["name"])
        request = dict(Name=rule["name"], EventPattern=json.dumps(rule["event_pattern"], sort_keys=True),
                       State="ENABLED", Description=rule.get("description") or "")
        if existing is None:
            plan.call("events", "put_rule", ["create rule %s" % rule["name"]], "create rule %s"
                      % rule["name"], Tags=tag_list(tags), **request)
            targets = []
        else:
            differences = rule_differences(existing, wanted)
            if differences:
                plan.call("events", "put_rule", ["update rule %s (%s)" % (rule["name"], ", ".join(differences))],
                          "update rule %s" % rule["name"], **request)
            targets = existing.get("Targets", [])
        if not any(target_is_ours(t, arn) for t in targets):
            plan.call("events", "put_targets", ["send rule %s to topic %s" % (rule["name"], name)],
                      "set the target of rule %s" % rule["name"], Rule=rule["name"],
                      Targets=[{"Id": TARGET_ID, "Arn": arn}])
        others = sorted(t["Id"] for t in targets if t.get("Id") != TARGET_ID)
        if others:
            plan.call("events", "remove_targets", ["remove targets %s from rule %s" % (", ".join(others),
                                                                                       rule["name"])],
                      "remove targets %s from rule %s" % (", ".join(others), rule["name"]),
                      Rule=rule["name"], Ids=others)

    for alarm in p["alarms"]:
        request = alarm_request(alarm, arn)
        existing = observed["alarms"].get(alarm["name"])
        if existing is None:
            plan.call("cloudwatch", "put_metric_alarm", ["create alarm %s" % alarm["name"]],
                      "create alarm %s" % alarm["name"], Tags=tag_list(tags), **request)
            continue
        differences = alarm_differences(existing, request)
        if differences:
            # PutMetricAlarm replaces the whole definition: keep what we do not manage.
            for field in ("InsufficientDataActions", "Unit"):
                if existing.get(field):
                    request[field] = existing[field]
            if existing.get("DatapointsToAlarm") and existing["DatapointsToAlarm"] <= request["EvaluationPeriods"]:
                request["DatapointsToAlarm"] = existing["DatapointsToAlarm"]
            plan.call("cloudwatch", "put_metric_alarm",
                      ["update alarm %s (%s)" % (alarm["name"], ", ".join(differences))],
                      "update alarm %s" % alarm["name"], **request)
    return plan, pending


def plan_absent(p, observed):
    """The plan that deletes the listed alarms, the listed rules (targets first) and the topic."""
    plan = Plan()
    names = [a["name"] for a in p["alarms"] if a["name"] in observed["alarms"]]
    for start in range(0, len(names), 100):  # DeleteAlarms takes up to 100 names
        batch = names[start:start + 100]
        plan.call("cloudwatch", "delete_alarms", ["delete alarm %s" % n for n in batch],
                  "delete alarms %s" % ", ".join(batch), AlarmNames=batch)
    for rule in p["event_rules"]:
        existing = observed["rules"].get(rule["name"])
        if existing is None:
            continue
        ids = sorted(t["Id"] for t in existing.get("Targets", []))
        if ids:
            plan.call("events", "remove_targets", ["remove targets %s from rule %s" % (", ".join(ids),
                                                                                       rule["name"])],
                      "remove the targets of rule %s" % rule["name"], Rule=rule["name"], Ids=ids)
        plan.call("events", "delete_rule", ["delete rule %s" % rule["name"]], "delete rule %s"
                  % rule["name"], Name=rule["name"])
    if observed["topic"] is not None:
        plan.call("sns", "delete_topic", ["delete topic %s" % p["name"]], "delete topic %s"
                  % observed["topic"]["arn"], TopicArn=observed["topic"]["arn"])
    return plan


def subscription_result(subs):
    return sorted(({"endpoint": s["Endpoint"], "protocol": s["Protocol"], "arn": s["SubscriptionArn"]} for s in subs
                   if s.get("SubscriptionArn") != "Deleted"), key=lambda s: (s["protocol"], s["endpoint"].lower()))


def planned_subscriptions(observed_subs, plan):
    """The subscriptions once the planned subscribe/unsubscribe calls are made (new ones await confirmation)."""
    gone = set(step["kwargs"]["SubscriptionArn"] for step in plan.steps if step["op"] == "unsubscribe")
    subs = [s for s in observed_subs if s["SubscriptionArn"] not in gone]
    subs += [{"Endpoint": step["kwargs"]["Endpoint"], "Protocol": "email", "SubscriptionArn": PENDING}
             for step in plan.steps if step["op"] == "subscribe"]
    return subs


def state_view(p, topic, subs, rules, alarms):
    """The managed state, compact, for diff.before / diff.after."""
    if topic is None and not rules and not alarms:
        return {}
    out = {"subscriptions": sorted(s["Endpoint"] for s in subs if s.get("Protocol") == "email"
                                   and s.get("SubscriptionArn") != "Deleted"),
           "rules": {n: dict(rule_view(r), targets=sorted(t["Arn"] for t in r.get("Targets", [])))
                     for n, r in rules.items()},
           "alarms": {n: alarm_view(a) for n, a in alarms.items()}}
    if topic is not None:
        # the policy on one line: a change shows as one changed line, not a page of JSON
        out["topic"] = {"name": p["name"], "arn": topic["arn"], "tags": topic["tags"],
                        "policy": json.dumps(normalise_policy(topic["policy"]), sort_keys=True, separators=(",", ":")),
                        "kms_master_key_id": topic.get("kms_master_key_id") or ""}
    return out


def planned_view(p, observed, ctx, plan):
    """diff.after: the state the plan leads to."""
    if p["state"] == "absent":
        return {}
    arn = ctx["topic_arn"]
    tags = dict(observed["topic"]["tags"] if observed["topic"] else {}, **desired_tags(p["tags"]))
    topic = {"arn": arn, "tags": tags, "policy": topic_policy(arn, ctx["account"], ctx["partition"], p["publishers"]),
             "kms_master_key_id": p.get("kms_master_key_id") or (observed["topic"] or {}).get("kms_master_key_id")}
    rules = {r["name"]: {"Description": r.get("description") or "", "EventPattern": r["event_pattern"],
                         "State": "ENABLED", "Targets": [{"Id": TARGET_ID, "Arn": arn}]}
             for r in p["event_rules"]}
    alarms = {a["name"]: alarm_request(a, arn) for a in p["alarms"]}
    return state_view(p, topic, planned_subscriptions(observed["subscriptions"], plan), rules, alarms)


# ---------------------------------------------------------------------------------------------------------------
# Reading


def _code(error):
    return error.response.get("Error", {}).get("Code", "") if hasattr(error, "response") else ""


def read_topic(module, sns, arn):
    """None when the topic does not exist, else its ARN, policy (JSON text), KMS key (as SNS answers it) and tags."""
    try:
        attributes = sns.get_topic_attributes(TopicArn=arn, aws_retry=True)["Attributes"]
    except botocore.exceptions.ClientError as e:
        if _code(e) in ("NotFound", "NotFoundException"):
            return None
        module.fail_json_aws(e, msg="Could not read topic %s" % arn)
    except botocore.exceptions.BotoCoreError as e:
        module.fail_json_aws(e, msg="Could not read topic %s" % arn)
    try:
        tags = sns.list_tags_for_resource(ResourceArn=arn, aws_retry=True).get("Tags", [])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not read the tags of topic %s" % arn)
    return {"arn": arn, "policy": attributes.get("Policy"), "kms_master_key_id": attributes.get("KmsMasterKeyId") or "",
            "tags": {t["Key"]: t["Value"] for t in tags}}


def read_subscriptions(module, sns, arn):
    subs, kwargs = [], {"TopicArn": arn}
    try:
        while True:
            page = sns.list_subscriptions_by_topic(aws_retry=True, **kwargs)
            subs += page.get("Subscriptions", [])
            if not page.get("NextToken"):
                return subs
            kwargs["NextToken"] = page["NextToken"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not list the subscriptions of topic %s" % arn)


def read_rule(module, events, name):
    """None when the rule does not exist on the default bus, else DescribeRule's answer plus its Targets."""
    try:
        rule = events.describe_rule(Name=name, aws_retry=True)
    except botocore.exceptions.ClientError as e:
        if _code(e) == "ResourceNotFoundException":
            return None
        module.fail_json_aws(e, msg="Could not read rule %s" % name)
    except botocore.exceptions.BotoCoreError as e:
        module.fail_json_aws(e, msg="Could not read rule %s" % name)
    targets, kwargs = [], {"Rule": name}
    try:
        while True:
            page = events.list_targets_by_rule(aws_retry=True, **kwargs)
            targets += page.get("Targets", [])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not list the targets of rule %s" % name)
    return dict(rule, Targets=targets)


def read_alarms(module, cloudwatch, names):
    """name -> DescribeAlarms entry for those of ``names`` that exist (100 names a call)."""
    found = {}
    for start in range(0, len(names), 100):
        kwargs = {"AlarmNames": names[start:start + 100], "AlarmTypes": ["MetricAlarm"]}
        try:
            while True:
                page = cloudwatch.describe_alarms(aws_retry=True, **kwargs)
                for alarm in page.get("MetricAlarms", []):
                    found[alarm["AlarmName"]] = alarm
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Could not describe alarms %s" % ", ".join(names[start:start + 100]))
    return found


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            emails=dict(type="list", elements="str", default=[]),
            purge_subscriptions=dict(type="bool", default=True),
            tags=dict(type="dict", default={}),
            publishers=dict(type="list", elements="str", default=list(DEFAULT_PUBLISHERS)),
            kms_master_key_id=dict(type="str", no_log=False),
            event_rules=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                description=dict(type="str", default=""),
                event_pattern=dict(type="dict"),
            )),
            alarms=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                description=dict(type="str", default=""),
                namespace=dict(type="str"),
                metric_name=dict(type="str"),
                dimensions=dict(type="dict", default={}),
                statistic=dict(type="str"),
                period=dict(type="int"),
                evaluation_periods=dict(type="int", default=1),
                threshold=dict(type="float"),
                comparison=dict(type="str"),
                treat_missing_data=dict(type="str", default="missing"),
            )),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="alert_topic refused the input: %s" % "; ".join(problems), problems=problems)

    clients = dict((service, retrying_client(module, service, retries=8, max_delay=20))
                   for service in ("sts", "sns", "events", "cloudwatch"))
    try:
        identity = clients["sts"].get_caller_identity(aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not read the account id with STS GetCallerIdentity")
    partition = identity["Arn"].split(":")[1]
    account = identity["Account"]
    region = module.region
    ctx = {"account": account, "partition": partition,
           "topic_arn": "arn:%s:sns:%s:%s:%s" % (partition, region, account, p["name"])}

    topic = read_topic(module, clients["sns"], ctx["topic_arn"])
    observed = {
        "topic": topic,
        "subscriptions": read_subscriptions(module, clients["sns"], topic["arn"]) if topic else [],
        "rules": {},
        "alarms": read_alarms(module, clients["cloudwatch"], [a["name"] for a in p["alarms"]]),
    }
    for rule in p["event_rules"]:
        found = read_rule(module, clients["events"], rule["name"])
        if found is not None:
            observed["rules"][rule["name"]] = found

    pending = []
    if p["state"] == "absent":
        plan = plan_absent(p, observed)
    else:
        plan, pending = plan_present(p, observed, ctx)
    refuse(module, "alert_topic %s" % p["name"], plan)
    diff = None
    if module._diff:
        diff = {"before": state_view(p, topic, observed["subscriptions"], observed["rules"], observed["alarms"]),
                "after": planned_view(p, observed, ctx, plan)}

    def create_topic(step, real):
        answer = aws_call(module, clients["sns"], step["failure"], "create_topic", **step["kwargs"])
        if answer["TopicArn"] != ctx["topic_arn"]:
            module.fail_json(msg="SNS created topic %s, not %s as computed from the account and region; nothing"
                                 " after it was done" % (answer["TopicArn"], ctx["topic_arn"]), actions_done=[])
        return answer["TopicArn"]

    apply(module, plan, clients, handlers={"create_topic": create_topic})
    result = {"topic_arn": ctx["topic_arn"]}

    if p["state"] == "absent":
        finish(module, plan, diff, subscriptions=[], pending_confirmation=[], rules=[], alarms=[], **result)

    if any(step["op"] in ("create_topic", "subscribe", "unsubscribe") for step in plan.steps) and not module.check_mode:
        subs = read_subscriptions(module, clients["sns"], ctx["topic_arn"])  # what AWS made of it, pending or not
        wanted = set(a.lower() for a in p["emails"])
        pending = sorted(s["Endpoint"] for s in subs if s["Protocol"] == "email"
                         and s["SubscriptionArn"] == PENDING and s["Endpoint"].lower() in wanted)
    else:
        subs = planned_subscriptions(observed["subscriptions"], plan)
        pending = sorted(set(pending) | set(step["kwargs"]["Endpoint"] for step in plan.steps if step["op"] == "subscribe"))
    rules = [{"name": r["name"], "arn": observed["rules"].get(r["name"], {}).get(
        "Arn", "arn:%s:events:%s:%s:rule/%s" % (partition, region, account, r["name"]))} for r in p["event_rules"]]
    alarms = [{"name": a["name"], "arn": observed["alarms"].get(a["name"], {}).get(
        "AlarmArn", "arn:%s:cloudwatch:%s:%s:alarm:%s" % (partition, region, account, a["name"]))} for a in p["alarms"]]
    finish(module, plan, diff, subscriptions=subscription_result(subs), pending_confirmation=pending, rules=rules,
           alarms=alarms, **result)


if __name__ == "__main__":
    main()
