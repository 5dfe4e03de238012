"""The infrastructure cases (module_utils/validate_infra.py) and the validate filters, on dicts: what passes, what fails
and why, and that every case is in the shape the report files by criterion."""

from __future__ import annotations

import copy

import pytest

from plugins.filter import validate as F
from plugins.module_utils import validate_infra as V

DOMAIN = "example.com"
LB = "ex-alb-1.us-east-1.elb.amazonaws.com"
DIST = "d111.cloudfront.net"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ex-alerts"


def record(name, rtype, values=(), alias=None, failover=None):
    return {"name": name, "type": rtype, "values": list(values), "alias": alias, "failover": failover, "set": None}


def healthy():
    """What the module reads from a launch that did everything asked."""
    servers = ["ns-1.awsdns-1.com.", "ns-2.awsdns-2.net.", "ns-3.awsdns-3.org.", "ns-4.awsdns-4.co.uk."]
    records = [record(DOMAIN + ".", "NS", servers),
               record("_x." + DOMAIN + ".", "CNAME", ["_y.acm-validations.aws."]),
               record(DOMAIN + ".", "A", alias=DIST + "."), record("www." + DOMAIN + ".", "A", alias=DIST + "."),
               record("api." + DOMAIN + ".", "A", alias="dualstack." + LB + ".", failover="PRIMARY"),
               record("api." + DOMAIN + ".", "A", alias="dmaint.cloudfront.net.", failover="SECONDARY"),
               record("ws." + DOMAIN + ".", "A", alias="dualstack." + LB + "."),
               record("stream." + DOMAIN + ".", "A", alias="dualstack." + LB + ".")]
    app = {"status": "ACTIVE", "desired": 2, "scalable": {"min": 2, "max": 10}, "policies": ["cpu", "spike"],
           "rollback": True, "reaction_seconds": 120, "policy_details": [{"name": "spike", "reaction_seconds": 120}]}
    return {
        "zone": {"id": "Z1", "name": DOMAIN + ".", "private": False, "records": records,
                 "name_servers": ["ns-1.awsdns-1.com", "ns-2.awsdns-2.net", "ns-3.awsdns-3.org", "ns-4.awsdns-4.co.uk"]},
        "certificates": {"us-east-1": {"arn": CERT, "status": "ISSUED", "type": "AMAZON_ISSUED",
                                       "sans": sorted(["*." + DOMAIN, DOMAIN]), "validation_method": "DNS",
                                       "renewal_eligibility": "ELIGIBLE",
                                       "validation_records": [{"name": "_x." + DOMAIN + ".",
                                                               "value": "_y.acm-validations.aws."}]}},
        "load_balancer": {"dns_name": LB, "listeners": {"443": {"protocol": "HTTPS", "certificates": [CERT]}},
                          "host_rules": {"api." + DOMAIN: "ex-api", "ws." + DOMAIN: "ex-ws",
                                         "stream." + DOMAIN: "ex-stream"}, "web_acl": "ex-regional"},
        "distribution": {"id": "E1", "domain_name": DIST, "enabled": True, "certificate": CERT,
                         "web_acl": "arn:aws:wafv2:us-east-1:1:global/webacl/ex-cloudfront/1",
                         "price_class": "PriceClass_All", "behaviors": [{"path": "*", "cached": False},
                                                                        {"path": "/static/*", "cached": True}]},
        "services": {"web": dict(app), "ws": dict(app), "stream": dict(app), "pgbouncer": {"status": "ACTIVE"}},
        "database": {"engine": "postgres", "backup_retention": 30},
        "redis": {"automatic_failover": "enabled", "members": 2},
        "secrets": ["NEXTAUTH_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SENDGRID_API_KEY", "DATABASE_URL"],
        "database_url": {"host": "pgbouncer.ex.internal", "port": 6432, "pgbouncer": True},
        "web_environment": {"NEXTAUTH_URL": "https://" + DOMAIN, "CONTENT_BUCKET": "ex-content"},
        "content_bucket": {"exists": True},
        "alarms": [{"name": "ex-ops-%s" % n, "namespace": n, "metric": m, "actions": [TOPIC]} for n, m in (
            ("AWS/ApplicationELB", "TargetResponseTime"), ("AWS/ECS", "CPUUtilization"), ("AWS/RDS", "CPUUtilization"),
            ("AWS/ElastiCache", "CPUUtilization"), ("AWS/CloudFront", "5xxErrorRate"))]
        + [{"name": "ex-web-spike", "namespace": "AWS/ECS", "metric": "CPUUtilization", "actions": ["arn:policy"]}],
        "dashboards": ["ex-operations"],
        "topic": {"arn": TOPIC, "subscriptions": [{"protocol": "email", "endpoint": "ops@example.com"}]},
        "event_rules": [{"name": "ex-acm", "sources": ["aws.acm"], "targets": [TOPIC]},
                        {"name": "ex-backup", "sources": ["aws.backup"], "targets": [TOPIC]},
                        {"name": "ex-images", "sources": ["aws.inspector2"], "targets": [TOPIC]}],
        "health_checks": [{"fqdn": n} for n in (DOMAIN, "api." + DOMAIN, "ws." + DOMAIN, "stream." + DOMAIN)],
        "budget": {"limit": 150.0, "notifications": 3},
        "waf": {"regional_on_lb": "ex-regional", "cloudfront_on_distribution": "ex-cloudfront", "logging": 2},
        "backup_plan": {"name": "ex-daily", "daily": True, "retention_days": 30, "copy_region": "us-west-2"},
        "replication": {"ex-content": {"enabled": True, "region": "us-west-2"}},
        "drill": {"ok": True, "minutes": 4.2},
        "trail": {"name": "ex-trail", "multi_region": True, "logging": True},
        "repositories": {"ex/web": True},
    }


ASKED = {"domain": DOMAIN, "name": "ex", "region": "us-east-1", "dr_region": "us-west-2",
         "subdomains": ["api", "ws", "stream"], "certificate_regions": ["us-east-1"],
         "services": ["web", "ws", "stream", "pgbouncer"], "min_tasks": 2, "admin_emails": ["ops@example.com"],
         "secret_keys": ["NEXTAUTH_SECRET", "STRIPE_SECRET_KEY", "DATABASE_URL"], "pooler_host": "pgbouncer.ex.internal",
         "pooler_port": 6432, "budget": 150, "backup_retention_days": 30,
         "health_check_names": [DOMAIN, "api." + DOMAIN, "ws." + DOMAIN, "stream." + DOMAIN], "restore_minutes": 30,
         "scale_out_seconds": 120}


def by_id(seen, asked=None):
    return {c["id"]: c for c in V.infrastructure_cases(seen, asked or ASKED)}


def test_a_launch_that_did_everything_asked_passes_every_case():
    cases = V.infrastructure_cases(healthy(), ASKED)
    assert [c for c in cases if c["status"] != "pass"] == []
    assert {c["suite"] for c in cases} == {"infrastructure"}
    assert len({c["id"] for c in cases}) == len(cases)
    covered = {c["criterion"] for c in cases}
    assert covered >= {"1.1", "1.2", "1.5", "2.1", "2.2", "2.3", "2.4", "2.5", "3.1", "3.2", "3.3", "3.4", "3.5",
                       "4.1", "4.2", "4.3", "4.4", "6.1", "6.2", "6.3", "6.4", "6.5", "7.1", "7.2", "7.3", "7.4",
                       "7.5", "8.3", "8.4", "8.5", "9.4", "9.5"}


@pytest.mark.parametrize("change, case_id, words", [
    (lambda s: s["zone"].update(name_servers=s["zone"]["name_servers"][:3]), "route53 name servers example.com",
     "not four servers"),
    (lambda s: s["load_balancer"]["host_rules"].pop("ws." + DOMAIN), "route53 alias ws.example.com", "host rule missing"),
    (lambda s: s["certificates"]["us-east-1"].update(status="PENDING_VALIDATION"), "acm wildcard us-east-1",
     "PENDING_VALIDATION"),
    (lambda s: s["zone"]["records"].pop(1), "acm dns validation us-east-1", "_x.example.com."),
    (lambda s: s["services"]["web"].update(scalable={"min": 1, "max": 10}), "ecs service web", "scaling"),
    (lambda s: s["database_url"].update(port=5432), "DATABASE_URL through the pooler", "not the pooler"),
    (lambda s: s["web_environment"].update(NEXTAUTH_URL="http://localhost:3000"), "NEXTAUTH_URL", "localhost"),
    (lambda s: s["alarms"][0].update(actions=[]), "alerts reach the administrators", "without the topic 1"),
    (lambda s: s["backup_plan"].update(retention_days=7), "daily backups", "retention 7 days"),
    (lambda s: s["replication"]["ex-content"].update(region="us-east-1"), "s3 cross-region replication", "ex-content"),
    (lambda s: s["services"]["ws"].update(rollback=False), "ecs rollback", "ws"),
    (lambda s: s["drill"].update(minutes=41.0), "restore drill", "41.0 minutes"),
    (lambda s: s["services"]["web"].update(reaction_seconds=240), "autoscaling web", "240 s"),
    (lambda s: s["trail"].update(logging=False), "cloudtrail", "logging False"),
    (lambda s: s["repositories"].update({"ex/ws": False}), "image scanning", "ex/ws"),
])
def test_each_gap_fails_its_own_case_saying_what_is_wrong(change, case_id, words):
    seen = healthy()
    change(seen)
    cases = by_id(seen)
    failing = [k for k, c in cases.items() if c["status"] == "fail"]
    # a validation CNAME gone from the zone also stops the renewal; every other gap fails its own case only
    also = ["acm renewal us-east-1"] if case_id == "acm dns validation us-east-1" else []
    assert failing == [case_id] + also, failing
    assert words in cases[case_id]["message"], cases[case_id]["message"]


def test_data_loss_and_security_cases_are_critical():
    cases = by_id(healthy())
    critical = {k for k, c in cases.items() if c["critical"]}
    assert {"daily backups", "s3 cross-region replication", "restore drill", "cloudtrail", "waf protection and logs",
            "secrets from the owner's file", "rds postgres + pgbouncer"} <= critical


def test_moto_s_ineligible_renewal_is_tolerated_only_for_a_certificate_the_launch_serves_with():
    seen = healthy()
    seen["certificates"]["us-east-1"]["renewal_eligibility"] = "INELIGIBLE"
    assert by_id(seen)["acm renewal us-east-1"]["status"] == "pass"
    seen["load_balancer"]["listeners"]["443"]["certificates"] = []
    seen["distribution"]["certificate"] = None
    assert by_id(seen)["acm renewal us-east-1"]["status"] == "fail"


def test_no_drill_record_is_not_run_not_passed():
    seen = healthy()
    seen["drill"] = None
    case = by_id(seen)["restore drill"]
    assert case["status"] == "not_run" and "restore_drill.yml" in case["message"]


def test_an_empty_account_fails_without_crashing():
    cases = V.infrastructure_cases({}, ASKED)
    assert cases and all(c["status"] in ("fail", "not_run") for c in cases)


def test_encryption_and_policy_cases():
    result = {"items": [{"kind": "bucket", "name": "b1", "aspect": "at rest", "verdict": "ok", "detail": "kms"},
                        {"kind": "topic", "name": "t1", "aspect": "at rest", "verdict": "fail", "detail": "none"}],
              "failures": ["topic t1 (at rest): none"]}
    cases = F.validate_encryption_cases({"results": [result]})
    assert [(c["id"], c["status"], c["critical"], c["criterion"]) for c in cases] == [
        ("encryption bucket b1", "pass", True, "9.2"), ("encryption topic t1", "fail", True, "9.2")]
    policies = [{"name": "ex-web-task/s3"}, {"name": "ex-ws-task/logs"}]
    cases = F.validate_policy_cases(policies, ["ex-ws-task/logs: Action * on Resource *"])
    assert [c["status"] for c in cases] == ["pass", "fail"] and "Resource *" in cases[1]["message"]


def test_sign_offs_need_a_named_approver_and_a_date_that_is_not_in_the_future():
    good = [{"area": "marketing", "by": "A. Person", "date": "2026-11-30"},
            {"area": "legal", "by": "B. Counsel", "date": "2026-11-29"}]
    assert [c["status"] for c in F.validate_signoff_cases(good, today="2026-12-01")] == ["pass", "pass"]
    for broken, words in (([good[1]], "no marketing sign-off"),
                          ([dict(good[0], by=""), good[1]], "names no approver"),
                          ([dict(good[0], date="30/11/2026"), good[1]], "not YYYY-MM-DD"),
                          ([dict(good[0], date="2027-01-01"), good[1]], "in the future")):
        cases = {c["id"]: c for c in F.validate_signoff_cases(copy.deepcopy(broken), today="2026-12-01",
                                                              source="signoffs.yml")}
        assert cases["sign-off marketing"]["status"] == "fail" and words in cases["sign-off marketing"]["message"]
        assert cases["sign-off marketing"]["criterion"] == "10.4" and cases["sign-off legal"]["criterion"] == "10.2"


def test_the_secret_keys_are_the_required_ones_and_the_composed_urls():
    schema = [{"key": "A", "required": True}, {"key": "B"}, {"key": "C", "required": True, "forbidden": "no"},
              {"key": "DATABASE_URL", "composed": "x"}]
    assert F.validate_secret_keys(schema) == ["A", "DATABASE_URL", "DIRECT_URL", "REDIS_URL"]


def test_an_encryption_report_that_could_not_run_is_a_failing_critical_case():
    cases = F.validate_encryption_cases({"results": [{"failed": True, "item": "us-west-2", "msg": "timed out"}]})
    assert [(c["criterion"], c["status"], c["critical"], c["message"]) for c in cases] == [
        ("9.2", "fail", True, "timed out")]
