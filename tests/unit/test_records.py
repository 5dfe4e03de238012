"""The record rules: canonical values, Hostinger import planning, ALIAS flattening, change planning, quotas."""

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import records as R

ZONE = "example.com"


def rec(name, rtype, ttl, *values):
    return R.normalize_record({"name": name, "type": rtype, "ttl": ttl, "values": list(values)}, ZONE)


def test_names_are_absolute_lowercase_and_decode_route53_escapes():
    assert R.fqdn("@", ZONE) == "example.com."
    assert R.fqdn("WWW", ZONE) == "www.example.com."
    assert R.fqdn("www.example.com", ZONE) == "www.example.com."
    assert R.fqdn("\\052.example.com.", ZONE) == "*.example.com."


@pytest.mark.parametrize("rtype,value,canon", [
    ("A", " 192.0.2.1 ", "192.0.2.1"),
    ("AAAA", "2001:0db8:0000::0001", "2001:db8::1"),
    ("CNAME", "Target.Example.NET", "target.example.net."),
    ("MX", "10   mx1.example.net", "10 mx1.example.net."),
    ("SRV", "0 5 443 sip.example.net.", "0 5 443 sip.example.net."),
    ("CAA", "0 ISSUE amazon.com", '0 issue "amazon.com"'),
    ("TXT", "v=spf1 -all", '"v=spf1 -all"'),
    ("TXT", '"a" "b"', '"a" "b"'),
    ("TXT", 'say "hi"', '"say \\"hi\\""'),
])
def test_values_are_canonical(rtype, value, canon):
    assert R.normalize_value(rtype, value, ZONE) == canon


def test_long_txt_is_split_into_255_character_strings():
    key = "p=" + "A" * 600
    strings = R.parse_txt(R.format_txt(key))
    assert [len(s) for s in strings] == [255, 255, 92]
    assert "".join(strings) == key


@pytest.mark.parametrize("record,message", [
    ({"name": "x", "type": "FOO", "ttl": 60, "values": ["1"]}, "accepted types"),
    ({"name": "x", "type": "A", "ttl": 60, "values": ["300.1.1.1"]}, "not an IPv4 address"),
    ({"name": "x", "type": "A", "ttl": -1, "values": ["192.0.2.1"]}, "ttl"),
    ({"name": "x.other.org.", "type": "A", "ttl": 60, "values": ["192.0.2.1"]}, "not inside the zone"),
    ({"name": "a.*", "type": "A", "ttl": 60, "values": ["192.0.2.1"]}, "leftmost"),
    ({"name": "@", "type": "CNAME", "ttl": 60, "values": ["x.net"]}, "apex"),
    ({"name": "x", "type": "TXT", "ttl": 60, "values": ["v%d" % i for i in range(401)]}, "at most 400"),
    ({"name": "x", "type": "TXT", "ttl": 60, "values": ["a" * 4000]}, "4000-character limit"),
    ({"name": "x", "type": "MX", "ttl": 60, "values": ["mx.example.net"]}, "2 fields"),
])
def test_bad_records_say_what_is_wrong(record, message):
    with pytest.raises(R.RecordError, match=message):
        R.normalize_record(record, ZONE)


def hostinger_zone():
    return [
        {"name": "@", "type": "A", "ttl": 3600, "records": [{"content": "192.0.2.10"}]},
        {"name": "@", "type": "NS", "ttl": 86400, "records": [{"content": "ns1.dns-parking.com"}]},
        {"name": "@", "type": "SOA", "ttl": 3600, "records": [{"content": "ns1. dns. 1 2 3 4 5"}]},
        {"name": "@", "type": "ALIAS", "ttl": 300, "records": [{"content": "cdn.example.net"}]},
        {"name": "www", "type": "CNAME", "ttl": 300, "records": [{"content": "example.com."}]},
        {"name": "old", "type": "CNAME", "ttl": 300, "records": [{"content": "x.net.", "is_disabled": True}]},
        {"name": "sub", "type": "NS", "ttl": 300, "records": [{"content": "ns.sub-host.net"}]},
    ]


def test_import_plan_skips_apex_ns_soa_and_disabled_and_lists_them():
    sets = R.hostinger_record_sets(hostinger_zone(), ZONE)
    importable, aliases, not_carried = R.plan_import(sets, ZONE)
    assert sorted(R.key(r) for r in importable) == [
        ("example.com.", "A"), ("sub.example.com.", "NS"), ("www.example.com.", "CNAME")]
    assert [a["name"] for a in aliases] == ["example.com."]
    reasons = {(n["name"], n["type"]): n["reason"] for n in not_carried}
    assert set(reasons) == {("example.com.", "NS"), ("example.com.", "SOA"), ("old.example.com.", "CNAME")}
    assert "disabled" in reasons[("old.example.com.", "CNAME")]


def test_a_served_record_route53_cannot_hold_stops_the_import():
    zone = [{"name": "big", "type": "TXT", "ttl": 60, "records": [{"content": "x" * 4001}]}]
    with pytest.raises(R.RecordError, match="big.example.com. TXT cannot be carried .*4000-character"):
        R.plan_import(R.hostinger_record_sets(zone, ZONE), ZONE)


def test_unknown_hostinger_type_is_refused_with_the_known_types():
    with pytest.raises(R.RecordError, match="known types: A, AAAA"):
        R.hostinger_record_sets([{"name": "@", "type": "LOC", "ttl": 1, "records": []}], ZONE)


def test_alias_flattening_explicit_records_win_and_failures_are_listed():
    sets = R.hostinger_record_sets(hostinger_zone(), ZONE)
    importable, aliases = R.plan_import(sets, ZONE)[:2]
    answers = {"cdn.example.net.": {"A": ["192.0.2.20"], "AAAA": ["2001:db8::20"]}}
    extra, not_carried, warnings = R.flatten_aliases(aliases, answers, importable)
    assert [R.key(r) for r in extra] == [("example.com.", "AAAA")]
    assert "explicit A record set" in not_carried[0]["reason"]
    assert len(warnings) == 1 and "flattened" in warnings[0]
    extra, not_carried = R.flatten_aliases(aliases, {"cdn.example.net.": {"error": "A: NXDOMAIN"}}, [])[:2]
    assert extra == [] and "did not resolve" in not_carried[0]["reason"]


def test_plan_changes_creates_upserts_and_leaves_equal_sets_alone():
    existing = [R.from_rrset({"Name": "www.example.com.", "Type": "CNAME", "TTL": 300,
                              "ResourceRecords": [{"Value": "example.com."}]}, ZONE),
                R.from_rrset({"Name": "example.com.", "Type": "TXT", "TTL": 300,
                              "ResourceRecords": [{"Value": '"b"'}, {"Value": '"a"'}]}, ZONE)]
    desired = [rec("www", "CNAME", 300, "EXAMPLE.com"), rec("@", "TXT", 300, "a", "b"), rec("@", "A", 60, "192.0.2.1"),
               rec("api", "A", 60, "192.0.2.2")]
    changes, unchanged = R.plan_changes(desired, existing)
    assert sorted((c["action"], c["record"]["name"]) for c in changes) == [
        ("CREATE", "api.example.com."), ("CREATE", "example.com.")]
    assert len(unchanged) == 2
    changed = [rec("www", "CNAME", 60, "example.com.")]
    changes = R.plan_changes(changed, existing)[0]
    assert [c["action"] for c in changes] == ["UPSERT"]
    changes = R.plan_changes(changed, existing, state="absent")[0]
    assert changes[0]["action"] == "DELETE" and changes[0]["record"]["ttl"] == 300  # deletes what exists


def test_cname_beside_other_data_is_refused_before_any_call():
    existing = [R.from_rrset({"Name": "x.example.com.", "Type": "A", "TTL": 60,
                              "ResourceRecords": [{"Value": "192.0.2.1"}]}, ZONE)]
    with pytest.raises(R.RecordError, match="CNAME must be alone"):
        R.plan_changes([rec("x", "CNAME", 60, "y.example.net")], existing)


def test_routing_policy_sets_are_not_replaced():
    existing = [R.from_rrset({"Name": "x.example.com.", "Type": "A", "TTL": 60, "SetIdentifier": "blue",
                              "Weight": 1, "ResourceRecords": [{"Value": "192.0.2.1"}]}, ZONE)]
    with pytest.raises(R.RecordError, match="routing policy"):
        R.plan_changes([rec("x", "A", 60, "192.0.2.9")], existing)


def test_batches_respect_record_and_character_quotas_with_upsert_counted_twice():
    changes = [{"action": "CREATE", "record": rec("h%d" % i, "A", 60, "192.0.2.%d" % (i % 250 + 1))}
               for i in range(1500)]
    batches = R.split_batches(changes)
    assert [len(b) for b in batches] == [1000, 500]
    upserts = [dict(c, action="UPSERT") for c in changes[:600]]
    assert [len(b) for b in R.split_batches(upserts)] == [500, 100]
    big = [{"action": "CREATE", "record": rec("t%d" % i, "TXT", 60, "x" * 3000)} for i in range(12)]
    assert all(sum(len(v) for c in b for v in c["record"]["values"]) <= 32000 for b in R.split_batches(big))
    assert len(R.split_batches(big)) == 2
    with pytest.raises(R.RecordError, match="alone is over"):
        R.split_batches([{"action": "UPSERT", "record": rec("t", "TXT", 60, *["v%03d" % i for i in range(400)])}],
                        max_records=500)


def test_deletes_go_first():
    changes = [{"action": "CREATE", "record": rec("a", "A", 60, "192.0.2.1")},
               {"action": "DELETE", "record": rec("b", "A", 60, "192.0.2.1")}]
    assert [c["action"] for c in R.split_batches(changes)[0]] == ["DELETE", "CREATE"]


def _alias(name, rtype):
    return {"name": name, "type": rtype, "alias": {"hosted_zone_id": "Z2FDTNDATAQYW2", "dns_name": "d1.cloudfront.net.",
                                                   "evaluate_target_health": False}}


def test_an_import_leaves_names_the_launch_routed_alone():
    existing = [_alias("example.com.", "A"), _alias("www.example.com.", "AAAA")]
    imported = [{"name": "example.com.", "type": "A", "ttl": 300, "values": ["203.0.113.10"]},
                {"name": "example.com.", "type": "MX", "ttl": 300, "values": ["10 mx.example.com."]},
                {"name": "www.example.com.", "type": "CNAME", "ttl": 300, "values": ["example.com."]}]
    kept, left_out = R.keep_aliases(imported, existing)
    assert [r["type"] for r in kept] == ["MX"]
    assert [(r["name"], r["type"]) for r in left_out] == [("example.com.", "A"), ("www.example.com.", "CNAME")]


def test_a_cname_gives_way_to_aliases_in_the_same_change_only_when_asked():
    existing = [{"name": "www.example.com.", "type": "CNAME", "ttl": 300, "values": ["example.com."]}]
    wanted = [_alias("www.example.com.", "A"), _alias("www.example.com.", "AAAA")]
    with pytest.raises(R.RecordError, match="CNAME must be alone"):
        R.plan_changes(wanted, existing)
    changes, unchanged = R.plan_changes(wanted, existing, displace=True)
    planned = [(c["action"], c["record"]["type"]) for c in changes]
    assert planned == [("DELETE", "CNAME"), ("CREATE", "A"), ("CREATE", "AAAA")]
    # one request, deletions first
    batches = R.split_batches(changes)
    assert len(batches) == 1 and batches[0][0]["action"] == "DELETE"
