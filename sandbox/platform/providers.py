"""The third parties the app calls: Stripe (localstripe behind a small proxy) and a SendGrid-shaped e-mail API.

localstripe (PyPI) implements PaymentIntents, refunds and webhook delivery well enough for the payments check, but
not everything the check reads, and it declines differently from Stripe. The proxy in front of it (its address is
the state file's ``stripe_api_base``) therefore:

- requires the app's configured ``STRIPE_SECRET_KEY`` once it is known (localstripe takes any ``sk_...``);
- answers ``GET /v1/account`` and ``GET /v1/webhook_endpoints[/<id>]`` itself from what it registered with
  localstripe's ``/_config/webhooks/`` (localstripe has neither);
- makes Stripe's declining test payment methods (``pm_card_visa_chargeDeclined``, ``pm_card_chargeDeclined``...)
  decline on a PaymentIntent as Stripe does (localstripe declines them only on attach) by giving localstripe
  ``pm_card_chargeCustomerFail``, which it declines on charge; with the ``{"stripe": "decline_succeeds"}`` fault they
  become ``pm_card_visa`` and succeed - the broken provider integration the payments check must catch;
- passes everything else through unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web

from sandbox.platform.faults import Faults

DECLINING = ("pm_card_visa_chargeDeclined", "pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds",
             "pm_card_visa_chargeDeclinedInsufficientFunds", "pm_card_chargeCustomerFail")
WEBHOOK_ID = "we_sandbox_app"
WEBHOOK_EVENTS = ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
                  "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
                  "invoice.paid", "invoice.payment_failed"]
HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "accept-encoding"}


class LocalStripe:
    """localstripe as a child process on loopback (sandbox.platform.localstripe_child), its store in workdir."""

    def __init__(self, workdir: Path, port: int):
        self.port = port
        self.store = workdir / "localstripe.pickle"
        self.log = (workdir / "localstripe.log").open("ab")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def start(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen([sys.executable, "-m", "sandbox.platform.localstripe_child", "--port",
                                      str(self.port), "--store", str(self.store)], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, cwd=root)

    async def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError("localstripe exited with %s (see %s)" % (self.proc.returncode, self.log.name))
                try:
                    async with session.get(self.base + "/js.stripe.com/v3/") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError("localstripe did not answer on %s within %ds" % (self.base, timeout))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def api_key(request: web.Request) -> str:
    """The key of a Stripe request (Bearer, or Basic with the key as user name, as the SDKs send it)."""
    header = request.headers.get("Authorization", "")
    kind, _sep, value = header.partition(" ")
    if kind == "Bearer":
        return value.strip()
    if kind == "Basic":
        try:
            return base64.b64decode(value).decode().split(":")[0]
        except ValueError:
            return ""
    return ""


def stripe_error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message}}, status=status)


class StripeProxy:
    """The Stripe API the app and the checks talk to (see the module docstring)."""

    def __init__(self, localstripe: LocalStripe, faults: Faults, domain: str):
        self.localstripe = localstripe
        self.faults = faults
        self.domain = domain
        self.secret_key = ""
        self.webhook: dict[str, Any] | None = None
        self.session: aiohttp.ClientSession | None = None

    async def register_webhook(self, url: str, secret: str) -> None:
        """Give localstripe the app's endpoint and signing secret (again whenever either changes)."""
        if self.webhook and self.webhook["_delivery_url"] == url and self.webhook["_secret"] == secret:
            return
        assert self.session is not None
        async with self.session.post(self.localstripe.base + "/_config/webhooks/" + WEBHOOK_ID,
                                     json={"url": url, "secret": secret, "events": WEBHOOK_EVENTS}) as r:
            if r.status != 200:
                raise RuntimeError("localstripe refused the webhook registration: %s %s" % (r.status, await r.text()))
        self.webhook = {"id": WEBHOOK_ID, "object": "webhook_endpoint", "api_version": None,
                        "application": None, "created": int(time.time()), "description": "DirectFanz app",
                        "enabled_events": list(WEBHOOK_EVENTS), "livemode": False, "metadata": {},
                        "status": "enabled", "url": "https://%s/api/webhooks/stripe" % self.domain,
                        "_delivery_url": url, "_secret": secret}

    def endpoint_view(self) -> dict[str, Any]:
        assert self.webhook is not None
        return {k: v for k, v in self.webhook.items() if not k.startswith("_")}

    def rewrite(self, body: bytes, content_type: str) -> bytes:
        """The declining test payment methods, as Stripe treats them (or, under the fault, as a broken one)."""
        if "application/x-www-form-urlencoded" not in content_type or not body:
            return body
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
        succeed = self.faults.flag("stripe") == "decline_succeeds"
        changed = False
        out = []
        for key, value in pairs:
            if key == "payment_method" and value in DECLINING:
                value = "pm_card_visa" if succeed else "pm_card_chargeCustomerFail"
                changed = True
            out.append((key, value))
        return urlencode(out).encode() if changed else body

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        response = await self._handle(request)
        self.faults.note("stripe", request.method, request.path, response.status, started)
        return response

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/v1/"):
            key = api_key(request)
            if self.secret_key and key != self.secret_key:
                return stripe_error(401, "Invalid API Key provided: %s" % (key[:8] + "****" if key else "(none)"))
            if not key.startswith(("sk_", "rk_")):
                return stripe_error(401, "You did not provide an API key (Authorization: Bearer sk_...)")
        if request.method == "GET" and path == "/v1/account":
            return web.json_response({"id": "acct_sandbox", "object": "account", "charges_enabled": True,
                                      "payouts_enabled": True, "details_submitted": True, "country": "US",
                                      "default_currency": "usd", "type": "standard",
                                      "business_profile": {"url": "https://%s" % self.domain, "name": "DirectFanz"},
                                      "settings": {"dashboard": {"display_name": "DirectFanz"}}})
        if request.method == "GET" and path == "/v1/webhook_endpoints":
            data = [self.endpoint_view()] if self.webhook else []
            return web.json_response({"object": "list", "url": "/v1/webhook_endpoints", "has_more": False,
                                      "data": data})
        if request.method == "GET" and path.startswith("/v1/webhook_endpoints/"):
            if self.webhook and path.rsplit("/", 1)[1] == WEBHOOK_ID:
                return web.json_response(self.endpoint_view())
            return stripe_error(404, "No such webhook endpoint: '%s'" % path.rsplit("/", 1)[1])
        body = await request.read()
        if request.method == "POST" and path.startswith("/v1/payment_intents"):
            body = self.rewrite(body, request.headers.get("Content-Type", ""))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        assert self.session is not None
        async with self.session.request(request.method, self.localstripe.base + request.path_qs, data=body,
                                        headers=headers) as r:
            data = await r.read()
            return web.Response(status=r.status, body=data,
                                headers={"Content-Type": r.headers.get("Content-Type", "application/json"),
                                         "Request-Id": "req_" + uuid.uuid4().hex[:14]})

    async def start(self) -> None:
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


def dkim_record(domain: str, seed_file: Path) -> tuple[str, str]:
    """The seeded zone's SendGrid DKIM record (s1._domainkey TXT): its name and value."""
    import json

    zone = json.loads(seed_file.read_text().replace("{domain}", domain))["zone"]
    for rrset in zone:
        if rrset["name"] == "s1._domainkey" and rrset["type"] == "TXT":
            return "s1._domainkey.%s" % domain, rrset["records"][0]["content"].strip('"')
    raise RuntimeError("the seed zone %s has no s1._domainkey TXT record" % seed_file)


class EmailProvider:
    """SendGrid v3 in the shapes the integrations check reads: scopes for a key, the authenticated domain with its
    DKIM record (the one the seeded zone holds), and mail sending (202, recorded)."""

    SCOPES = ["mail.send", "whitelabel.read", "sender_verification_eligible", "user.profile.read"]

    def __init__(self, domain: str, faults: Faults, seed_file: Path):
        self.domain = domain
        self.faults = faults
        self.api_key = ""
        self.dkim_name, self.dkim_value = dkim_record(domain, seed_file)
        self.messages: list[dict[str, Any]] = []

    def authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return bool(self.api_key) and secrets.compare_digest(header, "Bearer " + self.api_key)

    @staticmethod
    def unauthorized() -> web.Response:
        return web.json_response({"errors": [{"field": None, "message": "authorization required"}]}, status=401)

    async def scopes(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        return web.json_response({"scopes": list(self.SCOPES)})

    async def domains(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        return web.json_response([{
            "id": 1, "user_id": 1, "subdomain": "em", "domain": self.domain, "username": "directfanz", "ips": [],
            "custom_spf": False, "default": True, "legacy": False, "automatic_security": False, "valid": True,
            "dns": {"dkim": {"valid": True, "type": "txt", "host": self.dkim_name, "data": self.dkim_value},
                    "mail_server": {"valid": True, "type": "mx", "host": self.domain, "data": "mx1.hostinger.com"},
                    "subdomain_spf": {"valid": True, "type": "txt", "host": self.domain,
                                      "data": "v=spf1 include:sendgrid.net ~all"}}}])

    async def send(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        try:
            body = await request.json()
        except ValueError:
            body = None
        problems = []
        if not isinstance(body, dict):
            problems.append("the body is not a JSON object")
        else:
            if not body.get("personalizations") or not isinstance(body["personalizations"], list):
                problems.append("personalizations: at least one is required")
            if not isinstance(body.get("from"), dict) or "@" not in str(body["from"].get("email", "")):
                problems.append("from.email is required")
            if not body.get("subject") and not body.get("template_id"):
                problems.append("subject (or template_id) is required")
            if not body.get("content") and not body.get("template_id"):
                problems.append("content (or template_id) is required")
        if problems:
            return web.json_response({"errors": [{"message": p, "field": None} for p in problems]}, status=400)
        message_id = uuid.uuid4().hex
        self.messages.append({"id": message_id, "received": time.time(), "from": body["from"]["email"],
                              "to": [t.get("email") for p in body["personalizations"] for t in p.get("to", [])],
                              "subject": body.get("subject")})
        return web.Response(status=202, headers={"X-Message-Id": message_id})

    async def sim_messages(self, request: web.Request) -> web.Response:
        return web.json_response({"messages": self.messages})

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.monotonic()
        response = await handler(request)
        self.faults.note("email", request.method, request.path, response.status, started)
        return response

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        app.router.add_get("/v3/scopes", self.scopes)
        app.router.add_get("/v3/whitelabel/domains", self.domains)
        app.router.add_post("/v3/mail/send", self.send)
        app.router.add_get("/__sim/messages", self.sim_messages)
        return app


class ChatWebhook:
    """A Slack-compatible incoming webhook (the launch's announcement): a JSON object with a non-empty ``text`` is
    200 ``ok``, anything else 400 ``invalid_payload`` as Slack answers; what arrived is kept for ``/__sim/hooks``."""

    PATH = "/services/launch/announce"

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    async def post(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        ok = isinstance(body, dict) and isinstance(body.get("text"), str) and body["text"].strip() != ""
        if ok:
            self.posts.append({"received": time.time(), "text": body["text"],
                               "content_type": request.headers.get("Content-Type", "")})
        return web.Response(status=200 if ok else 400, text="ok" if ok else "invalid_payload")

    async def sim_hooks(self, request: web.Request) -> web.Response:
        return web.json_response({"posts": self.posts})

    def mount(self, app: web.Application) -> None:
        app.router.add_post(self.PATH, self.post)
        app.router.add_get("/__sim/hooks", self.sim_hooks)
