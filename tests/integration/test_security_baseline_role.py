"""The security_baseline role through a small playbook on a sandbox built by site.yml (every phase): --check writes
nothing; a run lints the policies the module would write (a check-mode plan, then iam_policies_problems) and keeps
the trail, GuardDuty, EBS encryption by default, the image-finding rules to the administrators' topic, and runs the
encryption check; a second run changes nothing and makes no write call (recording proxy); with the check enforced the
run passes - everything green, the alerts topic and the log groups under the operations key; bad input stops the role
before any AWS call."""

import json

import pytest

from conftest import ROOT, Recorder, playbook
from conftest import aws_client as client

ACCOUNT = "123456789012"
NAME = "directfanz-sandbox"
TOPIC = "arn:aws:sns:us-east-1:%s:%s-alerts" % (ACCOUNT, NAME)
PLAY = """
- name: Run the security baseline alone
  hosts: launch_controller
  gather_facts: false
  environment: "{{ launch_aws_environment | default({}) }}"
  vars_files:
    - %s/playbooks/vars/launch_defaults.yml
  module_defaults:
    directfanz.launch.security_baseline: "{{ launch_aws_module_defaults }}"
    directfanz.launch.encryption_report: "{{ launch_aws_module_defaults }}"
    directfanz.launch.alert_topic: "{{ launch_aws_module_defaults }}"
    directfanz.launch.launch_logging: "{{ launch_aws_module_defaults }}"
  tasks:
    - name: Keep the security baseline
      ansible.builtin.import_role:
        name: directfanz.launch.security_baseline
      tags: [operations]
""" % ROOT

# What the other phases leave unencrypted today: nothing. The administrators' topic and the services', the pooler's,
# the db-setup task's and the WAF's log groups are under the operations key (docs/security-baseline.md).
UNENCRYPTED_TODAY = []
OPERATIONS_KEY_ITEMS = ["topic %s-alerts (at rest)" % NAME] + ["log group %s (at rest)" % g for g in (
    "/%s/db-setup" % NAME, "/%s/pgbouncer" % NAME, "/%s/stream" % NAME, "/%s/web" % NAME, "/%s/ws" % NAME,
    "aws-waf-logs-%s-cloudfront" % NAME, "aws-waf-logs-%s-regional" % NAME)]


class Recording(Recorder):
    """The recorder, naming REST calls (S3, GuardDuty) by method: GET/HEAD read, anything else writes."""

    def canned(self, method, path, name, body):
        if name == "?":
            self.calls[-1] = ("Get" if method in ("GET", "HEAD") else method) + " " + path.split("?")[0]
        return None


@pytest.fixture()
def built(site_without_operations):
    """Every phase of site.yml but operations (conftest's site_without_operations: one build shared with the other
    operations roles' tests; this file runs first of them, so nothing of the baseline exists yet)."""
    return site_without_operations


def run(sandbox, tmp_path, *args, via=None, extra=None):
    book = tmp_path / "security.yml"
    book.write_text(PLAY)
    values = dict({"security_baseline_encryption_enforce": False}, **(extra or {}))
    if via is not None:
        values["launch_aws_endpoint_url"] = via.url  # every AWS call of the run through the recording proxy
    return playbook(sandbox, "-e", json.dumps(values), *args, playbook_file=str(book))


def test_check_then_run_then_nothing_to_do(built, tmp_path):
    trails_before = client(built, "cloudtrail").describe_trails()["trailList"]
    proxy = Recording(built["aws_endpoint_url"])
    try:
        checked = run(built, tmp_path, "--check", via=proxy)
        assert checked.rc == 0 and checked.failed == 0, checked.out
        assert proxy.writes() == [], proxy.calls
    finally:
        proxy.close()
    assert client(built, "cloudtrail").describe_trails()["trailList"] == trails_before

    first = run(built, tmp_path, "-v")
    assert first.rc == 0 and first.failed == 0, first.out
    trail = client(built, "cloudtrail").get_trail(Name="%s-trail" % NAME)["Trail"]
    assert trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"]
    assert client(built, "cloudtrail").get_trail_status(Name="%s-trail" % NAME)["IsLogging"] is True
    assert client(built, "guardduty").list_detectors()["DetectorIds"] != []
    assert client(built, "ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True
    events = client(built, "events")
    for rule in ("%s-image-scan-findings" % NAME, "%s-inspector-image-findings" % NAME):
        assert [t["Arn"] for t in events.list_targets_by_rule(Rule=rule)["Targets"]] == [TOPIC]
    pattern = json.loads(events.describe_rule(Name="%s-image-scan-findings" % NAME)["EventPattern"])
    assert pattern["detail"]["finding-severity-counts"]["$or"] == [{"CRITICAL": [{"numeric": [">", 0]}]},
                                                                   {"HIGH": [{"numeric": [">", 0]}]}]
    text = " ".join(first.out.split())
    assert "ok rds instance %s-db (at rest)" % NAME in text and "ok listener %s-alb:443 (in transit)" % NAME in text
    assert "ok log group /aws/cloudtrail/%s (at rest)" % NAME in text

    proxy = Recording(built["aws_endpoint_url"])
    try:
        second = run(built, tmp_path, via=proxy)
        assert second.rc == 0 and second.changed == 0, second.out
        assert proxy.writes() == [] and "GetTrail" in proxy.calls and "GetEventSelectors" in proxy.calls, proxy.calls
    finally:
        proxy.close()


def test_the_enforced_encryption_check_lists_everything_green(built, tmp_path):
    result = run(built, tmp_path, extra={"security_baseline_encryption_enforce": True})
    assert result.rc == 0 and result.failed == 0, result.out
    text = " ".join(result.out.split())
    assert UNENCRYPTED_TODAY == [] and "not encrypted as required" not in text
    # the items the operations key fixed are reported ok, with the key they are under
    for name in OPERATIONS_KEY_ITEMS:
        assert "ok %s - encrypted with " % name in text, name
    assert "ok topic %s-alerts (at rest) - encrypted with alias/%s-operations" % (NAME, NAME) in text
    # the static site's bucket is exempt by default (SSE-S3 behind CloudFront), the content bucket uses the data key
    assert "aws-managed bucket %s-static-%s (at rest)" % (NAME, ACCOUNT) in text


def test_bad_input_stops_the_role_before_any_aws_call(built, tmp_path):
    proxy = Recording(built["aws_endpoint_url"])
    try:
        result = run(built, tmp_path, via=proxy, extra={"security_baseline_trail_log_retention_days": 100})
        assert result.rc != 0, result.out
        assert "trail_log_retention_days 100 is not accepted; accepted: one of 1, 3, 5" in " ".join(result.out.split())
        assert proxy.calls == [], proxy.calls
    finally:
        proxy.close()
