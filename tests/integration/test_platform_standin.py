"""The sandbox's stand-in platform (``python -m sandbox.platform``) as real processes over HTTP: its own moto
server, the CLI, localstripe as its child; schemathesis 4 (positive mode, conformance checks) against the web
service healthy and with faults; live and VOD HLS; the WebSocket echo; configuration read from moto; the Stripe
webhook and stand-in; the e-mail stand-in.

Nothing here asserts a duration except that an injected delay is not shorter than itself (a lower bound)."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CI = os.environ.get("CI") == "true"
DOMAIN = "directfanz.io"
WEBHOOK_SECRET = "whsec_" + "A1b2C3d4" * 5
STRIPE_KEY = "sk_test_" + "Q" * 30
SENDGRID_KEY = "SG.abcdefghijklmnopqrstuv.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd"


def need(name: str):
    """A module the test needs: outside CI a missing one skips, in CI it fails (make test installs everything)."""
    if CI:
        return importlib.import_module(name)
    return pytest.importorskip(name)


def need_program(name: str) -> str:
    path = shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)
    if path is None:
        if CI:
            pytest.fail("%s is not installed (tools/install_system_deps.sh / requirements-test.txt)" % name)
        pytest.skip("%s is not installed" % name)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body=None, headers=None, timeout: float = 20):
    """(status, headers, bytes) of one request; HTTP errors are answers too."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(
        {"Content-Type": "application/json"} if data is not None else {}, **(headers or {})))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url: str, headers=None):
    status, _headers, data = http("GET", url, headers=headers)
    return status, json.loads(data or b"null")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        return Path("/proc/%d/stat" % pid).read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    need("moto")
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port

    def up():
        try:
            return http("GET", url + "/moto-api/data.json", timeout=5)[0] == 200
        except OSError:
            return False

    wait_for(up, 60, "moto_server")
    yield url
    proc.terminate()
    proc.wait(20)
    log.close()


@pytest.fixture(scope="module")
def platform(moto, tmp_path_factory):
    for module in ("aiohttp", "localstripe", "jsonschema"):
        need(module)
    need_program("ffmpeg")
    base = tmp_path_factory.mktemp("platform")
    state_file = base / "state.json"
    log = (base / "platform.log").open("wb")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.platform", "--aws-endpoint", moto, "--region",
                             "us-east-1", "--domain", DOMAIN, "--workdir", str(base / "work"), "--state-file",
                             str(state_file), "--interval", "0.5",
                             "--edge-state", str(base / "edge.json")], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)

    def ready():
        if proc.poll() is not None:
            raise AssertionError("the platform exited %s: %s" % (proc.returncode,
                                                                 (base / "platform.log").read_text()[-3000:]))
        return state_file.exists() and json.loads(state_file.read_text())

    state = wait_for(ready, 90, "the platform's state file")
    state["proc"] = proc
    state["log"] = base / "platform.log"
    state["web"] = "http://" + state["services"]["web"]
    state["auth"] = {"Authorization": "Bearer " + state["test_token"]}
    state["edge_state"] = base / "edge.json"  # written by a test: the edge's VPC DNS server appears late
    yield state
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    log.close()


@pytest.fixture()
def clean(platform):
    http("DELETE", platform["control_url"] + "/faults")
    yield platform
    http("DELETE", platform["control_url"] + "/faults")


def fault(platform, spec):
    status, _headers, data = http("POST", platform["control_url"] + "/faults", spec)
    assert status == 200, data
    return json.loads(data)


def seed_moto(moto: str) -> dict:
    """What the launch leaves in moto for the web service: a cluster, the app's secrets (pinned by version as the
    config phase pins them) and a task definition + service referencing them. The database and Redis point at a
    closed loopback port, so the deep health check must report them unreachable with the reason."""
    kw = dict(region_name="us-east-1", endpoint_url=moto, aws_access_key_id="testing",
              aws_secret_access_key="testing")
    sm, ecs = boto3.client("secretsmanager", **kw), boto3.client("ecs", **kw)
    values = {"DATABASE_URL": "postgresql://app:s3cr3t-pw@127.0.0.1:9/directfanz?sslmode=require&pgbouncer=true"
                              "&connection_limit=5&pool_timeout=10",
              "REDIS_URL": "rediss://:tok3n-value@127.0.0.1:9", "STRIPE_SECRET_KEY": STRIPE_KEY,
              "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_PUBLISHABLE_KEY": "pk_test_" + "P" * 30,
              "SENDGRID_API_KEY": SENDGRID_KEY}
    secrets = []
    for name, value in values.items():
        made = sm.create_secret(Name="directfanz-sandbox/app/" + name, SecretString=value)
        secrets.append({"name": name, "valueFrom": "%s:::%s" % (made["ARN"], made["VersionId"])})
    ecs.create_cluster(clusterName="directfanz-sandbox")
    td = ecs.register_task_definition(
        family="directfanz-sandbox-web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512",
        memory="1024", containerDefinitions=[{
            "name": "web", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/directfanz-sandbox/web:1.0.0",
            "essential": True, "secrets": secrets,
            "environment": [{"name": "CONTENT_BUCKET", "value": "directfanz-sandbox-content"},
                            {"name": "NEXTAUTH_URL", "value": "https://" + DOMAIN},
                            {"name": "PORT", "value": "3000"}]}])
    ecs.create_service(cluster="directfanz-sandbox", serviceName="web", desiredCount=1,
                       taskDefinition=td["taskDefinition"]["taskDefinitionArn"])
    return values


@pytest.fixture(scope="module")
def configured(platform, moto):
    """The app before the launch (nothing in moto: /health/deep 503 naming what is missing), then after it."""
    status, body = get_json(platform["web"] + "/health/deep")
    assert status == 503, body
    assert body["configured"] is False
    assert {"DATABASE_URL", "REDIS_URL", "STRIPE_WEBHOOK_SECRET", "SENDGRID_API_KEY"} <= set(body["missing"])
    assert body["checks"]["database"]["status"] == "not configured"
    assert any("no ACTIVE ECS service named web" in p for p in body["problems"]), body
    values = seed_moto(moto)
    wait_for(lambda: get_json(platform["web"] + "/health/deep")[1]["configured"], 30, "the app configured")
    # the webhook is registered with localstripe once the secret is known
    wait_for(lambda: get_json(platform["control_url"] + "/state")[1]["webhook"], 30, "the webhook registration")
    return dict(platform, values=values)


# --- the document -----------------------------------------------------------------------------------------------
def test_openapi_document_has_every_group_and_is_served(platform):
    doc = json.loads(Path(platform["openapi_file"]).read_text())
    status, served = get_json(platform["web"] + "/api/openapi.json")
    assert status == 200 and served == doc
    ops = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(ops) >= 130, len(ops)
    groups = {op["x-launch-group"] for _path, _method, op in ops}
    assert groups == {"auth", "users", "creators", "subscriptions", "posts", "media", "messages", "payments",
                      "payouts", "live", "notifications", "admin"}
    assert all(path.startswith("/api/v1/") and op["tags"] for path, _method, op in ops)
    assert len({op["operationId"] for _path, _method, op in ops}) == len(ops)
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer",
                                                                  "bearerFormat": "JWT"}
    secured = [op for _path, _method, op in ops if op.get("security")]
    assert 100 < len(secured) < len(ops)  # sign-up, log-in and the public catalogue need no token
    need("openapi_spec_validator").validate(doc)


def test_operations_check_auth_and_input(clean):
    web, auth = clean["web"], clean["auth"]
    status, body = get_json(web + "/api/v1/me")
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = get_json(web + "/api/v1/me", {"Authorization": "Bearer wrong"})
    assert status == 401
    status, body = get_json(web + "/api/v1/me", auth)
    assert status == 200 and {"id", "email", "username", "role", "createdAt"} <= set(body)
    status, body = get_json(web + "/api/v1/posts/not-a-uuid", auth)
    assert status == 400 and "postId" in body["error"]["message"]
    status, _headers, data = http("POST", web + "/api/v1/posts", {"text": "hi", "visibility": "secret"}, auth)
    assert status == 400 and "visibility" in json.loads(data)["error"]["message"]
    status, _headers, data = http("POST", web + "/api/v1/posts", {"text": "hi", "visibility": "public"}, auth)
    created = json.loads(data)
    assert status == 201 and created["text"] == "hi" and created["visibility"] == "public"
    status, body = get_json(web + "/api/v1/search/creators")
    assert status == 400 and "q" in body["error"]["message"]
    status, body = get_json(web + "/api/v1/creators?limit=0")
    assert status == 400 and "limit" in body["error"]["message"]
    status, _headers, _body = http("PUT", web + "/api/v1/feed", {}, auth)  # undocumented method
    assert status == 405


def test_building_blocks_without_processes():
    """The pure parts: the route table's overlap guard, the signature scheme, valueFrom and URL parsing."""
    from sandbox.platform import openapi
    from sandbox.platform.app import verify_signature
    from sandbox.platform.config import libpq_params, split_value_from

    with pytest.raises(ValueError, match="overlap"):
        openapi.check_routes(["/api/v1/users/{userId}", "/api/v1/users/me"])
    openapi.check_routes(["/api/v1/users/{userId}", "/api/v1/me"])
    payload, now = b'{"id": "evt_1"}', int(time.time())
    good = sign(payload, WEBHOOK_SECRET, now)
    assert verify_signature(payload, good, WEBHOOK_SECRET, now) is None
    two = "t=%d,v1=%s,%s" % (now, "0" * 64, good.split(",")[1])  # Stripe sends several v1 during a secret roll
    assert verify_signature(payload, two, WEBHOOK_SECRET, now) is None
    assert "timestamp" in verify_signature(payload, good, WEBHOOK_SECRET, now + 301)
    assert "not configured" in verify_signature(payload, good, "", now)
    assert "t=" in verify_signature(payload, "v1=abc", WEBHOOK_SECRET, now)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:directfanz/app/JWT_SECRET-a1B2c3"
    assert split_value_from(arn + ":::v-1") == (arn, "", "", "v-1")
    assert split_value_from(arn + ":password:AWSCURRENT:") == (arn, "password", "AWSCURRENT", "")
    assert split_value_from(arn) == (arn, "", "", "")
    params = libpq_params("postgresql://app:p%40ss@pgbouncer.x.internal:6432/db?sslmode=require&pgbouncer=true"
                          "&connection_limit=5")
    assert params == {"host": "pgbouncer.x.internal", "port": 6432, "user": "app", "password": "p@ss", "dbname": "db",
                      "sslmode": "require"}
    with pytest.raises(ValueError, match="accepted: postgresql://"):
        libpq_params("mysql://a@b/c")


# --- schemathesis -----------------------------------------------------------------------------------------------
def schemathesis(platform, report: Path) -> tuple[int, dict[str, list[str]], str]:
    """``st run --mode positive`` (the conformance checks) over every operation; returns the exit code and the
    failing operations (JUnit test case name -> failure messages)."""
    need("schemathesis")
    st = need_program("st")
    proc = subprocess.run([st, "run", platform["web"] + "/api/openapi.json", "--url", platform["web"],
                           "--mode", "positive", "--phases", "fuzzing", "--max-examples", "3", "--seed", "7",
                           "--workers", "2", "-H", "Authorization: Bearer " + platform["test_token"],
                           "--report", "junit", "--report-junit-path", str(report), "--no-color"],
                          capture_output=True, text=True, timeout=600, cwd=report.parent, check=False)
    failing = {}
    for case in ET.parse(report).iter("testcase"):
        problems = case.findall("failure") + case.findall("error")
        if problems:
            failing[case.get("name")] = [p.get("message") or p.get("type") or "" for p in problems]
    return proc.returncode, failing, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_schemathesis_positive_passes_healthy_and_names_exactly_the_faulty_operations(clean, tmp_path):
    rc, failing, out = schemathesis(clean, tmp_path / "healthy.xml")
    assert rc == 0 and failing == {}, out
    tested = [c.get("name") for c in ET.parse(tmp_path / "healthy.xml").iter("testcase")]
    assert len(tested) >= 130, tested

    fault(clean, {"operation": "getPost", "status": 500})
    fault(clean, {"operation": "listTips", "schema_violation": True})
    rc, failing, out = schemathesis(clean, tmp_path / "faulty.xml")
    assert rc != 0
    assert set(failing) == {"GET /api/v1/posts/{postId}", "GET /api/v1/tips"}, out
    # schemathesis' codes: ST101 server error, ST108 response violates schema
    assert any("ST101" in m for m in failing["GET /api/v1/posts/{postId}"]), failing
    assert any("ST108" in m for m in failing["GET /api/v1/tips"]), failing


# --- faults -----------------------------------------------------------------------------------------------------
def test_fault_injection_paths(clean):
    web, auth, control = clean["web"], clean["auth"], clean["control_url"]
    status, _headers, data = http("POST", control + "/faults", {"operation": "noSuchOperation", "status": 500})
    assert status == 400 and b"not an operationId" in data
    status, _headers, data = http("POST", control + "/faults", {"group": "users"})
    assert status == 400 and b"no effect" in data
    status, _headers, data = http("POST", control + "/faults", {"service": "web", "status": 500})
    assert status == 400

    fault(clean, {"group": "users", "status": 503})
    assert get_json(web + "/api/v1/me", auth)[0] == 503
    assert get_json(web + "/api/v1/users/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, auth)[0] == 503
    assert get_json(web + "/api/v1/feed", auth)[0] == 200  # another group is untouched

    fault(clean, {"operation": "getWallet", "latency_ms": 300})
    assert get_json(web + "/api/v1/wallet", auth)[0] == 200
    _status, log = get_json(control + "/requests?service=web")
    wallet = [r for r in log["requests"] if r["operation"] == "getWallet"]
    assert wallet and wallet[-1]["ms"] >= 300  # the delay is at least what was asked (a lower bound, not a timing)

    # a schema violation on an operation without content: a body and a status it does not document
    fault(clean, {"operation": "logout", "schema_violation": True})
    status, _headers, data = http("POST", web + "/api/v1/auth/logout", headers=auth)
    assert status == 200 and json.loads(data) == {"sandboxFault": "schema_violation"}
    for bad, why in (({"stripe": "approve_all"}, "accepted: 'decline_succeeds'"),
                     ({"live_stalled": "yes"}, "accepted: true or false"),
                     ({"live_stalled": True, "service": "web"}, "a flag of its own"),
                     ({"operation": "getMe", "down": True}, "down and slow_ms are service faults"),
                     ({"service": "db", "down": True}, "accepted: web, ws, stream"),
                     ({"operation": "getMe", "status": 700}, "accepted: an HTTP status 100-599")):
        status, _headers, data = http("POST", control + "/faults", bad)
        assert status == 400 and why in json.loads(data)["error"], (bad, data)

    state = get_json(control + "/state")[1]
    assert {"group": "users", "status": 503} in state["faults"]
    http("DELETE", control + "/faults")
    assert get_json(web + "/api/v1/me", auth)[0] == 200
    assert get_json(control + "/state")[1]["faults"] == []


def test_service_faults_down_and_slow(clean):
    stream, ws = "http://" + clean["services"]["stream"], "http://" + clean["services"]["ws"]
    assert get_json(stream + "/health")[0] == 200
    fault(clean, {"service": "stream", "down": True})
    assert get_json(stream + "/health")[0] == 503
    assert http("GET", stream + "/live/main/master.m3u8")[0] == 503
    fault(clean, {"service": "ws", "slow_ms": 200})
    assert get_json(ws + "/health")[0] == 200
    _status, log = get_json(clean["control_url"] + "/requests?service=ws")
    assert log["requests"][-1]["ms"] >= 200
    fault(clean, {"service": "web", "down": True})
    assert get_json(clean["web"] + "/health")[0] == 503
    assert get_json(clean["web"] + "/api/v1/me", clean["auth"])[0] == 503
    assert get_json(clean["control_url"] + "/state")[0] == 200  # the control paths still answer
    fault(clean, {"service": "ws", "down": True})
    websockets = need("websockets")
    from websockets.sync.client import connect

    with pytest.raises(websockets.exceptions.InvalidStatus) as caught:
        with connect("ws://%s/ws" % clean["services"]["ws"], open_timeout=10):
            pass
    assert caught.value.response.status_code == 503
    http("DELETE", clean["control_url"] + "/faults")
    assert get_json(stream + "/health")[0] == 200
    assert get_json(clean["web"] + "/health")[0] == 200


# --- streaming --------------------------------------------------------------------------------------------------
def playlist(url: str):
    m3u8 = need("m3u8")
    status, headers, data = http("GET", url)
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.apple.mpegurl"), (status, headers)
    return m3u8.loads(data.decode(), uri=url)


def test_live_playlist_advances_and_stalls(clean):
    base = "http://%s/live/main/" % clean["services"]["stream"]
    master = playlist(base + "master.m3u8")
    assert master.is_variant and master.playlists[0].stream_info.bandwidth > 0
    media_url = base + master.playlists[0].uri
    first = playlist(media_url)
    assert not first.is_endlist and len(first.segments) >= 3
    assert all(s.duration <= first.target_duration for s in first.segments)
    for segment in first.segments[-2:]:
        status, headers, data = http("GET", segment.absolute_uri)
        assert status == 200 and data[:1] == b"\x47" and headers["Content-Type"] == "video/mp2t"
    time.sleep(2)
    second = playlist(media_url)
    assert second.media_sequence > first.media_sequence, (first.media_sequence, second.media_sequence)

    fault(clean, {"live_stalled": True})
    stalled = playlist(media_url)
    time.sleep(2)
    assert playlist(media_url).media_sequence == stalled.media_sequence
    http("DELETE", clean["control_url"] + "/faults")
    time.sleep(1.2)
    assert playlist(media_url).media_sequence > stalled.media_sequence


def test_vod_ends_and_its_segments_are_mpeg_ts(clean):
    base = "http://%s/vod/intro-42/" % clean["services"]["stream"]
    master = playlist(base + "master.m3u8")
    media = playlist(base + master.playlists[0].uri)
    assert media.is_endlist and media.playlist_type == "vod" and len(media.segments) >= 3
    total = 0.0
    for segment in media.segments:
        status, _headers, data = http("GET", segment.absolute_uri)
        assert status == 200 and data[:1] == b"\x47" and data[188:189] == b"\x47"  # TS packets of 188 bytes
        total += segment.duration
    assert total >= 3
    assert http("GET", base + "seg/999.ts")[0] == 404


# --- WebSocket --------------------------------------------------------------------------------------------------
def test_ws_echo_round_trip_and_dropped_upgrade(clean):
    websockets = need("websockets")
    from websockets.sync.client import connect

    url = "ws://%s/ws" % clean["services"]["ws"]
    message = json.dumps({"type": "ping", "id": 7, "text": "héllo"})
    with connect(url, open_timeout=10) as sock:
        sock.send(message)
        assert json.loads(sock.recv(timeout=10)) == json.loads(message)
    fault(clean, {"ws_drop_upgrade": True})
    with pytest.raises(websockets.exceptions.InvalidStatus) as caught:
        with connect(url, open_timeout=10):
            pass
    assert caught.value.response.status_code == 400
    http("DELETE", clean["control_url"] + "/faults")
    with connect(url, open_timeout=10) as sock:
        sock.send(message)
        assert sock.recv(timeout=10) == message


# --- configuration from moto and deep health --------------------------------------------------------------------
def test_deep_health_reports_the_unreachable_database_and_redis(configured):
    status, body = get_json(configured["web"] + "/health/deep")
    assert status == 503 and body["configured"] is True and body["missing"] == []
    assert body["task_definition"].endswith("task-definition/directfanz-sandbox-web:1")
    db, cache = body["checks"]["database"], body["checks"]["redis"]
    assert db["status"] == "error" and "127.0.0.1" in db["error"] and "connect" in db["error"].lower(), db
    assert cache["status"] == "error" and cache["error"], cache
    text = json.dumps(body) + json.dumps(get_json(configured["control_url"] + "/state")[1])
    for secret in ("s3cr3t-pw", "tok3n-value", WEBHOOK_SECRET, STRIPE_KEY, SENDGRID_KEY):
        assert secret not in text
    assert get_json(configured["web"] + "/health")[0] == 200


# --- Stripe -----------------------------------------------------------------------------------------------------
def sign(payload: bytes, secret: str, stamp: int) -> str:
    return "t=%d,v1=%s" % (stamp, hmac.new(secret.encode(), b"%d." % stamp + payload, hashlib.sha256).hexdigest())


def test_stripe_webhook_signature(configured):
    url = configured["web"] + "/api/webhooks/stripe"
    payload = json.dumps({"id": "evt_test_1", "type": "payment_intent.succeeded", "object": "event"}).encode()
    now = int(time.time())
    assert http("POST", url, payload, {"Stripe-Signature": sign(payload, WEBHOOK_SECRET, now)})[0] == 200
    assert http("POST", url, payload, {"Stripe-Signature": sign(payload, "whsec_" + "x" * 40, now)})[0] == 400
    assert http("POST", url, payload + b" ", {"Stripe-Signature": sign(payload, WEBHOOK_SECRET, now)})[0] == 400
    assert http("POST", url, payload, {"Stripe-Signature": sign(payload, WEBHOOK_SECRET, now - 400)})[0] == 400
    assert http("POST", url, payload)[0] == 400
    events = get_json(configured["control_url"] + "/state")[1]["webhook_events"]
    assert [e["id"] for e in events if e["verified"] and e["id"].startswith("evt_test")] == ["evt_test_1"]
    assert [e["reason"][:30] for e in events if not e["verified"]][-1].startswith("no Stripe-Signature")


def test_stripe_standin_payments_refunds_declines_and_the_fault(configured):
    stripe = need("stripe")
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": configured["stripe_api_base"]})
    endpoints = client.v1.webhook_endpoints.list()
    assert [(e.url, e.status) for e in endpoints.data] == [("https://%s/api/webhooks/stripe" % DOMAIN, "enabled")]
    assert "payment_intent.succeeded" in endpoints.data[0].enabled_events
    bad = stripe.StripeClient("sk_test_" + "W" * 30, base_addresses={"api": configured["stripe_api_base"]})
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.payment_intents.list()

    paid = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa",
                                                    "confirm": True})
    assert paid.status == "succeeded"
    refund = client.v1.refunds.create(params={"payment_intent": paid.id})
    assert refund.status == "succeeded" and refund.amount == 500
    # localstripe delivers payment_intent.succeeded to the app's endpoint, signed with the configured secret
    wait_for(lambda: [e for e in get_json(configured["control_url"] + "/state")[1]["webhook_events"]
                      if e.get("type") == "payment_intent.succeeded" and e["verified"]], 20, "the signed webhook")

    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create(params={"amount": 500, "currency": "usd", "confirm": True,
                                                 "payment_method": "pm_card_visa_chargeDeclined"})
    fault(configured, {"stripe": "decline_succeeds"})
    try:
        wrong = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd", "confirm": True,
                                                         "payment_method": "pm_card_visa_chargeDeclined"})
        assert wrong.status == "succeeded"
    finally:
        http("DELETE", configured["control_url"] + "/faults")
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create(params={"amount": 500, "currency": "usd", "confirm": True,
                                                 "payment_method": "pm_card_chargeDeclined"})


# --- e-mail -----------------------------------------------------------------------------------------------------
def test_email_standin_scopes_domain_and_send(configured):
    base = configured["email_api_base"]
    good, bad = {"Authorization": "Bearer " + SENDGRID_KEY}, {"Authorization": "Bearer SG.wrong.key"}
    status, body = get_json(base + "/v3/scopes", good)
    assert status == 200 and "mail.send" in body["scopes"]
    assert get_json(base + "/v3/scopes", bad)[0] == 401
    assert get_json(base + "/v3/scopes")[0] == 401
    status, domains = get_json(base + "/v3/whitelabel/domains", good)
    assert status == 200 and domains[0]["domain"] == DOMAIN and domains[0]["valid"] is True
    dkim = domains[0]["dns"]["dkim"]
    zone = json.loads((ROOT / "sandbox" / "seed" / "hostinger_zone.json").read_text())["zone"]
    seeded = next(r for r in zone if r["name"] == "s1._domainkey" and r["type"] == "TXT")
    assert (dkim["host"], dkim["type"], dkim["data"]) == ("s1._domainkey." + DOMAIN, "txt",
                                                          seeded["records"][0]["content"])
    mail = {"personalizations": [{"to": [{"email": "owner@example.com"}]}], "from": {"email": "no-reply@" + DOMAIN},
            "subject": "launch probe", "content": [{"type": "text/plain", "value": "hello"}]}
    status, headers, _body = http("POST", base + "/v3/mail/send", mail, good)
    assert status == 202 and headers.get("X-Message-Id")
    assert http("POST", base + "/v3/mail/send", {"subject": "x"}, good)[0] == 400
    assert http("POST", base + "/v3/mail/send", mail, bad)[0] == 401
    assert [m["to"] for m in get_json(base + "/__sim/messages")[1]["messages"]] == [["owner@example.com"]]


def test_config_follows_a_new_revision_and_the_vpc_dns(configured, moto, tmp_path):
    """A redeploy (new secret versions, a new task definition revision) is picked up without a restart: the
    rotated webhook secret is the one verified (and given to localstripe), and VPC-internal names resolve through
    the edge's DNS server once its state file appears - Redis answers a real PING there."""
    from sandbox.dns_stub import free_udp_tcp_port, serve

    redis_server = need_program("redis-server")
    redis_port = free_port()
    redis_proc = subprocess.Popen([redis_server, "--bind", "127.0.0.1", "--port", str(redis_port), "--requirepass",
                                   "cache-tok3n", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dns_port = free_udp_tcp_port()
    names = {"master.cache.directfanz-sandbox.internal.": {"A": ["127.0.0.1"]},
             "pgbouncer.directfanz-sandbox.internal.": {"A": ["127.0.0.1"]}}
    dns = serve(names, "127.0.0.1", dns_port)
    try:
        kw = dict(region_name="us-east-1", endpoint_url=moto, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
        sm, ecs = boto3.client("secretsmanager", **kw), boto3.client("ecs", **kw)
        rotated = "whsec_" + "R0t4t3d" * 6
        new = {"STRIPE_WEBHOOK_SECRET": rotated,
               "REDIS_URL": "redis://:cache-tok3n@master.cache.directfanz-sandbox.internal:%d" % redis_port,
               "DATABASE_URL": "postgresql://app:s3cr3t-pw@pgbouncer.directfanz-sandbox.internal:9/directfanz"
                               "?sslmode=require&pgbouncer=true"}
        td = ecs.describe_task_definition(taskDefinition="directfanz-sandbox-web")["taskDefinition"]
        container = dict(td["containerDefinitions"][0])
        secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
        for name, value in new.items():
            arn = secrets[name].split(":::")[0]
            version = sm.put_secret_value(SecretId=arn, SecretString=value)["VersionId"]
            secrets[name] = "%s:::%s" % (arn, version)
        container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())]
        revision = ecs.register_task_definition(
            family=td["family"], networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
            containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]
        ecs.update_service(cluster="directfanz-sandbox", service="web", taskDefinition=revision)
        configured["edge_state"].write_text(json.dumps({"vpc_dns_server": "127.0.0.1:%d" % dns_port}))

        def redeployed():
            body = get_json(configured["web"] + "/health/deep")[1]
            return body if body["task_definition"] == revision and body["checks"]["redis"]["status"] == "ok" else None

        body = wait_for(redeployed, 60, "the new revision read and Redis reached through the VPC DNS", interval=1)
        assert body["checks"]["redis"]["target"] == "master.cache.directfanz-sandbox.internal:%d" % redis_port
        db = body["checks"]["database"]
        # the name resolved (through the VPC DNS) to the closed port: refused, not "could not translate host name"
        assert db["status"] == "error" and "refused" in db["error"].lower(), db

        url = configured["web"] + "/api/webhooks/stripe"
        payload = json.dumps({"id": "evt_rotated", "type": "invoice.paid"}).encode()
        now = int(time.time())
        assert http("POST", url, payload, {"Stripe-Signature": sign(payload, WEBHOOK_SECRET, now)})[0] == 400
        assert http("POST", url, payload, {"Stripe-Signature": sign(payload, rotated, now)})[0] == 200
        # localstripe now signs with the rotated secret: a payment's event arrives verified
        stripe = need("stripe")
        client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": configured["stripe_api_base"]})
        paid = client.v1.payment_intents.create(params={"amount": 700, "currency": "usd", "confirm": True,
                                                        "payment_method": "pm_card_visa"})
        assert paid.status == "succeeded"
        wait_for(lambda: [e for e in get_json(configured["control_url"] + "/state")[1]["webhook_events"]
                          if e.get("verified") and e.get("type") == "payment_intent.succeeded"
                          and e["received"] > now - 1], 20, "an event signed with the rotated secret")
    finally:
        for server in dns:
            server.shutdown()
        redis_proc.terminate()
        redis_proc.wait(10)


# --- pages, static files ----------------------------------------------------------------------------------------
def test_pages_and_static_files(platform):
    web = platform["web"]
    for path, text in (("/terms", b"Terms of Service"), ("/privacy", b"Privacy Policy"), ("/support", b"support@")):
        status, headers, data = http("GET", web + path)
        assert status == 200 and headers["Content-Type"].startswith("text/html") and text in data
        assert DOMAIN.encode() in data
    status, headers, data = http("GET", web + "/static/app.css")
    assert status == 200 and "max-age" in headers["Cache-Control"] and headers["ETag"]
    assert http("GET", web + "/static/app.css", headers={"If-None-Match": headers["ETag"]})[0] == 304
    assert http("GET", web + "/static/missing.css")[0] == 404


def test_the_static_files_are_published_to_a_static_bucket_and_to_one_made_again(platform, moto):
    """What the app's deployment does: the release's static files put under static/ of the launch's static bucket once
    it exists - and again when the bucket is made anew under the same name (a reset sandbox, a new build)."""
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    bucket = "directfanz-sandbox-static-123456789012"

    def objects():
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    # the release's four files, put one after the other: the bucket is emptied only once all of them are in
    release = ["static/app.css", "static/app.js", "static/logo.svg", "static/robots.txt"]
    s3.create_bucket(Bucket=bucket)
    first = wait_for(lambda: objects() == release and release, 60, "the static files in the new bucket")
    for key in first:
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
    time.sleep(1.5)  # the bucket made again has another CreationDate
    s3.create_bucket(Bucket=bucket)
    assert wait_for(lambda: objects() == release and release, 60, "the static files in the bucket made again")
    for key in first:
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)


# --- the process ------------------------------------------------------------------------------------------------
def test_sigterm_stops_localstripe_and_every_port(platform):
    """Last in this file: it stops the module's platform."""
    proc = platform["proc"]
    children = [int(p) for p in Path("/proc/%d/task/%d/children" % (proc.pid, proc.pid)).read_text().split()]
    assert children, "localstripe runs as a child process"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, platform["log"].read_text()[-2000:]
    wait_for(lambda: not any(alive(pid) for pid in children), 15, "localstripe to exit")
    for address in list(platform["services"].values()) + [platform["stripe_api_base"][7:],
                                                          platform["email_api_base"][7:]]:
        host, port = address.split(":")
        with socket.socket() as sock:
            assert sock.connect_ex((host, int(port))) != 0, address
