"""route53_health_checks' planner on plain dicts: a search string removed is cleared in place, tags are only added
where missing, and a check of another prefix or not made by the module is never purged."""

from ansible_collections.directfanz.launch.plugins.modules import route53_health_checks as M


def params(**extra):
    check = {"name": "api", "fqdn": "api.directfanz.io", "path": "/health", "port": 443, "search_string": "",
             "request_interval": 30, "failure_threshold": 3}
    return dict({"prefix": "launch", "checks": [check], "tags": {"project": "directfanz"}, "purge": True}, **extra)


def seen(config, tags=None, managed=True):
    tags = dict({"Name": "launch-api", "managed-by": "directfanz.launch", "project": "directfanz"}, **(tags or {}))
    return {"id": "hc-1", "version": 4, "config": config, "tags": tags, "managed": managed}


BASE = {"Type": "HTTPS", "FullyQualifiedDomainName": "api.directfanz.io", "Port": 443, "ResourcePath": "/health",
        "RequestInterval": 30, "FailureThreshold": 3, "EnableSNI": True, "Disabled": False, "Inverted": False}


def test_the_same_check_plans_nothing():
    plan, ids = M.plan_checks(params(), {"launch-api": seen(dict(BASE))})
    assert plan.steps == [] and ids == {"api": "hc-1"}


def test_a_type_change_replaces_and_an_update_carries_the_version():
    plan, ids = M.plan_checks(params(), {"launch-api": seen(dict(BASE, Type="HTTPS_STR_MATCH", SearchString="ok"))})
    assert [s["op"] for s in plan.steps] == ["delete_health_check", "create_health_check", "change_tags_for_resource"]
    plan, ids = M.plan_checks(params(), {"launch-api": seen(dict(BASE, FailureThreshold=5))})
    assert plan.steps[0]["kwargs"] == {"HealthCheckId": "hc-1", "HealthCheckVersion": 4, "FailureThreshold": 3}


def test_missing_tags_are_added_and_foreign_checks_are_never_purged():
    observed = {"launch-api": seen(dict(BASE), tags={"project": "other"}),
                "launch-old": dict(seen(dict(BASE)), id="hc-2"),
                "launch-manual": dict(seen(dict(BASE), managed=False), id="hc-3"),
                "other-web": dict(seen(dict(BASE)), id="hc-4")}
    plan, unused = M.plan_checks(params(), observed)
    assert plan.actions == ["tag health check launch-api", "delete health check launch-old (no longer listed)"]
    assert plan.steps[0]["kwargs"]["AddTags"] == [{"Key": "project", "Value": "directfanz"}]
