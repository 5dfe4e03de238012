"""The restore drill's pure parts: drill names, the input checks, the restore request (placement of the live
instance, private, no deletion protection), the restore and removal planners - above all that nothing but a drill's
own, tagged instance and snapshot can be planned for deletion - the time gate, and the SQL half's comparisons and
name resolution through a DNS server on loopback."""

import datetime

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import drill_sql
from ansible_collections.directfanz.launch.plugins.module_utils import restore_drill as R
from sandbox.dns_stub import free_udp_tcp_port, serve

SOURCE = "directfanz-db"
NAME = "directfanz-db-drill-20261201154415"
KEY = "arn:aws:kms:us-east-1:123456789012:key/k1"


def params(**over):
    p = {"source": SOURCE, "name": NAME, "state": "restored", "restore_from": "snapshot", "restore_after": None,
         "instance_class": None, "multi_az": False, "keep_snapshot": False, "tags": {"project": "directfanz"},
         "wait": True, "wait_timeout": 3600}
    p.update(over)
    return p


def live(**over):
    instance = {"DBInstanceIdentifier": SOURCE, "Engine": "postgres", "DBInstanceStatus": "available",
                "DBInstanceClass": "db.m6g.large", "DBSubnetGroup": {"DBSubnetGroupName": "directfanz-db"},
                "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-2"}, {"VpcSecurityGroupId": "sg-1"}],
                "DBParameterGroups": [{"DBParameterGroupName": "directfanz-db-postgres16"}], "KmsKeyId": KEY,
                "MasterUserSecret": {"SecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:rds!db-1", "KmsKeyId": KEY},
                "PubliclyAccessible": False}
    instance.update(over)
    return instance


def drill_tagged(**over):
    resource = {"DBInstanceIdentifier": NAME, "DBSnapshotIdentifier": NAME, "DBInstanceStatus": "available",
                "Status": "available", "SnapshotType": "manual", "DeletionProtection": False,
                "TagList": [{"Key": R.DRILL_TAG, "Value": SOURCE}, {"Key": R.SOURCE_TAG, "Value": "snapshot:" + NAME}]}
    resource.update(over)
    return resource


@pytest.mark.parametrize("name,source,ok", [
    (NAME, SOURCE, True), (NAME, None, True), (NAME, "other-db", False), (SOURCE, SOURCE, False),
    ("directfanz-db-drill-2026120115441", SOURCE, False), ("directfanz-db-drill-20261201154415x", SOURCE, False),
    ("directfanz-db-drill-", SOURCE, False), ("Directfanz-db-drill-20261201154415", None, False), ("", None, False),
])
def test_only_source_drill_stamp_names_are_drill_names(name, source, ok):
    assert R.is_drill_name(name, source) is ok


def test_good_input_has_no_problems():
    assert R.input_problems(params()) == []
    assert R.input_problems(params(restore_from="point_in_time", restore_after="2026-12-01T15:44:15Z")) == []


@pytest.mark.parametrize("over,expected", [
    ({"name": SOURCE}, "is not a drill's name for directfanz-db; accepted: directfanz-db-drill-<YYYYmmddHHMMSS>"),
    ({"name": "other-db-drill-20261201154415"}, "is not a drill's name"),
    ({"source": "Bad_Name"}, "source 'Bad_Name' is not an RDS identifier"),
    ({"name": "x" * 64}, "name 'xxxx"),
    ({"restore_after": "2026-12-01T15:44:15Z"}, "restore_after applies to restore_from=point_in_time only"),
    ({"restore_from": "point_in_time", "restore_after": "yesterday"}, "is not an ISO 8601 time"),
    ({"instance_class": "m6g.large"}, "is not db.<family>.<size>"),
    ({"wait_timeout": 0}, "wait_timeout must be a positive number"),
    ({"tags": {R.DRILL_TAG: "x"}}, "is the drill's own and cannot be given"),
])
def test_bad_input_is_named_with_what_is_accepted(over, expected):
    problems = R.input_problems(params(**over))
    assert any(expected in problem for problem in problems), problems


def test_the_restore_request_takes_the_live_placement_private_and_unprotected():
    kwargs = R.restore_request(params(), live())
    assert kwargs["DBInstanceIdentifier"] == NAME and kwargs["DBSnapshotIdentifier"] == NAME
    assert kwargs["DBSubnetGroupName"] == "directfanz-db"
    assert kwargs["VpcSecurityGroupIds"] == ["sg-1", "sg-2"]
    assert kwargs["DBParameterGroupName"] == "directfanz-db-postgres16"
    assert kwargs["PubliclyAccessible"] is False and kwargs["DeletionProtection"] is False
    assert kwargs["MultiAZ"] is False and kwargs["DBInstanceClass"] == "db.m6g.large"
    assert kwargs["BackupRetentionPeriod"] == 0
    assert kwargs["ManageMasterUserPassword"] is True and kwargs["MasterUserSecretKmsKeyId"] == KEY
    tags = R.tag_dict(kwargs["Tags"])
    assert tags == {"project": "directfanz", "managed-by": "directfanz.launch", R.DRILL_TAG: SOURCE,
                    R.SOURCE_TAG: "snapshot:" + NAME}


def test_a_point_in_time_request_names_its_time_in_the_call_and_the_tag():
    moment = datetime.datetime(2026, 12, 1, 15, 44, 20, tzinfo=datetime.timezone.utc)
    kwargs = R.restore_request(params(restore_from="point_in_time", instance_class="db.t4g.medium"), live(), moment)
    assert kwargs["SourceDBInstanceIdentifier"] == SOURCE and kwargs["TargetDBInstanceIdentifier"] == NAME
    assert kwargs["RestoreTime"] == moment and "UseLatestRestorableTime" not in kwargs
    assert kwargs["DBInstanceClass"] == "db.t4g.medium"
    assert R.tag_dict(kwargs["Tags"])[R.SOURCE_TAG] == "point-in-time:%s@2026-12-01T15:44:20.000000Z" % SOURCE


def test_a_first_snapshot_drill_snapshots_restores_and_waits():
    plan = R.plan_restored(params(), {"source": live(), "snapshot": None, "drill": None})
    assert plan.problems == []
    assert [s["op"] for s in plan.steps] == ["create_db_snapshot", "wait_snapshot", "restore", "wait_available"]
    assert plan.actions == ["create snapshot %s of %s" % (NAME, SOURCE),
                            "restore %s from snapshot %s into subnet group directfanz-db" % (NAME, NAME)]
    assert R.tag_dict(plan.steps[0]["kwargs"]["Tags"])[R.DRILL_TAG] == SOURCE


def test_a_point_in_time_drill_makes_no_snapshot_and_waits_for_a_restorable_time_after_the_sentinel():
    plan = R.plan_restored(params(restore_from="point_in_time", restore_after="2026-12-01T15:44:15Z"),
                           {"source": live(), "snapshot": None, "drill": None})
    assert [s["op"] for s in plan.steps] == ["wait_restorable", "restore", "wait_available"]
    assert plan.steps[0]["after"] == "2026-12-01T15:44:15Z"
    assert plan.actions == ["restore %s to the latest restorable time of %s after 2026-12-01T15:44:15.000000Z"
                            % (NAME, SOURCE)]


def test_a_drill_already_restored_changes_nothing():
    plan = R.plan_restored(params(), {"source": live(), "snapshot": drill_tagged(), "drill": drill_tagged()})
    assert plan.steps == [] and not plan.changed and plan.problems == []


@pytest.mark.parametrize("observed,expected", [
    ({"source": None}, "no DB instance directfanz-db to drill"),
    ({"source": live(Engine="mysql")}, "runs mysql"),
    ({"source": live(MasterUserSecret=None)}, "no master password managed by RDS"),
    ({"source": live(DBInstanceStatus="stopped")}, "is stopped"),
    ({"source": live(), "drill": drill_tagged(TagList=[])}, "is not tagged launch-drill=directfanz-db"),
    ({"source": live(), "snapshot": drill_tagged(TagList=[{"Key": R.DRILL_TAG, "Value": "other-db"}])},
     "DB snapshot %s exists and is not tagged" % NAME),
])
def test_restore_refusals_plan_no_step(observed, expected):
    plan = R.plan_restored(params(), dict({"snapshot": None, "drill": None}, **observed))
    assert any(expected in p for p in plan.problems), plan.problems
    assert [s for s in plan.steps if s["texts"]] == []


def test_removal_turns_protection_off_deletes_without_final_snapshot_and_drops_the_snapshot():
    plan = R.plan_absent(params(state="absent"), {"drill": drill_tagged(DeletionProtection=True),
                                                  "snapshot": drill_tagged()})
    assert [s["op"] for s in plan.steps] == ["modify_db_instance", "delete_instance", "wait_deleted",
                                             "delete_snapshot"]
    assert plan.steps[0]["kwargs"] == {"DBInstanceIdentifier": NAME, "DeletionProtection": False,
                                       "ApplyImmediately": True}
    assert plan.steps[1]["kwargs"] == {"DBInstanceIdentifier": NAME, "SkipFinalSnapshot": True,
                                       "DeleteAutomatedBackups": True}


def test_removal_keeps_the_snapshot_when_asked_and_is_a_no_op_when_nothing_is_left():
    plan = R.plan_absent(params(keep_snapshot=True), {"drill": drill_tagged(), "snapshot": drill_tagged()})
    assert [s["op"] for s in plan.steps] == ["delete_instance", "wait_deleted"]
    empty = R.plan_absent(params(), {"drill": None, "snapshot": None})
    assert empty.steps == [] and not empty.changed


@pytest.mark.parametrize("observed,expected", [
    ({"drill": drill_tagged(TagList=[])}, "refusing to delete DB instance %s: it is not tagged" % NAME),
    ({"drill": drill_tagged(TagList=[{"Key": R.DRILL_TAG, "Value": "someone-else"}])}, "refusing to delete DB instance"),
    ({"snapshot": drill_tagged(TagList=[])}, "refusing to delete DB snapshot %s: it is not tagged" % NAME),
    ({"snapshot": drill_tagged(SnapshotType="automated")}, "it is automated, not a manual snapshot"),
])
def test_removal_refuses_anything_not_tagged_as_this_drills(observed, expected):
    plan = R.plan_absent(params(), dict({"drill": None, "snapshot": None}, **observed))
    assert any(expected in p for p in plan.problems), plan.problems
    assert plan.steps == []


def test_timing_gate_and_restore_point_age():
    point = datetime.datetime(2026, 12, 1, 15, 0, 0, tzinfo=datetime.timezone.utc)
    t0 = point.timestamp() + 120
    report = R.timing_report(t0, t0 + 600, t0 + 1700, point, 30)
    assert report["restore_point_age_seconds"] == 120 and report["checked_after_seconds"] == 1700
    assert report["within_limit"] is True
    assert R.timing_report(t0, t0 + 600, t0 + 1801, point, 30)["within_limit"] is False
    assert R.timing_report(t0, t0, t0 + 0.2, point, 0.001)["within_limit"] is False


def test_waits_start_quick_and_grow_to_a_ceiling():
    delays = R.poll_delays(1.0, 2.0, 5.0)
    assert [next(delays) for dummy in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_row_counts_compared_with_live_say_what_a_difference_means():
    rows = drill_sql.compare_counts({"public.a": 10, "public.b": 5, "public.c": None, "public.d": 3},
                                    {"public.a": 10, "public.b": 7, "public.c": 1, "public.d": 1},
                                    {"public.c": "permission denied for table c"})
    notes = dict((r["table"], r["note"]) for r in rows)
    assert notes == {"public.a": "same", "public.b": "live has 2 more (written after the restore point)",
                     "public.c": "not counted in the copy: permission denied for table c",
                     "public.d": "live has 2 fewer (deleted after the restore point)"}
    assert drill_sql.compare_counts({"public.a": 1}, None)[0]["note"] == "live not compared"


def test_check_problems_name_the_sentinel_tls_and_required_tables():
    assert drill_sql.check_problems("x", datetime.datetime.now(), {"ssl": True}, ["public.a"], {"public.a": 0}) == []
    problems = drill_sql.check_problems("x", None, {"ssl": False}, ["public.users"], {"public.users": None})
    assert problems == ["the sentinel row x is not in launch_drill of the restored copy",
                        "pg_stat_ssl says this session is not encrypted",
                        "required table public.users is not in the restored copy (or not readable)"]


def test_endpoint_names_resolve_through_the_named_server_and_unknown_names_do_not():
    port = free_udp_tcp_port()
    servers = serve({"db.aaaaaaaaaa.us-east-1.rds.amazonaws.com.": {"A": ["127.44.0.9"]}}, "127.0.0.1", port)
    try:
        resolvers = ["127.0.0.1:%d" % port]
        assert drill_sql.resolve("db.aaaaaaaaaa.us-east-1.rds.amazonaws.com", resolvers) == "127.44.0.9"
        with pytest.raises(LookupError, match="does not resolve through 127.0.0.1:%d" % port):
            drill_sql.resolve("other.aaaaaaaaaa.us-east-1.rds.amazonaws.com", resolvers)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_a_password_in_an_error_text_is_cut_out():
    assert drill_sql.scrub("FATAL: password P@55w0rd! rejected", "P@55w0rd!") == "FATAL: password ******** rejected"
