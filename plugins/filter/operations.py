# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operations phase's pure shaping: alarm thresholds derived from what was built, and the dashboard.

The anchors' alarm modules use fixed numbers (a 256 MB FreeableMemory alarm, a 20 GB FreeStorageSpace alarm) that
sit in ALARM forever on a small instance or never fire on a big one, and alarms on sparse error counts that sit in
INSUFFICIENT_DATA on an idle platform. Here every threshold is computed from what the earlier phases built (read
live by the alarm_targets module): the instance class's memory, the allocated storage, max_connections, the
services' auto-scaling targets, the web ACLs' rate limits. Every treat_missing_data choice follows one rule:

- a metric AWS publishes every period while the resource exists (CPU, memory, storage, latency, connections, task
  counts, healthy hosts, replication lag) keeps ``missing``: a gap then means the resource or its metrics are gone,
  and the alarm says INSUFFICIENT_DATA instead of pretending OK or crying ALARM;
- a metric published only when something happens (5xx counts, rejected connections, blocked requests, evictions) or
  only with traffic (response time, request-based rates) gets ``notBreaching``: no data there is the healthy, idle
  case, and it must not page anyone;
- the services' running-task check and the Route 53 health checks' status get ``breaching``: Container Insights
  reports task counts, and Route 53 each health check's status, every minute while the service or check exists, so
  silence means it (or its telemetry) is gone, which is itself worth a page.

Rates use metric math with a traffic floor (``IF(requests >= N, rate, 0)``): one failed request out of three is not
an incident, and a quiet night must not page. Nothing here does I/O; every number is unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.directfanz.launch.plugins.filter.data import GIB, rds_default_max_connections, \
    rds_instance_memory_gib

DOCUMENTATION = r"""
name: operations_alarms
short_description: Derive the launch's CloudWatch alarms and its dashboard from what was built
version_added: 0.6.0
description:
  - From what the alarm_targets module read (the database, the cache, the services, the load balancer, the
    distribution, the web ACLs, the alert topics) and the role's settings, returns one C(cloudwatch_alarms) call per
    region (C(calls), each C({region, alarms})), the dashboard body (C(dashboard)), the arithmetic behind every
    threshold (C(lines)), what was not found (C(missing), each naming the phase that builds it) and what is not
    watched and why (C(skipped)).
  - Refuses thresholds that make no sense for what was built, naming the figure and what is accepted - a
    FreeableMemory threshold at or above the instance class's memory, a storage threshold at or above the allocated
    storage, a connection count above max_connections, a percentage outside 0-100.
options:
  _input:
    description: The alarm_targets result.
    type: dict
    required: true
  settings:
    description: >-
      prefix, region, global_region, topic_name, dashboard_name, services (names to watch), thresholds (overrides of
      THRESHOLDS, by name).
    type: dict
    required: true
"""

GLOBAL_REGION = "us-east-1"
STATISTICS = ("Minimum", "Maximum", "Average", "Sum", "SampleCount")

# Every default threshold, with its reason. The role's alarms_thresholds overrides them by name; 0 = derive.
THRESHOLDS = {
    # Requirement 5.5: API responses under 200 ms. p95 rather than the average: the average hides the slow tail users
    # feel, p99 pages on a handful of slow uploads.
    "alb_p95_seconds": 0.2,
    # More than 1% of requests failing for 10 minutes is an incident by any SLO we would write for launch (99% is the
    # loosest availability target worth having).
    "alb_target_5xx_percent": 1.0,
    "alb_elb_5xx_percent": 1.0,
    # Below 50 requests per 5 minutes one or two errors are not a rate: the rate alarms read 0 then.
    "alb_min_requests": 50,
    # No memory-based scaling: above 85% a Node.js task is near its hard limit and is OOM-killed at 100%.
    "ecs_memory_percent": 85.0,
    # 0 = halfway from the service's CPU scaling target to 100% (60% -> 80%): target tracking holds CPU near its target,
    # so sustained load halfway above it means scaling is at its maximum or is not working. 85% without a target.
    "ecs_cpu_percent": 0,
    # RDS CPU above 80% for 15 minutes leaves no headroom for a spike or a vacuum.
    "rds_cpu_percent": 80.0,
    # FreeableMemory below 10% of the class's memory: RDS PostgreSQL's shared_buffers take 25% of it and are never
    # freeable, the rest is connections' work memory and the page cache; below 10% the kernel is evicting the cache
    # and swap follows. (AWS's guide asks for "not below 25% for prolonged periods"; on a 4 GiB class that pages on a
    # healthy instance with a warm cache, the complaint this derivation answers.)
    "rds_freeable_memory_share": 0.10,
    # An absolute FreeableMemory threshold in bytes instead of the share (0 = use the share); refused at or above RAM.
    "rds_freeable_memory_bytes": 0,
    # 0 = derive: with storage autoscaling RDS grows the volume when free space falls below 10% (for 5 minutes), so the
    # alarm sits below that, at 5% (autoscaling failed, is in its 6-hour cool-down, or hit the ceiling); without
    # autoscaling 15% (time to act before writes fail).
    "rds_free_storage_share": 0,
    # 80% of max_connections: PgBouncer's pools are sized to stay under max_connections minus what is reserved; 80%
    # means something bypasses the pooler or the pools were sized for another class.
    "rds_connections_share": 0.80,
    # gp3 serves reads and writes in 1-2 ms; a 20 ms average for 15 minutes means the volume is saturated (3,000 IOPS /
    # 125 MiB/s baseline below 400 GiB), which breaks the 50 ms query goal (requirement 8.2).
    "rds_latency_seconds": 0.02,
    # Transaction ID wraparound stops writes at 2^31 (about 2.1 billion); autovacuum's freeze keeps it near 200 million.
    # 1 billion (AWS's recommended alarm) means freezing has stalled, with weeks left to act.
    "rds_transaction_ids": 1000000000,
    # Redis runs commands on one thread: EngineCPUUtilization is that thread; 80% leaves no room for a burst.
    "redis_engine_cpu_percent": 80.0,
    # Of maxmemory: with volatile-lru, at 100% Redis evicts keys with a TTL and then refuses writes.
    "redis_memory_percent": 80.0,
    # A replica more than 10 s behind loses 10 s of writes on failover and serves stale reads.
    "redis_replication_lag_seconds": 10.0,
    # As for the load balancer: 1% of viewer requests failing, with a traffic floor.
    "cloudfront_5xx_percent": 1.0,
    "cloudfront_min_requests": 100,
    # Requirement 8.1: 85%+ cache hits. Hourly, three hours running, only with at least 1,000 requests an hour: the
    # hit rate of a handful of requests is noise, and a cold cache after a deployment warms within the hour.
    "cloudfront_cache_hit_percent": 85.0,
    "cloudfront_min_requests_per_hour": 1000,
    # 0 = the web ACL's per-IP rate limit (requests per 5 minutes): more blocked requests in 5 minutes than one client
    # may send is an attack in progress or a rule blocking real users. 1,000 when the ACL has no rate rule.
    "waf_blocked_per_5min": 0,
    # Route 53 already waits for 3 failed probes per checker (30 s apart) before a check turns unhealthy; two more
    # minutes unhealthy in a row (HealthCheckStatus minimum 0) pages, so a single flapping minute does not.
    "health_check_minutes": 2,
}
PERCENT_KEYS = ("alb_target_5xx_percent", "alb_elb_5xx_percent", "ecs_memory_percent", "ecs_cpu_percent",
                "rds_cpu_percent", "redis_engine_cpu_percent", "redis_memory_percent", "cloudfront_5xx_percent",
                "cloudfront_cache_hit_percent")
SHARE_KEYS = ("rds_freeable_memory_share", "rds_free_storage_share", "rds_connections_share")


def _fail(message):
    raise AnsibleFilterError(message)


def _number(thresholds, key):
    value = thresholds[key]
    try:
        return float(value)
    except (TypeError, ValueError):
        _fail("alarm threshold %s must be a number, got %r" % (key, value))


def thresholds_of(overrides):
    """THRESHOLDS with the overrides applied, each checked: unknown names, percentages outside 0-100 and shares
    outside 0-1 are refused with what is accepted."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(THRESHOLDS))
    if unknown:
        _fail("unknown alarm thresholds %s; accepted: %s" % (", ".join(unknown), ", ".join(sorted(THRESHOLDS))))
    out = dict(THRESHOLDS, **overrides)
    for key in out:
        value = _number(out, key)
        if value < 0:
            _fail("alarm threshold %s is %s; accepted: 0 or more" % (key, value))
        if key in PERCENT_KEYS and value > 100:
            _fail("alarm threshold %s is %s%%; accepted: a percentage from 0 to 100 (a usage above 100%% can never"
                  " be reached, so the alarm could never fire)" % (key, value))
        if key in SHARE_KEYS and value >= 1:
            _fail("alarm threshold %s is %s; accepted: a share of the total below 1 (for example 0.1 for 10%%)"
                  % (key, value))
        out[key] = value
    for key in ("health_check_minutes", "alb_p95_seconds", "rds_latency_seconds",
                "redis_replication_lag_seconds", "rds_transaction_ids",
                "rds_connections_share", "rds_freeable_memory_share"):
        if out[key] == 0:
            _fail("alarm threshold %s is 0; accepted: a positive number (0 would alarm on every datapoint)" % key)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Building blocks


def _alarm(name, description, threshold, comparison, missing, period, evaluation, datapoints=None, **metric):
    spec = {"name": name, "description": description[:1024], "threshold": float(threshold), "comparison": comparison,
            "treat_missing_data": missing, "evaluation_periods": evaluation,
            "datapoints_to_alarm": datapoints or evaluation}
    if "metrics" in metric:
        spec["metrics"] = metric["metrics"]
    else:
        spec.update(period=period, namespace=metric["namespace"], metric_name=metric["metric_name"],
                    dimensions=metric.get("dimensions") or {})
        spec["statistic" if metric["stat"] in STATISTICS else "extended_statistic"] = metric["stat"]
    return spec


def _metric(mid, namespace, name, dimensions, stat, period):
    return {"id": mid, "namespace": namespace, "metric_name": name, "dimensions": dimensions, "stat": stat,
            "period": period, "return_data": False}


def _expression(mid, expression, label):
    return {"id": mid, "expression": expression, "label": label, "return_data": True}


def _gib(value):
    return "%.2f GiB" % (value / float(GIB))


# ---------------------------------------------------------------------------------------------------------------
# Tiers: each returns (alarms, lines, widgets)


def load_balancer_alarms(lb, services, t, prefix):
    """Target and ELB 5xx rates, p95 response time, rejected connections; per target group unhealthy hosts and healthy
    hosts below the floor of the service that registers into it."""
    alarms, lines = [], []
    dims = {"LoadBalancer": lb["dimension"]}
    ns = "AWS/ApplicationELB"
    floor = int(t["alb_min_requests"])
    for key, metric, who in (("alb_target_5xx_percent", "HTTPCode_Target_5XX_Count", "the services"),
                             ("alb_elb_5xx_percent", "HTTPCode_ELB_5XX_Count", "the load balancer itself")):
        limit = t[key]
        short = "target-5xx" if "Target" in metric else "elb-5xx"
        alarms.append(_alarm(
            "%salb-%s-rate" % (prefix, short),
            "More than %g%% of requests answered 5xx by %s for 10 minutes (counted only above %d requests per 5 minutes)."
            " Check the services' logs and recent deployments." % (limit, who, floor),
            limit, "GreaterThanThreshold", "notBreaching", 300, 2,
            metrics=[_metric("r", ns, "RequestCount", dims, "Sum", 300), _metric("e", ns, metric, dims, "Sum", 300),
                     _expression("rate", "IF(r >= %d, 100 * FILL(e, 0) / r, 0)" % floor, "%s %%" % metric)]))
        lines.append("alb %s: 5xx rate > %g%% for 2 x 5 min, when >= %d requests / 5 min (notBreaching: errors are"
                     " sparse)" % (short, limit, floor))
    alarms.append(_alarm(
        "%salb-p95-response-time" % prefix,
        "p95 target response time above %g s (the 200 ms goal) for 3 of 5 minutes. Check the database latency and the"
        " services' CPU." % t["alb_p95_seconds"],
        t["alb_p95_seconds"], "GreaterThanThreshold", "notBreaching", 60, 5, 3,
        namespace=ns, metric_name="TargetResponseTime", dimensions=dims, stat="p95"))
    lines.append("alb p95 TargetResponseTime > %g s, 3 of 5 min (notBreaching: no requests, no datapoint)"
                 % t["alb_p95_seconds"])
    alarms.append(_alarm(
        "%salb-rejected-connections" % prefix,
        "The load balancer rejected connections (it reached its connection limit). Any rejection is a lost user.",
        0, "GreaterThanThreshold", "notBreaching", 60, 1,
        namespace=ns, metric_name="RejectedConnectionCount", dimensions=dims, stat="Sum"))
    lines.append("alb RejectedConnectionCount > 0 in a minute (notBreaching: published only when it happens)")
    served_by = {}
    for name, svc in sorted(services.items()):
        for group in svc.get("target_groups") or []:
            served_by.setdefault(group, []).append((name, svc))
    base = lb["name"][:-len("-alb")] if lb["name"].endswith("-alb") else lb["name"]
    for group, dimension in sorted(lb.get("target_groups", {}).items()):
        short = group[len(base) + 1:] if group.startswith(base + "-") else group  # directfanz-web -> web
        tg = {"TargetGroup": dimension, "LoadBalancer": lb["dimension"]}
        alarms.append(_alarm(
            "%salb-%s-unhealthy-hosts" % (prefix, short),
            "Target group %s has unhealthy targets for 3 of 5 minutes. Check the service's health endpoint and its"
            " tasks' logs." % group, 0, "GreaterThanThreshold", "notBreaching", 60, 5, 3,
            namespace=ns, metric_name="UnHealthyHostCount", dimensions=tg, stat="Maximum"))
        lines.append("target group %s: UnHealthyHostCount > 0, 3 of 5 min (notBreaching)" % group)
        owners = served_by.get(group) or []
        floor_tasks = min((svc["min"] or svc["desired"]) for svc_name, svc in owners) if owners else 0
        owner_names = ", ".join(svc_name for svc_name, svc in owners)
        if floor_tasks:
            alarms.append(_alarm(
                "%salb-%s-healthy-hosts" % (prefix, short),
                "Target group %s has fewer than %d healthy targets (the floor of service %s) for 5 minutes."
                % (group, floor_tasks, owner_names),
                floor_tasks, "LessThanThreshold", "missing", 60, 5,
                namespace=ns, metric_name="HealthyHostCount", dimensions=tg, stat="Minimum"))
            lines.append("target group %s: HealthyHostCount < %d (min tasks of %s), 5 of 5 min (missing: published"
                         " every minute)" % (group, floor_tasks, owner_names))
    return alarms, lines


def service_alarms(cluster, services, t, prefix):
    """Per service: CPU above halfway from its scaling target to 100%, memory, running tasks below desired."""
    alarms, lines, skipped = [], [], []
    name = cluster["name"]
    for svc_name, svc in sorted(services.items()):
        dims = {"ClusterName": name, "ServiceName": svc_name}
        target = float(svc.get("cpu_target") or 0)
        if t["ecs_cpu_percent"]:
            cpu, why = t["ecs_cpu_percent"], "set"
        elif target:
            cpu, why = target + (100 - target) / 2.0, "halfway from the scaling target %g%% to 100%%" % target
        else:
            cpu, why = 85.0, "no CPU scaling target"
        alarms.append(_alarm(
            "%secs-%s-cpu" % (prefix, svc_name),
            "Service %s above %g%% CPU for 10 minutes (%s): auto-scaling is at its maximum (%d tasks) or not working."
            % (svc_name, cpu, why, svc.get("max") or svc["desired"]), cpu, "GreaterThanThreshold", "missing", 60, 10,
            namespace="AWS/ECS", metric_name="CPUUtilization", dimensions=dims, stat="Average"))
        lines.append("service %s: CPUUtilization > %g%% (%s), 10 of 10 min (missing)" % (svc_name, cpu, why))
        mem = t["ecs_memory_percent"]
        alarms.append(_alarm(
            "%secs-%s-memory" % (prefix, svc_name),
            "Service %s above %g%% of its memory for 10 minutes: tasks are near their hard limit and will be OOM-killed."
            % (svc_name, mem), mem, "GreaterThanThreshold", "missing", 60, 10,
            namespace="AWS/ECS", metric_name="MemoryUtilization", dimensions=dims, stat="Average"))
        lines.append("service %s: MemoryUtilization > %g%%, 10 of 10 min (missing)" % (svc_name, mem))
        if not cluster.get("container_insights"):
            skipped.append("service %s: running tasks below desired needs Container Insights on cluster %s (the"
                           " compute phase enables it); not watched" % (svc_name, name))
            continue
        ci = "ECS/ContainerInsights"
        alarms.append(_alarm(
            "%secs-%s-running-tasks" % (prefix, svc_name),
            "Service %s runs fewer tasks than desired for 5 minutes (a scale-out or a replacement normally takes 1-2):"
            " tasks fail to start or keep crashing. Check the service's events and stopped tasks." % svc_name,
            0, "GreaterThanThreshold", "breaching", 60, 5,
            metrics=[_metric("d", ci, "DesiredTaskCount", dims, "Maximum", 60),
                     _metric("r", ci, "RunningTaskCount", dims, "Minimum", 60),
                     _expression("short", "d - r", "tasks short of desired")]))
        lines.append("service %s: DesiredTaskCount - RunningTaskCount > 0, 5 of 5 min (breaching: Container Insights"
                     " reports every minute; desired is %d now, %d-%d with auto-scaling)"
                     % (svc_name, svc["desired"], svc.get("min") or svc["desired"], svc.get("max") or svc["desired"]))
    return alarms, lines, skipped


def database_alarms(db, t, prefix):
    """CPU, freeable memory (share of the class's RAM), free storage (share of allocated), read/write latency,
    connections (share of max_connections), MaximumUsedTransactionIDs."""
    dims = {"DBInstanceIdentifier": db["identifier"]}
    ns = "AWS/RDS"
    alarms, lines = [], []
    klass = db["instance_class"]
    ram = rds_instance_memory_gib(klass) * GIB
    if t["rds_freeable_memory_bytes"]:
        memory = t["rds_freeable_memory_bytes"]
        if memory >= ram:
            _fail("the FreeableMemory alarm threshold %d bytes (%s) is at or above the memory of %s (%s): the alarm would"
                  " sit in ALARM forever; accepted: a value below %d bytes, for example 10%% = %d"
                  % (memory, _gib(memory), klass, _gib(ram), ram, int(ram * 0.1)))
        memory_why = "set to %d bytes" % memory
    else:
        memory = ram * t["rds_freeable_memory_share"]
        memory_why = "%g x %s of %s" % (t["rds_freeable_memory_share"], _gib(ram), klass)
    alarms.append(_alarm(
        "%srds-cpu" % prefix, "Database CPU above %g%% for 15 minutes. Check pg_stat_statements for the top queries."
        % t["rds_cpu_percent"], t["rds_cpu_percent"], "GreaterThanThreshold", "missing", 300, 3,
        namespace=ns, metric_name="CPUUtilization", dimensions=dims, stat="Average"))
    lines.append("rds CPUUtilization > %g%%, 3 x 5 min (missing: published every minute)" % t["rds_cpu_percent"])
    alarms.append(_alarm(
        "%srds-freeable-memory" % prefix,
        "Database freeable memory below %s (%s) for 15 minutes: the page cache is being evicted and swap follows."
        % (_gib(memory), memory_why), memory, "LessThanThreshold", "missing", 300, 3,
        namespace=ns, metric_name="FreeableMemory", dimensions=dims, stat="Average"))
    lines.append("rds FreeableMemory < %d bytes = %s (%s), 3 x 5 min (missing)" % (memory, _gib(memory), memory_why))
    allocated = db["allocated_storage_gib"] * GIB
    autoscaling = db.get("max_allocated_storage_gib", 0) > db["allocated_storage_gib"]
    share = t["rds_free_storage_share"] or (0.05 if autoscaling else 0.15)
    if share >= 1:
        _fail("the FreeStorageSpace share %s is not below the allocated storage; accepted: below 1" % share)
    storage = allocated * share
    storage_why = "%g x %d GiB allocated%s" % (share, db["allocated_storage_gib"],
                                               ", below storage autoscaling's 10%% trigger (ceiling %d GiB)"
                                               % db["max_allocated_storage_gib"] if autoscaling and not
                                               t["rds_free_storage_share"] else "")
    alarms.append(_alarm(
        "%srds-free-storage" % prefix,
        "Database free storage below %s (%s) for 10 minutes. Storage autoscaling has not kept up: check its ceiling"
        " and the largest tables." % (_gib(storage), storage_why), storage, "LessThanThreshold", "missing", 300, 2,
        namespace=ns, metric_name="FreeStorageSpace", dimensions=dims, stat="Minimum"))
    lines.append("rds FreeStorageSpace < %d bytes = %s (%s), 2 x 5 min (missing; re-derived each run from the live"
                 " allocation)" % (storage, _gib(storage), storage_why))
    for metric, short in (("ReadLatency", "read"), ("WriteLatency", "write")):
        alarms.append(_alarm(
            "%srds-%s-latency" % (prefix, short),
            "Database %s latency above %g s for 15 minutes: the gp3 volume is saturated; the 50 ms query goal is at"
            " risk. Check IOPS against the volume's baseline." % (short, t["rds_latency_seconds"]),
            t["rds_latency_seconds"], "GreaterThanThreshold", "missing", 300, 3,
            namespace=ns, metric_name=metric, dimensions=dims, stat="Average"))
        lines.append("rds %s > %g s, 3 x 5 min (missing)" % (metric, t["rds_latency_seconds"]))
    if db.get("max_connections"):
        max_conn, conn_why = int(db["max_connections"]), "max_connections %d from the parameter group" % \
            db["max_connections"]
    else:
        max_conn = rds_default_max_connections(klass)[0]
        conn_why = "max_connections %d, RDS's default for %s (estimated)" % (max_conn, klass)
    connections = int(max_conn * t["rds_connections_share"])
    alarms.append(_alarm(
        "%srds-connections" % prefix,
        "Database connections above %d (%g x %s) for 10 minutes: something bypasses PgBouncer or the pools were sized"
        " for another class." % (connections, t["rds_connections_share"], conn_why), connections,
        "GreaterThanThreshold", "missing", 300, 2,
        namespace=ns, metric_name="DatabaseConnections", dimensions=dims, stat="Maximum"))
    lines.append("rds DatabaseConnections > %d = %g x %s, 2 x 5 min (missing)"
                 % (connections, t["rds_connections_share"], conn_why))
    alarms.append(_alarm(
        "%srds-transaction-ids" % prefix,
        "Oldest unfrozen transaction ID above %d: autovacuum's freeze has stalled; wraparound stops writes at about 2.1"
        " billion. Check for long transactions and blocked autovacuum." % t["rds_transaction_ids"],
        t["rds_transaction_ids"], "GreaterThanThreshold", "missing", 300, 1,
        namespace=ns, metric_name="MaximumUsedTransactionIDs", dimensions=dims, stat="Maximum"))
    lines.append("rds MaximumUsedTransactionIDs > %d (half of the 2^31 wraparound horizon; missing)"
                 % t["rds_transaction_ids"])
    return alarms, lines


def cache_alarms(redis, t, prefix):
    """Per node: engine CPU and memory; the primary's evictions; each replica's replication lag."""
    alarms, lines = [], []
    ns = "AWS/ElastiCache"
    nodes = [("primary", n) for n in redis.get("primary") or []] + [("replica", n) for n in redis.get("replicas") or []]
    for role, node in nodes:
        dims = {"CacheClusterId": node["cluster"], "CacheNodeId": node["node"]}
        short = node["cluster"][len(redis["id"]) + 1:] if node["cluster"].startswith(redis["id"] + "-") \
            else node["cluster"]
        alarms.append(_alarm(
            "%sredis-%s-engine-cpu" % (prefix, short),
            "Redis %s (%s) engine thread above %g%% CPU for 15 minutes: commands queue up. Look for slow commands"
            " (SLOWLOG) or scale the node type (%s)."
            % (node["cluster"], role, t["redis_engine_cpu_percent"], redis.get("node_type")),
            t["redis_engine_cpu_percent"], "GreaterThanThreshold", "missing", 300, 3,
            namespace=ns, metric_name="EngineCPUUtilization", dimensions=dims, stat="Average"))
        alarms.append(_alarm(
            "%sredis-%s-memory" % (prefix, short),
            "Redis %s (%s) above %g%% of maxmemory for 15 minutes: at 100%% it evicts keys with a TTL, then refuses"
            " writes." % (node["cluster"], role, t["redis_memory_percent"]),
            t["redis_memory_percent"], "GreaterThanThreshold", "missing", 300, 3,
            namespace=ns, metric_name="DatabaseMemoryUsagePercentage", dimensions=dims, stat="Average"))
        lines.append("redis %s (%s): EngineCPUUtilization > %g%%, DatabaseMemoryUsagePercentage > %g%%, 3 x 5 min"
                     " (missing)" % (node["cluster"], role, t["redis_engine_cpu_percent"], t["redis_memory_percent"]))
        if role == "primary":
            alarms.append(_alarm(
                "%sredis-%s-evictions" % (prefix, short),
                "Redis %s evicts keys for 15 minutes: memory is full; sessions and queues without a TTL are next to"
                " fail." % node["cluster"], 0, "GreaterThanThreshold", "notBreaching", 300, 3,
                namespace=ns, metric_name="Evictions", dimensions=dims, stat="Sum"))
            lines.append("redis %s: Evictions > 0 in each of 3 x 5 min (notBreaching: none on a healthy cache)"
                         % node["cluster"])
        else:
            lag = t["redis_replication_lag_seconds"]
            alarms.append(_alarm(
                "%sredis-%s-replication-lag" % (prefix, short),
                "Redis replica %s more than %g s behind the primary for 3 of 5 minutes: a failover now loses those"
                " writes." % (node["cluster"], lag), lag, "GreaterThanThreshold", "missing", 60, 5, 3,
                namespace=ns, metric_name="ReplicationLag", dimensions=dims, stat="Maximum"))
            lines.append("redis %s: ReplicationLag > %g s, 3 of 5 min (missing: replicas publish it every minute)"
                         % (node["cluster"], lag))
    return alarms, lines


def edge_alarms(distribution, t, prefix):
    """CloudFront 5xx rate and cache hit rate (us-east-1; the hit rate needs the distribution's additional metrics)."""
    ns = "AWS/CloudFront"
    dims = {"DistributionId": distribution["id"], "Region": "Global"}
    floor = int(t["cloudfront_min_requests"])
    hourly = int(t["cloudfront_min_requests_per_hour"])
    alarms = [
        _alarm("%scloudfront-5xx-rate" % prefix,
               "More than %g%% of viewer requests answered 5xx for 10 of 15 minutes (with at least %d requests per 5"
               " minutes). Check the load balancer's 5xx and the static bucket." % (t["cloudfront_5xx_percent"], floor),
               t["cloudfront_5xx_percent"], "GreaterThanThreshold", "notBreaching", 300, 3, 2,
               metrics=[_metric("r", ns, "Requests", dims, "Sum", 300),
                        _metric("e", ns, "5xxErrorRate", dims, "Average", 300),
                        _expression("rate", "IF(r >= %d, e, 0)" % floor, "5xx %")]),
        _alarm("%scloudfront-cache-hit-rate" % prefix,
               "Cache hit rate below %g%% for 3 hours running (with at least %d requests an hour; requirement 8.1)."
               " Check the static paths' cache policy and Cache-Control headers." % (
                   t["cloudfront_cache_hit_percent"], hourly),
               t["cloudfront_cache_hit_percent"], "LessThanThreshold", "notBreaching", 3600, 3,
               metrics=[_metric("r", ns, "Requests", dims, "Sum", 3600),
                        _metric("h", ns, "CacheHitRate", dims, "Average", 3600),
                        _expression("hit", "IF(r >= %d, h, 100)" % hourly, "cache hit %")]),
    ]
    lines = ["cloudfront 5xxErrorRate > %g%%, 2 of 3 x 5 min, when >= %d requests / 5 min (notBreaching)"
             % (t["cloudfront_5xx_percent"], floor),
             "cloudfront CacheHitRate < %g%%, 3 x 1 h, when >= %d requests / h (notBreaching; needs the distribution's"
             " additional metrics)" % (t["cloudfront_cache_hit_percent"], hourly)]
    return alarms, lines


def waf_alarm(acl, scope, region, t, prefix):
    """Blocked requests in 5 minutes above the ACL's per-IP rate limit."""
    dims = {"WebACL": acl.get("metric_name") or acl["name"], "Rule": "ALL"}
    if scope == "regional":
        dims["Region"] = region
    if t["waf_blocked_per_5min"]:
        limit, why = t["waf_blocked_per_5min"], "set"
    elif acl.get("rate_limit"):
        limit, why = acl["rate_limit"], "the ACL's per-IP rate limit per 5 minutes"
    else:
        limit, why = 1000, "no rate rule in the ACL"
    alarm = _alarm(
        "%swaf-%s-blocked-spike" % (prefix, scope),
        "Web ACL %s blocked more than %d requests in 5 minutes (%s): an attack in progress, or a rule blocking real"
        " users. Check the WAF log group's sampled requests." % (acl["name"], limit, why),
        limit, "GreaterThanThreshold", "notBreaching", 300, 1,
        namespace="AWS/WAFV2", metric_name="BlockedRequests", dimensions=dims, stat="Sum")
    return alarm, "waf %s: BlockedRequests > %d / 5 min (%s; notBreaching: published only when something is blocked)" \
        % (acl["name"], limit, why)


def health_check_alarms(checks, t, prefix):
    """One alarm per Route 53 health check on AWS/Route53 HealthCheckStatus (us-east-1 only: Route 53 publishes its
    health-check metrics there whatever the checked name's region)."""
    minutes = int(t["health_check_minutes"])
    alarms, lines = [], []
    for name, check in sorted(checks.items()):
        alarms.append(_alarm(
            "%shealth-%s" % (prefix, name),
            "Route 53 health check %s (https://%s%s) unhealthy for %d minutes running: users of %s get errors or"
            " nothing. Check the service behind it, then the load balancer and the distribution."
            % (name, check["fqdn"], check["path"], minutes, check["fqdn"]),
            1, "LessThanThreshold", "breaching", 60, minutes,
            namespace="AWS/Route53", metric_name="HealthCheckStatus", dimensions={"HealthCheckId": check["id"]},
            stat="Minimum"))
        lines.append("health check %s: HealthCheckStatus < 1 (minimum), %d x 1 min (breaching: published every minute"
                     " while the check exists)" % (name, minutes))
    return alarms, lines


# ---------------------------------------------------------------------------------------------------------------
# The dashboard: one row per tier


def _widget_metrics(alarm):
    """The dashboard lines for an alarm's metric(s): expressions as expressions, metrics in CloudWatch's array form."""
    if alarm.get("metrics"):
        out = []
        for m in alarm["metrics"]:
            if m.get("expression"):
                out.append([{"expression": m["expression"], "label": m["label"], "id": m["id"]}])
            else:
                row = [m["namespace"], m["metric_name"]]
                for k, v in sorted(m["dimensions"].items()):
                    row += [k, v]
                out.append(row + [{"stat": m["stat"], "id": m["id"], "visible": False}])
        return out
    row = [alarm["namespace"], alarm["metric_name"]]
    for k, v in sorted(alarm["dimensions"].items()):
        row += [k, v]
    return [row + [{"stat": alarm.get("statistic") or alarm.get("extended_statistic")}]]


def dashboard_body(rows, prefix):
    """Rows of (title, region, alarms): a header text widget, then one graph per alarm, three to a line."""
    widgets, y = [], 0
    for title, region, alarms in rows:
        widgets.append({"type": "text", "x": 0, "y": y, "width": 24, "height": 1,
                        "properties": {"markdown": "## %s" % title}})
        y += 1
        for index, alarm in enumerate(alarms):
            x = (index % 3) * 8
            if index and index % 3 == 0:
                y += 6
            props = {"title": alarm["name"][len(prefix):], "region": region, "view": "timeSeries",
                     "metrics": _widget_metrics(alarm),
                     "period": alarm.get("period") or alarm["metrics"][0]["period"],
                     "annotations": {"horizontal": [{"label": "alarm", "value": alarm["threshold"]}]}}
            widgets.append({"type": "metric", "x": x, "y": y, "width": 8, "height": 6, "properties": props})
        y += 6 if alarms else 0
    return {"widgets": widgets}


# ---------------------------------------------------------------------------------------------------------------


def operations_alarms(watched, settings):
    """The alarms per region, the dashboard and the arithmetic, from what alarm_targets read."""
    watched = watched or {}
    prefix = settings.get("prefix") or ""
    if not prefix:
        _fail("operations_alarms needs settings.prefix (the alarm name prefix)")
    region = settings.get("region") or GLOBAL_REGION
    global_region = settings.get("global_region") or GLOBAL_REGION
    t = thresholds_of(settings.get("thresholds"))
    lines, skipped, missing = [], [], []
    rows = []  # (title, region, alarms)
    edge = []
    if watched.get("distribution"):
        alarms, more = edge_alarms(watched["distribution"], t, prefix)
        edge += alarms
        lines += more
    else:
        missing.append("no CloudFront distribution found: its alarms are not planned (run the edge phase)")
    acls = watched.get("web_acls") or {}
    if acls.get("cloudfront"):
        alarm, line = waf_alarm(acls["cloudfront"], "cloudfront", global_region, t, prefix)
        edge.append(alarm)
        lines.append(line)
    regional = []
    if acls.get("regional"):
        alarm, line = waf_alarm(acls["regional"], "regional", region, t, prefix)
        regional.append(alarm)
        lines.append(line)
    rows.append(("Edge - CloudFront and the web ACLs", global_region, edge))
    health = []
    if watched.get("health_checks"):
        health, more = health_check_alarms(watched["health_checks"], t, prefix)
        lines += more
    elif settings.get("health_checks", True):
        missing.append("no Route 53 health checks found: their alarms are not planned (the health_checks role makes"
                       " them)")
    rows.append(("Health checks (Route 53)", global_region, health))
    services = dict((n, s) for n, s in (watched.get("services") or {}).items()
                    if not settings.get("services") or n in settings["services"])
    lb_alarms = []
    if watched.get("load_balancer"):
        lb_alarms, more = load_balancer_alarms(watched["load_balancer"], services, t, prefix)
        lines += more
    else:
        missing.append("no load balancer found: its alarms are not planned (run the network phase)")
    rows.append(("Load balancer", region, regional + lb_alarms))
    svc_alarms = []
    if watched.get("cluster") and services:
        svc_alarms, more, gaps = service_alarms(watched["cluster"], services, t, prefix)
        lines += more
        skipped += gaps
    else:
        missing.append("no ECS services found: their alarms are not planned (run the compute phase)")
    rows.append(("Services (ECS)", region, svc_alarms))
    db_alarms = []
    if watched.get("rds"):
        db_alarms, more = database_alarms(watched["rds"], t, prefix)
        lines += more
    else:
        missing.append("no RDS instance found: its alarms are not planned (run the data phase)")
    rows.append(("Database (RDS PostgreSQL)", region, db_alarms))
    cache = []
    if watched.get("redis"):
        cache, more = cache_alarms(watched["redis"], t, prefix)
        lines += more
    else:
        missing.append("no Redis replication group found: its alarms are not planned (run the data phase)")
    rows.append(("Cache (ElastiCache Redis)", region, cache))

    by_region = {}
    regional_alarms = regional + lb_alarms + svc_alarms + db_alarms + cache
    for row_region, alarms in ((global_region, edge + health), (region, regional_alarms)):
        by_region.setdefault(row_region, []).extend(alarms)
    topics = watched.get("topics") or {}
    calls = []
    for call_region in sorted(by_region, key=lambda r: (r != region, r)):
        alarms = by_region[call_region]
        if not alarms and call_region != region:
            continue
        topic = topics.get(call_region)
        if not topic and alarms:
            # its alarms cannot be kept without their actions: said with the rest of what is missing (the role stops
            # a real run on it; check mode plans the other regions)
            missing.append("no alert topic %s in %s: the %d alarms there need it for their actions; run the"
                           " certificates phase (it makes the topic in every certificate region) first"
                           % (settings.get("topic_name") or "<launch_name>-alerts", call_region, len(alarms)))
            continue
        for alarm in alarms:
            alarm["alarm_actions"] = [topic]
            alarm["ok_actions"] = [topic]
        calls.append({"region": call_region, "alarms": alarms})
    if not calls:
        calls.append({"region": region, "alarms": []})
    dashboard = {"name": settings.get("dashboard_name") or prefix.rstrip("-"), "body": dashboard_body(rows, prefix)}
    return {"calls": calls, "dashboard": dashboard, "lines": lines, "skipped": skipped, "missing": missing,
            "count": sum(len(c["alarms"]) for c in calls)}


class FilterModule(object):
    def filters(self):
        return {"operations_alarms": operations_alarms}
