#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cost_anomaly_monitor
short_description: A Cost Anomaly Detection monitor of the account's services and its alert subscriptions
version_added: 0.9.0
description:
  - Keeps one AWS managed Cost Anomaly Detection monitor (C(MonitorType=DIMENSIONAL), C(MonitorDimension=SERVICE) -
    every service of the account evaluated on its own) and the alert subscriptions to it (requirement 6.4), in one
    call. Cost Explorer is a global API served from C(us-east-1), whatever O(region) says.
  - AWS sends an anomaly by e-mail only in a C(DAILY) or C(WEEKLY) summary and to SNS only C(IMMEDIATE)ly, so the
    e-mail addresses get one subscription (O(subscription_name)) and the SNS topic another
    (O(subscription_name) with C(-immediate) appended); either is deleted when its subscribers are no longer given.
  - Both use the same threshold, a C(ThresholdExpression) (not the deprecated C(Threshold)) on the anomaly's total
    impact in USD (O(threshold_absolute)), in percent of the expected spend (O(threshold_percentage)), or both
    (O(threshold_combination)).
  - Everything is read first (C(GetAnomalyMonitors), C(GetAnomalySubscriptions)) and planned before the first write;
    a second run with the same input changes nothing. A subscription that differs is one C(UpdateAnomalySubscription).
    C(UpdateAnomalyMonitor) can only rename a monitor, and monitors are found by name, so a monitor of that name of
    another type or dimension is deleted and made again (its subscriptions with it), and its learned baseline starts over.
  - Where the endpoint does not implement Cost Anomaly Detection (moto answers its HTML "500 Internal Server Error"
    page), nothing is read, planned or made; the module warns, reports RV(verified=false) and says so in
    RV(unverified) - never a success it could not check.
  - The SNS topic's policy must let C(costalerts.amazonaws.com) publish (and, for an encrypted topic, its key policy
    let it use the key); tags are set when the monitor and the subscriptions are created.
author: DirectFanz platform team (@directfanz)
options:
  monitor_name:
    description: The monitor's name (1-1024 characters).
    type: str
    required: true
  subscription_name:
    description:
      - The name of the e-mail subscription (1-1000 characters); the SNS subscription is named the same with
        C(-immediate) appended.
    type: str
    required: true
  emails:
    description: E-mail addresses of the summary subscription (at most 10, AWS's limit per subscription).
    type: list
    elements: str
    default: []
  email_frequency:
    description: How often the e-mail summary is sent; C(DAILY) or C(WEEKLY) (AWS sends e-mail only in summaries).
    type: str
    default: DAILY
  sns_topic_arn:
    description:
      - An SNS topic that receives each anomaly as it is found. At least one e-mail address or a topic when
        O(state=present).
    type: str
  sns_frequency:
    description: Only C(IMMEDIATE) is accepted (AWS sends to SNS nothing but individual alerts).
    type: str
    default: IMMEDIATE
  threshold_absolute:
    description: Alert on an anomaly whose total impact is at least this many USD (above 0).
    type: float
  threshold_percentage:
    description: Alert on an anomaly whose total impact is at least this percentage of the expected spend (above 0).
    type: float
  threshold_combination:
    description:
      - When both thresholds are given, C(AND) alerts only on an anomaly above both (what keeps a 300 % jump of a
        few cents and a 2 % drift of a large bill quiet), C(OR) on an anomaly above either.
    type: str
    default: AND
  tags:
    description: Tags of the monitor and the subscriptions, set when they are created.
    type: dict
    default: {}
  state:
    description: C(present) keeps the monitor and subscriptions as given; C(absent) deletes them.
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
    description: Reads the monitor and the subscriptions and returns the planned RV(actions); changes nothing.
  diff_mode:
    support: full
    description: The monitor and each subscription (frequency, subscribers, threshold), before and after.
"""

EXAMPLES = r"""
- name: The services monitor, a daily e-mail summary and immediate alerts to the topic, above USD 25 and 20 %
  directfanz.launch.cost_anomaly_monitor:
    monitor_name: directfanz-production-services
    subscription_name: directfanz-production-anomalies
    emails: [ops@directfanz.io]
    sns_topic_arn: arn:aws:sns:us-east-1:123456789012:directfanz-production-alerts
    threshold_absolute: 25
    threshold_percentage: 20
"""

RETURN = r"""
monitor:
  description: The monitor as it is after the run (as planned in check mode; empty when not verified).
  returned: always
  type: dict
  contains:
    name: {description: The monitor's name., type: str}
    arn: {description: Its ARN (a placeholder in check mode when it is to be made)., type: str}
    type: {description: C(DIMENSIONAL)., type: str}
    dimension: {description: C(SERVICE)., type: str}
subscriptions:
  description: The subscriptions after the run, one per kind of subscriber (empty when not verified).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The subscription's name., type: str}
    frequency: {description: "C(DAILY), C(WEEKLY) or C(IMMEDIATE).", type: str}
    subscribers: {description: Each subscriber as C(TYPE address)., type: list, elements: str}
    threshold: {description: The threshold expression in words., type: str}
verified:
  description: False when the endpoint does not implement Cost Anomaly Detection, so nothing was read or made.
  returned: always
  type: bool
unverified:
  description: What the endpoint could not read, so was neither compared nor changed (empty against AWS).
  returned: always
  type: list
  elements: str
actions:
  description: One line per change made (or planned in check mode).
  returned: always
  type: list
  elements: str
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    AWS_ERRORS, Plan, apply, aws_pages, error_code, finish, refuse, retrying_client)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
TAG_TEXT = re.compile(r"^[\w .:/=+@-]*$", re.UNICODE)
EMAIL_FREQUENCIES = ("DAILY", "WEEKLY")
SNS_FREQUENCIES = ("IMMEDIATE",)
ABSOLUTE = "ANOMALY_TOTAL_IMPACT_ABSOLUTE"
PERCENTAGE = "ANOMALY_TOTAL_IMPACT_PERCENTAGE"
MATCH = "GREATER_THAN_OR_EQUAL"
SNS_SUFFIX = "-immediate"
API = "Cost Anomaly Detection (GetAnomalyMonitors)"


# ---------------------------------------------------------------------------------------------------------------
# Input (no call)


def input_problems(p):
    problems = []
    if not 1 <= len(p["monitor_name"] or "") <= 1024:
        problems.append("monitor_name %r is not accepted; accepted: 1-1024 characters" % p["monitor_name"])
    # the SNS subscription's name adds SNS_SUFFIX within AWS's 1024
    if not 1 <= len(p["subscription_name"] or "") <= 1024 - len(SNS_SUFFIX):
        problems.append("subscription_name %r is not accepted; accepted: 1-%d characters"
                        % (p["subscription_name"], 1024 - len(SNS_SUFFIX)))
    for key, value in (p.get("tags") or {}).items():
        if not (1 <= len(key) <= 128 and len("%s" % value) <= 256 and TAG_TEXT.match(key)
                and TAG_TEXT.match("%s" % value)) or key.startswith("aws:"):
            problems.append("tag %r is not accepted; accepted: keys of 1-128 and values of up to 256 letters, digits, "
                            "spaces and _.:/=+@-, no 'aws:' prefix" % key)
    if p["state"] == "absent":
        return problems
    if not p["emails"] and not p.get("sns_topic_arn"):
        problems.append("the anomaly alerts have no subscriber; accepted: at least one address in emails or an "
                        "sns_topic_arn")
    if len(p["emails"]) > 10:
        problems.append("emails lists %d addresses; accepted: at most 10 (AWS's limit per subscription)"
                        % len(p["emails"]))
    for address in p["emails"]:
        if not EMAIL.match(address or ""):
            problems.append("emails: %r is not an e-mail address" % address)
    if p.get("sns_topic_arn") and not TOPIC_ARN.match(p["sns_topic_arn"]):
        problems.append("sns_topic_arn %r is not accepted; accepted: an SNS topic ARN" % p["sns_topic_arn"])
    if p["email_frequency"] not in EMAIL_FREQUENCIES:
        problems.append("email_frequency %r is not accepted; accepted: DAILY or WEEKLY (AWS e-mails anomalies only in "
                        "summaries; IMMEDIATE alerts go to an SNS topic)" % p["email_frequency"])
    if p["sns_frequency"] not in SNS_FREQUENCIES:
        problems.append("sns_frequency %r is not accepted; accepted: IMMEDIATE (AWS sends SNS nothing but individual "
                        "alerts; DAILY and WEEKLY summaries go by e-mail)" % p["sns_frequency"])
    given = [(k, p.get(k)) for k in ("threshold_absolute", "threshold_percentage") if p.get(k) is not None]
    if not given:
        problems.append("no threshold; accepted: threshold_absolute (USD) and/or threshold_percentage (percent of the "
                        "expected spend), each above 0")
    for key, value in given:
        if float(value) <= 0 or float(value) != float(value):  # NaN is not above 0 either
            problems.append("%s %r is not accepted; accepted: a number above 0" % (key, value))
    if p["threshold_combination"] not in ("AND", "OR"):
        problems.append("threshold_combination %r is not accepted; accepted: AND or OR" % p["threshold_combination"])
    return problems


# ---------------------------------------------------------------------------------------------------------------
# The plan (pure)


def number(value):
    """Written without a float tail: Cost Explorer's expression values are strings ("25", "12.5")."""
    value = float(value)
    return ("%d" % value) if value == int(value) else ("%s" % value)


def threshold_expression(p):
    parts = [{"Dimensions": {"Key": key, "MatchOptions": [MATCH], "Values": [number(p[option])]}}
             for key, option in ((ABSOLUTE, "threshold_absolute"), (PERCENTAGE, "threshold_percentage"))
             if p.get(option) is not None]
    if len(parts) == 1:
        return parts[0]
    return {p["threshold_combination"].title(): parts}


def expression_key(expression):
    """What an expression means, comparable whatever its spelling: ("AND"|"OR"|"ONE", ((key, match, value), ...)),
    values as numbers. None for no expression; an expression this module would not write gives a key that equals no
    wanted one (so it is rewritten)."""
    if not expression:
        return None

    def leaf(e):
        d = e.get("Dimensions") or {}
        values = d.get("Values") or []
        try:
            value = float(values[0]) if len(values) == 1 else None
        except (TypeError, ValueError):
            value = None
        return (d.get("Key"), tuple(d.get("MatchOptions") or []), value)

    for op in ("And", "Or"):
        if expression.get(op):
            return (op.upper(), tuple(sorted((leaf(e) for e in expression[op]), key=repr)))
    return ("ONE", (leaf(expression),))


def expression_text(expression):
    key = expression_key(expression)
    if key is None:
        return "none"
    words = []
    for dimension, match, value in key[1]:
        shown = "?" if value is None else number(value)
        if dimension == ABSOLUTE and match == (MATCH,):
            words.append("impact >= %s USD" % shown)
        elif dimension == PERCENTAGE and match == (MATCH,):
            words.append("impact >= %s %%" % shown)
        else:
            words.append("%s %s %s" % (dimension, "/".join(match), shown))
    return (" %s " % key[0].lower() if key[0] != "ONE" else "").join(words)


def subscriber_keys(subscribers):
    return sorted(set((s.get("Type"), s.get("Address")) for s in subscribers or []))


def wanted_subscriptions(p):
    """name -> (frequency, subscribers) for each subscription the input asks for."""
    out = {}
    if p["emails"]:
        out[p["subscription_name"]] = (p["email_frequency"],
                                       [{"Type": "EMAIL", "Address": a} for a in sorted(set(p["emails"]))])
    if p.get("sns_topic_arn"):
        out[p["subscription_name"] + SNS_SUFFIX] = (p["sns_frequency"], [{"Type": "SNS", "Address": p["sns_topic_arn"]}])
    return out


def ours(p):
    """The names of the subscriptions this module keeps (both kinds, whether wanted now or not)."""
    return (p["subscription_name"], p["subscription_name"] + SNS_SUFFIX)


def tag_list(p):
    return [{"Key": k, "Value": "%s" % v} for k, v in sorted((p.get("tags") or {}).items())]


def by_name(items, field):
    found = {}
    for item in items:
        found.setdefault(item.get(field), []).append(item)
    return found


def plan_anomaly(p, observed):
    """The Plan for the monitor and its subscriptions. ``observed``: {monitors: GetAnomalyMonitors' AnomalyMonitors,
    subscriptions: GetAnomalySubscriptions' AnomalySubscriptions} - everything in the account; only ours are acted
    on, the rest only inform a warning."""
    plan = Plan()
    name = p["monitor_name"]
    monitors = by_name(observed.get("monitors") or [], "MonitorName")
    subscriptions = by_name(observed.get("subscriptions") or [], "SubscriptionName")
    for what, found, names in (("monitors", monitors, [name]), ("subscriptions", subscriptions, ours(p))):
        for n in names:
            if len(found.get(n) or []) > 1:
                plan.problems.append("%d %s are named %s (%s); names are not unique in Cost Explorer, so this module "
                                     "cannot tell which is its own: delete the extra ones"
                                     % (len(found[n]), what, n, ", ".join(sorted(
                                         x.get("MonitorArn") or x.get("SubscriptionArn") for x in found[n]))))
    if plan.problems:
        return plan
    monitor = (monitors.get(name) or [None])[0]
    current = dict((n, subscriptions[n][0]) for n in ours(p) if subscriptions.get(n))

    if p["state"] == "absent":
        for n in sorted(current):
            plan.call("ce", "delete_anomaly_subscription", ["delete anomaly subscription %s" % n],
                      "delete anomaly subscription %s" % n, SubscriptionArn=current[n]["SubscriptionArn"])
        if monitor:
            plan.call("ce", "delete_anomaly_monitor", ["delete anomaly monitor %s" % name],
                      "delete anomaly monitor %s" % name, MonitorArn=monitor["MonitorArn"])
        return plan

    if monitor is None:
        others = sorted(m.get("MonitorName") for m in observed.get("monitors") or []
                        if m.get("MonitorType") == "DIMENSIONAL" and m.get("MonitorDimension") == "SERVICE")
        if others:
            plan.warnings.append("the account already has an AWS services monitor (%s); %s is made beside it (AWS may "
                                 "refuse a second one: then delete or rename that one)" % (", ".join(others), name))
    elif (monitor.get("MonitorType"), monitor.get("MonitorDimension"), bool(monitor.get("MonitorSpecification"))) != (
            "DIMENSIONAL", "SERVICE", False):
        # UpdateAnomalyMonitor changes only the name: another type or dimension is a new monitor. Its subscriptions go
        # first (none is left pointing at a deleted monitor) and come back below, pointing at the new one.
        for n in sorted(current):
            plan.call("ce", "delete_anomaly_subscription",
                      ["delete anomaly subscription %s (its monitor is made again)" % n],
                      "delete anomaly subscription %s" % n, SubscriptionArn=current[n]["SubscriptionArn"])
        plan.call("ce", "delete_anomaly_monitor", ["delete anomaly monitor %s to make it again (%s %s -> DIMENSIONAL "
                                                   "SERVICE; its learned baseline starts over)"
                                                   % (name, monitor.get("MonitorType"),
                                                      monitor.get("MonitorDimension") or "with a specification")],
                  "delete anomaly monitor %s" % name, MonitorArn=monitor["MonitorArn"])
        monitor, current = None, {}
    if monitor is None:
        monitor_arn = plan.call("ce", "create_anomaly_monitor",
                                ["create anomaly monitor %s (every AWS service of the account)" % name],
                                "create anomaly monitor %s" % name, out="anomaly monitor %s" % name,
                                pick=["MonitorArn"], ResourceTags=tag_list(p),
                                AnomalyMonitor={"MonitorName": name, "MonitorType": "DIMENSIONAL",
                                                "MonitorDimension": "SERVICE"})
    else:
        monitor_arn = monitor["MonitorArn"]

    expression = threshold_expression(p)
    wanted = wanted_subscriptions(p)
    for n in sorted(set(current) - set(wanted)):
        plan.call("ce", "delete_anomaly_subscription",
                  ["delete anomaly subscription %s (no %s subscriber is given)"
                   % (n, "SNS" if n.endswith(SNS_SUFFIX) else "e-mail")],
                  "delete anomaly subscription %s" % n, SubscriptionArn=current[n]["SubscriptionArn"])
    for n in sorted(wanted):
        frequency, subscribers = wanted[n]
        have = current.get(n)
        if have is None:
            plan.call("ce", "create_anomaly_subscription", ["create anomaly subscription %s: %s to %s, %s" % (
                n, frequency.lower(), ", ".join(s["Address"] for s in subscribers), expression_text(expression))],
                "create anomaly subscription %s" % n, ResourceTags=tag_list(p),
                AnomalySubscription={"SubscriptionName": n, "MonitorArnList": [monitor_arn], "Frequency": frequency,
                                     "Subscribers": subscribers, "ThresholdExpression": expression})
            continue
        differs = []
        if have.get("Frequency") != frequency:
            differs.append("frequency %s -> %s" % (have.get("Frequency"), frequency))
        if sorted(have.get("MonitorArnList") or []) != [monitor_arn]:
            differs.append("monitors %s -> %s" % (", ".join(sorted(have.get("MonitorArnList") or [])) or "none",
                                                  monitor_arn))
        if subscriber_keys(have.get("Subscribers")) != subscriber_keys(subscribers):
            differs.append("subscribers %s -> %s" % (
                ", ".join(k[1] for k in subscriber_keys(have.get("Subscribers"))) or "none",
                ", ".join(k[1] for k in subscriber_keys(subscribers))))
        if expression_key(have.get("ThresholdExpression")) != expression_key(expression):
            differs.append("threshold %s -> %s" % (expression_text(have.get("ThresholdExpression")),
                                                   expression_text(expression)))
        if differs:
            plan.call("ce", "update_anomaly_subscription",
                      ["update anomaly subscription %s (%s)" % (n, "; ".join(differs))],
                      "update anomaly subscription %s" % n, SubscriptionArn=have["SubscriptionArn"],
                      Frequency=frequency, MonitorArnList=[monitor_arn], Subscribers=subscribers,
                      ThresholdExpression=expression)
    return plan


def view(p, observed):
    """What the account holds of ours, for the diff and the result."""
    monitor = next((m for m in observed.get("monitors") or [] if m.get("MonitorName") == p["monitor_name"]), None)
    subs = [s for s in observed.get("subscriptions") or [] if s.get("SubscriptionName") in ours(p)]
    return {"monitor": {"name": monitor["MonitorName"], "arn": monitor.get("MonitorArn"),
                        "type": monitor.get("MonitorType"), "dimension": monitor.get("MonitorDimension")}
            if monitor else {},
            "subscriptions": sorted(({"name": s["SubscriptionName"], "frequency": s.get("Frequency"),
                                      "subscribers": ["%s %s" % k for k in subscriber_keys(s.get("Subscribers"))],
                                      "threshold": expression_text(s.get("ThresholdExpression"))} for s in subs),
                                    key=lambda s: s["name"])}


def wanted_view(p, plan, current, real):
    if p["state"] == "absent":
        return {"monitor": {}, "subscriptions": []}
    made = [s for s in plan.steps if s["op"] == "create_anomaly_monitor"]
    arn = real(made[0]["out"]) if made else (current["monitor"] or {}).get("arn")
    expression = threshold_expression(p)
    return {"monitor": {"name": p["monitor_name"], "arn": arn, "type": "DIMENSIONAL", "dimension": "SERVICE"},
            "subscriptions": [{"name": n, "frequency": f, "subscribers": ["%s %s" % k for k in subscriber_keys(s)],
                               "threshold": expression_text(expression)}
                              for n, (f, s) in sorted(wanted_subscriptions(p).items())]}


# ---------------------------------------------------------------------------------------------------------------
# Reads


def unimplemented(e):
    """The ONE place this module tolerates a missing API. moto answers an operation it does not implement with its
    HTML "500 Internal Server Error" page (botocore: a ClientError whose code is the bare status); AWS answers every
    Cost Explorer call, refusals included, with JSON that carries an error code."""
    text = str(e).lower()
    return error_code(e) == "500" and ("internal server error" in text and "<html" in text)


def read(module, client):
    """Every monitor and subscription of the account (GetAnomalyMonitors, GetAnomalySubscriptions), or None when the
    endpoint does not implement them. The first call is not retried by AWSRetry: an unimplemented operation's 500
    would be retried for minutes as a server error (botocore still retries a real 5xx a few times)."""
    try:
        first = client.get_anomaly_monitors(MaxResults=100)
    except AWS_ERRORS as e:
        if unimplemented(e):
            return None
        module.fail_json_aws(e, msg="Could not read the anomaly monitors")
    monitors = list(first.get("AnomalyMonitors") or [])
    if first.get("NextPageToken"):
        monitors += aws_pages(module, client, "read the anomaly monitors", "get_anomaly_monitors", "AnomalyMonitors",
                              token="NextPageToken", MaxResults=100, NextPageToken=first["NextPageToken"])
    subscriptions = aws_pages(module, client, "read the anomaly subscriptions", "get_anomaly_subscriptions",
                              "AnomalySubscriptions", token="NextPageToken", MaxResults=100)
    return {"monitors": monitors, "subscriptions": subscriptions}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            monitor_name=dict(type="str", required=True),
            subscription_name=dict(type="str", required=True),
            emails=dict(type="list", elements="str", default=[]),
            email_frequency=dict(type="str", default="DAILY"),
            sns_topic_arn=dict(type="str"),
            sns_frequency=dict(type="str", default="IMMEDIATE"),
            threshold_absolute=dict(type="float"),
            threshold_percentage=dict(type="float"),
            threshold_combination=dict(type="str", default="AND"),
            tags=dict(type="dict", default={}),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if problems:
        module.fail_json(msg="cost_anomaly_monitor refused the input: %s (no AWS call was made)" % "; ".join(problems),
                         problems=problems)
    # Cost Explorer is a global API served from us-east-1
    client = retrying_client(module, "ce", region="us-east-1")
    observed = read(module, client)
    if observed is None:
        note = ("the monitor %s and the subscriptions %s: the endpoint does not implement %s, so nothing was read, "
                "compared or made" % (p["monitor_name"], " and ".join(ours(p)), API))
        module.warn(note)
        module.exit_json(changed=False, actions=[], verified=False, unverified=[note], monitor={}, subscriptions=[])
    plan = plan_anomaly(p, observed)
    refuse(module, "cost_anomaly_monitor", plan)
    real = apply(module, plan, clients={"ce": client})
    before = view(p, observed)
    after = wanted_view(p, plan, before, real) if plan.changed or p["state"] == "absent" else before
    finish(module, plan, diff={"before": before, "after": wanted_view(p, plan, before, real)},
           verified=True, unverified=[], **after)


if __name__ == "__main__":
    main()
