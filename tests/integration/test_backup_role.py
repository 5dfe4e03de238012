"""The backups role through a small playbook, `--tags operations` alone on a sandbox built by site.yml: the DR key
(rotation on), the AWS Backup service role (managed backup/restore policies only), both vaults and the daily plan with
its copy, the DR replicas of the content and static buckets with their replication, the EventBridge rules to the
administrators' topic (whose policy lets events.amazonaws.com publish) - all read back from moto; a second run
changes nothing and writes nothing (one site build: it takes a minute); --check on an empty account makes nothing; a
DR region equal to the primary stops the role before any call.

The event proof: moto's PutEvents fails outright (HTTP 500, "Expr not defined for Rule") when a matching rule targets
SNS - verified below - so the rule's own pattern, read back from moto, is put on a bus of its own with an SQS target
beside it; a failed backup job event is matched and delivered there, a completed one is not."""

import json
import time

import botocore.exceptions
import pytest
from conftest import ROOT, playbook
from conftest import aws_client as client
from test_backup_plan import RestRecorder

ACCOUNT = "123456789012"
NAME = "directfanz-sandbox"
PLAY = """
- name: Run the backups phase alone
  hosts: launch_controller
  gather_facts: false
  environment: "{{ launch_aws_environment | default({}) }}"
  vars_files:
    - %s/playbooks/vars/launch_defaults.yml
  module_defaults:
    group/amazon.aws.aws: "{{ launch_aws_module_defaults }}"
    group/directfanz.launch.aws: "{{ launch_aws_module_defaults }}"
    directfanz.launch.backup_plan: "{{ launch_aws_module_defaults }}"
    directfanz.launch.s3_replication: "{{ launch_aws_module_defaults }}"
  tasks:
    - name: Keep the backups, the replication and their alerts
      ansible.builtin.import_role:
        name: directfanz.launch.backups
      tags: [operations]
""" % ROOT


def run(sandbox, tmp_path, *args, via=None):
    book = tmp_path / "backups.yml"
    book.write_text(PLAY)
    extra = ("-e", json.dumps({"launch_aws_endpoint_url": via.url})) if via else ()
    return playbook(sandbox, "--tags", "operations", *extra, *args, playbook_file=str(book))


@pytest.fixture()
def rest_recorder(fresh):
    proxy = RestRecorder(fresh["aws_endpoint_url"])
    yield proxy
    proxy.close()


def prove_the_pattern(sandbox, pattern, event, other):
    """A bus of its own with the rule's pattern and an SQS target: ``event`` is delivered, ``other`` is not."""
    events, sqs = client(sandbox, "events"), client(sandbox, "sqs")
    bus = events.create_event_bus(Name="pattern-proof")["EventBusArn"]
    queue = sqs.create_queue(QueueName="pattern-proof")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="proof", EventBusName="pattern-proof", EventPattern=pattern)
    events.put_targets(Rule="proof", EventBusName="pattern-proof", Targets=[{"Id": "q", "Arn": arn}])
    delivered = []
    for entry in (event, other):
        answer = events.put_events(Entries=[dict(entry, EventBusName=bus)])
        assert answer["FailedEntryCount"] == 0, answer
        time.sleep(0.2)
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
        delivered.append([json.loads(m["Body"]) for m in messages])
    events.remove_targets(Rule="proof", EventBusName="pattern-proof", Ids=["q"])
    events.delete_rule(Name="proof", EventBusName="pattern-proof")
    events.delete_event_bus(Name="pattern-proof")
    sqs.delete_queue(QueueUrl=queue)
    return delivered


def failed_job(state="FAILED", detail_type="Backup Job State Change"):
    return {"Source": "aws.backup", "DetailType": detail_type, "Resources": [],
            "Detail": json.dumps({"backupJobId": "job-1", "backupVaultName": NAME, "state": state,
                                  "resourceType": "RDS", "statusMessage": "the role cannot be assumed"})}


def test_the_phase_alone_on_a_built_sandbox_builds_everything_and_the_rules_match(site_without_operations, tmp_path):
    fresh = site_without_operations  # every phase but the one this test runs alone
    first = run(fresh, tmp_path)
    assert first.rc == 0 and first.failed == 0 and first.changed >= 5, first.out[-4000:]
    assert "NOT verified" in first.out and "does not implement AWS Backup selections" in first.out

    kms = client(fresh, "kms", "us-west-2")
    dr_key = kms.describe_key(KeyId="alias/%s-dr" % NAME)["KeyMetadata"]
    assert dr_key["KeyManager"] == "CUSTOMER" and kms.get_key_rotation_status(KeyId=dr_key["KeyId"])["KeyRotationEnabled"]
    data_key = client(fresh, "kms").describe_key(KeyId="alias/%s-data" % NAME)["KeyMetadata"]["Arn"]

    iam = client(fresh, "iam")
    role = iam.get_role(RoleName="%s-backup" % NAME)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}
    attached = sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"])
    assert attached == ["arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
                        "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
                        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
                        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"]
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []

    primary = client(fresh, "backup").describe_backup_vault(BackupVaultName=NAME)
    dr = client(fresh, "backup", "us-west-2").describe_backup_vault(BackupVaultName=NAME)
    assert primary["EncryptionKeyArn"] == data_key and dr["EncryptionKeyArn"] == dr_key["Arn"]
    [plan] = client(fresh, "backup").list_backup_plans()["BackupPlansList"]
    rule = client(fresh, "backup").get_backup_plan(BackupPlanId=plan["BackupPlanId"])["BackupPlan"]["Rules"][0]
    assert rule["Lifecycle"] == {"DeleteAfterDays": 30} and rule["ScheduleExpression"] == "cron(0 5 ? * * *)"
    assert rule["CopyActions"][0]["DestinationBackupVaultArn"] == dr["BackupVaultArn"]

    s3w = client(fresh, "s3", "us-west-2")
    for kind in ("content", "static"):
        source = "%s-%s-%s" % (NAME, kind, ACCOUNT)
        replica = source + "-us-west-2"
        assert s3w.get_bucket_versioning(Bucket=replica)["Status"] == "Enabled"
        config = client(fresh, "s3").get_bucket_replication(Bucket=source)["ReplicationConfiguration"]
        assert config["Rules"][0]["Destination"]["Bucket"] == "arn:aws:s3:::" + replica

    events = client(fresh, "events")
    topic = "arn:aws:sns:us-east-1:%s:%s-alerts" % (ACCOUNT, NAME)
    rules = {r["Name"]: r for r in events.list_rules(NamePrefix=NAME)["Rules"]}
    assert {"%s-backup-job-failures" % NAME, "%s-rds-events" % NAME, "%s-acm-events" % NAME} <= set(rules)
    for name in ("%s-backup-job-failures" % NAME, "%s-rds-events" % NAME):
        assert [t["Arn"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == [topic]
    policy = json.loads(client(fresh, "sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert any(s.get("Principal") == {"Service": "events.amazonaws.com"} or "events.amazonaws.com" in json.dumps(
        s.get("Principal")) for s in policy["Statement"])

    # a second run changes nothing and writes nothing (the recorder sees every request, REST ones included)
    recorder = RestRecorder(fresh["aws_endpoint_url"])
    try:
        second = run(fresh, tmp_path, via=recorder)
        assert second.rc == 0 and second.changed == 0, second.out[-4000:]
        assert recorder.requests and recorder.writes() == [], recorder.writes()
    finally:
        recorder.close()

    # moto's gap, verified over HTTP: with a matching rule that targets SNS, PutEvents fails outright
    with pytest.raises(botocore.exceptions.ClientError, match=r"\(500\) when calling the PutEvents operation"):
        events.put_events(Entries=[failed_job()])

    backup_pattern = rules["%s-backup-job-failures" % NAME]["EventPattern"]
    delivered, ignored = prove_the_pattern(fresh, backup_pattern, failed_job(), failed_job(state="COMPLETED"))
    assert [(m["source"], m["detail"]["state"]) for m in delivered] == [("aws.backup", "FAILED")] and ignored == []
    delivered, ignored = prove_the_pattern(fresh, backup_pattern, failed_job("EXPIRED", "Copy Job State Change"),
                                           failed_job("RUNNING", "Copy Job State Change"))
    assert [m["detail-type"] for m in delivered] == ["Copy Job State Change"] and ignored == []
    rds = {"Source": "aws.rds", "DetailType": "RDS DB Instance Event", "Resources": [],
           "Detail": json.dumps({"EventCategories": ["failover"], "SourceIdentifier": "%s-db" % NAME,
                                 "Message": "Multi-AZ instance failover started."})}
    other_db = dict(rds, Detail=json.dumps({"EventCategories": ["failover"], "SourceIdentifier": "someone-else"}))
    delivered, ignored = prove_the_pattern(fresh, rules["%s-rds-events" % NAME]["EventPattern"], rds, other_db)
    assert [m["detail"]["SourceIdentifier"] for m in delivered] == ["%s-db" % NAME] and ignored == []


def test_check_mode_on_an_empty_account_makes_nothing(fresh, tmp_path):
    result = run(fresh, tmp_path, "--check")
    assert result.rc == 0 and result.failed == 0, result.out[-4000:]
    assert "does not exist yet" in result.out
    assert client(fresh, "kms", "us-west-2").list_keys()["Keys"] == []
    assert client(fresh, "iam").list_roles()["Roles"] == []
    assert client(fresh, "backup").list_backup_vaults()["BackupVaultList"] == []
    assert client(fresh, "backup", "us-west-2").list_backup_vaults()["BackupVaultList"] == []
    assert client(fresh, "s3", "us-west-2").list_buckets()["Buckets"] == []
    assert client(fresh, "events").list_rules()["Rules"] == []


def test_a_dr_region_equal_to_the_primary_stops_the_role_before_any_call(fresh, tmp_path, rest_recorder):
    result = run(fresh, tmp_path, "-e", "backups_dr_region=us-east-1", via=rest_recorder)
    assert result.rc != 0 and "accepted: a DR region other than the primary" in result.out, result.out[-3000:]
    assert rest_recorder.requests == []
