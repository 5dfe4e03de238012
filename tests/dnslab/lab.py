"""A loopback DNS lab of real daemons: nsd as root, TLD and authoritative servers, unbound as caching resolvers.

Why real daemons: a propagation checker is only worth something if it copes with what real resolvers do (cached
answers that outlive a delegation change, referrals without glue, DNSSEC validation failing after a move to an
unsigned provider), and a fake server would only replay what its author expected.

Every server listens on its own address in 127.53.0.0/16, port 53. The port matters: a resolver following a
referral gets the name servers' addresses only (glue or A records), never a port, so the lab cannot hand out
high ports the way most test fixtures do. Binding port 53 needs root (or CAP_NET_BIND_SERVICE).

Layout (the domain defaults to directfanz.io; lab host names live under the lab TLD "test."):

    127.53.0.1       a.root-servers.test  nsd: the root zone, delegating the domain's TLD and test.
    127.53.0.2       ns.tld.test          nsd: the domain's TLD zone (the delegation under test) and test.
    127.53.0.11-12   ns1/ns2.oldhost.test nsd: the "old" zone of the domain (signed in DNSSEC mode)
    127.53.0.21-24   ns-1..4.r53.test     nsd: the "new" zone of the domain (never signed)
    127.53.1.1...    resolver-1...        unbound, root hints pointing at 127.53.0.1 only

Usage::

    with DnsLab(tmp_path) as lab:
        lab.delegate_to(lab.new_nameservers)
        lab.flush()
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Sequence

from sandbox import dnsd
from sandbox.dnsd import PORT, Daemon, DnsdError, absolute, find_program, fqdn, free_or_fail, zone_text

__all__ = ["PORT", "Daemon", "DnsLab", "DnsLabError", "absolute", "find_program", "fqdn", "free_or_fail",
           "missing_programs", "zone_text"]

# (owner, type, ttl, value): owner "@" is the zone apex, a name without a final dot is relative to the zone,
# ttl None takes the lab's record TTL, TXT values without quotes are quoted.
Record = tuple[str, str, "int | None", str]

ROOT_ADDRESS = "127.53.0.1"
TLD_ADDRESS = "127.53.0.2"
ROOT_NS = "a.root-servers.test"
TLD_NS = "ns.tld.test"
LAB_TLD = "test"
OLD_SERVERS = {"ns1.oldhost.test": "127.53.0.11", "ns2.oldhost.test": "127.53.0.12"}
NEW_SERVERS = {"ns-%d.r53.test" % i: "127.53.0.%d" % (20 + i) for i in range(1, 5)}
RESOLVER_PREFIX = "127.53.1."
OLD_APEX_A = "203.0.113.10"
NEW_APEX_A = "198.51.100.10"
# DNSSEC algorithm 13: small keys, fast to make and to sign, validated by every unbound in use
KEY_ALGORITHM = "ECDSAP256SHA256"

# the lab's errors are the daemon plumbing's, so that one except clause catches both
DnsLabError = DnsdError


def missing_programs(dnssec: bool = False) -> list[str]:
    """The programs the lab needs and cannot find, so that a test can fail up front with one clear message."""
    return dnsd.missing_programs(["ldns-keygen", "ldns-signzone", "ldns-key2ds"] if dnssec else [])


def default_old_records(domain: str, ttl: int = 30) -> list[Record]:
    """What the domain serves today at its old host: apex A, www, mail and SPF."""
    return [
        ("@", "A", ttl, OLD_APEX_A),
        ("www", "CNAME", ttl, domain.rstrip(".") + "."),
        ("@", "MX", ttl, "5 mx1.hostinger.com."),
        ("@", "MX", ttl, "10 mx2.hostinger.com."),
        ("@", "TXT", ttl, "v=spf1 include:_spf.mail.hostinger.com ~all"),
    ]


def default_new_records(domain: str, ttl: int = 30) -> list[Record]:
    """The zone at the new provider: the same names with a different apex A, and the launch canary, which only
    the new zone has, so an answer carrying it proves which servers answered."""
    return [
        ("@", "A", ttl, NEW_APEX_A),
        ("www", "CNAME", ttl, domain.rstrip(".") + "."),
        ("@", "MX", ttl, "5 mx1.hostinger.com."),
        ("@", "MX", ttl, "10 mx2.hostinger.com."),
        ("@", "TXT", ttl, "v=spf1 include:_spf.mail.hostinger.com ~all"),
        ("_launch-canary", "TXT", ttl, "launch-canary=dnslab"),
    ]


class DnsLab:
    """The lab. Build it with ``with DnsLab(workdir) as lab:`` (or start() and close()); see the module doc."""

    def __init__(self, workdir: str | os.PathLike[str], domain: str = "directfanz.io", *,
                 old_records: Sequence[Record] | None = None, new_records: Sequence[Record] | None = None,
                 resolvers: int = 3, record_ttl: int = 30, ns_ttl: int = 60, dnssec: bool = False,
                 start_timeout: float = 15.0) -> None:
        """Only records the settings; start() (or entering the ``with`` block) writes the files and starts the
        daemons. ``ns_ttl`` is the TTL of the delegation at the TLD (and of the lab hosts' A records), the TTL
        that decides how long resolvers may keep following the old name servers."""
        self.workdir = Path(workdir).resolve()
        self.domain = fqdn(domain)
        labels = self.domain.rstrip(".").split(".")
        if len(labels) < 2:
            raise ValueError("domain must have at least two labels, got %r" % domain)
        self.tld = labels[-1] + "."
        if not 1 <= resolvers <= 254:
            raise ValueError("resolvers (how many to run) must be 1..254")
        self.record_ttl = record_ttl
        self.ns_ttl = ns_ttl
        self.dnssec = dnssec
        self.start_timeout = start_timeout
        self.old_records = list(old_records if old_records is not None else default_old_records(domain, record_ttl))
        self.new_records = list(new_records if new_records is not None else default_new_records(domain, record_ttl))
        self.resolver_count = resolvers
        self._delegation: list[str] = list(OLD_SERVERS)
        self._keep_ds = True
        self._tld_serial = 1
        self._daemons: dict[str, Daemon] = {}
        self._dead: dict[int, list[socket.socket]] = {}
        self._keys: dict[str, tuple[Path, Path]] = {}  # zone -> (KSK base, ZSK base)
        self._domain_ds: list[str] = []
        self._socket_dir: Path | None = None
        self._started = False

    # ----------------------------------------------------------------- context manager and life cycle

    def __enter__(self) -> DnsLab:
        """Start on entry, so that ``with`` gives a lab that answers."""
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop every daemon whatever happened in the block: a leftover one would hold port 53."""
        self.close()

    def start(self) -> DnsLab:
        """Write configuration and zones, start every daemon, and return once each one answers. On any failure
        what was started is stopped again, so a failed start leaves no port taken."""
        if self._started:
            raise DnsLabError("the lab is already started")
        missing = missing_programs(self.dnssec)
        if missing:
            raise DnsLabError("missing program(s) %s: %s" % (", ".join(missing), dnsd.INSTALL_HINT))
        # every address first, so that a busy one fails the start before anything is running
        for address in self.addresses.values():
            free_or_fail(address)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._started = True
        # the daemons run in sessions of their own, out of reach of a Ctrl-C: a lab started without `with`
        # and never closed is still stopped when Python exits
        atexit.register(self.close)
        try:
            if self.dnssec:
                self._make_keys()
            self._write_zones()
            self._build_daemons()
            deadline = time.monotonic() + self.start_timeout
            for daemon in self._daemons.values():
                dnsd.spawn(daemon)
            for daemon in self._daemons.values():
                dnsd.wait_ready(daemon, deadline)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop every daemon (terminate, then kill) and release the sockets held for dead resolvers."""
        dnsd.stop_all(self._daemons.values(), self._dead.values())
        self._dead.clear()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        self._started = False
        atexit.unregister(self.close)

    # ----------------------------------------------------------------- what tests read

    @property
    def root_servers(self) -> list[dict[str, object]]:
        """The lab root server, in the same shape as parent_servers."""
        return [{"address": ROOT_ADDRESS, "port": PORT, "name": ROOT_NS}]

    @property
    def parent_servers(self) -> list[dict[str, object]]:
        """The servers of the domain's parent zone (the TLD), which a checker asks for the delegation."""
        return [{"address": TLD_ADDRESS, "port": PORT, "name": TLD_NS}]

    @property
    def old_nameservers(self) -> list[str]:
        """Host names (no final dot) of the servers of the old zone."""
        return list(OLD_SERVERS)

    @property
    def new_nameservers(self) -> list[str]:
        """Host names (no final dot) of the servers of the new zone."""
        return list(NEW_SERVERS)

    @property
    def delegation(self) -> list[str]:
        """The name servers the TLD currently delegates the domain to."""
        return list(self._delegation)

    @property
    def resolvers(self) -> list[dict[str, object]]:
        """Every caching resolver, dead ones included (their index stays what make_dead was given)."""
        return [{"address": self._resolver_address(i), "port": PORT, "name": "resolver-%d" % (i + 1)}
                for i in range(self.resolver_count)]

    @property
    def addresses(self) -> dict[str, str]:
        """Every lab host name (no final dot) and its address: servers and resolvers."""
        result = {ROOT_NS: ROOT_ADDRESS, TLD_NS: TLD_ADDRESS, **OLD_SERVERS, **NEW_SERVERS}
        for resolver in self.resolvers:
            result[str(resolver["name"])] = str(resolver["address"])
        return result

    @property
    def ds_records(self) -> list[str]:
        """The domain's DS rdata as published in the TLD (empty without DNSSEC or after keep_ds=False)."""
        return list(self._domain_ds) if self._keep_ds else []

    def is_dead(self, resolver_index: int) -> bool:
        """Whether make_dead() was called for this resolver."""
        return resolver_index in self._dead

    # ----------------------------------------------------------------- what tests do

    def delegate_to(self, nameserver_names: Iterable[str], *, keep_ds: bool = True) -> None:
        """Point the TLD's delegation of the domain at other lab name servers, as a registrar update does, and
        return once the TLD answers with the new serial: the parent side changes at once, and only resolver
        caches lag behind. ``keep_ds=False`` also withdraws the domain's DS (DNSSEC mode), the step a careful
        migration to an unsigned provider takes first."""
        known = {**OLD_SERVERS, **NEW_SERVERS}
        names = [fqdn(name).rstrip(".") for name in nameserver_names]
        if not names:
            raise ValueError("delegate_to needs at least one name server")
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError("not lab name servers: %s (known: %s)" % (", ".join(unknown), ", ".join(known)))
        self._require_started()
        self._delegation = names
        self._keep_ds = keep_ds
        self._tld_serial += 1
        self._write_tld_zones()
        # nsd is restarted rather than told to reload: nsd-control reload skips a zone file whose mtime did not
        # change, and two rewrites within one kernel clock tick keep the same mtime
        daemon = self._daemons["tld"]
        deadline = time.monotonic() + self.start_timeout
        dnsd.restart(daemon, self.start_timeout)
        dnsd.wait_serial(daemon, self.tld, self._tld_serial, deadline)

    def flush(self, resolver_index: int | None = None, zone: str | None = None) -> None:
        """Empty resolver caches: one resolver (by index into ``resolvers``) or every live one. Without ``zone``
        everything goes (records, negative and bogus answers, server timing), as if the resolver were new; with
        it, what is at or below that name (records, messages and DNSSEC keys), as `unbound-control flush_zone`."""
        self._require_started()
        if resolver_index is None:
            indexes = [i for i in range(self.resolver_count) if i not in self._dead]
        else:
            self._check_index(resolver_index)
            if resolver_index in self._dead:
                raise DnsLabError("resolver %d is dead: there is no cache to flush" % resolver_index)
            indexes = [resolver_index]
        commands = dnsd.FULL_FLUSH if zone is None else (("flush_zone", fqdn(zone)),)
        for index in indexes:
            daemon = self._daemons["resolver-%d" % (index + 1)]
            dnsd.unbound_control(daemon.conf, commands, "resolver %d" % index)

    def make_dead(self, resolver_index: int) -> None:
        """Stop a resolver for good and keep its address silent: UDP and TCP sockets stay bound on it without
        ever being read, so queries time out (a crashed or firewalled resolver) instead of being refused."""
        self._require_started()
        self._check_index(resolver_index)
        if resolver_index in self._dead:
            return
        daemon = self._daemons["resolver-%d" % (resolver_index + 1)]
        dnsd.stop(daemon)
        address = self._resolver_address(resolver_index)
        dnsd.wait_free([address], time.monotonic() + 10)
        self._dead[resolver_index] = dnsd.hold_silent(address)

    # ----------------------------------------------------------------- zones

    def _resolver_address(self, index: int) -> str:
        return "%s%d" % (RESOLVER_PREFIX, index + 1)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.resolver_count:
            raise IndexError("resolver index %d out of range 0..%d" % (index, self.resolver_count - 1))

    def _require_started(self) -> None:
        if not self._started:
            raise DnsLabError("the lab is not started (use it in a with block, or call start())")

    def _soa(self, origin: str, mname: str, serial: int) -> tuple[str, str, int, str]:
        contact = "hostmaster." + (origin if origin != "." else fqdn(LAB_TLD))
        return dnsd.soa_record(origin, mname, serial, self.record_ttl, self.record_ttl, contact)

    def _host_records(self) -> list[tuple[str, str, int, str]]:
        hosts = {ROOT_NS: ROOT_ADDRESS, TLD_NS: TLD_ADDRESS, **OLD_SERVERS, **NEW_SERVERS}
        return [(fqdn(name), "A", self.ns_ttl, address) for name, address in hosts.items()]

    def _root_records(self) -> list[tuple[str, str, int, str]]:
        records = [self._soa(".", ROOT_NS, 1), (".", "NS", 86400, fqdn(ROOT_NS))]
        for child in sorted({self.tld, LAB_TLD + "."}):
            records.append((child, "NS", 86400, fqdn(TLD_NS)))
        # glue, below the test. cut: both server names live in the lab TLD
        records.append((fqdn(TLD_NS), "A", 86400, TLD_ADDRESS))
        records.append((fqdn(ROOT_NS), "A", 86400, ROOT_ADDRESS))
        if self.dnssec:
            records += [(self.tld, "DS", 86400, ds) for ds in self._ds(self.tld)]
        return records

    def _tld_zones(self) -> dict[str, list[tuple[str, str, int, str]]]:
        """The zones of the TLD server: the domain's TLD with the delegation under test, and test. with the lab
        host names (one zone when the domain itself is under test.)."""
        zones: dict[str, list[tuple[str, str, int, str]]] = {}
        tld = [self._soa(self.tld, TLD_NS, self._tld_serial), (self.tld, "NS", 86400, fqdn(TLD_NS))]
        tld += [(self.domain, "NS", self.ns_ttl, fqdn(name)) for name in self._delegation]
        tld += [(self.domain, "DS", self.ns_ttl, ds) for ds in self.ds_records]
        zones[self.tld] = tld
        lab = fqdn(LAB_TLD)
        if self.tld == lab:
            zones[lab] += self._host_records()
        else:
            zones[lab] = [self._soa(lab, TLD_NS, 1), (lab, "NS", 86400, fqdn(TLD_NS)), *self._host_records()]
        return zones

    def _domain_records(self, records: Sequence[Record], servers: Sequence[str]) -> list[tuple[str, str, int, str]]:
        """A domain zone from the caller's records, with the SOA and apex NS (its own servers) added unless the
        caller gave them."""
        result = []
        for owner, rtype, ttl, value in records:
            rtype = rtype.upper()
            if rtype == "TXT" and not value.startswith('"'):
                value = '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
            result.append((absolute(owner, self.domain), rtype, self.record_ttl if ttl is None else int(ttl), value))
        if not any(owner == self.domain and rtype == "SOA" for owner, rtype, dummy, dummy2 in result):
            result.insert(0, self._soa(self.domain, servers[0], 1))
        if not any(owner == self.domain and rtype == "NS" for owner, rtype, dummy, dummy2 in result):
            result += [(self.domain, "NS", self.record_ttl, fqdn(name)) for name in servers]
        return result

    def _zone_path(self, server: str, zone: str) -> Path:
        return self.workdir / server / ("root.zone" if zone == "." else zone.rstrip(".") + ".zone")

    def _write_zone(self, server: str, origin: str, records: list[tuple[str, str, int, str]], sign: bool) -> None:
        """Write a zone where nsd reads it, signed first when DNSSEC mode signs that zone."""
        path = self._zone_path(server, origin)
        path.parent.mkdir(parents=True, exist_ok=True)
        if sign and self.dnssec:
            unsigned = path.with_name(path.name + ".unsigned")
            unsigned.write_text(zone_text(origin, records))
            self._sign(origin, unsigned, path)
        else:
            path.write_text(zone_text(origin, records))
        dnsd.check_zone(origin, path)

    def _write_tld_zones(self) -> None:
        for origin, records in self._tld_zones().items():
            self._write_zone("tld", origin, records, sign=origin == self.tld)

    def _write_zones(self) -> None:
        # in DNSSEC mode the old zone is signed, the new one is not: the move under test is to a provider that
        # does not sign while the TLD still publishes the DS
        self._write_zone("old", self.domain, self._domain_records(self.old_records, list(OLD_SERVERS)), sign=True)
        self._write_zone("new", self.domain, self._domain_records(self.new_records, list(NEW_SERVERS)), sign=False)
        self._write_tld_zones()
        self._write_zone("root", ".", self._root_records(), sign=True)

    # ----------------------------------------------------------------- DNSSEC

    def _make_keys(self) -> None:
        """A KSK and a ZSK for the root, the TLD and the old zone; the new zone stays unsigned on purpose (a
        provider that does not sign), and test. stays unsigned (an insecure delegation from the root)."""
        keydir = self.workdir / "keys"
        keydir.mkdir(parents=True, exist_ok=True)
        keygen = find_program("ldns-keygen")
        for zone in (".", self.tld, self.domain):
            bases = []
            for flags in (["-k"], []):
                run = subprocess.run([keygen, "-a", KEY_ALGORITHM, *flags, zone], check=False, cwd=keydir,
                                     capture_output=True, text=True, timeout=60)
                if run.returncode != 0:
                    raise DnsLabError("ldns-keygen failed for %s: %s" % (zone, run.stderr.strip()))
                bases.append(keydir / run.stdout.strip())
            self._keys[zone] = (bases[0], bases[1])
        self._domain_ds = self._ds(self.domain)
        # the resolvers' trust anchor: the root KSK, in the zone-file form unbound's trust-anchor-file reads
        shutil.copyfile(str(self._keys["."][0]) + ".key", self.workdir / "root-anchor.key")

    def _ds(self, zone: str) -> list[str]:
        """DS rdata (SHA-256) of a zone's KSK, as its parent publishes it."""
        run = subprocess.run([find_program("ldns-key2ds"), "-n", "-2", str(self._keys[zone][0]) + ".key"],
                             check=False, capture_output=True, text=True, timeout=30)
        if run.returncode != 0:
            raise DnsLabError("ldns-key2ds failed for %s: %s" % (zone, run.stderr.strip()))
        # "<owner> <ttl> IN DS <tag> <alg> <digest type> <digest>": keep the rdata, the caller sets the TTL
        return [" ".join(line.split()[4:]) for line in run.stdout.splitlines() if "\tDS\t" in line or " DS " in line]

    def _sign(self, origin: str, unsigned: Path, signed: Path) -> None:
        """Sign with signatures valid from an hour ago to two weeks ahead, so clocks and slow runs do not
        matter; ldns-signzone's own default inception is "now", which a resolver a second behind rejects."""
        now = datetime.now(timezone.utc)
        inception = (now - timedelta(hours=1)).strftime("%Y%m%d%H%M%S")
        expiration = (now + timedelta(days=14)).strftime("%Y%m%d%H%M%S")
        ksk, zsk = self._keys[origin]
        run = subprocess.run([find_program("ldns-signzone"), "-i", inception, "-e", expiration, "-o", origin,
                              "-f", str(signed), str(unsigned), str(ksk), str(zsk)],
                             check=False, capture_output=True, text=True, timeout=60)
        if run.returncode != 0:
            raise DnsLabError("ldns-signzone failed for %s: %s" % (origin, (run.stdout + run.stderr).strip()))

    # ----------------------------------------------------------------- daemons

    def _nsd(self, name: str, addresses: list[str], zones: list[str]) -> Daemon:
        """An nsd that keeps everything in its own directory (see sandbox/dnsd.py)."""
        return dnsd.nsd_daemon(name, self.workdir / name, addresses,
                               {zone: self._zone_path(name, zone) for zone in zones})

    def _unbound(self, index: int) -> Daemon:
        """A caching resolver that knows only the lab root and keeps nothing longer than the records say."""
        name = "resolver-%d" % (index + 1)
        extra: list[str] = []
        if self.dnssec:
            extra = [
                '    module-config: "validator iterator"',
                '    trust-anchor-file: "%s"' % (self.workdir / "root-anchor.key"),
                "    val-permissive-mode: no",
                "    val-log-level: 2",
                "    trust-anchor-signaling: no",
                "    root-key-sentinel: no",
            ]
        control = dnsd.control_socket(self.workdir / name / "control.sock", self._short_socket_dir)
        # unbound answers test. itself (RFC 6761 default local zone) unless told not to
        return dnsd.unbound_daemon(name, self.workdir / name, self._resolver_address(index), {ROOT_NS: ROOT_ADDRESS},
                                   control, nodefault=[fqdn(LAB_TLD)], extra=extra)

    def _short_socket_dir(self) -> Path:
        """A short temporary directory for control sockets whose natural path is too long (removed in close)."""
        if self._socket_dir is None:
            self._socket_dir = Path(tempfile.mkdtemp(prefix="dnslab-"))
        return self._socket_dir

    def _build_daemons(self) -> None:
        self._daemons = {
            "root": self._nsd("root", [ROOT_ADDRESS], ["."]),
            "tld": self._nsd("tld", [TLD_ADDRESS], list(self._tld_zones())),
            "old": self._nsd("old", list(OLD_SERVERS.values()), [self.domain]),
            "new": self._nsd("new", list(NEW_SERVERS.values()), [self.domain]),
        }
        for index in range(self.resolver_count):
            self._daemons["resolver-%d" % (index + 1)] = self._unbound(index)
