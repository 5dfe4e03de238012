"""long_creates against moto behind the "slow AWS" proxy: it waits for the database, the cache and the
distribution together (about the longest delay, not their sum), reports each one's start and readiness and the
endpoints, reads once without waiting in check mode, reports what is absent, and times out naming what is behind."""

from conftest import aws_client as client
from conftest import aws_module, distribution_config

from sandbox.aws_proxy import SlowAws


def make_all(url, fresh):
    """An RDS instance, a replication group and one of our distributions, made through ``url``."""
    def c(service):
        return client(dict(fresh, aws_endpoint_url=url), service)
    c("rds").create_db_instance(DBInstanceIdentifier="lc-db", Engine="postgres", DBInstanceClass="db.t4g.micro",
                                AllocatedStorage=20, MasterUsername="admin_user", MasterUserPassword="x" * 16)
    c("elasticache").create_replication_group(ReplicationGroupId="lc-redis", ReplicationGroupDescription="lc",
                                              Engine="redis", CacheNodeType="cache.t4g.micro", ReplicasPerNodeGroup=1)
    config = distribution_config("lc-1", "lc (managed by directfanz.launch)")
    c("cloudfront").create_distribution_with_tags(DistributionConfigWithTags={
        "DistributionConfig": config, "Tags": {"Items": [{"Key": "managed-by", "Value": "directfanz.launch"},
                                                         {"Key": "launch-distribution", "Value": "lc"}]}})


ARGS = {"db_instances": ["lc-db"], "replication_groups": ["lc-redis"], "distributions": ["lc"], "poll_interval": 1}


def test_three_long_creates_are_awaited_together(fresh):
    proxy = SlowAws(fresh["aws_endpoint_url"], delay=8)
    try:
        make_all(proxy.url, fresh)
        slow = dict(fresh, aws_endpoint_url=proxy.url)
        rc, out, checked = aws_module(slow, "long_creates", ARGS, "--check")
        assert rc == 0 and sorted(r["status"] for r in checked["resources"]) == ["InProgress", "creating", "creating"], out

        rc, out, result = aws_module(slow, "long_creates", ARGS)
        assert rc == 0 and result["changed"] is False, out
        by_kind = {r["kind"]: r for r in result["resources"]}
        assert by_kind["rds"]["status"] == "available" and by_kind["rds"]["endpoint"]
        assert by_kind["redis"]["status"] == "available" and by_kind["cloudfront"]["status"] == "Deployed"
        # all three were still being made when the wait began and were awaited in the same loop (how long that
        # takes is measured by `make bench`, not asserted here)
        assert all(r["ready_after"] > 0 and r["started"] for r in by_kind.values()), result["resources"]
        assert len(result["critical_path"]) == 3 and "ready after" in result["critical_path"][-1]

        rc, out, again = aws_module(slow, "long_creates", ARGS)
        assert rc == 0 and all(r["ready_after"] == 0 for r in again["resources"]), out
        assert all("ready already" in line for line in again["critical_path"])
    finally:
        proxy.close()


def test_absent_resources_are_reported_and_a_timeout_names_what_is_behind(fresh):
    rc, out, result = aws_module(fresh, "long_creates", ARGS)
    assert rc == 0 and [r["status"] for r in result["resources"]] == ["absent"] * 3, out
    assert all("absent" in line for line in result["critical_path"])

    proxy = SlowAws(fresh["aws_endpoint_url"], delay=60)
    try:
        make_all(proxy.url, fresh)
        rc, out, result = aws_module(dict(fresh, aws_endpoint_url=proxy.url), "long_creates",
                                     dict(ARGS, wait_timeout=2))
        assert rc != 0 and "still not ready after 2 s" in out and "rds lc-db (creating)" in out, out
        assert "they go on by themselves" in out
    finally:
        proxy.close()


def test_bad_options_are_refused(fresh):
    rc, out, unused = aws_module(fresh, "long_creates", dict(ARGS, poll_interval=0))
    assert rc != 0 and "poll_interval 1 or more seconds (got 2400 and 0)" in out, out
