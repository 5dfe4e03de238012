"""ecs_autoscaling against the moto server over HTTP, through the recording proxy: check mode plans and makes nothing;
a first run registers the targets, target tracking (CPU, requests per target) and the spike step policy with its
one-minute alarm, and moto's read-back shows every setting; a second run writes nothing (three reads for all services);
a changed maximum is one RegisterScalableTarget; a desired count auto-scaling moved is never touched; dropping the
request tracking deletes only that policy; bad input makes no call."""

import pytest

from conftest import aws_client as client
from conftest import module

ACCOUNT = "123456789012"
CLUSTER = "directfanz"
LB = "arn:aws:elasticloadbalancing:us-east-1:%s:loadbalancer/app/directfanz-alb/50dc6c495c0c9188" % ACCOUNT
TG = "arn:aws:elasticloadbalancing:us-east-1:%s:targetgroup/directfanz-web/73e2d6bc24d8a067" % ACCOUNT
LABEL = "app/directfanz-alb/50dc6c495c0c9188/targetgroup/directfanz-web/73e2d6bc24d8a067"


def specs(web_max=10, requests=True):
    web = {"name": "web", "min": 2, "max": web_max, "cpu_target": 60, "load_balancer_arn": LB, "target_group_arn": TG,
           "spike": {"threshold": 85}}
    if requests:
        web["requests_target"] = 1000
    return [web, {"name": "ws", "min": 2, "max": 6, "spike": {"threshold": 80, "datapoints": 2}},
            {"name": "stream", "min": 2, "max": 4}]


def services_exist(sandbox):
    """The cluster and the three services (moto's RegisterScalableTarget checks the ECS service exists, as AWS does)."""
    ecs = client(sandbox, "ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(family="t", containerDefinitions=[{"name": "c", "image": "x:1", "memory": 512}])
    for name in ("web", "ws", "stream"):
        ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition="t", desiredCount=2)


def run(sandbox, *flags, via=None, services=None):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = {"cluster": CLUSTER, "services": services if services is not None else specs(),
              "tags": {"project": "directfanz"}, "region": "us-east-1", "endpoint_url": endpoint, "access_key": "testing",
              "secret_key": sandbox["aws_secret_key"]}
    return module("ecs_autoscaling", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def policies(sandbox):
    answer = client(sandbox, "application-autoscaling").describe_scaling_policies(ServiceNamespace="ecs")
    return {p["PolicyName"]: p for p in answer["ScalingPolicies"]}


def test_check_mode_plans_and_makes_nothing(fresh, recorder):
    rc, out, result = run(fresh, "--check", "--diff", via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == [
        "register web for auto-scaling (2-10 tasks)", "set target tracking of web on CPU 60%",
        "set target tracking of web on 1000 requests per task per minute",
        "set step scaling of web on spikes (+50% from +0, +100% from +20)",
        "create alarm directfanz-web-spike (CPUUtilization >= 85, 1 of 1-minute datapoints)",
        "register ws for auto-scaling (2-6 tasks)", "set target tracking of ws on CPU 60%",
        "set step scaling of ws on spikes (+50% from +0, +100% from +20)",
        "create alarm directfanz-ws-spike (CPUUtilization >= 80, 2 of 1-minute datapoints)",
        "register stream for auto-scaling (2-4 tasks)", "set target tracking of stream on CPU 60%"]
    assert recorder.writes() == [] and len(recorder.calls) == 3, recorder.calls
    aas = client(fresh, "application-autoscaling")
    assert aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert policies(fresh) == {}
    assert client(fresh, "cloudwatch").describe_alarms(AlarmNamePrefix="directfanz-")["MetricAlarms"] == []


def test_first_run_reads_back_and_the_second_writes_nothing(fresh, recorder):
    services_exist(fresh)
    rc, out, first = run(fresh, "--diff")
    assert rc == 0 and first["changed"] is True, out
    targets = {t["ResourceId"]: t for t in client(fresh, "application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs")["ScalableTargets"]}
    assert {r: (t["MinCapacity"], t["MaxCapacity"], t["ScalableDimension"]) for r, t in targets.items()} == {
        "service/directfanz/web": (2, 10, "ecs:service:DesiredCount"),
        "service/directfanz/ws": (2, 6, "ecs:service:DesiredCount"),
        "service/directfanz/stream": (2, 4, "ecs:service:DesiredCount")}
    found = policies(fresh)
    assert sorted(found) == ["stream-cpu-target", "web-cpu-target", "web-requests-target", "web-spike-step",
                             "ws-cpu-target", "ws-spike-step"]
    cpu = found["web-cpu-target"]["TargetTrackingScalingPolicyConfiguration"]
    assert cpu["TargetValue"] == 60.0 and cpu["ScaleOutCooldown"] == 60 and cpu["ScaleInCooldown"] == 300
    assert cpu["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}
    req = found["web-requests-target"]["TargetTrackingScalingPolicyConfiguration"]
    assert req["TargetValue"] == 1000.0
    assert req["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ALBRequestCountPerTarget",
                                                    "ResourceLabel": LABEL}
    step = found["web-spike-step"]["StepScalingPolicyConfiguration"]
    assert step["AdjustmentType"] == "PercentChangeInCapacity" and step["Cooldown"] == 60
    assert step["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0, "ScalingAdjustment": 50},
        {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 100}]
    alarm = client(fresh, "cloudwatch").describe_alarms(AlarmNames=["directfanz-web-spike"])["MetricAlarms"][0]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/ECS", "CPUUtilization", "Maximum")
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 1, 1)
    assert alarm["Threshold"] == 85.0 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [found["web-spike-step"]["PolicyARN"]]
    assert sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"]) == [("ClusterName", CLUSTER), ("ServiceName", "web")]
    ws = client(fresh, "cloudwatch").describe_alarms(AlarmNames=["directfanz-ws-spike"])["MetricAlarms"][0]
    assert (ws["EvaluationPeriods"], ws["DatapointsToAlarm"]) == (2, 2)
    # target tracking's own alarm: three one-minute datapoints (moto makes it as AWS does) - slower than the spike alarm
    made = client(fresh, "cloudwatch").describe_alarms(AlarmNamePrefix="TargetTracking-service/directfanz/web")
    tracking = [a for a in made["MetricAlarms"] if "AlarmHigh" in a["AlarmName"]]
    assert tracking and all((a["Period"], a["EvaluationPeriods"]) == (60, 3) for a in tracking)
    assert first["services"]["web"]["spike"] == found["web-spike-step"]["PolicyARN"]

    rc, out, second = run(fresh, "--diff", via=recorder)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recorder.writes() == [] and len(recorder.calls) == 3, recorder.calls
    assert second["diff"]["before"] == second["diff"]["after"]
    assert first["diff"]["after"] == second["diff"]["before"]


def test_a_changed_maximum_is_one_write_and_the_desired_count_is_not_touched(fresh, recorder):
    services_exist(fresh)
    client(fresh, "ecs").update_service(cluster=CLUSTER, service="web", desiredCount=7)  # auto-scaling moved it
    rc, out, unused = run(fresh)
    assert rc == 0, out
    rc, out, result = run(fresh, via=recorder, services=specs(web_max=12))
    assert rc == 0, out
    assert result["actions"] == ["scale web within 2-12 tasks (was 2-10)"]
    assert recorder.writes() == ["RegisterScalableTarget"], recorder.calls
    assert "UpdateService" not in recorder.calls
    assert client(fresh, "ecs").describe_services(cluster=CLUSTER, services=["web"])["services"][0]["desiredCount"] == 7


def test_dropping_request_tracking_deletes_only_that_policy(fresh, recorder):
    services_exist(fresh)
    rc, out, unused = run(fresh)
    assert rc == 0, out
    rc, out, result = run(fresh, via=recorder, services=specs(requests=False))
    assert rc == 0, out
    assert result["actions"] == ["delete scaling policy web-requests-target (no longer asked for)"]
    assert recorder.writes() == ["DeleteScalingPolicy"]
    assert "web-requests-target" not in policies(fresh) and "web-cpu-target" in policies(fresh)


@pytest.mark.parametrize("change, message", [
    ({"min": 1}, "min 1 is below 2; accepted: 2 or more"),
    ({"max": 1}, "max 1 is below min 2"),
    ({"target_group_arn": None}, "requests_target needs load_balancer_arn"),
    ({"spike": {"threshold": 85, "datapoints": 3}}, "spike.datapoints 3 is not accepted; accepted: 1 or 2"),
    ({"spike": {"threshold": 85, "steps": [{"lower": 0, "percent": 50}, {"lower": 20, "percent": 100}]}},
     "spike step 2 starts at 20.0"),
])
def test_bad_input_is_refused_before_any_call(fresh, recorder, change, message):
    services = specs()
    services[0].update(change)
    rc, out, result = run(fresh, via=recorder, services=services)
    assert rc != 0 and message in out, out
    assert recorder.calls == []
