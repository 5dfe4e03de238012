"""route53_health_checks against the moto server through the recording proxy: check mode creates nothing, one run
makes each check and its tags, a second run writes nothing, a changed path is one UpdateHealthCheck, a changed
interval a delete and a create, a check no longer listed is deleted (one made by hand is not), bad input stops before
any call. moto does not evaluate health checks; the configuration is what is verified here."""

from conftest import aws_client as client
from conftest import module

PREFIX = "directfanz-sandbox"
CHECKS = [{"name": "apex", "fqdn": "directfanz.io", "path": "/api/health", "search_string": "ok"},
          {"name": "api", "fqdn": "api.directfanz.io", "path": "/health", "search_string": "ok"},
          {"name": "stream", "fqdn": "stream.directfanz.io", "path": "/health"}]


def checks(sandbox, *flags, via=None, **args):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"prefix": PREFIX, "checks": CHECKS, "tags": {"project": "directfanz"}, "region": "us-east-1",
                   "endpoint_url": endpoint, "access_key": "testing", "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("route53_health_checks", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def configs(sandbox):
    r53 = client(sandbox, "route53")
    out = {}
    for check in r53.list_health_checks()["HealthChecks"]:
        tags = r53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])["ResourceTagSet"]["Tags"]
        name = dict((t["Key"], t["Value"]) for t in tags).get("Name", "(untagged %s)" % check["Id"])
        out[name] = dict(check["HealthCheckConfig"], tags=dict((t["Key"], t["Value"]) for t in tags))
    return out


def test_check_mode_plans_every_check_and_creates_nothing(fresh, recorder):
    rc, out, result = checks(fresh, "--check", "--diff", via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"][0] == "create health check %s-apex: HTTPS_STR_MATCH https://directfanz.io:443/api/health " \
                                   "contains 'ok'" % PREFIX
    assert len(result["actions"]) == 6 and recorder.writes() == [] and configs(fresh) == {}
    assert result["checks"]["api"]["id"] == "(new health check %s-api)" % PREFIX


def test_one_run_makes_them_and_a_second_writes_nothing(fresh, recorder):
    rc, out, result = checks(fresh, via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert recorder.writes() == ["CreateHealthCheck", "ChangeTagsForResource"] * 3
    made = configs(fresh)
    assert sorted(made) == ["%s-apex" % PREFIX, "%s-api" % PREFIX, "%s-stream" % PREFIX]
    api = made["%s-api" % PREFIX]
    assert (api["Type"], api["FullyQualifiedDomainName"], api["Port"], api["ResourcePath"], api["SearchString"]) == (
        "HTTPS_STR_MATCH", "api.directfanz.io", 443, "/health", "ok")
    assert api["EnableSNI"] is True and api["RequestInterval"] == 30 and api["FailureThreshold"] == 3
    assert made["%s-stream" % PREFIX]["Type"] == "HTTPS"
    assert api["tags"] == {"Name": "%s-api" % PREFIX, "managed-by": "directfanz.launch", "project": "directfanz"}
    assert result["checks"]["api"]["id"] in [c["Id"] for c in client(fresh, "route53").list_health_checks()[
        "HealthChecks"]]
    recorder.calls.clear()
    rc, out, result = checks(fresh, via=recorder)
    assert rc == 0 and result["changed"] is False and recorder.writes() == [], out


def test_a_changed_path_is_updated_in_place_and_a_changed_interval_replaces_the_check(fresh, recorder):
    assert checks(fresh)[0] == 0
    before = configs(fresh)
    changed = [dict(CHECKS[0], path="/status"), dict(CHECKS[1], request_interval=10), CHECKS[2]]
    rc, out, result = checks(fresh, via=recorder, checks=changed)
    assert rc == 0, out
    assert result["actions"] == [
        "update health check %s-apex: ResourcePath '/api/health' -> '/status'" % PREFIX,
        "delete health check %s-api to make it again (RequestInterval cannot change)" % PREFIX,
        "create health check %s-api: HTTPS_STR_MATCH https://api.directfanz.io:443/health contains 'ok'" % PREFIX,
        "tag health check %s-api" % PREFIX]
    after = configs(fresh)
    assert after["%s-apex" % PREFIX]["ResourcePath"] == "/status" and after["%s-api" % PREFIX]["RequestInterval"] == 10
    assert len(after) == len(before) == 3
    recorder.calls.clear()
    assert checks(fresh, via=recorder, checks=changed)[2]["changed"] is False and recorder.writes() == []


def test_a_check_no_longer_listed_goes_and_one_made_by_hand_stays(fresh):
    assert checks(fresh)[0] == 0
    client(fresh, "route53").create_health_check(CallerReference="by-hand", HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": "example.org", "Port": 443, "ResourcePath": "/"})
    rc, out, result = checks(fresh, checks=CHECKS[:2])
    assert rc == 0 and result["actions"] == ["delete health check %s-stream (no longer listed)" % PREFIX], out
    left = configs(fresh)
    assert sorted(n for n in left if n.startswith(PREFIX)) == ["%s-apex" % PREFIX, "%s-api" % PREFIX]
    assert [c["FullyQualifiedDomainName"] for n, c in left.items() if n.startswith("(untagged")] == ["example.org"]


def test_bad_input_is_refused_before_any_call(fresh, recorder):
    bad = [dict(CHECKS[0], fqdn="not a host"), dict(CHECKS[1], request_interval=20),
           dict(CHECKS[2], path="health", failure_threshold=0), dict(CHECKS[2])]
    rc, out, result = checks(fresh, via=recorder, checks=bad)
    assert rc != 0 and "no AWS call was made" in result["msg"], out
    for text in ("fqdn 'not a host' is not a host name", "request_interval 20 is not accepted; accepted: 10 or 30",
                 "path 'health' is not accepted", "failure_threshold 0 is not accepted; accepted: 1-10",
                 "checks[3] (stream): the name is listed twice"):
        assert text in result["msg"], (text, result["msg"])
    assert recorder.operations() == []
