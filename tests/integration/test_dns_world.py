"""The sandbox DNS world (sandbox/dns_world.py) against a real moto server and the Hostinger simulator: the
TLD follows the simulator's name servers, the old and Route 53 servers follow their sources, resolvers cache.

Needs root (port 53), nsd and unbound: tools/install_system_deps.sh installs them. Nothing here skips."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import pytest

from sandbox import dnsd, hostinger_sim

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "worldtest.io"
TOKEN = "world-token"
NEW_A = "198.51.100.77"


def free_port() -> int:
    """A free loopback TCP port for moto."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(check: Any, what: str, timeout: float) -> float:
    """Poll ``check`` until true; return the seconds it took, fail naming ``what`` otherwise."""
    start = time.monotonic()
    last: Any = None
    while time.monotonic() - start < timeout:
        try:
            last = check()
            if last:
                return time.monotonic() - start
        except Exception as exc:  # not there yet
            last = exc
        time.sleep(0.1)
    pytest.fail("%s not within %.0f s (last: %r)" % (what, timeout, last))


def ask(address: str, name: str, rdtype: str = "A", rd: bool = False, timeout: float = 0.5) -> dns.message.Message:
    """One UDP query to address:53; short by default, since a query lost while nsd restarts must not eat the
    whole time a polling check has."""
    query = dns.message.make_query(name, dns.rdatatype.from_text(rdtype))
    if not rd:
        query.flags &= ~dns.flags.RD
    return dns.query.udp(query, address, port=53, timeout=timeout)


def values(reply: dns.message.Message, rdtype: str = "A") -> list[str]:
    """The answer's rdata of one type, sorted."""
    wanted = dns.rdatatype.from_text(rdtype)
    return sorted(r.to_text() for rrset in reply.answer if rrset.rdtype == wanted for r in rrset)


def referral(state: dict[str, Any]) -> list[str]:
    """The name servers the TLD delegates the domain to (asked with RD=0), without final dots."""
    reply = ask(state["parent_servers"][0]["address"], DOMAIN)
    assert not reply.flags & dns.flags.AA
    return sorted(r.target.to_text().rstrip(".") for rrset in reply.authority
                  if rrset.rdtype == dns.rdatatype.NS for r in rrset)


def upsert(client: Any, zone_id: str, name: str, rtype: str, value: str) -> None:
    """One record in moto's hosted zone."""
    client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": name, "Type": rtype, "TTL": 60,
                                                  "ResourceRecords": [{"Value": value}]}}]})


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """moto, the simulator and a DNS world on top; yields what the tests need and stops it all."""
    missing = dnsd.missing_programs()
    if missing:
        pytest.fail("missing %s: run tools/install_system_deps.sh (as root)" % ", ".join(missing), pytrace=False)
    port = free_port()
    bindir = Path(sys.executable).parent
    moto = subprocess.Popen([str(bindir / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    sim = hostinger_sim.serve(DOMAIN, TOKEN)
    threading.Thread(target=sim.serve_forever, daemon=True).start()
    sim_url = "http://127.0.0.1:%d" % sim.server_address[1]
    aws_url = "http://127.0.0.1:%d" % port
    proc = None
    try:
        until(lambda: urllib.request.urlopen(aws_url + "/moto-api/", timeout=2).status == 200, "moto", 20)
        client = boto3.client("route53", region_name="us-east-1", endpoint_url=aws_url,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        zone = client.create_hosted_zone(Name=DOMAIN, CallerReference=str(time.time()))
        zone_id = zone["HostedZone"]["Id"]
        upsert(client, zone_id, DOMAIN, "A", NEW_A)
        upsert(client, zone_id, "www." + DOMAIN, "CNAME", DOMAIN)
        upsert(client, zone_id, DOMAIN, "TXT", '"v=spf1 -all"')
        state_file = tmp_path / "world.json"
        log = open(tmp_path / "world.log", "wb")
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "sandbox.dns_world", "--domain", DOMAIN, "--aws-endpoint",
                                 aws_url, "--hostinger-url", sim_url, "--state-file", str(state_file)],
                                cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=log,
                                stderr=subprocess.STDOUT)
        until(lambda: state_file.exists() or proc.poll() is not None, "the world's state file", 30)
        assert proc.poll() is None, (tmp_path / "world.log").read_text()
        print("world ready in %.1f s" % (time.monotonic() - started))
        yield {"proc": proc, "state_file": state_file, "state": json.loads(state_file.read_text()),
               "route53": client, "zone_id": zone_id, "sim_url": sim_url,
               "nameservers": zone["DelegationSet"]["NameServers"], "log": tmp_path / "world.log"}
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        sim.shutdown()
        sim.server_close()
        moto.terminate()
        moto.wait(timeout=10)


def leftover_daemons(workdir: str) -> list[str]:
    """Processes whose command line names the world's work directory (its nsd and unbound)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path("/proc", pid, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if workdir in cmd and ("nsd" in cmd or "unbound" in cmd):
                found.append(cmd)
    return found


def test_dns_world_follows_the_cutover(world: dict[str, Any]) -> None:
    state = world["state"]
    assert not state["parent_servers"][0]["address"].startswith(("127.53.", "127.0.0."))
    assert referral(state) == ["ns1.dns-parking.com", "ns2.dns-parking.com"]

    old = next(iter(state["old_servers"].values()))
    reply = ask(old, DOMAIN)
    assert reply.flags & dns.flags.AA and values(reply) == ["203.0.113.10"]
    # the apex ALIAS adds only what has no explicit record (AAAA); the disabled record is not served
    assert values(ask(old, DOMAIN, "AAAA"), "AAAA") == ["2001:db8:113::20"]
    assert not ask(old, "status." + DOMAIN).answer
    # the bare 400-character DKIM value is quoted and split into strings (too big for plain UDP: ask over TCP)
    dkim = dns.query.tcp(dns.message.make_query("s1._domainkey." + DOMAIN, "TXT"), old, port=53, timeout=3)
    joined = [b"".join(r.strings).decode() for rrset in dkim.answer for r in rrset]
    assert len(joined) == 1 and joined[0].startswith("v=DKIM1; k=rsa; p=") and len(joined[0]) > 255

    until(lambda: len(json.loads(world["state_file"].read_text())["route53_servers"]) == 4, "route53 servers", 5)
    state = json.loads(world["state_file"].read_text())
    for address in state["route53_servers"].values():
        reply = ask(address, DOMAIN)
        assert reply.flags & dns.flags.AA and values(reply) == [NEW_A]
    assert values(ask(address, DOMAIN, "TXT"), "TXT") == ['"v=spf1 -all"']

    resolver = state["resolvers"][0]["address"]
    assert values(ask(resolver, DOMAIN, rd=True, timeout=3)) == ["203.0.113.10"]

    names = [n.rstrip(".") for n in world["nameservers"]]
    body = json.dumps({"ns%d" % (i + 1): n for i, n in enumerate(names)}).encode()
    request = urllib.request.Request(world["sim_url"] + "/api/domains/v1/portfolio/%s/nameservers" % DOMAIN,
                                     data=body, method="PUT", headers={"Authorization": "Bearer " + TOKEN,
                                                                       "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as reply_http:
        assert reply_http.status == 200
    took = until(lambda: referral(state) == sorted(names), "the TLD following the PUT", 3)
    print("delegation followed in %.1f s" % took)
    # the resolver still has the old answer cached (TTL 3600) until it is flushed
    assert values(ask(resolver, DOMAIN, rd=True, timeout=3)) == ["203.0.113.10"]
    flush = subprocess.run([sys.executable, "-m", "sandbox.dns_world", "--state-file", str(world["state_file"]),
                            "--flush", "1"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert flush.returncode == 0, flush.stderr
    assert values(ask(resolver, DOMAIN, rd=True, timeout=3)) == [NEW_A]

    upsert(world["route53"], world["zone_id"], "late." + DOMAIN, "A", "192.0.2.55")
    r53 = list(state["route53_servers"].values())
    took = until(lambda: all(values(ask(a, "late." + DOMAIN)) == ["192.0.2.55"] for a in r53),
                 "the late record at the Route 53 servers", 3)
    print("late record served in %.1f s" % took)

    control = [sys.executable, "-m", "sandbox.dns_world", "--state-file", str(world["state_file"])]
    killed = subprocess.run(control + ["--kill-resolver", "3"], check=False, cwd=ROOT, capture_output=True,
                            text=True, timeout=30, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert killed.returncode == 0, killed.stderr
    with pytest.raises(dns.exception.Timeout):
        ask(state["resolvers"][2]["address"], DOMAIN, rd=True)

    proc = world["proc"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0, world["log"].read_text()
    for pid in state["daemons"].values():
        assert not Path("/proc/%d" % pid).exists() or b"zombie" in Path("/proc/%d/status" % pid).read_bytes()
    assert leftover_daemons(state["workdir"]) == []
