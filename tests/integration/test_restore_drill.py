"""The restore drill end to end in a private sandbox: moto for RDS and Secrets Manager, and the sandbox's RDS
stand-in (sandbox/rds_standin.py) giving every instance moto holds a real PostgreSQL with TLS, a snapshot a physical
copy, a restored instance that copy - so the drill's data check runs against real PostgreSQL, not only moto.

One live database (moto instance + its stand-in cluster, seeded with tables) is shared by the module's tests; each
test runs playbooks/restore_drill.yml as a user would, through the recording proxy where the calls matter, and then
proves that nothing of the drill is left - in moto and in the stand-in. The times are printed (no timed assertion:
the 30-minute gate is proven by a tiny restore_drill_max_minutes making the run fail)."""

import json
import re
import time
import urllib.parse
from pathlib import Path

import psycopg
import pytest
from conftest import Recorder, aws_client, aws_module, playbook, post

from sandbox.aws_proxy import SlowAws

SOURCE = "directfanz-sandbox-db"    # <launch_name>-db of inventories/sandbox
MOTO_PASSWORD = "P@55w0rd!"           # the password moto puts in every managed master secret


def standin_state(sandbox):
    return json.loads(Path(sandbox["rds_standin"]["state_file"]).read_text())


def wait_standin(sandbox, predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = standin_state(sandbox)
        if predicate(state):
            return state
        time.sleep(0.2)
    raise AssertionError("RDS stand-in: %s not within %d s: %s" % (what, timeout, standin_state(sandbox)))


def connect(sandbox, identifier):
    info = standin_state(sandbox)["instances"][identifier]
    return psycopg.connect(host=info["endpoint"], hostaddr=info["address"], port=info["port"], user="postgres",
                           password=MOTO_PASSWORD, dbname="directfanz", sslmode="verify-full",
                           sslrootcert=sandbox["ca_file"], autocommit=True)


@pytest.fixture(scope="module")
def live(sandbox):
    """The data phase's database as moto and the stand-in hold it: subnet group, parameter group, a managed master
    secret under a KMS key, deletion protection, Multi-AZ; three tables of known sizes in it."""
    assert sandbox.get("rds_standin"), "the sandbox has no RDS stand-in: PostgreSQL is not installed"
    post(sandbox["aws_endpoint_url"] + "/moto-api/reset")
    wait_standin(sandbox, lambda s: not s["instances"], "clusters of an earlier test removed")
    ec2, kms, rds = (aws_client(sandbox, s) for s in ("ec2", "kms", "rds"))
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
               for cidr, az in (("10.40.128.0/20", "us-east-1a"), ("10.40.144.0/20", "us-east-1b"))]
    group = ec2.create_security_group(VpcId=vpc, GroupName="directfanz-sandbox-db", Description="db")["GroupId"]
    key = kms.create_key(Description="data")["KeyMetadata"]["Arn"]
    rds.create_db_subnet_group(DBSubnetGroupName=SOURCE, DBSubnetGroupDescription="db", SubnetIds=subnets)
    rds.create_db_parameter_group(DBParameterGroupName=SOURCE + "-postgres16", DBParameterGroupFamily="postgres16",
                                  Description="db")
    rds.create_db_instance(DBInstanceIdentifier=SOURCE, Engine="postgres", EngineVersion="16.6",
                           DBInstanceClass="db.t4g.medium", AllocatedStorage=100, StorageType="gp3",
                           MasterUsername="postgres", ManageMasterUserPassword=True, MasterUserSecretKmsKeyId=key,
                           StorageEncrypted=True, KmsKeyId=key, DBSubnetGroupName=SOURCE, VpcSecurityGroupIds=[group],
                           DBParameterGroupName=SOURCE + "-postgres16", DBName="directfanz", MultiAZ=True,
                           DeletionProtection=True, Tags=[{"Key": "project", "Value": "directfanz"}])
    wait_standin(sandbox, lambda s: s["instances"].get(SOURCE, {}).get("state") == "ready", "the live cluster")
    with connect(sandbox, SOURCE) as conn:
        conn.execute("CREATE TABLE creators (id serial PRIMARY KEY, handle text NOT NULL)")
        conn.execute("INSERT INTO creators (handle) SELECT 'creator' || g FROM generate_series(1, 400) g")
        conn.execute("CREATE TABLE payments (id serial PRIMARY KEY, creator int, cents int, note text)")
        conn.execute("INSERT INTO payments (creator, cents, note) SELECT g % 400, g, repeat('x', 200)"
                     " FROM generate_series(1, 5000) g")
        conn.execute("CREATE TABLE sessions (id serial PRIMARY KEY)")
        conn.execute("INSERT INTO sessions SELECT FROM generate_series(1, 50)")
        conn.execute("ANALYZE")
    return {"key": key, "group": group, "subnets": subnets}


@pytest.fixture()
def proxy(sandbox):
    recorder = Recorder(sandbox["aws_endpoint_url"])
    yield recorder
    recorder.close()


def drill(sandbox, *args, via=None):
    extra = ("-e", "launch_aws_endpoint_url=%s" % via.url) if via else ()
    return playbook(sandbox, *extra, *args, playbook_file="playbooks/restore_drill.yml")


def drill_leftovers(sandbox):
    """Every instance or snapshot of a drill that moto still holds, and every drill cluster the stand-in runs."""
    rds = aws_client(sandbox, "rds")
    names = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
    names += [s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]]
    moto = [n for n in names if "-drill-" in n]

    def standin(state):
        return [x for x in (*state["instances"], *state["snapshots"]) if "-drill-" in x]

    # the stand-in removes a deleted instance's cluster and a deleted snapshot's copy when it next follows moto
    state = wait_standin(sandbox, lambda s: not standin(s) or moto, "drill clusters and snapshot copies removed",
                         timeout=90)
    return moto + standin(state)


def sentinels(sandbox):
    with connect(sandbox, SOURCE) as conn:
        try:
            return [r[0] for r in conn.execute("SELECT id FROM launch_drill ORDER BY written_at")]
        except psycopg.errors.UndefinedTable:
            return []


def times(out):
    return [line.strip() for line in out.splitlines() if re.match(r"\s*- '?t[012] |\s*- '?restore point", line)]


def show(capsys, title, out):
    """The drill's times on the terminal even under pytest's capture (make test prints them)."""
    with capsys.disabled():
        print("\n" + "\n".join([title] + ["    " + line for line in times(out)]))


def test_the_drill_restores_checks_real_postgresql_prints_its_times_and_leaves_nothing(sandbox, live, proxy, capsys):
    run = drill(sandbox, "-vvv", via=proxy)
    assert run.rc == 0 and run.failed == 0, run.out[-6000:]
    show(capsys, "restore drill in the sandbox (manual snapshot, real PostgreSQL):", run.out)
    assert len(times(run.out)) == 4, run.out[-4000:]
    elapsed = float(re.search(r"t2 - t0 = ([0-9.]+) s", run.out).group(1))
    assert elapsed > 0
    # the data check ran against the restored copy: the sentinel, TLS verified against the endpoint's name, the
    # largest tables counted in the copy and live
    assert re.search(r"ssl=True TLSv1\.[23] \S+ \(verify-full against\s+%s-drill-\d{14}\.aaaaaaaaaa" % SOURCE, run.out)
    assert re.search(r"tables \(copy / live\) public\.payments 5000 5000; public\.creators 400 400;", run.out)
    assert re.search(r"sentinel\s+%s-drill-\d{14} written" % SOURCE, run.out)
    # the snapshot was made before the restore, everything deleted after, in that order
    writes = proxy.writes()
    assert writes[:2] == ["CreateDBSnapshot", "RestoreDBInstanceFromDBSnapshot"], writes
    assert writes[-2:] == ["DeleteDBInstance", "DeleteDBSnapshot"], writes
    assert "RestoreDBInstanceToPointInTime" not in writes
    assert drill_leftovers(sandbox) == []
    # the master password (moto's, in the managed secret) never shows, even at -vvv
    assert MOTO_PASSWORD not in run.out
    assert sentinels(sandbox)[-1] == re.search(r"sentinel\s+(%s-drill-\d{14})" % SOURCE, run.out).group(1)


class SlowRestore(SlowAws):
    """The slow-AWS proxy, extended to restores: the copy stays `creating` (without an endpoint) for ``delay`` s
    after the restore call, as on AWS, so the drill's wait - and t1 - t0 - is real."""

    def answer(self, method, path, name, body, status, data):
        if status < 300 and name == "RestoreDBInstanceFromDBSnapshot":
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            self.note("rds", (form.get("DBInstanceIdentifier") or [""])[0].lower())
        return super().answer(method, path, name, body, status, data)


def test_the_drill_waits_for_a_restore_that_takes_time(sandbox, live, capsys):
    slow = SlowRestore(sandbox["aws_endpoint_url"], 6)
    try:
        run = drill(sandbox, via=slow)
    finally:
        slow.close()
    assert run.rc == 0, run.out[-6000:]
    show(capsys, "restore drill, the copy kept creating for 6 s:", run.out)
    waited = float(re.search(r"t1 - t0 = ([0-9.]+) s", run.out).group(1))
    assert 5 <= waited < 60, run.out[-3000:]
    assert drill_leftovers(sandbox) == []


def test_a_point_in_time_drill_makes_no_snapshot(sandbox, live, proxy, capsys):
    run = drill(sandbox, "-e", "restore_drill_point_in_time=true", via=proxy)
    assert run.rc == 0, run.out[-6000:]
    show(capsys, "restore drill in the sandbox (point in time, real PostgreSQL):", run.out)
    assert "(point in time)" in run.out
    assert "RestoreDBInstanceToPointInTime" in proxy.writes()
    assert "CreateDBSnapshot" not in proxy.writes() and "DeleteDBSnapshot" not in proxy.writes()
    assert re.search(r"public\.payments 5000 5000", run.out)
    assert drill_leftovers(sandbox) == []


def test_a_drill_over_its_time_limit_fails_and_still_removes_what_it_made(sandbox, live):
    run = drill(sandbox, "-e", "restore_drill_max_minutes=0.0001")
    assert run.rc != 0 and run.failed == 1, run.out[-4000:]
    assert "over restore_drill_max_minutes=0.0001 (0.0 s)" in run.out
    assert "delete drill instance %s-drill-" % SOURCE in run.out
    assert drill_leftovers(sandbox) == []


def test_a_failed_data_check_still_removes_what_the_drill_made(sandbox, live, proxy):
    run = drill(sandbox, "-e", '{"restore_drill_required_tables": ["payments", "no_such_table"]}', via=proxy)
    assert run.rc != 0 and run.failed == 1, run.out[-4000:]
    assert "required table public.no_such_table is not in the restored copy" in run.out
    assert "required table public.payments" not in run.out
    assert "RestoreDBInstanceFromDBSnapshot" in proxy.writes() and "DeleteDBInstance" in proxy.writes()
    assert drill_leftovers(sandbox) == []


def test_check_mode_writes_nothing_anywhere(sandbox, live, proxy):
    before = sentinels(sandbox)
    run = drill(sandbox, "--check", via=proxy)
    assert run.rc == 0, run.out[-4000:]
    assert proxy.writes() == [], proxy.writes()
    assert run.changed >= 2  # the sentinel row and the restore, planned only
    assert sentinels(sandbox) == before and drill_leftovers(sandbox) == []


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_time_limit_that_is_not_positive_is_refused_before_any_call(sandbox, live, proxy, value):
    run = drill(sandbox, "-e", "restore_drill_max_minutes=%s" % value, via=proxy)
    assert run.rc != 0 and "restore_drill_max_minutes must be a number of minutes above 0" in run.out, run.out[-3000:]
    assert proxy.calls == []


def test_an_unknown_instance_is_refused_before_any_write(sandbox, live, proxy):
    run = drill(sandbox, "-e", "restore_drill_source=nope-db", via=proxy)
    assert run.rc != 0 and "no DB instance nope-db" in run.out, run.out[-3000:]
    assert proxy.writes() == [] and "DescribeDBInstances" in proxy.calls
    assert "nothing of the drill was left to remove" in run.out


def test_the_module_deletes_nothing_that_is_not_a_drills(sandbox, live, proxy):
    args = {"source": SOURCE, "state": "absent"}
    rc, out, result = aws_module(dict(sandbox, aws_endpoint_url=proxy.url), "rds_restore_drill", dict(args, name=SOURCE))
    assert rc != 0 and "is not a drill's name" in result["msg"] and proxy.calls == [], out
    # named like a drill, but not tagged as one: refused after the reads, nothing written
    rds = aws_client(sandbox, "rds")
    impostor = SOURCE + "-drill-20200101000000"
    rds.create_db_instance(DBInstanceIdentifier=impostor, Engine="postgres", DBInstanceClass="db.t4g.micro",
                           AllocatedStorage=20, MasterUsername="postgres", MasterUserPassword="not-the-drills-1")
    try:
        rc, out, result = aws_module(dict(sandbox, aws_endpoint_url=proxy.url), "rds_restore_drill",
                                     dict(args, name=impostor))
        assert rc != 0 and "refusing to delete DB instance %s: it is not tagged launch-drill=%s" % (impostor, SOURCE) \
            in result["msg"], out
        assert proxy.writes() == []
        assert rds.describe_db_instances(DBInstanceIdentifier=impostor)["DBInstances"]
    finally:
        rds.delete_db_instance(DBInstanceIdentifier=impostor, SkipFinalSnapshot=True)
    # nothing there: nothing to do, no write
    proxy.calls.clear()
    rc, out, result = aws_module(dict(sandbox, aws_endpoint_url=proxy.url), "rds_restore_drill",
                                 dict(args, name=SOURCE + "-drill-20200101000001"))
    assert rc == 0 and result["changed"] is False and proxy.writes() == [], out


def test_each_module_run_a_second_time_writes_nothing(sandbox, live, proxy):
    name = SOURCE + "-drill-20200101000002"
    via = dict(sandbox, aws_endpoint_url=proxy.url)
    sql = {"instance": SOURCE, "mode": "sentinel", "sentinel_id": name, "ca_file": sandbox["ca_file"],
           "resolvers": [sandbox["rds_standin"]["dns_server"]], "connect_timeout": 30}
    rc, out, first = aws_module(via, "rds_drill_data", sql)
    assert rc == 0 and first["changed"] is True and first["tls"]["ssl"] is True, out
    rc, out, again = aws_module(via, "rds_drill_data", sql)
    assert rc == 0 and again["changed"] is False and again["written_at"] == first["written_at"], out
    restore = {"source": SOURCE, "name": name, "wait_timeout": 60}
    try:
        rc, out, made = aws_module(via, "rds_restore_drill", restore)
        assert rc == 0 and made["changed"] is True and made["instance"]["status"] == "available", out
        assert made["instance"]["subnet_group"] == SOURCE and made["instance"]["security_groups"] == [live["group"]]
        assert made["instance"]["parameter_group"] == SOURCE + "-postgres16" and made["t0"] and made["t1"]
        proxy.calls.clear()
        rc, out, second = aws_module(via, "rds_restore_drill", restore)
        assert rc == 0 and second["changed"] is False and proxy.writes() == [], out
    finally:
        rc, out, removed = aws_module(via, "rds_restore_drill", dict(restore, state="absent"))
    assert rc == 0 and removed["changed"] is True, out
    assert drill_leftovers(sandbox) == []
