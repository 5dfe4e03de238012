"""cost_budget's pure parts: input refusals, and the plan on plain dicts - including the subscriber changes of a kept
notification, which moto cannot show (it does not implement DescribeSubscribersForNotification)."""

from ansible_collections.directfanz.launch.plugins.modules import cost_budget as M

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def params(**extra):
    return dict({"name": "monthly", "limit": 500.0, "unit": "USD", "time_unit": "MONTHLY", "state": "present",
                 "notifications": [{"type": "ACTUAL", "threshold": 80.0}], "emails": ["ops@directfanz.io"],
                 "sns_topic_arn": TOPIC, "account_id": None}, **extra)


def observed(subscribers, amount="500.0"):
    notif = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0,
             "ThresholdType": "PERCENTAGE"}
    return {"budget": {"BudgetName": "monthly", "BudgetType": "COST", "TimeUnit": "MONTHLY",
                       "BudgetLimit": {"Amount": amount, "Unit": "USD"}},
            "notifications": [{"notification": notif, "subscribers": subscribers}]}


def test_the_same_budget_plans_nothing_and_amounts_compare_as_numbers():
    subs = [{"SubscriptionType": "EMAIL", "Address": "ops@directfanz.io"}, {"SubscriptionType": "SNS", "Address": TOPIC}]
    assert M.plan_budget(params(), observed(subs, amount="500"), "123456789012").steps == []


def test_a_kept_notification_gets_only_its_missing_subscriber_and_loses_only_the_extra_one():
    subs = [{"SubscriptionType": "EMAIL", "Address": "old@directfanz.io"}, {"SubscriptionType": "SNS", "Address": TOPIC}]
    plan = M.plan_budget(params(), observed(subs), "123456789012")
    assert plan.actions == ["subscribe ops@directfanz.io to ACTUAL above 80 % of budget monthly",
                            "unsubscribe old@directfanz.io from ACTUAL above 80 % of budget monthly"]
    assert [s["op"] for s in plan.steps] == ["create_subscriber", "delete_subscriber"]


def test_subscribers_the_endpoint_cannot_list_are_never_rewritten_blind():
    assert M.plan_budget(params(), observed(None), "123456789012").steps == []


def test_a_new_period_is_a_delete_and_a_create_with_every_notification():
    plan = M.plan_budget(params(time_unit="QUARTERLY"), observed(None), "123456789012")
    assert [s["op"] for s in plan.steps] == ["delete_budget", "create_budget"]
    create = plan.steps[1]["kwargs"]
    assert create["Budget"]["TimeUnit"] == "QUARTERLY"
    assert create["Budget"]["BudgetLimit"] == {"Amount": "500", "Unit": "USD"}
    assert create["NotificationsWithSubscribers"][0]["Subscribers"][-1] == {"SubscriptionType": "SNS", "Address": TOPIC}


def test_refusals_name_what_is_accepted():
    problems = M.input_problems(params(emails=[], sns_topic_arn=None, limit=0.0, unit="usd",
                                       notifications=[{"type": "ACTUAL", "threshold": 80.0},
                                                      {"type": "ACTUAL", "threshold": 80.0}]))
    assert any("limit 0.0 is not accepted" in x for x in problems)
    assert any("unit 'usd' is not accepted; accepted: a currency code" in x for x in problems)
    assert any("is listed twice" in x for x in problems)
    assert any("the budget has no subscriber" in x for x in problems)
    assert M.input_problems(params(sns_topic_arn="arn:aws:sqs:us-east-1:123456789012:q"))[0].startswith(
        "sns_topic_arn 'arn:aws:sqs")
    assert M.input_problems(params(emails=["a%d@x.io" % i for i in range(11)]))[0].startswith("emails lists 11")
