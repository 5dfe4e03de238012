"""rds_postgres against the moto server, through the recording proxy: check mode on an empty account plans and
writes nothing, a first run makes the subnet group, the parameter group and the instance with every setting read
back from moto, a second run makes no write call, bad input stops before any call, an instance class or engine
version AWS does not offer is refused after reads only (moto has no PostgreSQL catalogue, so a second proxy answers
AWS's catalogue calls with canned answers), a major version change is refused with nothing changed, a change is
made and read back, state=available returns the endpoint, and the master password never appears at -vvv.
moto makes an instance available at once; the lead's "slow AWS" proxy keeps it `creating` for a few seconds, which
is where `wait: false` returning at once and `state: available` waiting are shown."""

import urllib.parse

import pytest
from conftest import aws_client as client
from conftest import module

from sandbox.aws_proxy import AwsProxy, SlowAws

PARAMETERS = {"rds.force_ssl": 1, "shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all",
              "log_min_duration_statement": 500}
ROLE = "arn:aws:iam::123456789012:role/directfanz-rds-monitoring"


@pytest.fixture()
def world(fresh):
    """What the network phase and the KMS task leave: two private subnets, the db security group, a key with an
    alias."""
    ec2, kms = client(fresh, "ec2"), client(fresh, "kms")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
               for cidr, az in (("10.40.128.0/20", "us-east-1a"), ("10.40.144.0/20", "us-east-1b"))]
    group = ec2.create_security_group(VpcId=vpc, GroupName="directfanz-db", Description="db")["GroupId"]
    key = kms.create_key(Description="directfanz rds")["KeyMetadata"]
    kms.create_alias(AliasName="alias/directfanz-rds", TargetKeyId=key["KeyId"])
    return {"subnets": subnets, "group": group, "key_arn": key["Arn"], "vpc": vpc}


def args(world, **over):
    a = {"identifier": "directfanz-db", "engine_version": "16.4", "instance_class": "db.m6g.large",
         "allocated_storage": 100, "max_allocated_storage": 500, "kms_key_id": "alias/directfanz-rds",
         "master_user_secret_kms_key_id": "alias/directfanz-rds", "monitoring_role_arn": ROLE,
         "subnet_ids": world["subnets"], "vpc_security_group_ids": [world["group"]], "parameters": PARAMETERS,
         "tags": {"project": "directfanz"}, "wait": False}
    a.update(over)
    return a


def rds_postgres(sandbox, params, *flags, via=None):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    full = dict({"region": "us-east-1", "endpoint_url": endpoint, "access_key": "testing",
                 "secret_key": sandbox["aws_secret_key"]}, **params)
    return module("rds_postgres", full, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def nothing_made(sandbox):
    rds = client(sandbox, "rds")
    return (rds.describe_db_instances()["DBInstances"] == [] and rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
            and [g for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
                 if not g["DBParameterGroupName"].startswith("default.")] == [])


def test_check_mode_on_an_empty_account_plans_everything_and_writes_nothing(fresh, world, recorder):
    rc, out, result = rds_postgres(fresh, args(world), "--check", "--diff", via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"][0].startswith("create db subnet group directfanz-db (")
    assert result["actions"][1] == "create db parameter group directfanz-db-postgres16 (postgres16)"
    assert "set rds.force_ssl = 1 in db parameter group directfanz-db-postgres16" in result["actions"]
    assert result["actions"][-1] == "create db instance directfanz-db (postgres 16.4, db.m6g.large, 100 GiB gp3, Multi-AZ)"
    assert result["arn"] == "(new db instance directfanz-db)" and result["status"] == "absent"
    assert result["kms_key_arn"] == world["key_arn"]
    assert result["diff"]["before"] == {} and result["diff"]["after"]["instance"]["multi_az"] is True
    assert recorder.calls and recorder.writes() == [] and nothing_made(fresh), recorder.calls


def test_first_run_creates_everything_as_asked_and_the_second_writes_nothing(fresh, world, recorder):
    rc, out, first = rds_postgres(fresh, args(world), via=recorder)
    assert rc == 0 and first["changed"] is True, out
    assert recorder.writes() == ["CreateDBSubnetGroup", "CreateDBParameterGroup", "ModifyDBParameterGroup",
                                 "CreateDBInstance"]
    # moto has no catalogue for postgres: said, not hidden
    assert first["catalogue"] == "unavailable"
    assert any("checked for their shape only" in w for w in first["warnings"]), first["warnings"]

    rds = client(fresh, "rds")
    db = rds.describe_db_instances(DBInstanceIdentifier="directfanz-db")["DBInstances"][0]
    assert (db["Engine"], db["EngineVersion"], db["DBInstanceClass"]) == ("postgres", "16.4", "db.m6g.large")
    assert db["MultiAZ"] is True and db["StorageType"] == "gp3"
    assert db["AllocatedStorage"] == 100 and db["MaxAllocatedStorage"] == 500
    assert db["StorageEncrypted"] is True
    kms = client(fresh, "kms")
    assert kms.describe_key(KeyId=db["KmsKeyId"])["KeyMetadata"]["Arn"] == world["key_arn"]
    assert db["MasterUserSecret"]["SecretArn"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!")
    assert db["MasterUserSecret"]["KmsKeyId"] == world["key_arn"]
    assert db["BackupRetentionPeriod"] == 30 and db["PreferredBackupWindow"] == "03:00-03:30"
    assert db["PreferredMaintenanceWindow"] == "sun:04:00-sun:04:30"
    assert db["CopyTagsToSnapshot"] is True and db["DeletionProtection"] is True
    assert db["MonitoringInterval"] == 60 and db["MonitoringRoleArn"] == ROLE
    assert sorted(db["EnabledCloudwatchLogsExports"]) == ["postgresql", "upgrade"]
    assert db["PubliclyAccessible"] is False
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [world["group"]]
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == "directfanz-db"
    assert sorted(s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]) == sorted(world["subnets"])
    assert db["DBParameterGroups"][0]["DBParameterGroupName"] == "directfanz-db-postgres16"
    tags = {t["Key"]: t["Value"] for t in db["TagList"]}
    assert tags == {"project": "directfanz", "managed-by": "directfanz.launch"}
    # moto keeps no Performance Insights field (PerformanceInsightsEnabled is absent): a gap, reported on the re-run
    assert "PerformanceInsightsEnabled" not in db

    group = rds.describe_db_parameter_groups(DBParameterGroupName="directfanz-db-postgres16")["DBParameterGroups"][0]
    assert group["DBParameterGroupFamily"] == "postgres16"
    found = {x["ParameterName"]: (x["ParameterValue"], x["ApplyMethod"])
             for x in rds.describe_db_parameters(DBParameterGroupName="directfanz-db-postgres16")["Parameters"]}
    assert found == {"rds.force_ssl": ("1", "immediate"),
                     "shared_preload_libraries": ("pg_stat_statements", "pending-reboot"),
                     "pg_stat_statements.track": ("all", "immediate"),
                     "log_min_duration_statement": ("500", "immediate")}

    assert first["endpoint"] == db["Endpoint"]["Address"] and first["port"] == 5432
    assert first["master_user_secret_arn"] == db["MasterUserSecret"]["SecretArn"]
    assert first["arn"] == db["DBInstanceArn"] and first["status"] == "available"

    recorder.calls.clear()
    rc, out, second = rds_postgres(fresh, args(world), via=recorder)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert second["catalogue"] == "unchanged"  # class and version did not change: the catalogue is not asked
    assert second["warnings"] == ["db instance directfanz-db: the endpoint does not report PerformanceInsightsEnabled"
                                  " (moto does not implement Performance Insights); its Performance Insights settings"
                                  " were sent at creation but cannot be compared"]


def test_a_change_is_made_read_back_and_then_quiet(fresh, world, recorder):
    assert rds_postgres(fresh, args(world))[0] == 0
    changed = args(world, backup_retention=14, parameters=dict(PARAMETERS, log_min_duration_statement=250),
                   apply_immediately=True, tags={"project": "directfanz", "tier": "data"})
    rc, out, result = rds_postgres(fresh, changed, "--diff", via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == [
        "tag db subnet group directfanz-db: tier=data",
        "set log_min_duration_statement = 250 in db parameter group directfanz-db-postgres16 (was 500)",
        "tag db parameter group directfanz-db-postgres16: tier=data",
        "modify db instance directfanz-db: backup_retention 30 -> 14",
        "tag db instance directfanz-db: tier=data"]
    assert recorder.writes() == ["AddTagsToResource", "ModifyDBParameterGroup", "AddTagsToResource", "ModifyDBInstance",
                                 "AddTagsToResource"]
    assert result["diff"]["before"]["instance"]["backup_retention"] == 30
    rds = client(fresh, "rds")
    assert rds.describe_db_instances(DBInstanceIdentifier="directfanz-db")["DBInstances"][0]["BackupRetentionPeriod"] == 14
    found = {x["ParameterName"]: x["ParameterValue"]
             for x in rds.describe_db_parameters(DBParameterGroupName="directfanz-db-postgres16")["Parameters"]}
    assert found["log_min_duration_statement"] == "250"
    recorder.calls.clear()
    rc, out, again = rds_postgres(fresh, changed, via=recorder)
    assert rc == 0 and again["changed"] is False and recorder.writes() == [], out


def test_an_engine_major_version_change_is_refused_with_nothing_changed(fresh, world, recorder):
    assert rds_postgres(fresh, args(world))[0] == 0
    rc, out, result = rds_postgres(fresh, args(world, engine_version="17.2"), via=recorder)
    assert rc != 0 and "engine_version 16.4 -> 17.2 is a major version upgrade" in result["msg"], out
    assert "add engine_major_version to allow_disruptive" in result["msg"] and "nothing was changed" in result["msg"]
    assert recorder.calls and recorder.writes() == [], recorder.calls
    db = client(fresh, "rds").describe_db_instances(DBInstanceIdentifier="directfanz-db")["DBInstances"][0]
    assert db["EngineVersion"] == "16.4"
    assert client(fresh, "rds").describe_db_parameter_groups(DBParameterGroupName="directfanz-db-postgres16")


def test_a_new_kms_key_for_the_storage_is_refused(fresh, world, recorder):
    assert rds_postgres(fresh, args(world))[0] == 0
    other = client(fresh, "kms").create_key()["KeyMetadata"]
    rc, out, result = rds_postgres(fresh, args(world, kms_key_id=other["Arn"]), via=recorder)
    assert rc != 0 and "the storage KMS key cannot be changed in place" in result["msg"], out
    assert recorder.writes() == []


@pytest.mark.parametrize("over, expected", [
    ({"instance_class": "m6g.large"}, "instance_class 'm6g.large' is not valid; accepted: db.<family>.<size>"),
    ({"engine_version": "sixteen"}, "engine_version 'sixteen' is not valid; accepted: a PostgreSQL version"),
    ({"backup_window": "04:00-04:30"}, "backup_window 04:00-04:30 overlaps maintenance_window"),
    ({"subnet_ids": ["subnet-0a1b2c3d4e"]}, "subnet_ids has 1 distinct subnet; accepted: at least two"),
    ({"monitoring_role_arn": None}, "monitoring_role_arn is missing"),
])
def test_bad_input_is_refused_before_any_call(fresh, world, recorder, over, expected):
    rc, out, result = rds_postgres(fresh, args(world, **over), via=recorder)
    assert rc != 0 and expected in result["msg"] and "no AWS call was made" in result["msg"], out
    assert recorder.calls == []


def test_a_storage_key_that_does_not_exist_is_refused_after_reads_only(fresh, world, recorder):
    rc, out, result = rds_postgres(fresh, args(world, kms_key_id="alias/nope"), via=recorder)
    assert rc != 0 and "kms key alias/nope does not exist in us-east-1" in result["msg"], out
    assert recorder.writes() == [] and nothing_made(fresh)


def test_state_available_returns_the_endpoint_and_fails_on_a_missing_instance(fresh, world, recorder):
    rc, out, result = rds_postgres(fresh, {"identifier": "directfanz-db", "state": "available", "wait_timeout": 30},
                                   via=recorder)
    assert rc != 0 and "db instance directfanz-db does not exist; run with state=present first" in result["msg"], out
    rc, out, result = rds_postgres(fresh, {"identifier": "directfanz-db", "state": "available"}, "--check")
    assert rc == 0 and result["status"] == "absent" and result["changed"] is False, out
    assert rds_postgres(fresh, args(world, wait=False))[0] == 0
    recorder.calls.clear()
    rc, out, result = rds_postgres(fresh, {"identifier": "directfanz-db", "state": "available"}, via=recorder)
    assert rc == 0 and result["changed"] is False and result["status"] == "available", out
    assert result["endpoint"].startswith("directfanz-db.") and result["port"] == 5432
    assert result["waited"]["statuses"] == ["available"]
    # moto keeps the key as it was given (an alias); AWS reports its ARN, so there the instance read is the only call
    assert set(recorder.operations()) == {"DescribeDBInstances", "DescribeKey"}
    assert result["kms_key_arn"] == world["key_arn"]


def test_wait_false_returns_while_creating_and_state_available_waits_for_it(fresh, world):
    slow = SlowAws(fresh["aws_endpoint_url"], delay=20)
    try:
        rc, out, started = rds_postgres(fresh, args(world, wait=False), via=slow)
        assert rc == 0 and started["changed"] is True, out
        assert started["status"] == "creating" and started["endpoint"] == "", started
        # a second run while AWS is still creating it changes nothing and does not fail
        rc, out, again = rds_postgres(fresh, args(world), via=slow)
        assert rc == 0 and again["changed"] is False and again["status"] == "creating", out
        rc, out, ready = rds_postgres(fresh, {"identifier": "directfanz-db", "state": "available", "wait_timeout": 60},
                                      via=slow)
        assert rc == 0 and ready["status"] == "available" and ready["endpoint"].startswith("directfanz-db."), out
        assert ready["waited"]["statuses"] == ["creating", "available"] and ready["waited"]["seconds"] > 0
        rc, out, short = rds_postgres(fresh, {"identifier": "directfanz-db", "state": "available", "wait_timeout": 1},
                                      via=slow)
        assert rc == 0 and short["waited"]["statuses"] == ["available"], out  # ready now: no wait
    finally:
        slow.close()


def test_the_master_password_is_never_printed(fresh, world):
    rc, out, unused = rds_postgres(fresh, args(world), "-vvv")
    assert rc == 0, out
    db = client(fresh, "rds").describe_db_instances(DBInstanceIdentifier="directfanz-db")["DBInstances"][0]
    secret = client(fresh, "secretsmanager").get_secret_value(SecretId=db["MasterUserSecret"]["SecretArn"])
    password = __import__("json").loads(secret["SecretString"])["password"]
    assert len(password) >= 8 and password not in out
    rc, out, unused = rds_postgres(fresh, args(world), "-vvv")
    assert rc == 0 and password not in out and fresh["aws_secret_key"] not in out


# ---------------------------------------------------------------------------------------------------------------
# AWS's catalogue on canned answers (moto: DescribeOrderableDBInstanceOptions lists nothing for postgres and
# DescribeDBEngineVersions is not implemented)

CATALOGUE = [("16.4", "db.m6g.large"), ("16.4", "db.r7g.large"), ("15.8", "db.m6g.large")]


def canned(action, query):
    ns = "http://rds.amazonaws.com/doc/2014-10-31/"
    if action == "DescribeOrderableDBInstanceOptions":
        rows = [(v, c) for v, c in CATALOGUE if query.get("EngineVersion", v) == v and query.get("DBInstanceClass", c) == c]
        body = "".join("<OrderableDBInstanceOption><Engine>postgres</Engine><EngineVersion>%s</EngineVersion>"
                       "<DBInstanceClass>%s</DBInstanceClass><StorageType>gp3</StorageType><MultiAZCapable>true"
                       "</MultiAZCapable><SupportsPerformanceInsights>true</SupportsPerformanceInsights>"
                       "<SupportsEnhancedMonitoring>true</SupportsEnhancedMonitoring></OrderableDBInstanceOption>"
                       % row for row in rows)
        inner = "<OrderableDBInstanceOptions>%s</OrderableDBInstanceOptions>" % body
    else:
        versions = sorted(set(v for v, unused in CATALOGUE if query.get("EngineVersion", v) == v))
        inner = "<DBEngineVersions>%s</DBEngineVersions>" % "".join(
            "<DBEngineVersion><Engine>postgres</Engine><EngineVersion>%s</EngineVersion><DBParameterGroupFamily>postgres%s"
            "</DBParameterGroupFamily></DBEngineVersion>" % (v, v.split(".")[0]) for v in versions)
    return ('<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>canned</RequestId>'
            '</ResponseMetadata></%sResponse>' % (action, ns, action, inner, action, action)).encode()


class CatalogueProxy(AwsProxy):
    """Forwards to moto, except AWS's two catalogue calls, which it answers itself; notes every operation."""

    def canned(self, method, path, name, body):
        if name not in ("DescribeOrderableDBInstanceOptions", "DescribeDBEngineVersions"):
            return None
        query = dict((k, v[0]) for k, v in urllib.parse.parse_qs(body.decode()).items())
        return 200, [("Content-Type", "text/xml")], canned(name, query)


@pytest.fixture()
def catalogue(fresh):
    proxy = CatalogueProxy(fresh["aws_endpoint_url"])
    yield proxy
    proxy.close()


def test_with_a_catalogue_an_unknown_class_is_refused_listing_the_classes_after_reads_only(fresh, world, catalogue):
    rc, out, result = rds_postgres(fresh, args(world, instance_class="db.m6g.enormous"), via=catalogue)
    assert rc != 0, out
    assert ("instance_class db.m6g.enormous is not offered for PostgreSQL 16.4 in this region; accepted: db.m6g.large,"
            " db.r7g.large") in result["msg"]
    assert catalogue.writes() == [] and "DescribeOrderableDBInstanceOptions" in catalogue.calls
    assert nothing_made(fresh)


def test_with_a_catalogue_an_unknown_version_is_refused_listing_the_versions_after_reads_only(fresh, world, catalogue):
    rc, out, result = rds_postgres(fresh, args(world, engine_version="16.99"), via=catalogue)
    assert rc != 0, out
    assert "engine_version 16.99 does not exist for PostgreSQL on RDS in this region; accepted: 15.8, 16.4" in result["msg"]
    assert catalogue.writes() == [] and "DescribeDBEngineVersions" in catalogue.calls and nothing_made(fresh)


def test_with_a_catalogue_a_known_class_and_version_are_created(fresh, world, catalogue):
    rc, out, result = rds_postgres(fresh, args(world), via=catalogue)
    assert rc == 0 and result["catalogue"] == "checked" and result["changed"] is True, out
    assert not any("shape only" in w for w in result.get("warnings", []))


def test_launch_facts_finds_the_network_phase_subnets_and_security_groups(fresh):
    ec2 = client(fresh, "ec2")

    def tags(name):
        return [{"ResourceType": kind, "Tags": [{"Key": "managed-by", "Value": "directfanz.launch"},
                                                {"Key": "launch-network", "Value": "directfanz"},
                                                {"Key": "Name", "Value": name}]} for kind in ("vpc",)]
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16", TagSpecifications=tags("directfanz"))["Vpc"]["VpcId"]
    made = {}
    for name, cidr, az in (("directfanz-private-us-east-1b", "10.40.144.0/20", "us-east-1b"),
                           ("directfanz-private-us-east-1a", "10.40.128.0/20", "us-east-1a"),
                           ("directfanz-public-us-east-1a", "10.40.0.0/20", "us-east-1a")):
        spec = [dict(tags(name)[0], ResourceType="subnet")]
        made[name] = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az,
                                       TagSpecifications=spec)["Subnet"]["SubnetId"]
    db = ec2.create_security_group(VpcId=vpc, GroupName="directfanz-db", Description="db",
                                   TagSpecifications=[dict(tags("directfanz-db")[0], ResourceType="security-group")])
    params = {"network_name": "directfanz", "region": "us-east-1", "endpoint_url": fresh["aws_endpoint_url"],
              "access_key": "testing", "secret_key": fresh["aws_secret_key"]}
    rc, out, result = module("launch_facts", params, env={"AWS_ENDPOINT_URL": fresh["aws_endpoint_url"]})
    assert rc == 0, out
    assert result["network"] == {"vpc_id": vpc, "public_subnet_ids": [made["directfanz-public-us-east-1a"]],
                                 "private_subnet_ids": [made["directfanz-private-us-east-1a"],
                                                        made["directfanz-private-us-east-1b"]],
                                 "security_group_ids": {"db": db["GroupId"]}}
    rc, out, result = module("launch_facts", dict(params, network_name="other"),
                             env={"AWS_ENDPOINT_URL": fresh["aws_endpoint_url"]})
    assert rc == 0 and result["network"] == {}, out


# ---------------------------------------------------------------------------------------------------------------
# The role's database tasks, on a network made by vpc_network (moto must load AWS's managed IAM policies -
# MOTO_IAM_LOAD_MANAGED_POLICIES=true - for AmazonRDSEnhancedMonitoringRole to exist, as it does on AWS)

ROLE_PLAY = """
- name: The data phase's database tasks
  hosts: localhost
  gather_facts: false
  vars:
    launch_name: rolecheck
    launch_aws_account_id: "123456789012"
    launch_aws_region: us-east-1  # the data key's policy names its region (as every inventory sets it)
    launch_tags: {project: directfanz}
    rds_pgbouncer_engine_version: "16.4"
  module_defaults:
    group/amazon.aws.aws: &aws {region: us-east-1, endpoint_url: "%(url)s", access_key: testing, secret_key: "%(key)s"}
    directfanz.launch.launch_facts: *aws
    directfanz.launch.rds_postgres: *aws
  tasks:
    - name: Start the database
      ansible.builtin.include_role:
        name: directfanz.launch.rds_pgbouncer
        tasks_from: database
    - name: Keep what later tasks get for the test
      ansible.builtin.copy:
        content: "{{ rds_pgbouncer_db | to_json }}"
        dest: "%(facts)s"
        mode: "0600"
      check_mode: false
      changed_when: false
"""


def role_run(sandbox, tmp_path, *flags, via=None):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    url = via.url if via else sandbox["aws_endpoint_url"]
    play = tmp_path / "database.yml"
    facts_file = tmp_path / "facts.json"
    facts_file.unlink(missing_ok=True)
    play.write_text(ROLE_PLAY % {"url": url, "key": sandbox["aws_secret_key"], "facts": facts_file})
    env = dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_NOCOLOR="1", AWS_ENDPOINT_URL=url)
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(play), "-i", "localhost,", "-c",
                           "local", "-e", "ansible_python_interpreter=%s" % sys.executable, *flags], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    recap = __import__("re").search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)", out)
    found = json.loads(facts_file.read_text()) if facts_file.exists() else {}
    return proc.returncode, out, found, int(recap.group(2)) if recap else None


def test_the_role_starts_the_database_on_the_network_phase_and_a_rerun_changes_nothing(fresh, tmp_path):
    security_groups = [{"name": "app", "ingress": [{"ports": [3000], "cidrs": ["10.40.0.0/16"]}]},
                       {"name": "db", "ingress": [{"ports": [5432, 6432], "from_groups": ["app"]}]}]
    rc, out, network = module("vpc_network", {
        "name": "rolecheck", "cidr": "10.40.0.0/16", "availability_zones": ["us-east-1a", "us-east-1b"],
        "public_subnets": ["10.40.0.0/20", "10.40.16.0/20"], "private_subnets": ["10.40.128.0/20", "10.40.144.0/20"],
        "nat_gateways": "none", "security_groups": security_groups, "region": "us-east-1",
        "endpoint_url": fresh["aws_endpoint_url"], "access_key": "testing", "secret_key": fresh["aws_secret_key"]},
        env={"AWS_ENDPOINT_URL": fresh["aws_endpoint_url"]})
    assert rc == 0, out

    rc, out, facts, changed = role_run(fresh, tmp_path, "--check")
    assert rc == 0 and changed >= 3, out
    assert facts["status"] == "absent" and facts["arn"] == "(new db instance rolecheck-db)", facts
    assert nothing_made(fresh)
    assert not [a for a in client(fresh, "kms").list_aliases()["Aliases"] if a["AliasName"].startswith("alias/rolecheck")]
    assert client(fresh, "iam").list_roles()["Roles"] == []

    rc, out, facts, changed = role_run(fresh, tmp_path)
    assert rc == 0 and changed == 3, out  # key, role, instance
    kms, iam, rds = client(fresh, "kms"), client(fresh, "iam"), client(fresh, "rds")
    alias = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/rolecheck-data"][0]
    key = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER" and kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]
    role = iam.get_role(RoleName="rolecheck-rds-monitoring")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="rolecheck-rds-monitoring")[
        "AttachedPolicies"]] == ["AmazonRDSEnhancedMonitoringRole"]
    db = rds.describe_db_instances(DBInstanceIdentifier="rolecheck-db")["DBInstances"][0]
    assert kms.describe_key(KeyId=db["KmsKeyId"])["KeyMetadata"]["Arn"] == key["Arn"]
    assert db["MasterUserSecret"]["KmsKeyId"] == key["Arn"] and db["MonitoringRoleArn"] == role["Arn"]
    assert sorted(s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]) == sorted(network["private_subnet_ids"])
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [network["security_group_ids"]["db"]]
    assert db["DBName"] == "directfanz" and db["DBInstanceClass"] == "db.t4g.medium"
    params = {x["ParameterName"]: x["ParameterValue"]
              for x in rds.describe_db_parameters(DBParameterGroupName="rolecheck-db-postgres16")["Parameters"]}
    assert params["rds.force_ssl"] == "1" and params["log_min_duration_statement"] == "500"
    assert facts == dict(facts, identifier="rolecheck-db", arn=db["DBInstanceArn"], status="available",
                         endpoint=db["Endpoint"]["Address"], port=5432, kms_key_arn=key["Arn"],
                         master_user_secret_arn=db["MasterUserSecret"]["SecretArn"], started=True), facts

    rc, out, facts, changed = role_run(fresh, tmp_path)
    assert rc == 0 and changed == 0, out
    assert facts["started"] is False and facts["endpoint"] == db["Endpoint"]["Address"]


def test_the_role_refuses_to_start_the_database_without_its_network(fresh, tmp_path):
    rc, out, unused, ignored = role_run(fresh, tmp_path)
    assert rc != 0 and "Run the network phase first" in out, out
    assert nothing_made(fresh)
    rc, out, facts, unused = role_run(fresh, tmp_path, "--check")
    assert rc == 0 and "nothing to plan yet: network rolecheck does not exist" in out, out
