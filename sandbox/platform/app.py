"""The web service of the stand-in platform: every operation of the OpenAPI document answered as documented,
health endpoints, the legal and support pages, the Stripe webhook, static files, and the ``/__sim/`` control paths.

Requests are checked against the same document they are served from: a secured operation without the test bearer
token gets 401, a body, path or query parameter off its schema 400 with a message naming it, and a valid request
its documented success status and a body built from the response schema (request values echoed where the response
has the same field), so a positive-mode schemathesis run passes on a healthy platform and names exactly the
operations a fault was injected into.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any, Callable

import jsonschema
from aiohttp import web

from sandbox.platform import openapi
from sandbox.platform.config import libpq_params, public_view
from sandbox.platform.faults import FaultError, Faults

WEBHOOK_TOLERANCE = 300  # seconds, as Stripe's libraries default
FORMATS = jsonschema.FormatChecker()


def inline(schema: Any, doc: dict[str, Any]) -> Any:
    """The schema with every ``$ref`` replaced by its target (the document has no recursive schemas)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inline(doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], doc)
        return {k: inline(v, doc) for k, v in schema.items()}
    if isinstance(schema, list):
        return [inline(v, doc) for v in schema]
    return schema


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message[:500]}}, status=status, headers=headers)


def first_error(validator: jsonschema.Draft7Validator, value: Any, where: str) -> str | None:
    best = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if best is None:
        return None
    path = "/".join(str(p) for p in best.absolute_path)
    return "%s%s: %s" % (where, "/" + path if path else "", best.message[:300])


class Operation:
    """One documented operation, with its validators and its answer."""

    def __init__(self, path: str, method: str, op: dict[str, Any], doc: dict[str, Any]):
        self.path, self.method, self.op, self.doc = path, method.upper(), op, doc
        self.id: str = op["operationId"]
        self.group: str = op["x-launch-group"]
        self.secured = bool(op.get("security"))
        self.params = op.get("parameters", [])
        self.validators = {p["name"]: jsonschema.Draft7Validator(p["schema"], format_checker=FORMATS)
                           for p in self.params}
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        self.body = jsonschema.Draft7Validator(inline(body, doc), format_checker=FORMATS) if body else None
        self.status = next(int(s) for s in op["responses"] if s.startswith("2"))
        content = op["responses"][str(self.status)].get("content", {}).get("application/json", {})
        self.response_schema = inline(content["schema"], doc) if content else None
        self.response_validator = (jsonschema.Draft7Validator(self.response_schema, format_checker=FORMATS)
                                   if self.response_schema else None)

    def check(self, request: web.Request, body: Any) -> str | None:
        """The first problem of the request's parameters and body, or None."""
        for p in self.params:
            name, where = p["name"], p["in"]
            raw = request.match_info.get(name) if where == "path" else request.query.get(name)
            if raw is None:
                if p.get("required"):
                    return "%s parameter %s is required" % (where, name)
                continue
            value: Any = raw
            kind = p["schema"].get("type")
            if kind == "integer":
                if not re.fullmatch(r"-?\d{1,19}", raw):
                    return "%s parameter %s: %r is not an integer" % (where, name, raw[:40])
                value = int(raw)
            elif kind == "boolean":
                if raw not in ("true", "false"):
                    return "%s parameter %s: %r is not true or false" % (where, name, raw[:40])
                value = raw == "true"
            problem = first_error(self.validators[name], value, "%s parameter %s" % (where, name))
            if problem:
                return problem
        if self.body is not None:
            if body is None:
                return "a JSON request body is required (Content-Type: application/json)"
            return first_error(self.body, body, "body")
        return None

    def answer(self, request: web.Request, body: Any, domain: str) -> Any:
        """A valid instance of the success schema, carrying the request's ids and (where they fit) its values."""
        ids = dict(request.match_info)
        if ids:
            ids["id"] = list(ids.values())[-1]
        if self.method == "POST" and self.status == 201:
            ids["id"] = str(uuid.uuid4())
        assert self.response_schema is not None
        value = openapi.example(self.response_schema, self.doc, domain, ids)
        if isinstance(value, dict) and isinstance(body, dict) and "data" not in value:
            merged = dict(value)
            for key, item in body.items():
                if key in merged and key != "id":
                    merged[key] = item
            if self.response_validator is not None and not any(self.response_validator.iter_errors(merged)):
                value = merged
        return value


class WebService:
    def __init__(self, doc: dict[str, Any], faults: Faults, domain: str, token: str, providers: dict[str, Any],
                 ca_file: str = "", vpc_dns: Callable[[], str] | None = None):
        self.doc = doc
        self.faults = faults
        self.domain = domain
        self.token = token
        self.providers = providers  # "stripe": StripeProxy, "email": EmailProvider, "ports": {...}
        self.ca_file = ca_file
        self.vpc_dns = vpc_dns or (lambda: "")
        self.config: dict[str, Any] = {"values": {}, "missing": ["(not read yet)"], "problems": [], "read_at": None}
        self.webhook_events: list[dict[str, Any]] = []
        self.operations = [Operation(path, method, op, doc) for path, item in doc["paths"].items()
                           for method, op in item.items()]
        self.static = self.static_files()

    # -- plumbing -------------------------------------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.monotonic()
        if not request.path.startswith("/__sim/"):
            fault = self.faults.for_service("web")
            if fault.get("slow_ms"):
                await asyncio.sleep(fault["slow_ms"] / 1000)
            if fault.get("down"):
                response: web.StreamResponse = error(503, "server_error", "the web service is down (sandbox fault)")
                self.faults.note("web", request.method, request.path, 503, started)
                return response
        try:
            response = await handler(request)
        except web.HTTPException as e:
            if e.status >= 400 and not e.text.startswith("{"):
                response = error(e.status, "not_found" if e.status == 404 else "bad_request", e.reason,
                                 headers={k: v for k, v in e.headers.items() if k.lower() == "allow"})
            else:
                response = e
        if not request.path.startswith("/__sim/"):
            self.faults.note("web", request.method, request.path, response.status, started, request.get("operation"))
        return response

    def handler(self, operation: Operation) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            request["operation"] = operation.id
            fault = self.faults.for_operation(operation.id)
            if fault.get("latency_ms"):
                await asyncio.sleep(fault["latency_ms"] / 1000)
            if fault.get("status"):
                return error(fault["status"], "server_error" if fault["status"] >= 500 else "bad_request",
                             "sandbox fault: %s answers %d" % (operation.id, fault["status"]))
            if operation.secured and request.headers.get("Authorization", "") != "Bearer " + self.token:
                return error(401, "unauthorized", "a valid bearer token is required (Authorization: Bearer ...)",
                             headers={"WWW-Authenticate": 'Bearer realm="api"'})
            body = None
            if operation.body is not None:
                raw = await request.read()
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        return error(400, "bad_request", "the request body is not JSON")
            problem = operation.check(request, body)
            if problem:
                return error(400, "bad_request", problem)
            if fault.get("schema_violation"):
                # off the documented schema: an unknown property and none of the required ones
                status = 200 if operation.status == 204 else operation.status
                return web.json_response({"sandboxFault": "schema_violation"}, status=status)
            if operation.response_schema is None:
                return web.Response(status=operation.status)
            return web.json_response(operation.answer(request, body, self.domain), status=operation.status)
        return handle

    # -- pages ----------------------------------------------------------------------------------------------------
    def page(self, title: str, body: str) -> web.Response:
        html = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s - %s</title>"
                "<link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><header><img src=\"/static/logo.svg\""
                " alt=\"DirectFanz\"></header><main><h1>%s</h1>%s</main><footer>&copy; DirectFanz - %s</footer>"
                "<script src=\"/static/app.js\"></script></body></html>" % (title, self.domain, title, body,
                                                                            self.domain))
        return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-cache"})

    async def index(self, request: web.Request) -> web.Response:
        return self.page("DirectFanz", "<p>Support your favourite creators on %s.</p>" % self.domain)

    async def terms(self, request: web.Request) -> web.Response:
        return self.page("Terms of Service", "<p>These Terms of Service govern your use of %s, operated by "
                         "DirectFanz. By creating an account you agree to them.</p><p>Creators keep the rights to "
                         "their content; subscriptions renew until cancelled.</p>" % self.domain)

    async def privacy(self, request: web.Request) -> web.Response:
        return self.page("Privacy Policy", "<p>This Privacy Policy explains what %s collects (account, payment "
                         "and usage data), why, and how to have it deleted.</p>" % self.domain)

    async def support(self, request: web.Request) -> web.Response:
        return self.page("Support", "<p>Write to <a href=\"mailto:support@%s\">support@%s</a>; we answer within "
                         "one business day.</p>" % (self.domain, self.domain))

    def static_files(self) -> dict[str, tuple[bytes, str]]:
        files = {
            "app.css": ("body{font-family:system-ui,sans-serif;margin:0}main{max-width:60rem;margin:2rem auto}"
                        "header,footer{padding:1rem;background:#111;color:#eee}\n", "text/css"),
            "app.js": ("document.documentElement.dataset.app='directfanz';\n", "application/javascript"),
            "logo.svg": ("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"24\"><text x=\"0\" y=\"18\""
                         " fill=\"#e44\">DirectFanz</text></svg>\n", "image/svg+xml"),
            "robots.txt": ("User-agent: *\nAllow: /\n", "text/plain"),
        }
        return {name: (text.encode(), kind) for name, (text, kind) in files.items()}

    async def static_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.static:
            raise web.HTTPNotFound(reason="no static file %s" % name)
        data, kind = self.static[name]
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
        headers = {"Cache-Control": "public, max-age=86400", "ETag": etag}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=data, content_type=kind, headers=headers)

    async def openapi_json(self, request: web.Request) -> web.Response:
        return web.json_response(self.doc)

    # -- health ---------------------------------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": "web"})

    async def resolve(self, host: str) -> str | None:
        """The address of a VPC-internal name through the sandbox's VPC DNS server (the edge's), or None."""
        server = self.vpc_dns()
        if not server or re.fullmatch(r"[\d.]+", host):
            return None
        import dns.asyncresolver

        resolver = dns.asyncresolver.Resolver(configure=False)
        address, _sep, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "53")
        resolver.nameservers = [address]
        resolver.port = int(port or 53)
        resolver.lifetime = 2
        try:
            answer = await resolver.resolve(host, "A")
            return answer[0].to_text()
        except Exception:  # noqa: BLE001 - an unknown name falls back to the system's resolver
            return None

    async def check_database(self, url: str) -> dict[str, Any]:
        import psycopg

        started = time.monotonic()
        try:
            params = libpq_params(url)
            address = await self.resolve(params["host"])
            if address:
                params["hostaddr"] = address
            if params.get("sslmode", "").startswith("verify") and self.ca_file and "sslrootcert" not in params:
                params["sslrootcert"] = self.ca_file
            conn = await psycopg.AsyncConnection.connect(**params, connect_timeout=3, autocommit=True,
                                                         prepare_threshold=None)
            async with conn:
                row = await (await conn.execute("SELECT 1")).fetchone()
            ok = row == (1,)
            return {"status": "ok" if ok else "error", "latency_ms": round((time.monotonic() - started) * 1000, 1),
                    "target": "%s:%s" % (params["host"], params["port"]), **({} if ok else {"error": "SELECT 1 "
                                                                                            "returned %r" % (row,)})}
        except Exception as e:  # noqa: BLE001 - every failure is the answer
            return {"status": "error", "latency_ms": round((time.monotonic() - started) * 1000, 1),
                    "error": self.scrub(str(e) or type(e).__name__, url)}

    async def check_redis(self, url: str) -> dict[str, Any]:
        import redis.asyncio as redis
        from urllib.parse import urlsplit

        started = time.monotonic()
        parts = urlsplit(url)
        kwargs: dict[str, Any] = {"socket_connect_timeout": 3, "socket_timeout": 3}
        target = url
        try:
            address = await self.resolve(parts.hostname or "")
            if parts.scheme == "rediss":
                kwargs["ssl_ca_certs"] = self.ca_file or None
                if address:
                    kwargs["ssl_check_hostname"] = False  # chain still verified; the address came from VPC DNS
            if address:
                target = url.replace("@%s:" % parts.hostname, "@%s:" % address, 1)
            client = redis.from_url(target, **kwargs)
            try:
                pong = await client.ping()
            finally:
                await client.aclose()
            return {"status": "ok" if pong else "error", "latency_ms": round((time.monotonic() - started) * 1000, 1),
                    "target": "%s:%s" % (parts.hostname, parts.port)}
        except Exception as e:  # noqa: BLE001
            return {"status": "error", "latency_ms": round((time.monotonic() - started) * 1000, 1),
                    "error": self.scrub(str(e) or type(e).__name__, url)}

    @staticmethod
    def scrub(text: str, url: str) -> str:
        from urllib.parse import unquote, urlsplit

        password = urlsplit(url).password
        for secret in filter(None, {password, unquote(password or "")}):
            text = text.replace(secret, "****")
        return text[:400]

    async def health_deep(self, request: web.Request) -> web.Response:
        values = self.config.get("values") or {}
        checks: dict[str, Any] = {}
        jobs = {}
        for name, key, fn in (("database", "DATABASE_URL", self.check_database),
                              ("redis", "REDIS_URL", self.check_redis)):
            if values.get(key):
                jobs[name] = fn(values[key])
            else:
                checks[name] = {"status": "not configured", "latency_ms": None, "error": "%s is not set" % key}
        for name, result in zip(jobs, await asyncio.gather(*jobs.values()), strict=True):
            checks[name] = result
        view = public_view(self.config)
        ok = view["configured"] and all(c["status"] == "ok" for c in checks.values())
        body = {"status": "ok" if ok else "error", "configured": view["configured"], "missing": view["missing"],
                "problems": view["problems"], "task_definition": view["task_definition"], "checks": checks}
        return web.json_response(body, status=200 if ok else 503)

    # -- Stripe webhook -------------------------------------------------------------------------------------------
    async def stripe_webhook(self, request: web.Request) -> web.Response:
        payload = await request.read()
        secret = (self.config.get("values") or {}).get("STRIPE_WEBHOOK_SECRET", "")
        header = request.headers.get("Stripe-Signature", "")
        problem = verify_signature(payload, header, secret, time.time())
        if problem:
            self.webhook_events.append({"received": time.time(), "verified": False, "reason": problem})
            return web.json_response({"error": {"code": "bad_request", "message": problem}}, status=400)
        try:
            event = json.loads(payload)
        except ValueError:
            return error(400, "bad_request", "the signed payload is not JSON")
        self.webhook_events.append({"received": time.time(), "verified": True, "id": event.get("id"),
                                    "type": event.get("type")})
        del self.webhook_events[:-200]
        return web.json_response({"received": True})

    # -- control --------------------------------------------------------------------------------------------------
    async def sim_faults(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.faults.clear()
            return web.json_response(self.faults.view())
        if request.method == "GET":
            return web.json_response(self.faults.view())
        try:
            spec = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON (a fault object or a list of them)"}, status=400)
        try:
            added = [self.faults.add(s) for s in (spec if isinstance(spec, list) else [spec])]
        except FaultError as e:
            return web.json_response({"error": str(e)}, status=400)
        return web.json_response({"added": added, **self.faults.view()})

    async def sim_state(self, request: web.Request) -> web.Response:
        stripe = self.providers.get("stripe")
        email = self.providers.get("email")
        return web.json_response({
            **self.faults.view(), "config": public_view(self.config), "operations": len(self.operations),
            "services": self.providers.get("services", {}), "test_token_set": bool(self.token),
            "webhook": stripe.endpoint_view() if stripe is not None and stripe.webhook else None,
            "webhook_events": self.webhook_events[-50:],
            "emails": len(email.messages) if email is not None else 0})

    async def sim_requests(self, request: web.Request) -> web.Response:
        items = list(self.faults.requests)
        service = request.query.get("service")
        if service:
            items = [i for i in items if i["service"] == service]
        if request.query.get("clear") == "true":
            self.faults.requests.clear()
        return web.json_response({"requests": items[-int(request.query.get("limit", "1000")):]})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware], client_max_size=4 * 1024 * 1024)
        r = app.router
        r.add_get("/", self.index)
        r.add_get("/health", self.health)
        r.add_get("/health/deep", self.health_deep)
        r.add_get("/terms", self.terms)
        r.add_get("/privacy", self.privacy)
        r.add_get("/support", self.support)
        r.add_get("/static/{name}", self.static_file)
        r.add_get("/api/openapi.json", self.openapi_json)
        r.add_post("/api/webhooks/stripe", self.stripe_webhook)
        r.add_route("*", "/__sim/faults", self.sim_faults)
        r.add_get("/__sim/state", self.sim_state)
        r.add_get("/__sim/requests", self.sim_requests)
        # literal paths before parameterised ones (the table has no literal beside a parameter, so order is safe)
        for operation in sorted(self.operations, key=lambda o: o.path.count("{")):
            r.add_route(operation.method, operation.path, self.handler(operation))
        return app


def verify_signature(payload: bytes, header: str, secret: str, now: float) -> str | None:
    """Stripe's scheme: ``t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">`` (several v1 allowed), within the
    tolerance. Returns the problem, or None when the signature is good."""
    if not secret:
        return "STRIPE_WEBHOOK_SECRET is not configured yet (the app reads it from its task definition's secrets)"
    if not header:
        return "no Stripe-Signature header"
    items = [part.strip().partition("=") for part in header.split(",")]
    stamps = [v for k, _sep, v in items if k == "t"]
    signatures = [v for k, _sep, v in items if k == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        return "Stripe-Signature must carry t=<timestamp> and at least one v1=<signature>"
    stamp = int(stamps[0])
    expected = hmac.new(secret.encode(), b"%d." % stamp + payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        return "no v1 signature matches the payload and the signing secret"
    if abs(now - stamp) > WEBHOOK_TOLERANCE:
        return "the signature's timestamp is %ds from now (tolerance %ds)" % (abs(now - stamp), WEBHOOK_TOLERANCE)
    return None
