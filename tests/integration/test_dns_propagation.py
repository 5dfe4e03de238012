"""dns_propagation on real DNS software: nsd as root, TLD, old and new authoritative servers, unbound as
caching resolvers, all on loopback (tests/dnslab). Run through `ansible -m`, as a user runs the module."""

import time

import pytest
from conftest import module

from tests.dnslab.lab import DnsLab

DOMAIN = "directfanz.io"


@pytest.fixture()
def lab(tmp_path):
    with DnsLab(tmp_path, domain=DOMAIN, resolvers=3) as running:
        yield running


def propagation(lab, *flags, **extra):
    args = {"domain": DOMAIN, "expected_nameservers": lab.new_nameservers, "parent_servers": lab.parent_servers,
            "resolvers": lab.resolvers, "query_timeout": 1}
    args.update(extra)
    rc, out, result = module("dns_propagation", args, *flags)
    assert result, out
    return rc, out, result


def states(result):
    return [r["state"] for r in result["resolvers"]]


def test_the_move_seen_from_parent_servers_and_resolvers(lab):
    rc, out, before = propagation(lab)
    assert rc == 0, out
    assert before["propagated"] is False
    assert before["parent"]["matches"] is False and before["parent"]["nameservers"] == sorted(lab.old_nameservers)
    assert before["parent"]["ds_present"] is False
    assert before["authoritative_ok"] is True  # the new servers already answer, before the switch
    assert states(before) == ["old", "old", "old"]  # and every resolver has now cached the old answers

    lab.delegate_to(lab.new_nameservers)
    rc, out, switched = propagation(lab)
    assert switched["parent"]["matches"] is True  # the TLD flips at once
    assert states(switched) == ["old", "old", "old"]  # caches still hold the old delegation
    assert switched["propagated"] is False

    lab.flush(0)
    rc, out, partly = propagation(lab)
    assert states(partly) == ["new", "old", "old"] and partly["ratio"] == pytest.approx(1 / 3, abs=0.01)
    assert propagation(lab, min_resolver_ratio=0.3)[2]["propagated"] is True

    lab.flush()
    rc, out, done = propagation(lab)
    assert states(done) == ["new", "new", "new"] and done["propagated"] is True and done["ratio"] == 1.0
    canary = "_launch-canary.%s. TXT" % DOMAIN
    assert done["resolvers"][0]["answers"][canary] == done["authoritative"][0]["answers"][canary] != []


def test_a_resolver_that_never_answers_is_timeout_not_old(lab):
    lab.delegate_to(lab.new_nameservers)
    lab.make_dead(2)
    start = time.monotonic()
    rc, out, result = propagation(lab, query_timeout=1)
    assert time.monotonic() - start < 15
    assert states(result)[2] == "timeout"
    assert result["counts"]["timeout"] == 1 and result["propagated"] is True  # 2 of 2 reachable are new
    assert result["elapsed"] < 3, result["elapsed"]  # all queries in parallel, bounded by query_timeout


def test_wait_polls_and_then_fails_naming_the_resolvers_still_old(lab):
    propagation(lab)  # every resolver caches the old answers
    lab.delegate_to(lab.new_nameservers)
    lab.flush(0)
    rc, out, result = propagation(lab, wait=True, wait_timeout=8, interval=1)
    assert rc != 0 and result["rounds"] >= 2, out
    assert "resolvers still answering old:" in result["msg"]
    assert result["resolvers"][1]["server"] in result["msg"] and result["resolvers"][0]["server"] not in result["msg"]


def test_wait_returns_as_soon_as_it_has_propagated(lab):
    lab.delegate_to(lab.new_nameservers)
    rc, out, result = propagation(lab, wait=True, wait_timeout=30, interval=1)
    assert rc == 0 and result["propagated"] is True and result["rounds"] == 1


def test_dnssec_ds_left_at_the_parent_breaks_validating_resolvers(tmp_path):
    with DnsLab(tmp_path, domain=DOMAIN, resolvers=2, dnssec=True) as lab:
        lab.delegate_to(lab.new_nameservers)
        rc, out, result = propagation(lab)
        assert result["parent"]["ds_present"] is True
        assert states(result) == ["dnssec_failure", "dnssec_failure"] and result["propagated"] is False


def test_bad_input_is_refused_before_any_query(lab):
    rc, out = module("dns_propagation", {"domain": DOMAIN, "expected_nameservers": ["ns1.example.net"],
                                         "resolvers": ["127.0.0.1:99999"]})[:2]
    assert rc != 0 and "is malformed; accepted" in out


def test_the_parent_servers_are_found_through_dns_by_default(lab):
    lab.delegate_to(lab.new_nameservers)
    args = {"domain": DOMAIN, "expected_nameservers": lab.new_nameservers, "resolvers": lab.resolvers,
            "query_timeout": 1}
    rc, out, result = module("dns_propagation", args)
    assert rc == 0, out
    assert [s["address"] for s in result["parent"]["servers"]] == [p["address"] for p in lab.parent_servers]
    assert result["parent"]["matches"] is True
