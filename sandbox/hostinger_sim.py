"""A loopback simulator of the parts of Hostinger's public REST API the launch uses.

It answers in the shapes the official ``hostinger-api`` SDK parses (tests prove that), with bearer-token
auth and Hostinger's error bodies (``{"message", "correlation_id"}``, 422 adding ``errors``). Tests steer
it through ``/__sim/*`` endpoints: inject 401/422/429/5xx or slow answers, read the request log, reset, and date the
zone's snapshots earlier (``/__sim/age``: the time a lowered TTL needs to run out, passed in a rehearsal).

Run: ``python -m sandbox.hostinger_sim --domain example.com --token T --port-file F`` (port 0 = free port).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SEED = Path(__file__).with_name("seed") / "hostinger_zone.json"
HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]\.?$")

DOMAIN_PATH = re.compile(r"^/api/domains/v1/portfolio/(?P<domain>[^/]+)$")
NS_PATH = re.compile(r"^/api/domains/v1/portfolio/(?P<domain>[^/]+)/nameservers$")
ZONE_PATH = re.compile(r"^/api/dns/v1/zones/(?P<domain>[^/]+)$")
SNAPSHOTS_PATH = re.compile(r"^/api/dns/v1/snapshots/(?P<domain>[^/]+)$")
SNAPSHOT_PATH = re.compile(r"^/api/dns/v1/snapshots/(?P<domain>[^/]+)/(?P<sid>\d+)$")
RESTORE_PATH = re.compile(r"^/api/dns/v1/snapshots/(?P<domain>[^/]+)/(?P<sid>\d+)/restore$")
VALIDATE_PATH = re.compile(r"^/api/dns/v1/zones/(?P<domain>[^/]+)/validate$")
ZONE_TYPES = ("A", "AAAA", "CNAME", "ALIAS", "MX", "TXT", "NS", "SOA", "SRV", "CAA")
LABEL = re.compile(r"^(\*|_?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_seed(domain: str, seed_file: Path = SEED) -> dict[str, Any]:
    """The seed with ``{domain}`` filled in: the portfolio entry, its zone and what ALIAS targets resolve to."""
    text = seed_file.read_text().replace("{domain}", domain)
    seed = json.loads(text)
    entry = dict(seed["domain"], domain=domain)
    entry.update(created_at=now(), updated_at=now(), registered_at="2024-03-02T10:11:12Z",
                 expires_at="2027-03-02T10:11:12Z")
    return {"domain": entry, "zone": seed["zone"], "alias_targets": seed.get("alias_targets", {}),
            "snapshots": [{"id": 1, "reason": "Initial zone", "created_at": now(), "snapshot": seed["zone"]}]}


class State:
    """Everything the simulator holds, behind one lock (the server is threaded)."""

    def __init__(self, domain: str, token: str, seed_file: Path = SEED) -> None:
        self.lock = threading.RLock()
        self.token = token
        self.domain = domain
        self.seed_file = seed_file
        self.reset()

    def reset(self) -> None:
        self.domains = {self.domain: load_seed(self.domain, self.seed_file)}
        self.faults: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    server_version = "hostinger-sim/1"
    state: State  # set on the subclass made in serve()

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet unless asked
        if self.server.verbose:  # type: ignore[attr-defined]
            sys.stderr.write("sim: " + fmt % args + "\n")

    # -- plumbing -------------------------------------------------------------------------------------
    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        path = self.path.split("?")[0]
        if not path.startswith("/__sim/"):
            with self.state.lock:
                self.state.requests.append({"method": self.command, "path": path, "status": status, "time": time.time()})

    def _error(self, status: int, message: str, errors: dict[str, list[str]] | None = None,
               headers: dict[str, str] | None = None) -> None:
        body: dict[str, Any] = {"message": message, "correlation_id": str(uuid.uuid4())}
        if errors is not None:
            body["errors"] = errors
        self._send(status, body, headers)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        return json.loads(raw)

    def _fault(self) -> bool:
        """Apply the first injected fault matching this request; True when it answered."""
        path = self.path.split("?")[0]
        with self.state.lock:
            fault = next((f for f in self.state.faults
                          if re.search(f.get("match", ""), path) and f.get("method", self.command) == self.command), None)
            if fault is not None:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    self.state.faults.remove(fault)
        if fault is None:
            return False
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        status = fault.get("status")
        if not status:
            return False  # a pure delay: the request then proceeds normally
        headers = {}
        if fault.get("retry_after") is not None:
            headers["Retry-After"] = str(fault["retry_after"])
        messages = {401: "Unauthenticated.", 429: "Too Many Attempts.", 422: "The given data was invalid."}
        errors = fault.get("errors") if status == 422 else None
        if status == 422 and errors is None:
            errors = {"ns1": ["The ns1 field is invalid."]}
        self._error(status, fault.get("message") or messages.get(status, HTTPStatus(status).phrase), errors, headers)
        return True

    def _authorised(self) -> bool:
        if self.headers.get("Authorization", "") == f"Bearer {self.state.token}":
            return True
        self._error(401, "Unauthenticated.")
        return False

    # -- admin (tests) ---------------------------------------------------------------------------------
    def _admin(self) -> None:
        path = self.path.split("?")[0]
        st = self.state
        if path == "/__sim/faults" and self.command == "POST":
            fault = self._body()
            fault.setdefault("times", 1)
            with st.lock:
                st.faults.append(fault)
            self._send(200, {"faults": len(st.faults)})
        elif path == "/__sim/faults" and self.command == "DELETE":
            with st.lock:
                st.faults.clear()
            self._send(200, {"faults": 0})
        elif path == "/__sim/requests" and self.command == "GET":
            with st.lock:
                self._send(200, list(st.requests))
        elif path == "/__sim/requests" and self.command == "DELETE":
            with st.lock:
                st.requests.clear()
            self._send(200, {})
        elif path == "/__sim/reset" and self.command == "POST":
            with st.lock:
                st.reset()
            self._send(200, {})
        elif path == "/__sim/state" and self.command == "GET":
            with st.lock:
                self._send(200, copy.deepcopy(st.domains))
        elif path == "/__sim/zone" and self.command == "PUT":
            # Replace a domain's zone wholesale (tests that need odd records).
            body = self._body()
            with st.lock:
                st.domains[body.get("domain", st.domain)]["zone"] = body["zone"]
            self._send(200, {})
        elif path == "/__sim/age" and self.command == "POST":
            # Time passes for the zone's history: every snapshot dated ``seconds`` earlier (a rehearsal cannot wait an
            # hour for a lowered TTL to run out; the cutover reads the lowering's time from the snapshots).
            # With "ahead": true, the snapshots taken from now on are dated that much earlier too: the one-command
            # rehearsal (make sandbox, tests/integration/test_launch.py) lowers and switches in one run.
            body = self._body()
            seconds = int(body.get("seconds", 0))
            with st.lock:
                entry = st.domains[body.get("domain", st.domain)]
                if body.get("ahead"):
                    entry["history_offset"] = seconds
                for snap in entry["snapshots"]:
                    moment = datetime.strptime(snap["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                    snap["created_at"] = datetime.fromtimestamp(moment.timestamp() - seconds, timezone.utc).strftime(
                        "%Y-%m-%dT%H:%M:%SZ")
            self._send(200, {"aged": seconds})
        elif path == "/__sim/domain" and self.command == "PATCH":
            body = self._body()
            with st.lock:
                st.domains[body.pop("domain", st.domain)]["domain"].update(body)
            self._send(200, {})
        else:
            self._error(404, f"No simulator control at {self.command} {path}")

    # -- the API ---------------------------------------------------------------------------------------
    def _route(self) -> None:
        path = self.path.split("?")[0]
        if path.startswith("/__sim/"):
            return self._admin()
        if self._fault() or not self._authorised():
            return None
        for pattern, method, handler in (
            (DOMAIN_PATH, "GET", self._get_domain),
            (NS_PATH, "PUT", self._put_nameservers),
            (ZONE_PATH, "GET", self._get_zone),
            (SNAPSHOTS_PATH, "GET", self._get_snapshots),
            (SNAPSHOT_PATH, "GET", self._get_snapshot),
            (ZONE_PATH, "PUT", self._put_zone),
            (VALIDATE_PATH, "POST", self._validate_zone),
            (RESTORE_PATH, "POST", self._restore_snapshot),
        ):
            m = pattern.match(path)
            if m and self.command == method:
                with self.state.lock:
                    entry = self.state.domains.get(m.group("domain").lower())
                if entry is None:
                    return self._error(404, f"Domain {m.group('domain')} was not found in your portfolio.")
                return handler(entry, **{k: v for k, v in m.groupdict().items() if k != "domain"})
        return self._error(404, "Route not found.")

    def _get_domain(self, entry: dict[str, Any]) -> None:
        with self.state.lock:
            self._send(200, copy.deepcopy(entry["domain"]))

    def _put_nameservers(self, entry: dict[str, Any]) -> None:
        try:
            body = self._body()
        except json.JSONDecodeError:
            return self._error(422, "The given data was invalid.", {"body": ["The body must be JSON."]})
        errors: dict[str, list[str]] = {}
        for key in ("ns1", "ns2", "ns3", "ns4"):
            value = body.get(key)
            if value in (None, ""):
                if key in ("ns1", "ns2"):
                    errors[key] = [f"The {key} field is required."]
                continue
            if not isinstance(value, str) or not HOSTNAME.match(value.lower()):
                errors[key] = [f"The {key} field must be a valid hostname."]
        if errors:
            return self._error(422, "The given data was invalid.", errors)
        with self.state.lock:
            if entry["domain"]["status"] != "active":
                return self._error(422, "Domain is not active.", {"domain": ["The domain must be active."]})
            entry["domain"]["name_servers"] = {k: body[k] for k in ("ns1", "ns2", "ns3", "ns4") if body.get(k)}
            entry["domain"]["updated_at"] = now()
        self._send(200, {"message": "Request accepted"})

    def _get_zone(self, entry: dict[str, Any]) -> None:
        with self.state.lock:
            self._send(200, copy.deepcopy(entry["zone"]))

    def _get_snapshots(self, entry: dict[str, Any]) -> None:
        with self.state.lock:
            self._send(200, [{k: s[k] for k in ("id", "reason", "created_at")} for s in entry["snapshots"]])

    def _get_snapshot(self, entry: dict[str, Any], sid: str) -> None:
        with self.state.lock:
            snap = next((s for s in entry["snapshots"] if s["id"] == int(sid)), None)
            if snap is None:
                return self._error(404, f"Snapshot {sid} was not found.")
            self._send(200, copy.deepcopy(snap))

    def _zone_body(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        """The body of a zone update or validate call, checked as the API checks it; None after answering 422."""
        try:
            body = self._body()
        except json.JSONDecodeError:
            self._error(422, "The given data was invalid.", {"body": ["The body must be JSON."]})
            return None
        problems = zone_problems(body, entry)
        if problems:
            self._error(422, "The given data was invalid.", problems)
            return None
        return body

    def _validate_zone(self, entry: dict[str, Any]) -> None:
        if self._zone_body(entry) is not None:
            self._send(200, {"message": "DNS records are valid"})

    def _put_zone(self, entry: dict[str, Any]) -> None:
        body = self._zone_body(entry)
        if body is None:
            return
        with self.state.lock:
            snapshot(entry, "Zone records updated")
            entry["zone"] = apply_update(entry["zone"], body)
        self._send(200, {"message": "Request accepted"})

    def _restore_snapshot(self, entry: dict[str, Any], sid: str) -> None:
        with self.state.lock:
            snap = next((s for s in entry["snapshots"] if s["id"] == int(sid)), None)
            if snap is None:
                return self._error(404, f"Snapshot {sid} was not found.")
            snapshot(entry, f"Restored snapshot {sid}")
            entry["zone"] = copy.deepcopy(snap["snapshot"])
        self._send(200, {"message": "Request accepted"})

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _route


def snapshot(entry: dict[str, Any], reason: str) -> None:
    """The zone as it is, kept as the next snapshot (Hostinger takes one before each change)."""
    next_id = max((s["id"] for s in entry["snapshots"]), default=0) + 1
    taken = datetime.now(timezone.utc).timestamp() - entry.get("history_offset", 0)
    entry["snapshots"].append({"id": next_id, "reason": reason,
                               "created_at": datetime.fromtimestamp(taken, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                               "snapshot": copy.deepcopy(entry["zone"])})


def content_problem(rtype: str, content: Any) -> str:
    """Why a record's content is not valid for its type ('' when it is): the checks a DNS API makes."""
    import ipaddress

    if not isinstance(content, str) or not content.strip():
        return "The content field is required."
    text = content.strip()
    parts = text.split()
    host = (parts[-1] if parts else "").rstrip(".").lower()
    try:
        if rtype == "A":
            ipaddress.IPv4Address(text)
        elif rtype == "AAAA":
            ipaddress.IPv6Address(text)
    except ValueError:
        return f"The content must be a valid IPv{4 if rtype == 'A' else 6} address."
    if rtype in ("CNAME", "ALIAS") and (len(parts) != 1 or not host or not all(LABEL.match(x) for x in host.split("."))):
        return "The content must be a valid hostname."  # a target may be a service name (_x.acm-validations.aws)
    if rtype == "NS" and (len(parts) != 1 or not HOSTNAME.match(host + ".")):
        return "The content must be a valid hostname."
    if rtype == "MX" and (len(parts) != 2 or not parts[0].isdigit() or not HOSTNAME.match(host + ".")):
        return "The content must be a priority and a hostname, for example: 10 mail.example.com."
    if rtype == "SRV" and (len(parts) != 4 or not all(x.isdigit() for x in parts[:3])):
        return "The content must be priority, weight, port and target."
    if rtype == "CAA" and not re.match(r'^\d+\s+(issue|issuewild|iodef)\s+\S', text):
        return 'The content must be flags, a tag (issue, issuewild, iodef) and a value, for example: 0 issue "ca.com".'
    if rtype == "TXT" and len(text) > 4096:
        return "The content may not be greater than 4096 characters."
    return ""


def zone_problems(body: Any, entry: dict[str, Any]) -> dict[str, list[str]]:
    """The field errors of a zone update body (``{"overwrite", "zone": [{name, type, ttl, records}]}``), keyed as
    Laravel keys them (``zone.0.records.1.content``); a CNAME beside another type at one name is refused too."""
    errors: dict[str, list[str]] = {}
    if not isinstance(body, dict) or not isinstance(body.get("zone"), list) or not body["zone"]:
        return {"zone": ["The zone field is required and must be a non-empty list."]}
    if "overwrite" in body and not isinstance(body["overwrite"], bool):
        errors["overwrite"] = ["The overwrite field must be true or false."]
    after = apply_update(entry["zone"], body) if not errors else entry["zone"]
    for i, item in enumerate(body["zone"]):
        where = f"zone.{i}"
        if not isinstance(item, dict):
            errors[where] = ["Each zone entry must be an object."]
            continue
        name, rtype = item.get("name"), item.get("type")
        if not isinstance(name, str) or not (name == "@" or all(LABEL.match(x) for x in name.lower().split("."))):
            errors[f"{where}.name"] = ["The name must be @ or a valid record name."]
        if rtype not in ZONE_TYPES:
            errors[f"{where}.type"] = ["The selected type is invalid."]
            continue
        ttl = item.get("ttl")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 60):
            errors[f"{where}.ttl"] = ["The ttl must be an integer of at least 60."]
        records = item.get("records")
        if not isinstance(records, list) or not records:
            errors[f"{where}.records"] = ["The records field is required."]
            continue
        for j, record in enumerate(records):
            problem = content_problem(rtype, (record or {}).get("content") if isinstance(record, dict) else None)
            if problem:
                errors[f"{where}.records.{j}.content"] = [problem]
        if isinstance(name, str):
            types = {r["type"] for r in after if str(r["name"]).lower() == name.lower()}
            if "CNAME" in types and len(types) > 1:
                errors[f"{where}.name"] = ["A CNAME record cannot coexist with other records of the same name."]
    return errors


def apply_update(zone: list[dict[str, Any]], body: dict[str, Any]) -> list[dict[str, Any]]:
    """The zone after an update. ``overwrite: true`` (the API's default) replaces each given (name, type)'s
    records; ``false`` updates the TTL and appends the contents the set does not hold yet. Other names and types
    are left alone either way."""
    out = copy.deepcopy(zone)
    for item in body.get("zone") or []:
        if not isinstance(item, dict) or not isinstance(item.get("records"), list):
            continue
        name, rtype = str(item.get("name", "")).lower(), item.get("type")
        new = [{"content": r.get("content"), "is_disabled": False} for r in item["records"] if isinstance(r, dict)]
        current = next((r for r in out if str(r["name"]).lower() == name and r["type"] == rtype), None)
        if current is None:
            out.append({"name": name, "type": rtype, "ttl": item.get("ttl") or 14400, "records": new})
            continue
        if item.get("ttl") is not None:
            current["ttl"] = item["ttl"]
        if body.get("overwrite", True):
            current["records"] = new
        else:
            held = {r["content"] for r in current["records"]}
            current["records"] += [r for r in new if r["content"] not in held]
    return out


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a test's timeout against an injected delay) is not a simulator error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def serve(domain: str, token: str, host: str = "127.0.0.1", port: int = 0, verbose: bool = False,
          seed_file: Path = SEED) -> ThreadingHTTPServer:
    """Build (not start) a server; ``server.server_address`` has the chosen port."""
    state = State(domain.lower(), token, seed_file)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = _Server((host, port), handler)
    server.daemon_threads = True
    server.verbose = verbose  # type: ignore[attr-defined]
    server.state = state  # type: ignore[attr-defined]
    return server


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--domain", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--seed", type=Path, default=SEED)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    server = serve(args.domain, args.token, args.host, args.port, args.verbose, args.seed)
    if args.port_file:
        Path(args.port_file).write_text(str(server.server_address[1]))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
