"""The alarms' pure parts: thresholds derived from what was built (arithmetic and refusals), the treat_missing_data
rule, the grouping per region with each region's topic, the dashboard; and cloudwatch_alarms' input checks,
canonical comparison and planner on plain dicts."""

import copy
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.directfanz.launch.plugins.filter import operations as O
from ansible_collections.directfanz.launch.plugins.filter.data import GIB
from ansible_collections.directfanz.launch.plugins.modules import cloudwatch_alarms as M

PREFIX = "df-ops-"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:df-alerts"
GLOBAL_TOPIC = "arn:aws:sns:us-east-1:123456789012:df-alerts"


def watched(**overrides):
    """An alarm_targets result for a platform built in eu-west-1 (the shape the module returns)."""
    w = {
        "rds": {"identifier": "df-db", "instance_class": "db.t4g.medium", "allocated_storage_gib": 100,
                "max_allocated_storage_gib": 1000, "max_connections": 0},
        "redis": {"id": "df-redis", "node_type": "cache.t4g.small",
                  "primary": [{"cluster": "df-redis-001", "node": "0001"}],
                  "replicas": [{"cluster": "df-redis-002", "node": "0001"}]},
        "cluster": {"name": "df", "container_insights": True},
        "services": {"web": {"desired": 2, "min": 2, "max": 10, "cpu_target": 60.0,
                             "target_groups": ["df-api", "df-web"]},
                     "pgbouncer": {"desired": 2, "min": 0, "max": 0, "cpu_target": 0, "target_groups": []}},
        "load_balancer": {"name": "df-alb", "dimension": "app/df-alb/abc",
                          "target_groups": {"df-web": "targetgroup/df-web/1", "df-api": "targetgroup/df-api/2"}},
        "distribution": {"id": "E123"},
        "web_acls": {"regional": {"name": "df-regional", "metric_name": "df-regional", "rate_limit": 2000},
                     "cloudfront": {"name": "df-cloudfront", "metric_name": "df-cf-metric", "rate_limit": 1500}},
        "topics": {"eu-west-1": TOPIC, "us-east-1": GLOBAL_TOPIC},
        "health_checks": {"apex": {"id": "hc-apex", "fqdn": "df.example", "path": "/api/health"},
                          "api": {"id": "hc-api", "fqdn": "api.df.example", "path": "/health"}},
    }
    w.update(overrides)
    return w


def derive(w=None, region="eu-west-1", **thresholds):
    return O.operations_alarms(w or watched(), {"prefix": PREFIX, "region": region, "topic_name": "df-alerts",
                                                "thresholds": thresholds})


def by_name(result):
    return dict((a["name"], a) for call in result["calls"] for a in call["alarms"])


# ---------------------------------------------------------------------------------------------------------------
# Derivation arithmetic


def test_freeable_memory_is_a_share_of_the_instance_class_memory():
    alarms = by_name(derive())
    assert alarms["df-ops-rds-freeable-memory"]["threshold"] == pytest.approx(0.10 * 4 * GIB)
    bigger = watched(rds=dict(watched()["rds"], instance_class="db.r7g.xlarge"))  # 32 GiB
    assert by_name(derive(bigger))["df-ops-rds-freeable-memory"]["threshold"] == pytest.approx(0.10 * 32 * GIB)
    assert by_name(derive(rds_freeable_memory_share=0.2))["df-ops-rds-freeable-memory"]["threshold"] == \
        pytest.approx(0.2 * 4 * GIB)


def test_free_storage_sits_below_autoscaling_trigger_and_higher_without_autoscaling():
    assert by_name(derive())["df-ops-rds-free-storage"]["threshold"] == pytest.approx(0.05 * 100 * GIB)
    fixed = watched(rds=dict(watched()["rds"], max_allocated_storage_gib=0))
    assert by_name(derive(fixed))["df-ops-rds-free-storage"]["threshold"] == pytest.approx(0.15 * 100 * GIB)
    grown = watched(rds=dict(watched()["rds"], allocated_storage_gib=400))
    assert by_name(derive(grown))["df-ops-rds-free-storage"]["threshold"] == pytest.approx(0.05 * 400 * GIB)


def test_connections_are_a_share_of_max_connections_estimated_or_explicit():
    # db.t4g.medium: LEAST((0.98 x 4 GiB - 300 MiB) / 9531392, 5000) = 408 (plugins/filter/data.py)
    assert by_name(derive())["df-ops-rds-connections"]["threshold"] == int(408 * 0.8)
    explicit = watched(rds=dict(watched()["rds"], max_connections=1000))
    assert by_name(derive(explicit))["df-ops-rds-connections"]["threshold"] == 800


def test_service_cpu_is_halfway_from_its_scaling_target_and_tasks_below_desired_is_metric_math():
    alarms = by_name(derive())
    assert alarms["df-ops-ecs-web-cpu"]["threshold"] == 80.0
    assert alarms["df-ops-ecs-pgbouncer-cpu"]["threshold"] == 85.0  # no scaling target
    running = alarms["df-ops-ecs-web-running-tasks"]
    assert [m.get("expression") for m in running["metrics"] if m["return_data"]] == ["d - r"]
    assert running["threshold"] == 0 and running["comparison"] == "GreaterThanThreshold"
    assert running["treat_missing_data"] == "breaching"


def test_healthy_hosts_floor_is_the_minimum_tasks_of_the_service_behind_the_target_group():
    alarms = by_name(derive())
    assert alarms["df-ops-alb-web-healthy-hosts"]["threshold"] == 2
    assert alarms["df-ops-alb-api-healthy-hosts"]["comparison"] == "LessThanThreshold"
    wanted = {"TargetGroup": "targetgroup/df-web/1", "LoadBalancer": "app/df-alb/abc"}
    assert alarms["df-ops-alb-web-unhealthy-hosts"]["dimensions"] == wanted


def test_latency_goal_and_cache_hit_requirement():
    alarms = by_name(derive())
    p95 = alarms["df-ops-alb-p95-response-time"]
    assert p95["extended_statistic"] == "p95" and p95["threshold"] == 0.2 and "statistic" not in p95
    hit = alarms["df-ops-cloudfront-cache-hit-rate"]
    assert hit["threshold"] == 85.0 and hit["comparison"] == "LessThanThreshold"
    assert [m["expression"] for m in hit["metrics"] if m["return_data"]] == ["IF(r >= 1000, h, 100)"]


def test_waf_spike_follows_each_acls_rate_limit_and_its_metric_name():
    alarms = by_name(derive())
    assert alarms["df-ops-waf-regional-blocked-spike"]["threshold"] == 2000
    assert alarms["df-ops-waf-regional-blocked-spike"]["dimensions"] == {"WebACL": "df-regional", "Rule": "ALL",
                                                                         "Region": "eu-west-1"}
    assert alarms["df-ops-waf-cloudfront-blocked-spike"]["threshold"] == 1500
    assert alarms["df-ops-waf-cloudfront-blocked-spike"]["dimensions"] == {"WebACL": "df-cf-metric", "Rule": "ALL"}
    no_rule = watched(web_acls={"regional": {"name": "df-regional", "metric_name": "df-regional", "rate_limit": 0}})
    assert by_name(derive(no_rule))["df-ops-waf-regional-blocked-spike"]["threshold"] == 1000


def test_sparse_metrics_are_not_breaching_so_an_idle_platform_stays_quiet():
    sparse = {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RejectedConnectionCount", "UnHealthyHostCount",
              "BlockedRequests", "Evictions", "TargetResponseTime", "5xxErrorRate", "CacheHitRate"}
    for alarm in by_name(derive()).values():
        names = set([alarm.get("metric_name")] + [m.get("metric_name") for m in alarm.get("metrics") or []])
        if names & sparse:
            assert alarm["treat_missing_data"] == "notBreaching", alarm["name"]
        else:
            assert alarm["treat_missing_data"] in ("missing", "breaching"), alarm["name"]


def test_edge_alarms_go_to_us_east_1_with_that_regions_topic_and_the_rest_to_the_regional_topic():
    result = derive()
    calls = dict((c["region"], c["alarms"]) for c in result["calls"])
    assert [c["region"] for c in result["calls"]] == ["eu-west-1", "us-east-1"]
    assert sorted(a["name"] for a in calls["us-east-1"]) == [
        "df-ops-cloudfront-5xx-rate", "df-ops-cloudfront-cache-hit-rate", "df-ops-health-apex", "df-ops-health-api",
        "df-ops-waf-cloudfront-blocked-spike"]
    for region, topic in (("eu-west-1", TOPIC), ("us-east-1", GLOBAL_TOPIC)):
        for alarm in calls[region]:
            assert alarm["alarm_actions"] == [topic] and alarm["ok_actions"] == [topic]
    one = derive(watched(topics={"us-east-1": GLOBAL_TOPIC}), region="us-east-1")
    assert [c["region"] for c in one["calls"]] == ["us-east-1"] and one["count"] == result["count"]


def test_what_is_missing_is_skipped_and_said():
    result = derive(watched(rds={}, redis={}, distribution={}))
    assert not [n for n in by_name(result) if "-rds-" in n or "-redis-" in n or "cloudfront-" in n[len(PREFIX):][:11]]
    assert any("no RDS instance" in s and "run the data phase" in s for s in result["missing"])
    nothing = derive(watched(rds={}, redis={}, distribution={}, services={}, cluster={}, load_balancer={},
                             web_acls={}, topics={}, health_checks={}))
    assert nothing["calls"] == [{"region": "eu-west-1", "alarms": []}]


def test_each_health_check_has_a_status_alarm_in_us_east_1_that_pages_on_silence():
    alarms = by_name(derive())
    apex = alarms["df-ops-health-apex"]
    assert (apex["namespace"], apex["metric_name"], apex["dimensions"]) == (
        "AWS/Route53", "HealthCheckStatus", {"HealthCheckId": "hc-apex"})
    assert (apex["statistic"], apex["comparison"], apex["threshold"], apex["period"]) == (
        "Minimum", "LessThanThreshold", 1.0, 60, )
    assert (apex["evaluation_periods"], apex["datapoints_to_alarm"], apex["treat_missing_data"]) == (2, 2, "breaching")
    assert apex["alarm_actions"] == [GLOBAL_TOPIC] and "https://df.example/api/health" in apex["description"]
    assert by_name(derive(health_check_minutes=5))["df-ops-health-api"]["evaluation_periods"] == 5
    dashboard = [w["properties"].get("markdown") for w in derive()["dashboard"]["body"]["widgets"]]
    assert "## Health checks (Route 53)" in dashboard


def test_no_health_checks_are_missing_unless_the_role_has_none_to_expect():
    result = derive(watched(health_checks={}))
    assert not [n for n in by_name(result) if "-health-" in n]
    assert any("no Route 53 health checks" in s and "health_checks role" in s for s in result["missing"])
    quiet = O.operations_alarms(watched(health_checks={}), {"prefix": PREFIX, "region": "eu-west-1",
                                                            "health_checks": False})
    assert not [s for s in quiet["missing"] if "health checks" in s]


def test_running_tasks_without_container_insights_is_skipped_with_the_reason():
    result = derive(watched(cluster={"name": "df", "container_insights": False}))
    assert "df-ops-ecs-web-running-tasks" not in by_name(result)
    assert any("Container Insights" in s for s in result["skipped"])


def test_every_derived_alarm_and_the_dashboard_pass_the_modules_input_checks():
    result = derive()
    for call in result["calls"]:
        p = {"prefix": PREFIX, "alarms": call["alarms"], "tags": {}, "dashboard": result["dashboard"]}
        assert M.input_problems(p) == []
    body = result["dashboard"]["body"]
    titles = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert [t.split(" - ")[0].split(" (")[0] for t in titles] == [
        "## Edge", "## Health checks", "## Load balancer", "## Services", "## Database", "## Cache"]
    graphs = [w for w in body["widgets"] if w["type"] == "metric"]
    assert len(graphs) == result["count"]
    assert all(w["x"] + w["width"] <= 24 for w in body["widgets"])


# ---------------------------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize("overrides, message", [
    ({"rds_freeable_memory_bytes": 5 * GIB}, "at or above the memory of db.t4g.medium (4.00 GiB)"),
    ({"rds_freeable_memory_bytes": 4 * GIB}, "would sit in ALARM forever"),
    ({"redis_memory_percent": 120}, "accepted: a percentage from 0 to 100"),
    ({"ecs_memory_percent": 101}, "accepted: a percentage from 0 to 100"),
    ({"rds_free_storage_share": 1.5}, "accepted: a share of the total below 1"),
    ({"rds_connections_share": 0}, "accepted: a positive number"),
    ({"rds_cpu": 80}, "unknown alarm thresholds rds_cpu; accepted:"),
    ({"alb_p95_seconds": "fast"}, "must be a number"),
])
def test_thresholds_that_make_no_sense_are_refused(overrides, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        derive(**overrides)


def test_a_memory_threshold_below_ram_is_accepted():
    assert by_name(derive(rds_freeable_memory_bytes=GIB))["df-ops-rds-freeable-memory"]["threshold"] == GIB


def test_an_unknown_instance_class_is_refused_with_the_known_ones():
    with pytest.raises(AnsibleFilterError, match="unknown RDS instance class 'db.x9.huge'"):
        derive(watched(rds=dict(watched()["rds"], instance_class="db.x9.huge")))


def test_a_region_without_its_topic_is_missing_and_its_alarms_are_not_planned():
    result = derive(watched(topics={"eu-west-1": TOPIC}))
    assert [c["region"] for c in result["calls"]] == ["eu-west-1"]
    assert [m for m in result["missing"] if m.startswith("no alert topic df-alerts in us-east-1: the 5 alarms there")
            and "run the certificates phase" in m]


# ---------------------------------------------------------------------------------------------------------------
# cloudwatch_alarms: input checks


def spec(**overrides):
    a = {"name": "df-ops-x", "description": "d", "namespace": "AWS/RDS", "metric_name": "CPUUtilization",
         "dimensions": {"DBInstanceIdentifier": "db"}, "statistic": "Average", "extended_statistic": None,
         "metrics": None, "unit": None, "period": 300, "evaluation_periods": 3, "datapoints_to_alarm": None,
         "threshold": 80.0, "comparison": "GreaterThanThreshold", "treat_missing_data": "missing",
         "alarm_actions": [TOPIC], "ok_actions": [TOPIC], "insufficient_data_actions": []}
    a.update(overrides)
    return a


def params(*alarms, **overrides):
    p = {"prefix": PREFIX, "purge": True, "tags": {"project": "df"}, "alarms": list(alarms) or [spec()],
         "dashboard": None}
    p.update(overrides)
    return p


@pytest.mark.parametrize("overrides, message", [
    ({"comparison": "Above"}, "comparison 'Above' is not accepted; accepted: GreaterThanThreshold"),
    ({"period": 45}, "period 45 is not accepted; accepted: 10, 30 or a multiple of 60"),
    ({"period": 90}, "period 90 is not accepted"),
    ({"datapoints_to_alarm": 4}, "datapoints_to_alarm 4 is not accepted with evaluation_periods 3"),
    ({"alarm_actions": []}, "alarm_actions is empty; accepted: at least one ARN"),
    ({"ok_actions": ["ops@example.com"]}, "is not an ARN"),
    ({"name": "other-x"}, "does not start with the prefix 'df-ops-'"),
    ({"statistic": "p95"}, "statistic 'p95' is not accepted"),
    ({"statistic": None, "extended_statistic": "p101"}, "extended_statistic 'p101' is not accepted"),
    ({"extended_statistic": "p95"}, "both statistic and extended_statistic"),
    ({"statistic": None}, "none of them is given"),
    ({"treat_missing_data": "zero"}, "treat_missing_data 'zero' is not accepted"),
    ({"evaluation_periods": 0}, "evaluation_periods 0 is not accepted"),
    ({"namespace": None}, "namespace is missing"),
])
def test_bad_alarm_input_is_refused_with_what_is_accepted(overrides, message):
    problems = M.input_problems(params(spec(**overrides)))
    assert any(message in p for p in problems), problems


def metric_math(**overrides):
    metrics = [{"id": "r", "namespace": "AWS/ApplicationELB", "metric_name": "RequestCount",
                "dimensions": {"LoadBalancer": "app/a/b"}, "stat": "Sum", "period": 300, "return_data": False,
                "expression": None, "label": None},
               {"id": "rate", "expression": "100 * r", "label": "x", "return_data": True, "namespace": None,
                "metric_name": None, "dimensions": {}, "stat": None, "period": None}]
    fields = dict(namespace=None, metric_name=None, dimensions={}, statistic=None, period=None, metrics=metrics)
    fields.update(overrides)
    return spec(**fields)


def test_metric_math_input_checks():
    assert M.input_problems(params(metric_math())) == []
    two = metric_math()
    two["metrics"][0]["return_data"] = True
    assert any("2 metrics have return_data=true" in p for p in M.input_problems(params(two)))
    bad = metric_math()
    bad["metrics"][0]["period"] = 45
    bad["metrics"][1]["id"] = "Rate"
    problems = M.input_problems(params(bad))
    assert any("period 45" in p for p in problems) and any("id 'Rate' is not valid" in p for p in problems)
    mixed = metric_math(period=300)
    assert any("period is set with metrics" in p for p in M.input_problems(params(mixed)))


def test_duplicate_names_and_bad_dashboards_are_refused():
    problems = M.input_problems(params(spec(), spec(), dashboard={"name": "bad name", "body": "{"}))
    assert any("listed twice" in p for p in problems)
    assert any("dashboard name 'bad name' is not valid" in p for p in problems)
    assert any("body is not JSON" in p for p in problems)
    assert any("no widgets list" in p for p in M.input_problems(params(dashboard={"name": "d", "body": "{}"})))


# ---------------------------------------------------------------------------------------------------------------
# cloudwatch_alarms: canonical comparison and the plan


def described(request, tags=True):
    """What DescribeAlarms answers for an alarm made from ``request``: dimensions in another order, no
    DatapointsToAlarm when it equals EvaluationPeriods, threshold as an int, plus fields we never set."""
    answer = copy.deepcopy(request)
    answer.pop("Tags", None)
    answer["Dimensions"] = list(reversed(answer.get("Dimensions") or []))
    if answer.get("DatapointsToAlarm") == answer.get("EvaluationPeriods"):
        answer.pop("DatapointsToAlarm")
    answer["Threshold"] = int(answer["Threshold"]) if float(answer["Threshold"]).is_integer() else answer["Threshold"]
    answer.update(AlarmArn="arn:aws:cloudwatch:eu-west-1:123456789012:alarm:%s" % request["AlarmName"],
                  StateValue="INSUFFICIENT_DATA", StateReason="x", Metrics=answer.get("Metrics") or [])
    return answer


def observed_after(p, dashboard=None):
    alarms = dict((a["name"], described(M.alarm_request(a))) for a in p["alarms"])
    tags = dict((n, M.desired_tags(p["tags"])) for n in alarms)
    return {"alarms": alarms, "tags": tags, "dashboard": dashboard}


def test_a_missing_alarm_is_created_with_its_tags():
    plan, gone = M.plan_alarms(params(), {"alarms": {}, "tags": {}, "dashboard": None})
    assert [s["op"] for s in plan.steps] == ["put_metric_alarm"] and gone == []
    kwargs = plan.steps[0]["kwargs"]
    assert {"Key": "managed-by", "Value": "directfanz.launch"} in kwargs["Tags"]
    assert kwargs["Statistic"] == "Average" and kwargs["DatapointsToAlarm"] == 3 and kwargs["OKActions"] == [TOPIC]


def test_an_unchanged_set_plans_nothing_also_for_metric_math_and_percentiles():
    p = params(spec(), metric_math(name="df-ops-math"),
               spec(name="df-ops-p95", statistic=None, extended_statistic="p95", threshold=0.2, datapoints_to_alarm=2),
               dashboard={"name": "ops", "body": json.dumps({"widgets": [{"type": "text", "x": 0}]})})
    observed = observed_after(p, dashboard='{"widgets":[{"x":0,"type":"text"}]}')
    plan, gone = M.plan_alarms(p, observed)
    assert plan.steps == [] and gone == [] and not plan.changed


def test_a_changed_alarm_is_one_put_naming_the_difference():
    p = params(spec(), spec(name="df-ops-y"))
    observed = observed_after(p)
    changed = params(spec(threshold=90.0), spec(name="df-ops-y"))
    plan, unused = M.plan_alarms(changed, observed)
    assert [s["op"] for s in plan.steps] == ["put_metric_alarm"]
    assert plan.actions == ["update alarm df-ops-x (threshold 80.0 -> 90.0)"]
    assert "Tags" not in plan.steps[0]["kwargs"]  # PutMetricAlarm ignores tags on an update


def test_removed_alarms_are_one_delete_and_purge_false_keeps_them():
    p = params(spec(), spec(name="df-ops-y"), spec(name="df-ops-z"))
    observed = observed_after(p)
    plan, gone = M.plan_alarms(params(spec()), observed)
    assert [s["op"] for s in plan.steps] == ["delete_alarms"] and gone == ["df-ops-y", "df-ops-z"]
    assert plan.steps[0]["kwargs"] == {"AlarmNames": ["df-ops-y", "df-ops-z"]}
    kept, unused = M.plan_alarms(params(spec(), purge=False), observed)
    assert kept.steps == []


def test_a_thousand_removed_alarms_are_batched_by_one_hundred():
    observed = {"alarms": dict(("df-ops-%04d" % i, {"AlarmArn": "a"}) for i in range(250)), "tags": {},
                "dashboard": None}
    plan, gone = M.plan_alarms(params(alarms=[]), observed)
    assert [len(s["kwargs"]["AlarmNames"]) for s in plan.steps] == [100, 100, 50] and len(gone) == 250


def test_missing_tags_on_an_existing_alarm_are_added_not_replaced():
    p = params()
    observed = observed_after(p)
    observed["tags"]["df-ops-x"] = {"managed-by": "directfanz.launch", "owner": "someone"}
    plan, unused = M.plan_alarms(p, observed)
    assert [s["op"] for s in plan.steps] == ["tag_resource"]
    assert plan.steps[0]["kwargs"]["Tags"] == [{"Key": "project", "Value": "df"}]


def test_a_changed_dashboard_is_put_and_an_equal_one_is_not():
    body = {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 24, "height": 1, "properties": {"markdown": "a"}}]}
    p = params(dashboard={"name": "ops", "body": json.dumps(body)})
    observed = observed_after(p, dashboard=None)
    plan, unused = M.plan_alarms(p, observed)
    assert plan.actions == ["create dashboard ops"]
    observed["dashboard"] = json.dumps(body, indent=2, sort_keys=False)
    assert M.plan_alarms(p, observed)[0].steps == []
    observed["dashboard"] = json.dumps({"widgets": []})
    assert M.plan_alarms(p, observed)[0].actions == ["update dashboard ops"]


def test_treat_missing_data_default_and_datapoints_default_compare_equal():
    request = M.alarm_request(spec())
    answer = dict(request)
    answer.pop("TreatMissingData")
    answer.pop("DatapointsToAlarm")
    assert M.alarm_differences(answer, request) == []
    assert M.alarm_differences(dict(answer, TreatMissingData="breaching"), request) == [
        "treat missing data 'breaching' -> 'missing'"]


def test_the_period_rule():
    assert [M.period_problem(p) is None for p in (10, 30, 60, 300, 3600, 20, 45, 90, 0)] == [
        True, True, True, True, True, False, False, False, False]


# ---------------------------------------------------------------------------------------------------------------
# cloudfront_metrics: the plan


def test_additional_metrics_plan():
    from ansible_collections.directfanz.launch.plugins.modules import cloudfront_metrics as C

    assert [s["op"] for s in C.plan_metrics("E1", True, None).steps] == ["create_monitoring_subscription"]
    assert [s["op"] for s in C.plan_metrics("E1", True, "Disabled").steps] == ["create_monitoring_subscription"]
    assert C.plan_metrics("E1", True, "Enabled").steps == []
    assert [s["op"] for s in C.plan_metrics("E1", False, "Enabled").steps] == ["delete_monitoring_subscription"]
    assert C.plan_metrics("E1", False, None).steps == []
    create = C.plan_metrics("E1", True, None).steps[0]["kwargs"]
    assert create["MonitoringSubscription"] == {"RealtimeMetricsSubscriptionConfig": {
        "RealtimeMetricsSubscriptionStatus": "Enabled"}}
