"""cloudwatch_alarms against the moto server through the recording proxy: check mode writes nothing, one run makes
the alarms (plain, percentile, metric math) with their tags and the dashboard, a second run writes nothing, a changed
alarm is one PutMetricAlarm, removed alarms are one DeleteAlarms (alarms outside the prefix untouched), a changed
dashboard is one PutDashboard, bad input makes no call at all. moto stores alarms but never evaluates them."""

import json

from conftest import aws_client as client
from conftest import Recorder, module

PREFIX = "directfanz-ops-"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:directfanz-alerts"
REGION = "eu-west-1"


def plain(name="rds-cpu", **fields):
    return dict({"name": PREFIX + name, "description": "database CPU", "namespace": "AWS/RDS",
                 "metric_name": "CPUUtilization", "dimensions": {"DBInstanceIdentifier": "directfanz-db"},
                 "statistic": "Average", "period": 300, "evaluation_periods": 3, "threshold": 80,
                 "comparison": "GreaterThanThreshold", "alarm_actions": [TOPIC], "ok_actions": [TOPIC]}, **fields)


def p95():
    return {"name": PREFIX + "alb-p95", "namespace": "AWS/ApplicationELB", "metric_name": "TargetResponseTime",
            "dimensions": {"LoadBalancer": "app/directfanz-alb/abc"}, "extended_statistic": "p95", "period": 60,
            "evaluation_periods": 5, "datapoints_to_alarm": 3, "threshold": 0.2, "comparison": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching", "alarm_actions": [TOPIC], "ok_actions": [TOPIC]}


def math():
    dims = {"LoadBalancer": "app/directfanz-alb/abc"}
    return {"name": PREFIX + "alb-5xx-rate", "threshold": 1, "comparison": "GreaterThanThreshold",
            "evaluation_periods": 2, "treat_missing_data": "notBreaching", "alarm_actions": [TOPIC],
            "metrics": [{"id": "r", "namespace": "AWS/ApplicationELB", "metric_name": "RequestCount", "dimensions": dims,
                         "stat": "Sum", "period": 300},
                        {"id": "e", "namespace": "AWS/ApplicationELB", "metric_name": "HTTPCode_Target_5XX_Count",
                         "dimensions": dims, "stat": "Sum", "period": 300},
                        {"id": "rate", "expression": "IF(r >= 50, 100 * FILL(e, 0) / r, 0)", "label": "5xx %",
                         "return_data": True}]}


BODY = {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 24, "height": 1, "properties": {"markdown": "## Database"}}]}


def alarms_module(sandbox, *flags, via=None, **args):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"prefix": PREFIX, "alarms": [plain(), p95(), math()], "tags": {"project": "directfanz"},
                   "dashboard": {"name": "directfanz-operations", "body": BODY}, "region": REGION,
                   "endpoint_url": endpoint, "access_key": "testing", "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("cloudwatch_alarms", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def alarms_in(sandbox):
    return dict((a["AlarmName"], a) for a in client(sandbox, "cloudwatch", REGION).describe_alarms()["MetricAlarms"])


def test_check_mode_plans_everything_and_writes_nothing(fresh, recorder):
    rc, out, result = alarms_module(fresh, "--check", "--diff", via=recorder)
    assert rc == 0 and result["changed"], out
    assert result["actions"] == ["create alarm directfanz-ops-rds-cpu", "create alarm directfanz-ops-alb-p95",
                                 "create alarm directfanz-ops-alb-5xx-rate", "create dashboard directfanz-operations"]
    assert sorted(result["diff"]["after"]["alarms"]) == sorted(result["alarms"])
    assert recorder.calls == ["DescribeAlarms", "GetDashboard"] and recorder.writes() == [], recorder.calls
    assert alarms_in(fresh) == {}
    assert client(fresh, "cloudwatch", REGION).list_dashboards()["DashboardEntries"] == []


def test_first_run_creates_and_the_second_writes_nothing(fresh, recorder):
    rc, out, first = alarms_module(fresh)
    assert rc == 0 and first["changed"], out
    made = alarms_in(fresh)
    assert sorted(made) == sorted(PREFIX + n for n in ("rds-cpu", "alb-p95", "alb-5xx-rate"))
    assert made[PREFIX + "alb-p95"]["ExtendedStatistic"] == "p95" and made[PREFIX + "alb-p95"]["DatapointsToAlarm"] == 3
    assert [m["Id"] for m in made[PREFIX + "alb-5xx-rate"]["Metrics"]] == ["r", "e", "rate"]
    for alarm in made.values():
        assert alarm["AlarmActions"] == [TOPIC]
    cw = client(fresh, "cloudwatch", REGION)
    tags = dict((t["Key"], t["Value"]) for t in cw.list_tags_for_resource(
        ResourceARN=made[PREFIX + "rds-cpu"]["AlarmArn"])["Tags"])
    assert tags == {"project": "directfanz", "managed-by": "directfanz.launch"}
    assert json.loads(cw.get_dashboard(DashboardName="directfanz-operations")["DashboardBody"]) == BODY

    rc, out, second = alarms_module(fresh, "--diff", via=recorder)
    assert rc == 0 and not second["changed"] and second["actions"] == [], out
    assert recorder.writes() == [] and "DescribeAlarms" in recorder.calls, recorder.calls
    assert second["diff"]["before"] == second["diff"]["after"]


def test_a_changed_alarm_is_one_put_and_a_removed_one_is_one_delete(fresh, recorder):
    cw = client(fresh, "cloudwatch", REGION)
    # an alarm outside the prefix (another phase's) is never touched by the purge
    cw.put_metric_alarm(AlarmName="directfanz-web-spike", Namespace="AWS/ECS", MetricName="CPUUtilization",
                        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=90,
                        ComparisonOperator="GreaterThanThreshold")
    rc, out, unused = alarms_module(fresh)
    assert rc == 0, out
    rc, out, changed = alarms_module(fresh, alarms=[plain(threshold=90), p95(), math()], via=recorder)
    assert rc == 0 and changed["actions"] == ["update alarm directfanz-ops-rds-cpu (threshold 80.0 -> 90.0)"], out
    assert recorder.writes() == ["PutMetricAlarm"], recorder.calls
    assert alarms_in(fresh)[PREFIX + "rds-cpu"]["Threshold"] == 90

    recorder.calls.clear()
    rc, out, removed = alarms_module(fresh, alarms=[plain(threshold=90)], via=recorder)
    assert rc == 0 and removed["deleted"] == [PREFIX + "alb-5xx-rate", PREFIX + "alb-p95"], out
    assert recorder.writes() == ["DeleteAlarms"], recorder.calls
    assert sorted(alarms_in(fresh)) == ["directfanz-ops-rds-cpu", "directfanz-web-spike"]

    recorder.calls.clear()
    rc, out, kept = alarms_module(fresh, alarms=[], purge=False, via=recorder)
    assert rc == 0 and not kept["changed"] and recorder.writes() == [], out


def test_a_changed_dashboard_is_one_put(fresh, recorder):
    rc, out, unused = alarms_module(fresh)
    assert rc == 0, out
    body = {"widgets": BODY["widgets"] + [{"type": "text", "x": 0, "y": 1, "width": 24, "height": 1,
                                           "properties": {"markdown": "## Cache"}}]}
    rc, out, result = alarms_module(fresh, dashboard={"name": "directfanz-operations", "body": body}, via=recorder)
    assert rc == 0 and result["actions"] == ["update dashboard directfanz-operations"], out
    assert recorder.writes() == ["PutDashboard"], recorder.calls


def test_missing_tags_on_an_existing_alarm_are_added_with_one_call(fresh, recorder):
    rc, out, unused = alarms_module(fresh, alarms=[plain()], dashboard=None)
    assert rc == 0, out
    tags = {"project": "directfanz", "environment": "sandbox"}
    rc, out, result = alarms_module(fresh, alarms=[plain()], dashboard=None, tags=tags, via=recorder)
    assert rc == 0 and result["actions"] == ["tag alarm directfanz-ops-rds-cpu (environment=sandbox)"], out
    assert recorder.writes() == ["TagResource"], recorder.calls


def test_bad_input_fails_before_any_call(fresh, recorder):
    bad = [plain(comparison="Above"), plain(name="rds-mem", period=45), plain(name="rds-io", datapoints_to_alarm=4),
           plain(name="rds-x", alarm_actions=[]), dict(plain(), name="elsewhere-cpu")]
    rc, out, result = alarms_module(fresh, alarms=bad, via=recorder)
    assert rc != 0 and recorder.calls == [], out
    for text in ("comparison 'Above' is not accepted", "period 45 is not accepted",
                 "datapoints_to_alarm 4 is not accepted", "alarm_actions is empty",
                 "does not start with the prefix 'directfanz-ops-'", "nothing was read or changed"):
        assert text in result["msg"], result["msg"]
    assert alarms_in(fresh) == {}


# ---------------------------------------------------------------------------------------------------------------
# cloudfront_metrics: moto 5.2.5 has no monitoring subscriptions, so AWS's answers are canned by the proxy (the
# shapes of the CloudFront API reference); the sandbox's bare 404 is the "unsupported" case.

NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
SUBSCRIPTION = ('<?xml version="1.0" encoding="UTF-8"?><MonitoringSubscription xmlns="%s">'
                '<RealtimeMetricsSubscriptionConfig><RealtimeMetricsSubscriptionStatus>%%s</RealtimeMetricsSubscriptionStatus>'
                '</RealtimeMetricsSubscriptionConfig></MonitoringSubscription>' % NS)
NO_SUBSCRIPTION = ('<?xml version="1.0"?><ErrorResponse xmlns="%s"><Error><Type>Sender</Type>'
                   '<Code>NoSuchMonitoringSubscription</Code><Message>none</Message></Error>'
                   '<RequestId>r</RequestId></ErrorResponse>' % NS)


class CloudFrontAws(Recorder):
    """AWS's monitoring-subscription API for one distribution, answered by the proxy; requests named by method."""

    def __init__(self, upstream, status=None):
        super().__init__(upstream)
        self.status = status

    def canned(self, method, path, name, body):
        if "/monitoring-subscription" not in path:
            return None
        self.calls[-1] = {"GET": "GetMonitoringSubscription", "POST": "CreateMonitoringSubscription",
                          "DELETE": "DeleteMonitoringSubscription"}[method]
        xml = [("Content-Type", "text/xml")]
        if method == "POST":
            self.status = "Enabled" if b"<RealtimeMetricsSubscriptionStatus>Enabled" in body else "Disabled"
        elif method == "DELETE":
            self.status = None
            return 200, xml, b""
        if self.status is None:
            return 404, xml, NO_SUBSCRIPTION.encode()
        return 200, xml, (SUBSCRIPTION % self.status).encode()


def metrics_module(sandbox, proxy, *flags, **args):
    params = dict({"distribution_id": "E1ABCDEF2GHIJK", "region": "us-east-1", "endpoint_url": proxy.url,
                   "access_key": "testing", "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("cloudfront_metrics", params, *flags, env={"AWS_ENDPOINT_URL": proxy.url})


def test_additional_metrics_are_enabled_once_and_check_mode_writes_nothing(fresh):
    proxy = CloudFrontAws(fresh["aws_endpoint_url"])
    try:
        rc, out, check = metrics_module(fresh, proxy, "--check", "--diff")
        assert rc == 0 and check["changed"] and proxy.calls == ["GetMonitoringSubscription"], out
        assert check["diff"] == {"before": {"additional_metrics": "Disabled"}, "after": {"additional_metrics": "Enabled"}}
        rc, out, first = metrics_module(fresh, proxy)
        assert rc == 0 and first["actions"] == ["enable the additional metrics of distribution E1ABCDEF2GHIJK"], out
        assert proxy.status == "Enabled"
        proxy.calls.clear()
        rc, out, second = metrics_module(fresh, proxy)
        assert rc == 0 and not second["changed"] and proxy.calls == ["GetMonitoringSubscription"], out
        rc, out, off = metrics_module(fresh, proxy, additional_metrics=False)
        assert rc == 0 and off["changed"] and proxy.calls[-1] == "DeleteMonitoringSubscription" and proxy.status is None
    finally:
        proxy.close()


def test_an_endpoint_without_monitoring_subscriptions_is_reported_not_failed(fresh, recorder):
    rc, out, result = metrics_module(fresh, recorder)  # moto itself: a bare 404
    assert rc == 0 and not result["changed"] and result["unsupported"] is True, out
    assert any("does not implement CloudFront monitoring subscriptions" in w for w in result.get("warnings", [])), out
    assert recorder.calls == ["?"], recorder.calls  # the one GET (the recorder does not name CloudFront's REST calls)


def test_a_bad_distribution_id_is_refused_before_any_call(fresh, recorder):
    rc, out, result = metrics_module(fresh, recorder, distribution_id="not an id")
    assert rc != 0 and recorder.calls == [] and "accepted: a CloudFront distribution id" in result["msg"], out
