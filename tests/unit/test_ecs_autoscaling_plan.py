"""ecs_autoscaling's pure parts on plain dicts: input rules (min >= 2, max >= min, request tracking needs the load
balancer and target group, 1-2 datapoints, contiguous steps), the resource label from two ARNs, the plan on an empty
account (exact policy and alarm arguments: one-minute period, step adjustments in percent), nothing to do once in place
with the answers reshaped the way AWS reshapes them (integers as floats, an omitted DatapointsToAlarm), only the
changed piece rewritten, an unwanted policy of ours deleted, and the spike alarm rewritten when its policy is."""

import copy

from ansible_collections.directfanz.launch.plugins.modules import ecs_autoscaling as M

ACCOUNT = "123456789012"
LB = "arn:aws:elasticloadbalancing:us-east-1:%s:loadbalancer/app/directfanz-alb/50dc6c495c0c9188" % ACCOUNT
TG = "arn:aws:elasticloadbalancing:us-east-1:%s:targetgroup/directfanz-web/73e2d6bc24d8a067" % ACCOUNT
STEPS = [{"lower": 0.0, "upper": 20.0, "percent": 50}, {"lower": 20.0, "upper": None, "percent": 100}]


def spike(**over):
    s = {"metric": "cpu", "threshold": 85.0, "datapoints": 1, "cooldown": 60, "steps": copy.deepcopy(STEPS)}
    s.update(over)
    return s


def web(**over):
    s = {"name": "web", "min": 2, "max": 10, "cpu_target": 60.0, "requests_target": 1000, "load_balancer_arn": LB,
         "target_group_arn": TG, "scale_out_cooldown": 60, "scale_in_cooldown": 300, "spike": spike()}
    s.update(over)
    return s


def params(*services):
    return {"cluster": "directfanz", "tags": {}, "services": list(services) or [web()]}


def empty():
    return {"targets": {}, "policies": {}, "alarms": {}}


def in_place(p):
    """What AWS answers once the plan of ``p`` is applied: numbers as floats, DatapointsToAlarm omitted when equal to
    EvaluationPeriods, steps in another order."""
    observed = empty()
    plan, unused = M.plan_scaling(p, empty())
    for step in plan.steps:
        k = step["kwargs"]
        if step["op"] == "register_scalable_target":
            observed["targets"][k["ResourceId"]] = {"ResourceId": k["ResourceId"], "MinCapacity": k["MinCapacity"],
                                                    "MaxCapacity": k["MaxCapacity"]}
        elif step["op"] == "put_scaling_policy":
            pol = copy.deepcopy(k)
            pol["PolicyARN"] = "arn:policy/%s" % k["PolicyName"]
            cfg = pol.get("StepScalingPolicyConfiguration")
            if cfg:
                cfg["StepAdjustments"] = list(reversed(cfg["StepAdjustments"]))
            observed["policies"][(k["ResourceId"], k["PolicyName"])] = pol
        elif step["op"] == "put_metric_alarm":
            a = copy.deepcopy(k)
            a.pop("Tags")
            a["AlarmActions"] = ["arn:policy/%s-spike-step" % a["Dimensions"][1]["Value"]] \
                if a["Namespace"] == "AWS/ECS" else a["AlarmActions"]
            a["Threshold"] = float(a["Threshold"])
            a.pop("DatapointsToAlarm")
            a["Dimensions"] = list(reversed(a["Dimensions"]))
            observed["alarms"][a["AlarmName"]] = a
    return observed


def test_input_rules_each_with_what_is_accepted():
    bad = web(min=1, max=0, requests_target=10, target_group_arn=None,
              spike=spike(datapoints=3, steps=[{"lower": 5, "upper": None, "percent": 0}]))
    text = "; ".join(M.input_problems(params(bad)))
    for part in ("min 1 is below 2", "max 0 is below min 1", "requests_target needs load_balancer_arn",
                 "spike.datapoints 3 is not accepted; accepted: 1 or 2", "spike step 1 starts at 5",
                 "spike step 1 percent 0"):
        assert part in text, part
    assert M.input_problems(params(web())) == []


def test_the_resource_label_comes_from_the_two_arns():
    assert M.resource_label(web()) == "app/directfanz-alb/50dc6c495c0c9188/targetgroup/directfanz-web/73e2d6bc24d8a067"
    assert M.resource_label(web(target_group_arn="(new target group x)")).endswith("/(new target group x)")
    assert M.resource_label(web(load_balancer_arn=None)) is None


def test_an_empty_account_plans_target_policies_and_the_one_minute_alarm():
    plan, out = M.plan_scaling(params(), empty())
    assert [s["op"] for s in plan.steps] == ["register_scalable_target", "put_scaling_policy", "put_scaling_policy",
                                             "put_scaling_policy", "put_metric_alarm"]
    target = plan.steps[0]["kwargs"]
    assert (target["ResourceId"], target["ScalableDimension"], target["MinCapacity"], target["MaxCapacity"]) == (
        "service/directfanz/web", "ecs:service:DesiredCount", 2, 10)
    cpu = plan.steps[1]["kwargs"]["TargetTrackingScalingPolicyConfiguration"]
    assert cpu == {"TargetValue": 60.0, "PredefinedMetricSpecification": {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}, "ScaleOutCooldown": 60, "ScaleInCooldown": 300,
        "DisableScaleIn": False}
    step = plan.steps[3]["kwargs"]["StepScalingPolicyConfiguration"]
    assert step["AdjustmentType"] == "PercentChangeInCapacity" and step["MetricAggregationType"] == "Maximum"
    assert step["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0, "ScalingAdjustment": 50},
        {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 100}]
    alarm = plan.steps[4]["kwargs"]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["Statistic"]) == (
        60, 1, 1, "Maximum")
    assert alarm["AlarmActions"] == ["(new policy web-spike-step)"] and out["web"]["spike"] == "(new policy web-spike-step)"


def test_a_requests_spike_alarms_on_the_target_group():
    plan, unused = M.plan_scaling(params(web(spike=spike(metric="requests", threshold=2000))), empty())
    alarm = plan.steps[-1]["kwargs"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/ApplicationELB", "RequestCountPerTarget", "Sum")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "LoadBalancer": "app/directfanz-alb/50dc6c495c0c9188", "TargetGroup": "targetgroup/directfanz-web/73e2d6bc24d8a067"}


def test_nothing_to_do_once_in_place():
    p = params(web(), web(name="ws", requests_target=None, load_balancer_arn=None, target_group_arn=None,
                          spike=spike(datapoints=2)), web(name="stream", requests_target=None, spike=spike(threshold=None)))
    plan, out = M.plan_scaling(p, in_place(p))
    assert plan.steps == [] and out["web"]["spike"] == "arn:policy/web-spike-step"


def test_a_changed_max_is_only_the_target():
    p = params()
    plan, unused = M.plan_scaling(params(web(max=12)), in_place(p))
    assert plan.actions == ["scale web within 2-12 tasks (was 2-10)"]


def test_a_changed_step_policy_rewrites_it_and_its_alarm():
    p = params()
    plan, unused = M.plan_scaling(params(web(spike=spike(cooldown=120))), in_place(p))
    assert [s["op"] for s in plan.steps] == ["put_scaling_policy", "put_metric_alarm"]
    assert plan.steps[1]["kwargs"]["AlarmActions"] == ["(new policy web-spike-step)"]


def test_policies_no_longer_wanted_are_deleted():
    p = params()
    plan, unused = M.plan_scaling(params(web(requests_target=None, spike=spike(threshold=None))), in_place(p))
    assert plan.actions == ["delete scaling policy web-requests-target (no longer asked for)",
                            "delete scaling policy web-spike-step (no longer asked for)"]
