"""The loopback DNS lab (tests/dnslab) is itself tested here, so that a propagation-checker test failing on it
points at the checker: real nsd and unbound, the delegation change, caches that lag, a dead resolver, DNSSEC.

Needs root (port 53) and nsd, unbound and the ldns tools: tools/install_system_deps.sh installs them. Nothing
here skips: a missing program fails the test with that instruction."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.dnslab.lab import NEW_APEX_A, OLD_APEX_A, DnsLab, DnsLabError, missing_programs

DOMAIN = "directfanz.io."


def require_programs(dnssec: bool) -> None:
    """Fail (never skip) when the daemons are not installed, saying how to install them."""
    missing = missing_programs(dnssec=dnssec)
    if missing:
        pytest.fail("missing %s: run tools/install_system_deps.sh (as root) to install nsd, unbound, dnsutils "
                    "and ldnsutils" % ", ".join(missing), pytrace=False)


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[DnsLab]:
    """A fresh lab per test (about 0.3 s to start), so no test depends on another's delegation or caches."""
    require_programs(dnssec=False)
    with DnsLab(tmp_path / "lab") as started:
        yield started


@pytest.fixture()
def signed_lab(tmp_path: Path) -> Iterator[DnsLab]:
    """The DNSSEC lab: root, TLD and old zone signed, the new zone not."""
    require_programs(dnssec=True)
    with DnsLab(tmp_path / "lab", dnssec=True) as started:
        yield started


def resolve(resolver: dict[str, object], rdtype: str = "A", name: str = DOMAIN, cd: bool = False,
            dnssec: bool = False, timeout: float = 3.0) -> dns.message.Message:
    """Ask a lab resolver as a stub would (RD on)."""
    query = dns.message.make_query(name, dns.rdatatype.from_text(rdtype), want_dnssec=dnssec)
    if cd:
        query.flags |= dns.flags.CD
    return dns.query.udp(query, str(resolver["address"]), port=int(str(resolver["port"])), timeout=timeout)


def answer_values(reply: dns.message.Message, rdtype: str = "A") -> list[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return sorted(rdata.to_text() for rrset in reply.answer if rrset.rdtype == wanted for rdata in rrset)


def referral(lab: DnsLab) -> tuple[dns.message.Message, list[str]]:
    """Ask the TLD server directly with RD off, as a propagation checker does, and return the name servers of
    the referral (no final dots)."""
    server = lab.parent_servers[0]
    query = dns.message.make_query(DOMAIN, dns.rdatatype.A)
    query.flags &= ~dns.flags.RD
    reply = dns.query.udp(query, str(server["address"]), port=int(str(server["port"])), timeout=3)
    names = sorted(rdata.target.to_text().rstrip(".") for rrset in reply.authority
                   if rrset.rdtype == dns.rdatatype.NS for rdata in rrset)
    return reply, names


def test_before_the_move_resolvers_follow_the_old_delegation(lab: DnsLab) -> None:
    reply, names = referral(lab)
    assert reply.rcode() == dns.rcode.NOERROR
    assert not reply.flags & dns.flags.AA and not reply.answer  # a referral, not an answer
    assert names == sorted(lab.old_nameservers) == ["ns1.oldhost.test", "ns2.oldhost.test"]
    assert lab.parent_servers == [{"address": "127.53.0.2", "port": 53, "name": "ns.tld.test"}]
    assert [r["address"] for r in lab.resolvers] == ["127.53.1.1", "127.53.1.2", "127.53.1.3"]
    assert lab.addresses["ns-4.r53.test"] == "127.53.0.24"

    for resolver in lab.resolvers:
        got = resolve(resolver)
        assert got.rcode() == dns.rcode.NOERROR and got.flags & dns.flags.RA
        assert answer_values(got) == [OLD_APEX_A]
    assert answer_values(resolve(lab.resolvers[0], "CNAME", "www." + DOMAIN), "CNAME") == [DOMAIN]
    # only the new zone has the canary
    assert resolve(lab.resolvers[0], "TXT", "_launch-canary." + DOMAIN).rcode() == dns.rcode.NXDOMAIN


def test_delegation_changes_at_once_and_caches_lag_until_flushed(lab: DnsLab) -> None:
    cached = lab.resolvers[0]
    assert answer_values(resolve(cached)) == [OLD_APEX_A]

    lab.delegate_to(lab.new_nameservers)
    assert referral(lab)[1] == sorted(lab.new_nameservers)
    assert lab.delegation == lab.new_nameservers

    # the resolver that answered before keeps its cached answer (TTL 30 s) ...
    assert answer_values(resolve(cached)) == [OLD_APEX_A]
    # ... one that never asked follows the new delegation
    assert answer_values(resolve(lab.resolvers[1])) == [NEW_APEX_A]
    lab.flush(0, zone=DOMAIN)
    assert answer_values(resolve(cached)) == [NEW_APEX_A]
    canary = resolve(cached, "TXT", "_launch-canary." + DOMAIN)
    assert answer_values(canary, "TXT") == ['"launch-canary=dnslab"']

    # and back, with a full flush of every resolver
    lab.delegate_to(lab.old_nameservers)
    assert referral(lab)[1] == sorted(lab.old_nameservers)
    lab.flush()
    assert [answer_values(resolve(r)) for r in lab.resolvers] == [[OLD_APEX_A]] * 3


def test_a_dead_resolver_times_out(lab: DnsLab) -> None:
    dead = lab.resolvers[2]
    lab.make_dead(2)
    assert lab.is_dead(2)
    for ask in (dns.query.udp, dns.query.tcp):
        started = time.monotonic()
        with pytest.raises(dns.exception.Timeout):
            ask(dns.message.make_query(DOMAIN, "A"), str(dead["address"]), port=53, timeout=1.0)
        assert time.monotonic() - started < 2.0
    # the others are unaffected; flushing all skips the dead one, flushing it alone is an error
    assert answer_values(resolve(lab.resolvers[0])) == [OLD_APEX_A]
    lab.flush()
    with pytest.raises(DnsLabError):
        lab.flush(2)


def test_dnssec_move_to_an_unsigned_zone_with_the_ds_left_is_bogus(signed_lab: DnsLab) -> None:
    lab = signed_lab
    server = lab.parent_servers[0]
    query = dns.message.make_query(DOMAIN, dns.rdatatype.DS, want_dnssec=True)
    query.flags &= ~dns.flags.RD
    reply = dns.query.udp(query, str(server["address"]), port=53, timeout=3)
    ds = [rdata for rrset in reply.answer if rrset.rdtype == dns.rdatatype.DS for rdata in rrset]
    assert ds and all(rdata.digest_type == 2 for rdata in ds)
    assert [rdata.to_text() for rdata in ds] == [text.lower() for text in lab.ds_records]
    assert any(rrset.rdtype == dns.rdatatype.RRSIG for rrset in reply.answer)  # the TLD zone is signed

    # before the move the old zone validates: authenticated data
    before = resolve(lab.resolvers[0], dnssec=True)
    assert answer_values(before) == [OLD_APEX_A]
    assert before.flags & dns.flags.AD

    lab.delegate_to(lab.new_nameservers)  # the DS stays in the TLD
    lab.flush(0)
    for resolver in lab.resolvers[:2]:  # the flushed one and one that never asked
        assert resolve(resolver).rcode() == dns.rcode.SERVFAIL
        unchecked = resolve(resolver, cd=True)
        assert unchecked.rcode() == dns.rcode.NOERROR
        assert answer_values(unchecked) == [NEW_APEX_A]
