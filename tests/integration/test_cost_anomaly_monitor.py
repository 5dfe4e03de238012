"""cost_anomaly_monitor over HTTP. Against the real moto server (5.2.5, which implements none of Cost Explorer's
anomaly calls) the module says so - a warning, verified=false, nothing planned or made, no write call - in check mode
and not, and bad input stops it before any call. The module's logic over HTTP (create, a second run without a write,
one update per changed subscription, a subscriber kind dropped, absent) runs against canned answers: a small fake
Cost Explorer in the recording proxy that answers the anomaly calls as AWS documents them (JSON 1.1, what botocore
parses), since moto cannot."""

import json
import uuid

from conftest import ROOT, Recorder, module, playbook

TOPIC = "arn:aws:sns:us-east-1:123456789012:directfanz-sandbox-alerts"
JSON = [("Content-Type", "application/x-amz-json-1.1")]
ROLE_PLAY = """
- name: The cost_budgets role alone
  hosts: launch_controller
  gather_facts: false
  environment: "{{ launch_aws_environment | default({}) }}"
  vars_files:
    - %s/playbooks/vars/launch_defaults.yml
  module_defaults:
    group/directfanz.launch.aws: "{{ launch_aws_module_defaults }}"
  tasks:
    - name: Keep the budget and the anomaly monitor
      ansible.builtin.import_role:
        name: directfanz.launch.cost_budgets
""" % ROOT


def anomaly(sandbox, *flags, via=None, **args):
    """The module ad hoc, through ``via`` (a recording proxy) or straight to moto."""
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"monitor_name": "directfanz-sandbox-services", "subscription_name": "directfanz-sandbox-anomalies",
                   "emails": ["ops@directfanz.io"], "sns_topic_arn": TOPIC, "threshold_absolute": 25,
                   "threshold_percentage": 20, "tags": {"project": "directfanz"}, "region": "eu-west-1",
                   "endpoint_url": endpoint, "access_key": "testing", "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("cost_anomaly_monitor", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


class FakeCostExplorer(Recorder):
    """The anomaly calls answered from memory, the way AWS answers them; anything else goes to moto."""

    def __init__(self, upstream):
        super().__init__(upstream)
        self.monitors = {}
        self.subscriptions = {}

    def canned(self, method, path, name, body):
        handler = getattr(self, "op_" + name, None)
        if handler is None:
            return None
        status, answer = handler(json.loads(body or b"{}"))
        return status, JSON, json.dumps(answer).encode()

    def op_GetAnomalyMonitors(self, req):
        return 200, {"AnomalyMonitors": list(self.monitors.values())}

    def op_GetAnomalySubscriptions(self, req):
        return 200, {"AnomalySubscriptions": list(self.subscriptions.values())}

    def op_CreateAnomalyMonitor(self, req):
        arn = "arn:aws:ce::123456789012:anomalymonitor/%s" % uuid.uuid4()
        self.monitors[arn] = dict(req["AnomalyMonitor"], MonitorArn=arn, CreationDate="2026-12-01",
                                  DimensionalValueCount=0)
        return 200, {"MonitorArn": arn}

    def op_DeleteAnomalyMonitor(self, req):
        self.monitors.pop(req["MonitorArn"])
        return 200, {}

    def op_CreateAnomalySubscription(self, req):
        sub = req["AnomalySubscription"]
        if any(m not in self.monitors for m in sub["MonitorArnList"]):
            return 400, {"__type": "UnknownMonitorException", "Message": "no such monitor"}
        arn = "arn:aws:ce::123456789012:anomalysubscription/%s" % uuid.uuid4()
        # AWS adds each subscriber's Status and spells expression values its own way
        self.subscriptions[arn] = dict(sub, SubscriptionArn=arn, AccountId="123456789012",
                                       Subscribers=[dict(s, Status="CONFIRMED") for s in sub["Subscribers"]])
        return 200, {"SubscriptionArn": arn}

    def op_UpdateAnomalySubscription(self, req):
        sub = self.subscriptions[req.pop("SubscriptionArn")]
        sub.update(req)
        return 200, {"SubscriptionArn": sub["SubscriptionArn"]}

    def op_DeleteAnomalySubscription(self, req):
        self.subscriptions.pop(req["SubscriptionArn"])
        return 200, {}


def test_against_moto_the_gap_is_said_and_nothing_is_written(fresh, recorder):
    for flags in (("--check", "--diff"), ()):
        recorder.calls.clear()
        rc, out, result = anomaly(fresh, *flags, via=recorder)
        assert rc == 0 and result["changed"] is False and result["actions"] == [], out
        assert result["verified"] is False and result["monitor"] == {} and result["subscriptions"] == []
        assert "does not implement Cost Anomaly Detection (GetAnomalyMonitors)" in result["unverified"][0]
        assert "nothing was read, compared or made" in " ".join(result["warnings"])
        # moto's HTML 500, retried by botocore's own retries, never by AWSRetry's minutes; no other call
        assert set(recorder.operations()) == {"GetAnomalyMonitors"} and len(recorder.operations()) <= 5, recorder.calls


def test_bad_input_is_refused_before_any_call(fresh, recorder):
    # every problem of the input is named at once, so two runs cover them
    for args, messages in (
            ({"emails": [], "sns_topic_arn": None, "threshold_absolute": 0, "email_frequency": "IMMEDIATE",
              "sns_frequency": "WEEKLY"},
             ["the anomaly alerts have no subscriber; accepted: at least one",
              "threshold_absolute 0.0 is not accepted; accepted: a number above 0",
              "email_frequency 'IMMEDIATE' is not accepted; accepted: DAILY or WEEKLY",
              "sns_frequency 'WEEKLY' is not accepted; accepted: IMMEDIATE"]),
            ({"emails": ["ops-at-directfanz.io"], "threshold_absolute": None, "threshold_percentage": None},
             ["'ops-at-directfanz.io' is not an e-mail address", "no threshold; accepted"])):
        rc, out, result = anomaly(fresh, via=recorder, **args)
        assert rc != 0 and "no AWS call was made" in result["msg"], (args, out)
        assert [m for m in messages if m not in result["msg"]] == [], result["msg"]
    assert recorder.operations() == []


def test_on_canned_answers_check_create_nothing_to_do_update_and_absent(fresh):
    ce = FakeCostExplorer(fresh["aws_endpoint_url"])
    try:
        rc, out, result = anomaly(fresh, "--check", "--diff", via=ce)
        assert rc == 0 and result["changed"] is True and result["verified"] is True, out
        assert ce.writes() == [] and ce.monitors == {}
        assert result["monitor"]["arn"] == "(new anomaly monitor directfanz-sandbox-services)"
        assert result["diff"]["before"] == {"monitor": {}, "subscriptions": []}

        ce.calls.clear()
        rc, out, result = anomaly(fresh, via=ce)
        assert rc == 0 and result["changed"] is True, out
        assert ce.calls == ["GetAnomalyMonitors", "GetAnomalySubscriptions", "CreateAnomalyMonitor",
                            "CreateAnomalySubscription", "CreateAnomalySubscription"]
        assert len(ce.monitors) == 1
        arn = list(ce.monitors)[0]
        assert result["monitor"]["arn"] == arn and ce.monitors[arn]["MonitorDimension"] == "SERVICE"
        by_name = dict((s["SubscriptionName"], s) for s in ce.subscriptions.values())
        assert sorted(by_name) == ["directfanz-sandbox-anomalies", "directfanz-sandbox-anomalies-immediate"]
        assert by_name["directfanz-sandbox-anomalies"]["Frequency"] == "DAILY"
        assert by_name["directfanz-sandbox-anomalies-immediate"]["Subscribers"][0]["Address"] == TOPIC
        assert all(s["MonitorArnList"] == [arn] and "Threshold" not in s for s in by_name.values())
        assert [s["subscribers"] for s in result["subscriptions"]] == [["EMAIL ops@directfanz.io"], ["SNS %s" % TOPIC]]

        ce.calls.clear()
        rc, out, result = anomaly(fresh, via=ce)
        assert rc == 0 and result["changed"] is False and result["actions"] == [], out
        assert ce.writes() == []

        ce.calls.clear()
        rc, out, result = anomaly(fresh, via=ce, threshold_absolute=50, email_frequency="WEEKLY")
        assert rc == 0 and result["actions"] == [
            "update anomaly subscription directfanz-sandbox-anomalies (frequency DAILY -> WEEKLY; threshold impact >= "
            "25 USD and impact >= 20 % -> impact >= 50 USD and impact >= 20 %)",
            "update anomaly subscription directfanz-sandbox-anomalies-immediate (threshold impact >= 25 USD and "
            "impact >= 20 % -> impact >= 50 USD and impact >= 20 %)"], out
        assert ce.writes() == ["UpdateAnomalySubscription", "UpdateAnomalySubscription"]

        ce.calls.clear()
        rc, out, result = anomaly(fresh, via=ce, threshold_absolute=50, email_frequency="WEEKLY", sns_topic_arn=None)
        assert rc == 0 and ce.writes() == ["DeleteAnomalySubscription"] and len(ce.subscriptions) == 1, out

        rc, out, result = anomaly(fresh, via=ce, state="absent")
        assert rc == 0 and ce.monitors == {} and ce.subscriptions == {}, out
        assert result["actions"] == ["delete anomaly subscription directfanz-sandbox-anomalies",
                                     "delete anomaly monitor directfanz-sandbox-services"]
    finally:
        ce.close()


def test_the_role_wires_the_inventory_into_the_monitor_and_says_when_moto_cannot_hold_it(fresh, tmp_path):
    book = tmp_path / "cost.yml"
    book.write_text(ROLE_PLAY)
    ce = FakeCostExplorer(fresh["aws_endpoint_url"])  # budgets calls go on to moto
    try:
        run = playbook(fresh, "-e", json.dumps({"launch_aws_endpoint_url": ce.url}), playbook_file=str(book))
        assert run.rc == 0 and run.failed == 0, run.out
        assert len(ce.monitors) == 1
        monitor = list(ce.monitors.values())[0]
        assert monitor["MonitorName"] == "directfanz-sandbox-services"
        by_name = dict((s["SubscriptionName"], s) for s in ce.subscriptions.values())
        email, sns = by_name["directfanz-sandbox-anomalies"], by_name["directfanz-sandbox-anomalies-immediate"]
        assert [x["Address"] for x in email["Subscribers"]] == ["ops@directfanz.io"] and email["Frequency"] == "DAILY"
        assert sns["Subscribers"][0]["Address"] == TOPIC and sns["Frequency"] == "IMMEDIATE"
        # 5 % of the sandbox's 150 USD budget, and 20 %, both required
        assert email["ThresholdExpression"] == {"And": [
            {"Dimensions": {"Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
                            "Values": ["7.5"]}},
            {"Dimensions": {"Key": "ANOMALY_TOTAL_IMPACT_PERCENTAGE", "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
                            "Values": ["20"]}}]} == sns["ThresholdExpression"]
        ce.calls.clear()
        again = playbook(fresh, "-e", json.dumps({"launch_aws_endpoint_url": ce.url}), playbook_file=str(book))
        assert again.rc == 0 and again.changed == 0 and ce.writes() == [], again.out
    finally:
        ce.close()
    # the real moto: the budget is kept, the monitor reported NOT verified, the run does not fail
    real = playbook(fresh, playbook_file=str(book))
    assert real.rc == 0 and real.failed == 0, real.out
    assert "anomaly monitor directfanz-sandbox-services: NOT verified" in " ".join(real.out.split())
