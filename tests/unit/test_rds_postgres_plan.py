"""rds_postgres without AWS: every input problem found at once and said with what is accepted, the plan made from
what AWS holds (create, no change, a change that waits for the maintenance window, apply_immediately, disruptive
and impossible changes refused, KMS aliases against ARNs, parameter diffs, pending modifications counted as made),
the catalogue check on canned answers (moto has no PostgreSQL catalogue) and the wait on a fake that says
creating, creating, available."""

import copy

import pytest

from ansible_collections.directfanz.launch.plugins.modules import rds_postgres as M

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:iam::123456789012:role/directfanz-rds-monitoring"
SUBNETS = ["subnet-0a1b2c3d4e5f67890", "subnet-0f1e2d3c4b5a69870"]
GROUP = "sg-0a1b2c3d4e5f67890"
PARAMS = {"rds.force_ssl": 1, "shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all",
          "log_min_duration_statement": 500}


def params(**over):
    p = {"identifier": "directfanz-db", "state": "present", "engine_version": "16.4", "instance_class": "db.m6g.large",
         "allocated_storage": 100, "max_allocated_storage": 500, "storage_type": "gp3", "iops": None,
         "storage_throughput": None, "multi_az": True, "kms_key_id": "alias/directfanz-rds",
         "master_username": "postgres", "master_user_secret_kms_key_id": "alias/directfanz-rds", "db_name": None,
         "backup_retention": 30, "backup_window": "03:00-03:30", "maintenance_window": "sun:04:00-sun:04:30",
         "copy_tags_to_snapshot": True, "deletion_protection": True, "auto_minor_version_upgrade": True,
         "performance_insights": True, "performance_insights_kms_key_id": None, "performance_insights_retention": 7,
         "monitoring_interval": 60, "monitoring_role_arn": ROLE, "cloudwatch_logs_exports": ["postgresql", "upgrade"],
         "subnet_ids": list(SUBNETS), "subnet_group_name": None, "vpc_security_group_ids": [GROUP],
         "parameter_group_name": None, "parameters": dict(PARAMS), "tags": {"project": "directfanz"},
         "apply_immediately": False, "allow_disruptive": [], "wait": False, "wait_timeout": 2400}
    p.update(over)
    return p


def empty():
    return {"instance": None, "subnet_group": None, "parameter_group": None, "parameters": {},
            "keys": {"alias/directfanz-rds": KEY_ARN}}


def in_place(p, **instance_over):
    """What AWS answers once ``p`` was applied: the key as an ARN, Performance Insights fields present."""
    names = M.names_of(p)
    tags = [{"Key": k, "Value": v} for k, v in sorted(M.desired_tags(p).items())]
    instance = {
        "DBInstanceIdentifier": names["identifier"], "DBInstanceArn": "arn:aws:rds:us-east-1:123456789012:db:" +
        names["identifier"], "DBInstanceStatus": "available", "Engine": "postgres", "EngineVersion": p["engine_version"],
        "DBInstanceClass": p["instance_class"], "AllocatedStorage": p["allocated_storage"],
        "MaxAllocatedStorage": p["max_allocated_storage"], "StorageType": p["storage_type"], "MultiAZ": p["multi_az"],
        "StorageEncrypted": True, "KmsKeyId": KEY_ARN, "MasterUsername": "postgres",
        "MasterUserSecret": {"SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1",
                             "SecretStatus": "active", "KmsKeyId": KEY_ARN},
        "BackupRetentionPeriod": p["backup_retention"], "PreferredBackupWindow": p["backup_window"],
        "PreferredMaintenanceWindow": p["maintenance_window"], "CopyTagsToSnapshot": True, "DeletionProtection": True,
        "AutoMinorVersionUpgrade": True, "PerformanceInsightsEnabled": True, "PerformanceInsightsKMSKeyId": KEY_ARN,
        "PerformanceInsightsRetentionPeriod": 7, "MonitoringInterval": 60, "MonitoringRoleArn": ROLE,
        "EnabledCloudwatchLogsExports": ["upgrade", "postgresql"], "PubliclyAccessible": False,
        "VpcSecurityGroups": [{"VpcSecurityGroupId": GROUP, "Status": "active"}],
        "DBSubnetGroup": {"DBSubnetGroupName": names["subnet_group"]},
        "DBParameterGroups": [{"DBParameterGroupName": names["parameter_group"], "ParameterApplyStatus": "in-sync"}],
        "Endpoint": {"Address": "directfanz-db.x.us-east-1.rds.amazonaws.com", "Port": 5432},
        "PendingModifiedValues": {}, "TagList": tags}
    instance.update(instance_over)
    return {"instance": instance,
            "subnet_group": {"DBSubnetGroupName": names["subnet_group"], "DBSubnetGroupArn": "arn:sg",
                             "Subnets": [{"SubnetIdentifier": s} for s in SUBNETS]},
            "subnet_group_tags": M.desired_tags(p),
            "parameter_group": {"DBParameterGroupName": names["parameter_group"], "DBParameterGroupFamily": "postgres16",
                                "DBParameterGroupArn": "arn:pg"},
            "parameter_group_tags": M.desired_tags(p),
            "parameters": {n: {"ParameterName": n, "ParameterValue": M.parameter_value(v),
                               "ApplyType": "static" if n == "shared_preload_libraries" else "dynamic"}
                           for n, v in p["parameters"].items()},
            "keys": {"alias/directfanz-rds": KEY_ARN, KEY_ARN: KEY_ARN}}


def modify_of(plan):
    calls = [s for s in plan.steps if s["op"] == "modify_db_instance"]
    assert len(calls) == 1, plan.steps
    return calls[0]["kwargs"]


# ---------------------------------------------------------------------------------------------------------------
# Input


def test_good_input_has_no_problem():
    assert M.input_problems(params()) == []


def test_every_input_problem_is_found_at_once_and_says_what_is_accepted():
    problems = M.input_problems(params(
        identifier="1-bad--", instance_class="m6g.large", engine_version="16", allocated_storage=10,
        max_allocated_storage=5, kms_key_id="my key", backup_retention=40, backup_window="03:00-03:10",
        maintenance_window="sunday 4am", performance_insights_retention=30, monitoring_interval=7,
        monitoring_role_arn="role/x", cloudwatch_logs_exports=["postgresql", "audit"], subnet_ids=["subnet-0a1b2c3d"],
        vpc_security_group_ids=["db"], parameters={"bad name": 1, "ok": None}))
    text = "\n".join(problems)
    for expected in ("identifier '1-bad--' is not valid; accepted: 1-63 letters",
                     "instance_class 'm6g.large' is not valid; accepted: db.<family>.<size>",
                     "engine_version '16' is not valid; accepted: a PostgreSQL version <major>.<minor>",
                     "allocated_storage 10 GiB is out of range; accepted: 20-65536",
                     "max_allocated_storage 5 GiB is not valid",
                     "kms_key_id 'my key' is not valid; accepted: a key id, a key ARN, an alias name",
                     "backup_retention 40 is out of range; accepted: 1-35 days",
                     "backup_window 03:00-03:10 is shorter than 30 minutes",
                     "maintenance_window 'sunday 4am' is not valid; accepted: ddd:hh24:mi-ddd:hh24:mi",
                     "performance_insights_retention 30 is not accepted; accepted: 7, a multiple of 31",
                     "monitoring_interval 7 is not accepted; accepted: 0, 1, 5, 10, 15, 30, 60",
                     "monitoring_role_arn 'role/x' is not valid",
                     "cloudwatch_logs_exports audit not accepted; accepted: postgresql, upgrade, iam-db-auth-error",
                     "subnet_ids has 1 distinct subnet; accepted: at least two",
                     "vpc_security_group_ids 'db' are not security group ids",
                     "parameter 'bad name' is not a parameter name",
                     "parameter ok has value None"):
        assert expected in text, (expected, problems)
    assert len(problems) == 17, problems


def test_required_settings_are_named_and_state_available_needs_only_the_identifier():
    p = params(engine_version=None, instance_class=None, kms_key_id=None, subnet_ids=None)
    assert M.input_problems(p) == ["%s is missing; it is required with state=present" % k
                                   for k in ("engine_version", "instance_class", "kms_key_id", "subnet_ids")]
    assert M.input_problems(params(state="available", engine_version=None, instance_class=None)) == []


def test_windows_that_meet_are_refused_also_across_midnight_and_the_week_end():
    assert M.windows_overlap("04:10-04:40", "sun:04:00-sun:04:30")
    assert M.windows_overlap("23:50-00:20", "mon:00:00-mon:00:30")
    assert M.windows_overlap("00:00-00:30", "sun:23:45-mon:00:15")
    assert not M.windows_overlap("03:00-03:30", "sun:04:00-sun:04:30")
    problems = M.input_problems(params(backup_window="04:00-04:30"))
    assert problems == ["backup_window 04:00-04:30 overlaps maintenance_window sun:04:00-sun:04:30; accepted: windows"
                        " that do not meet"]


def test_a_monitoring_interval_needs_its_role_and_io_storage_needs_iops():
    problems = M.input_problems(params(monitoring_role_arn=None, storage_type="io1", allocated_storage=50))
    assert "monitoring_role_arn is missing; it is required when monitoring_interval is not 0" in problems
    assert "storage_type io1 needs iops; accepted: the provisioned IOPS, such as 3000" in problems
    assert "allocated_storage 50 GiB is out of range; accepted: 100-65536 for io1" in problems


# ---------------------------------------------------------------------------------------------------------------
# Planning


def test_on_an_empty_account_the_groups_then_the_instance_are_created_with_every_setting():
    plan, info = M.plan_postgres(params(), empty())
    assert plan.problems == [] and info["pending"] == []
    assert [s["op"] for s in plan.steps] == ["create_db_subnet_group", "create_db_parameter_group",
                                             "modify_db_parameter_group", "create_db_instance"]
    assert plan.actions[0] == "create db subnet group directfanz-db (%s)" % ", ".join(sorted(SUBNETS))
    assert plan.actions[1] == "create db parameter group directfanz-db-postgres16 (postgres16)"
    assert plan.actions[-1] == "create db instance directfanz-db (postgres 16.4, db.m6g.large, 100 GiB gp3, Multi-AZ)"
    group = plan.steps[1]["kwargs"]
    assert group["DBParameterGroupFamily"] == "postgres16" and group["DBParameterGroupName"] == "directfanz-db-postgres16"
    sent = dict((x["ParameterName"], (x["ParameterValue"], x["ApplyMethod"]))
                for x in plan.steps[2]["kwargs"]["Parameters"])
    assert sent == {"rds.force_ssl": ("1", "immediate"),
                    "shared_preload_libraries": ("pg_stat_statements", "pending-reboot"),
                    "pg_stat_statements.track": ("all", "immediate"), "log_min_duration_statement": ("500", "immediate")}
    create = plan.steps[3]["kwargs"]
    expected = {"Engine": "postgres", "EngineVersion": "16.4", "DBInstanceClass": "db.m6g.large", "MultiAZ": True,
                "StorageType": "gp3", "AllocatedStorage": 100, "MaxAllocatedStorage": 500, "StorageEncrypted": True,
                "KmsKeyId": "alias/directfanz-rds", "ManageMasterUserPassword": True,
                "MasterUserSecretKmsKeyId": "alias/directfanz-rds", "BackupRetentionPeriod": 30,
                "PreferredBackupWindow": "03:00-03:30", "PreferredMaintenanceWindow": "sun:04:00-sun:04:30",
                "CopyTagsToSnapshot": True, "DeletionProtection": True, "EnablePerformanceInsights": True,
                "PerformanceInsightsKMSKeyId": "alias/directfanz-rds", "PerformanceInsightsRetentionPeriod": 7,
                "MonitoringInterval": 60, "MonitoringRoleArn": ROLE,
                "EnableCloudwatchLogsExports": ["postgresql", "upgrade"], "PubliclyAccessible": False,
                "VpcSecurityGroupIds": [GROUP], "DBSubnetGroupName": "directfanz-db",
                "DBParameterGroupName": "directfanz-db-postgres16", "MasterUsername": "postgres"}
    assert dict((k, create[k]) for k in expected) == expected
    assert "MasterUserPassword" not in create
    assert {"Key": "managed-by", "Value": "directfanz.launch"} in create["Tags"]
    assert plan.steps[3]["out"] == "(new db instance directfanz-db)" and plan.steps[3]["pick"] == ["DBInstance",
                                                                                                   "DBInstanceArn"]


def test_what_aws_holds_after_a_run_plans_nothing():
    plan, info = M.plan_postgres(params(), in_place(params()))
    assert plan.steps == [] and plan.problems == [] and plan.warnings == [] and not plan.changed
    assert info == dict(info, pending=[], pending_reboot=[])


def test_wait_is_a_step_without_an_action_line():
    plan, unused = M.plan_postgres(params(wait=True, wait_timeout=60), in_place(params()))
    assert [s["op"] for s in plan.steps] == ["wait_available"] and not plan.changed


def test_a_change_aws_makes_in_the_window_waits_for_it_unless_apply_immediately():
    observed = in_place(params(), DBInstanceClass="db.m6g.xlarge")  # Multi-AZ: the class changes through a failover
    plan, info = M.plan_postgres(params(backup_retention=14), observed)
    assert plan.problems == []
    assert modify_of(plan) == {"DBInstanceIdentifier": "directfanz-db", "ApplyImmediately": False,
                               "DBInstanceClass": "db.m6g.large", "BackupRetentionPeriod": 14}
    assert plan.actions == ["modify db instance directfanz-db: backup_retention 30 -> 14",
                            "modify db instance directfanz-db: instance_class db.m6g.xlarge -> db.m6g.large (at the"
                            " maintenance window sun:04:00-sun:04:30)"]
    assert info["pending"] == ["instance_class db.m6g.xlarge -> db.m6g.large"]

    plan, info = M.plan_postgres(params(apply_immediately=True), observed)
    assert modify_of(plan)["ApplyImmediately"] is True and info["pending"] == []
    assert plan.actions == ["modify db instance directfanz-db: instance_class db.m6g.xlarge -> db.m6g.large (applied"
                            " now)"]


def test_a_pending_modification_counts_as_made_and_is_reported():
    observed = in_place(params(instance_class="db.m6g.xlarge"),
                        PendingModifiedValues={"DBInstanceClass": "db.m6g.large"})
    plan, info = M.plan_postgres(params(), observed)
    assert plan.steps == []
    assert info["pending"] == ["instance_class -> db.m6g.large (waiting for the maintenance window sun:04:00-sun:04:30)"]


def test_settings_aws_applies_at_once_are_one_modify_call():
    observed = in_place(params(), CopyTagsToSnapshot=False, DeletionProtection=False, PubliclyAccessible=True,
                        MonitoringInterval=0, MonitoringRoleArn=None, EnabledCloudwatchLogsExports=["postgresql"],
                        VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-0000000000000000a", "Status": "active"}],
                        PerformanceInsightsEnabled=False, PerformanceInsightsKMSKeyId=None,
                        PerformanceInsightsRetentionPeriod=None, PreferredMaintenanceWindow="Mon:01:00-Mon:01:30")
    plan, info = M.plan_postgres(params(), observed)
    assert modify_of(plan) == {
        "DBInstanceIdentifier": "directfanz-db", "ApplyImmediately": False, "CopyTagsToSnapshot": True,
        "DeletionProtection": True, "PubliclyAccessible": False, "VpcSecurityGroupIds": [GROUP],
        "PreferredMaintenanceWindow": "sun:04:00-sun:04:30", "MonitoringInterval": 60, "MonitoringRoleArn": ROLE,
        "CloudwatchLogsExportConfiguration": {"EnableLogTypes": ["upgrade"], "DisableLogTypes": []},
        "EnablePerformanceInsights": True, "PerformanceInsightsRetentionPeriod": 7,
        "PerformanceInsightsKMSKeyId": "alias/directfanz-rds"}
    assert info["pending"] == []  # none of these waits for the window


def test_kms_alias_and_arn_are_the_same_key_and_another_key_is_refused():
    observed = in_place(params())
    observed["instance"]["KmsKeyId"] = KEY_ARN
    plan, unused = M.plan_postgres(params(kms_key_id="alias/directfanz-rds"), observed)
    assert plan.steps == [] and plan.problems == []
    plan, unused = M.plan_postgres(params(kms_key_id=KEY_ARN), observed)
    assert plan.steps == [] and plan.problems == []
    observed["keys"]["alias/new"] = OTHER_KEY
    plan, unused = M.plan_postgres(params(kms_key_id="alias/new", performance_insights_kms_key_id="alias/directfanz-rds"),
                                   observed)
    assert plan.problems == ["db instance directfanz-db: kms_key is %s, the task asks for %s - the storage KMS key cannot"
                             " be changed in place; copy a snapshot with the new key and restore it" % (KEY_ARN, OTHER_KEY)]


def test_an_unencrypted_instance_and_another_master_user_are_refused():
    observed = in_place(params(), StorageEncrypted=False, KmsKeyId=None, MasterUsername="admin")
    plan, unused = M.plan_postgres(params(), observed)
    assert sorted(plan.problems) == sorted([
        "db instance directfanz-db: storage_encrypted is False, the task asks for True - encryption cannot be turned on"
        " in place; copy a snapshot with encryption and restore it",
        "db instance directfanz-db: master_username is admin, the task asks for postgres - the master user name cannot"
        " be changed; make a new instance"])


def test_an_engine_major_version_change_is_refused_unless_allowed():
    observed = in_place(params())
    observed.update(parameter_group=None, parameters={})  # the group read is the new family's: not there yet
    plan, unused = M.plan_postgres(params(engine_version="17.2"), observed)
    assert len(plan.problems) == 1 and "engine_version 16.4 -> 17.2 is a major version upgrade" in plan.problems[0]
    assert "add engine_major_version to allow_disruptive" in plan.problems[0]

    plan, info = M.plan_postgres(params(engine_version="17.2", allow_disruptive=["engine_major_version"]), observed)
    assert plan.problems == []
    assert [s["op"] for s in plan.steps] == ["create_db_parameter_group", "modify_db_parameter_group",
                                             "modify_db_instance"]
    assert plan.steps[0]["kwargs"]["DBParameterGroupFamily"] == "postgres17"
    assert modify_of(plan) == {"DBInstanceIdentifier": "directfanz-db", "ApplyImmediately": False,
                               "EngineVersion": "17.2", "AllowMajorVersionUpgrade": True,
                               "DBParameterGroupName": "directfanz-db-postgres17"}
    assert info["pending"] == ["engine_version 16.4 -> 17.2 (major version upgrade)"]


def test_a_downgrade_is_refused_and_a_newer_minor_from_auto_upgrade_is_kept():
    plan, unused = M.plan_postgres(params(engine_version="15.8", parameter_group_name="directfanz-db-postgres16"),
                                   in_place(params()))
    assert any("is a downgrade, which RDS cannot make" in x for x in plan.problems), plan.problems
    plan, unused = M.plan_postgres(params(engine_version="16.2"), in_place(params(), EngineVersion="16.4"))
    assert plan.steps == [] and plan.problems == []
    assert plan.warnings == ["db instance directfanz-db runs 16.4, newer than engine_version 16.2 (an automatic minor"
                             " version upgrade); kept"]
    plan, info = M.plan_postgres(params(engine_version="16.6"), in_place(params()))
    assert modify_of(plan)["EngineVersion"] == "16.6" and info["pending"] == ["engine_version 16.4 -> 16.6"]


def test_single_az_class_change_and_storage_downgrade_are_disruptive():
    observed = in_place(params(multi_az=False), DBInstanceClass="db.m6g.xlarge", StorageType="gp3")
    plan, unused = M.plan_postgres(params(multi_az=False, storage_type="gp2"), observed)
    assert len(plan.problems) == 2
    assert "instance_class db.m6g.xlarge -> db.m6g.large on an instance that is not Multi-AZ" in plan.problems[0]
    assert "storage_type gp3 -> gp2 is a downgrade" in plan.problems[1]
    plan, unused = M.plan_postgres(params(multi_az=False, storage_type="gp2",
                                          allow_disruptive=["instance_class", "storage_type"]), observed)
    assert plan.problems == [] and modify_of(plan)["DBInstanceClass"] == "db.m6g.large"
    assert modify_of(plan)["StorageType"] == "gp2"
    plan, unused = M.plan_postgres(params(storage_type="io1", iops=3000), in_place(params(), StorageType="gp2"))
    assert plan.problems == [] and modify_of(plan)["StorageType"] == "io1"  # an upgrade


def test_storage_grown_by_autoscaling_is_not_shrunk():
    plan, unused = M.plan_postgres(params(), in_place(params(), AllocatedStorage=180))
    assert plan.steps == [] and plan.problems == []
    plan, info = M.plan_postgres(params(allocated_storage=200), in_place(params()))
    assert modify_of(plan)["AllocatedStorage"] == 200 and info["pending"] == ["allocated_storage 100 -> 200"]


def test_without_performance_insights_fields_the_gap_is_a_warning_not_a_change():
    observed = in_place(params())
    for key in ("PerformanceInsightsEnabled", "PerformanceInsightsKMSKeyId", "PerformanceInsightsRetentionPeriod"):
        del observed["instance"][key]
    plan, unused = M.plan_postgres(params(), observed)
    assert plan.steps == []
    assert plan.warnings == ["db instance directfanz-db: the endpoint does not report PerformanceInsightsEnabled (moto"
                             " does not implement Performance Insights); its Performance Insights settings were sent at"
                             " creation but cannot be compared"]


def test_only_the_listed_parameters_that_differ_are_set_and_static_ones_wait_for_a_reboot():
    observed = in_place(params())
    observed["parameters"]["log_min_duration_statement"]["ParameterValue"] = "1000"
    observed["parameters"]["work_mem"] = {"ParameterName": "work_mem", "ParameterValue": "8192"}  # not ours: kept
    want = dict(PARAMS, shared_preload_libraries="pg_stat_statements, pg_cron")
    plan, info = M.plan_postgres(params(parameters=want), observed)
    assert [s["op"] for s in plan.steps] == ["modify_db_parameter_group"]
    assert plan.steps[0]["kwargs"]["Parameters"] == [
        {"ParameterName": "log_min_duration_statement", "ParameterValue": "500", "ApplyMethod": "immediate"},
        {"ParameterName": "shared_preload_libraries", "ParameterValue": "pg_stat_statements,pg_cron",
         "ApplyMethod": "pending-reboot"}]
    assert plan.actions[0] == ("set log_min_duration_statement = 500 in db parameter group directfanz-db-postgres16"
                               " (was 1000)")
    assert info["pending_reboot"] == ["shared_preload_libraries"]
    assert any("take effect at its next reboot" in w for w in plan.warnings)


def test_more_than_twenty_parameters_go_in_calls_of_twenty():
    many = dict(("custom.p%02d" % i, i) for i in range(45))
    plan, unused = M.plan_postgres(params(parameters=many), in_place(params()))
    calls = [s for s in plan.steps if s["op"] == "modify_db_parameter_group"]
    assert [len(c["kwargs"]["Parameters"]) for c in calls] == [20, 20, 5]


def test_a_parameter_group_of_another_family_is_refused():
    observed = in_place(params())
    observed["parameter_group"]["DBParameterGroupFamily"] = "postgres15"
    plan, unused = M.plan_postgres(params(), observed)
    assert plan.problems == ["db parameter group directfanz-db-postgres16 has family postgres15, but engine version 16.4"
                             " needs postgres16; give another parameter_group_name (or leave it to the default,"
                             " <identifier>-postgres16)"]


def test_a_change_to_an_instance_that_is_still_creating_is_refused_until_it_is_available():
    plan, unused = M.plan_postgres(params(backup_retention=7), in_place(params(), DBInstanceStatus="creating"))
    assert plan.problems == ["db instance directfanz-db is creating; AWS changes an instance once it is available - wait"
                             " for it (state=available) and run again"]
    plan, unused = M.plan_postgres(params(), in_place(params(), DBInstanceStatus="creating"))
    assert plan.steps == [] and plan.problems == []  # nothing to change: a second run while it is created is quiet


def test_missing_tags_are_added_and_other_tags_kept():
    observed = in_place(params())
    observed["instance"]["TagList"] = [{"Key": "owner", "Value": "ops"}]
    plan, unused = M.plan_postgres(params(), observed)
    assert [s["op"] for s in plan.steps] == ["add_tags_to_resource"]
    assert plan.steps[0]["kwargs"]["Tags"] == [{"Key": "managed-by", "Value": "directfanz.launch"},
                                               {"Key": "project", "Value": "directfanz"}]


def test_the_diff_shows_the_compared_settings_before_and_after():
    observed = in_place(params(), BackupRetentionPeriod=7)
    plan, info = M.plan_postgres(params(), observed)
    diff = M.diff_view(params(), observed, info["want"], info["names"])
    assert diff["before"]["instance"]["backup_retention"] == 7 and diff["after"]["instance"]["backup_retention"] == 30
    assert diff["after"]["parameters"]["rds.force_ssl"] == "1" == diff["before"]["parameters"]["rds.force_ssl"]
    assert M.diff_view(params(), empty(), info["want"], info["names"])["before"] == {}


# ---------------------------------------------------------------------------------------------------------------
# The catalogue, on canned answers (moto has none for PostgreSQL)


class Catalogue:
    def __init__(self, rows, versions):
        self.rows, self.versions, self.calls = rows, versions, []

    def __call__(self, method, **kwargs):
        self.calls.append((method, kwargs))
        if method == "describe_orderable_db_instance_options":
            rows = [r for r in self.rows if all(r.get(k) == v for k, v in kwargs.items()
                                                if k in ("EngineVersion", "DBInstanceClass"))]
            return {"OrderableDBInstanceOptions": rows[:kwargs.get("MaxRecords", 1000)]}
        versions = [v for v in self.versions if kwargs.get("EngineVersion") in (None, v)]
        return {"DBEngineVersions": [{"EngineVersion": v, "DBParameterGroupFamily": M.family_of(v)} for v in versions]}


def row(version, cls, storage="gp3", **flags):
    return dict({"Engine": "postgres", "EngineVersion": version, "DBInstanceClass": cls, "StorageType": storage,
                 "MultiAZCapable": True, "SupportsPerformanceInsights": True, "SupportsEnhancedMonitoring": True}, **flags)


AWS = Catalogue([row("16.4", "db.m6g.large"), row("16.4", "db.m6g.large", "gp2"), row("16.4", "db.r7g.large"),
                 row("16.4", "db.t4g.micro", SupportsPerformanceInsights=False), row("15.8", "db.m5.large")],
                ["15.8", "16.4", "16.10"])


def test_a_class_and_version_in_the_catalogue_pass_with_one_call():
    ask = Catalogue(AWS.rows, AWS.versions)
    assert M.catalogue_check(ask, "16.4", "db.m6g.large", "gp3", True, True, True) == ("checked", [], [])
    assert len(ask.calls) == 1


def test_an_unknown_version_is_refused_listing_the_versions():
    status, problems, unused = M.catalogue_check(AWS, "16.99", "db.m6g.large", "gp3", True, True, True)
    assert status == "checked" and problems == ["engine_version 16.99 does not exist for PostgreSQL on RDS in this"
                                                " region; accepted: 15.8, 16.4, 16.10"]


def test_an_unknown_class_is_refused_listing_the_classes_of_the_version():
    unused, problems, ignored = M.catalogue_check(AWS, "16.4", "db.m6g.enormous", "gp3", True, True, True)
    assert problems == ["instance_class db.m6g.enormous is not offered for PostgreSQL 16.4 in this region; accepted:"
                        " db.m6g.large, db.r7g.large, db.t4g.micro"]


def test_unsupported_storage_and_performance_insights_are_refused():
    unused, problems, ignored = M.catalogue_check(AWS, "16.4", "db.t4g.micro", "io1", True, True, True)
    assert problems == ["instance_class db.t4g.micro with PostgreSQL 16.4 does not offer storage_type io1; accepted: gp3",
                        "instance_class db.t4g.micro with PostgreSQL 16.4 does not support Performance Insights;"
                        " choose a larger class or turn performance_insights off"]


def test_an_endpoint_without_a_catalogue_is_a_warning_not_a_refusal():
    empty_catalogue = Catalogue([], [])
    status, problems, warnings = M.catalogue_check(empty_catalogue, "16.4", "db.m6g.large", "gp3", True, True, True)
    assert status == "unavailable" and problems == [] and "checked for their shape only" in warnings[0]
    assert [c[0] for c in empty_catalogue.calls] == ["describe_orderable_db_instance_options"] * 2  # never the
    # engine versions call, which moto answers with a 500


# ---------------------------------------------------------------------------------------------------------------
# Waiting


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def answers(*statuses):
    left = list(statuses)

    def describe():
        status = left.pop(0) if len(left) > 1 else left[0]
        return None if status is None else {"DBInstanceIdentifier": "db", "DBInstanceStatus": status}
    return describe


def test_the_wait_follows_creating_creating_available():
    clock = Clock()
    instance, seen, seconds = M.wait_available(answers("creating", "creating", "available"), "db", 600, interval=15,
                                               sleep=clock.sleep, clock=clock)
    assert instance["DBInstanceStatus"] == "available" and seen == ["creating", "available"]
    assert clock.sleeps == [2, 3] and seconds == 5


def test_the_wait_is_bounded_and_says_what_to_do():
    clock = Clock()
    with pytest.raises(M.WaitFailed) as failed:
        M.wait_available(answers("creating"), "db", 40, interval=15, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [2, 3, 4.5, 6.75, 10.125, 13.625]  # growing by half, capped by the time left
    assert str(failed.value) == ("db instance db is still creating after 40 s (statuses seen: creating); run again later"
                                 " with state=available (nothing is lost) or raise wait_timeout")


def test_the_wait_stops_at_a_status_the_instance_does_not_leave_by_itself():
    clock = Clock()
    with pytest.raises(M.WaitFailed) as failed:
        M.wait_available(answers("creating", "incompatible-parameters"), "db", 600, sleep=clock.sleep, clock=clock)
    assert "is incompatible-parameters (statuses seen: creating -> incompatible-parameters)" in str(failed.value)
    with pytest.raises(M.WaitFailed):
        M.wait_available(answers(None), "db", 600, sleep=clock.sleep, clock=clock)


def test_storage_optimization_counts_as_available():
    clock = Clock()
    instance, seen, unused = M.wait_available(answers("modifying", "storage-optimization"), "db", 600, sleep=clock.sleep,
                                              clock=clock)
    assert seen == ["modifying", "storage-optimization"]


def test_the_planner_does_not_change_its_input():
    p, observed = params(), in_place(params(), BackupRetentionPeriod=7)
    before = copy.deepcopy((p, observed))
    M.plan_postgres(p, observed)
    assert (p, observed) == before
