"""The health checks and the alarms roles through a small playbook against a sandbox site.yml built (every phase but
operations): the alarms role finds what was built by itself (alarm_targets), derives the thresholds, keeps 45 alarms
(4 on the health checks) and the dashboard in one call per region; every alarm's actions are the alert topic; a
second run and `--tags operations` alone change nothing and make no write call (the recording proxy); --check with a
changed threshold writes nothing; a memory threshold above the instance's RAM stops the role before any write; the
other phases' alarms under <launch_name>- are never purged; check mode on an empty account plans around what is
missing and a real run there stops naming the phases."""

import json

import pytest

from conftest import ROOT, Recorder, playbook
from conftest import aws_client as client

TOPIC = "arn:aws:sns:us-east-1:123456789012:directfanz-sandbox-alerts"
PREFIX = "directfanz-sandbox-ops-"
PLAY = """
- name: Run the operations phase's alarms alone
  hosts: launch_controller
  gather_facts: false
  environment: "{{ launch_aws_environment | default({}) }}"
  vars_files:
    - %s/playbooks/vars/launch_defaults.yml
  module_defaults:
    directfanz.launch.alarm_targets: "{{ launch_aws_module_defaults }}"
    directfanz.launch.cloudwatch_alarms: "{{ launch_aws_module_defaults }}"
    directfanz.launch.cloudfront_metrics: "{{ launch_aws_module_defaults }}"
    directfanz.launch.route53_health_checks: "{{ launch_aws_module_defaults }}"
  tasks:
    - name: Keep the health checks (their alarms are the alarms role's)
      ansible.builtin.import_role:
        name: directfanz.launch.health_checks
      tags: [operations]
    - name: Keep the alarms and the dashboard
      ansible.builtin.import_role:
        name: directfanz.launch.alarms
      tags: [operations]
""" % ROOT


class Recording(Recorder):
    """The recorder, also naming CloudFront's REST calls (which it lists as "?"): a GET counts as a read, any other
    method as a write, so a CloudFront write would still fail the "no write call" checks."""

    def canned(self, method, path, name, body):
        if name == "?":
            self.calls[-1] = ("Get" if method in ("GET", "HEAD") else method) + " " + path.split("?")[0]
        return None


@pytest.fixture()
def built(site_without_operations):
    """A sandbox on which site.yml built every phase but operations (shared with the other operations roles' tests)."""
    return site_without_operations


def run(sandbox, tmp_path, *args, via=None, extra=None):
    book = tmp_path / "operations.yml"
    book.write_text(PLAY)
    values = dict(extra or {})
    if via is not None:
        values["launch_aws_endpoint_url"] = via.url  # every AWS call of the run through the recording proxy
    return playbook(sandbox, "-e", json.dumps(values), *args, playbook_file=str(book))


def ours(sandbox):
    found = client(sandbox, "cloudwatch").describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]
    return dict((a["AlarmName"], a) for a in found)


def test_the_role_keeps_alarms_derived_from_what_was_built_and_a_second_run_writes_nothing(built, tmp_path):
    others = sorted(a["AlarmName"] for a in client(built, "cloudwatch").describe_alarms()["MetricAlarms"])
    first = run(built, tmp_path)
    assert first.rc == 0 and first.failed == 0 and first.changed == 2, first.out  # health checks, alarms
    alarms = ours(built)
    assert len(alarms) == 45, sorted(alarms)
    checks = dict((t["ResourceId"], dict((x["Key"], x["Value"]) for x in t["Tags"])) for t in client(
        built, "route53").list_tags_for_resources(ResourceType="healthcheck", ResourceIds=[
            c["Id"] for c in client(built, "route53").list_health_checks()["HealthChecks"]])["ResourceTagSets"])
    status = alarms[PREFIX + "health-api"]
    assert checks[status["Dimensions"][0]["Value"]]["Name"] == "directfanz-sandbox-api", checks
    assert (status["Namespace"], status["MetricName"], status["TreatMissingData"]) == (
        "AWS/Route53", "HealthCheckStatus", "breaching")
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [TOPIC] and alarm["OKActions"] == [TOPIC], alarm["AlarmName"]
    memory = alarms[PREFIX + "rds-freeable-memory"]
    assert memory["Threshold"] == pytest.approx(0.1 * 4 * 1024 ** 3)  # 10% of db.t4g.medium's 4 GiB
    assert memory["Dimensions"] == [{"Name": "DBInstanceIdentifier", "Value": "directfanz-sandbox-db"}]
    assert alarms[PREFIX + "rds-free-storage"]["Threshold"] == pytest.approx(0.05 * 100 * 1024 ** 3)
    assert alarms[PREFIX + "alb-p95-response-time"]["ExtendedStatistic"] == "p95"
    # the ACL's rate limit per 5 minutes: the sandbox's rule allows 2000 per 60 s (cloudfront_waf_rate_window)
    assert alarms[PREFIX + "waf-regional-blocked-spike"]["Threshold"] == 10000
    assert alarms[PREFIX + "cloudfront-cache-hit-rate"]["Threshold"] == 85
    assert "rds DatabaseConnections > 326 = 0.8 x max_connections 408" in first.out
    body = json.loads(client(built, "cloudwatch").get_dashboard(
        DashboardName="directfanz-sandbox-operations")["DashboardBody"])
    rows = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert len(rows) == 6 and rows[0].startswith("## Edge") and rows[-1].startswith("## Cache")
    # the other phases' alarms (certificate expiry, scaling) share <launch_name>- and are left alone
    assert sorted(a["AlarmName"] for a in client(built, "cloudwatch").describe_alarms()["MetricAlarms"]
                  if not a["AlarmName"].startswith(PREFIX)) == others

    proxy = Recording(built["aws_endpoint_url"])
    try:
        second = run(built, tmp_path, via=proxy)
        assert second.rc == 0 and second.changed == 0, second.out
        assert proxy.writes() == [] and "DescribeAlarms" in proxy.calls, proxy.calls
        proxy.calls.clear()
        alone = run(built, tmp_path, "--tags", "operations", via=proxy)
        assert alone.rc == 0 and alone.changed == 0 and proxy.writes() == [], alone.out
    finally:
        proxy.close()


def test_check_mode_with_a_new_threshold_reports_it_and_writes_nothing(built, tmp_path):
    assert run(built, tmp_path).rc == 0
    proxy = Recording(built["aws_endpoint_url"])
    try:
        result = run(built, tmp_path, "--check", "--diff", "-v", via=proxy,
                     extra={"alarms_thresholds": {"alb_p95_seconds": 0.3}})
        assert result.rc == 0 and result.changed == 1, result.out
        text = " ".join(result.out.split())
        # the description carries the threshold too; the dashboard's threshold line moves with it
        assert "update alarm directfanz-sandbox-ops-alb-p95-response-time (description; threshold 0.2 -> 0.3)" in text
        assert "update dashboard directfanz-sandbox-operations" in text and text.count("update alarm") == 1
        assert proxy.writes() == [], proxy.calls
    finally:
        proxy.close()
    assert ours(built)[PREFIX + "alb-p95-response-time"]["Threshold"] == 0.2


def test_a_memory_threshold_above_the_instances_ram_stops_before_any_write(built, tmp_path):
    proxy = Recording(built["aws_endpoint_url"])
    try:
        result = run(built, tmp_path, via=proxy, extra={"alarms_thresholds": {"rds_freeable_memory_bytes": 5000000000}})
        assert result.rc != 0, result.out
        assert "at or above the memory of db.t4g.medium (4.00 GiB)" in " ".join(result.out.split()), result.out
        assert proxy.writes() == [], proxy.calls
    finally:
        proxy.close()


def test_an_empty_account_is_planned_around_in_check_mode_and_stops_a_real_run(fresh, tmp_path):
    check = run(fresh, tmp_path, "--check")
    assert check.rc == 0 and check.failed == 0, check.out
    assert client(fresh, "cloudwatch").describe_alarms()["MetricAlarms"] == []
    real = run(fresh, tmp_path)
    assert real.rc != 0 and "no RDS instance found" in real.out and "run the data phase" in real.out, real.out
    assert client(fresh, "cloudwatch").list_dashboards()["DashboardEntries"] == []
