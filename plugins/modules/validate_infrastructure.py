#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: validate_infrastructure
short_description: Read back everything the launch built and compare it with what was asked (requirement 5.1)
version_added: 0.4.0
description:
  - Read-only, one invocation. Finds what the earlier phases made by the launch's names (C(<name>-alb),
    C(<name>-db), C(<name>-redis), the C(<name>) cluster and distribution, C(<name>/app/*) secrets, the
    C(<name>-alerts) topic, C(<name>-daily) backup plan, C(<name>-monthly) budget, ...), reads each once and returns
    one case per comparison (docs/validate.md), each naming the acceptance criterion it is evidence for.
  - The launch report computes requirement 5.1's pass rate over these cases; the cases marked C(critical) (backups,
    replication, encryption, the WAF, the trail) fail the launch whatever the rate.
  - Never returns a secret value - C(DATABASE_URL) is parsed inside the module and only its host, port and
    C(pgbouncer) flag leave it.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description: The launch's name prefix (C(launch_name)).
    type: str
    required: true
  domain:
    description: The domain launched.
    type: str
    required: true
  subdomains:
    description: The subdomains routed to the load balancer.
    type: list
    elements: str
    default: [api, ws, stream]
  certificate_regions:
    description: Regions that hold the wildcard certificate (C(us-east-1) for CloudFront, and the home region).
    type: list
    elements: str
    default: [us-east-1]
  dr_region:
    description: The disaster-recovery region the backups are copied and the buckets replicated to.
    type: str
    required: true
  services:
    description: The ECS services of the cluster.
    type: list
    elements: str
    default: [web, ws, stream, pgbouncer]
  min_tasks:
    description: The fewest tasks an app service may run (one per availability zone).
    type: int
    default: 2
  admin_emails:
    description: The administrators' addresses the alerts topic must have.
    type: list
    elements: str
    default: []
  secret_keys:
    description: The keys of the owner's secrets file that must be in Secrets Manager as C(<name>/app/<key>).
    type: list
    elements: str
    default: []
  pooler_host:
    description: The host name C(DATABASE_URL) must name (the PgBouncer service's Cloud Map name).
    type: str
    required: true
  pooler_port:
    description: PgBouncer's port.
    type: int
    default: 6432
  budget:
    description: The monthly budget in USD the cost budget must hold.
    type: float
    required: true
  backup_retention_days:
    description: The days the daily backups must be kept.
    type: int
    default: 30
  health_check_names:
    description: The names Route 53 must health-check (fully qualified).
    type: list
    elements: str
    default: []
  restore_minutes:
    description: The restore drill's budget in minutes (requirement 7.4).
    type: float
    default: 30
  drill_record:
    description:
      - A JSON file the restore drill wrote (C(playbooks/restore_drill.yml) with C(restore_drill_record_file)); its
        C(ok) and C(minutes) are the 7.4 evidence. Missing - the case is C(not_run).
    type: path
  scale_out_seconds:
    description: The time within which auto-scaling must respond to a spike (requirement 8.4).
    type: int
    default: 120
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Read-only; the same reads and cases in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Compare what was built with what was asked
  directfanz.launch.validate_infrastructure:
    name: directfanz
    domain: directfanz.io
    dr_region: us-west-2
    certificate_regions: [us-east-1]
    pooler_host: pgbouncer.directfanz.internal
    budget: 150
  register: infrastructure
"""

RETURN = r"""
cases:
  description: One case per comparison (docs/validate.md), C(suite) C(infrastructure).
  returned: always
  type: list
  elements: dict
policies:
  description:
    - The inline policies of the launch's roles, C({name, kind, document}), for the least-privilege lint (requirement
      9.3) the validate role runs with the C(iam_policies_problems) filter.
  returned: always
  type: list
  elements: dict
summary:
  description: C({pass, fail, not_run, rate}) over the cases.
  returned: always
  type: dict
"""

import json
import os
import re

try:
    from urllib.parse import parse_qs, urlsplit
except ImportError:  # pragma: no cover - Python 2
    pass

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils import acm, cloudfront
from ansible_collections.directfanz.launch.plugins.module_utils.health_checks import read_health_checks
from ansible_collections.directfanz.launch.plugins.module_utils.plan import aws_pages, aws_read, retrying_client
from ansible_collections.directfanz.launch.plugins.module_utils.validate_infra import fqdn, infrastructure_cases

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def problems(p):
    out = []
    if not NAME.match(p["name"] or ""):
        out.append("name must be lower-case letters, digits and hyphens (got %r)" % p["name"])
    if not DOMAIN.match((p["domain"] or "").lower().rstrip(".")):
        out.append("domain must be a domain name such as example.com (got %r)" % p["domain"])
    if p["min_tasks"] < 1:
        out.append("min_tasks must be 1 or more (got %s)" % p["min_tasks"])
    if p["budget"] <= 0:
        out.append("budget must be a positive amount of USD (got %s)" % p["budget"])
    return out


class Reader(object):
    """The reads, each a small function; every answer is boiled down to the facts the cases compare."""

    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.clients = {}

    def client(self, service, region=None):
        key = (service, region)
        if key not in self.clients:
            self.clients[key] = retrying_client(self.module, service, region=region)
        return self.clients[key]

    def zone(self):
        r53 = self.client("route53")
        domain = fqdn(self.p["domain"])
        zones = aws_read(self.module, r53, "list hosted zones", "list_hosted_zones_by_name", DNSName=domain)
        ours = [z for z in (zones or {}).get("HostedZones") or [] if z["Name"].lower() == domain
                and not z.get("Config", {}).get("PrivateZone")]
        if not ours:
            return {}
        zone = ours[0]
        zid = zone["Id"].split("/")[-1]
        full = aws_read(self.module, r53, "read hosted zone %s" % zid, "get_hosted_zone", Id=zid)
        sets = self.record_sets(r53, zid)
        records = [{"name": s["Name"].lower().replace("\\052", "*"), "type": s["Type"],
                    "values": [v["Value"] for v in s.get("ResourceRecords") or []],
                    "alias": (s.get("AliasTarget") or {}).get("DNSName", "").lower() or None,
                    "failover": s.get("Failover"), "set": s.get("SetIdentifier")} for s in sets]
        return {"id": zid, "name": zone["Name"], "private": False, "records": records,
                "name_servers": (full.get("DelegationSet") or {}).get("NameServers") or []}

    def record_sets(self, r53, zid):
        out, kwargs = [], {"HostedZoneId": zid}
        while True:
            page = aws_read(self.module, r53, "list the records of %s" % zid, "list_resource_record_sets", **kwargs)
            out.extend(page.get("ResourceRecordSets") or [])
            if not page.get("IsTruncated"):
                return out
            kwargs.update(StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"])
            if page.get("NextRecordIdentifier"):
                kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]

    def certificates(self):
        domain = self.p["domain"].lower().rstrip(".")
        out = {}
        for region in self.p["certificate_regions"]:
            conn = self.client("acm", region)
            ours = [c for c in acm.find_ours(self.module, conn, acm.names_of("*." + domain, [domain]))
                    if c["Status"] in ("ISSUED", "PENDING_VALIDATION")]
            if not ours:
                continue
            cert = acm.describe(self.module, conn, ours[0]["CertificateArn"])
            options = cert.get("DomainValidationOptions") or []
            out[region] = {
                "arn": cert["CertificateArn"], "status": cert.get("Status"), "type": cert.get("Type"),
                "sans": sorted(set(cert.get("SubjectAlternativeNames") or [])),
                "validation_method": (options[0].get("ValidationMethod") if options else None) or "DNS",
                "renewal_eligibility": cert.get("RenewalEligibility"),
                "validation_records": sorted([dict(t) for t in set(
                    (("name", o["ResourceRecord"]["Name"].lower()), ("value", o["ResourceRecord"]["Value"].lower()))
                    for o in options if o.get("ResourceRecord"))], key=lambda r: r["name"])}
        return out

    def load_balancer(self):
        elb = self.client("elbv2")
        name = self.p["name"] + "-alb"
        found = aws_read(self.module, elb, "read load balancer %s" % name, "describe_load_balancers",
                         missing=("LoadBalancerNotFound",), Names=[name])
        if not found:
            return {}
        lb = found["LoadBalancers"][0]
        groups = dict((g["TargetGroupArn"], g["TargetGroupName"]) for g in aws_read(
            self.module, elb, "read the target groups of %s" % name, "describe_target_groups",
            LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"])
        listeners, hosts = {}, {}
        for lis in aws_read(self.module, elb, "read the listeners of %s" % name, "describe_listeners",
                            LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            listeners[str(lis["Port"])] = {"protocol": lis["Protocol"], "ssl_policy": lis.get("SslPolicy"),
                                           "certificates": [c["CertificateArn"] for c in lis.get("Certificates") or []],
                                           "default": (lis.get("DefaultActions") or [{}])[0].get("Type")}
            if lis["Port"] != 443:
                continue
            for rule in aws_read(self.module, elb, "read the rules of %s" % name, "describe_rules",
                                 ListenerArn=lis["ListenerArn"])["Rules"]:
                forward = [a.get("TargetGroupArn") for a in rule.get("Actions") or [] if a.get("Type") == "forward"]
                for cond in rule.get("Conditions") or []:
                    for host in (cond.get("HostHeaderConfig") or {}).get("Values") or cond.get("Values") or []:
                        if cond.get("Field") == "host-header" and forward:
                            hosts[host.lower()] = groups.get(forward[0], forward[0])
        waf = aws_read(self.module, self.client("wafv2"), "read the web ACL of %s" % name, "get_web_acl_for_resource",
                       missing=("WAFNonexistentItemException",), ResourceArn=lb["LoadBalancerArn"]) or {}
        return {"arn": lb["LoadBalancerArn"], "dns_name": lb["DNSName"].lower(), "scheme": lb.get("Scheme"),
                "listeners": listeners, "host_rules": hosts, "web_acl": (waf.get("WebACL") or {}).get("Name")}

    def distribution(self):
        dists = cloudfront.Distributions(self.module)
        ours = cloudfront.find(dists, self.p["name"], [])[0]
        if ours is None:
            return {}
        config = dists.get_config(ours["Id"])[0]
        behaviors = [{"path": "*", "cached": False, "policy": config["DefaultCacheBehavior"].get("CachePolicyId")}]
        for b in (config.get("CacheBehaviors") or {}).get("Items") or []:
            behaviors.append({"path": b["PathPattern"], "policy": b.get("CachePolicyId"), "origin": b["TargetOriginId"],
                              # AWS's managed CachingDisabled policy is the only one that caches nothing
                              "cached": b.get("CachePolicyId") != "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"})
        return {"id": ours["Id"], "arn": ours["ARN"], "domain_name": ours["DomainName"].lower(),
                "enabled": config.get("Enabled"), "aliases": sorted((config.get("Aliases") or {}).get("Items") or []),
                "certificate": (config.get("ViewerCertificate") or {}).get("ACMCertificateArn"),
                "web_acl": config.get("WebACLId"), "price_class": config.get("PriceClass"),
                "http_version": config.get("HttpVersion"), "behaviors": behaviors}

    def services(self):
        ecs = self.client("ecs")
        cluster = self.p["name"]
        found = aws_read(self.module, ecs, "read the services of cluster %s" % cluster, "describe_services",
                         missing=("ClusterNotFoundException",), cluster=cluster, services=self.p["services"]) or {}
        out = {}
        for svc in found.get("services") or []:
            breaker = (svc.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}
            out[svc["serviceName"]] = {"status": svc.get("status"), "desired": svc.get("desiredCount", 0),
                                       "running": svc.get("runningCount", 0), "task_definition": svc.get("taskDefinition"),
                                       "rollback": bool(breaker.get("enable") and breaker.get("rollback"))}
        aas = self.client("application-autoscaling")
        ids = ["service/%s/%s" % (cluster, s) for s in out]
        if ids:
            targets = aws_read(self.module, aas, "read the scalable targets", "describe_scalable_targets",
                               ServiceNamespace="ecs", ResourceIds=ids)["ScalableTargets"]
            policies = aws_read(self.module, aas, "read the scaling policies", "describe_scaling_policies",
                                ServiceNamespace="ecs")["ScalingPolicies"]
            for t in targets:
                out[t["ResourceId"].split("/")[-1]]["scalable"] = {"min": t["MinCapacity"], "max": t["MaxCapacity"]}
            alarms = self.alarm_index()
            for pol in policies:
                svc = out.get(pol["ResourceId"].split("/")[-1])
                if svc is None:
                    continue
                svc.setdefault("policies", []).append(pol["PolicyName"])
                detail = {"name": pol["PolicyName"], "type": pol["PolicyType"]}
                # the alarms that act on the policy, found from CloudWatch's side (the alarm's actions name the policy),
                # as AWS links them; DescribeScalingPolicies' own Alarms list is empty in moto for step scaling
                linked = [a for a in alarms.values() if pol["PolicyARN"] in a["actions"]]
                linked += [alarms[a["AlarmName"]] for a in pol.get("Alarms") or [] if a["AlarmName"] in alarms]
                for alarm in linked:
                    a = {"AlarmName": alarm["name"]}
                    if pol["PolicyType"] == "StepScaling":
                        # the breaching datapoints close, then one evaluation minute (docs/compute.md's arithmetic)
                        seconds = alarm["period"] * alarm["datapoints"] + 60
                        detail["reaction_seconds"] = seconds
                        svc["reaction_seconds"] = min(seconds, svc.get("reaction_seconds", seconds))
                    elif pol["PolicyType"] == "TargetTrackingScaling" and "AlarmHigh" in a["AlarmName"]:
                        detail["reaction_seconds"] = alarm["period"] * alarm["datapoints"] + 60
                svc.setdefault("policy_details", []).append(detail)
        return out

    def alarm_index(self):
        if not hasattr(self, "_alarms"):
            cw = self.client("cloudwatch")
            raw = aws_pages(self.module, cw, "read the alarms", "describe_alarms", "MetricAlarms")
            self._alarms = dict((a["AlarmName"], {
                "name": a["AlarmName"], "namespace": a.get("Namespace"), "metric": a.get("MetricName"),
                "actions": a.get("AlarmActions") or [], "period": a.get("Period") or 60,
                "datapoints": a.get("DatapointsToAlarm") or a.get("EvaluationPeriods") or 1}) for a in raw)
        return self._alarms

    def alarms(self):
        prefix = self.p["name"]
        return [a for n, a in sorted(self.alarm_index().items()) if n.startswith(prefix)]

    def dashboards(self):
        cw = self.client("cloudwatch")
        found = aws_read(self.module, cw, "list dashboards", "list_dashboards", DashboardNamePrefix=self.p["name"])
        return [d["DashboardName"] for d in (found or {}).get("DashboardEntries") or []]

    def topic(self):
        sns = self.client("sns")
        name = self.p["name"] + "-alerts"
        topics = aws_pages(self.module, sns, "list topics", "list_topics", "Topics")
        arns = [t["TopicArn"] for t in topics if t["TopicArn"].split(":")[-1] == name]
        if not arns:
            return {}
        subs = aws_pages(self.module, sns, "list the subscriptions of %s" % name, "list_subscriptions_by_topic",
                         "Subscriptions", TopicArn=arns[0])
        return {"arn": arns[0], "subscriptions": [{"protocol": s["Protocol"], "endpoint": s["Endpoint"]} for s in subs],
                "pending": sorted(s["Endpoint"] for s in subs if s.get("SubscriptionArn") == "PendingConfirmation")}

    def event_rules(self):
        events = self.client("events")
        out = []
        for rule in aws_pages(self.module, events, "list EventBridge rules", "list_rules", "Rules",
                              NamePrefix=self.p["name"]):
            try:
                pattern = json.loads(rule.get("EventPattern") or "{}")
            except ValueError:
                pattern = {}
            targets = aws_read(self.module, events, "read the targets of rule %s" % rule["Name"],
                               "list_targets_by_rule", Rule=rule["Name"])["Targets"]
            out.append({"name": rule["Name"], "sources": pattern.get("source") or [],
                        "targets": [t["Arn"] for t in targets], "state": rule.get("State")})
        return out

    def database(self):
        rds = self.client("rds")
        found = aws_read(self.module, rds, "read database %s-db" % self.p["name"], "describe_db_instances",
                         missing=("DBInstanceNotFound", "DBInstanceNotFoundFault"),
                         DBInstanceIdentifier=self.p["name"] + "-db")
        if not found:
            return {}
        db = found["DBInstances"][0]
        return {"identifier": db["DBInstanceIdentifier"], "engine": db.get("Engine"), "multi_az": db.get("MultiAZ"),
                "encrypted": db.get("StorageEncrypted"), "backup_retention": db.get("BackupRetentionPeriod", 0),
                "deletion_protection": db.get("DeletionProtection"), "status": db.get("DBInstanceStatus")}

    def redis(self):
        ec = self.client("elasticache")
        found = aws_read(self.module, ec, "read replication group %s-redis" % self.p["name"],
                         "describe_replication_groups", missing=("ReplicationGroupNotFoundFault",),
                         ReplicationGroupId=self.p["name"] + "-redis")
        if not found:
            return {}
        group = found["ReplicationGroups"][0]
        return {"id": group["ReplicationGroupId"], "automatic_failover": group.get("AutomaticFailover"),
                "multi_az": group.get("MultiAZ"), "members": len(group.get("MemberClusters") or []),
                "transit_encryption": group.get("TransitEncryptionEnabled"), "auth": group.get("AuthTokenEnabled")}

    def secrets(self):
        sm = self.client("secretsmanager")
        prefix = "%s/app/" % self.p["name"]
        listed = aws_pages(self.module, sm, "list secrets", "list_secrets", "SecretList",
                           Filters=[{"Key": "name", "Values": [prefix]}])
        return sorted(s["Name"][len(prefix):] for s in listed if s["Name"].startswith(prefix))

    def database_url(self):
        """Host, port and the pgbouncer flag of DATABASE_URL - parsed here, so the password never leaves."""
        sm = self.client("secretsmanager")
        value = aws_read(self.module, sm, "read the DATABASE_URL secret", "get_secret_value",
                         missing=("ResourceNotFoundException",), SecretId="%s/app/DATABASE_URL" % self.p["name"])
        if not value:
            return {}
        url = urlsplit(value.get("SecretString") or "")
        query = parse_qs(url.query)
        return {"scheme": url.scheme, "host": url.hostname, "port": url.port, "database": url.path.lstrip("/"),
                "pgbouncer": query.get("pgbouncer") == ["true"], "sslmode": (query.get("sslmode") or [None])[0]}

    def web_environment(self, services):
        arn = (services.get("web") or {}).get("task_definition")
        if not arn:
            return {}
        ecs = self.client("ecs")
        task = aws_read(self.module, ecs, "read task definition %s" % arn, "describe_task_definition",
                        taskDefinition=arn)["taskDefinition"]
        env = {}
        for container in task.get("containerDefinitions") or []:
            env.update((e["name"], e["value"]) for e in container.get("environment") or [])
        keep = ("NEXTAUTH_URL", "AWS_REGION", "CONTENT_BUCKET", "NODE_ENV")
        return dict((k, v) for k, v in env.items() if k in keep)

    def health_checks(self):
        found = read_health_checks(self.module, self.client("route53"))
        return [{"name": n, "id": c["id"], "fqdn": c["config"].get("FullyQualifiedDomainName"),
                 "type": c["config"].get("Type")} for n, c in sorted(found.items()) if n.startswith(self.p["name"])]

    def budget(self):
        budgets = self.client("budgets")
        account = self.account()
        name = self.p["name"] + "-monthly"
        found = aws_read(self.module, budgets, "read budget %s" % name, "describe_budget",
                         missing=("NotFoundException",), AccountId=account, BudgetName=name)
        if not found:
            return {}
        notes = aws_read(self.module, budgets, "read the notifications of %s" % name,
                         "describe_notifications_for_budget", AccountId=account, BudgetName=name)
        b = found["Budget"]
        return {"name": name, "limit": float(b["BudgetLimit"]["Amount"]), "unit": b["BudgetLimit"]["Unit"],
                "notifications": len(notes.get("Notifications") or [])}

    def account(self):
        if not hasattr(self, "_account"):
            self._account = aws_read(self.module, self.client("sts"), "read the account", "get_caller_identity")[
                "Account"]
        return self._account

    def waf(self, lb, dist):
        waf = self.client("wafv2", "us-east-1")
        regional = self.client("wafv2")
        logging = 0
        for client, scope in ((waf, "CLOUDFRONT"), (regional, "REGIONAL")):
            for acl in aws_read(self.module, client, "list web ACLs", "list_web_acls", Scope=scope)["WebACLs"]:
                if not acl["Name"].startswith(self.p["name"]):
                    continue
                conf = aws_read(self.module, client, "read the logging of %s" % acl["Name"],
                                "get_logging_configuration", missing=("WAFNonexistentItemException",),
                                ResourceArn=acl["ARN"])
                logging += 1 if conf else 0
        return {"regional_on_lb": lb.get("web_acl"), "logging": logging,
                "cloudfront_on_distribution": (dist.get("web_acl") or "").split("/")[-2] if dist.get("web_acl") else None}

    def backup_plan(self):
        backup = self.client("backup")
        name = self.p["name"] + "-daily"
        plans = aws_pages(self.module, backup, "list backup plans", "list_backup_plans", "BackupPlansList")
        ours = [pl for pl in plans if pl["BackupPlanName"] == name]
        if not ours:
            return {}
        plan = aws_read(self.module, backup, "read backup plan %s" % name, "get_backup_plan",
                        BackupPlanId=ours[0]["BackupPlanId"])["BackupPlan"]
        rules = plan.get("Rules") or []
        daily = [r for r in rules if re.match(r"^cron\(\S+ \S+ (\?|\*) \* (\?|\*) \*\)$", r.get("ScheduleExpression", ""))]
        copies = [c["DestinationBackupVaultArn"].split(":")[3] for r in rules for c in r.get("CopyActions") or []]
        return {"name": name, "daily": bool(daily),
                "retention_days": max([(r.get("Lifecycle") or {}).get("DeleteAfterDays", 0) for r in rules] or [0]),
                "copy_region": copies[0] if copies else None, "schedules": [r.get("ScheduleExpression") for r in rules]}

    def replication(self):
        s3 = self.client("s3")
        account = self.account()
        out = {}
        for kind in ("content", "static"):
            bucket = "%s-%s-%s" % (self.p["name"], kind, account)
            conf = aws_read(self.module, s3, "read the replication of %s" % bucket, "get_bucket_replication",
                            missing=("ReplicationConfigurationNotFoundError", "NoSuchBucket"), Bucket=bucket)
            rules = ((conf or {}).get("ReplicationConfiguration") or {}).get("Rules") or []
            dest = rules[0]["Destination"]["Bucket"].split(":")[-1] if rules else None
            region = None
            if dest:
                where = aws_read(self.module, s3, "locate bucket %s" % dest, "get_bucket_location",
                                 missing=("NoSuchBucket",), Bucket=dest) or {}
                region = where.get("LocationConstraint") or ("us-east-1" if where else None)
            out[bucket] = {"enabled": bool(rules) and rules[0].get("Status") == "Enabled", "destination": dest,
                           "region": region}
        return out

    def content_bucket(self):
        s3 = self.client("s3")
        bucket = "%s-content-%s" % (self.p["name"], self.account())
        found = aws_read(self.module, s3, "read bucket %s" % bucket, "head_bucket", missing=("404", "NoSuchBucket"),
                         Bucket=bucket)
        return {"name": bucket, "exists": found is not None}

    def trail(self):
        ct = self.client("cloudtrail")
        trails = [t for t in aws_read(self.module, ct, "list trails", "describe_trails")["trailList"]
                  if t["Name"].startswith(self.p["name"])]
        if not trails:
            return {}
        trail = trails[0]
        status = aws_read(self.module, ct, "read the status of trail %s" % trail["Name"], "get_trail_status",
                          Name=trail["TrailARN"])
        return {"name": trail["Name"], "multi_region": trail.get("IsMultiRegionTrail"),
                "validation": trail.get("LogFileValidationEnabled"), "logging": status.get("IsLogging")}

    def repositories(self):
        ecr = self.client("ecr")
        repos = aws_pages(self.module, ecr, "list repositories", "describe_repositories", "repositories")
        prefix = self.p["name"].lower() + "/"
        return dict((r["repositoryName"], bool((r.get("imageScanningConfiguration") or {}).get("scanOnPush")))
                    for r in repos if r["repositoryName"].startswith(prefix))

    def drill(self):
        path = self.module.params.get("drill_record")
        if not path or not os.path.exists(path):
            return None
        try:
            with open(path) as f:
                record = json.load(f)
        except (OSError, ValueError) as e:
            return {"ok": False, "minutes": None, "error": "unreadable drill record %s: %s" % (path, e)}
        return dict((k, record.get(k)) for k in ("ok", "minutes", "finished", "instance", "restore_point", "checks"))

    def iam_policies(self):
        """The inline policies of the launch's roles (C(<name>-*)), as {name, kind, document}, for the least-privilege
        lint the role runs (filter iam_policies_problems); an AWS managed policy granting everything is named too."""
        iam = self.client("iam")
        out = []
        for role in aws_pages(self.module, iam, "list roles", "list_roles", "Roles", token="Marker", next_token="Marker"):
            if not role["RoleName"].startswith(self.p["name"] + "-"):
                continue
            for policy in aws_pages(self.module, iam, "list the policies of %s" % role["RoleName"], "list_role_policies",
                                    "PolicyNames", token="Marker", next_token="Marker", RoleName=role["RoleName"]):
                doc = aws_read(self.module, iam, "read policy %s of %s" % (policy, role["RoleName"]), "get_role_policy",
                               RoleName=role["RoleName"], PolicyName=policy)["PolicyDocument"]
                if not isinstance(doc, dict):
                    doc = json.loads(doc)
                out.append({"name": "%s/%s" % (role["RoleName"], policy), "kind": "identity", "document": doc})
            for attached in aws_pages(self.module, iam, "list the managed policies of %s" % role["RoleName"],
                                      "list_attached_role_policies", "AttachedPolicies", token="Marker",
                                      next_token="Marker", RoleName=role["RoleName"]):
                if attached["PolicyName"] in ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess"):
                    out.append({"name": "%s/%s" % (role["RoleName"], attached["PolicyName"]), "kind": "identity",
                                "document": {"Version": "2012-10-17", "Statement": [
                                    {"Effect": "Allow", "Action": "*", "Resource": "*"}]}})
        return out

    def read(self):
        seen = {"zone": self.zone(), "certificates": self.certificates(), "load_balancer": self.load_balancer(),
                "distribution": self.distribution(), "services": self.services(), "database": self.database(),
                "redis": self.redis(), "secrets": self.secrets(), "database_url": self.database_url(),
                "alarms": self.alarms(), "dashboards": self.dashboards(), "topic": self.topic(),
                "event_rules": self.event_rules(), "health_checks": self.health_checks(), "budget": self.budget(),
                "backup_plan": self.backup_plan(), "replication": self.replication(),
                "content_bucket": self.content_bucket(), "trail": self.trail(), "repositories": self.repositories(),
                "drill": self.drill()}
        seen["web_environment"] = self.web_environment(seen["services"])
        seen["waf"] = self.waf(seen["load_balancer"], seen["distribution"])
        return seen


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        domain=dict(type="str", required=True),
        subdomains=dict(type="list", elements="str", default=["api", "ws", "stream"]),
        certificate_regions=dict(type="list", elements="str", default=["us-east-1"]),
        dr_region=dict(type="str", required=True),
        services=dict(type="list", elements="str", default=["web", "ws", "stream", "pgbouncer"]),
        min_tasks=dict(type="int", default=2),
        admin_emails=dict(type="list", elements="str", default=[]),
        secret_keys=dict(type="list", elements="str", default=[], no_log=False),
        pooler_host=dict(type="str", required=True),
        pooler_port=dict(type="int", default=6432),
        budget=dict(type="float", required=True),
        backup_retention_days=dict(type="int", default=30),
        health_check_names=dict(type="list", elements="str", default=[]),
        restore_minutes=dict(type="float", default=30),
        drill_record=dict(type="path"),
        scale_out_seconds=dict(type="int", default=120),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    bad = problems(p)
    if bad:
        module.fail_json(msg="validate_infrastructure: " + "; ".join(bad) + ". Nothing was read.")
    reader = Reader(module)
    seen = reader.read()
    asked = dict(p, domain=p["domain"].lower().rstrip("."), region=module.region, budget=p["budget"])
    cases = infrastructure_cases(seen, asked)
    counted = [c for c in cases if c["status"] != "not_run"]
    passed = len([c for c in counted if c["status"] == "pass"])
    summary = {"pass": passed, "fail": len(counted) - passed, "not_run": len(cases) - len(counted),
               "rate": round(100.0 * passed / len(counted), 1) if counted else 0.0}
    module.exit_json(changed=False, cases=cases, summary=summary, policies=reader.iam_policies())


if __name__ == "__main__":
    main()
