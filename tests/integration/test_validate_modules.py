"""The validate phase's check modules, run as a user runs them (`ansible -m`), against a small platform this
test starts on loopback (aiohttp: an OpenAPI-described API, HLS live and VOD, a WebSocket echo, the legal and
support pages, a WAF-like filter, a cache-status header, a Stripe front over the real localstripe), healthy and
with each fault. Names resolve through a DNS server (dnspython) the test runs, mapping api./ws./stream./www. of
the test domain to 127.0.0.1 - through a CNAME for api., so the modules' resolution path is the real one -
and the app refuses any request whose Host is not one of those names."""

import asyncio
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from aiohttp import web
from conftest import CLOSED, ROOT, module

DOMAIN = "launch-test.example"
SECRETS = {"stripe_secret_key": "sk_test_launchprobe0123456789abcdef", "webhook_secret": "whsec_launchprobe0123456789",
           "token": "validate-token-0123456789abcdef"}


# --- DNS ---------------------------------------------------------------------------------------------------------

class DnsServer:
    """A recursive-looking DNS server for the test: {fqdn: {"A": [...], "MX": [...]} or {"CNAME": "target."}};
    a CNAME is answered alone (the module must follow it)."""

    def __init__(self, names):
        self.names = names
        zone = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                query = dns.message.from_wire(data)
                reply = dns.message.make_response(query)
                reply.flags |= dns.flags.RA
                qname = query.question[0].name
                qtype = dns.rdatatype.to_text(query.question[0].rdtype)
                entry = zone.names.get(qname.to_text().lower())
                if entry is None:
                    reply.set_rcode(dns.rcode.NXDOMAIN)
                elif "CNAME" in entry:
                    reply.answer.append(dns.rrset.from_text(qname, 30, "IN", "CNAME", entry["CNAME"]))
                elif entry.get(qtype):
                    reply.answer.append(dns.rrset.from_text_list(qname, 30, "IN", qtype, entry[qtype]))
                sock.sendto(reply.to_wire(), self.client_address)

        self.server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = "127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --- the platform stand-in of these tests ------------------------------------------------------------------------

def openapi(domain):
    creator = {"type": "object", "required": ["id", "name"],
               "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}

    def json_of(schema):
        return {"application/json": {"schema": schema}}

    return {
        "openapi": "3.0.3", "info": {"title": "launch test platform", "version": "1"},
        "servers": [{"url": "https://api.%s/v1" % domain}],
        "paths": {
            "/health": {"get": {"operationId": "health", "summary": "Health", "x-launch-group": "health",
                                "responses": {"200": {"description": "up", "content": json_of(
                                    {"type": "object", "required": ["status"],
                                     "properties": {"status": {"type": "string", "enum": ["ok"]}}})}}}},
            "/creators": {"get": {"operationId": "listCreators", "x-launch-group": "creators",
                                  "parameters": [{"name": "limit", "in": "query", "example": 10,
                                                  "schema": {"type": "integer", "minimum": 1, "maximum": 50}}],
                                  "responses": {"200": {"description": "ok", "content": json_of(
                                      {"type": "object", "required": ["items"],
                                       "properties": {"items": {"type": "array", "items": creator}}})}}}},
            "/creators/{creatorId}": {"get": {
                "operationId": "getCreator", "x-launch-group": "creators",
                "parameters": [{"name": "creatorId", "in": "path", "required": True, "example": "cr_1",
                                "schema": {"type": "string", "pattern": "^cr_[0-9]+$"}}],
                "responses": {"200": {"description": "ok", "content": json_of(creator)},
                              "404": {"description": "none", "content": json_of({"type": "object"})}}}},
            "/posts": {
                "get": {"operationId": "listPosts", "x-launch-group": "posts",
                        "responses": {"200": {"description": "ok", "content": json_of(
                            {"type": "array", "items": {"type": "object", "required": ["id"],
                                                        "properties": {"id": {"type": "string"}}}})}}},
                "post": {"operationId": "createPost", "security": [{"bearer": []}],
                         "requestBody": {"required": True, "content": json_of(
                             {"type": "object", "required": ["text"],
                              "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 50}}})},
                         "responses": {
                             "201": {"description": "made", "content": json_of(
                                 {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}})},
                             "401": {"description": "no token"}}}},
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


TS_SEGMENT = bytes([0x47]) + bytes(187) + bytes([0x47]) + bytes(187)
FMP4_SEGMENT = b"\x00\x00\x00\x18styp" + bytes(16)


class Platform:
    """The test's platform on one loopback port (every name resolves to it); ``faults`` steers it."""

    def __init__(self, domain):
        self.domain = domain
        self.hosts = {"api.%s" % domain, "ws.%s" % domain, "stream.%s" % domain, "www.%s" % domain, domain}
        self.faults = {}
        self.posts_made = []
        self.webhooks = []
        self.seen = []  # (monotonic time, operation) of every request
        self.started = time.monotonic()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        assert ready.wait(10)

    # -- plumbing
    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        app = web.Application(middlewares=[self.middleware])
        r = app.router
        r.add_get("/v1/health", self.health)
        r.add_get("/v1/creators", self.creators)
        r.add_get("/v1/creators/{creatorId}", self.creator)
        r.add_get("/v1/posts", self.posts)
        r.add_post("/v1/posts", self.make_post)
        r.add_get("/openapi.json", self.document)
        r.add_get("/hls/master.m3u8", self.master)
        r.add_get("/hls/live.m3u8", self.live)
        r.add_get("/hls/vod.m3u8", self.vod)
        r.add_get("/hls/seg/{name}", self.segment)
        r.add_get("/ws", self.websocket)
        r.add_get("/terms", self.page("Terms of Service", "These terms govern DirectFanz."))
        r.add_get("/privacy", self.page("Privacy Policy", "We protect your personal data."))
        r.add_get("/support", self.page("Support", "Write to support@%s" % self.domain))
        r.add_get("/static/{name}", self.static)
        r.add_get("/search", self.search)
        r.add_post("/api/webhooks/stripe", self.stripe_webhook)
        self.runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.hits = {}
        self.burst = []
        ready.set()
        self.loop.run_forever()

    def close(self):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    @web.middleware
    async def middleware(self, request, handler):
        host = (request.host or "").rsplit(":", 1)[0]
        if host not in self.hosts:
            return web.json_response({"error": "unknown host %s" % host}, status=421)
        while self.faults.get("hang"):  # until the test clears the fault: a service that never answers
            await asyncio.sleep(0.1)
        op = "%s %s" % (request.method, request.match_info.route.resource.canonical
                        if request.match_info.route.resource else request.path)
        self.seen.append((time.monotonic(), op))
        if self.faults.get("latency_ms"):
            await asyncio.sleep(self.faults["latency_ms"] / 1000.0)
        if self.faults.get("status", {}).get(op):
            return web.json_response({"error": "injected"}, status=self.faults["status"][op])
        waf = self.waf(request)
        if waf:
            return waf
        return await handler(request)

    def waf(self, request):
        if self.faults.get("waf_off"):
            return None
        text = (request.query_string or "").lower()
        if "'" in text or "<script" in text or "../" in text:
            return web.Response(status=403, text="blocked")
        if request.path == "/search":
            now = time.monotonic()
            # a minute's window (each test starts with none): a loaded machine spreading the burst over seconds
            # still sees the block at the 21st request
            self.burst = [t for t in self.burst if now - t < 60] + [now]
            if len(self.burst) > 20:
                return web.Response(status=403, text="rate limited")
        return None

    # -- API
    async def document(self, request):
        return web.json_response(openapi(self.domain))

    async def health(self, request):
        return web.json_response({"status": "ok"})

    async def creators(self, request):
        return web.json_response({"items": [{"id": "cr_1", "name": "Ada"}]})

    async def creator(self, request):
        if "GET /v1/creators/{creatorId}" in self.faults.get("schema", []):
            return web.json_response({"id": 1})  # name missing, id not a string
        return web.json_response({"id": request.match_info["creatorId"], "name": "Ada"})

    async def posts(self, request):
        return web.json_response([{"id": "p_1"}])

    async def make_post(self, request):
        if request.headers.get("Authorization") != "Bearer " + SECRETS["token"]:
            return web.Response(status=401)
        self.posts_made.append(await request.json())
        return web.json_response({"id": "p_%d" % len(self.posts_made)}, status=201)

    # -- streaming
    async def master(self, request):
        return web.Response(text="#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nvod.m3u8\n",
                            content_type="application/vnd.apple.mpegurl")

    async def live(self, request):
        target = 1
        seq = 0 if self.faults.get("stalled") else int((time.monotonic() - self.started) / target)
        long = self.faults.get("long_segment")
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:%d" % target,
                 "#EXT-X-MEDIA-SEQUENCE:%d" % seq]
        for i in range(seq, seq + 3):
            lines += ["#EXTINF:%s," % ("2.6" if long else "1.0"), "seg/live%d.ts" % i]
        return web.Response(text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl")

    async def vod(self, request):
        lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:VOD",
                 "#EXT-X-MAP:URI=\"seg/init.mp4\""]
        for i in range(3):
            lines += ["#EXTINF:2.0,", "seg/vod%d.m4s" % i]
        if not self.faults.get("vod_no_end"):
            lines.append("#EXT-X-ENDLIST")
        return web.Response(text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl")

    async def segment(self, request):
        name = request.match_info["name"]
        if self.faults.get("bad_segments"):
            return web.Response(body=b"<html>not video</html>", content_type="text/html")
        return web.Response(body=TS_SEGMENT if name.endswith(".ts") else FMP4_SEGMENT,
                            content_type="video/mp2t" if name.endswith(".ts") else "video/mp4")

    async def websocket(self, request):
        if self.faults.get("ws_hang", 0) > 0:  # the next N handshakes get no answer at all
            self.faults["ws_hang"] -= 1
            await asyncio.sleep(3)  # past the test's 1 s timeout, and short of the fixture's shutdown bound
        if self.faults.get("ws_drop_upgrade"):
            return web.Response(status=400, text="Can \"Upgrade\" only to \"WebSocket\".")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if self.faults.get("ws_no_echo"):
                continue
            await ws.send_str(msg.data)
        return ws

    # -- web
    def page(self, title, text):
        async def handler(request):
            if self.faults.get("no_legal") and request.path in ("/terms", "/privacy"):
                return web.Response(status=404, text="not found")
            return web.Response(text="<html><h1>%s</h1><p>%s</p></html>" % (title, text), content_type="text/html")
        return handler

    async def static(self, request):
        name = request.match_info["name"]
        seen = self.hits.get(name, 0)
        self.hits[name] = seen + 1
        status = "Miss from cloudfront" if self.faults.get("no_cache") or not seen else "Hit from cloudfront"
        return web.Response(text="static", headers={"X-Cache": status})

    async def search(self, request):
        return web.json_response({"results": []})

    async def stripe_webhook(self, request):
        import stripe
        body = await request.text()
        secret = SECRETS["webhook_secret"] if not self.faults.get("webhook_accepts_anything") else None
        if secret:
            try:
                stripe.Webhook.construct_event(body, request.headers.get("Stripe-Signature", ""), secret)
            except Exception:
                return web.json_response({"error": "bad signature"}, status=400)
        self.webhooks.append(json.loads(body))
        return web.json_response({"received": True})


@pytest.fixture(scope="module")
def platform():
    running = Platform(DOMAIN)
    dns_server = DnsServer({
        "api.%s." % DOMAIN: {"CNAME": "edge.%s." % DOMAIN}, "edge.%s." % DOMAIN: {"A": ["127.0.0.1"]},
        "ws.%s." % DOMAIN: {"A": ["127.0.0.1"]}, "stream.%s." % DOMAIN: {"A": ["127.0.0.1"]},
        "www.%s." % DOMAIN: {"A": ["127.0.0.1"]}, "%s." % DOMAIN: {"A": ["127.0.0.1"], "MX": ["10 mx.%s." % DOMAIN]},
        "nomail.example.": {"A": ["127.0.0.1"]},
    })
    running.dns = dns_server.address
    running.api = "http://api.%s:%d" % (DOMAIN, running.port)
    yield running
    dns_server.close()
    running.close()


@pytest.fixture()
def app(platform):
    platform.faults.clear()
    platform.burst = []
    platform.posts_made.clear()
    platform.webhooks.clear()
    platform.seen.clear()
    yield platform
    platform.faults.clear()


def by_id(result):
    return dict((c["id"], c) for c in result["cases"])


def assert_case_shape(result):
    ids = [c["id"] for c in result["cases"]]
    assert len(ids) == len(set(ids)), ids
    for c in result["cases"]:
        assert set(c) >= {"id", "suite", "criterion", "name", "status", "measured", "threshold", "unit",
                          "critical", "message", "evidence"}, c
        assert c["status"] in ("pass", "fail", "not_run")
        assert (c["message"] == "") == (c["status"] == "pass"), c
    assert result["changed"] is False


def assert_no_secret(out, result):
    text = out + json.dumps(result)
    for value in SECRETS.values():
        assert value not in text


# --- endpoints ---------------------------------------------------------------------------------------------------

def sweep(app, *flags, **extra):
    args = {"openapi_url": app.api + "/openapi.json", "base_url": app.api, "resolvers": [app.dns],
            "timeout": 3, "total_timeout": 30}
    args.update(extra)
    rc, out, result = module("validate_endpoints", args, *flags)
    assert result, out
    return rc, out, result


def test_the_sweep_passes_every_read_only_operation_of_a_healthy_api(app):
    rc, out, result = sweep(app)
    assert rc == 0, out
    assert_case_shape(result)
    cases = by_id(result)
    assert set(cases) == {"GET /health", "GET /creators", "GET /creators/{creatorId}", "GET /posts", "POST /posts"}
    for key in ("GET /health", "GET /creators", "GET /creators/{creatorId}", "GET /posts"):
        assert cases[key]["status"] == "pass" and cases[key]["measured"] == 200, cases[key]
        assert cases[key]["suite"] == "endpoints" and cases[key]["criterion"] == "5.2"
    # the document's example, through the CNAME, with the name as Host (the app answers 421 to any other)
    assert cases["GET /creators/{creatorId}"]["evidence"]["request"]["url"].endswith("/v1/creators/cr_1")
    assert cases["POST /posts"]["status"] == "not_run" and "read_only" in cases["POST /posts"]["message"]
    assert app.posts_made == []
    assert result["summary"]["pass"] == 4 and result["summary"]["not_run"] == 1
    # the action plugin's progress lines: what the sweep will do, then where it ended
    assert "validate_endpoints: 5 operations, 4 to call at 8 at a time, 1 not run (read-only)" in out, out
    assert "validate_endpoints: 4/4 answered, 0 failing," in out, out


def test_the_sweep_prints_its_progress_while_it_runs(app):
    # the platform hangs until the test lets it go: a progress line read before that was printed while the module
    # ran (it cannot have finished)
    app.faults["hang"] = True
    args = {"openapi_file": str(write_document(app)), "base_url": app.api, "resolvers": [app.dns], "timeout": 20,
            "total_timeout": 60, "progress_interval": 0.5}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", PYTHONUNBUFFERED="1",
               AWS_ENDPOINT_URL=CLOSED)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c",
                             "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                             "-m", "directfanz.launch.validate_endpoints", "-a", json.dumps(args)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "0/4 answered, 0 failing so far" in line:
                break
        assert proc.poll() is None, seen  # still running
        assert any("0/4 answered, 0 failing so far" in line for line in seen), seen
    finally:
        app.faults["hang"] = False
        rest = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, "".join(seen) + rest
    assert "validate_endpoints: 4/4 answered, 0 failing," in rest, rest


def test_with_a_test_account_the_write_operations_are_called_and_the_token_never_returned(app):
    rc, out, result = sweep(app, "-vvv", token=SECRETS["token"])
    cases = by_id(result)
    assert cases["POST /posts"]["status"] == "pass" and cases["POST /posts"]["measured"] == 201, cases["POST /posts"]
    assert len(app.posts_made) == 1
    assert_no_secret(out, result)


def test_check_mode_calls_no_write_operation(app):
    rc, out, result = sweep(app, "--check", token=SECRETS["token"])
    cases = by_id(result)
    assert cases["POST /posts"]["status"] == "not_run" and cases["POST /posts"]["message"] == "check mode"
    assert cases["GET /posts"]["status"] == "pass"
    assert app.posts_made == []


def test_a_500_on_one_operation_fails_that_case_only(app):
    app.faults["status"] = {"GET /v1/posts": 500}
    rc, out, result = sweep(app)
    cases = by_id(result)
    assert cases["GET /posts"]["status"] == "fail" and cases["GET /posts"]["measured"] == 500
    assert "500" in cases["GET /posts"]["message"], cases["GET /posts"]
    assert [c["id"] for c in result["cases"] if c["status"] == "fail"] == ["GET /posts"]


def test_a_schema_violation_fails_the_case_naming_the_check(app):
    app.faults["schema"] = ["GET /v1/creators/{creatorId}"]
    rc, out, result = sweep(app)
    case = by_id(result)["GET /creators/{creatorId}"]
    assert case["status"] == "fail" and "schema" in case["message"].lower(), case
    assert by_id(result)["GET /creators"]["status"] == "pass"


def test_a_service_that_never_answers_is_a_failing_case_not_a_hang(app):
    app.faults["hang"] = True
    start = time.monotonic()
    rc, out, result = sweep(app, openapi_url=None, openapi_file=str(write_document(app)), timeout=1)
    assert time.monotonic() - start < 60
    case = by_id(result)["GET /health"]
    assert case["status"] == "fail" and case["message"] == "timed out after 1.0 s", case


def write_document(app):
    path = Path(os.environ.get("TMPDIR", "/tmp")) / ("validate-openapi-%d.json" % os.getpid())
    path.write_text(json.dumps(openapi(app.domain)))
    return path


@pytest.mark.parametrize("args,message", [
    ({"timeout": 3}, "give exactly one of openapi_file, openapi_url"),
    ({"openapi_url": "ftp://x/openapi.json"}, "is not an absolute http or https URL"),
    ({"openapi_file": "/nonexistent/openapi.json"}, "does not exist"),
    ({"openapi_url": CLOSED + "/o.json", "resolvers": ["nope"]}, "is malformed; accepted: 'IP', 'IP:PORT'"),
    ({"openapi_url": CLOSED + "/o.json", "concurrency": 0}, "concurrency 0 must be between 1 and 64"),
    ({"openapi_url": CLOSED + "/o.json", "exclude": ["posts"]}, "is not 'METHOD /path'"),
])
def test_the_sweep_refuses_bad_input_before_any_request(args, message):
    rc, out, result = module("validate_endpoints", args)
    assert rc != 0 and message in out, out
    assert "Could not fetch" not in out


# --- latency -----------------------------------------------------------------------------------------------------

def latency(app, *flags, **extra):
    args = {"openapi_url": app.api + "/openapi.json", "base_url": app.api, "resolvers": [app.dns],
            "rate": 20, "duration": 2, "timeout": 2}
    args.update(extra)
    rc, out, result = module("validate_latency", args, *flags)
    assert result, out
    return rc, out, result


def test_latency_measures_each_group_and_prints_a_line_per_group(app):
    rc, out, result = latency(app, token=SECRETS["token"])
    assert rc == 0, out
    assert_case_shape(result)
    cases = by_id(result)
    assert set(cases) == {"latency health", "latency creators", "latency posts"}
    for group in ("health", "creators", "posts"):
        case = cases["latency " + group]
        e = case["evidence"]
        assert case["status"] == "pass" and case["criterion"] == "5.5" and case["suite"] == "performance", case
        assert e["group"] == group and e["requests"] == 40 and e["errors"] == 0 and e["rate"] == 20
        assert 0 < e["p50_ms"] <= e["p95_ms"] <= e["p99_ms"] and case["measured"] == e["p95_ms"]
        assert len(result["series"][group]) == 40
        assert "validate_latency %s: p50" % group in out
    assert cases["latency creators"]["evidence"]["operations"] == ["GET /creators", "GET /creators/{creatorId}"]
    assert_no_secret(out, result)


def spans(app):
    """{group: (first, last request time)} from what the test's platform saw."""
    out = {}
    for at, op in app.seen:
        group = op.split("/")[2].split("?")[0] if op.startswith("GET /v1/") else None
        if group:
            first, last = out.get(group, (at, at))
            out[group] = (min(first, at), max(last, at))
    return out


def test_groups_at_once_load_every_group_together_and_one_after_the_other_otherwise(app):
    rc, out, result = latency(app, groups_at_once=True)
    assert rc == 0, out
    cases = by_id(result)
    assert set(cases) == {"latency health", "latency creators", "latency posts"}
    assert all(c["status"] == "pass" and c["evidence"]["requests"] == 40 and c["evidence"]["groups_at_once"] == 3
               for c in cases.values()), cases
    assert cases["latency posts"]["name"] == "p95 latency of the posts endpoints under 20 req/s, 3 groups at once " \
        "(60 req/s in all)"
    assert out.count("validate_latency ") >= 3 and "validate_latency posts: p50" in out
    together = spans(app)
    assert set(together) == {"health", "creators", "posts"}, together
    # every group was being loaded while every other one was: the spans overlap
    assert max(first for first, last in together.values()) < min(last for first, last in together.values())
    app.seen.clear()
    rc, out, result = latency(app)
    alone = sorted(spans(app).values())
    assert [c["id"] for c in result["cases"]] == list(cases)  # the document's order either way
    assert all(c["evidence"]["groups_at_once"] == 1 for c in result["cases"])
    # one after the other: each group's last request before the next group's first
    assert all(a[1] < b[0] for a, b in zip(alone, alone[1:], strict=False)), alone


def test_300_ms_of_added_latency_fails_every_group_on_p95(app):
    app.faults["latency_ms"] = 300
    rc, out, result = latency(app, groups=["health"])
    case = by_id(result)["latency health"]
    assert case["status"] == "fail" and case["measured"] >= 300, case
    assert "is not under 200 ms" in case["message"]


def test_errors_fail_a_group_even_when_fast(app):
    app.faults["status"] = {"GET /v1/posts": 500}
    rc, out, result = latency(app, groups=["posts"])
    case = by_id(result)["latency posts"]
    assert case["status"] == "fail" and case["evidence"]["errors"] == 40
    assert "40 of 40 requests failed (GET /posts answered HTTP 500)" in case["message"], case


def test_a_server_that_never_answers_gives_timeouts_not_a_hang(app):
    app.faults["hang"] = True
    rc, out, result = latency(app, groups=["health"], rate=5, duration=1, timeout=1, openapi_url=None,
                              openapi_file=str(write_document(app)))
    case = by_id(result)["latency health"]
    assert case["status"] == "fail" and "timed out after 1.0 s" in case["message"], case


def test_latency_refuses_bad_input_and_unknown_groups(app):
    rc, out, result = module("validate_latency", {"openapi_url": app.api + "/openapi.json", "rate": 0})
    assert rc != 0 and "rate 0.0 must be between 0.1 and 2000" in out
    rc, out, result = latency(app, groups=["nope"])
    assert rc != 0 and "groups nope are not in the document; its x-launch-group values are: creators, health" \
        in out, out
    rc, out, result = module("validate_latency", {"openapi_url": app.api + "/openapi.json", "max_requests": -1})
    assert rc != 0 and "max_requests -1 must be 0 (no bound) or more" in out, out
    # a plan over the budget the WAF's rate rule leaves: refused before the first load request
    app.seen.clear()
    rc, out, result = latency(app, max_requests=119)
    assert rc != 0 and "the load would send 120 requests (3 groups x 20 req/s x 2 s), more than max_requests 119" \
        in out, out
    assert not any(op.startswith("GET /v1/") for at, op in app.seen), app.seen
    rc, out, result = latency(app, max_requests=120, groups=["health"])
    assert rc == 0 and by_id(result)["latency health"]["evidence"]["requests"] == 40, out


# --- streaming ---------------------------------------------------------------------------------------------------

def streaming(app, *flags, **extra):
    stream = "http://stream.%s:%d" % (DOMAIN, app.port)
    args = {"live_url": stream + "/hls/live.m3u8", "vod_url": stream + "/hls/master.m3u8",
            "websocket_url": "ws://ws.%s:%d/ws" % (DOMAIN, app.port), "resolvers": [app.dns], "timeout": 3}
    args.update(extra)
    rc, out, result = module("validate_streaming", args, *flags)
    assert result, out
    return rc, out, result


def test_streaming_passes_live_vod_and_the_websocket_round_trip(app):
    rc, out, result = streaming(app)
    assert rc == 0, out
    assert_case_shape(result)
    cases = by_id(result)
    assert set(cases) == {"hls live media", "hls live advancing", "hls vod master", "hls vod media 0", "hls vod ended",
                          "websocket handshake", "websocket round trip"}
    assert all(c["status"] == "pass" and c["criterion"] == "5.4" for c in result["cases"]), result["cases"]
    assert [s["kind"] for s in cases["hls live media"]["evidence"]["segments"]] == ["ts", "ts"]
    assert [s["kind"] for s in cases["hls vod media 0"]["evidence"]["segments"]] == ["fmp4", "fmp4", "fmp4"]
    advancing = cases["hls live advancing"]["evidence"]
    assert advancing["second_sequence"] > advancing["first_sequence"]
    assert cases["websocket handshake"]["measured"] == 101
    assert json.loads(cases["websocket round trip"]["evidence"]["received"])["type"] == "launch-probe"


def test_a_stalled_live_playlist_fails_the_advancing_case(app):
    app.faults["stalled"] = True
    rc, out, result = streaming(app, vod_url=None, websocket_url=None)
    case = by_id(result)["hls live advancing"]
    assert case["status"] == "fail" and "the stream is stalled" in case["message"], case
    assert by_id(result)["hls live media"]["status"] == "pass"


def test_a_segment_over_the_target_duration_and_bad_bytes_fail_the_media_case(app):
    app.faults.update(long_segment=True, bad_segments=True)
    rc, out, result = streaming(app, vod_url=None, websocket_url=None, live_wait=0.1)
    case = by_id(result)["hls live media"]
    assert case["status"] == "fail"
    assert "segment 0 lasts 2.600 s, over the target duration 1 s" in case["message"], case
    assert "is not MPEG-TS, fMP4 or packed audio" in case["message"]


def test_a_vod_playlist_without_endlist_fails(app):
    app.faults["vod_no_end"] = True
    rc, out, result = streaming(app, live_url=None, websocket_url=None)
    case = by_id(result)["hls vod ended"]
    assert case["status"] == "fail" and "no EXT-X-ENDLIST" in case["message"], case


def test_a_proxy_that_drops_the_upgrade_fails_the_handshake(app):
    app.faults["ws_drop_upgrade"] = True
    rc, out, result = streaming(app, live_url=None, vod_url=None)
    cases = by_id(result)
    assert cases["websocket handshake"]["status"] == "fail" and cases["websocket handshake"]["measured"] == 400
    assert "not 101 Switching Protocols" in cases["websocket handshake"]["message"]
    assert cases["websocket round trip"]["status"] == "not_run"


def test_a_handshake_left_unanswered_once_is_tried_again_and_twice_fails(app):
    app.faults["ws_hang"] = 1
    rc, out, result = streaming(app, live_url=None, vod_url=None, timeout=1)
    cases = by_id(result)
    assert cases["websocket handshake"]["status"] == "pass", cases["websocket handshake"]
    assert cases["websocket handshake"]["evidence"]["earlier_attempt"] == "timed out after 1.0 s"
    assert cases["websocket round trip"]["status"] == "pass"
    app.faults["ws_hang"] = 2
    rc, out, result = streaming(app, live_url=None, vod_url=None, timeout=1)
    case = by_id(result)["websocket handshake"]
    assert case["status"] == "fail" and case["message"] == "timed out after 1.0 s", case
    assert case["evidence"]["earlier_attempt"] == "timed out after 1.0 s"


def test_a_websocket_that_never_replies_fails_the_round_trip_in_bounded_time(app):
    app.faults["ws_no_echo"] = True
    rc, out, result = streaming(app, live_url=None, vod_url=None, timeout=1)
    case = by_id(result)["websocket round trip"]
    assert case["status"] == "fail" and case["message"] == "no reply: timed out after 1.0 s", case


def test_streaming_refuses_bad_input():
    rc, out, result = module("validate_streaming", {"websocket_url": "http://ws.example/ws", "segments": 0})
    assert rc != 0 and "is not an absolute ws or wss URL" in out and "segments 0 must be between 1 and 20" in out


# --- payments: the real localstripe behind the sandbox platform's Stripe front (sandbox/platform/providers.py) ---

@pytest.fixture(scope="module")
def stripe_api(platform, tmp_path_factory):
    from sandbox.platform.faults import Faults
    from sandbox.platform.providers import LocalStripe, StripeProxy

    workdir = tmp_path_factory.mktemp("localstripe")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    faults = Faults({})
    localstripe = LocalStripe(workdir, port)
    proxy = StripeProxy(localstripe, faults, DOMAIN)
    proxy.secret_key = SECRETS["stripe_secret_key"]

    async def start():
        localstripe.start()
        await localstripe.wait_ready()
        await proxy.start()
        await proxy.register_webhook("http://127.0.0.1:%d/api/webhooks/stripe" % platform.port,
                                     SECRETS["webhook_secret"])
        runner = web.AppRunner(proxy.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, runner.addresses[0][1]

    runner, proxy_port = asyncio.run_coroutine_threadsafe(start(), platform.loop).result(60)
    proxy.base = "http://127.0.0.1:%d" % proxy_port
    proxy.faults_ = faults
    yield proxy
    asyncio.run_coroutine_threadsafe(runner.cleanup(), platform.loop).result(10)
    asyncio.run_coroutine_threadsafe(proxy.close(), platform.loop).result(10)
    localstripe.stop()


def payments(app, stripe_api, *flags, **extra):
    args = {"secret_key": SECRETS["stripe_secret_key"], "webhook_secret": SECRETS["webhook_secret"],
            "domain": DOMAIN, "api_base": stripe_api.base, "resolvers": [app.dns],
            "webhook_delivery_url": "http://api.%s:%d/api/webhooks/stripe" % (DOMAIN, app.port), "timeout": 10}
    args.update(extra)
    rc, out, result = module("validate_payments", args, *flags)
    assert result, out
    return rc, out, result


@pytest.fixture()
def stripe_faults(stripe_api):
    stripe_api.faults_.clear()
    yield stripe_api.faults_
    stripe_api.faults_.clear()


def test_payments_charge_refund_decline_and_webhooks_pass_and_no_key_is_returned(app, stripe_api, stripe_faults):
    rc, out, result = payments(app, stripe_api, "-vvv")
    assert rc == 0, out
    assert_case_shape(result)
    cases = by_id(result)
    assert all(c["status"] == "pass" for c in result["cases"]), result["cases"]
    assert cases["stripe account"]["criterion"] == "4.5" and cases["stripe webhook endpoint"]["criterion"] == "4.5"
    assert cases["payment confirmed and refunded"]["evidence"]["status"] == "succeeded"
    assert cases["payment confirmed and refunded"]["evidence"]["refund"].startswith("re_")
    assert cases["declined card declines"]["critical"] is True
    assert cases["webhook bad signature rejected"]["measured"] == 400
    assert [w["type"] for w in app.webhooks] == ["payment_intent.succeeded"]  # only the well-signed one got in
    assert_no_secret(out, result)


def test_a_declined_card_that_succeeds_fails_critically_and_is_refunded(app, stripe_api, stripe_faults):
    stripe_faults.add({"stripe": "decline_succeeds"})
    rc, out, result = payments(app, stripe_api)
    case = by_id(result)["declined card declines"]
    assert case["status"] == "fail" and case["critical"] is True, case
    assert "was not declined" in case["message"] and "(refunded at once)" in case["message"]


def test_an_app_that_accepts_any_signature_fails_critically(app, stripe_api, stripe_faults):
    app.faults["webhook_accepts_anything"] = True
    rc, out, result = payments(app, stripe_api)
    case = by_id(result)["webhook bad signature rejected"]
    assert case["status"] == "fail" and case["critical"] is True and "does not verify signatures" in case["message"]


def test_a_wrong_webhook_url_and_a_wrong_key_fail_the_configuration_cases(app, stripe_api, stripe_faults):
    rc, out, result = payments(app, stripe_api, webhook_url="https://www.%s/hooks" % DOMAIN)
    case = by_id(result)["stripe webhook endpoint"]
    assert case["status"] == "fail" and "no webhook endpoint has the URL https://www.%s/hooks" % DOMAIN \
        in case["message"]
    rc, out, result = payments(app, stripe_api, "--check", secret_key="sk_test_wrong0000000000")
    assert by_id(result)["stripe account"]["status"] == "fail"
    assert "HTTP 401" in by_id(result)["stripe account"]["message"]


def test_check_mode_makes_no_charge(app, stripe_api, stripe_faults):
    rc, out, result = payments(app, stripe_api, "--check")
    cases = by_id(result)
    for key in ("payment confirmed and refunded", "declined card declines", "webhook signed event accepted",
                "webhook bad signature rejected"):
        assert cases[key]["status"] == "not_run" and cases[key]["message"] == "check mode"
    assert cases["stripe account"]["status"] == "pass"
    assert app.webhooks == []


@pytest.mark.parametrize("args,message", [
    ({"secret_key": "sk_live_abc"}, "secret_key is a live key; accepted: a test key"),
    ({"secret_key": "pk_test_abc"}, "secret_key is not a Stripe secret key"),
    ({"amount": 10}, "amount 10 must be between 50 and 100000"),
    ({"webhook_secret": "nope"}, "webhook_secret is not a signing secret"),
])
def test_payments_refuses_bad_input_before_any_request(args, message):
    base = {"secret_key": "sk_test_x", "domain": DOMAIN, "api_base": CLOSED}
    rc, out, result = module("validate_payments", dict(base, **args))
    assert rc != 0 and message in out, out
    assert "sk_live_abc" not in out


# --- web: WAF probes, legal pages, support, cache ------------------------------------------------------------------

def web_checks(app, *flags, **extra):
    base = "http://www.%s:%d" % (DOMAIN, app.port)
    args = {"base_url": base, "resolvers": [app.dns], "waf_url": base + "/search", "burst_requests": 60,
            "terms_phrases": ["Terms of Service", "govern  DirectFanz"], "privacy_phrases": ["personal data"],
            "support_email": "support@%s" % DOMAIN, "static_paths": ["/static/app.js", "/static/app.css"],
            "cache_requests": 40, "timeout": 3}
    args.update(extra)
    rc, out, result = module("validate_web", args, *flags)
    assert result, out
    return rc, out, result


def test_web_checks_pass_on_a_protected_cached_site_with_its_legal_pages(app):
    app.hits.clear()
    # one request in flight: the stand-in blocks its 21st /search request, and sent one at a time that is the 21st
    # sent (with the default 16 in flight, arrival order on a loaded machine differs from the send order by up to 15)
    rc, out, result = web_checks(app, burst_concurrency=1)
    assert rc == 0, out
    assert_case_shape(result)
    cases = by_id(result)
    assert all(c["status"] == "pass" for c in result["cases"]), [c for c in result["cases"] if c["status"] != "pass"]
    assert {c["id"] for c in result["cases"] if c["critical"]} == {
        "waf sql injection", "waf cross-site scripting", "waf path traversal", "waf rate burst"}
    assert cases["waf rate burst"]["evidence"]["blocked_after"] == 21, cases["waf rate burst"]
    assert cases["support mail domain"]["evidence"]["mx"] == ["10 mx.%s." % DOMAIN]
    assert cases["cdn cache hit rate"]["measured"] == 95.0  # the first request of each path is a miss
    assert cases["terms page"]["criterion"] == "10.2" and cases["support page"]["criterion"] == "10.3"


def test_no_waf_fails_every_probe_critically(app):
    app.faults["waf_off"] = True
    rc, out, result = web_checks(app, burst_requests=30)
    cases = by_id(result)
    for key in ("waf sql injection", "waf cross-site scripting", "waf path traversal", "waf rate burst"):
        assert cases[key]["status"] == "fail" and cases[key]["critical"], cases[key]
    assert "the WAF let it through" in cases["waf sql injection"]["message"]
    assert "no 403 in 30 requests" in cases["waf rate burst"]["message"]


def test_missing_legal_text_no_mx_and_a_cold_cache_fail_their_cases(app):
    app.faults.update(no_cache=True)
    rc, out, result = web_checks(app, burst_requests=0, terms_phrases=["Arbitration clause"],
                                 support_email="help@nomail.example")
    cases = by_id(result)
    assert "waf rate burst" not in cases
    assert cases["terms page"]["status"] == "fail" and "'Arbitration clause'" in cases["terms page"]["message"]
    assert cases["support mail domain"]["status"] == "fail" and "has no MX record" in \
        cases["support mail domain"]["message"]
    assert cases["cdn cache hit rate"]["status"] == "fail" and cases["cdn cache hit rate"]["measured"] == 0.0
    app.faults.update(no_cache=False, no_legal=True)
    rc, out, result = web_checks(app, burst_requests=0)
    assert by_id(result)["privacy page"]["status"] == "fail" and by_id(result)["privacy page"]["measured"] == 404


def test_web_refuses_bad_input():
    rc, out, result = module("validate_web", {"base_url": "www.example.com", "cloudwatch": True,
                                              "static_paths": ["static/app.js"]})
    assert rc != 0, out
    for message in ("base_url 'www.example.com' is not an absolute http or https URL",
                    "cloudwatch: true needs distribution_id", "static path 'static/app.js' must start with /"):
        assert message in out


# --- against the sandbox's stand-in platform (python -m sandbox.platform), healthy and with each fault -------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(path, seconds, procs):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.poll() is None, "a stand-in exited early with %s" % proc.returncode
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.2)
    raise AssertionError("%s did not appear within %d s" % (path, seconds))


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """moto (the stand-in reads the app's configuration from it; empty here) and the platform stand-in, each on
    free loopback ports in this module's own directory; a DNS server maps the domain's names to 127.0.0.1."""
    work = tmp_path_factory.mktemp("standin")
    moto_port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    moto = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p",
                             str(moto_port)], stdout=(work / "moto.log").open("wb"), stderr=subprocess.STDOUT)
    procs = [moto]
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", moto_port), 1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto did not start"
                time.sleep(0.2)
        state_file = work / "platform.json"
        platform_proc = subprocess.Popen([sys.executable, "-m", "sandbox.platform", "--aws-endpoint",
                                          "http://127.0.0.1:%d" % moto_port, "--domain", DOMAIN, "--workdir",
                                          str(work / "platform"), "--state-file", str(state_file)], cwd=ROOT, env=env,
                                         stdout=(work / "platform.log").open("wb"), stderr=subprocess.STDOUT)
        procs.append(platform_proc)
        state = _wait_for(state_file, 90, procs)
        names = dict(("%s.%s." % (n, DOMAIN), {"A": ["127.0.0.1"]}) for n in ("api", "ws", "stream", "www"))
        dns_server = DnsServer(names)
        state["dns"] = dns_server.address
        state["doc"] = json.loads(Path(state["openapi_file"]).read_text())
        state["port"] = dict((k, int(v.rsplit(":", 1)[1])) for k, v in state["services"].items())
        yield state
        dns_server.close()
    finally:
        for proc in reversed(procs):
            _stop(proc)


def faults(standin, *specs):
    import urllib.request
    req = urllib.request.Request(standin["control_url"] + "/faults", method="DELETE")
    urllib.request.urlopen(req, timeout=10).read()
    for spec in specs:
        req = urllib.request.Request(standin["control_url"] + "/faults", data=json.dumps(spec).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()


@pytest.fixture()
def healthy(standin):
    faults(standin)
    yield standin
    faults(standin)


def first_get(doc):
    for path, item in doc["paths"].items():
        if "get" in item and "{" not in path:
            return "GET " + path, item["get"]["operationId"], item["get"]["x-launch-group"]
    raise AssertionError("no GET operation without parameters in the stand-in's document")


def api_url(standin):
    return "http://api.%s:%d" % (DOMAIN, standin["port"]["web"])


def test_the_standin_api_passes_the_sweep_and_each_injected_fault_fails_its_operation(healthy):
    args = {"openapi_file": healthy["openapi_file"], "base_url": api_url(healthy), "resolvers": [healthy["dns"]],
            "token": healthy["test_token"], "read_only": False, "timeout": 5, "total_timeout": 120}
    rc, out, result = module("validate_endpoints", args)
    assert rc == 0 and result["summary"]["fail"] == 0, [c for c in result.get("cases", []) if c["status"] != "pass"]
    assert result["summary"]["total"] >= 130 and result["summary"]["not_run"] == 0
    case_id, operation, dummy = first_get(healthy["doc"])
    other = [c["id"] for c in result["cases"] if c["id"].startswith("GET ") and c["id"] != case_id][0]
    other_op = [item["get"]["operationId"] for path, item in healthy["doc"]["paths"].items()
                if "GET " + path == other][0]
    faults(healthy, {"operation": operation, "status": 500}, {"operation": other_op, "schema_violation": True})
    rc, out, result = module("validate_endpoints", args)
    failed = dict((c["id"], c) for c in result["cases"] if c["status"] == "fail")
    assert set(failed) == {case_id, other}, failed
    assert failed[case_id]["measured"] == 500
    assert "schema" in failed[other]["message"].lower(), failed[other]


def test_the_standin_latency_passes_and_300_ms_on_a_group_fails_it(healthy):
    dummy, dummy2, group = first_get(healthy["doc"])
    args = {"openapi_file": healthy["openapi_file"], "base_url": api_url(healthy), "resolvers": [healthy["dns"]],
            "token": healthy["test_token"], "groups": [group], "rate": 10, "duration": 2, "timeout": 3}
    rc, out, result = module("validate_latency", args)
    case = by_id(result)["latency " + group]
    assert case["status"] == "pass" and case["evidence"]["errors"] == 0, case
    faults(healthy, {"group": group, "latency_ms": 300})
    rc, out, result = module("validate_latency", args)
    case = by_id(result)["latency " + group]
    assert case["status"] == "fail" and case["measured"] >= 300 and "is not under 200 ms" in case["message"], case


def standin_streaming(standin, **extra):
    stream = "http://stream.%s:%d" % (DOMAIN, standin["port"]["stream"])
    args = {"live_url": stream + "/live/main/master.m3u8", "vod_url": stream + "/vod/intro/master.m3u8",
            "websocket_url": "ws://ws.%s:%d/ws" % (DOMAIN, standin["port"]["ws"]), "resolvers": [standin["dns"]],
            "timeout": 5}
    args.update(extra)
    rc, out, result = module("validate_streaming", args)
    assert result, out
    return by_id(result)


def test_the_standin_streams_pass_and_a_stalled_live_playlist_and_a_dropped_upgrade_fail(healthy):
    cases = standin_streaming(healthy)
    assert all(c["status"] == "pass" for c in cases.values()), [c for c in cases.values() if c["status"] != "pass"]
    assert {"hls live advancing", "hls vod ended", "websocket round trip"} <= set(cases)
    faults(healthy, {"live_stalled": True}, {"ws_drop_upgrade": True})
    cases = standin_streaming(healthy, vod_url=None)
    assert cases["hls live advancing"]["status"] == "fail" and "stalled" in cases["hls live advancing"]["message"]
    assert cases["websocket handshake"]["status"] == "fail" and "not 101" in cases["websocket handshake"]["message"]


def test_the_standin_stripe_declines_and_a_declined_card_that_succeeds_fails(healthy):
    args = {"secret_key": SECRETS["stripe_secret_key"], "domain": DOMAIN, "api_base": healthy["stripe_api_base"],
            "resolvers": [healthy["dns"]], "timeout": 10}
    rc, out, result = module("validate_payments", args)
    cases = by_id(result)
    assert cases["stripe account"]["status"] == "pass"
    assert cases["payment confirmed and refunded"]["status"] == "pass", cases["payment confirmed and refunded"]
    assert cases["declined card declines"]["status"] == "pass", cases["declined card declines"]
    faults(healthy, {"stripe": "decline_succeeds"})
    rc, out, result = module("validate_payments", args)
    case = by_id(result)["declined card declines"]
    assert case["status"] == "fail" and case["critical"] and "was not declined" in case["message"], case


def test_in_production_the_cache_hit_rate_is_cloudfronts_own_metric(app, sandbox):
    """cloudwatch: true - CloudFront's CacheHitRate (AWS/CloudFront, DistributionId + Region=Global) averaged over the
    window instead of counting the edge's cache-status header: read from moto, where the test put the datapoints."""
    import datetime

    from conftest import aws_client

    now = datetime.datetime.now(datetime.timezone.utc)
    cw = aws_client(sandbox, "cloudwatch")

    def put(distribution, *values):
        cw.put_metric_data(Namespace="AWS/CloudFront", MetricData=[
            {"MetricName": "CacheHitRate", "Timestamp": now - datetime.timedelta(minutes=5 + 10 * i), "Value": v,
             "Unit": "Percent", "Dimensions": [{"Name": "DistributionId", "Value": distribution},
                                               {"Name": "Region", "Value": "Global"}]}
            for i, v in enumerate(values)])
    put("EHITS00000001", 90.0, 94.0)
    put("ELOW000000001", 40.0, 50.0)
    env = {"AWS_ENDPOINT_URL": sandbox["aws_endpoint_url"]}
    app.hits.clear()
    base = "http://www.%s:%d" % (DOMAIN, app.port)
    args = {"base_url": base, "resolvers": [app.dns], "burst_requests": 0, "cloudwatch": True,
            "terms_phrases": ["Terms of Service"], "privacy_phrases": ["personal data"],
            "support_email": "support@%s" % DOMAIN, "timeout": 3}
    cases = {}
    for distribution in ("EHITS00000001", "ELOW000000001", "ENODATA000001"):
        rc, out, result = module("validate_web", dict(args, distribution_id=distribution), env=env)
        assert result, out
        cases[distribution] = by_id(result)["cdn cache hit rate"]
    assert cases["EHITS00000001"]["status"] == "pass" and cases["EHITS00000001"]["measured"] == 92.0, cases
    assert cases["EHITS00000001"]["evidence"]["datapoints"] == 2
    assert cases["ELOW000000001"]["status"] == "fail" and cases["ELOW000000001"]["measured"] == 45.0
    assert cases["ENODATA000001"]["status"] == "fail" and "no CacheHitRate data" in cases["ENODATA000001"]["message"]
    assert app.hits == {}  # the edge's static paths were not counted instead


# --- integrations and the database: bad input refused before any call -------------------------------------------

@pytest.mark.parametrize("args,message", [
    ({"resolvers": ["not-an-address"]}, "not-an-address"),
    ({"health_url": "ftp://www.%s/health" % DOMAIN}, "health_url: "),
    ({"email_api_base": "api.sendgrid.com"}, "email_api_base: "),
    ({"timeout": 0}, "timeout must be 1-120 seconds (got 0)"),
])
def test_integrations_refuse_bad_input_before_any_call(args, message):
    # every endpoint a closed port: a call made would fail on the connection, not with the input's message
    base = {"domain": DOMAIN, "health_url": CLOSED + "/health", "email_api_base": CLOSED,
            "email_api_key": "SG.sandbox-secret-key-value", "content_bucket": "a-bucket"}
    rc, out, result = module("validate_integrations", dict(base, **args))
    assert rc != 0 and message in out and "Nothing was called." in out, out
    assert "SG.sandbox-secret-key-value" not in out


@pytest.mark.parametrize("args,message", [
    ({"database_url": "mysql://app:pa55-secret-word@db.example:3306/app"},
     "database_url must be postgresql://user:password@host:port/database (its value is not shown)"),
    ({"database_url": "postgresql:///nohost"}, "database_url must be postgresql://"),
    ({"threshold_ms": 0}, "threshold_ms must be above 0 and timeout 1-120 seconds"),
    ({"timeout": 500}, "threshold_ms must be above 0 and timeout 1-120 seconds"),
    ({"resolvers": ["999.1.1.1"]}, "999.1.1.1"),
])
def test_database_refuses_bad_input_before_any_call_and_never_shows_the_url(args, message):
    base = {"database_url": "postgresql://app:pa55-secret-word@127.0.0.1:9/app"}
    rc, out, result = module("validate_database", dict(base, **args))
    assert rc != 0 and message in out and "Nothing was called." in out, out
    assert "pa55-secret-word" not in out
