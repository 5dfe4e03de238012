"""alert_topic's pure parts: input checks, policy and alarm comparison, and the plan (with the pending
subscriptions moto never shows, as canned ListSubscriptionsByTopic answers)."""

import copy
import json

import pytest

from ansible_collections.directfanz.launch.plugins.modules import alert_topic as M

ARN = "arn:aws:sns:us-east-1:123456789012:alerts"
CTX = {"topic_arn": ARN, "account": "123456789012", "partition": "aws"}
ALARM = {"name": "days-to-expiry", "description": "renew", "namespace": "AWS/CertificateManager",
         "metric_name": "DaysToExpiry", "dimensions": {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x"},
         "statistic": "Minimum", "period": 86400, "evaluation_periods": 1, "threshold": 30.0,
         "comparison": "LessThanThreshold", "treat_missing_data": "missing"}
RULE = {"name": "acm-events", "description": "ACM events", "event_pattern": {"source": ["aws.acm"]}}


def params(**overrides):
    p = {"name": "alerts", "emails": ["ops@example.com"], "purge_subscriptions": True, "tags": {"project": "x"},
         "publishers": list(M.DEFAULT_PUBLISHERS), "event_rules": [dict(RULE)], "alarms": [dict(ALARM)],
         "state": "present"}
    p.update(overrides)
    return p


def empty():
    return {"topic": None, "subscriptions": [], "rules": {}, "alarms": {}}


def sub(endpoint, arn="%s:1111" % ARN, protocol="email"):
    return {"Endpoint": endpoint, "Protocol": protocol, "SubscriptionArn": arn, "TopicArn": ARN, "Owner": "1"}


def in_place(p):
    """What AWS would answer once ``p`` is applied (as a fresh run would have left it)."""
    policy = json.dumps(M.topic_policy(ARN, CTX["account"], CTX["partition"], p["publishers"]))
    return {"topic": {"arn": ARN, "policy": policy, "tags": M.desired_tags(p["tags"])},
            "subscriptions": [sub(e, "%s:%d" % (ARN, i)) for i, e in enumerate(p["emails"])],
            "rules": {r["name"]: {"Name": r["name"], "Arn": "arn:aws:events:us-east-1:123456789012:rule/" + r["name"],
                                  "EventPattern": json.dumps(r["event_pattern"]), "State": "ENABLED",
                                  "Description": r["description"], "Targets": [{"Id": "alert-topic", "Arn": ARN}]}
                      for r in p["event_rules"]},
            "alarms": {a["name"]: dict(M.alarm_request(a, ARN), StateValue="OK", AlarmArn="x", InsufficientDataActions=[])
                       for a in p["alarms"]}}


def actions(ops):
    return [a for op in ops for a in op["texts"]]


def present(p, observed):
    """plan_present as (steps, pending addresses, warnings)."""
    plan, pending = M.plan_present(p, observed, CTX)
    return plan.steps, pending, plan.warnings


# --- input checks -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,message", [
    ({"name": "alerts.fifo"}, "topic name 'alerts.fifo' is not valid; accepted: 1-256 letters, digits, '-' or '_'"),
    ({"name": "x" * 257}, "is not valid; accepted: 1-256 letters"),
    ({"emails": ["ops@example.com", "not-an-address"]}, "e-mail address 'not-an-address' is not an address like"),
    ({"emails": ["ops@localhost"]}, "e-mail address 'ops@localhost' is not an address like ops@example.com"),
    ({"publishers": ["events"]}, "publisher 'events' is not a service principal; accepted: names like"),
    ({"tags": {"aws:x": "1"}}, "tag key 'aws:x' is not valid"),
    ({"event_rules": [dict(RULE, name="bad name")]},
     "rule name 'bad name' is not valid; accepted: 1-64 letters, digits, '.', '-' or '_'"),
    ({"event_rules": [dict(RULE, name="r" * 65)]}, "is not valid; accepted: 1-64 letters"),
    ({"event_rules": [dict(RULE), dict(RULE)]}, "event rule 'acm-events' is listed twice"),
    ({"event_rules": [dict(RULE, event_pattern=None)]}, "event_pattern is missing; accepted: an object such as"),
    ({"event_rules": [dict(RULE, event_pattern={"source": "aws.acm"})]},
     "event_pattern field 'source' is 'aws.acm'; accepted: a non-empty list of values"),
    ({"event_rules": [dict(RULE, event_pattern={"detail": {"x": 1}})]}, "field 'detail.x' is 1"),
    ({"alarms": [dict(ALARM, name="")]}, "alarm name '' is not valid; accepted: 1-255 characters"),
    ({"alarms": [dict(ALARM, name="a" * 256)]}, "is not valid; accepted: 1-255 characters"),
    ({"alarms": [dict(ALARM, name="tab\there")]}, "without control characters"),
    ({"alarms": [dict(ALARM), dict(ALARM)]}, "alarm 'days-to-expiry' is listed twice"),
    ({"alarms": [dict(ALARM, statistic="p99")]},
     "statistic 'p99' is not accepted; accepted: Minimum, Maximum, Average, Sum, SampleCount"),
    ({"alarms": [dict(ALARM, comparison="Below")]},
     "comparison 'Below' is not accepted; accepted: GreaterThanThreshold, GreaterThanOrEqualToThreshold, "
     "LessThanThreshold, LessThanOrEqualToThreshold"),
    ({"alarms": [dict(ALARM, treat_missing_data="zero")]}, "treat_missing_data 'zero' is not accepted; accepted: missing"),
    ({"alarms": [dict(ALARM, period=90)]}, "period 90 is not accepted; accepted: a multiple of 60 seconds, at least 60"),
    ({"alarms": [dict(ALARM, period=30)]}, "period 30 is not accepted"),
    ({"alarms": [dict(ALARM, evaluation_periods=0)]}, "evaluation_periods 0 is not accepted; accepted: 1 or more"),
    ({"alarms": [dict(ALARM, threshold=None)]}, "threshold is missing; it is required with state=present"),
])
def test_each_bad_input_is_named_with_what_is_accepted(overrides, message):
    problems = M.input_problems(params(**overrides))
    assert any(message in p for p in problems), problems


def test_every_problem_is_collected_and_good_input_has_none():
    assert M.input_problems(params()) == []
    problems = M.input_problems(params(emails=["x"], alarms=[dict(ALARM, statistic="p99", period=61)],
                                       event_rules=[dict(RULE, name="a b")]))
    assert len(problems) == 4, problems


def test_absent_needs_only_names():
    p = params(state="absent", event_rules=[{"name": "acm-events", "description": "", "event_pattern": None}],
               alarms=[{"name": "days-to-expiry", "description": "", "dimensions": {}, "evaluation_periods": 1,
                        "treat_missing_data": "missing"}])
    assert M.input_problems(p) == []


# --- policy ------------------------------------------------------------------------------------------------------

def test_policy_normalisation_ignores_order_case_and_single_values():
    ours = M.topic_policy(ARN, "123456789012", "aws", ["events.amazonaws.com", "cloudwatch.amazonaws.com"])
    shuffled = copy.deepcopy(ours)
    shuffled["Statement"].reverse()
    shuffled["Id"] = "__default_policy_ID"
    owner, publish = shuffled["Statement"][1], shuffled["Statement"][0]
    owner["Action"] = [a.lower() for a in reversed(owner["Action"])]
    owner["Resource"] = [ARN]
    publish["Principal"]["Service"] = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    publish["Action"] = ["sns:Publish"]
    publish["Condition"] = {"StringEquals": {"AWS:SourceAccount": ["123456789012"]}}
    assert M.normalise_policy(json.dumps(shuffled)) == M.normalise_policy(ours)

    other = copy.deepcopy(ours)
    other["Statement"][1]["Principal"]["Service"] = ["events.amazonaws.com"]
    assert M.normalise_policy(other) != M.normalise_policy(ours)


def test_policy_lets_only_this_account_through_the_publishers():
    policy = M.topic_policy(ARN, "123456789012", "aws-cn", ["events.amazonaws.com"])
    owner, publish = policy["Statement"]
    assert owner["Principal"] == {"AWS": "arn:aws-cn:iam::123456789012:root"} and "SNS:Subscribe" in owner["Action"]
    assert publish == {"Sid": "ServicePublishers", "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com"]},
                       "Action": "sns:Publish", "Resource": ARN,
                       "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
    assert len(M.topic_policy(ARN, "1", "aws", [])["Statement"]) == 1


def test_event_patterns_compare_as_parsed_json_in_any_order():
    assert M.normalise_pattern('{"detail-type": ["b", "a"], "source": ["aws.acm"]}') == \
        M.normalise_pattern({"source": ["aws.acm"], "detail-type": ["a", "b"]})
    assert M.rule_differences({"EventPattern": '{"source":["aws.acm"]}', "State": "ENABLED"},
                              {"EventPattern": {"source": ["aws.acm"]}, "State": "ENABLED", "Description": ""}) == []
    assert M.rule_differences({"EventPattern": '{"source":["aws.ec2"]}', "State": "DISABLED", "Description": "x"},
                              {"EventPattern": {"source": ["aws.acm"]}, "State": "ENABLED", "Description": ""}) == \
        ["description", "event pattern", "state DISABLED -> ENABLED"]


# --- alarms ------------------------------------------------------------------------------------------------------

def test_alarm_comparison_looks_only_at_what_we_set():
    request = M.alarm_request(dict(ALARM, threshold=30, dimensions={"B": "2", "A": "1"}), ARN)
    described = dict(request, Threshold=30.0, Dimensions=[{"Name": "B", "Value": "2"}, {"Name": "A", "Value": "1"}],
                     AlarmArn="arn:aws:cloudwatch:us-east-1:1:alarm:x", StateValue="ALARM", StateReason="why",
                     InsufficientDataActions=["arn:other"], DatapointsToAlarm=1, Metrics=[])
    assert M.alarm_differences(described, request) == []
    assert M.alarm_differences(dict(described, Threshold=20.0), request) == ["threshold 20.0 -> 30.0"]
    assert M.alarm_differences(dict(described, OKActions=[]), request) == ["ok actions"]
    no_default = {k: v for k, v in described.items() if k != "TreatMissingData"}
    assert M.alarm_differences(no_default, request) == []  # AWS omits it when it is the default


def test_an_updated_alarm_keeps_what_we_do_not_manage():
    p = params(alarms=[dict(ALARM, threshold=20.0)])
    observed = in_place(params())
    observed["alarms"]["days-to-expiry"].update(InsufficientDataActions=["arn:other"], DatapointsToAlarm=1)
    ops = present(p, observed)[0]
    assert actions(ops) == ["update alarm days-to-expiry (threshold 30.0 -> 20.0)"]
    assert ops[0]["kwargs"]["InsufficientDataActions"] == ["arn:other"] and ops[0]["kwargs"]["DatapointsToAlarm"] == 1
    assert "Tags" not in ops[0]["kwargs"]  # PutMetricAlarm ignores tags on an update


# --- planning ----------------------------------------------------------------------------------------------------

def test_everything_is_planned_on_an_empty_account():
    ops, pending, warnings = present(params(), empty())
    assert actions(ops) == ["create topic alerts", "subscribe ops@example.com", "create rule acm-events",
                            "send rule acm-events to topic alerts", "create alarm days-to-expiry"]
    create = ops[0]["kwargs"]
    assert M.normalise_policy(create["Attributes"]["Policy"]) == M.normalise_policy(
        M.topic_policy(ARN, "123456789012", "aws", M.DEFAULT_PUBLISHERS))
    assert {"Key": "managed-by", "Value": "directfanz.launch"} in create["Tags"]
    assert ops[3]["kwargs"] == {"Rule": "acm-events", "Targets": [{"Id": "alert-topic", "Arn": ARN}]}
    assert ops[4]["kwargs"]["AlarmActions"] == [ARN] and ops[4]["kwargs"]["OKActions"] == [ARN]
    assert pending == [] and warnings == []


def test_nothing_is_planned_when_everything_is_in_place():
    assert present(params(), in_place(params())) == ([], [], [])


def test_drift_is_planned_field_by_field():
    observed = in_place(params())
    observed["topic"]["tags"] = {"project": "old"}
    observed["topic"]["policy"] = json.dumps({"Version": "2008-10-17", "Statement": []})
    observed["rules"]["acm-events"]["Targets"] = [{"Id": "other", "Arn": "arn:aws:lambda:x"},
                                                  {"Id": "alert-topic", "Arn": ARN, "Input": "{}"}]
    assert actions(present(params(), observed)[0]) == [
        "tag topic alerts (managed-by=directfanz.launch, project=x)", "set the policy of topic alerts",
        "send rule acm-events to topic alerts", "remove targets other from rule acm-events"]


def test_pending_subscriptions_count_as_present_and_are_reported():
    observed = in_place(params(emails=[]))
    # ListSubscriptionsByTopic as AWS answers before the recipients click the link
    observed["subscriptions"] = [sub("Ops@Example.com", "PendingConfirmation"),
                                 sub("old@example.com", "PendingConfirmation"), sub("gone@example.com"),
                                 sub("https://hook.example.com", protocol="https"), sub("deleted@example.com", "Deleted")]
    ops, pending, warnings = present(params(emails=["ops@example.com", "new@example.com"]), observed)
    assert actions(ops) == ["subscribe new@example.com", "unsubscribe gone@example.com"]
    assert pending == ["Ops@Example.com"]
    assert len(warnings) == 1 and "old@example.com" in warnings[0] and "waits for confirmation" in warnings[0]

    kept = present(params(emails=["ops@example.com"], purge_subscriptions=False), observed)
    assert actions(kept[0]) == [] and kept[2] == []


def test_listed_twice_subscribes_once():
    ops = present(params(emails=["a@example.com", "A@example.com"]), empty())[0]
    assert [op["kwargs"]["Endpoint"] for op in ops if op["op"] == "subscribe"] == ["a@example.com"]


def test_absent_deletes_alarms_then_rules_then_the_topic():
    p = params(state="absent", event_rules=[dict(RULE), dict(RULE, name="never-made")])
    ops = M.plan_absent(p, in_place(params())).steps
    assert actions(ops) == ["delete alarm days-to-expiry", "remove targets alert-topic from rule acm-events",
                            "delete rule acm-events", "delete topic alerts"]
    assert M.plan_absent(p, empty()).steps == []


def test_diff_shows_the_managed_state_compactly():
    p = params()
    observed = in_place(params(alarms=[dict(ALARM, threshold=20.0)]))
    plan = M.plan_present(p, observed, CTX)[0]
    before = M.state_view(p, observed["topic"], observed["subscriptions"], observed["rules"], observed["alarms"])
    after = M.planned_view(p, observed, CTX, plan)
    assert before["alarms"]["days-to-expiry"]["threshold"] == 20.0 and after["alarms"]["days-to-expiry"]["threshold"] == 30.0
    assert {k: v for k, v in before.items() if k != "alarms"} == {k: v for k, v in after.items() if k != "alarms"}
    assert before["subscriptions"] == ["ops@example.com"] and before["rules"]["acm-events"]["targets"] == [ARN]
    assert M.state_view(p, None, [], {}, {}) == {} and M.planned_view(dict(p, state="absent"), observed, CTX, M.Plan()) == {}
