#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cost_budget
short_description: An AWS Budgets cost budget with actual and forecast notifications to e-mail and SNS
version_added: 0.9.0
description:
  - Keeps one cost budget of the account (requirement 6.4) in one call - its limit and period, and one notification
    per listed threshold (C(ACTUAL) or C(FORECASTED) spend above a percentage of the limit), each sent to the listed
    e-mail addresses and, optionally, to an SNS topic (whose policy must let C(budgets.amazonaws.com) publish).
  - Everything is read first and planned before the first write; a second run with the same input changes nothing.
  - A changed limit, period or unit is a delete and a create of the budget (AWS keeps no history a budget needs -
    its spend is computed from the bill). The notifications' alert state starts over then, so a threshold already
    crossed this period alerts again. Notifications are created and deleted one by one; the subscribers of a kept
    notification are added and removed one by one.
  - Where the endpoint cannot list a notification's subscribers (moto does not implement
    C(DescribeSubscribersForNotification)), the subscribers set at creation are not verified, and the result says so
    in a warning and in RV(unverified) - never reported as checked.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description: The budget's name (1-100 characters; not C(:) or C(\)).
    type: str
    required: true
  limit:
    description: The budget's limit, an amount in O(unit) above zero.
    type: float
  unit:
    description: The limit's currency.
    type: str
    default: USD
  time_unit:
    description: The budget's period.
    type: str
    choices: [MONTHLY, QUARTERLY, ANNUALLY]
    default: MONTHLY
  notifications:
    description: One notification per entry; at least one when O(state=present).
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: C(ACTUAL) spend so far or C(FORECASTED) spend for the period.
        type: str
        choices: [ACTUAL, FORECASTED]
        required: true
      threshold:
        description: Percent of the limit above which the notification is sent (above 0, at most 1000).
        type: float
        required: true
  emails:
    description: E-mail addresses every notification goes to (at most 10, AWS's limit per notification).
    type: list
    elements: str
    default: []
  sns_topic_arn:
    description: An SNS topic every notification also goes to. A budget needs at least one e-mail address or a topic.
    type: str
  account_id:
    description: The account whose budget this is; the credentials' account when not given.
    type: str
  state:
    description: C(present) keeps the budget as given; C(absent) deletes it.
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
    description: Reads the budget and its notifications and returns the planned RV(actions); changes nothing.
  diff_mode:
    support: full
    description: The budget's limit, period and notifications (with their subscribers where readable), before and after.
"""

EXAMPLES = r"""
- name: A monthly budget of USD 800, alerting at 80 % and 100 % of actual spend and at a forecast of 100 %
  directfanz.launch.cost_budget:
    name: directfanz-production-monthly
    limit: 800
    notifications:
      - {type: ACTUAL, threshold: 80}
      - {type: ACTUAL, threshold: 100}
      - {type: FORECASTED, threshold: 100}
    emails: [ops@directfanz.io]
    sns_topic_arn: arn:aws:sns:us-east-1:123456789012:directfanz-production-alerts
"""

RETURN = r"""
budget:
  description: The budget as it is after the run (as planned in check mode).
  returned: always
  type: dict
  contains:
    name: {description: The budget's name., type: str}
    limit: {description: The limit's amount., type: float}
    unit: {description: The limit's currency., type: str}
    time_unit: {description: The period., type: str}
    notifications: {description: Each notification's type and threshold (percent)., type: list, elements: dict}
unverified:
  description: What the endpoint could not read back, so was not compared (empty against AWS).
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

try:
    import botocore
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing botocore
    pass

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_read, error_code, finish, refuse, retrying_client)

NAME = re.compile(r"^[^:\\]{1,100}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
ACCOUNT = re.compile(r"^\d{12}$")
MISSING = ("NotFoundException",)


# ---------------------------------------------------------------------------------------------------------------
# Input (no call)


def input_problems(p):
    problems = []
    if not NAME.match(p["name"] or ""):
        problems.append("name %r is not accepted; accepted: 1-100 characters without ':' or '\\'" % p["name"])
    if p.get("account_id") and not ACCOUNT.match(str(p["account_id"])):
        problems.append("account_id %r is not accepted; accepted: 12 digits" % p["account_id"])
    if p["state"] == "absent":
        return problems
    if p.get("limit") is None or p["limit"] <= 0:
        problems.append("limit %r is not accepted; accepted: an amount above 0" % (p.get("limit"),))
    if not re.match(r"^[A-Z]{3}$", p["unit"] or ""):
        problems.append("unit %r is not accepted; accepted: a currency code such as USD" % p["unit"])
    if not p["notifications"]:
        problems.append("notifications is empty; accepted: at least one {type: ACTUAL|FORECASTED, threshold: percent}")
    seen = set()
    for i, n in enumerate(p["notifications"]):
        if not 0 < float(n["threshold"]) <= 1000:
            problems.append("notifications[%d].threshold %r is not accepted; accepted: a percent above 0, at most 1000"
                            % (i, n["threshold"]))
        key = (n["type"], float(n["threshold"]))
        if key in seen:
            problems.append("notifications[%d] (%s above %g %%) is listed twice" % (i, key[0], key[1]))
        seen.add(key)
    if not p["emails"] and not p.get("sns_topic_arn"):
        problems.append("the budget has no subscriber; accepted: at least one address in emails or an sns_topic_arn")
    if len(p["emails"]) > 10:
        problems.append("emails lists %d addresses; accepted: at most 10 (AWS's limit per notification)"
                        % len(p["emails"]))
    for address in p["emails"]:
        if not EMAIL.match(address):
            problems.append("emails: %r is not an e-mail address" % address)
    if p.get("sns_topic_arn") and not TOPIC_ARN.match(p["sns_topic_arn"]):
        problems.append("sns_topic_arn %r is not accepted; accepted: an SNS topic ARN" % p["sns_topic_arn"])
    return problems


# ---------------------------------------------------------------------------------------------------------------
# The plan (pure)


def notification(n):
    return {"NotificationType": n["type"], "ComparisonOperator": "GREATER_THAN", "Threshold": float(n["threshold"]),
            "ThresholdType": "PERCENTAGE"}


def key_of(notif):
    return (notif["NotificationType"], notif.get("ComparisonOperator", "GREATER_THAN"), float(notif["Threshold"]),
            notif.get("ThresholdType", "PERCENTAGE"))


def label(notif):
    return "%s above %g %%" % (notif["NotificationType"], float(notif["Threshold"]))


def subscribers(p):
    out = [{"SubscriptionType": "EMAIL", "Address": a} for a in sorted(set(p["emails"]))]
    if p.get("sns_topic_arn"):
        out.append({"SubscriptionType": "SNS", "Address": p["sns_topic_arn"]})
    return out


def budget_body(p):
    return {"BudgetName": p["name"], "BudgetType": "COST", "TimeUnit": p["time_unit"],
            "BudgetLimit": {"Amount": amount(p["limit"]), "Unit": p["unit"]}}


def amount(value):
    """Budgets answers amounts as strings ("800.0" or "800"): compared as numbers, written without a float tail."""
    number = float(value)
    return ("%d" % number) if number == int(number) else ("%s" % number)


def plan_budget(p, observed, account):
    """The Plan for the budget. ``observed``: {budget (DescribeBudget's, or None), notifications: [{notification,
    subscribers (a list, or None when the endpoint cannot list them)}]}."""
    plan = Plan()
    budget = observed.get("budget")
    name = p["name"]
    if p["state"] == "absent":
        if budget:
            plan.call("budgets", "delete_budget", ["delete budget %s" % name], "delete budget %s" % name,
                      AccountId=account, BudgetName=name)
        return plan
    wanted_subs = subscribers(p)
    wanted = dict((key_of(notification(n)), notification(n)) for n in p["notifications"])
    with_subscribers = [{"Notification": wanted[k], "Subscribers": wanted_subs} for k in sorted(wanted)]
    if budget is not None:
        current_limit = budget.get("BudgetLimit") or {}
        differs = [what for what, same in (
            ("limit %s -> %s" % (current_limit.get("Amount"), amount(p["limit"])),
             float(current_limit.get("Amount") or 0) == float(p["limit"])),
            ("unit %s -> %s" % (current_limit.get("Unit"), p["unit"]), current_limit.get("Unit") == p["unit"]),
            ("period %s -> %s" % (budget.get("TimeUnit"), p["time_unit"]), budget.get("TimeUnit") == p["time_unit"]),
            ("type %s -> COST" % budget.get("BudgetType"), budget.get("BudgetType") == "COST")) if not same]
        if differs:
            # no UpdateBudget (moto lacks it, and a budget's spend comes from the bill, not from the budget): delete
            # and create, which also starts its notifications' alert state over
            plan.call("budgets", "delete_budget", ["delete budget %s to make it again (%s)" % (name, ", ".join(differs))],
                      "delete budget %s" % name, AccountId=account, BudgetName=name)
            budget = None
    if budget is None:
        plan.call("budgets", "create_budget", ["create budget %s: %s %s %s, %s" % (
            name, amount(p["limit"]), p["unit"], p["time_unit"].lower(),
            ", ".join(label(n["Notification"]) for n in with_subscribers))],
            "create budget %s" % name, AccountId=account, Budget=budget_body(p),
            NotificationsWithSubscribers=with_subscribers)
        return plan
    current = dict((key_of(entry["notification"]), entry) for entry in observed.get("notifications") or [])
    for k in sorted(set(current) - set(wanted)):
        notif = current[k]["notification"]
        plan.call("budgets", "delete_notification", ["delete notification %s of budget %s" % (label(notif), name)],
                  "delete notification %s of budget %s" % (label(notif), name), AccountId=account, BudgetName=name,
                  Notification=notif)
    for k in sorted(set(wanted) - set(current)):
        plan.call("budgets", "create_notification", ["add notification %s to budget %s" % (label(wanted[k]), name)],
                  "add notification %s to budget %s" % (label(wanted[k]), name), AccountId=account, BudgetName=name,
                  Notification=wanted[k], Subscribers=wanted_subs)
    for k in sorted(set(wanted) & set(current)):
        have = current[k]["subscribers"]
        if have is None:
            continue  # unreadable here: reported in `unverified`, never rewritten blind
        have_keys = set((s["SubscriptionType"], s["Address"]) for s in have)
        want_keys = set((s["SubscriptionType"], s["Address"]) for s in wanted_subs)
        notif = current[k]["notification"]
        for kind, address in sorted(want_keys - have_keys):
            plan.call("budgets", "create_subscriber", ["subscribe %s to %s of budget %s" % (address, label(notif), name)],
                      "subscribe %s to budget %s" % (address, name), AccountId=account, BudgetName=name,
                      Notification=notif, Subscriber={"SubscriptionType": kind, "Address": address})
        for kind, address in sorted(have_keys - want_keys):
            plan.call("budgets", "delete_subscriber",
                      ["unsubscribe %s from %s of budget %s" % (address, label(notif), name)],
                      "unsubscribe %s from budget %s" % (address, name), AccountId=account, BudgetName=name,
                      Notification=notif, Subscriber={"SubscriptionType": kind, "Address": address})
    return plan


def view(p, observed):
    budget = observed.get("budget")
    if not budget:
        return {}
    return {"name": budget.get("BudgetName"), "limit": float((budget.get("BudgetLimit") or {}).get("Amount") or 0),
            "unit": (budget.get("BudgetLimit") or {}).get("Unit"), "time_unit": budget.get("TimeUnit"),
            "notifications": sorted(({"type": e["notification"]["NotificationType"],
                                      "threshold": float(e["notification"]["Threshold"]),
                                      "subscribers": sorted(s["Address"] for s in e["subscribers"])
                                      if e["subscribers"] is not None else "(not readable here)"}
                                     for e in observed.get("notifications") or []),
                                    key=lambda n: (n["type"], n["threshold"]))}


def wanted_view(p):
    if p["state"] == "absent":
        return {}
    subs = sorted(s["Address"] for s in subscribers(p))
    return {"name": p["name"], "limit": float(p["limit"]), "unit": p["unit"], "time_unit": p["time_unit"],
            "notifications": sorted(({"type": n["type"], "threshold": float(n["threshold"]), "subscribers": subs}
                                     for n in p["notifications"]), key=lambda n: (n["type"], n["threshold"]))}


# ---------------------------------------------------------------------------------------------------------------
# Reads


def unimplemented(e):
    """moto answers an operation it does not implement with an HTML "500 Internal Server Error" page (botocore: a
    ClientError whose code is the bare status, or a parser error); AWS answers every budgets call with JSON. The one
    place this module tolerates that."""
    text = str(e).lower()
    return error_code(e) == "500" and ("internal server error" in text or "<!doctype html" in text)


def read(module, client, account, name):
    unverified = []
    budget = aws_read(module, client, "read budget %s" % name, "describe_budget", missing=MISSING, AccountId=account,
                      BudgetName=name)
    if budget is None:
        return {"budget": None, "notifications": []}, unverified
    notifications = []
    page = aws_read(module, client, "read the notifications of budget %s" % name, "describe_notifications_for_budget",
                    missing=MISSING, AccountId=account, BudgetName=name, MaxResults=100) or {}
    for notif in page.get("Notifications") or []:
        try:
            # not retried: an unimplemented operation would be retried for minutes as a 5xx
            answer = client.describe_subscribers_for_notification(AccountId=account, BudgetName=name,
                                                                  Notification=notif, MaxResults=100)
            subs = answer["Subscribers"]
        except botocore.exceptions.ClientError as e:
            if not unimplemented(e):
                module.fail_json_aws(e, msg="Could not read the subscribers of %s of budget %s" % (label(notif), name))
            subs = None
            unverified.append("the subscribers of notification %s of budget %s (the endpoint does not implement "
                              "DescribeSubscribersForNotification): set when it was created, not read back"
                              % (label(notif), name))
        notifications.append({"notification": notif, "subscribers": subs})
    return {"budget": budget["Budget"], "notifications": notifications}, unverified


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            limit=dict(type="float"),
            unit=dict(type="str", default="USD"),
            time_unit=dict(type="str", choices=["MONTHLY", "QUARTERLY", "ANNUALLY"], default="MONTHLY"),
            notifications=dict(type="list", elements="dict", default=[], options=dict(
                type=dict(type="str", choices=["ACTUAL", "FORECASTED"], required=True),
                threshold=dict(type="float", required=True),
            )),
            emails=dict(type="list", elements="str", default=[]),
            sns_topic_arn=dict(type="str"),
            account_id=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if problems:
        module.fail_json(msg="cost_budget refused the input: %s (no AWS call was made)" % "; ".join(problems),
                         problems=problems)
    # Budgets is a global API served from us-east-1
    client = retrying_client(module, "budgets", region="us-east-1")
    account = p.get("account_id")
    if not account:
        sts = retrying_client(module, "sts")
        account = aws_read(module, sts, "read the account", "get_caller_identity")["Account"]
    observed, unverified = read(module, client, account, p["name"])
    plan = plan_budget(p, observed, account)
    plan.warnings.extend(unverified)
    refuse(module, "cost_budget", plan)
    apply(module, plan, clients={"budgets": client})
    after = wanted_view(p) if plan.changed or p["state"] == "absent" else view(p, observed)
    finish(module, plan, diff={"before": view(p, observed), "after": wanted_view(p)},
           budget=after, unverified=unverified)


if __name__ == "__main__":
    main()
