"""The pure part of hostinger_dns_records (module_utils/hostinger_zone.py) on plain data, and the simulator's zone
update and validate endpoints through the client (the module itself: tests/integration/test_hostinger_dns_records.py)."""

import json
import urllib.request

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import hostinger_zone as Z
from ansible_collections.directfanz.launch.plugins.module_utils.hostinger import HostingerClient, HostingerError
from ansible_collections.directfanz.launch.plugins.module_utils.records import RecordError
from conftest import SIM_DOMAIN, SIM_TOKEN

DOMAIN = SIM_DOMAIN
TOKEN = SIM_TOKEN
ZONE = [
    {"name": "@", "type": "A", "ttl": 3600, "records": [{"content": "203.0.113.10", "is_disabled": False}]},
    {"name": "www", "type": "CNAME", "ttl": 3600, "records": [{"content": "example.com.", "is_disabled": False}]},
    {"name": "s1._domainkey", "type": "TXT", "ttl": 3600,
     "records": [{"content": "v=DKIM1; p=abc", "is_disabled": False}]},
    {"name": "ftp", "type": "A", "ttl": 14400, "records": [{"content": "203.0.113.11", "is_disabled": True}]},
]


def wanted(*records):
    return Z.wanted_sets(list(records), DOMAIN)


def test_wanted_sets_are_canonical():
    [cname, mx] = wanted({"name": "_ACM1", "type": "cname", "ttl": 300, "values": ["_x.ACM-validations.aws"]},
                         {"name": "@", "type": "MX", "ttl": 600, "values": ["10 mx.example.com", "5 mx2.example.com."]})
    assert cname == {"name": "_acm1.example.com.", "type": "CNAME", "ttl": 300, "values": ["_x.acm-validations.aws."]}
    assert mx["name"] == "example.com." and mx["values"] == ["10 mx.example.com.", "5 mx2.example.com."]


def test_every_bad_input_is_named_at_once():
    with pytest.raises(RecordError) as err:
        wanted({"name": "@", "type": "NS", "ttl": 300, "values": ["ns1.example.net"]},
               {"name": "@", "type": "CNAME", "ttl": 300, "values": ["elsewhere.net"]},
               {"name": "a", "type": "A", "ttl": 30, "values": ["192.0.2.1"]},
               {"name": "b", "type": "A", "ttl": 300, "values": ["not-an-ip"]},
               {"name": "c", "type": "CNAME", "ttl": 300, "values": ["x.net", "y.net"]},
               {"name": "d", "type": "A", "ttl": 300, "values": []},
               {"name": "e", "type": "A", "ttl": 300, "values": ["192.0.2.1"], "priority": 1},
               {"name": "bad label!", "type": "A", "ttl": 300, "values": ["192.0.2.1"]},
               {"name": "f", "type": "A", "ttl": 300, "values": ["192.0.2.1"]},
               {"name": "F.example.com.", "type": "A", "ttl": 300, "values": ["192.0.2.2"]})
    text = str(err.value)
    for part in ("records[0]: type 'NS' is not written at Hostinger", "accepted types: A, AAAA, CNAME, MX, TXT, SRV, CAA",
                 "records[1] example.com.: a CNAME cannot stand at the zone apex",
                 "records[2] a.example.com. A: ttl 30 must be a whole number of seconds from 60 to 86400",
                 "records[3] b.example.com. A: A value 'not-an-ip' is not an IPv4 address",
                 "records[4] c.example.com. CNAME must have exactly one value, not 2",
                 "records[5] d.example.com. A: values must be a non-empty list",
                 "records[6]: unknown key(s) priority", "records[7]: name 'bad label!'",
                 "records[9] f.example.com. A: listed twice (also records[8])"):
        assert part in text, (part, text)


def test_plan_appends_what_is_missing_and_changes_only_ttls_otherwise():
    current = Z.current_sets(ZONE, DOMAIN)
    changes, problems = Z.plan(wanted(
        {"name": "@", "type": "A", "ttl": 300, "values": ["203.0.113.10"]},                  # TTL only
        {"name": "_acm", "type": "CNAME", "ttl": 300, "values": ["_v.acm-validations.aws."]},  # new
        {"name": "s1._domainkey", "type": "TXT", "ttl": 3600, "values": ['"v=DKIM1; p=abc"']},  # there, quoted
        {"name": "www", "type": "CNAME", "ttl": 3600, "values": ["example.com"]}), current)     # there
    assert problems == []
    assert [(c["name"], c["ttl_before"], c["ttl"], c["add"]) for c in changes] == [
        ("example.com.", 3600, 300, []), ("_acm.example.com.", None, 300, ["_v.acm-validations.aws."])]
    body = Z.request_body(changes, DOMAIN)
    assert body == {"overwrite": False, "zone": [
        {"name": "@", "type": "A", "ttl": 300, "records": [{"content": "203.0.113.10"}]},
        {"name": "_acm", "type": "CNAME", "ttl": 300, "records": [{"content": "_v.acm-validations.aws."}]}]}


def test_a_ttl_only_change_sends_the_values_as_hostinger_holds_them():
    current = Z.current_sets(ZONE, DOMAIN)
    changes, problems = Z.plan(wanted({"name": "s1._domainkey", "type": "TXT", "ttl": 300,
                                       "values": ["v=DKIM1; p=abc"]}), current)
    assert problems == [] and Z.request_body(changes, DOMAIN)["zone"][0]["records"] == [{"content": "v=DKIM1; p=abc"}]


def test_plan_refuses_what_it_would_have_to_replace_or_cannot_place():
    current = Z.current_sets(ZONE, DOMAIN)
    changes, problems = Z.plan(wanted(
        {"name": "www", "type": "CNAME", "ttl": 300, "values": ["other.example.net"]},
        {"name": "www", "type": "TXT", "ttl": 300, "values": ["hello"]},
        {"name": "@", "type": "AAAA", "ttl": 300, "values": ["2001:db8::1"]},
        {"name": "ftp", "type": "A", "ttl": 300, "values": ["203.0.113.11"]}), current)
    assert changes == [{"name": "example.com.", "type": "AAAA", "ttl_before": None, "ttl": 300,
                        "add": ["2001:db8::1"], "present": [], "present_as_held": []}]
    assert problems == [
        "www.example.com. CNAME points at example.com. at Hostinger, not other.example.net.; this module appends and"
        " never replaces - change or remove it in hPanel first",
        "www.example.com. is a CNAME at Hostinger; a TXT record cannot stand beside it",
        "ftp.example.com. A: 203.0.113.11 is in the zone but disabled; enable it in hPanel (the API cannot)"]
    # (a CNAME at the apex never gets this far - wanted_sets refuses it - so the set is given canonical here)
    apex_cname = [{"name": "example.com.", "type": "CNAME", "ttl": 300, "values": ["x.net."]}]
    changes, problems = Z.plan(apex_cname, current)
    assert changes == [] and problems == [
        "example.com. already has A records at Hostinger; a CNAME cannot stand beside them"]


def test_missing_after_names_what_the_read_back_lacks():
    want = wanted({"name": "@", "type": "A", "ttl": 300, "values": ["203.0.113.10", "203.0.113.12"]})
    assert Z.missing_after(want, Z.current_sets(ZONE, DOMAIN)) == [
        "example.com. A lacks 203.0.113.12"]
    fixed = [dict(ZONE[0], ttl=300, records=ZONE[0]["records"] + [{"content": "203.0.113.12"}])]
    assert Z.missing_after(want, Z.current_sets(fixed, DOMAIN)) == []
    assert Z.missing_after(want, Z.current_sets([dict(fixed[0], ttl=600)], DOMAIN)) == [
        "example.com. A has ttl 600, not 300"]


# -- the simulator's endpoints, through the client the module uses

def state(url):
    with urllib.request.urlopen(url + "/__sim/state", timeout=5) as r:
        return json.loads(r.read())[DOMAIN]


def test_the_simulator_validates_appends_without_overwrite_and_snapshots_before(sim):
    c = HostingerClient(sim, TOKEN, timeout=5, sleep=lambda s: None)
    before = state(sim)
    body = {"overwrite": False, "zone": [
        {"name": "@", "type": "A", "ttl": 300, "records": [{"content": "203.0.113.10"}, {"content": "203.0.113.99"}]},
        {"name": "_acm", "type": "CNAME", "ttl": 300, "records": [{"content": "_v.acm-validations.aws."}]}]}
    c.validate_zone(DOMAIN, body)
    assert state(sim)["zone"] == before["zone"]              # validate changes nothing
    c.update_zone(DOMAIN, body)
    after = {(r["name"], r["type"]): r for r in state(sim)["zone"]}
    apex = after[("@", "A")]
    assert apex["ttl"] == 300 and [r["content"] for r in apex["records"]] == ["203.0.113.10", "203.0.113.99"]
    assert after[("_acm", "CNAME")]["records"][0]["content"] == "_v.acm-validations.aws."
    assert len(after) == len(before["zone"]) + 1              # nothing else touched
    snaps = c.snapshots(DOMAIN)
    assert [s["id"] for s in snaps] == [1, 2]
    restored = state(sim)["snapshots"][-1]["snapshot"]
    assert restored == before["zone"]                         # the snapshot is the zone before the change


@pytest.mark.parametrize("record, key, message", [
    ({"name": "@", "type": "A", "ttl": 300, "records": [{"content": "not-an-ip"}]}, "zone.0.records.0.content",
     "valid IPv4"),
    ({"name": "@", "type": "MX", "ttl": 300, "records": [{"content": "mx.example.com"}]}, "zone.0.records.0.content",
     "a priority and a hostname"),
    ({"name": "@", "type": "A", "ttl": 10, "records": [{"content": "192.0.2.1"}]}, "zone.0.ttl", "at least 60"),
    ({"name": "www", "type": "TXT", "ttl": 300, "records": [{"content": "x"}]}, "zone.0.name",
     "A CNAME record cannot coexist"),
])
def test_the_simulator_refuses_a_bad_record_with_the_field_errors(sim, record, key, message):
    c = HostingerClient(sim, TOKEN, timeout=5, sleep=lambda s: None)
    before = state(sim)["zone"]
    for call in (c.validate_zone, c.update_zone):
        with pytest.raises(HostingerError) as err:
            call(DOMAIN, {"overwrite": False, "zone": [record]})
        assert err.value.status == 422 and key in err.value.errors and message in " ".join(err.value.errors[key])
    assert state(sim)["zone"] == before


# --- the TTLs ahead of the switch ----------------------------------------------------------------------------------

def record_sets(zone):
    from ansible_collections.directfanz.launch.plugins.module_utils.records import hostinger_record_sets
    return hostinger_record_sets(zone, DOMAIN + ".")


def test_the_switch_lowers_the_address_records_of_the_moving_names_only():
    zone = ZONE + [
        {"name": "@", "type": "ALIAS", "ttl": 1800,
         "records": [{"content": "example.com.cdn.hstgr.net", "is_disabled": False}]},
        {"name": "@", "type": "TXT", "ttl": 3600, "records": [{"content": "v=spf1 -all", "is_disabled": False}]},
        {"name": "api", "type": "A", "ttl": 300, "records": [{"content": "203.0.113.12", "is_disabled": False}]}]
    plan = Z.switch_ttl_plan(record_sets(zone), DOMAIN, ["", "www", "api", "ftp", "ws"], 300)
    assert plan["lower"] == [
        {"name": "example.com.", "type": "A", "ttl": 300, "values": ["203.0.113.10"]},
        {"name": "www.example.com.", "type": "CNAME", "ttl": 300, "values": ["example.com."]}]
    # the TXT at the apex keeps its TTL (it answers the same after the switch), api. is already low, ftp. only
    # disabled, ws. absent; the ALIAS is named with what to do
    assert [(x["name"], x["type"]) for x in plan["not_lowered"]] == [("example.com.", "ALIAS")]
    assert "lower its TTL to 300 in hPanel" in plan["not_lowered"][0]["reason"]
    # and the sets are what hostinger_dns_records takes: a TTL-only change on the values Hostinger holds
    changes, problems = Z.plan(Z.wanted_sets(plan["lower"], DOMAIN), Z.current_sets(zone, DOMAIN))
    assert problems == [] and [(c["ttl_before"], c["ttl"], c["add"]) for c in changes] == [(3600, 300, [])] * 2
    assert Z.names_in(["@", "WWW", "api.example.com", "ws.example.com."], DOMAIN) == {
        "example.com.", "www.example.com.", "api.example.com.", "ws.example.com."}


def snapshot_of(zone, **ttls):
    return [dict(r, ttl=ttls.get(r["name"], r["ttl"])) if r["type"] in ("A", "CNAME") else r for r in zone]


def history(zone, snapshots, now, depth=20):
    held = {s["id"]: s for s in snapshots}
    fetched = []

    def fetch(sid):
        fetched.append(sid)
        return held[sid]
    out = Z.ttl_history(record_sets(zone), [{k: s[k] for k in ("id", "created_at")} for s in snapshots], fetch,
                        DOMAIN, ["@", "www"], now, depth)
    return out, fetched


def test_the_history_says_when_the_ttls_were_lowered_and_until_when_old_answers_live():
    lowered = snapshot_of(ZONE, **{"@": 300, "www": 300})
    snapshots = [
        {"id": 1, "created_at": "2026-12-01T08:00:00Z", "snapshot": ZONE},                         # the first zone
        {"id": 2, "created_at": "2026-12-01T09:00:00Z", "snapshot": ZONE},                         # before the lowering
        {"id": 3, "created_at": "2026-12-01T09:30:00Z", "snapshot": lowered}]                      # an unrelated change
    nine_thirty = Z._epoch("2026-12-01T09:30:00Z")
    out, fetched = history(lowered, snapshots, nine_thirty)
    assert out["lowered"] == [
        {"name": "example.com.", "type": "A", "ttl": 300, "ttl_before": 3600, "lowered_at": "2026-12-01T09:00:00Z",
         "settled_at": "2026-12-01T10:00:00Z"},
        {"name": "www.example.com.", "type": "CNAME", "ttl": 300, "ttl_before": 3600,
         "lowered_at": "2026-12-01T09:00:00Z", "settled_at": "2026-12-01T10:00:00Z"}]
    assert out["settled_at"] == "2026-12-01T10:00:00Z" and out["settled_in"] == 1800 and out["unknown"] == []
    assert fetched == [3, 2] and out["examined"] == 2 and out["snapshots"] == 3   # newest first, stops when explained
    # an hour after the lowering: nothing to wait for
    assert history(lowered, snapshots, Z._epoch("2026-12-01T10:00:01Z"))[0]["settled_in"] == 0


def test_a_raised_or_new_or_never_changed_ttl_needs_no_wait():
    snapshots = [{"id": 1, "created_at": "2026-12-01T08:00:00Z", "snapshot": snapshot_of(ZONE, **{"@": 60})},
                 {"id": 2, "created_at": "2026-12-01T09:00:00Z", "snapshot": [r for r in ZONE if r["name"] != "www"]}]
    out, fetched = history(ZONE, snapshots, Z._epoch("2026-12-01T09:00:10Z"))
    # www. did not exist before the last change; the apex's TTL was raised from 60
    assert out["lowered"] == [] and out["settled_at"] is None and out["settled_in"] == 0 and fetched == [2, 1]
    out, fetched = history(ZONE, [{"id": 1, "created_at": "2026-12-01T08:00:00Z", "snapshot": ZONE}], 0)
    assert out["lowered"] == out["unknown"] == [] and out["settled_in"] == 0   # the whole history read: unchanged


def test_a_history_deeper_than_it_reads_is_bounded_by_a_day_and_said():
    snapshots = [{"id": i, "created_at": "2026-12-01T0%d:00:00Z" % i, "snapshot": ZONE} for i in range(1, 6)]
    out, fetched = history(ZONE, snapshots, Z._epoch("2026-12-01T05:00:00Z"), depth=2)
    assert fetched == [5, 4] and out["lowered"] == []
    assert {x["settled_at"] for x in out["unknown"]} == {"2026-12-02T04:00:00Z"}
    assert "older ones were not read (depth 2)" in out["unknown"][0]["reason"]
    assert out["settled_in"] == 23 * 3600


def test_the_simulator_dates_its_snapshots_earlier_on_request(sim):
    c = HostingerClient(sim, TOKEN, timeout=5, sleep=lambda s: None)
    c.update_zone(DOMAIN, {"overwrite": False, "zone": [
        {"name": "www", "type": "CNAME", "ttl": 300, "records": [{"content": "example.com."}]}]})
    before = {s["id"]: Z._epoch(s["created_at"]) for s in c.snapshots(DOMAIN)}
    req = urllib.request.Request(sim + "/__sim/age", data=json.dumps({"seconds": 3600}).encode(), method="POST")
    urllib.request.urlopen(req, timeout=5).close()
    after = {s["id"]: Z._epoch(s["created_at"]) for s in c.snapshots(DOMAIN)}
    assert {k: before[k] - after[k] for k in before} == {k: 3600 for k in before}
    # and the client reads one snapshot with the zone it held (the TTL before the change)
    held = c.snapshot(DOMAIN, max(after))
    assert [r["ttl"] for r in held["snapshot"] if r["name"] == "www"] == [3600]
