"""cost_anomaly_monitor's pure parts on plain dicts (input refusals, the plan), and its reads and writes on canned
Cost Explorer answers (botocore's Stubber): moto 5.2.5 implements none of the anomaly calls, so this and the fake
Cost Explorer of tests/integration/test_cost_anomaly_monitor.py are where the logic is proven."""

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.directfanz.launch.plugins.modules import cost_anomaly_monitor as M
from ansible_collections.directfanz.launch.plugins.module_utils.plan import apply

TOPIC = "arn:aws:sns:us-east-1:123456789012:directfanz-alerts"
MONITOR_ARN = "arn:aws:ce::123456789012:anomalymonitor/11111111-2222-3333-4444-555555555555"
SUB_ARN = "arn:aws:ce::123456789012:anomalysubscription/aaaaaaaa-2222-3333-4444-555555555555"
SNS_SUB_ARN = "arn:aws:ce::123456789012:anomalysubscription/bbbbbbbb-2222-3333-4444-555555555555"


def params(**extra):
    return dict({"monitor_name": "directfanz-services", "subscription_name": "directfanz-anomalies",
                 "emails": ["ops@directfanz.io"], "email_frequency": "DAILY", "sns_topic_arn": TOPIC,
                 "sns_frequency": "IMMEDIATE", "threshold_absolute": 25.0, "threshold_percentage": 20.0,
                 "threshold_combination": "AND", "tags": {"project": "directfanz"}, "state": "present"}, **extra)


def monitor(**extra):
    return dict({"MonitorArn": MONITOR_ARN, "MonitorName": "directfanz-services", "MonitorType": "DIMENSIONAL",
                 "MonitorDimension": "SERVICE", "CreationDate": "2026-11-01", "DimensionalValueCount": 12}, **extra)


def expression(absolute="25", percentage="20", op="And"):
    return {op: [{"Dimensions": {"Key": "ANOMALY_TOTAL_IMPACT_PERCENTAGE", "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
                                 "Values": [percentage]}},
                 {"Dimensions": {"Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
                                 "Values": [absolute]}}]}


def subscriptions(**email_extra):
    email = dict({"SubscriptionArn": SUB_ARN, "SubscriptionName": "directfanz-anomalies", "AccountId": "123456789012",
                  "MonitorArnList": [MONITOR_ARN], "Frequency": "DAILY", "Threshold": 0.0,
                  "Subscribers": [{"Type": "EMAIL", "Address": "ops@directfanz.io", "Status": "CONFIRMED"}],
                  "ThresholdExpression": expression()}, **email_extra)
    sns = {"SubscriptionArn": SNS_SUB_ARN, "SubscriptionName": "directfanz-anomalies-immediate",
           "AccountId": "123456789012", "MonitorArnList": [MONITOR_ARN], "Frequency": "IMMEDIATE",
           "Subscribers": [{"Type": "SNS", "Address": TOPIC}], "ThresholdExpression": expression()}
    return [email, sns]


def ops(plan):
    return [s["op"] for s in plan.steps]


# ---------------------------------------------------------------------------------------------------------------
# input


def test_bad_input_is_named_with_what_is_accepted():
    problems = M.input_problems(params(emails=[], sns_topic_arn=None, threshold_absolute=0.0, threshold_percentage=-5.0,
                                       email_frequency="IMMEDIATE", sns_frequency="DAILY", threshold_combination="XOR"))
    text = "\n".join(problems)
    assert "the anomaly alerts have no subscriber; accepted: at least one address in emails or an sns_topic_arn" in text
    assert "threshold_absolute 0.0 is not accepted; accepted: a number above 0" in text
    assert "threshold_percentage -5.0 is not accepted" in text
    assert "email_frequency 'IMMEDIATE' is not accepted; accepted: DAILY or WEEKLY" in text
    assert "sns_frequency 'DAILY' is not accepted; accepted: IMMEDIATE" in text
    assert "threshold_combination 'XOR' is not accepted; accepted: AND or OR" in text
    assert M.input_problems(params(emails=["ops-at-directfanz.io"])) == ["emails: 'ops-at-directfanz.io' is not an "
                                                                         "e-mail address"]
    assert M.input_problems(params(threshold_absolute=None, threshold_percentage=None))[0].startswith("no threshold")
    assert M.input_problems(params(sns_topic_arn="arn:aws:sqs:us-east-1:123456789012:q"))[0].startswith(
        "sns_topic_arn 'arn:aws:sqs")
    assert M.input_problems(params(emails=["a%d@x.io" % i for i in range(11)]))[0].startswith("emails lists 11")
    assert M.input_problems(params(tags={"aws:owner": "x"}))[0].startswith("tag 'aws:owner' is not accepted")
    assert M.input_problems(params()) == []
    # deleting needs neither subscribers nor thresholds
    assert M.input_problems(params(state="absent", emails=[], sns_topic_arn=None, threshold_absolute=None,
                                   threshold_percentage=None)) == []


# ---------------------------------------------------------------------------------------------------------------
# threshold expressions


def test_the_expression_is_a_threshold_expression_and_compares_by_meaning():
    assert M.threshold_expression(params(threshold_percentage=None)) == {
        "Dimensions": {"Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
                       "Values": ["25"]}}
    both = M.threshold_expression(params(threshold_absolute=12.5, threshold_combination="OR"))
    assert list(both) == ["Or"] and [e["Dimensions"]["Values"] for e in both["Or"]] == [["12.5"], ["20"]]
    # the order of the terms and "25.0" for "25" do not make a difference; the combination and a value do
    assert M.expression_key(expression(absolute="25.0")) == M.expression_key(M.threshold_expression(params()))
    assert M.expression_key(expression(op="Or")) != M.expression_key(M.threshold_expression(params()))
    assert M.expression_key(expression(absolute="30")) != M.expression_key(M.threshold_expression(params()))
    assert M.expression_key(None) is None
    assert M.expression_text(M.threshold_expression(params())) == "impact >= 25 USD and impact >= 20 %"


# ---------------------------------------------------------------------------------------------------------------
# the plan


def test_an_empty_account_gets_the_monitor_then_two_subscriptions_pointing_at_it():
    plan = M.plan_anomaly(params(), {"monitors": [], "subscriptions": []})
    assert ops(plan) == ["create_anomaly_monitor", "create_anomaly_subscription", "create_anomaly_subscription"]
    assert plan.actions == [
        "create anomaly monitor directfanz-services (every AWS service of the account)",
        "create anomaly subscription directfanz-anomalies: daily to ops@directfanz.io, impact >= 25 USD and impact "
        ">= 20 %",
        "create anomaly subscription directfanz-anomalies-immediate: immediate to %s, impact >= 25 USD and impact >= "
        "20 %%" % TOPIC]
    create = plan.steps[0]
    assert create["kwargs"]["AnomalyMonitor"] == {"MonitorName": "directfanz-services", "MonitorType": "DIMENSIONAL",
                                                  "MonitorDimension": "SERVICE"}
    assert create["kwargs"]["ResourceTags"] == [{"Key": "project", "Value": "directfanz"}]
    email, sns = (s["kwargs"]["AnomalySubscription"] for s in plan.steps[1:])
    assert email["MonitorArnList"] == [create["out"]] == sns["MonitorArnList"]
    assert (email["Frequency"], email["Subscribers"]) == ("DAILY", [{"Type": "EMAIL", "Address": "ops@directfanz.io"}])
    assert (sns["Frequency"], sns["Subscribers"]) == ("IMMEDIATE", [{"Type": "SNS", "Address": TOPIC}])
    assert "Threshold" not in email and email["ThresholdExpression"] == M.threshold_expression(params())


def test_the_same_state_plans_nothing_whatever_the_spelling_and_subscriber_status():
    observed = {"monitors": [monitor(), monitor(MonitorArn=MONITOR_ARN + "x", MonitorName="someone-else",
                                                MonitorType="CUSTOM")],
                "subscriptions": subscriptions(ThresholdExpression=expression(absolute="25.0", percentage="20.00"))
                + [{"SubscriptionArn": "arn:aws:ce::123456789012:anomalysubscription/other",
                    "SubscriptionName": "not-ours", "MonitorArnList": [MONITOR_ARN + "x"], "Frequency": "WEEKLY",
                    "Subscribers": []}]}
    plan = M.plan_anomaly(params(), observed)
    assert plan.steps == [] and plan.problems == [] and plan.warnings == []


def test_a_changed_subscription_is_one_update_naming_what_differs():
    observed = {"monitors": [monitor()],
                "subscriptions": subscriptions(Frequency="WEEKLY", ThresholdExpression=expression(absolute="10"),
                                               Subscribers=[{"Type": "EMAIL", "Address": "old@directfanz.io"}])}
    plan = M.plan_anomaly(params(), observed)
    assert ops(plan) == ["update_anomaly_subscription"]
    assert plan.actions == ["update anomaly subscription directfanz-anomalies (frequency WEEKLY -> DAILY; subscribers "
                            "old@directfanz.io -> ops@directfanz.io; threshold impact >= 10 USD and impact >= 20 % -> "
                            "impact >= 25 USD and impact >= 20 %)"]
    kwargs = plan.steps[0]["kwargs"]
    assert kwargs["SubscriptionArn"] == SUB_ARN and kwargs["MonitorArnList"] == [MONITOR_ARN]
    assert "Threshold" not in kwargs


def test_a_legacy_threshold_only_subscription_gets_the_expression():
    legacy = subscriptions()
    del legacy[1]["ThresholdExpression"]
    legacy[1]["Threshold"] = 25.0
    plan = M.plan_anomaly(params(), {"monitors": [monitor()], "subscriptions": legacy})
    assert plan.actions == ["update anomaly subscription directfanz-anomalies-immediate (threshold none -> impact >= 25 "
                            "USD and impact >= 20 %)"]


def test_a_subscriber_kind_no_longer_given_loses_its_subscription():
    plan = M.plan_anomaly(params(sns_topic_arn=None), {"monitors": [monitor()], "subscriptions": subscriptions()})
    assert plan.actions == ["delete anomaly subscription directfanz-anomalies-immediate (no SNS subscriber is given)"]
    assert plan.steps[0]["kwargs"] == {"SubscriptionArn": SNS_SUB_ARN}


def test_a_monitor_of_another_kind_is_made_again_with_its_subscriptions():
    observed = {"monitors": [monitor(MonitorType="CUSTOM", MonitorDimension=None,
                                     MonitorSpecification={"Dimensions": {"Key": "SERVICE", "Values": ["Amazon RDS"]}})],
                "subscriptions": subscriptions()}
    plan = M.plan_anomaly(params(), observed)
    assert ops(plan) == ["delete_anomaly_subscription", "delete_anomaly_subscription", "delete_anomaly_monitor",
                         "create_anomaly_monitor", "create_anomaly_subscription", "create_anomaly_subscription"]
    assert "its learned baseline starts over" in plan.actions[2]
    assert plan.steps[4]["kwargs"]["AnomalySubscription"]["MonitorArnList"] == [plan.steps[3]["out"]]


def test_another_services_monitor_is_warned_about_and_duplicate_names_refuse():
    other = monitor(MonitorArn=MONITOR_ARN + "d", MonitorName="Default-Services-Monitor")
    plan = M.plan_anomaly(params(), {"monitors": [other], "subscriptions": []})
    assert ops(plan)[0] == "create_anomaly_monitor"
    assert plan.warnings and "Default-Services-Monitor" in plan.warnings[0]
    twice = M.plan_anomaly(params(), {"monitors": [monitor(), monitor(MonitorArn=MONITOR_ARN + "2")],
                                      "subscriptions": []})
    assert twice.steps == [] and "2 monitors are named directfanz-services" in twice.problems[0]


def test_absent_deletes_the_subscriptions_before_the_monitor():
    plan = M.plan_anomaly(params(state="absent"), {"monitors": [monitor()], "subscriptions": subscriptions()})
    assert ops(plan) == ["delete_anomaly_subscription", "delete_anomaly_subscription", "delete_anomaly_monitor"]
    assert M.plan_anomaly(params(state="absent"), {"monitors": [], "subscriptions": []}).steps == []


# ---------------------------------------------------------------------------------------------------------------
# reads and writes on canned answers (botocore's Stubber checks each request against Cost Explorer's model)


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False):
        self.check_mode = check_mode

    def fail_json_aws(self, e, msg, **kwargs):
        raise Failed("%s: %s" % (msg, e))

    def fail_json(self, msg, **kwargs):
        raise Failed(msg)


class Retrying:
    """A stubbed client that takes (and drops) aws_retry, as retrying_client's do."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        method = getattr(self.client, name)

        def call(aws_retry=False, **kwargs):
            return method(**kwargs)
        return call


@pytest.fixture()
def ce():
    client = boto3.client("ce", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_one_read_pass_over_every_page_then_the_writes_in_order(ce):
    client, stub = ce
    stub.add_response("get_anomaly_monitors", {"AnomalyMonitors": [], "NextPageToken": "t"}, {"MaxResults": 100})
    stub.add_response("get_anomaly_monitors", {"AnomalyMonitors": []}, {"MaxResults": 100, "NextPageToken": "t"})
    stub.add_response("get_anomaly_subscriptions", {"AnomalySubscriptions": []}, {"MaxResults": 100})
    observed = M.read(FakeModule(), Retrying(client))
    assert observed == {"monitors": [], "subscriptions": []}
    plan = M.plan_anomaly(params(), observed)
    stub.add_response("create_anomaly_monitor", {"MonitorArn": MONITOR_ARN},
                      {"AnomalyMonitor": {"MonitorName": "directfanz-services", "MonitorType": "DIMENSIONAL",
                                          "MonitorDimension": "SERVICE"},
                       "ResourceTags": [{"Key": "project", "Value": "directfanz"}]})
    for name, frequency, subscriber in (("directfanz-anomalies", "DAILY", {"Type": "EMAIL", "Address": "ops@directfanz.io"}),
                                        ("directfanz-anomalies-immediate", "IMMEDIATE", {"Type": "SNS", "Address": TOPIC})):
        # the placeholder of the new monitor became its ARN
        stub.add_response("create_anomaly_subscription", {"SubscriptionArn": SUB_ARN},
                          {"AnomalySubscription": {"SubscriptionName": name, "MonitorArnList": [MONITOR_ARN],
                                                   "Frequency": frequency, "Subscribers": [subscriber],
                                                   "ThresholdExpression": M.threshold_expression(params())},
                           "ResourceTags": [{"Key": "project", "Value": "directfanz"}]})
    real = apply(FakeModule(), plan, clients={"ce": Retrying(client)})
    assert real(plan.steps[0]["out"]) == MONITOR_ARN


def test_check_mode_makes_no_call_after_the_reads(ce):
    client, stub = ce
    plan = M.plan_anomaly(params(), {"monitors": [], "subscriptions": []})
    real = apply(FakeModule(check_mode=True), plan, clients={"ce": Retrying(client)})
    assert real(plan.steps[0]["out"]) == "(new anomaly monitor directfanz-services)"


def test_only_the_html_500_of_an_endpoint_without_the_api_is_tolerated(ce):
    client, stub = ce
    page = ("<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>")
    stub.add_client_error("get_anomaly_monitors", service_error_code="500", service_message=page, http_status_code=500)
    assert M.read(FakeModule(), Retrying(client)) is None
    # AWS's own refusals (JSON, with a code) fail the module
    stub.add_client_error("get_anomaly_monitors", service_error_code="AccessDeniedException",
                          service_message="not authorized to perform ce:GetAnomalyMonitors", http_status_code=400)
    with pytest.raises(Failed, match="Could not read the anomaly monitors"):
        M.read(FakeModule(), Retrying(client))
    stub.add_client_error("get_anomaly_monitors", service_error_code="500", service_message="InternalError",
                          http_status_code=500)
    with pytest.raises(Failed):
        M.read(FakeModule(), Retrying(client))
