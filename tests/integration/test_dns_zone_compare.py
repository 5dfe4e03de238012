"""dns_zone_compare on real nsd (tests/dnslab): the old and the new zone differ only where the lab says."""

from conftest import module

from tests.dnslab.lab import NEW_APEX_A, OLD_APEX_A, DnsLab

DOMAIN = "directfanz.io"


def compare(lab, records, **extra):
    args = {"domain": DOMAIN, "records": records, "old_nameservers": lab.old_nameservers,
            "new_nameservers": lab.new_nameservers, "resolvers": lab.resolvers, "query_timeout": 1}
    args.update(extra)
    return module("dns_zone_compare", args)


def test_every_difference_is_named_and_ttls_reported(tmp_path):
    with DnsLab(tmp_path, domain=DOMAIN, resolvers=1, record_ttl=45) as lab:
        rc, out, result = compare(lab, [{"name": "@", "type": "A"}, {"name": "www", "type": "CNAME"},
                                        {"name": "@", "type": "MX"}, {"name": "@", "type": "ALIAS"}])
        assert rc == 0, out
        assert result["compared"] == 4  # A (listed once even though ALIAS asks it again), CNAME, MX, AAAA
        assert result["identical"] is False
        assert result["differences"] == [{"name": DOMAIN + ".", "type": "A", "old": [OLD_APEX_A], "new": [NEW_APEX_A]}]
        assert result["old_max_ttl"] == 45 and result["new_ns_ttl"] > 0
        rc, out, same = compare(lab, [{"name": "www", "type": "CNAME"}, {"name": "@", "type": "MX"}])
        assert same["identical"] is True and same["differences"] == []


def test_a_new_server_that_does_not_answer_stops_the_comparison(tmp_path):
    with DnsLab(tmp_path, domain=DOMAIN, resolvers=1) as lab:
        rc, out, result = compare(lab, [{"name": "@", "type": "A"}],
                                  nameserver_addresses={lab.new_nameservers[0]: "127.0.0.1:9"})
        assert rc != 0 and lab.new_nameservers[0] in result["unreachable"], out
