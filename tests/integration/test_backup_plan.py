"""backup_plan against the moto server over HTTP: check mode makes nothing, one run makes both vaults under their
keys, the plan with its daily rule and copy to the DR vault (read back from moto), a second run writes nothing, bad
input and a DR region equal to the primary stop before any call, a vault under another key is refused before any
write, a change of the plan is planned explicitly (and moto's missing UpdateBackupPlan is named when applied).

moto implements no backup selection call (ListBackupSelections/CreateBackupSelection answer an HTML 500): the module
must say the selection was NOT made and not verified - tested here over HTTP; the selection logic itself is tested
on canned answers in tests/unit/test_backup_planner.py."""

import json

import pytest
from conftest import aws_client as client
from conftest import module

from sandbox.aws_proxy import AwsProxy

ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::%s:role/directfanz-sandbox-backup" % ACCOUNT


class RestRecorder(AwsProxy):
    """The recorder, also for REST services (AWS Backup, S3), whose requests carry no operation name: each request is
    noted as (method, path, name); a write is a named call that is not Get/List/Describe/Head, or an unnamed one that
    is not GET/HEAD."""

    def __init__(self, upstream):
        super().__init__(upstream)
        self.requests = []

    def canned(self, method, path, name, body):
        self.requests.append((method, path, name))
        return None

    def writes(self):
        out = []
        for method, path, name in self.requests:
            if name != "?":
                if not name.startswith(("Get", "List", "Describe", "Head")):
                    out.append(name)
            elif method not in ("GET", "HEAD"):
                out.append("%s %s" % (method, path.split("?")[0]))
        return out


@pytest.fixture()
def rest_recorder(fresh):
    proxy = RestRecorder(fresh["aws_endpoint_url"])
    yield proxy
    proxy.close()


def keys(sandbox):
    """The data key (primary) and the DR key, as the data phase and the backups role make them."""
    made = {}
    for region, alias in (("us-east-1", "alias/directfanz-sandbox-data"), ("us-west-2", "alias/directfanz-sandbox-dr")):
        kms = client(sandbox, "kms", region)
        key = kms.create_key(Description=alias)["KeyMetadata"]
        kms.enable_key_rotation(KeyId=key["KeyId"])
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        made[region] = key["Arn"]
    return made


def args(**overrides):
    return dict({"name": "directfanz-sandbox-daily", "vault_name": "directfanz-sandbox",
                 "kms_key": "alias/directfanz-sandbox-data", "dr_region": "us-west-2",
                 "dr_kms_key": "alias/directfanz-sandbox-dr",
                 "selection": {"name": "directfanz-sandbox-tagged", "iam_role_arn": ROLE,
                               "tags": {"project": "directfanz", "environment": "sandbox"}},
                 "tags": {"project": "directfanz"}}, **overrides)


def run(sandbox, *flags, via=None, **overrides):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"region": "us-east-1", "endpoint_url": endpoint, "access_key": "testing",
                   "secret_key": sandbox["aws_secret_key"]}, **args(**overrides))
    return module("backup_plan", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def vaults(sandbox, region):
    return {v["BackupVaultName"]: v for v in client(sandbox, "backup", region).list_backup_vaults()["BackupVaultList"]}


def plans(sandbox):
    return client(sandbox, "backup").list_backup_plans()["BackupPlansList"]


def test_check_mode_plans_everything_and_makes_nothing(fresh, rest_recorder):
    keys(fresh)
    rc, out, result = run(fresh, "--check", "--diff", via=rest_recorder)
    assert rc == 0 and result["changed"], out
    assert [a.split(" (")[0] for a in result["actions"]] == [
        "create vault directfanz-sandbox in us-east-1", "create vault directfanz-sandbox in us-west-2",
        "create backup plan directfanz-sandbox-daily", "create backup selection directfanz-sandbox-tagged"]
    assert result["selection"]["verified"] is False and result["plan_id"] == "(new backup plan directfanz-sandbox-daily)"
    assert result["diff"]["before"] == {} and result["diff"]["after"]["plan"]["rules"][0]["DeleteAfterDays"] == 30
    assert rest_recorder.requests and rest_recorder.writes() == [], rest_recorder.requests
    assert vaults(fresh, "us-east-1") == {} and vaults(fresh, "us-west-2") == {} and plans(fresh) == []


def test_one_run_makes_the_vaults_and_the_plan_and_a_second_writes_nothing(fresh, rest_recorder):
    made = keys(fresh)
    rc, out, result = run(fresh)
    assert rc == 0 and result["changed"], out
    primary, dr = vaults(fresh, "us-east-1"), vaults(fresh, "us-west-2")
    assert primary["directfanz-sandbox"]["EncryptionKeyArn"] == made["us-east-1"]
    assert dr["directfanz-sandbox"]["EncryptionKeyArn"] == made["us-west-2"]
    tags = client(fresh, "backup", "us-west-2").list_tags(ResourceArn=dr["directfanz-sandbox"]["BackupVaultArn"])["Tags"]
    assert tags == {"project": "directfanz", "managed-by": "directfanz.launch"}
    [listed] = plans(fresh)
    assert listed["BackupPlanId"] == result["plan_id"]
    rule = client(fresh, "backup").get_backup_plan(BackupPlanId=listed["BackupPlanId"])["BackupPlan"]["Rules"][0]
    assert (rule["RuleName"], rule["TargetBackupVaultName"], rule["ScheduleExpression"]) == (
        "daily", "directfanz-sandbox", "cron(0 5 ? * * *)")
    assert (rule["StartWindowMinutes"], rule["CompletionWindowMinutes"], rule["Lifecycle"]) == (
        60, 480, {"DeleteAfterDays": 30})
    assert rule["CopyActions"] == [{"DestinationBackupVaultArn": dr["directfanz-sandbox"]["BackupVaultArn"],
                                    "Lifecycle": {"DeleteAfterDays": 30}}]
    # moto lacks selections: not made, not reported as made, said so
    assert "create backup selection directfanz-sandbox-tagged" not in result["actions"]
    assert result["selection"] == {"name": "directfanz-sandbox-tagged", "id": "", "verified": False}
    assert result["unverified"] and "does not implement AWS Backup selections" in result["unverified"][0]
    assert any("backup selection directfanz-sandbox-tagged was NOT made" in w for w in result["warnings"]), result

    rc, out, second = run(fresh, "--diff", via=rest_recorder)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert rest_recorder.requests and rest_recorder.writes() == [], rest_recorder.requests
    assert second["selection"]["verified"] is False
    assert any("was not verified: the endpoint does not implement" in w for w in second["warnings"])
    assert second["diff"]["before"] == second["diff"]["after"]


def test_a_change_of_the_plan_is_planned_and_moto_lacking_the_update_is_named(fresh, rest_recorder):
    keys(fresh)
    assert run(fresh)[0] == 0
    rc, out, planned = run(fresh, "--check", "--diff", via=rest_recorder, delete_after_days=35)
    assert rc == 0 and planned["changed"], out
    assert planned["actions"] == ["update backup plan directfanz-sandbox-daily (DeleteAfterDays 30 -> 35; copies to"
                                  " arn:aws:backup:us-west-2:%s:backup-vault:directfanz-sandbox kept 30 days -> to"
                                  " arn:aws:backup:us-west-2:%s:backup-vault:directfanz-sandbox kept 35 days)"
                                  % (ACCOUNT, ACCOUNT)]
    assert planned["diff"]["after"]["plan"]["rules"][0]["DeleteAfterDays"] == 35
    assert rest_recorder.writes() == []
    rc, out, applied = run(fresh, delete_after_days=35)
    assert rc != 0 and "the endpoint does not implement UpdateBackupPlan (moto lacks it)" in applied["msg"], out


def test_a_dr_region_equal_to_the_primary_is_refused_before_any_call(fresh, rest_recorder):
    rc, out, result = run(fresh, via=rest_recorder, dr_region="us-east-1")
    assert rc != 0 and "dr_region us-east-1 is the primary region; accepted: another region" in result["msg"], out
    assert rest_recorder.requests == []


def test_bad_input_is_refused_before_any_call(fresh, rest_recorder):
    rc, out, result = run(fresh, via=rest_recorder, schedule="every day", completion_window_minutes=30,
                          selection={"name": "s", "iam_role_arn": ROLE, "tags": {}})
    assert rc != 0, out
    for text in ("schedule 'every day' is not accepted", "completion_window_minutes 30 is not longer",
                 "selection.tags is empty"):
        assert text in result["msg"]
    assert rest_recorder.requests == []


def test_a_vault_under_another_key_is_refused_before_any_write(fresh, rest_recorder):
    keys(fresh)
    other = client(fresh, "kms", "us-west-2").create_key()["KeyMetadata"]["Arn"]
    client(fresh, "backup", "us-west-2").create_backup_vault(BackupVaultName="directfanz-sandbox", EncryptionKeyArn=other)
    rc, out, result = run(fresh, via=rest_recorder)
    assert rc != 0 and "DR vault directfanz-sandbox in us-west-2 is encrypted with %s" % other in result["msg"], out
    assert "(nothing was changed)" in result["msg"]
    assert rest_recorder.requests and rest_recorder.writes() == []
    assert vaults(fresh, "us-east-1") == {} and plans(fresh) == []


def test_a_missing_dr_key_is_refused_with_its_region(fresh, rest_recorder):
    kms = client(fresh, "kms")
    kms.create_alias(AliasName="alias/directfanz-sandbox-data", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    rc, out, result = run(fresh, via=rest_recorder)
    assert rc != 0 and "dr_kms_key was not found in us-west-2" in result["msg"], out
    assert rest_recorder.writes() == []
    assert json.dumps(result).count("NOT made") == 0
