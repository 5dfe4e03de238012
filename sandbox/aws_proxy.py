"""Loopback proxies in front of moto.

`AwsProxy` forwards every request to moto and notes the name of each AWS operation (the tests' recorder: it
proves which calls a run made). `SlowAws` is the same proxy playing "slow AWS": moto makes an RDS instance, a
replication group or a CloudFront distribution ready at once, where AWS takes 5-20 minutes; for ``delay``
seconds after each such create, the proxy answers every read of that resource with the state AWS shows while
it is being made (DBInstanceStatus ``creating`` without an ``Endpoint``, replication group ``creating``,
distribution ``InProgress``). That is what lets a test or `make bench` show that the site run overlaps its long
creates: with delay N the run should take about N seconds longer, not N times the number of long creates.

    python -m sandbox.aws_proxy --upstream http://127.0.0.1:PORT --delay 20   # prints the proxy's URL
"""

from __future__ import annotations

import argparse
import http.client
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_HEADERS = ("content-length", "transfer-encoding", "connection", "server", "date")


# Route 53's REST API (the health-check and tag calls the tests count): (method, path pattern) -> operation.
ROUTE53_REST = (
    ("POST", r"/2013-04-01/healthcheck$", "CreateHealthCheck"),
    ("GET", r"/2013-04-01/healthcheck$", "ListHealthChecks"),
    ("GET", r"/2013-04-01/healthcheck/[^/]+$", "GetHealthCheck"),
    ("POST", r"/2013-04-01/healthcheck/[^/]+$", "UpdateHealthCheck"),
    ("DELETE", r"/2013-04-01/healthcheck/[^/]+$", "DeleteHealthCheck"),
    ("POST", r"/2013-04-01/tags/[^/]+$", "ListTagsForResources"),
    ("POST", r"/2013-04-01/tags/[^/]+/[^/]+$", "ChangeTagsForResource"),
    ("GET", r"/2013-04-01/tags/[^/]+/[^/]+$", "ListTagsForResource"),
)


def operation(path: str, headers, body: bytes, method: str = "POST") -> str:
    """The operation of a request in any of the protocols boto3 speaks: X-Amz-Target (JSON), /operation/X
    (RPC v2 CBOR), Action= (query), Route 53's REST paths; "?" for another REST call (a read when it is a GET)."""
    if headers.get("X-Amz-Target"):
        return headers["X-Amz-Target"].split(".")[-1]
    if "/operation/" in path:
        return path.rsplit("/", 1)[-1]
    action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
    if action:
        return action[0]
    bare = path.split("?", 1)[0]
    for verb, pattern, name in ROUTE53_REST:
        if verb == method and re.search(pattern, bare):
            return name
    return "?"


class AwsProxy:
    """Forwards to ``upstream`` and lists the operation of every request in ``calls``. Subclasses answer a request
    themselves in `canned` (for what moto does not implement: AWS's answer, written by the test) or change moto's
    answer in `answer`."""

    def __init__(self, upstream: str):
        target = urllib.parse.urlparse(upstream)
        proxy = self
        self.calls: list[str] = []
        self.exchanges: list[tuple[str, str]] = []  # (HTTP method, operation): a REST call's method says read or write

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                name = operation(self.path, self.headers, body, self.command)
                proxy.calls.append(name)
                proxy.exchanges.append((self.command, name))
                reply = proxy.canned(self.command, self.path, name, body)
                if reply is not None:
                    status, headers, data = reply
                else:
                    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                    conn.request(self.command, self.path, body, dict(self.headers))
                    upstream_answer = conn.getresponse()
                    status, headers = upstream_answer.status, upstream_answer.getheaders()
                    data = proxy.answer(self.command, self.path, name, body, status, upstream_answer.read())
                    conn.close()
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def canned(self, method: str, path: str, name: str, body: bytes):
        """(status, headers, body) to answer without asking moto, or None to forward."""
        return None

    def answer(self, method: str, path: str, name: str, body: bytes, status: int, data: bytes) -> bytes:
        return data

    def operations(self) -> list[str]:
        return list(self.calls)

    def writes(self) -> list[str]:
        return [c for c in self.calls if not c.startswith(("Get", "List", "Describe"))]

    def any_writes(self) -> list[tuple[str, str]]:
        """Every request that is not a read - as `writes`, and a REST call ("?") that is not a GET or HEAD."""
        return [(m, c) for m, c in self.exchanges
                if not (c.startswith(("Get", "List", "Describe", "Head")) or (c == "?" and m in ("GET", "HEAD")))]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _tag(name: str, xml: str) -> str | None:
    m = re.search(r"<%s>([^<]*)</%s>" % (name, name), xml)
    return m.group(1) if m else None


def _blocks(tag: str, xml: str, change) -> str:
    """``xml`` with each <tag>...</tag> block replaced by ``change(block)``."""
    return re.sub(r"<%s(?:\s[^>]*)?>.*?</%s>" % (tag, tag), lambda m: change(m.group(0)), xml, flags=re.S)


class SlowAws(AwsProxy):
    """The proxy whose long creates stay in their creating state for ``delay`` seconds (see the module doc)."""

    def __init__(self, upstream: str, delay: float):
        self.delay = delay
        self.created: dict[tuple[str, str], float] = {}  # (kind, id) -> when the create was answered
        self.lock = threading.Lock()
        super().__init__(upstream)

    def busy(self, kind: str, ident: str | None) -> bool:
        with self.lock:
            started = self.created.get((kind, ident or ""))
        return started is not None and time.monotonic() - started < self.delay

    def note(self, kind: str, ident: str | None) -> None:
        if ident:
            with self.lock:
                self.created[(kind, ident)] = time.monotonic()

    def answer(self, method, path, name, body, status, data):
        if status >= 300 or self.delay <= 0:
            return data
        text = data.decode("utf-8", "replace")
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if name == "CreateDBInstance":
            self.note("rds", (form.get("DBInstanceIdentifier") or [""])[0].lower())
        elif name == "CreateReplicationGroup":
            self.note("redis", (form.get("ReplicationGroupId") or [""])[0].lower())
        elif method == "POST" and re.match(r"^/20\d\d-\d\d-\d\d/distribution(\?WithTags)?$", path):
            self.note("cloudfront", _tag("Id", text))

        def rds(block):
            if not self.busy("rds", (_tag("DBInstanceIdentifier", block) or "").lower()):
                return block
            block = re.sub(r"<DBInstanceStatus>[^<]*</DBInstanceStatus>", "<DBInstanceStatus>creating</DBInstanceStatus>",
                           block)
            return re.sub(r"<Endpoint>.*?</Endpoint>", "", block, flags=re.S)  # AWS has no endpoint yet

        def redis(block):
            if not self.busy("redis", (_tag("ReplicationGroupId", block) or "").lower()):
                return block
            block = re.sub(r"<Status>[^<]*</Status>", "<Status>creating</Status>", block)
            return re.sub(r"<PrimaryEndpoint>.*?</PrimaryEndpoint>", "", block, flags=re.S)

        def cloudfront(block):
            if not self.busy("cloudfront", _tag("Id", block)):
                return block
            return re.sub(r"<Status>[^<]*</Status>", "<Status>InProgress</Status>", block, count=1)

        if name == "DescribeDBInstances" or name == "CreateDBInstance":
            text = _blocks("DBInstance", text, rds)
        elif name == "DescribeReplicationGroups" or name == "CreateReplicationGroup":
            text = _blocks("ReplicationGroup", text, redis)
        elif "/distribution" in path:
            text = _blocks("DistributionSummary", _blocks("Distribution", text, cloudfront), cloudfront)
        else:
            return data
        return text.encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--upstream", required=True, help="moto's URL (loopback)")
    parser.add_argument("--delay", type=float, default=20.0, help="seconds a long create stays in its creating state")
    args = parser.parse_args()
    host = urllib.parse.urlparse(args.upstream).hostname or ""
    if not (host == "localhost" or host.startswith("127.")):
        raise SystemExit("aws_proxy: the upstream must be on loopback, not %s" % host)
    proxy = SlowAws(args.upstream, args.delay)
    print(proxy.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.close()


if __name__ == "__main__":
    main()
