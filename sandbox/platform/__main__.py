"""``python -m sandbox.platform``: the stand-in platform as one process (loopback, free ports).

    python -m sandbox.platform --aws-endpoint http://127.0.0.1:P --region us-east-1 --domain directfanz.io \\
        --workdir DIR --state-file F [--test-token T] [--ca-file PKI/ca.pem] [--edge-state F2 | --vpc-dns H:P]

It writes the OpenAPI document to DIR/openapi.json, makes the media segments with ffmpeg, starts localstripe (a
child process) and serves web, ws, stream, the Stripe proxy and the e-mail API; then it writes the state file
(atomically) and follows moto for the app's configuration until SIGTERM, which stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from sandbox.changes import MotoChanges
from sandbox.platform import openapi
from sandbox.platform.app import WebService
from sandbox.platform.config import ConfigReader
from sandbox.platform.faults import Faults
from sandbox.platform.media import Segments, StreamService, WsService
from sandbox.platform.providers import ChatWebhook, EmailProvider, LocalStripe, StripeProxy

DEFAULT_TOKEN = "sandbox-test-token-3f9c2a7e51d84b06"  # a fixed sandbox credential, written to the state file
SEED = Path(__file__).resolve().parents[1] / "seed" / "hostinger_zone.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)


def loopback_url(url: str, what: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = host == "localhost"
    if not ok:
        raise SystemExit("platform: %s %s is not on loopback; accepted: http://127.0.0.1:PORT" % (what, url))


class Platform:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.workdir: Path = args.workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.doc = openapi.build(args.domain)
        self.openapi_file = self.workdir / "openapi.json"
        write_json(self.openapi_file, self.doc)
        ops = {op["operationId"]: op["x-launch-group"] for item in self.doc["paths"].values() for op in item.values()}
        self.faults = Faults(ops)
        self.localstripe = LocalStripe(self.workdir, free_port())
        self.stripe = StripeProxy(self.localstripe, self.faults, args.domain)
        self.email = EmailProvider(args.domain, self.faults, SEED)
        self.chat = ChatWebhook()
        self.segments = Segments(self.workdir / "media")
        self.services: dict[str, str] = {}
        self.web = WebService(self.doc, self.faults, args.domain, args.test_token,
                              {"stripe": self.stripe, "email": self.email, "services": self.services},
                              ca_file=str(args.ca_file or ""), vpc_dns=self.vpc_dns)
        self.reader = ConfigReader(args.aws_endpoint, args.region, cluster=args.cluster)
        self.watch = MotoChanges(args.aws_endpoint)
        self.runners: list[web.AppRunner] = []
        self.stopping = asyncio.Event()
        self._vpc_dns = args.vpc_dns or ""

    def vpc_dns(self) -> str:
        """The VPC DNS server: given, or the edge's (its state file appears after ours)."""
        if not self._vpc_dns and self.args.edge_state and self.args.edge_state.exists():
            try:
                self._vpc_dns = json.loads(self.args.edge_state.read_text()).get("vpc_dns_server") or ""
            except ValueError:
                pass
        return self._vpc_dns

    async def serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        host, port = runner.addresses[0][:2]
        return "%s:%d" % (host, port)

    def state(self) -> dict[str, Any]:
        return {"services": dict(self.services), "control_url": "http://%s/__sim" % self.services["web"],
                "stripe_api_base": "http://%s" % self.stripe_addr, "email_api_base": "http://%s" % self.email_addr,
                "chat_webhook_url": "http://%s%s" % (self.email_addr, ChatWebhook.PATH),
                "openapi_file": str(self.openapi_file), "test_token": self.args.test_token,
                "localstripe_url": self.localstripe.base, "pid": os.getpid(),
                "configured": not self.web.config.get("missing"), "missing": list(self.web.config.get("missing", [])),
                "segments_made_in_s": round(self.segments.made_in, 3)}

    async def follow_moto(self) -> None:
        """Re-read the configuration when moto's change count moved (sandbox/changes.py) or the last round failed."""
        while not self.stopping.is_set():
            if await asyncio.to_thread(self.watch.due):
                if await self.read_moto():
                    self.watch.seen()
            try:
                await asyncio.wait_for(self.stopping.wait(), self.args.interval)
            except asyncio.TimeoutError:
                pass

    async def read_moto(self) -> bool:
        """One round: the configuration, the static files published, the webhook registered; the state written.
        False when a step failed (tried again next round)."""
        ok = True
        try:
            config = await asyncio.to_thread(self.reader.read)
        except Exception as e:  # noqa: BLE001 - moto answering oddly must not stop the platform
            ok = False
            config = dict(self.web.config, problems=["reading moto failed: %s: %s" % (type(e).__name__, e)])
        ok &= not any(p.startswith("moto not readable") for p in config["problems"])
        self.web.config = config
        try:
            await asyncio.to_thread(self.reader.publish_static, self.web.static)
        except Exception as e:  # noqa: BLE001 - tried again next round
            ok = False
            config["problems"].append("publishing the static files failed: %s" % e)
        values = config["values"]
        self.stripe.secret_key = values.get("STRIPE_SECRET_KEY", "")
        self.email.api_key = values.get("SENDGRID_API_KEY", "")
        if values.get("STRIPE_WEBHOOK_SECRET"):
            try:
                await self.stripe.register_webhook("http://%s/api/webhooks/stripe" % self.services["web"],
                                                   values["STRIPE_WEBHOOK_SECRET"])
            except Exception as e:  # noqa: BLE001 - reported, tried again next round
                ok = False
                config["problems"].append("webhook registration with localstripe failed: %s" % e)
        write_json(self.args.state_file, self.state())
        return ok

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        started = time.monotonic()
        self.localstripe.start()
        try:
            await self.segments.make()
            await self.localstripe.wait_ready()
            await self.stripe.start()
            self.services["web"] = await self.serve(self.web.app())
            self.services["ws"] = await self.serve(WsService(self.faults).app())
            self.services["stream"] = await self.serve(StreamService(self.segments, self.faults).app())
            self.stripe_addr = await self.serve(self.stripe.app())
            email_app = self.email.app()
            self.chat.mount(email_app)  # the providers' loopback server also takes the announcement's webhook
            self.email_addr = await self.serve(email_app)
            write_json(self.args.state_file, self.state())
            print("platform: up in %.1fs: %s" % (time.monotonic() - started, json.dumps(self.services)),
                  file=sys.stderr, flush=True)
            await self.follow_moto()
        finally:
            for runner in reversed(self.runners):
                await runner.cleanup()
            await self.stripe.close()
            self.localstripe.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--aws-endpoint", required=True, help="moto (loopback)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--domain", required=True)
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--state-file", required=True, type=Path)
    p.add_argument("--test-token", default=DEFAULT_TOKEN, help="the bearer token the API accepts")
    p.add_argument("--cluster", default="", help="the ECS cluster of the web service (default: any cluster)")
    p.add_argument("--ca-file", type=Path, help="CA bundle for the database/Redis TLS (the sandbox CA)")
    p.add_argument("--vpc-dns", default="", help="HOST:PORT answering the VPC-internal names")
    p.add_argument("--edge-state", type=Path, help="the edge's state file (its vpc_dns_server), read when it appears")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between two looks at moto's change count")
    args = p.parse_args(argv)
    loopback_url(args.aws_endpoint, "--aws-endpoint")
    asyncio.run(Platform(args).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
