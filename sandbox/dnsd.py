"""Plumbing for real DNS daemons on loopback: nsd instances, unbound resolvers, zone files, readiness checks.

Why a module of its own: the DNS lab of the tests (tests/dnslab/lab.py) and the sandbox's DNS world
(sandbox/dns_world.py) both run nsd and unbound side by side with a distro install, and both have to work
around the same quirks; those workarounds live here once:

* every nsd keeps its database, pid file, xfrd state and zone list in its own directory, since the Debian
  defaults (/var/lib/nsd, /run/nsd, xfrdir /tmp) would be shared by every instance;
* a changed zone is served by restarting nsd, never by ``nsd-control reload``, which skips a zone file whose
  mtime did not change (two rewrites within one kernel clock tick);
* unbound refuses to query loopback servers unless ``do-not-query-localhost: no``, and answers RFC 6761
  names (test., invalid., ...) itself unless the zone is made ``nodefault``;
* unbound-control's unix socket path must fit sockaddr_un (108 bytes);
* the daemons run in process groups of their own, so that stopping one also takes the children nsd forks.

Every daemon listens on port 53: a resolver following a referral learns addresses only, never a port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

PORT = 53
INSTALL_HINT = "tools/install_system_deps.sh installs nsd, unbound, dnsutils and ldnsutils (run it as root)"
# unbound-control's socket path must fit sockaddr_un.sun_path (108 bytes on Linux, with its final NUL)
MAX_SOCKET_PATH = 100
# RFC 6761 and friends: unbound answers these itself unless told "nodefault"
UNBOUND_DEFAULT_ZONES = frozenset({"test.", "invalid.", "localhost.", "onion.", "local.", "home.arpa."})
# what `flush everything` means for unbound: records, negative and bogus answers and server timing
FULL_FLUSH: tuple[tuple[str, ...], ...] = (("flush_zone", "."), ("flush_negative",), ("flush_bogus",),
                                           ("flush_infra", "all"))

# (owner, type, ttl, rdata) with an absolute owner: what zone_text writes
ZoneRecord = tuple[str, str, int, str]


class DnsdError(RuntimeError):
    """A daemon could not be configured, started or driven; the message says what to fix."""


def find_program(name: str) -> str:
    """The path of a system program; sbin is searched too, since it is often missing from PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        raise DnsdError("%s was not found: %s" % (name, INSTALL_HINT))
    return found


def missing_programs(extra: Iterable[str] = ()) -> list[str]:
    """The programs (nsd, unbound and their checkers, plus ``extra``) that cannot be found, so that a caller can
    fail up front with one clear message instead of at the first daemon."""
    names = ["nsd", "nsd-checkconf", "nsd-checkzone", "unbound", "unbound-control", "unbound-checkconf", *extra]
    missing = []
    for name in names:
        try:
            find_program(name)
        except DnsdError:
            missing.append(name)
    return missing


def fqdn(name: str) -> str:
    """A name with its final dot, lower case: the one form zone files and comparisons use here."""
    return name.lower().rstrip(".") + "."


def absolute(owner: str, origin: str) -> str:
    """Resolve a zone-file owner ("@", relative or absolute) against the zone origin."""
    if owner in ("@", ""):
        return origin
    if owner.endswith("."):
        return owner.lower()
    return "%s.%s" % (owner.lower(), origin) if origin != "." else owner.lower() + "."


def zone_text(origin: str, records: Iterable[ZoneRecord]) -> str:
    """A zone file with absolute owners only, so that nothing depends on $ORIGIN handling."""
    lines = ["$ORIGIN %s" % origin]
    for owner, rtype, ttl, value in records:
        lines.append("%s\t%d\tIN\t%s\t%s" % (owner, ttl, rtype.upper(), value))
    return "\n".join(lines) + "\n"


def soa_record(origin: str, mname: str, serial: int, ttl: int, minimum: int, contact: str | None = None) -> ZoneRecord:
    """A sane SOA: refresh/retry/expire hardly matter without secondaries; ``minimum`` is the negative-caching
    TTL, which decides how long a resolver remembers that a name did not exist."""
    rname = contact or "hostmaster." + (origin if origin != "." else "root-servers.invalid.")
    return (origin, "SOA", ttl, "%s %s %d 3600 600 86400 %d" % (fqdn(mname), rname, serial, minimum))


def check_zone(origin: str, path: Path) -> None:
    """nsd would load a broken zone as SERVFAIL and say why only in its log: check it before it is served."""
    run = subprocess.run([find_program("nsd-checkzone"), origin, str(path)], check=False, capture_output=True,
                         text=True, timeout=30)
    if run.returncode != 0:
        raise DnsdError("zone %s in %s is invalid: %s" % (origin, path, (run.stdout + run.stderr).strip()))


def write_zone(path: Path, origin: str, records: Iterable[ZoneRecord]) -> None:
    """Write and check a zone file; a rejected zone is left beside it (``.rejected``) and the old one kept, so
    that a bad update never replaces a zone that loads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(path.name + ".new")
    candidate.write_text(zone_text(origin, records))
    try:
        check_zone(origin, candidate)
    except DnsdError:
        candidate.replace(path.with_name(path.name + ".rejected"))
        raise
    candidate.replace(path)


def address_free(address: str, port: int = PORT) -> str | None:
    """None when address:port can be bound over UDP and TCP, else why not. TCP is tried with SO_REUSEADDR, as
    the daemons bind it, so that connections in TIME_WAIT from an earlier run do not count as busy."""
    for kind, proto in ((socket.SOCK_DGRAM, "udp"), (socket.SOCK_STREAM, "tcp")):
        with socket.socket(socket.AF_INET, kind) as sock:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except PermissionError:
                return "cannot bind %s:%d/%s: port 53 needs root or CAP_NET_BIND_SERVICE" % (address, port, proto)
            except OSError as exc:
                return "%s:%d/%s is not free (%s)" % (address, port, proto, exc.strerror)
    return None


def free_or_fail(address: str, port: int = PORT) -> None:
    """Raise, naming the address, when it is busy: better than a daemon that never answers."""
    problem = address_free(address, port)
    if problem is not None:
        if "not free" in problem:
            problem += (": another lab or sandbox DNS world still running, or a system nsd/unbound/dnsmasq "
                        "listening on 0.0.0.0:53? (tools/install_system_deps.sh leaves the distro services stopped)")
        raise DnsdError(problem)


def tail(path: Path, lines: int = 25) -> str:
    """The end of a daemon's log, for error messages that explain themselves."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no %s)" % path.name
    return "--- %s ---\n%s" % (path, "\n".join(text.splitlines()[-lines:]))


@dataclass
class Daemon:
    """One nsd or unbound process: how to start it, where it listens and what proves it is up."""

    name: str
    argv: list[str]
    workdir: Path
    addresses: list[str]
    # (zone, rdtype) asked at every address until answered; an empty list means "any answer will do"
    probes: list[tuple[str, str]] = field(default_factory=list)
    authoritative: bool = True
    port: int = PORT
    proc: subprocess.Popen | None = None
    out: IO[bytes] | None = None

    @property
    def conf(self) -> Path:
        """The daemon's configuration file (unbound-control needs it to find the control socket)."""
        return self.workdir / ("nsd.conf" if self.authoritative else "unbound.conf")

    @property
    def logs(self) -> str:
        """Both the daemon's own log file and what it printed, since early errors only reach the latter."""
        return "\n".join(tail(self.workdir / name) for name in ("daemon.log", "console.out"))

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.proc is not None and self.proc.poll() is None


def check_conf(argv: list[str], name: str) -> None:
    """Catch configuration errors before starting, with the checker's message rather than a silent exit."""
    run = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        raise DnsdError("%s configuration rejected: %s" % (name, (run.stdout + run.stderr).strip()))


def nsd_daemon(name: str, workdir: Path, addresses: Sequence[str], zones: dict[str, Path],
               port: int = PORT) -> Daemon:
    """Configure (not start) an nsd serving ``zones`` (origin -> zone file) that keeps everything in
    ``workdir``: no chroot, no user switch, no database, no remote control."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = ["server:"]
    lines += ["    ip-address: %s" % address for address in addresses]
    lines += [
        "    port: %d" % port,
        "    do-ip4: yes",
        "    do-ip6: no",
        '    username: ""',
        '    chroot: ""',
        '    database: ""',
        '    zonesdir: "%s"' % workdir,
        '    zonelistfile: "%s"' % (workdir / "zone.list"),
        '    xfrdfile: "%s"' % (workdir / "xfrd.state"),
        '    xfrdir: "%s"' % workdir,
        '    pidfile: "%s"' % (workdir / "nsd.pid"),
        '    logfile: "%s"' % (workdir / "daemon.log"),
        "    server-count: 1",
        "    reuseport: no",
        "    hide-version: yes",
        "    verbosity: 1",
        "    zonefiles-check: yes",
        "    zonefiles-write: 0",
        "remote-control:",
        "    control-enable: no",
    ]
    for zone, path in zones.items():
        lines += ["zone:", '    name: "%s"' % zone, '    zonefile: "%s"' % path]
    conf = workdir / "nsd.conf"
    conf.write_text("\n".join(lines) + "\n")
    check_conf([find_program("nsd-checkconf"), str(conf)], name)
    return Daemon(name=name, argv=[find_program("nsd"), "-d", "-c", str(conf)], workdir=workdir,
                  addresses=list(addresses), probes=[(zone, "SOA") for zone in zones], port=port)


def control_socket(preferred: Path, fallback_dir: Callable[[], Path]) -> Path:
    """``preferred`` when it fits a unix socket address, else a path in the short directory ``fallback_dir``
    gives (deep pytest tmp_path directories do not fit)."""
    if len(str(preferred)) <= MAX_SOCKET_PATH:
        return preferred
    return fallback_dir() / (preferred.parent.name + ".sock")


def unbound_daemon(name: str, workdir: Path, address: str, root_hints: dict[str, str], control: Path, *,
                   nodefault: Iterable[str] = (), extra: Sequence[str] = (), port: int = PORT) -> Daemon:
    """Configure (not start) a caching resolver that knows only the root servers in ``root_hints`` (host name ->
    address) and keeps nothing longer than the records say. ``nodefault`` lists zones unbound must resolve
    although it would answer them itself; ``extra`` are more server: lines (module-config defaults to the
    iterator alone, without DNSSEC validation)."""
    workdir.mkdir(parents=True, exist_ok=True)
    hints = workdir / "root.hints"
    hints.write_text("".join(".\t3600000\tIN\tNS\t%s\n" % fqdn(host) for host in root_hints)
                     + "".join("%s\t3600000\tIN\tA\t%s\n" % (fqdn(host), ip) for host, ip in root_hints.items()))
    lines = [
        "server:",
        "    interface: %s@%d" % (address, port),
        "    port: %d" % port,
        "    do-ip4: yes",
        "    do-ip6: no",
        "    do-udp: yes",
        "    do-tcp: yes",
        "    access-control: 127.0.0.0/8 allow",
        # every server of a lab is on loopback, which unbound refuses to query by default
        "    do-not-query-localhost: no",
    ]
    lines += ['    local-zone: "%s" nodefault' % fqdn(zone) for zone in sorted(set(nodefault))]
    lines += [
        '    chroot: ""',
        '    username: ""',
        '    directory: "%s"' % workdir,
        '    pidfile: "%s"' % (workdir / "unbound.pid"),
        '    logfile: "%s"' % (workdir / "daemon.log"),
        "    use-syslog: no",
        "    verbosity: 1",
        "    log-servfail: yes",
        '    root-hints: "%s"' % hints,
        "    num-threads: 1",
        "    so-reuseport: no",
        "    qname-minimisation: no",
        "    prefetch: no",
        "    prefetch-key: no",
        "    serve-expired: no",
        "    cache-min-ttl: 0",
        "    minimal-responses: no",
        "    harden-referral-path: no",
    ]
    extra = list(extra)
    if not any(line.strip().startswith("module-config:") for line in extra):
        extra.append('    module-config: "iterator"')
    lines += extra
    lines += [
        "remote-control:",
        "    control-enable: yes",
        '    control-interface: "%s"' % control,
        "    control-use-cert: no",
    ]
    conf = workdir / "unbound.conf"
    conf.write_text("\n".join(lines) + "\n")
    check_conf([find_program("unbound-checkconf"), str(conf)], name)
    return Daemon(name=name, argv=[find_program("unbound"), "-d", "-c", str(conf)], workdir=workdir,
                  addresses=[address], authoritative=False, port=port)


def unbound_control(conf: Path, commands: Iterable[Sequence[str]], label: str) -> None:
    """Run unbound-control commands against the resolver configured in ``conf``."""
    control = find_program("unbound-control")
    for command in commands:
        run = subprocess.run([control, "-c", str(conf), *command], check=False, capture_output=True, text=True,
                             timeout=10)
        if run.returncode != 0:
            raise DnsdError("unbound-control %s failed for %s: %s"
                            % (" ".join(command), label, (run.stdout + run.stderr).strip()))


def spawn(daemon: Daemon) -> None:
    """Start a daemon in the foreground, in a process group of its own so that stop() can kill the children
    nsd forks (its xfrd and server processes) along with it."""
    daemon.out = open(daemon.workdir / "console.out", "ab")  # closed in stop()
    daemon.proc = subprocess.Popen(daemon.argv, cwd=daemon.workdir, stdin=subprocess.DEVNULL, stdout=daemon.out,
                                   stderr=subprocess.STDOUT, start_new_session=True)


def stop(daemon: Daemon) -> None:
    """SIGTERM and up to 5 s for the daemon to exit, then SIGKILL to its whole process group, which also takes
    any child it left behind. The leader is reaped only after that kill: until then its pid (the group id)
    cannot be reused, so the kill cannot reach a stranger."""
    proc = daemon.proc
    if proc is not None:
        if proc.returncode is None:
            proc.terminate()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                # WNOWAIT: see that it exited without reaping it
                if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
                time.sleep(0.01)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the group start_new_session made for this daemon
            except ProcessLookupError:
                pass
        proc.wait(timeout=5)
        daemon.proc = None
    if daemon.out is not None:
        daemon.out.close()
        daemon.out = None


def wait_free(addresses: Iterable[str], deadline: float, port: int = PORT) -> None:
    """Wait for a stopped daemon's ports to be released (its children may outlive it by a moment)."""
    for address in addresses:
        while True:
            try:
                free_or_fail(address, port)
                break
            except DnsdError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)


def ask(address: str, qname: str, rdtype: str, timeout: float, port: int = PORT) -> dns.message.Message | None:
    """One UDP query without recursion; None when nothing came back in time."""
    query = dns.message.make_query(qname, dns.rdatatype.from_text(rdtype))
    query.flags &= ~dns.flags.RD
    try:
        return dns.query.udp(query, address, port=port, timeout=timeout)
    except (dns.exception.Timeout, OSError):
        return None


def wait_ready(daemon: Daemon, deadline: float) -> None:
    """Ask until the daemon answers at every address: for nsd an authoritative SOA of every zone it serves (a
    zone that failed to load answers SERVFAIL), for unbound any answer about localhost (a local zone, so the
    probe caches nothing)."""
    probes = daemon.probes if daemon.authoritative else [("localhost.", "A")]
    for address in daemon.addresses:
        for qname, rdtype in probes:
            while True:
                if not daemon.running:
                    raise DnsdError("%s exited while starting (is port 53 free?)\n%s" % (daemon.name, daemon.logs))
                reply = ask(address, qname, rdtype, timeout=0.2, port=daemon.port)
                if reply is not None and (not daemon.authoritative or (
                        reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA)):
                    break
                if time.monotonic() > deadline:
                    got = "no answer" if reply is None else dns.rcode.to_text(reply.rcode())
                    raise DnsdError("%s did not answer %s %s at %s in time (%s)\n%s"
                                    % (daemon.name, qname, rdtype, address, got, daemon.logs))
                time.sleep(0.02)


def wait_serial(daemon: Daemon, zone: str, serial: int, deadline: float) -> None:
    """Wait until every address of the daemon answers with the zone serial just written: the proof the new
    zone is live."""
    for address in daemon.addresses:
        while True:
            reply = ask(address, zone, "SOA", timeout=0.2, port=daemon.port)
            if reply is not None and reply.answer and getattr(reply.answer[0][0], "serial", None) == serial:
                break
            if time.monotonic() > deadline:
                raise DnsdError("%s still serves an old %s serial (want %d)\n%s"
                                % (daemon.name, zone, serial, daemon.logs))
            time.sleep(0.02)


def restart(daemon: Daemon, timeout: float = 15.0) -> None:
    """Stop, wait for the ports, start again and wait until it answers: how a changed zone gets served (see the
    module doc for why not a reload)."""
    stop(daemon)
    deadline = time.monotonic() + timeout
    wait_free(daemon.addresses, deadline, daemon.port)
    spawn(daemon)
    wait_ready(daemon, deadline)


def stop_all(daemons: Iterable[Daemon], silenced: Iterable[list[socket.socket]]) -> None:
    """Stop every daemon, then close the sockets ``hold_silent`` kept for dead resolvers (freeing their addresses)."""
    for daemon in daemons:
        stop(daemon)
    for sockets in silenced:
        for sock in sockets:
            sock.close()


def hold_silent(address: str, port: int = PORT) -> list[socket.socket]:
    """Bind UDP and TCP sockets on address:port that are never read, so that queries there time out (a crashed
    or firewalled resolver) instead of being refused. The caller closes them to release the address."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind((address, port))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((address, port))
        tcp.listen(1)
    except OSError:
        udp.close()
        tcp.close()
        raise
    return [udp, tcp]
