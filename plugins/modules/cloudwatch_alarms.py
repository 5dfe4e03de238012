#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cloudwatch_alarms
short_description: Every CloudWatch metric alarm of a name prefix, and a dashboard, in one call per region
version_added: 0.6.0
description:
  - Keeps, in one invocation and one region, the set of CloudWatch metric alarms whose names start with O(prefix) and,
    optionally, one dashboard. Alarms may watch one metric (with a statistic such as C(Average) or an extended
    statistic such as C(p95)) or a metric math expression (O(alarms[].metrics)).
  - Reads every alarm of the prefix (DescribeAlarms, paginated), their tags and the dashboard first, then plans
    C(PutMetricAlarm) only for alarms that are missing or differ (compared canonically - dimensions and actions in
    any order, thresholds as numbers, omitted defaults such as C(treat_missing_data=missing) and
    C(datapoints_to_alarm=evaluation_periods) read as what AWS applies), one C(DeleteAlarms) call for alarms of the
    prefix that are no longer listed (O(purge)), and C(PutDashboard) only when the body differs as parsed JSON.
  - Input is checked before any API call - an unknown comparison or statistic, a period that is not 10, 30 or a
    multiple of 60, more datapoints to alarm than evaluation periods, an alarm without alarm actions, a name outside
    the prefix, a metric math list without exactly one returned expression - with a message that says what is
    accepted.
  - Why not amazon.aws.cloudwatch_metric_alarm - it is one task (about a second each) per alarm, has no metric math,
    cannot remove the alarms that are no longer wanted, and knows no dashboards.
  - Tags from O(tags) (and C(managed-by=directfanz.launch)) are set on new alarms with PutMetricAlarm and added to
    existing ones with TagResource (PutMetricAlarm ignores tags on an update); tags it did not set are kept.
author: DirectFanz platform team (@directfanz)
options:
  prefix:
    description:
      - Every alarm this call manages starts with this prefix; alarms of the prefix that are not listed are deleted
        when O(purge) is set. Choose a prefix no other tool uses (the launch uses C(<launch_name>-ops-)).
    type: str
    required: true
  purge:
    description: Delete the alarms whose names start with O(prefix) and that are not in O(alarms) (one DeleteAlarms call).
    type: bool
    default: true
  tags:
    description: Tags on the alarms (C(managed-by=directfanz.launch) is always added).
    type: dict
    default: {}
  alarms:
    description: The metric alarms of the prefix.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Alarm name; must start with O(prefix), at most 255 characters.
        type: str
        required: true
      description:
        description: What the alarm means and what to do (at most 1024 characters).
        type: str
        default: ""
      namespace:
        description: Metric namespace, for example C(AWS/RDS). Not with O(alarms[].metrics).
        type: str
      metric_name:
        description: Metric name, for example C(FreeableMemory). Not with O(alarms[].metrics).
        type: str
      dimensions:
        description: Metric dimensions, name to value. Not with O(alarms[].metrics).
        type: dict
        default: {}
      statistic:
        description:
          - One of C(Minimum), C(Maximum), C(Average), C(Sum), C(SampleCount). Exactly one of O(alarms[].statistic),
            O(alarms[].extended_statistic) and O(alarms[].metrics).
        type: str
      extended_statistic:
        description: A percentile or trimmed statistic such as C(p95), C(p99.9), C(tm90).
        type: str
      metrics:
        description:
          - A metric math alarm - metrics and expressions, exactly one with O(alarms[].metrics[].return_data=true)
            (the value compared with the threshold).
        type: list
        elements: dict
        suboptions:
          id:
            description: Id used in expressions; starts with a lower-case letter, then letters, digits or C(_).
            type: str
            required: true
          expression:
            description: A metric math expression such as C(IF(r >= 50, 100 * FILL(e, 0) / r, 0)).
            type: str
          label:
            description: Label shown on graphs.
            type: str
          namespace:
            description: Namespace of a metric (with O(alarms[].metrics[].metric_name)).
            type: str
          metric_name:
            description: Name of a metric.
            type: str
          dimensions:
            description: Dimensions of the metric, name to value.
            type: dict
            default: {}
          stat:
            description: Statistic of the metric (C(Sum), C(Average), C(p95)...).
            type: str
          period:
            description: Seconds per datapoint of the metric (10, 30 or a multiple of 60).
            type: int
          return_data:
            description: Whether this is the value the alarm compares with its threshold.
            type: bool
            default: false
      unit:
        description: Unit of the metric, when it must be pinned (rarely needed).
        type: str
      period:
        description: Seconds per evaluated period (10, 30 or a multiple of 60). Not with O(alarms[].metrics).
        type: int
      evaluation_periods:
        description: Number of most recent periods evaluated (at least 1).
        type: int
        default: 1
      datapoints_to_alarm:
        description: How many of the evaluated periods must breach (M of N); defaults to O(alarms[].evaluation_periods).
        type: int
      threshold:
        description: The value the statistic or expression is compared with.
        type: float
        required: true
      comparison:
        description:
          - One of C(GreaterThanThreshold), C(GreaterThanOrEqualToThreshold), C(LessThanThreshold),
            C(LessThanOrEqualToThreshold).
        type: str
        required: true
      treat_missing_data:
        description: One of C(missing), C(notBreaching), C(breaching), C(ignore).
        type: str
        default: missing
      alarm_actions:
        description: ARNs notified when the alarm goes to ALARM; at least one.
        type: list
        elements: str
        required: true
      ok_actions:
        description: ARNs notified when the alarm goes back to OK.
        type: list
        elements: str
        default: []
      insufficient_data_actions:
        description: ARNs notified when the alarm goes to INSUFFICIENT_DATA.
        type: list
        elements: str
        default: []
  dashboard:
    description: A CloudWatch dashboard kept beside the alarms (dashboards are global; the call's region is used).
    type: dict
    suboptions:
      name:
        description: Dashboard name, 1-255 letters, digits, C(-) or C(_).
        type: str
        required: true
      body:
        description: The dashboard body (an object with C(widgets)), compared as parsed JSON.
        type: json
        required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads the alarms, their tags and the dashboard, returns the planned RV(actions); writes nothing.
  diff_mode:
    support: full
    description: Returns every alarm of the prefix (the fields it sets) and the dashboard body, before and after.
"""

EXAMPLES = r"""
- name: Keep the load balancer's latency alarm and remove other alarms of the prefix
  directfanz.launch.cloudwatch_alarms:
    region: eu-west-1
    prefix: directfanz-ops-
    alarms:
      - name: directfanz-ops-alb-p95
        description: p95 response time above the 200 ms goal for 3 of 5 minutes.
        namespace: AWS/ApplicationELB
        metric_name: TargetResponseTime
        dimensions:
          LoadBalancer: app/directfanz-alb/0123456789abcdef
        extended_statistic: p95
        period: 60
        evaluation_periods: 5
        datapoints_to_alarm: 3
        threshold: 0.2
        comparison: GreaterThanThreshold
        treat_missing_data: notBreaching
        alarm_actions: [arn:aws:sns:eu-west-1:123456789012:directfanz-alerts]
        ok_actions: [arn:aws:sns:eu-west-1:123456789012:directfanz-alerts]
    dashboard:
      name: directfanz-operations
      body:
        widgets: []
"""

RETURN = r"""
alarms:
  description: Names of the alarms of the prefix after the run (in check mode, as planned).
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the alarms of the prefix that were (or would be) deleted.
  returned: always
  type: list
  elements: str
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create alarm directfanz-ops-alb-p95", "update alarm x (threshold 0.2 -> 0.3)", "delete alarm y"]
"""

import json
import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, aws_pages, aws_read, finish, refuse, retrying_client)

MANAGED_TAG = ("managed-by", "directfanz.launch")
STATISTICS = ["Minimum", "Maximum", "Average", "Sum", "SampleCount"]
COMPARISONS = ["GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold",
               "LessThanOrEqualToThreshold"]
MISSING_DATA = ["missing", "notBreaching", "breaching", "ignore"]
# Percentiles and the trimmed/winsorized statistics CloudWatch accepts as ExtendedStatistic (p95, p99.9, tm90...).
EXTENDED = re.compile(r"^(p|tm|tc|ts|wm)(100|\d{1,2}(\.\d{1,10})?)$")
METRIC_ID = re.compile(r"^[a-z][a-zA-Z0-9_]{0,254}$")
DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ARN = re.compile(r"^arn:[a-z-]+:[a-z0-9-]+:")
DELETE_BATCH = 100  # DeleteAlarms takes up to 100 names
# What GetDashboard answers for a dashboard that does not exist (the API reference names the error
# DashboardNotFoundError; its code on the wire is ResourceNotFound).
DASHBOARD_MISSING = ("ResourceNotFound", "DashboardNotFoundError", "ResourceNotFoundException")


# ---------------------------------------------------------------------------------------------------------------
# Input checks (before any API call)


def period_problem(period):
    """None when CloudWatch accepts ``period``: 10 or 30 (high resolution) or a positive multiple of 60."""
    if period is None:
        return None
    if period in (10, 30) or (period >= 60 and period % 60 == 0):
        return None
    return "period %s is not accepted; accepted: 10, 30 or a multiple of 60 seconds" % period


def _dimension_problems(label, dimensions):
    problems = []
    if len(dimensions or {}) > 30:
        problems.append("%s: %d dimensions; accepted: at most 30" % (label, len(dimensions)))
    for key, value in (dimensions or {}).items():
        if not key or len(str(key)) > 255 or value is None or not 1 <= len(str(value)) <= 1024:
            problems.append("%s: dimension %r=%r is not valid; accepted: a name of 1-255 and a value of 1-1024"
                            " characters" % (label, key, value))
    return problems


def _metrics_problems(label, metrics):
    problems, seen = [], set()
    returned = [m for m in metrics if m.get("return_data")]
    if len(returned) != 1:
        problems.append("%s: %d metrics have return_data=true; accepted: exactly one (the value compared with the"
                        " threshold)" % (label, len(returned)))
    for index, metric in enumerate(metrics):
        where = "%s metrics[%d] (%s)" % (label, index, metric.get("id"))
        mid = metric.get("id") or ""
        if not METRIC_ID.match(mid):
            problems.append("%s: id %r is not valid; accepted: a lower-case letter, then letters, digits or '_'"
                            % (where, mid))
        if mid in seen:
            problems.append("%s: id %r is listed twice; accepted: each id once" % (where, mid))
        seen.add(mid)
        has_metric = any(metric.get(k) for k in ("namespace", "metric_name", "stat"))
        if bool(metric.get("expression")) == has_metric:
            problems.append("%s: give either expression or namespace + metric_name + stat + period" % where)
        if has_metric:
            for field in ("namespace", "metric_name", "stat", "period"):
                if not metric.get(field):
                    problems.append("%s: %s is missing; a metric needs namespace, metric_name, stat and period"
                                    % (where, field))
            stat = metric.get("stat")
            if stat and stat not in STATISTICS and not EXTENDED.match(stat):
                problems.append("%s: stat %r is not accepted; accepted: %s or a percentile such as p95"
                                % (where, stat, ", ".join(STATISTICS)))
            problem = period_problem(metric.get("period"))
            if problem:
                problems.append("%s: %s" % (where, problem))
            problems += _dimension_problems(where, metric.get("dimensions"))
    return problems


def _actions_problems(label, alarm):
    problems = []
    if not alarm.get("alarm_actions"):
        problems.append("%s: alarm_actions is empty; accepted: at least one ARN (the administrators' SNS topic)"
                        % label)
    for field in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
        for arn in alarm.get(field) or []:
            if not isinstance(arn, str) or not ARN.match(arn):
                problems.append("%s: %s entry %r is not an ARN; accepted: arn:aws:sns:<region>:<account>:<topic>"
                                " and the other alarm action ARNs" % (label, field, arn))
    return problems


def alarm_problems(alarm, prefix, index):
    """Everything wrong with one alarm of the input, each saying what is accepted."""
    name = alarm.get("name") or ""
    label = "alarms[%d] (%s)" % (index, name)
    problems = []
    if not name or len(name) > 255 or CONTROL.search(name):
        problems.append("%s: alarm name %r is not valid; accepted: 1-255 characters without control characters"
                        % (label, name))
    elif not name.startswith(prefix):
        problems.append("%s: alarm name does not start with the prefix %r; accepted: names of the prefix only (the"
                        " prefix is what purge works on)" % (label, prefix))
    if len(alarm.get("description") or "") > 1024:
        problems.append("%s: description is %d characters long; accepted: at most 1024"
                        % (label, len(alarm["description"])))
    kinds = [k for k in ("statistic", "extended_statistic", "metrics") if alarm.get(k)]
    if len(kinds) != 1:
        problems.append("%s: %s; accepted: exactly one of statistic, extended_statistic or metrics"
                        % (label, "both %s" % " and ".join(kinds) if kinds else "none of them is given"))
    if alarm.get("metrics"):
        for field in ("namespace", "metric_name", "period"):
            if alarm.get(field):
                problems.append("%s: %s is set with metrics; accepted: namespace, metric_name, dimensions and period"
                                " inside each metric of a metric math alarm" % (label, field))
        if alarm.get("dimensions"):
            problems.append("%s: dimensions are set with metrics; accepted: dimensions inside each metric" % label)
        problems += _metrics_problems(label, alarm["metrics"])
    elif kinds:
        for field in ("namespace", "metric_name", "period"):
            if not alarm.get(field):
                problems.append("%s: %s is missing; a single-metric alarm needs namespace, metric_name and period"
                                % (label, field))
        problems += _dimension_problems(label, alarm.get("dimensions"))
    statistic = alarm.get("statistic")
    if statistic and statistic not in STATISTICS:
        problems.append("%s: statistic %r is not accepted; accepted: %s (percentiles go in extended_statistic)"
                        % (label, statistic, ", ".join(STATISTICS)))
    extended = alarm.get("extended_statistic")
    if extended and not EXTENDED.match(extended):
        problems.append("%s: extended_statistic %r is not accepted; accepted: a percentile such as p95 or p99.9, or"
                        " tm/tc/ts/wm followed by a percentage" % (label, extended))
    problem = period_problem(alarm.get("period"))
    if problem:
        problems.append("%s: %s" % (label, problem))
    comparison = alarm.get("comparison")
    if comparison not in COMPARISONS:
        problems.append("%s: comparison %r is not accepted; accepted: %s" % (label, comparison, ", ".join(COMPARISONS)))
    missing = alarm.get("treat_missing_data") or "missing"
    if missing not in MISSING_DATA:
        problems.append("%s: treat_missing_data %r is not accepted; accepted: %s"
                        % (label, missing, ", ".join(MISSING_DATA)))
    evaluation = alarm.get("evaluation_periods")
    evaluation = 1 if evaluation is None else evaluation
    if evaluation < 1:
        problems.append("%s: evaluation_periods %s is not accepted; accepted: 1 or more" % (label, evaluation))
    datapoints = alarm.get("datapoints_to_alarm")
    if datapoints is not None and not 1 <= datapoints <= evaluation:
        problems.append("%s: datapoints_to_alarm %s is not accepted with evaluation_periods %s; accepted: 1 to"
                        " evaluation_periods (M of N)" % (label, datapoints, evaluation))
    if alarm.get("threshold") is None:
        problems.append("%s: threshold is missing" % label)
    problems += _actions_problems(label, alarm)
    return problems


def dashboard_problems(dashboard):
    if not dashboard:
        return []
    name = dashboard.get("name") or ""
    problems = []
    if not DASHBOARD_NAME.match(name):
        problems.append("dashboard name %r is not valid; accepted: 1-255 letters, digits, '-' or '_'" % name)
    try:
        body = _body(dashboard.get("body"))
    except ValueError as e:
        return problems + ["dashboard %s: body is not JSON (%s); accepted: an object with a widgets list" % (name, e)]
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
        problems.append("dashboard %s: body has no widgets list; accepted: an object such as {\"widgets\": [...]}"
                        % name)
    return problems


def input_problems(p):
    """Everything wrong with the module's parameters, each saying what is accepted; [] when all is well."""
    problems = []
    prefix = p.get("prefix") or ""
    if not prefix or len(prefix) > 200 or CONTROL.search(prefix):
        problems.append("prefix %r is not valid; accepted: 1-200 characters without control characters" % prefix)
    seen = set()
    for index, alarm in enumerate(p.get("alarms") or []):
        if alarm.get("name") in seen:
            problems.append("alarm %r is listed twice; accepted: each alarm name once" % alarm.get("name"))
        seen.add(alarm.get("name"))
        problems += alarm_problems(alarm, prefix, index)
    for key, value in (p.get("tags") or {}).items():
        if not 1 <= len(str(key)) <= 128 or str(key).lower().startswith("aws:"):
            problems.append("tag key %r is not valid; accepted: 1-128 characters, not starting with 'aws:'" % (key,))
        if value is None or len(str(value)) > 256:
            problems.append("tag %r has value %r; accepted: a string of at most 256 characters" % (key, value))
    problems += dashboard_problems(p.get("dashboard"))
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Requests and their canonical form


def _body(body):
    """A dashboard body given as JSON text (the module's json type) or already parsed."""
    if body is None:
        return None
    return json.loads(body) if isinstance(body, str) else body


def _dimensions(dimensions):
    return [{"Name": str(k), "Value": str(v)} for k, v in sorted((dimensions or {}).items())]


def desired_tags(tags):
    out = dict((str(k), str(v)) for k, v in (tags or {}).items())
    out[MANAGED_TAG[0]] = MANAGED_TAG[1]
    return out


def alarm_request(alarm):
    """The PutMetricAlarm parameters for one alarm of the input (without tags)."""
    request = {
        "AlarmName": alarm["name"],
        "AlarmDescription": alarm.get("description") or "",
        "ActionsEnabled": True,
        "AlarmActions": list(alarm.get("alarm_actions") or []),
        "OKActions": list(alarm.get("ok_actions") or []),
        "InsufficientDataActions": list(alarm.get("insufficient_data_actions") or []),
        "EvaluationPeriods": int(alarm.get("evaluation_periods") or 1),
        "DatapointsToAlarm": int(alarm.get("datapoints_to_alarm") or alarm.get("evaluation_periods") or 1),
        "Threshold": float(alarm["threshold"]),
        "ComparisonOperator": alarm["comparison"],
        "TreatMissingData": alarm.get("treat_missing_data") or "missing",
    }
    if alarm.get("metrics"):
        queries = []
        for metric in alarm["metrics"]:
            query = {"Id": metric["id"], "ReturnData": bool(metric.get("return_data"))}
            if metric.get("label"):
                query["Label"] = metric["label"]
            if metric.get("expression"):
                query["Expression"] = metric["expression"]
            else:
                query["MetricStat"] = {"Metric": {"Namespace": metric["namespace"], "MetricName": metric["metric_name"],
                                                  "Dimensions": _dimensions(metric.get("dimensions"))},
                                       "Period": int(metric["period"]), "Stat": metric["stat"]}
            queries.append(query)
        request["Metrics"] = queries
    else:
        request.update(Namespace=alarm["namespace"], MetricName=alarm["metric_name"],
                       Dimensions=_dimensions(alarm.get("dimensions")), Period=int(alarm["period"]))
        if alarm.get("extended_statistic"):
            request["ExtendedStatistic"] = alarm["extended_statistic"]
        else:
            request["Statistic"] = alarm["statistic"]
    if alarm.get("unit"):
        request["Unit"] = alarm["unit"]
    return request


def _query_view(query):
    stat = query.get("MetricStat") or {}
    metric = stat.get("Metric") or {}
    return {"id": query.get("Id"), "expression": query.get("Expression") or None, "label": query.get("Label") or None,
            "return_data": bool(query.get("ReturnData", False)),
            "namespace": metric.get("Namespace"), "metric_name": metric.get("MetricName"),
            "dimensions": dict((d["Name"], d["Value"]) for d in metric.get("Dimensions") or []),
            "period": stat.get("Period"), "stat": stat.get("Stat")}


def alarm_view(alarm):
    """The fields we set of an alarm - from a PutMetricAlarm request or a DescribeAlarms entry - normalised so that
    equal meaning compares equal (AWS's defaults applied to what it omits, lists sorted)."""
    evaluation = alarm.get("EvaluationPeriods")
    threshold = alarm.get("Threshold")
    return {
        "description": alarm.get("AlarmDescription") or "",
        "actions_enabled": alarm.get("ActionsEnabled", True),
        "alarm_actions": sorted(alarm.get("AlarmActions") or []),
        "ok_actions": sorted(alarm.get("OKActions") or []),
        "insufficient_data_actions": sorted(alarm.get("InsufficientDataActions") or []),
        "namespace": alarm.get("Namespace") or None,
        "metric_name": alarm.get("MetricName") or None,
        "dimensions": dict((d["Name"], d["Value"]) for d in alarm.get("Dimensions") or []),
        "statistic": alarm.get("Statistic") or None,
        "extended_statistic": alarm.get("ExtendedStatistic") or None,
        "metrics": sorted((_query_view(q) for q in alarm.get("Metrics") or []), key=lambda q: q["id"] or ""),
        "period": alarm.get("Period") or None,
        "unit": alarm.get("Unit") or None,
        "evaluation_periods": evaluation,
        # AWS evaluates N of N when DatapointsToAlarm is not set
        "datapoints_to_alarm": alarm.get("DatapointsToAlarm") or evaluation,
        "threshold": None if threshold is None else float(threshold),
        "comparison": alarm.get("ComparisonOperator"),
        "treat_missing_data": alarm.get("TreatMissingData") or "missing",
    }


# Fields short enough to show as "old -> new" in an action line.
_SHOWN = ("statistic", "extended_statistic", "period", "evaluation_periods", "datapoints_to_alarm", "threshold",
          "comparison", "treat_missing_data", "actions_enabled", "unit", "namespace", "metric_name")
_FIELDS = ("description", "namespace", "metric_name", "dimensions", "statistic", "extended_statistic", "metrics",
           "period", "unit", "evaluation_periods", "datapoints_to_alarm", "threshold", "comparison",
           "treat_missing_data", "actions_enabled", "alarm_actions", "ok_actions", "insufficient_data_actions")


def alarm_differences(existing, request):
    """What differs between an existing alarm and the request ("field old -> new", or the field's name for long
    values), in a fixed order; [] when the alarm already matches."""
    before, after = alarm_view(existing), alarm_view(request)
    out = []
    for field in _FIELDS:
        if before[field] != after[field]:
            label = field.replace("_", " ")
            out.append("%s %r -> %r" % (label, before[field], after[field]) if field in _SHOWN else label)
    return out


def canonical_body(body):
    """A dashboard body as canonical JSON text (keys sorted), so key order and spacing never count as a change."""
    return json.dumps(_body(body), sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------------------------
# Planning: pure, from what was read


def plan_alarms(p, observed):
    """The plan that makes the prefix's alarms and the dashboard match the input. ``observed`` holds ``alarms``
    (name -> DescribeAlarms entry, every alarm of the prefix), ``tags`` (name -> tag dict, for the listed alarms that
    exist) and ``dashboard`` (the current body as text, or None)."""
    plan = Plan()
    tags = desired_tags(p.get("tags"))
    wanted = p.get("alarms") or []
    for alarm in wanted:
        name = alarm["name"]
        request = alarm_request(alarm)
        existing = observed["alarms"].get(name)
        if existing is None:
            plan.call("cloudwatch", "put_metric_alarm", ["create alarm %s" % name], "create alarm %s" % name,
                      Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())], **request)
            continue
        differences = alarm_differences(existing, request)
        if differences:
            plan.call("cloudwatch", "put_metric_alarm", ["update alarm %s (%s)" % (name, "; ".join(differences))],
                      "update alarm %s" % name, **request)
        have = observed["tags"].get(name) or {}
        missing = dict((k, v) for k, v in tags.items() if have.get(k) != v)
        if missing:
            plan.call("cloudwatch", "tag_resource",
                      ["tag alarm %s (%s)" % (name, ", ".join("%s=%s" % kv for kv in sorted(missing.items())))],
                      "tag alarm %s" % name, ResourceARN=existing["AlarmArn"],
                      Tags=[{"Key": k, "Value": v} for k, v in sorted(missing.items())])
    names = set(a["name"] for a in wanted)
    gone = sorted(n for n in observed["alarms"] if n not in names) if p.get("purge", True) else []
    for start in range(0, len(gone), DELETE_BATCH):
        batch = gone[start:start + DELETE_BATCH]
        plan.call("cloudwatch", "delete_alarms", ["delete alarm %s" % n for n in batch],
                  "delete alarms %s" % ", ".join(batch), AlarmNames=batch)
    dashboard = p.get("dashboard")
    if dashboard:
        current = observed.get("dashboard")
        desired = canonical_body(dashboard["body"])
        if current is None or canonical_body(current) != desired:
            # a handler rather than a bare call: PutDashboard's answer carries validation messages worth a warning
            plan.add("write_dashboard",
                     ["%s dashboard %s" % ("create" if current is None else "update", dashboard["name"])],
                     failure="put dashboard %s" % dashboard["name"],
                     kwargs={"DashboardName": dashboard["name"], "DashboardBody": desired})
    return plan, gone


def state_view(alarms, dashboard_name, dashboard_body):
    """diff before/after: every alarm of the prefix (the fields we set) and the dashboard body."""
    out = {"alarms": dict((name, alarm_view(a)) for name, a in sorted(alarms.items()))}
    if dashboard_name:
        out["dashboard"] = {"name": dashboard_name,
                            "body": None if dashboard_body is None else json.loads(canonical_body(dashboard_body))}
    return out


def planned_alarms(p, observed, gone):
    after = dict((n, a) for n, a in observed["alarms"].items() if n not in gone)
    for alarm in p.get("alarms") or []:
        after[alarm["name"]] = alarm_request(alarm)
    return after


# ---------------------------------------------------------------------------------------------------------------


def main():
    metric_options = dict(
        id=dict(type="str", required=True),
        expression=dict(type="str"),
        label=dict(type="str"),
        namespace=dict(type="str"),
        metric_name=dict(type="str"),
        dimensions=dict(type="dict", default={}),
        stat=dict(type="str"),
        period=dict(type="int"),
        return_data=dict(type="bool", default=False),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            prefix=dict(type="str", required=True),
            purge=dict(type="bool", default=True),
            tags=dict(type="dict", default={}),
            alarms=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                description=dict(type="str", default=""),
                namespace=dict(type="str"),
                metric_name=dict(type="str"),
                dimensions=dict(type="dict", default={}),
                statistic=dict(type="str"),
                extended_statistic=dict(type="str"),
                metrics=dict(type="list", elements="dict", options=metric_options),
                unit=dict(type="str"),
                period=dict(type="int"),
                evaluation_periods=dict(type="int", default=1),
                datapoints_to_alarm=dict(type="int"),
                threshold=dict(type="float", required=True),
                comparison=dict(type="str", required=True),
                treat_missing_data=dict(type="str", default="missing"),
                alarm_actions=dict(type="list", elements="str", required=True),
                ok_actions=dict(type="list", elements="str", default=[]),
                insufficient_data_actions=dict(type="list", elements="str", default=[]),
            )),
            dashboard=dict(type="dict", options=dict(
                name=dict(type="str", required=True),
                body=dict(type="json", required=True),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="cloudwatch_alarms refused the input: %s (nothing was read or changed)"
                         % "; ".join(problems), problems=problems)

    cloudwatch = retrying_client(module, "cloudwatch", retries=8, max_delay=20)
    found = aws_pages(module, cloudwatch, "describe the alarms of prefix %s" % p["prefix"], "describe_alarms",
                      "MetricAlarms", AlarmNamePrefix=p["prefix"], AlarmTypes=["MetricAlarm"])
    observed = {"alarms": dict((a["AlarmName"], a) for a in found), "tags": {}, "dashboard": None}
    for alarm in p["alarms"]:
        existing = observed["alarms"].get(alarm["name"])
        if existing is not None:
            answer = aws_call(module, cloudwatch, "read the tags of alarm %s" % alarm["name"], "list_tags_for_resource",
                              ResourceARN=existing["AlarmArn"])
            observed["tags"][alarm["name"]] = dict((t["Key"], t["Value"]) for t in answer.get("Tags") or [])
    if p["dashboard"]:
        answer = aws_read(module, cloudwatch, "read dashboard %s" % p["dashboard"]["name"], "get_dashboard",
                          missing=DASHBOARD_MISSING, DashboardName=p["dashboard"]["name"])
        observed["dashboard"] = None if answer is None else answer.get("DashboardBody")

    plan, gone = plan_alarms(p, observed)
    refuse(module, "cloudwatch_alarms %s" % p["prefix"], plan)
    diff = None
    if module._diff:
        name = p["dashboard"]["name"] if p["dashboard"] else None
        diff = {"before": state_view(observed["alarms"], name, observed["dashboard"]),
                "after": state_view(planned_alarms(p, observed, gone), name,
                                    p["dashboard"]["body"] if p["dashboard"] else None)}

    def put_dashboard(step, real):
        answer = aws_call(module, cloudwatch, step["failure"], "put_dashboard", **step["kwargs"])
        for message in answer.get("DashboardValidationMessages") or []:
            module.warn("dashboard %s: %s (%s)" % (step["kwargs"]["DashboardName"], message.get("Message"),
                                                   message.get("DataPath")))
        return None

    apply(module, plan, {"cloudwatch": cloudwatch}, handlers={"write_dashboard": put_dashboard})
    finish(module, plan, diff, alarms=sorted(planned_alarms(p, observed, gone)), deleted=gone)


if __name__ == "__main__":
    main()
