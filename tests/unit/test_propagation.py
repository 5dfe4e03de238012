"""The propagation verdicts from canned server answers (the real-server tests use nsd and unbound)."""

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import propagation as P

D = "example.com."
NEW = ["ns-1.new.test", "ns-2.new.test"]
OLD = ["ns1.old.test", "ns2.old.test"]
PARENT = {"address": "127.0.0.2", "port": 53, "name": "tld"}
NEW_A, OLD_A = "198.51.100.10", "203.0.113.10"


def reply(answer=None, authority=None, additional=None, rcode="NOERROR", aa=False):
    return {"rcode": rcode, "aa": aa, "answer": answer or {}, "authority": authority or {},
            "additional": additional or {}, "ttls": {}}


class World:
    """Who answers what: the parent delegates to ``delegated``; resolvers by name have a ``view``."""

    def __init__(self, delegated, views, ds=False):
        self.delegated, self.views, self.ds = delegated, views, ds

    def ask(self, server, qname, rdtype, recurse, cd=False):
        name = server["name"]
        if name == "tld":
            if rdtype == "DS":
                return reply({D + " DS": ["12345 13 2 abcd"]} if self.ds else {}, aa=True)
            return reply(authority={D + " NS": [n + "." for n in self.delegated]},
                         additional={"%s. A" % n: ["127.0.9.%d" % i] for i, n in enumerate(self.delegated)})
        if name in NEW:
            return self.zone("new", qname, rdtype, aa=True)
        view = self.views[name]
        if view == "dead":
            return {"error": "timeout"}
        if view == "bogus" and not cd:
            return reply(rcode="SERVFAIL")
        return self.zone("new" if view == "bogus" else view, qname, rdtype)

    def zone(self, which, qname, rdtype, aa=False):
        ns, a = (NEW, NEW_A) if which == "new" else (OLD, OLD_A)
        if rdtype == "NS":
            return reply({D + " NS": [n + "." for n in ns]}, aa=aa)
        if rdtype == "A":
            return reply({D + " A": [a]}, aa=aa)
        if rdtype == "TXT" and which == "new":
            return reply({qname + " TXT": ['"launch-canary=z1"']}, aa=aa)
        return reply(rcode="NXDOMAIN", aa=aa)


def run(monkeypatch, world, resolvers, min_ratio=1.0):
    monkeypatch.setattr(P.Asker, "ask", lambda self, *a, **k: world.ask(*a, **k))
    servers = [{"address": "127.0.1.%d" % i, "port": 53, "name": r} for i, r in enumerate(resolvers)]
    addresses = {n: "127.0.9.%d" % i for i, n in enumerate(NEW)}
    records = [{"name": D, "type": "A", "value": None}, {"name": "_launch-canary." + D, "type": "TXT", "value": None}]
    return P.check(D, NEW, [PARENT], servers, records, 1.0, min_ratio, addresses)


def states(result):
    return {r["server"]: r["state"] for r in result["resolvers"]}


def test_before_the_switch_everything_is_old(monkeypatch):
    world = World(OLD, {"r1": "old", "r2": "old"})
    result = run(monkeypatch, world, ["r1", "r2"])
    assert not result["propagated"] and not result["parent"]["matches"]
    assert result["parent"]["nameservers"] == sorted(OLD)
    assert states(result) == {"r1": "old", "r2": "old"} and result["ratio"] == 0


def test_after_the_switch_a_caching_resolver_stays_old_until_it_expires(monkeypatch):
    world = World(NEW, {"r1": "new", "r2": "old", "r3": "dead"})
    result = run(monkeypatch, world, ["r1", "r2", "r3"])
    assert result["parent"]["matches"] and result["authoritative_ok"]
    assert states(result) == {"r1": "new", "r2": "old", "r3": "timeout"}
    assert result["ratio"] == 0.5 and not result["propagated"]
    assert run(monkeypatch, world, ["r1", "r2", "r3"], min_ratio=0.5)["propagated"]
    world.views["r2"] = "new"
    result = run(monkeypatch, world, ["r1", "r2", "r3"])
    assert result["propagated"] and result["counts"]["timeout"] == 1  # unreachable is not counted as old


def test_dnssec_failure_and_ds_at_the_parent(monkeypatch):
    world = World(NEW, {"r1": "bogus"}, ds=True)
    result = run(monkeypatch, world, ["r1"])
    assert result["parent"]["ds_present"] is True
    assert states(result) == {"r1": "dnssec_failure"} and not result["propagated"]


def test_a_given_value_is_the_truth(monkeypatch):
    monkeypatch.setattr(P.Asker, "ask", lambda self, *a, **k: World(NEW, {"r1": "new"}).ask(*a, **k))
    records = [{"name": D, "type": "A", "value": "192.0.2.99"}]
    result = P.check(D, NEW, [PARENT], [{"address": "127.0.1.1", "port": 53, "name": "r1"}], records, 1.0, 1.0,
                     {n: "127.0.9.1" for n in NEW})
    assert states(result) == {"r1": "mixed"}  # NS new, A not what the user expects


@pytest.mark.parametrize("name,expected", [("@", D), ("www", "www." + D), ("www.example.com", "www." + D)])
def test_names(name, expected):
    assert P.fqdn(name, "example.com") == expected


def test_production_asks_the_built_in_resolvers_of_many_operators_and_the_sandbox_its_own():
    """The cutover's propagation audience: production leaves it to dns_propagation's list (launch_propagation_resolvers
    is []), the sandbox inherits its DNS world's resolvers (no launch_propagation_resolvers, so launch_dns_resolvers)."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    production = yaml.safe_load((root / "inventories/production/group_vars/all/main.yml").read_text())
    sandbox = yaml.safe_load((root / "inventories/sandbox/group_vars/all/main.yml").read_text())
    cutover = yaml.safe_load((root / "playbooks/cutover.yml").read_text())[0]["vars"]
    assert production["launch_propagation_resolvers"] == []
    assert "launch_propagation_resolvers" not in sandbox and "dns_world" in sandbox["launch_dns_resolvers"]
    assert cutover["cutover_propagation_resolvers"] == (
        "{{ launch_propagation_resolvers | default(cutover_resolvers) }}")
    servers = P.parse_servers(P.PUBLIC_RESOLVERS)
    operators = {r["name"].split(" (")[0] for r in P.PUBLIC_RESOLVERS}
    assert len(servers) == 20 and len(operators) >= 15, operators
