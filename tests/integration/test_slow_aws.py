"""The "slow AWS" proxy: for its delay after a long create, reads show the state AWS shows while it makes the
resource (RDS creating without an endpoint, a replication group creating, a distribution InProgress); then
moto's own answer; other resources and other calls pass unchanged."""

import time

import boto3
from conftest import distribution_config

from sandbox.aws_proxy import SlowAws


def clients(url):
    def make(service):
        return boto3.client(service, region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    return make


def test_long_creates_stay_creating_for_the_delay_then_become_ready(fresh):
    proxy = SlowAws(fresh["aws_endpoint_url"], delay=4)
    try:
        via, direct = clients(proxy.url), clients(fresh["aws_endpoint_url"])
        rds = via("rds")
        made = rds.create_db_instance(DBInstanceIdentifier="Slow-DB", Engine="postgres", DBInstanceClass="db.t4g.micro",
                                      AllocatedStorage=20, MasterUsername="admin_user", MasterUserPassword="x" * 16)
        assert made["DBInstance"]["DBInstanceStatus"] == "creating" and "Endpoint" not in made["DBInstance"]
        cache = via("elasticache")
        cache.create_replication_group(ReplicationGroupId="slow-redis", ReplicationGroupDescription="slow",
                                       Engine="redis", CacheNodeType="cache.t4g.micro", ReplicasPerNodeGroup=1)
        started = time.monotonic()

        db = rds.describe_db_instances(DBInstanceIdentifier="slow-db")["DBInstances"][0]
        assert db["DBInstanceStatus"] == "creating" and "Endpoint" not in db
        group = cache.describe_replication_groups(ReplicationGroupId="slow-redis")["ReplicationGroups"][0]
        assert group["Status"] == "creating"
        # moto itself has them ready: only the proxy's answers are slow
        assert direct("rds").describe_db_instances(DBInstanceIdentifier="slow-db")["DBInstances"][0][
            "DBInstanceStatus"] == "available"
        # another instance made behind the proxy's back is not slowed
        direct("rds").create_db_instance(DBInstanceIdentifier="other-db", Engine="postgres",
                                         DBInstanceClass="db.t4g.micro", AllocatedStorage=20,
                                         MasterUsername="admin_user", MasterUserPassword="x" * 16)
        other = rds.describe_db_instances(DBInstanceIdentifier="other-db")["DBInstances"][0]
        assert other["DBInstanceStatus"] == "available"

        time.sleep(max(0.0, 4.2 - (time.monotonic() - started)))
        db = rds.describe_db_instances(DBInstanceIdentifier="slow-db")["DBInstances"][0]
        assert db["DBInstanceStatus"] == "available" and db["Endpoint"]["Address"]
        group = cache.describe_replication_groups(ReplicationGroupId="slow-redis")["ReplicationGroups"][0]
        assert group["Status"] == "available"
        assert proxy.operations()[:2] == ["CreateDBInstance", "CreateReplicationGroup"]
    finally:
        proxy.close()


def test_a_distribution_is_in_progress_for_the_delay(fresh):
    proxy = SlowAws(fresh["aws_endpoint_url"], delay=3)
    try:
        cf = clients(proxy.url)("cloudfront")
        dist = cf.create_distribution(DistributionConfig=distribution_config("slow-1", "slow"))["Distribution"]
        started = time.monotonic()
        assert cf.get_distribution(Id=dist["Id"])["Distribution"]["Status"] == "InProgress"
        listed = cf.list_distributions()["DistributionList"]["Items"]
        assert [d["Status"] for d in listed if d["Id"] == dist["Id"]] == ["InProgress"]
        time.sleep(max(0.0, 3.2 - (time.monotonic() - started)))
        assert cf.get_distribution(Id=dist["Id"])["Distribution"]["Status"] == "Deployed"
    finally:
        proxy.close()
