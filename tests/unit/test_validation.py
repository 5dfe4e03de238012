"""Input checks: each bad input named with what is accepted."""

import pytest

from ansible_collections.directfanz.launch.plugins.filter.dns import cap_ttl, zone_import_summary
from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import parse_server
from ansible_collections.directfanz.launch.plugins.module_utils.validation import (
    domain_problem, is_loopback_host, region_problem, subdomain_problem, url_host)


@pytest.mark.parametrize("domain", ["directfanz.io", "example.co.uk", "xn--bcher-kva.example", "a-b.io."])
def test_good_domains(domain):
    assert domain_problem(domain) is None


@pytest.mark.parametrize("domain,why", [
    ("", "empty"), ("localhost", "two labels"), ("-bad.io", "label"), ("bad-.io", "label"),
    ("exa mple.io", "label"), ("example.123", "top-level"), ("bücher.de", "punycode"), ("a" * 64 + ".io", "label"),
])
def test_bad_domains(domain, why):
    assert why in domain_problem(domain)


def test_regions_and_subdomains():
    assert region_problem("eu-west-2") is None
    assert "not an AWS region" in region_problem("europe")
    assert "not one of" in region_problem("zz-nowhere-1", ["us-east-1"])
    assert subdomain_problem("api") is None and subdomain_problem("eu.api") is None
    assert "relative" in subdomain_problem("api.example.com.")
    assert "not valid" in subdomain_problem("bad_label")


@pytest.mark.parametrize("text,parsed", [
    ("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.2:5353", ("127.0.0.2", 5353)),
    ("[::1]:5300", ("::1", 5300)), ("::1", ("::1", 53)),
    ({"address": "127.0.0.3", "port": 54, "name": "r1"}, ("127.0.0.3", 54)),
])
def test_server_spellings(text, parsed):
    s = parse_server(text)
    assert (s["address"], s["port"]) == parsed


@pytest.mark.parametrize("bad", ["127.0.0.1:", "resolver.example", "127.0.0.1:99999", "[::1]x", {"port": 53}])
def test_malformed_servers_are_refused_with_what_is_accepted(bad):
    with pytest.raises(ValueError, match="accepted"):
        parse_server(bad)


def test_loopback_detection():
    assert is_loopback_host(url_host("http://127.0.0.1:4566"))
    assert is_loopback_host(url_host("http://localhost:1"))
    assert is_loopback_host(url_host("http://[::1]:1"))
    assert not is_loopback_host(url_host("https://route53.amazonaws.com"))
    assert not is_loopback_host(url_host("http://10.0.0.1"))


def test_cap_ttl_and_summary():
    out = cap_ttl([{"name": "a", "ttl": 3600}, {"name": "b", "ttl": 60}, {"name": "c", "alias": {}}], 300)
    assert [r.get("ttl") for r in out] == [300, 60, None]
    assert cap_ttl([{"ttl": 3600}], 0) == [{"ttl": 3600}]
    # only at some names: the ones the switch moves, whose Hostinger TTL the dns_zone phase lowers in the same run
    sets = [{"name": "x.io.", "type": "A", "ttl": 3600}, {"name": "www.x.io.", "type": "CNAME", "ttl": 3600},
            {"name": "x.io.", "type": "MX", "ttl": 3600}, {"name": "mail.x.io.", "type": "A", "ttl": 3600}]
    out = cap_ttl(sets, 300, ["", "www"], "x.io")
    assert [r["ttl"] for r in out] == [300, 300, 3600, 3600]
    lines = zone_import_summary({"zone_id": "Z1", "nameservers": ["ns-1.awsdns-01.org"], "source": "api",
                                 "changes": [{"action": "CREATE", "name": "www.x.io.", "type": "CNAME"}],
                                 "unchanged": 3, "not_carried": [{"name": "x.io.", "type": "NS", "reason": "apex"}]},
                                "x.io")
    assert "ns-1.awsdns-01.org" in lines[1] and "1 written (CREATE 1), 3 already" in lines[2]
    assert lines[-1] == "Not carried over: x.io. NS - apex"
