#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ecs_autoscaling
short_description: Auto-scaling of the launch's ECS services - targets, target tracking, spike step scaling - in one call
version_added: 0.3.0
description:
  - Keeps, in one invocation, for each listed ECS service - its scalable target (C(ecs:service:DesiredCount), min and
    max), target tracking on C(ECSServiceAverageCPUUtilization) and, where a load balancer is given,
    C(ALBRequestCountPerTarget), and a step scaling policy driven by a CloudWatch alarm on one-minute datapoints, so a
    spike starts a scale-out within two minutes (target tracking's own alarm needs three one-minute datapoints).
  - Reads the scalable targets, the policies and the spike alarms first (three calls for any number of services), plans,
    then applies. Compares only what it sets (numbers as numbers, steps in order, dimensions in any order), so a second
    run with the same input writes nothing.
  - Never touches the service's desired count itself - Application Auto Scaling moves it within [min, max].
  - Policies this module names (C(<service>-cpu-target), C(<service>-requests-target), C(<service>-spike-step)) that
    are no longer wanted are deleted; other policies on the target are left alone.
author: DirectFanz platform team (@directfanz)
options:
  cluster:
    description: The ECS cluster of the services.
    type: str
    required: true
  tags:
    description: Tags on new scalable targets and alarms (C(managed-by=directfanz.launch) is always added).
    type: dict
    default: {}
  services:
    description: The services to scale, each once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The ECS service name.
        type: str
        required: true
      min:
        description: Fewest tasks - 2 or more (one per zone).
        type: int
        default: 2
      max:
        description: Most tasks (at least O(services[].min)).
        type: int
        required: true
      cpu_target:
        description: Target average CPU utilisation, percent.
        type: float
        default: 60
      requests_target:
        description:
          - Target requests per task per minute (C(ALBRequestCountPerTarget)); needs O(services[].load_balancer_arn) and
            O(services[].target_group_arn). No request tracking when not given.
        type: int
      load_balancer_arn:
        description: The ALB the requests are counted on.
        type: str
      target_group_arn:
        description: The service's target group.
        type: str
      scale_out_cooldown:
        description: Seconds after a target tracking scale-out before another.
        type: int
        default: 60
      scale_in_cooldown:
        description: Seconds after a scale-in before another.
        type: int
        default: 300
      spike:
        description: The step scaling on a spike alarm; omit O(services[].spike.threshold) to have none.
        type: dict
        default: {}
        suboptions:
          metric:
            description: C(cpu) (AWS/ECS CPUUtilization, Maximum) or C(requests) (ALB RequestCountPerTarget, Sum).
            type: str
            choices: [cpu, requests]
            default: cpu
          threshold:
            description: The alarm threshold (percent for C(cpu), requests per task per minute for C(requests)).
            type: float
          datapoints:
            description: Breaching one-minute datapoints that set the alarm off (1 or 2).
            type: int
            default: 1
          cooldown:
            description: Seconds after a step scale-out before the next one counts afresh.
            type: int
            default: 60
          steps:
            description:
              - Step adjustments in percent of the current count, by how far above the threshold the metric is.
              - Each C({lower, upper, percent}); C(lower)/C(upper) are offsets from the threshold, the last has no C(upper).
            type: list
            elements: dict
            default: [{lower: 0, upper: 20, percent: 50}, {lower: 20, percent: 100}]
            suboptions:
              lower:
                description: Offset above the threshold where the step starts (the first is 0).
                type: float
                required: true
              upper:
                description: Offset where it ends (none for the last step).
                type: float
              percent:
                description: Tasks added, in percent of the current count (at least one task).
                type: int
                required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads everything and returns the planned RV(actions) and C(changed); changes nothing.
  diff_mode:
    support: full
    description: Returns per service its target, policies and spike alarm, before and after.
"""

EXAMPLES = r"""
- name: Scale web, ws and stream
  directfanz.launch.ecs_autoscaling:
    cluster: directfanz
    services:
      - name: web
        min: 2
        max: 10
        requests_target: 1000
        load_balancer_arn: "{{ alb_arn }}"
        target_group_arn: "{{ web_target_group_arn }}"
        spike: {threshold: 85}
      - name: ws
        max: 6
        spike: {threshold: 85}
"""

RETURN = r"""
services:
  description:
    - Per service, its C(resource_id), policy ARNs (C(cpu), C(requests), C(spike); placeholders in check mode) and
      C(alarm).
  returned: always
  type: dict
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
"""

# Why a module of our own: community.aws.application_autoscaling_policy takes one policy per task and re-puts it on every
# run (it compares nothing, amazon.aws#762-style), and the spike alarm would be a third module; one call here reads all
# targets, policies and alarms in three requests.

import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, aws_pages, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")
DIMENSION = "ecs:service:DesiredCount"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
LB_ARN = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/(app/[A-Za-z0-9-]+/[0-9a-f]+)$")
TG_ARN = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:(targetgroup/[A-Za-z0-9-]+/[0-9a-f]+)$")


def resource_id(p, service):
    return "service/%s/%s" % (p["cluster"], service["name"])


PLACEHOLDER = re.compile(r"^\(new ([^()]+)\)$")


def _part(pattern, value):
    """The label part of an ARN, or - for a placeholder an earlier module planned in check mode ("(new target group
    x)") - the placeholder itself."""
    m = pattern.match(value or "")
    if m:
        return m.group(1)
    return value if PLACEHOLDER.match(value or "") else None


def resource_label(service):
    """ALBRequestCountPerTarget's label: app/<lb>/<id>/targetgroup/<tg>/<id>, from the two ARNs."""
    lb = _part(LB_ARN, service.get("load_balancer_arn"))
    tg = _part(TG_ARN, service.get("target_group_arn"))
    return "%s/%s" % (lb, tg) if lb and tg else None


def policy_names(service):
    n = service["name"]
    return {"cpu": "%s-cpu-target" % n, "requests": "%s-requests-target" % n, "spike": "%s-spike-step" % n}


def alarm_name(p, service):
    return "%s-%s-spike" % (p["cluster"], service["name"])


def input_problems(p):
    problems = []
    if not NAME.match(p.get("cluster") or ""):
        problems.append("cluster %r is not accepted; accepted: letters, digits, hyphens or underscores" % p.get("cluster"))
    services = p.get("services") or []
    if not services:
        problems.append("services is empty; accepted: the services to scale")
    seen = set()
    for s in services:
        name = s.get("name") or ""
        if not NAME.match(name):
            problems.append("service name %r is not accepted" % name)
            continue
        if name in seen:
            problems.append("service %s is listed twice; accepted: each service once" % name)
        seen.add(name)
        if (s.get("min") or 0) < 2:
            problems.append("service %s: min %r is below 2; accepted: 2 or more (one task per zone)" % (name, s.get("min")))
        if (s.get("max") or 0) < (s.get("min") or 0):
            problems.append("service %s: max %r is below min %r" % (name, s.get("max"), s.get("min")))
        if not 1 <= (s.get("cpu_target") or 0) <= 100:
            problems.append("service %s: cpu_target %r is not accepted; accepted: 1-100 percent"
                            % (name, s.get("cpu_target")))
        if s.get("requests_target") is not None:
            if s["requests_target"] < 1:
                problems.append("service %s: requests_target must be 1 or more requests per task per minute" % name)
            if resource_label(s) is None:
                problems.append("service %s: requests_target needs load_balancer_arn (an application load balancer's ARN) "
                                "and target_group_arn (a target group's ARN)" % name)
        for field in ("scale_out_cooldown", "scale_in_cooldown"):
            if not 0 <= (s.get(field) if s.get(field) is not None else -1) <= 3600:
                problems.append("service %s: %s must be 0-3600 seconds" % (name, field))
        spike = s.get("spike") or {}
        if spike.get("threshold") is not None:
            if spike.get("metric") == "requests" and resource_label(s) is None:
                problems.append("service %s: a requests spike needs load_balancer_arn and target_group_arn" % name)
            if spike.get("datapoints") not in (1, 2):
                problems.append("service %s: spike.datapoints %r is not accepted; accepted: 1 or 2 one-minute datapoints "
                                "(3 would be no faster than target tracking)" % (name, spike.get("datapoints")))
            if not 0 <= (spike.get("cooldown") if spike.get("cooldown") is not None else -1) <= 3600:
                problems.append("service %s: spike.cooldown must be 0-3600 seconds" % name)
            problems.extend(step_problems(name, spike.get("steps") or []))
    return problems


def step_problems(name, steps):
    if not steps:
        return ["service %s: spike.steps is empty; accepted: [{lower: 0, upper: 20, percent: 50}, {lower: 20, percent: 100}]"
                % name]
    problems = []
    expected = 0
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if step.get("lower") != expected:
            problems.append("service %s: spike step %d starts at %r; accepted: steps that start at 0 and each at the "
                            "previous one's upper" % (name, i + 1, step.get("lower")))
        if last and step.get("upper") is not None:
            problems.append("service %s: the last spike step has an upper bound; accepted: none (it covers everything above)"
                            % name)
        if not last and (step.get("upper") is None or step["upper"] <= (step.get("lower") or 0)):
            problems.append("service %s: spike step %d needs an upper bound above its lower one" % (name, i + 1))
        if not 1 <= (step.get("percent") or 0) <= 1000:
            problems.append("service %s: spike step %d percent %r is not accepted; accepted: 1-1000" % (
                name, i + 1, step.get("percent")))
        expected = step.get("upper")
    return problems


# ---------------------------------------------------------------------------------------------------------------
# What the task asks for, canonical


def number(value):
    return None if value is None else float(value)


def cpu_policy(service):
    return {"TargetValue": number(service["cpu_target"]),
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "ScaleOutCooldown": service["scale_out_cooldown"], "ScaleInCooldown": service["scale_in_cooldown"],
            "DisableScaleIn": False}


def requests_policy(service):
    return {"TargetValue": number(service["requests_target"]),
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget",
                                              "ResourceLabel": resource_label(service)},
            "ScaleOutCooldown": service["scale_out_cooldown"], "ScaleInCooldown": service["scale_in_cooldown"],
            "DisableScaleIn": False}


def step_policy(service):
    spike = service["spike"]
    steps = []
    for step in spike["steps"]:
        item = {"MetricIntervalLowerBound": number(step["lower"]), "ScalingAdjustment": int(step["percent"])}
        if step.get("upper") is not None:
            item["MetricIntervalUpperBound"] = number(step["upper"])
        steps.append(item)
    return {"AdjustmentType": "PercentChangeInCapacity", "StepAdjustments": steps, "MinAdjustmentMagnitude": 1,
            "Cooldown": spike["cooldown"], "MetricAggregationType": "Maximum"}


def canonical_tracking(config):
    if not config:
        return None
    spec = config.get("PredefinedMetricSpecification") or {}
    out = {"TargetValue": number(config.get("TargetValue")),
           "PredefinedMetricSpecification": {"PredefinedMetricType": spec.get("PredefinedMetricType")},
           "ScaleOutCooldown": config.get("ScaleOutCooldown"), "ScaleInCooldown": config.get("ScaleInCooldown"),
           "DisableScaleIn": bool(config.get("DisableScaleIn"))}
    if spec.get("ResourceLabel"):
        out["PredefinedMetricSpecification"]["ResourceLabel"] = spec["ResourceLabel"]
    return out


def canonical_steps(config):
    if not config:
        return None
    steps = []
    for s in config.get("StepAdjustments") or []:
        item = {"MetricIntervalLowerBound": number(s.get("MetricIntervalLowerBound")),
                "ScalingAdjustment": int(s.get("ScalingAdjustment"))}
        if s.get("MetricIntervalUpperBound") is not None:
            item["MetricIntervalUpperBound"] = number(s["MetricIntervalUpperBound"])
        steps.append(item)
    steps.sort(key=lambda s: s["MetricIntervalLowerBound"] if s["MetricIntervalLowerBound"] is not None else float("-inf"))
    return {"AdjustmentType": config.get("AdjustmentType"), "StepAdjustments": steps,
            "MinAdjustmentMagnitude": config.get("MinAdjustmentMagnitude"), "Cooldown": config.get("Cooldown"),
            "MetricAggregationType": config.get("MetricAggregationType") or "Average"}


def alarm(p, service, policy_arn):
    """PutMetricAlarm's arguments for the spike alarm: one-minute period, 1 or 2 datapoints."""
    spike = service["spike"]
    if spike["metric"] == "requests":
        tg = _part(TG_ARN, service["target_group_arn"])
        lb = _part(LB_ARN, service["load_balancer_arn"])
        metric = {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCountPerTarget", "Statistic": "Sum",
                  "Dimensions": [{"Name": "LoadBalancer", "Value": lb}, {"Name": "TargetGroup", "Value": tg}]}
    else:
        metric = {"Namespace": "AWS/ECS", "MetricName": "CPUUtilization", "Statistic": "Maximum",
                  "Dimensions": [{"Name": "ClusterName", "Value": p["cluster"]},
                                 {"Name": "ServiceName", "Value": service["name"]}]}
    return dict(metric, AlarmName=alarm_name(p, service),
                AlarmDescription="spike on %s: step scale-out within two minutes (directfanz.launch)" % service["name"],
                Period=60, EvaluationPeriods=spike["datapoints"], DatapointsToAlarm=spike["datapoints"],
                Threshold=number(spike["threshold"]), ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData="notBreaching", ActionsEnabled=True, AlarmActions=[policy_arn])


ALARM_FIELDS = ("Namespace", "MetricName", "Statistic", "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
                "ComparisonOperator", "TreatMissingData", "ActionsEnabled", "AlarmDescription")


def canonical_alarm(a):
    if not a:
        return None
    out = dict((k, a.get(k)) for k in ALARM_FIELDS)
    out["Threshold"] = number(out["Threshold"])
    out["DatapointsToAlarm"] = a.get("DatapointsToAlarm") or a.get("EvaluationPeriods")
    out["Dimensions"] = sorted([d["Name"], d["Value"]] for d in a.get("Dimensions") or [])
    out["AlarmActions"] = sorted(a.get("AlarmActions") or [])
    return out


# ---------------------------------------------------------------------------------------------------------------
# Planning (pure)


def plan_scaling(p, observed):
    """``observed``: targets (resource id -> DescribeScalableTargets entry), policies ((resource id, name) -> entry),
    alarms (name -> DescribeAlarms entry)."""
    plan = Plan()
    tags = dict(((k, str(v)) for k, v in (p.get("tags") or {}).items()), **{MANAGED_TAG[0]: MANAGED_TAG[1]})
    outputs = {}
    for s in p["services"]:
        rid = resource_id(p, s)
        name = s["name"]
        names = policy_names(s)
        target = observed["targets"].get(rid)
        common = dict(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIMENSION)
        if target is None:
            plan.call("application-autoscaling", "register_scalable_target",
                      ["register %s for auto-scaling (%d-%d tasks)" % (name, s["min"], s["max"])],
                      "Could not register the scalable target of service %s" % name,
                      MinCapacity=s["min"], MaxCapacity=s["max"], Tags=tags, **common)
        elif (target.get("MinCapacity"), target.get("MaxCapacity")) != (s["min"], s["max"]):
            plan.call("application-autoscaling", "register_scalable_target",
                      ["scale %s within %d-%d tasks (was %s-%s)"
                       % (name, s["min"], s["max"], target.get("MinCapacity"), target.get("MaxCapacity"))],
                      "Could not update the scalable target of service %s" % name,
                      MinCapacity=s["min"], MaxCapacity=s["max"], **common)
        out = {"resource_id": rid}
        wanted = {"cpu": cpu_policy(s), "requests": requests_policy(s) if s.get("requests_target") is not None else None}
        for kind in ("cpu", "requests"):
            have = observed["policies"].get((rid, names[kind]))
            if wanted[kind] is None:
                if have is not None:
                    plan.call("application-autoscaling", "delete_scaling_policy",
                              ["delete scaling policy %s (no longer asked for)" % names[kind]],
                              "Could not delete scaling policy %s" % names[kind], PolicyName=names[kind], **common)
                continue
            if have is not None and have.get("PolicyType") == "TargetTrackingScaling" and canonical_tracking(
                    have.get("TargetTrackingScalingPolicyConfiguration")) == canonical_tracking(wanted[kind]):
                out[kind] = have["PolicyARN"]
                continue
            what = ("CPU %g%%" % s["cpu_target"]) if kind == "cpu" \
                else ("%d requests per task per minute" % s["requests_target"])
            out[kind] = plan.call("application-autoscaling", "put_scaling_policy",
                                  ["%s target tracking of %s on %s" % ("set" if have is None else "update", name, what)],
                                  "Could not put scaling policy %s" % names[kind], out="policy %s" % names[kind],
                                  pick=("PolicyARN",), PolicyName=names[kind], PolicyType="TargetTrackingScaling",
                                  TargetTrackingScalingPolicyConfiguration=wanted[kind], **common)
        spike = s.get("spike") or {}
        have = observed["policies"].get((rid, names["spike"]))
        if spike.get("threshold") is None:
            if have is not None:
                plan.call("application-autoscaling", "delete_scaling_policy",
                          ["delete scaling policy %s (no longer asked for)" % names["spike"]],
                          "Could not delete scaling policy %s" % names["spike"], PolicyName=names["spike"], **common)
            outputs[name] = out
            continue
        config = step_policy(s)
        if have is not None and have.get("PolicyType") == "StepScaling" and canonical_steps(
                have.get("StepScalingPolicyConfiguration")) == canonical_steps(config):
            arn = have["PolicyARN"]
        else:
            arn = plan.call("application-autoscaling", "put_scaling_policy",
                            ["%s step scaling of %s on spikes (%s)" % ("set" if have is None else "update", name, ", ".join(
                                "+%d%% from +%g" % (st["percent"], st["lower"]) for st in spike["steps"]))],
                            "Could not put scaling policy %s" % names["spike"], out="policy %s" % names["spike"],
                            pick=("PolicyARN",), PolicyName=names["spike"], PolicyType="StepScaling",
                            StepScalingPolicyConfiguration=config, **common)
        out["spike"] = arn
        kwargs = alarm(p, s, arn)
        found = observed["alarms"].get(kwargs["AlarmName"])
        if canonical_alarm(found) != canonical_alarm(kwargs):
            plan.call("cloudwatch", "put_metric_alarm",
                      ["%s alarm %s (%s >= %g, %d of 1-minute datapoints)" % (
                          "create" if found is None else "update", kwargs["AlarmName"], kwargs["MetricName"],
                          kwargs["Threshold"], kwargs["DatapointsToAlarm"])],
                      "Could not put alarm %s" % kwargs["AlarmName"],
                      Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())] if found is None else [], **kwargs)
        out["alarm"] = kwargs["AlarmName"]
        outputs[name] = out
    return plan, outputs


def view(p, observed):
    out = {}
    for s in p["services"]:
        rid = resource_id(p, s)
        target = observed["targets"].get(rid)
        names = policy_names(s)
        policies = {}
        for kind in ("cpu", "requests", "spike"):
            have = observed["policies"].get((rid, names[kind]))
            if have is not None:
                policies[kind] = canonical_tracking(have.get("TargetTrackingScalingPolicyConfiguration")) \
                    or canonical_steps(have.get("StepScalingPolicyConfiguration"))
        a = canonical_alarm(observed["alarms"].get(alarm_name(p, s)))
        if a:
            a.pop("AlarmActions")
        out[s["name"]] = {"min": (target or {}).get("MinCapacity"), "max": (target or {}).get("MaxCapacity"),
                          "policies": policies, "alarm": a}
    return out


def wanted_view(p):
    out = {}
    for s in p["services"]:
        policies = {"cpu": canonical_tracking(cpu_policy(s))}
        if s.get("requests_target") is not None:
            policies["requests"] = canonical_tracking(requests_policy(s))
        a = None
        if (s.get("spike") or {}).get("threshold") is not None:
            policies["spike"] = canonical_steps(step_policy(s))
            a = canonical_alarm(alarm(p, s, "x"))
            a.pop("AlarmActions")
        out[s["name"]] = {"min": s["min"], "max": s["max"], "policies": policies, "alarm": a}
    return out


def read_state(module, clients, p):
    aas, cw = clients["application-autoscaling"], clients["cloudwatch"]
    rids = [resource_id(p, s) for s in p["services"]]
    targets = {}
    for i in range(0, len(rids), 50):
        for t in aws_pages(module, aas, "read the scalable targets", "describe_scalable_targets", "ScalableTargets",
                           ServiceNamespace="ecs", ResourceIds=rids[i:i + 50], ScalableDimension=DIMENSION):
            targets[t["ResourceId"]] = t
    policies = {}
    wanted = set(rids)
    for pol in aws_pages(module, aas, "read the scaling policies", "describe_scaling_policies", "ScalingPolicies",
                         ServiceNamespace="ecs"):
        if pol.get("ResourceId") in wanted and pol.get("ScalableDimension") == DIMENSION:
            policies[(pol["ResourceId"], pol["PolicyName"])] = pol
    names = [alarm_name(p, s) for s in p["services"]]
    alarms = {}
    for i in range(0, len(names), 100):
        answer = aws_call(module, cw, "read the spike alarms", "describe_alarms", AlarmNames=names[i:i + 100],
                          AlarmTypes=["MetricAlarm"])
        for a in answer.get("MetricAlarms") or []:
            alarms[a["AlarmName"]] = a
    return {"targets": targets, "policies": policies, "alarms": alarms}


def main():
    step_spec = dict(lower=dict(type="float", required=True), upper=dict(type="float"),
                     percent=dict(type="int", required=True))
    spike_spec = dict(metric=dict(type="str", choices=["cpu", "requests"], default="cpu"), threshold=dict(type="float"),
                      datapoints=dict(type="int", default=1), cooldown=dict(type="int", default=60),
                      steps=dict(type="list", elements="dict", options=step_spec,
                                 default=[{"lower": 0, "upper": 20, "percent": 50}, {"lower": 20, "percent": 100}]))
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            tags=dict(type="dict", default={}),
            services=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                min=dict(type="int", default=2),
                max=dict(type="int", required=True),
                cpu_target=dict(type="float", default=60),
                requests_target=dict(type="int"),
                load_balancer_arn=dict(type="str"),
                target_group_arn=dict(type="str"),
                scale_out_cooldown=dict(type="int", default=60),
                scale_in_cooldown=dict(type="int", default=300),
                spike=dict(type="dict", default={}, options=spike_spec),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for s in p["services"]:
        none = {"metric": "cpu", "threshold": None, "datapoints": 1, "cooldown": 60,
                "steps": spike_spec["steps"]["default"]}
        s["spike"] = s.get("spike") or none
    problems = input_problems(p)
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="ecs_autoscaling refused the input: %s" % "; ".join(problems), problems=problems)
    clients = dict((s, retrying_client(module, s, retries=8, max_delay=20))
                   for s in ("application-autoscaling", "cloudwatch"))
    observed = read_state(module, clients, p)
    plan, outputs = plan_scaling(p, observed)
    refuse(module, "ecs_autoscaling", plan)
    real = apply(module, plan, clients)
    diff = {"before": view(p, observed), "after": wanted_view(p)} if module._diff else None
    finish(module, plan, diff, services=real(outputs))


if __name__ == "__main__":
    main()
