#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: alarm_targets
short_description: Find, read-only, what the operations phase watches - the database, cache, services, load balancer, edge
version_added: 0.6.0
description:
  - One read-only call that reads the facts the alarms' thresholds are derived from - the RDS instance's class, allocated
    storage and explicit C(max_connections), the Redis replication group's nodes and their roles, each ECS service's
    desired count and auto-scaling bounds and CPU target, the load balancer's and target groups' CloudWatch dimensions,
    the CloudFront distribution's id, the web ACLs and their per-IP rate limits, and the administrators' SNS topic in
    each region - so C(--tags operations) works by itself on a built account.
  - Whatever does not exist comes back empty (never an error), so check mode on an empty account still plans; the role
    decides what is fatal.
author: DirectFanz platform team (@directfanz)
options:
  db_identifier:
    description: The RDS instance to read.
    type: str
  replication_group:
    description: The ElastiCache replication group to read.
    type: str
  cluster:
    description: The ECS cluster of O(services).
    type: str
  services:
    description: ECS service names to read (desired count, auto-scaling bounds, CPU target).
    type: list
    elements: str
    default: []
  load_balancer_name:
    description: The Application Load Balancer to read, with the target groups attached to it.
    type: str
  distribution_name:
    description: The C(launch-distribution) tag of the CloudFront distribution to find.
    type: str
  regional_web_acl:
    description: Name of the REGIONAL web ACL (in O(region)).
    type: str
  cloudfront_web_acl:
    description: Name of the CLOUDFRONT web ACL (always in us-east-1).
    type: str
  topic_name:
    description: Name of the alert topic, looked for in O(region) and in us-east-1.
    type: str
  health_check_prefix:
    description:
      - The prefix of the Route 53 health checks to read (their C(Name) tag is C(<prefix>-<name>), as
        M(directfanz.launch.route53_health_checks) sets it); only those the launch manages are returned.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Read what the alarms watch
  directfanz.launch.alarm_targets:
    db_identifier: directfanz-db
    replication_group: directfanz-redis
    cluster: directfanz
    services: [web, ws, stream, pgbouncer]
    load_balancer_name: directfanz-alb
    distribution_name: directfanz
    regional_web_acl: directfanz-regional
    cloudfront_web_acl: directfanz-cloudfront
    topic_name: directfanz-alerts
    health_check_prefix: directfanz
  register: watched
"""

RETURN = r"""
rds:
  description:
    - C({identifier, instance_class, allocated_storage_gib, max_allocated_storage_gib, max_connections}) of the instance
      (C(max_connections) 0 when the parameter group leaves RDS's default formula), or empty.
  returned: always
  type: dict
redis:
  description:
    - C({id, node_type, primary, replicas}) - C(primary) and C(replicas) are lists of C({cluster, node}), the
      C(CacheClusterId) and C(CacheNodeId) of each member by role - or empty.
  returned: always
  type: dict
services:
  description:
    - Service name to C({desired, min, max, cpu_target, target_groups}) (bounds and target 0 without auto-scaling;
      C(target_groups) the names of the target groups it registers into).
  returned: always
  type: dict
cluster:
  description: C({name, container_insights}) of the cluster, or empty.
  returned: always
  type: dict
load_balancer:
  description:
    - C({name, dimension, target_groups}) - the C(LoadBalancer) dimension, and target group name to its C(TargetGroup)
      dimension.
  returned: always
  type: dict
distribution:
  description: C({id}) of the distribution, or empty.
  returned: always
  type: dict
web_acls:
  description:
    - C(regional) / C(cloudfront) to C({name, metric_name, rate_limit}) (the CloudWatch metric name of the ACL and its
      smallest rate-based rule limit per 5 minutes - a 60 s window's limit counts five times - 0 if none).
  returned: always
  type: dict
topics:
  description: Region to the alert topic's ARN, for the regions where it exists.
  returned: always
  type: dict
health_checks:
  description:
    - Check name (its C(Name) tag without C(<prefix>-)) to C({id, fqdn, path}) for the launch's Route 53 health checks,
      or empty.
  returned: always
  type: dict
"""

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils import cloudfront
from ansible_collections.directfanz.launch.plugins.module_utils.health_checks import read_health_checks
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    aws_call, aws_pages, aws_read, retrying_client)

GLOBAL_REGION = "us-east-1"  # CloudFront, its web ACLs and their metrics live here


def rds(module, name):
    client = retrying_client(module, "rds", retries=8, max_delay=20)
    answer = aws_read(module, client, "read DB instance %s" % name, "describe_db_instances",
                      missing=("DBInstanceNotFound", "DBInstanceNotFoundFault"), DBInstanceIdentifier=name)
    if not answer or not answer.get("DBInstances"):
        return {}
    db = answer["DBInstances"][0]
    explicit = 0
    for group in db.get("DBParameterGroups") or []:
        params = aws_pages(module, client, "read parameter group %s" % group["DBParameterGroupName"],
                           "describe_db_parameters", "Parameters", token="Marker",
                           DBParameterGroupName=group["DBParameterGroupName"], Source="user")
        for param in params:
            value = str(param.get("ParameterValue") or "")
            if param.get("ParameterName") == "max_connections" and value.isdigit():
                explicit = int(value)  # a formula such as {DBInstanceClassMemory/9531392} is RDS's default
    return {"identifier": name, "instance_class": db["DBInstanceClass"],
            "allocated_storage_gib": int(db.get("AllocatedStorage") or 0),
            "max_allocated_storage_gib": int(db.get("MaxAllocatedStorage") or 0), "max_connections": explicit}


def redis(module, name):
    client = retrying_client(module, "elasticache", retries=8, max_delay=20)
    answer = aws_read(module, client, "read replication group %s" % name, "describe_replication_groups",
                      missing=("ReplicationGroupNotFoundFault",), ReplicationGroupId=name)
    if not answer or not answer.get("ReplicationGroups"):
        return {}
    group = answer["ReplicationGroups"][0]
    members = [m for ng in group.get("NodeGroups") or [] for m in ng.get("NodeGroupMembers") or []]
    # ElastiCache publishes host and engine metrics per node: CacheClusterId + CacheNodeId
    primary = [{"cluster": m["CacheClusterId"], "node": m.get("CacheNodeId") or "0001"} for m in members
               if m.get("CurrentRole") == "primary"]
    replicas = [{"cluster": m["CacheClusterId"], "node": m.get("CacheNodeId") or "0001"} for m in members
                if m.get("CurrentRole") == "replica"]
    if not primary:  # roles not reported yet (still creating): the first member cluster is the primary
        clusters = [{"cluster": c, "node": "0001"} for c in group.get("MemberClusters") or []]
        primary, replicas = clusters[:1], clusters[1:]
    return {"id": name, "node_type": group.get("CacheNodeType") or "", "primary": primary, "replicas": replicas}


def ecs(module, cluster, names):
    client = retrying_client(module, "ecs", retries=8, max_delay=20)
    found = aws_call(module, client, "read cluster %s" % cluster, "describe_clusters", clusters=[cluster],
                     include=["SETTINGS"])
    clusters = [c for c in found.get("clusters") or [] if c.get("status") == "ACTIVE"]
    if not clusters:
        return {}, {}
    settings = dict((s["name"], s["value"]) for s in clusters[0].get("settings") or [])
    info = {"name": cluster, "container_insights": settings.get("containerInsights") in ("enabled", "enhanced")}
    services = {}
    if names:
        answer = aws_call(module, client, "read the services of cluster %s" % cluster, "describe_services",
                          cluster=cluster, services=list(names))
        for svc in answer.get("services") or []:
            if svc.get("status") == "ACTIVE":
                groups = sorted(set(lb["targetGroupArn"].split(":", 5)[5].split("/")[1]
                                    for lb in svc.get("loadBalancers") or [] if lb.get("targetGroupArn")))
                services[svc["serviceName"]] = {"desired": int(svc.get("desiredCount") or 0), "min": 0, "max": 0,
                                                "cpu_target": 0, "target_groups": groups}
    if services:
        scaling = retrying_client(module, "application-autoscaling", retries=8, max_delay=20)
        ids = ["service/%s/%s" % (cluster, n) for n in sorted(services)]
        targets = aws_pages(module, scaling, "read the scalable targets of cluster %s" % cluster,
                            "describe_scalable_targets", "ScalableTargets", ServiceNamespace="ecs", ResourceIds=ids)
        for target in targets:
            name = target["ResourceId"].split("/")[-1]
            if name in services:
                services[name].update(min=int(target["MinCapacity"]), max=int(target["MaxCapacity"]))
        policies = aws_pages(module, scaling, "read the scaling policies of cluster %s" % cluster,
                             "describe_scaling_policies", "ScalingPolicies", ServiceNamespace="ecs")
        for policy in policies:
            name = policy["ResourceId"].split("/")[-1]
            config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
            metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
            if name in services and metric == "ECSServiceAverageCPUUtilization":
                services[name]["cpu_target"] = float(config["TargetValue"])
    return info, services


def load_balancer(module, name):
    client = retrying_client(module, "elbv2", retries=8, max_delay=20)
    answer = aws_read(module, client, "read load balancer %s" % name, "describe_load_balancers",
                      missing=("LoadBalancerNotFound",), Names=[name])
    if not answer or not answer.get("LoadBalancers"):
        return {}
    arn = answer["LoadBalancers"][0]["LoadBalancerArn"]
    groups = aws_pages(module, client, "read the target groups of load balancer %s" % name, "describe_target_groups",
                       "TargetGroups", token="Marker", next_token="NextMarker", LoadBalancerArn=arn)
    # CloudWatch's dimensions are the ARNs' resource parts: app/<name>/<id> and targetgroup/<name>/<id>
    return {"name": name, "dimension": arn.split(":loadbalancer/", 1)[1],
            "target_groups": dict((g["TargetGroupName"], g["TargetGroupArn"].split(":", 5)[5]) for g in groups)}


def web_acl(module, name, scope, region):
    client = retrying_client(module, "wafv2", retries=8, max_delay=20, region=region)
    acls = aws_pages(module, client, "list the %s web ACLs" % scope, "list_web_acls", "WebACLs", token="NextMarker",
                     Scope=scope)
    ours = [a for a in acls if a["Name"] == name]
    if not ours:
        return {}
    acl = aws_call(module, client, "read web ACL %s" % name, "get_web_acl", Name=name, Scope=scope,
                   Id=ours[0]["Id"])["WebACL"]
    # per 5 minutes, the alarm's period, whatever the rule's window (60-600 s)
    rates = [r["Statement"]["RateBasedStatement"] for r in acl.get("Rules") or []
             if "RateBasedStatement" in (r.get("Statement") or {})]
    limits = [int(r["Limit"]) * 300 // int(r.get("EvaluationWindowSec") or 300) for r in rates]
    # CloudWatch's WebACL dimension is the ACL's metric name, which need not be its name
    return {"name": name, "metric_name": (acl.get("VisibilityConfig") or {}).get("MetricName") or name,
            "rate_limit": int(min(limits)) if limits else 0}


def topic(module, name, region, account, partition):
    client = retrying_client(module, "sns", retries=8, max_delay=20, region=region)
    arn = "arn:%s:sns:%s:%s:%s" % (partition, region, account, name)
    answer = aws_read(module, client, "read topic %s" % arn, "get_topic_attributes",
                      missing=("NotFound", "NotFoundException"), TopicArn=arn)
    return arn if answer is not None else None


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            db_identifier=dict(type="str"),
            replication_group=dict(type="str"),
            cluster=dict(type="str"),
            services=dict(type="list", elements="str", default=[]),
            load_balancer_name=dict(type="str"),
            distribution_name=dict(type="str"),
            regional_web_acl=dict(type="str"),
            cloudfront_web_acl=dict(type="str"),
            topic_name=dict(type="str"),
            health_check_prefix=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not module.region:
        module.fail_json(msg="no region is set; accepted: the region option or AWS_REGION in the environment")
    out = {"rds": {}, "redis": {}, "cluster": {}, "services": {}, "load_balancer": {}, "distribution": {},
           "web_acls": {}, "topics": {}, "health_checks": {}}
    if p["db_identifier"]:
        out["rds"] = rds(module, p["db_identifier"])
    if p["replication_group"]:
        out["redis"] = redis(module, p["replication_group"])
    if p["cluster"]:
        out["cluster"], out["services"] = ecs(module, p["cluster"], p["services"])
    if p["load_balancer_name"]:
        out["load_balancer"] = load_balancer(module, p["load_balancer_name"])
    if p["distribution_name"]:
        ours = cloudfront.find(cloudfront.Distributions(module), p["distribution_name"], [])[0]
        out["distribution"] = {"id": ours["Id"]} if ours else {}
    for key, name, scope, region in (("regional", p["regional_web_acl"], "REGIONAL", module.region),
                                     ("cloudfront", p["cloudfront_web_acl"], "CLOUDFRONT", GLOBAL_REGION)):
        if name:
            found = web_acl(module, name, scope, region)
            if found:
                out["web_acls"][key] = found
    if p["topic_name"]:
        sts = retrying_client(module, "sts", retries=8, max_delay=20)
        try:
            identity = sts.get_caller_identity(aws_retry=True)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Could not read the account id with STS GetCallerIdentity")
        for region in sorted(set([module.region, GLOBAL_REGION])):
            arn = topic(module, p["topic_name"], region, identity["Account"], identity["Arn"].split(":")[1])
            if arn:
                out["topics"][region] = arn
    if p["health_check_prefix"]:
        route53 = retrying_client(module, "route53", retries=8, max_delay=20)
        start = p["health_check_prefix"] + "-"
        for name, check in sorted(read_health_checks(module, route53).items()):
            if name.startswith(start) and check["managed"]:
                out["health_checks"][name[len(start):]] = {
                    "id": check["id"], "fqdn": check["config"].get("FullyQualifiedDomainName", ""),
                    "path": check["config"].get("ResourcePath", "/")}
    module.exit_json(changed=False, **out)


if __name__ == "__main__":
    main()
