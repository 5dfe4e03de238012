"""The sandbox's DNS world: real nsd and unbound that follow the Hostinger simulator and moto's Route 53.

Why: a cutover (name servers moved from Hostinger to Route 53) can only be rehearsed against resolvers that
cache and follow referrals like real ones. This world serves, on a free block 127.X.Y.0/24 (never 127.0.0.x,
never the lab's 127.53.x), port 53:

    .1        root nsd (a.root-servers.net)
    .2        TLD nsd (ns.tld-servers.net): the domain's TLD, delegating the domain to the simulator's CURRENT
              portfolio name servers, and the TLDs holding the name-server host names, with their A records
    .11-.18   "old Hostinger" nsd: the simulator's zone (one address per old name server)
    .21-.24   "Route 53" nsd: moto's hosted zone (one address per delegation-set name), once it exists
    .101...   unbound caching resolvers, root hints pointing at .1 only

A sync loop polls /__sim/state and moto every ``--interval`` seconds; a changed zone gets a new serial and its
nsd is restarted. The state file (JSON) is written once everything answers and rewritten on every change.

Alias records of moto's zone (Route 53 answers them with the target's addresses) are rendered as A records with
the address the stand-in edge gives their target (``--edge-state F``, sandbox/edge.py's state file, key
``alias_targets``): AAAA aliases are not rendered (the edge listens on IPv4 loopback only), and of a failover pair
only the PRIMARY is answered (the sandbox does not evaluate target health). Without ``--edge-state`` aliases are
skipped.

Run:      python -m sandbox.dns_world --domain D --aws-endpoint URL --hostinger-url URL --state-file F [--edge-state F]
Control:  python -m sandbox.dns_world --state-file F --flush N | --kill-resolver N   (N counts from 1)
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

from sandbox import dnsd
from sandbox.changes import MotoChanges
from sandbox.dnsd import Daemon, ZoneRecord, fqdn

ROOT_NS = "a.root-servers.net."
TLD_NS = "ns.tld-servers.net."
NAME_TYPES = {"NS", "CNAME", "DNAME", "PTR"}
LOCK_DIR = Path(tempfile.gettempdir()) / "sandbox-dns-world"
NS_TTL = 60
INFRA_TTL = 86400


def log(message: str) -> None:
    """One line on stderr, flushed: the world runs as a background process whose log is a file."""
    sys.stderr.write("dns_world: %s\n" % message)
    sys.stderr.flush()


def tld_of(name: str) -> str:
    """The last label of a name, as a zone: where its A record goes (one zone per TLD keeps it simple; a name
    under co.uk. lives in uk., which needs no co.uk. cut)."""
    return fqdn(name).rstrip(".").rsplit(".", 1)[-1] + "."


def absolute_value(rtype: str, value: str) -> str:
    """Zone-file rdata with the names that Hostinger and moto give without a final dot made absolute, and TXT
    quoted (and split into 255-byte strings) when it comes bare, since ``;`` would start a comment."""
    value = value.strip()
    if rtype in NAME_TYPES:
        return fqdn(value)
    if rtype in ("MX", "SRV") and not value.endswith("."):
        return value + "."
    if rtype == "TXT" and not value.startswith('"'):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return " ".join('"%s"' % escaped[i:i + 255] for i in range(0, len(escaped), 255))
    return value


def hostinger_records(domain: str, entry: dict[str, Any]) -> tuple[list[ZoneRecord], list[str]]:
    """The simulator's zone as zone records (no SOA: a sane one is generated) and its apex name servers.
    Disabled records are skipped; an ALIAS becomes A/AAAA from the seed's alias_targets, only for types the
    name has no explicit record of."""
    records: list[ZoneRecord] = []
    aliases: list[tuple[str, int, str]] = []
    for rrset in entry.get("zone", []):
        rtype = str(rrset["type"]).upper()
        owner = dnsd.absolute(str(rrset["name"]), domain)
        for record in rrset.get("records", []):
            if record.get("is_disabled"):
                continue
            if rtype == "SOA":
                continue
            if rtype == "ALIAS":
                aliases.append((owner, int(rrset["ttl"]), fqdn(record["content"])))
                continue
            records.append((owner, rtype, int(rrset["ttl"]), absolute_value(rtype, record["content"])))
    targets = entry.get("alias_targets", {})
    for owner, ttl, target in aliases:
        for rtype, values in targets.get(target, {}).items():
            if not any(r[0] == owner and r[1] == rtype for r in records):
                records += [(owner, rtype, ttl, value) for value in values]
    servers = [r[3] for r in records if r[0] == domain and r[1] == "NS"]
    return records, servers


class World:
    """The daemons, the zones they serve and the sync loop that keeps both in line with the simulator and moto."""

    def __init__(self, domain: str, aws_endpoint: str, hostinger_url: str, state_file: Path, resolvers: int,
                 workdir: Path | None, interval: float, max_cache_ttl: int = 0,
                 edge_state: Path | None = None) -> None:
        """Only records the settings; run() picks the block and starts everything.

        ``max_cache_ttl`` caps how long the resolvers keep any answer (0: as the TTL says). The sandbox uses it
        so a rehearsed cutover settles in seconds although Hostinger's zone says 86400 for its NS records."""
        self.max_cache_ttl = max_cache_ttl
        self.edge_state = edge_state
        self.domain = fqdn(domain)
        self.tld = tld_of(self.domain)
        self.aws_endpoint = aws_endpoint
        self.hostinger_url = hostinger_url.rstrip("/")
        self.state_file = state_file
        self.resolver_count = resolvers
        self.keep_workdir = workdir is not None
        self.workdir = (workdir or Path(tempfile.mkdtemp(prefix="dnsworld-"))).resolve()
        self.interval = interval
        self.watch = MotoChanges(aws_endpoint)
        self.r53_read: tuple | None = None
        self.prefix = ""
        self.lock: IO[str] | None = None
        self.daemons: dict[str, Daemon] = {}
        self.served: dict[str, dict[str, list[ZoneRecord]]] = {}  # daemon -> zone -> records without SOA
        self.serials: dict[str, int] = {}
        self.dead: dict[int, list[Any]] = {}
        self.old_names: list[str] = []
        self.r53_names: list[str] = []
        self.delegation: list[str] = []
        self.stopping = False
        self.route53: Any = None

    # ----------------------------------------------------------------- addresses

    def address(self, host: int) -> str:
        """An address of the world's block."""
        return "%s.%d" % (self.prefix, host)

    def hosts(self) -> list[int]:
        """Every host number the world may bind, checked free before the block is taken."""
        return [1, 2, *range(11, 19), *range(21, 25), *range(101, 101 + self.resolver_count)]

    def pick_block(self) -> None:
        """A free 127.X.Y.0/24: X never 0 (127.0.0.1) nor 53 (the lab), every address free on UDP and TCP, and a
        lock file held for the world's life so that two worlds starting at once do not pick the same block."""
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        rng = random.Random()
        attempts = 0
        while attempts < 200:
            attempts += 1
            first = rng.choice([x for x in range(1, 255) if x != 53])
            prefix = "127.%d.%d" % (first, rng.randrange(0, 256))
            lock = open(LOCK_DIR / (prefix + ".lock"), "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            self.prefix = prefix
            if all(dnsd.address_free(self.address(host)) is None for host in self.hosts()):
                self.lock = lock
                return
            lock.close()
        raise dnsd.DnsdError("no free 127.X.Y.0/24 block found (port 53 busy everywhere?)")

    # ----------------------------------------------------------------- sources

    def fetch_sim(self) -> dict[str, Any]:
        """The simulator's entry for the domain, read through its unauthenticated state endpoint."""
        with urllib.request.urlopen(self.hostinger_url + "/__sim/state", timeout=5) as reply:  # noqa: S310
            state = json.loads(reply.read())
        return state[self.domain.rstrip(".")]

    def fetch_route53(self) -> tuple[list[str], list[ZoneRecord]] | None:
        """moto's hosted zone for the domain: its delegation-set names and records (no SOA), or None before the
        zone exists."""
        # moto is read again only when its change count moved (sandbox/changes.py); the edge's addresses each round
        if self.r53_read is None or self.watch.due():
            self.r53_read = (self.read_route53(),)
            self.watch.seen()
        if self.r53_read[0] is None:
            return None
        names, rrsets = self.r53_read[0]
        records: list[ZoneRecord] = []
        # a failover pair answers its PRIMARY (target health is not evaluated here)
        primaries = {(r["Name"], r["Type"]) for r in rrsets if r.get("Failover") == "PRIMARY"}
        targets = self.alias_targets()
        for rrset in rrsets:
            rtype = rrset["Type"]
            owner = fqdn(rrset["Name"].replace("\\052", "*"))
            if rrset.get("Failover") == "SECONDARY" and (rrset["Name"], rtype) in primaries:
                continue
            if "AliasTarget" in rrset:
                address = self.alias_address(rrset["AliasTarget"]["DNSName"], targets)
                if rtype == "A" and address:
                    records.append((owner, "A", 60, address))  # Route 53 answers aliases with 60 s
                continue  # AAAA aliases, and aliases whose target the edge does not serve, are not rendered
            if rtype == "SOA" or "ResourceRecords" not in rrset:
                continue  # moto's SOA is malformed
            records += [(owner, rtype, int(rrset.get("TTL", 300)), absolute_value(rtype, rr["Value"]))
                        for rr in rrset["ResourceRecords"]]
        return names, sorted(set(records), key=records.index)

    def read_route53(self) -> tuple[list[str], list[dict[str, Any]]] | None:
        """moto's public zone for the domain: its delegation-set names and record sets; None before it exists."""
        if self.route53 is None:
            import boto3  # only here: the control CLI must not need it

            self.route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=self.aws_endpoint,
                                        aws_access_key_id="testing", aws_secret_access_key="testing")
        zones = self.route53.list_hosted_zones_by_name(DNSName=self.domain)["HostedZones"]
        zone = next((z for z in zones if fqdn(z["Name"]) == self.domain
                     and not z.get("Config", {}).get("PrivateZone")), None)
        if zone is None:
            return None
        names = [fqdn(n) for n in self.route53.get_hosted_zone(Id=zone["Id"])["DelegationSet"]["NameServers"]][:4]
        rrsets = [r for page in self.route53.get_paginator("list_resource_record_sets").paginate(
            HostedZoneId=zone["Id"]) for r in page["ResourceRecordSets"]]
        return names, rrsets

    def alias_targets(self) -> dict[str, str]:
        """The edge's ``alias_targets`` ({target fqdn: address}), or {} without (or before) an edge state file."""
        if self.edge_state is None:
            return {}
        try:
            found = json.loads(self.edge_state.read_text()).get("alias_targets") or {}
        except (OSError, ValueError):
            return {}
        return {fqdn(k).lower(): v for k, v in found.items()}

    @staticmethod
    def alias_address(target: str, targets: dict[str, str]) -> str | None:
        """The address of an alias target (Route 53 may give an ELB name with a dualstack. prefix)."""
        name = fqdn(target).lower()
        return targets.get(name) or targets.get(name[len("dualstack."):] if name.startswith("dualstack.") else name)

    # ----------------------------------------------------------------- zones

    def infra_zones(self) -> tuple[dict[str, list[ZoneRecord]], dict[str, list[ZoneRecord]]]:
        """The root zone and the TLD zones for the current delegation and name-server addresses."""
        hosts = {fqdn(n): self.address(11 + i) for i, n in enumerate(self.old_names)}
        hosts.update({fqdn(n): self.address(21 + i) for i, n in enumerate(self.r53_names)})
        hosts[ROOT_NS] = self.address(1)
        hosts[TLD_NS] = self.address(2)
        tlds = sorted({self.tld, *(tld_of(n) for n in hosts), *(tld_of(n) for n in self.delegation)})
        root = [(".", "NS", INFRA_TTL, ROOT_NS)] + [(t, "NS", INFRA_TTL, TLD_NS) for t in tlds]
        root += [(ROOT_NS, "A", INFRA_TTL, self.address(1)), (TLD_NS, "A", INFRA_TTL, self.address(2))]
        tld_zones: dict[str, list[ZoneRecord]] = {}
        for tld in tlds:
            records = [(tld, "NS", INFRA_TTL, TLD_NS)]
            if tld == self.tld:
                records += [(self.domain, "NS", NS_TTL, fqdn(n)) for n in self.delegation]
            records += [(h, "A", NS_TTL, a) for h, a in hosts.items() if tld_of(h) == tld]
            tld_zones[tld] = records
        return {".": root}, tld_zones

    def zone_path(self, daemon: str, zone: str) -> Path:
        """Where a daemon's zone file lives."""
        return self.workdir / daemon / ("root.zone" if zone == "." else zone.rstrip(".") + ".zone")

    def apply(self, name: str, addresses: list[str], zones: dict[str, list[ZoneRecord]]) -> bool:
        """Serve ``zones`` from daemon ``name``: write changed zones with a new serial and (re)start it. True when
        something changed."""
        if self.served.get(name) == zones:
            return False
        workdir = self.workdir / name
        for zone, records in zones.items():
            key = "%s/%s" % (name, zone)
            self.serials[key] = max(self.serials.get(key, 0) + 1, int(time.time()) % 2**32)
            mname = TLD_NS if name in ("root", "tld") else next((r[3] for r in records if r[1] == "NS"), TLD_NS)
            soa = dnsd.soa_record(zone, mname, self.serials[key], 300, 60)
            dnsd.write_zone(self.zone_path(name, zone), zone, [soa, *records])
        daemon = self.daemons.get(name)
        if daemon is None or set(self.served.get(name, {})) != set(zones):
            if daemon is not None:
                dnsd.stop(daemon)
                dnsd.wait_free(daemon.addresses, time.monotonic() + 10)
            daemon = dnsd.nsd_daemon(name, workdir, addresses, {z: self.zone_path(name, z) for z in zones})
            self.daemons[name] = daemon
            dnsd.spawn(daemon)
            dnsd.wait_ready(daemon, time.monotonic() + 15)
        else:
            dnsd.restart(daemon)
        for zone in zones:
            dnsd.wait_serial(daemon, zone, self.serials["%s/%s" % (name, zone)], time.monotonic() + 10)
        self.served[name] = zones
        return True

    def sync(self) -> bool:
        """One round: read both sources and bring every zone in line. True when anything changed."""
        entry = self.fetch_sim()
        records, servers = hostinger_records(self.domain, entry)
        if not self.old_names:
            self.old_names = servers[:8] or [fqdn(n) for n in entry["domain"]["name_servers"].values()][:8]
        ns_map = entry["domain"].get("name_servers") or {}
        self.delegation = [fqdn(ns_map[k]) for k in sorted(ns_map) if ns_map[k]]
        changed = False
        try:
            route53 = self.fetch_route53()
        except Exception as exc:  # moto down or slow: keep serving what was there
            log("route53 poll failed: %s" % exc)
            route53 = None
        if route53 is not None:
            self.r53_names = route53[0]
        root, tlds = self.infra_zones()
        changed |= self.apply("tld", [self.address(2)], tlds)
        changed |= self.apply("root", [self.address(1)], root)
        changed |= self.apply("old", [self.address(11 + i) for i in range(len(self.old_names))],
                              {self.domain: records})
        if route53 is not None:
            changed |= self.apply("route53", [self.address(21 + i) for i in range(len(self.r53_names))],
                                  {self.domain: route53[1]})
        return changed

    # ----------------------------------------------------------------- resolvers and state

    def start_resolvers(self) -> None:
        """Start the caching resolvers, root hints pointing at this world's root only."""
        nodefault = [self.tld] if self.tld in dnsd.UNBOUND_DEFAULT_ZONES else []
        for index in range(self.resolver_count):
            name = "resolver-%d" % (index + 1)
            control = dnsd.control_socket(self.workdir / name / "control.sock", lambda: self.workdir)
            daemon = dnsd.unbound_daemon(name, self.workdir / name, self.address(101 + index),
                                         {ROOT_NS: self.address(1)}, control, nodefault=nodefault,
                                         extra=["cache-max-ttl: %d" % self.max_cache_ttl,
                                                "cache-max-negative-ttl: %d" % self.max_cache_ttl]
                                         if self.max_cache_ttl else ())
            self.daemons[name] = daemon
            dnsd.spawn(daemon)
        for index in range(self.resolver_count):
            dnsd.wait_ready(self.daemons["resolver-%d" % (index + 1)], time.monotonic() + 15)

    def kill_resolver(self, index: int) -> None:
        """Stop resolver ``index`` (from 1) and keep its address silent, so queries time out."""
        daemon = self.daemons["resolver-%d" % index]
        dnsd.stop(daemon)
        dnsd.wait_free(daemon.addresses, time.monotonic() + 10)
        self.dead[index] = dnsd.hold_silent(daemon.addresses[0])

    def write_state(self) -> None:
        """The state file, replaced atomically so that a reader never sees half of it."""
        def server(name: str, address: str) -> dict[str, Any]:
            return {"address": address, "port": dnsd.PORT, "name": name.rstrip(".")}

        resolvers = []
        for index in range(1, self.resolver_count + 1):
            daemon = self.daemons["resolver-%d" % index]
            resolvers.append({**server("resolver-%d" % index, daemon.addresses[0]), "index": index,
                              "pid": daemon.proc.pid if daemon.proc else None, "dead": index in self.dead,
                              "conf": str(daemon.conf)})
        state = {
            "domain": self.domain.rstrip("."), "pid": os.getpid(), "block": self.prefix + ".0/24",
            "workdir": str(self.workdir), "root": [server(ROOT_NS, self.address(1))],
            "parent_servers": [server(TLD_NS, self.address(2))], "resolvers": resolvers,
            "old_servers": {n.rstrip("."): self.address(11 + i) for i, n in enumerate(self.old_names)},
            "route53_servers": {n.rstrip("."): self.address(21 + i) for i, n in enumerate(self.r53_names)}
            if "route53" in self.served else {},
            "delegation": [n.rstrip(".") for n in self.delegation],
            "daemons": {name: d.proc.pid for name, d in self.daemons.items() if d.proc is not None},
        }
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    def control_requests(self) -> bool:
        """Act on kill requests the control CLI left in the work directory; True when one was handled."""
        handled = False
        for request in sorted((self.workdir / "control").glob("kill-*")):
            index = int(request.name.split("-", 1)[1])
            if 1 <= index <= self.resolver_count and index not in self.dead:
                self.kill_resolver(index)
                handled = True
            request.unlink()
        return handled

    # ----------------------------------------------------------------- life cycle

    def run(self) -> int:
        """Start everything, write the state file, sync until SIGTERM/SIGINT, then stop every daemon."""
        missing = dnsd.missing_programs()
        if missing:
            raise dnsd.DnsdError("missing %s: %s" % (", ".join(missing), dnsd.INSTALL_HINT))
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        (self.workdir / "control").mkdir(parents=True, exist_ok=True)
        try:
            self.pick_block()
            log("block %s.0/24, workdir %s" % (self.prefix, self.workdir))
            self.first_sync()
            self.start_resolvers()
            self.write_state()
            log("ready")
            while not self.stopping:
                try:
                    changed = self.sync()
                except Exception as exc:  # keep serving the last good zones
                    log("sync failed: %s" % exc)
                    changed = False
                if self.control_requests() or changed:
                    self.write_state()
                deadline = time.monotonic() + self.interval
                while not self.stopping and time.monotonic() < deadline:
                    time.sleep(0.05)
                    if self.control_requests():
                        self.write_state()
        finally:
            self.close()
        return 0

    def first_sync(self, timeout: float = 30.0) -> None:
        """The first sync, retried while the simulator is not answering yet (the sandbox may start the world
        together with it); a zone that nsd rejects fails at once."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sync()
                return
            except OSError as exc:  # URLError and refused connections: the simulator is not up yet
                if time.monotonic() > deadline or self.stopping:
                    raise dnsd.DnsdError("the Hostinger simulator at %s did not answer: %s"
                                         % (self.hostinger_url, exc))
                time.sleep(0.2)

    def on_signal(self, signum: int, frame: Any) -> None:
        """Ask the loop to stop; the daemons are stopped in close(), outside the handler."""
        self.stopping = True

    def close(self) -> None:
        """Stop every daemon, release dead resolvers' sockets, the block lock and the state file."""
        dnsd.stop_all(self.daemons.values(), self.dead.values())
        if self.lock is not None:
            self.lock.close()
        self.state_file.unlink(missing_ok=True)
        if not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def control(state_file: Path, flush: int | None, kill: int | None) -> int:
    """The control CLI: flush a resolver directly with unbound-control, or ask the world to kill one (it holds
    the silent sockets) and wait until the state file says it is dead."""
    state = json.loads(state_file.read_text())
    if flush is not None:
        resolver = state["resolvers"][flush - 1]
        dnsd.unbound_control(Path(resolver["conf"]), dnsd.FULL_FLUSH, resolver["name"])
    if kill is not None:
        (Path(state["workdir"]) / "control" / ("kill-%d" % kill)).touch()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if json.loads(state_file.read_text())["resolvers"][kill - 1]["dead"]:
                return 0
            time.sleep(0.05)
        log("resolver %d was not killed in time" % kill)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line: run a world, or control a running one through its state file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domain")
    parser.add_argument("--aws-endpoint")
    parser.add_argument("--hostinger-url")
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--resolvers", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temporary directory, removed)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between syncs")
    parser.add_argument("--max-cache-ttl", type=int, default=0, help="cap the resolvers' cache times (seconds)")
    parser.add_argument("--edge-state", type=Path, help="sandbox/edge.py's state file: alias records answer its "
                        "alias_targets")
    parser.add_argument("--flush", type=int, metavar="N", help="flush resolver N (from 1) of a running world")
    parser.add_argument("--kill-resolver", type=int, metavar="N", help="make resolver N silent")
    args = parser.parse_args(argv)
    if args.flush is not None or args.kill_resolver is not None:
        return control(args.state_file, args.flush, args.kill_resolver)
    if not (args.domain and args.aws_endpoint and args.hostinger_url):
        parser.error("--domain, --aws-endpoint and --hostinger-url are required to run a world")
    if not 1 <= args.resolvers <= 100:
        parser.error("--resolvers must be 1..100")
    world = World(args.domain, args.aws_endpoint, args.hostinger_url, args.state_file, args.resolvers,
                  args.workdir, args.interval, args.max_cache_ttl, args.edge_state)
    try:
        return world.run()
    except dnsd.DnsdError as exc:
        log(str(exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
