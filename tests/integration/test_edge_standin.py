"""The stand-in edge and data plane (sandbox/edge.py, sandbox/dataplane.py) against a real moto server holding what the
launch builds: the load balancer and both distributions made by the collection's own modules (load_balancer,
cloudfront_distribution) from the network / edge roles' filters and defaults, the web ACLs, replication group,
pooler task definition and RDS instance made by boto3 calls that mirror the roles. Trivial aiohttp upstreams stand in
for the platform's web/ws/stream services (no dependency on the platform stand-in's timing).

moto gap (docs/standin-edge.md): moto applies a bucket policy's conditional Deny (the launch's TLS-only statement) to
every object read; the sandbox's moto (sandbox/moto_server.py, which this file starts, as `make sandbox-up` does) leaves
such statements unapplied, and one test shows the edge serving an object under the launch's policy.

Needs root (ports 80/443 on loopback), nginx-light, libnginx-mod-http-modsecurity, modsecurity-crs, redis-server,
pgbouncer, PostgreSQL, nsd and unbound (tools/install_system_deps.sh). Nothing here skips."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import dns.message
import dns.query
import psycopg
import psycopg.sql
import pytest
import redis
import websockets
from aiohttp import web
from conftest import module

from ansible_collections.directfanz.launch.plugins.filter.data import pgbouncer_ini, pgbouncer_pools, \
    scram_sha256_verifier
from ansible_collections.directfanz.launch.plugins.filter.launch import host_rules, static_behaviors, target_groups, \
    waf_rules
from sandbox import dnsd, edge, hostinger_sim, pki

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "edgetest.io"
NAME = "directfanz"
ACCOUNT = "123456789012"
STATIC = "%s-static-%s" % (NAME, ACCOUNT)
MAINTENANCE = "%s-maintenance-%s" % (NAME, ACCOUNT)
OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
MANAGED_GROUPS = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet",
                  "AWSManagedRulesAmazonIpReputationList"]
RATE_LIMIT = 100   # the smallest limit WAF accepts; the roles' default is 2000
APP_USER = "directfanz_app"
MAINTENANCE_TEXT = "DirectFanz is down for maintenance"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(check: Any, what: str, timeout: float) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # not there yet
            last = exc
        time.sleep(0.2)
    pytest.fail("%s not within %.0f s (last: %r)" % (what, timeout, last))


def require_programs() -> None:
    missing = edge.missing_programs() + [p for p in ("/usr/bin/redis-server", "/usr/sbin/pgbouncer")
                                         if not Path(p).exists()] + dnsd.missing_programs()
    if missing:
        pytest.fail("missing %s: run tools/install_system_deps.sh (as root)" % ", ".join(missing), pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the edge binds ports 80 and 443 on loopback: run the tests as root", pytrace=False)


class Upstreams:
    """web, ws and stream on free loopback ports, each answering JSON that names the service; ws upgrades."""

    def __init__(self) -> None:
        self.ports = {name: free_port() for name in ("web", "ws", "stream")}
        self.loop = asyncio.new_event_loop()
        self.runners: list[web.AppRunner] = []
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self.start(), self.loop).result(20)

    def app(self, name: str) -> web.Application:
        async def handle(request: web.Request) -> web.StreamResponse:
            if name == "ws" and request.headers.get("Upgrade", "").lower() == "websocket":
                socket_ = web.WebSocketResponse()
                await socket_.prepare(request)
                async for message in socket_:
                    await socket_.send_str("echo:" + message.data)
                return socket_
            if request.path == "/fail502":
                return web.Response(status=502, text="bad gateway from the app")
            return web.json_response({"service": name, "host": request.host, "path": request.path_qs,
                                      "upgrade": request.headers.get("Upgrade")})

        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", handle)
        return application

    async def start(self) -> None:
        for name, port in self.ports.items():
            runner = web.AppRunner(self.app(name), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self.runners.append(runner)

    def close(self) -> None:
        async def stop() -> None:
            for runner in self.runners:
                await runner.cleanup()
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)


def api_rules(managed: list[str], rate_limit: int | None) -> list[dict[str, Any]]:
    """The roles' waf_rules filter output (wafv2_web_acl's snake_case) as WAFv2 API rules."""
    rules = waf_rules(managed, rate_limit or 2000)
    if rate_limit is None:
        rules = rules[:-1]

    def camel(value: Any) -> Any:
        if isinstance(value, dict):
            return {"".join(p.capitalize() for p in k.split("_")).replace("Ip", "IP") if k != "none" else "None":
                    camel(v) for k, v in value.items()}
        return value

    out = []
    for rule in rules:
        converted = camel(rule)
        statement = converted["Statement"]
        if "RateBasedStatement" in statement:
            statement["RateBasedStatement"] = {"Limit": rate_limit, "AggregateKeyType": "IP"}
        visibility = converted.pop("VisibilityConfig")
        converted["VisibilityConfig"] = {"SampledRequestsEnabled": visibility["SampledRequestsEnabled"],
                                         "CloudWatchMetricsEnabled": visibility["CloudWatchMetricsEnabled"],
                                         "MetricName": visibility["MetricName"]}
        out.append(converted)
    return out


def build(url: str, tmp: Path) -> dict[str, Any]:
    """What the network and edge phases build (through the collection's modules where they exist)."""
    kw = dict(region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing")
    ec2, acm = boto3.client("ec2", **kw), boto3.client("acm", **kw)

    def aws(name: str, args: dict[str, Any]) -> dict[str, Any]:
        params = dict({"region": "us-east-1", "endpoint_url": url, "access_key": "testing", "secret_key": "testing"},
                      **args)
        rc, out, result = module(name, params, env={"AWS_ENDPOINT_URL": url})
        assert rc == 0, out
        return result

    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.%d.0/20" % c, AvailabilityZone="us-east-1" + z)[
        "Subnet"]["SubnetId"] for c, z in ((0, "a"), (16, "b"))]
    group = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
    cert = acm.request_certificate(DomainName="*." + DOMAIN, SubjectAlternativeNames=[DOMAIN],
                                   ValidationMethod="DNS")["CertificateArn"]
    # roles/network/defaults/main.yml's services and host services
    services = {"web": {"port": 3000, "health_check_path": "/health"},
                "api": {"port": 4000, "health_check_path": "/health"},
                "ws": {"port": 4001, "health_check_path": "/health", "stickiness": True},
                "stream": {"port": 8080, "health_check_path": "/health"}}
    lb = aws("load_balancer", {
        "name": NAME + "-alb", "subnets": subnets, "security_groups": [group], "vpc_id": vpc, "certificate_arn": cert,
        "idle_timeout": 3600, "target_groups": target_groups(services, NAME) + [{"name": NAME + "-spare",
                                                                                 "port": 5000}],
        "default_target_group": NAME + "-web", "host_rules": host_rules(["api", "ws", "stream"], NAME, DOMAIN)})
    waf = {"REGIONAL": boto3.client("wafv2", **kw), "CLOUDFRONT": boto3.client("wafv2", **kw)}
    vis = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "acl"}
    # the ALB's ACL has the rate rule; the distribution's has the managed groups only, so the burst test can show
    # the rate limit is enforced on the one server whose ACL has it
    regional = waf["REGIONAL"].create_web_acl(Name=NAME + "-regional", Scope="REGIONAL", DefaultAction={"Allow": {}},
                                              Rules=api_rules(MANAGED_GROUPS, RATE_LIMIT),
                                              VisibilityConfig=vis)["Summary"]
    waf["REGIONAL"].associate_web_acl(WebACLArn=regional["ARN"], ResourceArn=lb["arn"])
    cloudfront_acl = waf["CLOUDFRONT"].create_web_acl(Name=NAME + "-cloudfront", Scope="CLOUDFRONT",
                                                      DefaultAction={"Allow": {}},
                                                      Rules=api_rules(MANAGED_GROUPS, None),
                                                      VisibilityConfig=vis)["Summary"]
    errors = [{"error_code": code, "response_page_path": "/__maintenance/index.html", "response_code": 503,
               "caching_min_ttl": 10} for code in (502, 503, 504)]
    live = aws("cloudfront_distribution", {
        "name": NAME, "aliases": [DOMAIN, "www." + DOMAIN], "certificate_arn": cert, "wait": False,
        "web_acl_id": cloudfront_acl["ARN"],
        "origins": [{"id": "static", "type": "s3", "domain_name": STATIC + ".s3.us-east-1.amazonaws.com"},
                    {"id": "app", "domain_name": lb["dns_name"], "protocol_policy": "https-only", "read_timeout": 60},
                    {"id": "maintenance", "type": "s3", "domain_name": MAINTENANCE + ".s3.us-east-1.amazonaws.com"}],
        "default_behavior": {"origin_id": "app", "cache_policy_id": DISABLED, "origin_request_policy_id": ALL_VIEWER,
                             "response_headers_policy_id": SECURITY_HEADERS, "compress": False,
                             "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]},
        "behaviors": static_behaviors(["/static/*", "/assets/*", "/_next/static/*", "/favicon.ico"], "static",
                                      OPTIMIZED, SECURITY_HEADERS)
        + [{"path_pattern": "/__maintenance/*", "origin_id": "maintenance", "cache_policy_id": OPTIMIZED,
            "response_headers_policy_id": SECURITY_HEADERS}],
        "error_responses": errors})
    maintenance = aws("cloudfront_distribution", {
        "name": NAME + "-maintenance", "aliases": ["api." + DOMAIN], "certificate_arn": cert, "wait": False,
        "origins": [{"id": "maintenance", "type": "s3", "domain_name": MAINTENANCE + ".s3.us-east-1.amazonaws.com"}],
        "default_behavior": {"origin_id": "maintenance", "cache_policy_id": OPTIMIZED,
                             "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]},
        "error_responses": [{"error_code": c, "response_page_path": "/__maintenance/index.html", "response_code": 503,
                             "caching_min_ttl": 10} for c in (403, 404)]})
    s3 = boto3.client("s3", **kw)
    for bucket in (STATIC, MAINTENANCE):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=STATIC, Key="static/app.js", Body=b"console.log('directfanz')",
                  ContentType="application/javascript")
    s3.put_object(Bucket=MAINTENANCE, Key="__maintenance/index.html", ContentType="text/html; charset=utf-8",
                  Body=("<html><body><h1>%s</h1></body></html>" % MAINTENANCE_TEXT).encode(), CacheControl="max-age=60")
    return {"lb": lb, "live": live, "maintenance": maintenance, "cert": cert, "kw": kw}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """moto with the launch's edge resources, the trivial upstreams, the sandbox CA and a running edge."""
    require_programs()
    tmp = tmp_path_factory.mktemp("edge")
    port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "sandbox.moto_server", "-H", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = "http://127.0.0.1:%d" % port
    upstreams = Upstreams()
    proc = None
    try:
        until(lambda: urllib.request.urlopen(url + "/moto-api/", timeout=2).status == 200, "moto", 30)
        built = build(url, tmp)
        pki.make_ca(tmp / "pki", "edge test CA")
        platform = tmp / "platform.json"
        platform.write_text(json.dumps({"services": {n: "127.0.0.1:%d" % p for n, p in upstreams.ports.items()}}))
        state_file = tmp / "edge.json"
        log = open(tmp / "edge.log", "wb")
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "sandbox.edge", "--aws-endpoint", url, "--region", "us-east-1",
                                 "--domain", DOMAIN, "--workdir", str(tmp / "work"), "--ca-dir", str(tmp / "pki"),
                                 "--platform-state", str(platform), "--rds-state", str(tmp / "rds.json"),
                                 "--state-file", str(state_file)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        until(lambda: state_file.exists() or proc.poll() is not None, "the edge's state file", 60)
        assert proc.poll() is None, (tmp / "edge.log").read_text()
        print("edge ready in %.1f s" % (time.monotonic() - started))
        yield dict(built, url=url, tmp=tmp, state_file=state_file, proc=proc, ca=str(tmp / "pki" / "ca.pem"),
                   upstreams=upstreams, log=tmp / "edge.log", rds_state=tmp / "rds.json")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        upstreams.close()
        moto.terminate()
        moto.wait(timeout=10)


def state(stack: dict[str, Any]) -> dict[str, Any]:
    return json.loads(stack["state_file"].read_text())


def fetch(stack: dict[str, Any], address: str, host: str, path: str = "/", port: int = 443,
          method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request to ``address`` for ``host``: TLS verified against the sandbox CA with SNI ``host``."""
    raw = socket.create_connection((address, port), timeout=15)
    if port == 443:
        raw = ssl.create_default_context(cafile=stack["ca"]).wrap_socket(raw, server_hostname=host)
    conn = http.client.HTTPConnection(host, port, timeout=15)
    conn.sock = raw
    try:
        conn.request(method, path, headers={"Host": host, "User-Agent": "edge-test", "Accept": "*/*"})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def alb(stack: dict[str, Any]) -> str:
    return state(stack)["edge"]["alb"]


def cloudfront(stack: dict[str, Any]) -> str:
    return state(stack)["edge"]["cloudfront"]


def service_at(stack: dict[str, Any], host: str, path: str = "/probe") -> str:
    status, headers, body = fetch(stack, alb(stack), host, path)
    assert status == 200, (status, body)
    return json.loads(body)["service"]


async def ws_round_trip(stack: dict[str, Any], host: str) -> str:
    context = ssl.create_default_context(cafile=stack["ca"])
    async with websockets.connect("wss://%s/ws" % host, ssl=context, server_hostname=host, host=alb(stack),
                                  port=443, open_timeout=10) as socket_:
        await socket_.send("ping")
        return str(await socket_.recv())


def test_the_rendered_configuration_passes_nginx_t(stack: dict[str, Any]) -> None:
    current = state(stack)
    conf = Path(current["nginx_conf"])
    check = subprocess.run(["nginx", "-t", "-p", str(conf.parent), "-e", str(conf.parent / "logs" / "t.log"), "-c",
                            str(conf)], capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stderr
    assert current["nginx_error"] == "", current["nginx_error"]
    lb, live, spare = stack["lb"], stack["live"], stack["maintenance"]
    assert current["alias_targets"] == {lb["dns_name"] + ".": current["edge"]["alb"],
                                        live["domain_name"] + ".": current["edge"]["cloudfront"],
                                        spare["domain_name"] + ".": current["alias_targets"][
                                            spare["domain_name"] + "."]}
    assert len(set(current["alias_targets"].values())) == 3
    block = current["block"].rsplit(".", 1)[0]
    assert all(a.startswith(block + ".") and not a.startswith("127.0.0.") for a in current["alias_targets"].values())


def test_host_rules_route_each_name_to_its_service_with_tls_verified_by_sni(stack: dict[str, Any]) -> None:
    assert service_at(stack, "api." + DOMAIN) == "web"      # target group directfanz-api: the platform's web
    assert service_at(stack, "ws." + DOMAIN) == "ws"
    assert service_at(stack, "stream." + DOMAIN) == "stream"
    assert service_at(stack, "other." + DOMAIN) == "web"    # the listener's default action
    status, headers, body = fetch(stack, alb(stack), "api." + DOMAIN, "/v1/x?y=1", port=80)
    assert status == 301 and headers["location"] == "https://api.%s/v1/x?y=1" % DOMAIN
    # the certificate covers the ACM certificate's names only: another name fails verification
    with pytest.raises(ssl.SSLCertVerificationError):
        fetch(stack, alb(stack), "edge.example.org")
    # CloudFront: the default behaviour goes to the load balancer with the viewer's Host (AllViewer), uncached
    status, headers, body = fetch(stack, cloudfront(stack), DOMAIN, "/v1/me")
    assert status == 200 and json.loads(body) == {"service": "web", "host": DOMAIN, "path": "/v1/me",
                                                  "upgrade": None}
    assert headers["x-cache"] == "Miss from cloudfront" and headers["strict-transport-security"]
    status, headers, body = fetch(stack, cloudfront(stack), "www." + DOMAIN, "/", port=80)
    assert status == 301 and headers["location"] == "https://www.%s/" % DOMAIN


def test_websocket_upgrades_pass_only_on_the_ws_route(stack: dict[str, Any]) -> None:
    assert asyncio.run(ws_round_trip(stack, "ws." + DOMAIN)) == "echo:ping"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(ws_round_trip(stack, "api." + DOMAIN))


def test_the_drop_upgrade_fault_makes_the_proxy_lose_the_handshake_until_cleared(stack: dict[str, Any]) -> None:
    """`python -m sandbox.edge --fault drop_upgrade`: the ws route forwards the handshake without its Upgrade header
    (a proxy misconfigured that way), so the handshake fails; `--fault clear` puts it back."""
    state_file = stack["state_file"]
    for fault, works in (("drop_upgrade", False), ("clear", True)):
        before = state(stack)["nginx_generation"]
        subprocess.run([sys.executable, "-m", "sandbox.edge", "--state-file", str(state_file), "--fault", fault],
                       check=True, cwd=ROOT, capture_output=True, timeout=30)
        until(lambda before=before: state(stack)["nginx_generation"] > before, "a reload with the fault %s" % fault, 20)
        assert bool(state(stack)["faults"]) is not works
        if works:
            assert asyncio.run(ws_round_trip(stack, "ws." + DOMAIN)) == "echo:ping"
        else:
            with pytest.raises(websockets.exceptions.InvalidStatus):
                asyncio.run(ws_round_trip(stack, "ws." + DOMAIN))


def test_static_paths_are_cached_and_dynamic_ones_are_not(stack: dict[str, Any]) -> None:
    first = fetch(stack, cloudfront(stack), DOMAIN, "/static/app.js")
    second = fetch(stack, cloudfront(stack), DOMAIN, "/static/app.js")
    assert first[0] == second[0] == 200 and second[2] == b"console.log('directfanz')"
    assert first[1]["x-cache"] == "Miss from cloudfront" and second[1]["x-cache"] == "Hit from cloudfront"
    assert second[1]["content-type"] == "application/javascript"
    dynamic = [fetch(stack, cloudfront(stack), DOMAIN, "/v1/feed")[1]["x-cache"] for unused in range(2)]
    assert dynamic == ["Miss from cloudfront"] * 2
    missing = fetch(stack, cloudfront(stack), DOMAIN, "/static/none.js")
    assert missing[0] == 404 and missing[1]["x-cache"] == "Error from cloudfront"


def test_origin_errors_become_the_maintenance_page(stack: dict[str, Any]) -> None:
    status, headers, body = fetch(stack, cloudfront(stack), DOMAIN, "/fail502")
    assert status == 503 and MAINTENANCE_TEXT.encode() in body
    spare = state(stack)["alias_targets"][stack["maintenance"]["domain_name"] + "."]
    status, headers, body = fetch(stack, spare, "api." + DOMAIN, "/v1/anything")
    assert status == 503 and MAINTENANCE_TEXT.encode() in body


def test_the_waf_blocks_sql_injection_and_known_bad_input_on_both_servers(stack: dict[str, Any]) -> None:
    probes = ["/?id=1%27%20OR%20%271%27=%271", "/?q=%3Cscript%3Ealert(1)%3C/script%3E",
              "/?file=../../../../etc/passwd"]
    for address, host in ((alb(stack), "api." + DOMAIN), (cloudfront(stack), DOMAIN)):
        for probe in probes:
            assert fetch(stack, address, host, probe)[0] == 403, (host, probe)
        assert fetch(stack, address, host, "/v1/creators?page=2")[0] == 200
    waf = state(stack)["waf"]
    assert waf[alb(stack)]["rate_limits"][0]["limit"] == RATE_LIMIT
    assert waf[cloudfront(stack)]["rate_limits"] == []
    assert "AWSManagedRulesAmazonIpReputationList" in waf[alb(stack)]["not_enforced"]


def test_a_rule_the_launch_got_wrong_shows_and_a_change_in_moto_is_reloaded(stack: dict[str, Any]) -> None:
    elb = boto3.client("elbv2", **stack["kw"])
    listener = next(x for x in elb.describe_listeners(LoadBalancerArn=stack["lb"]["arn"])["Listeners"]
                    if x["Port"] == 443)
    rules = {r["Conditions"][0]["HostHeaderConfig"]["Values"][0]: r for r in
             elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"]}
    groups = {g["TargetGroupName"]: g["TargetGroupArn"] for g in elb.describe_target_groups()["TargetGroups"]}
    before = state(stack)["nginx_generation"]
    # ws. forwarded to web (no upgrade), stream. rule gone (default: web), api. to a group no service is behind
    elb.modify_rule(RuleArn=rules["ws." + DOMAIN]["RuleArn"], Actions=[{"Type": "forward",
                                                                        "TargetGroupArn": groups[NAME + "-web"]}])
    elb.delete_rule(RuleArn=rules["stream." + DOMAIN]["RuleArn"])
    elb.modify_rule(RuleArn=rules["api." + DOMAIN]["RuleArn"], Actions=[{"Type": "forward",
                                                                         "TargetGroupArn": groups[NAME + "-spare"]}])
    until(lambda: state(stack)["nginx_generation"] > before, "a reload after the rule change", 20)
    until(lambda: service_at(stack, "stream." + DOMAIN) == "web", "stream. served by the default", 10)
    assert service_at(stack, "ws." + DOMAIN) == "web"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(ws_round_trip(stack, "ws." + DOMAIN))
    assert fetch(stack, alb(stack), "api." + DOMAIN, "/v1/me")[0] == 503
    # put right again, as the launch's next run would
    elb.modify_rule(RuleArn=rules["ws." + DOMAIN]["RuleArn"], Actions=[{"Type": "forward",
                                                                        "TargetGroupArn": groups[NAME + "-ws"]}])
    until(lambda: asyncio.run(ws_round_trip(stack, "ws." + DOMAIN)) == "echo:ping", "ws. upgrading again", 20)


def test_a_burst_from_one_client_is_refused_only_where_the_acl_has_the_rate_rule(stack: dict[str, Any]) -> None:
    limits = state(stack)["waf"][alb(stack)]["rate_limits"][0]
    assert (limits["per_minute"], limits["burst"]) == (RATE_LIMIT * 60 // 300, RATE_LIMIT)
    codes = [fetch(stack, alb(stack), "stream." + DOMAIN, "/live/index.m3u8")[0] for unused in range(RATE_LIMIT + 40)]
    assert codes.count(403) >= 30 and codes[0] == 200, codes
    # the distribution's ACL has no rate rule: a cached static path keeps answering (it never reaches the ALB)
    cached = [fetch(stack, cloudfront(stack), DOMAIN, "/static/app.js")[0] for unused in range(RATE_LIMIT + 40)]
    assert set(cached) == {200}


def test_the_launch_bucket_policy_does_not_stop_the_edge_reading_static_files(stack: dict[str, Any]) -> None:
    """With the role's TLS-only Deny on the bucket, the sandbox's moto still serves the edge's signed read (raw moto
    refuses it: the gap sandbox/moto_server.py closes), and the edge caches it."""
    s3 = boto3.client("s3", **stack["kw"])
    s3.put_object(Bucket=STATIC, Key="assets/logo.svg", Body=b"<svg/>", ContentType="image/svg+xml")
    s3.put_bucket_policy(Bucket=STATIC, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "RefusePlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::%s" % STATIC, "arn:aws:s3:::%s/*" % STATIC],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    try:
        status, headers, body = fetch(stack, cloudfront(stack), DOMAIN, "/assets/logo.svg")
        assert status == 200 and body == b"<svg/>", (status, headers, body[:200])
        again = fetch(stack, cloudfront(stack), DOMAIN, "/assets/logo.svg")
        assert again[0] == 200 and again[1]["x-cache"] == "Hit from cloudfront", again[1]
    finally:
        s3.delete_bucket_policy(Bucket=STATIC)


# ------------------------------------------------------------------------------------------------ data plane

def vpc_answer(stack: dict[str, Any], name: str) -> list[str]:
    host, port = state(stack)["vpc_dns_server"].split(":")
    reply = dns.query.udp(dns.message.make_query(name, "A"), host, port=int(port), timeout=2)
    return sorted(r.to_text() for rrset in reply.answer for r in rrset)


def test_redis_answers_with_tls_and_auth_under_the_endpoint_names(stack: dict[str, Any]) -> None:
    kw = stack["kw"]
    token = secrets.token_urlsafe(32)
    boto3.client("secretsmanager", **kw).create_secret(Name="%s/redis/auth-token" % NAME, SecretString=token)
    cache = boto3.client("elasticache", **kw)
    cache.create_replication_group(ReplicationGroupId=NAME + "-redis", ReplicationGroupDescription="cache",
                                   Engine="redis", EngineVersion="7.1", CacheNodeType="cache.t4g.small",
                                   NumCacheClusters=2, TransitEncryptionEnabled=True, AtRestEncryptionEnabled=True,
                                   AuthToken=token, AutomaticFailoverEnabled=True, MultiAZEnabled=True)
    info = until(lambda: state(stack)["redis"].get("state") == "ready" and state(stack)["redis"],
                 "redis ready", 30)
    primary = cache.describe_replication_groups(ReplicationGroupId=NAME + "-redis")["ReplicationGroups"][0][
        "NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    assert primary.lower() in info["names"] and info["tls"] and info["auth"]
    assert vpc_answer(stack, primary) == [info["address"]]
    client = redis.Redis(host=info["address"], port=info["port"], password=token, ssl=True,
                         ssl_ca_certs=stack["ca"], ssl_check_hostname=False, socket_timeout=5)
    assert client.ping() is True
    context = ssl.create_default_context(cafile=stack["ca"])
    with socket.create_connection((info["address"], info["port"]), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=primary) as tls:  # the certificate names the endpoint
            tls.sendall(b"PING\r\n")
            assert tls.recv(200).startswith(b"-NOAUTH")
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=info["address"], port=info["port"], password="wrong-" + token, ssl=True,
                    ssl_ca_certs=stack["ca"], ssl_check_hostname=False, socket_timeout=5).ping()
    with pytest.raises(redis.exceptions.ConnectionError):  # no plain-text port
        redis.Redis(host=info["address"], port=info["port"], password=token, socket_timeout=2).ping()


def test_pgbouncer_runs_the_task_definition_in_front_of_the_rds_standin(stack: dict[str, Any]) -> None:
    kw = stack["kw"]
    tmp = stack["tmp"]
    rds = boto3.client("rds", **kw)
    rds.create_db_instance(DBInstanceIdentifier=NAME + "-db", Engine="postgres", EngineVersion="16.6",
                           DBInstanceClass="db.t4g.medium", AllocatedStorage=100, MasterUsername="postgres",
                           ManageMasterUserPassword=True, DBName="directfanz")
    log = open(tmp / "rds.log", "wb")
    standin = subprocess.Popen([sys.executable, "-m", "sandbox.rds_standin", "--aws-endpoint", stack["url"],
                                "--ca-dir", str(tmp / "pki"), "--state-file", str(stack["rds_state"])], cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        ready = until(lambda: json.loads(stack["rds_state"].read_text())["instances"].get(NAME + "-db", {}).get(
            "state") == "ready" and json.loads(stack["rds_state"].read_text()), "the RDS stand-in's cluster", 90)
        instance = ready["instances"][NAME + "-db"]
        described = rds.describe_db_instances(DBInstanceIdentifier=NAME + "-db")["DBInstances"][0]
        master = json.loads(boto3.client("secretsmanager", **kw).get_secret_value(
            SecretId=described["MasterUserSecret"]["SecretArn"])["SecretString"])["password"]
        # the application role as the one-off task makes it: its password is the SCRAM verifier of the auth file
        password = secrets.token_urlsafe(24)
        verifier = scram_sha256_verifier(password, base64.b64encode(secrets.token_bytes(16)).decode())
        with psycopg.connect(host=instance["endpoint"], hostaddr=instance["address"], port=instance["port"],
                             user="postgres", password=master, dbname="directfanz", sslmode="verify-full",
                             sslrootcert=stack["ca"], autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                psycopg.sql.Identifier(APP_USER), psycopg.sql.Literal(verifier)))
        # what rds_pgbouncer renders (its filters) and ecs_services puts in the pooler's task definition
        pools = pgbouncer_pools({"max_connections": 30, "client_services": {"web": {"max_tasks": 1}},
                                 "reserved": {"superuser_reserved_connections": 3}, "pooler_tasks": 1})
        ini = pgbouncer_ini({"listen_addr": "0.0.0.0", "listen_port": 6432, "server_host": instance["endpoint"],
                             "server_port": 5432, "database": "directfanz", "config_dir": "/run/pgbouncer"}, pools)
        sm = boto3.client("secretsmanager", **kw)
        auth = sm.create_secret(Name="%s/db/pgbouncer-auth" % NAME, SecretString=json.dumps({
            "userlist": '"%s" "%s"\n' % (APP_USER, verifier), "verifier": verifier}))
        script = (ROOT / "roles" / "rds_pgbouncer" / "files" / "pgbouncer-start.sh").read_text()
        ecs = boto3.client("ecs", **kw)
        ecs.register_task_definition(family=NAME + "-pgbouncer", requiresCompatibilities=["FARGATE"],
                                     networkMode="awsvpc", cpu="256", memory="512", containerDefinitions=[{
                                         "name": "pgbouncer", "image": "ghcr.io/cloudnative-pg/pgbouncer:1.24.0-7",
                                         "command": ["/bin/sh", "-c", script], "environment": [
                                             {"name": "PGBOUNCER_INI", "value": ini},
                                             {"name": "PGBOUNCER_SERVER_CA", "value": Path(stack["ca"]).read_text()},
                                             {"name": "PGBOUNCER_CONFIG_DIR", "value": "/run/pgbouncer"},
                                             {"name": "PGBOUNCER_TLS_NAME", "value": "pgbouncer.%s.internal" % NAME}],
                                         "secrets": [{"name": "PGBOUNCER_USERLIST", "valueFrom": "%s:userlist::%s" % (
                                             auth["ARN"], auth["VersionId"])}]}])
        pooler = until(lambda: state(stack)["pooler"].get("state") == "listening" and state(stack)["pooler"],
                       "the pooler listening", 30)
        assert vpc_answer(stack, "pgbouncer.%s.internal" % NAME) == [pooler["address"]]
        assert any("listen_addr = 0.0.0.0 -> listen_addr = %s" % pooler["address"] in c for c in pooler["ini_changes"])
        with psycopg.connect(host=pooler["address"], port=pooler["port"], user=APP_USER, password=password,
                             dbname="directfanz", sslmode="require", prepare_threshold=None,
                             connect_timeout=10) as conn:
            assert conn.execute("SELECT current_user, inet_server_addr()::text").fetchone() == (
                APP_USER, instance["address"] + "/32")
            assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host=pooler["address"], port=pooler["port"], user=APP_USER, password="wrong",
                            dbname="directfanz", sslmode="require", connect_timeout=10)
    finally:
        standin.send_signal(signal.SIGTERM)
        standin.wait(timeout=60)


# ------------------------------------------------------------------------------------------------ the DNS world

def test_dns_world_answers_alias_records_from_the_edge_state(stack: dict[str, Any]) -> None:
    kw = stack["kw"]
    route53 = boto3.client("route53", **kw)
    zone = route53.create_hosted_zone(Name=DOMAIN, CallerReference=str(time.time()))["HostedZone"]["Id"]
    lb, live, spare = stack["lb"], stack["live"], stack["maintenance"]

    def alias(name: str, rtype: str, target: str, zone_id: str, **extra: Any) -> dict[str, Any]:
        return {"Action": "CREATE", "ResourceRecordSet": dict({"Name": name, "Type": rtype, "AliasTarget": {
            "HostedZoneId": zone_id, "DNSName": target, "EvaluateTargetHealth": False}}, **extra)}

    changes = [alias(DOMAIN, "A", live["domain_name"], "Z2FDTNDATAQYW2"),
               alias(DOMAIN, "AAAA", live["domain_name"], "Z2FDTNDATAQYW2"),
               alias("www." + DOMAIN, "A", live["domain_name"], "Z2FDTNDATAQYW2"),
               alias("ws." + DOMAIN, "A", lb["dns_name"], lb["canonical_hosted_zone_id"]),
               alias("api." + DOMAIN, "A", lb["dns_name"], lb["canonical_hosted_zone_id"], SetIdentifier="api-live",
                     Failover="PRIMARY"),
               alias("api." + DOMAIN, "A", spare["domain_name"], "Z2FDTNDATAQYW2", SetIdentifier="api-maintenance",
                     Failover="SECONDARY")]
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})
    sim = hostinger_sim.serve(DOMAIN, "edge-token")
    threading.Thread(target=sim.serve_forever, daemon=True).start()
    world_state = stack["tmp"] / "world.json"
    log = open(stack["tmp"] / "world.log", "wb")
    world = subprocess.Popen([sys.executable, "-m", "sandbox.dns_world", "--domain", DOMAIN, "--aws-endpoint",
                              stack["url"], "--hostinger-url", "http://127.0.0.1:%d" % sim.server_address[1],
                              "--state-file", str(world_state), "--edge-state", str(stack["state_file"]),
                              "--resolvers", "1"], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=log,
                             stderr=subprocess.STDOUT)
    try:
        until(lambda: world_state.exists() and json.loads(world_state.read_text())["route53_servers"],
              "the DNS world's Route 53 servers", 40)
        server = next(iter(json.loads(world_state.read_text())["route53_servers"].values()))
        edge_state = state(stack)

        def answer(name: str, rtype: str = "A") -> list[str]:
            reply = dns.query.udp(dns.message.make_query(name, rtype), server, port=53, timeout=2)
            return sorted(r.to_text() for rrset in reply.answer for r in rrset)

        until(lambda: answer(DOMAIN) == [edge_state["edge"]["cloudfront"]], "the apex alias", 15)
        assert answer("www." + DOMAIN) == [edge_state["edge"]["cloudfront"]]
        assert answer("ws." + DOMAIN) == [edge_state["edge"]["alb"]]
        assert answer("api." + DOMAIN) == [edge_state["edge"]["alb"]]   # the PRIMARY of the failover pair
        assert answer(DOMAIN, "AAAA") == []                              # AAAA aliases are not rendered
    finally:
        world.send_signal(signal.SIGTERM)
        world.wait(timeout=30)
        sim.shutdown()
        sim.server_close()


def alive(pid: int) -> bool:
    """Whether a process exists and is no zombie."""
    try:
        return ") Z " not in Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return False


def test_sigterm_stops_nginx_redis_and_pgbouncer(stack: dict[str, Any]) -> None:
    """Last in the file: it stops the module's edge."""
    children = state(stack)["children"]
    pids = [children["nginx"], *children["nginx_workers"], *children["redis"]] + (
        [children["pooler"]] if children["pooler"] else [])
    assert len(pids) >= 2 and all(alive(p) for p in pids), children
    stack["proc"].send_signal(signal.SIGTERM)
    assert stack["proc"].wait(timeout=60) == 0, stack["log"].read_text()
    until(lambda: not any(alive(p) for p in pids), "every child of the edge stopped", 15)
    assert not stack["state_file"].exists()
