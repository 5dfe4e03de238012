"""The sandbox itself: loopback only, one at a time, and `down` stops exactly what `up` started."""

import ipaddress
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlparse

from conftest import ROOT, aws_client, post


def manage(env, *args):
    return subprocess.run([sys.executable, "-m", "sandbox.manage", *args], check=False, cwd=ROOT, env=env,
                          capture_output=True,
                          text=True, timeout=120)


def test_everything_is_on_loopback_with_dummy_credentials(sandbox):
    for key in ("aws_endpoint_url", "hostinger_api_url"):
        assert ipaddress.ip_address(urlparse(sandbox[key]).hostname).is_loopback
    assert all(s.startswith("127.") for s in sandbox["dns_servers"])
    env_file = open(os.path.join(sandbox["dir"], "env")).read()
    assert "export AWS_ENDPOINT_URL=%s" % sandbox["aws_endpoint_url"] in env_file
    assert "export AWS_ACCESS_KEY_ID=testing" in env_file and "unset AWS_PROFILE" in env_file


def test_moto_counts_the_requests_that_may_change_it_and_the_stand_ins_only_read(sandbox):
    """The count the stand-ins follow (sandbox/changes.py): reads leave it, writes move it, and with the stand-ins
    all following an idle sandbox nothing but the test moves it (a follower that wrote would read itself forever)."""
    url = sandbox["aws_endpoint_url"] + "/__sandbox/changes"

    def count():
        return post(url, method="GET")["changes"]

    s3, sqs = aws_client(sandbox, "s3"), aws_client(sandbox, "sqs")
    before = count()
    s3.list_buckets()
    sqs.list_queues()                       # query protocol (its Action in the form body)
    aws_client(sandbox, "ecs").list_clusters()  # JSON protocol (X-Amz-Target)
    assert count() == before
    s3.create_bucket(Bucket="changes-count-probe")
    sqs.create_queue(QueueName="changes-count-probe")
    assert count() == before + 2
    s3.delete_bucket(Bucket="changes-count-probe")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="changes-count-probe")["QueueUrl"])
    settled = count()
    time.sleep(5)                            # a few rounds of every follower
    assert count() == settled


def test_a_second_up_says_one_is_running(sandbox):
    second = manage(sandbox["env"], "up")
    assert second.returncode == 1 and "already running" in second.stdout


def test_up_and_down_on_free_ports_stop_exactly_what_was_started(tmp_path):
    env = dict(os.environ, LAUNCH_SANDBOX_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    assert manage(env, "up").returncode == 0
    state = json.loads((tmp_path / "endpoints.json").read_text())
    pids = [p["pid"] for p in state["processes"]]
    # the DNS world (nsd, unbound), the RDS stand-in (PostgreSQL), the task runner, the platform (ffmpeg, localstripe)
    # and the edge (nginx, ModSecurity, Redis, PgBouncer) are installed by `make test` as root
    assert [p["name"] for p in state["processes"]] == ["moto", "hostinger", "dns", "dns_world", "rds_standin",
                                                       "task_runner", "platform", "edge"]
    # the edge's own children (nginx and its workers) go down with it
    edge = json.loads((tmp_path / "edge.json").read_text())
    pids += [edge["children"]["nginx"]] + edge["children"]["nginx_workers"]
    platform = json.loads((tmp_path / "platform.json").read_text())
    assert platform["services"].keys() == {"web", "ws", "stream"} and platform["openapi_file"]
    down = manage(env, "down")
    assert down.returncode == 0 and "stopped 8 process(es)" in down.stdout
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    assert manage(env, "status").returncode == 3


def test_any_domain_works_not_only_directfanz(tmp_path):
    """A sandbox seeded for another domain, launched with -e launch_domain: the zone is that domain's."""
    from conftest import playbook, record_sets

    domain = "creator-platform.co.uk"
    env = dict(os.environ, LAUNCH_SANDBOX_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    assert manage(env, "up", "--domain", domain).returncode == 0
    try:
        info = json.loads((tmp_path / "endpoints.json").read_text())
        info["env"] = env
        run = playbook(info, "--tags", "preflight,dns_zone", "-e", "launch_domain=" + domain)
        assert run.rc == 0, run.out[-3000:]
        zone, rrsets = record_sets(info)
        assert zone["Name"] == domain + "."
        names = {r["Name"] for r in rrsets}
        assert {"www.%s." % domain, "_dmarc.%s." % domain, "_launch-canary.%s." % domain} <= names
    finally:
        manage(env, "down")
