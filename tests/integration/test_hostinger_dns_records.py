"""hostinger_dns_records against the Hostinger simulator over HTTP, as the launch will use it: check mode validates
and never PUTs, one PUT then nothing to do, only the asked-for sets change, bad input is refused before any request,
the API's 422 is shown with its field errors, 429 and 5xx are retried, the token never shows - and the DNS world's
"old Hostinger" servers answer what the change wrote."""

import json
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import pytest
from conftest import module, post

DOMAIN = "directfanz.io"
ACM = {"name": "_3f1c0a9e.%s." % DOMAIN, "type": "CNAME", "ttl": 300,
       "values": ["_9b2e77d1.xlfgrmvvlj.acm-validations.aws."]}
LOWER = [{"name": "@", "type": "A", "ttl": 300, "values": ["203.0.113.10"]},
         {"name": "www", "type": "CNAME", "ttl": 300, "values": [DOMAIN + "."]}]


def run(sandbox, records, *flags, **args):
    params = dict({"domain": DOMAIN, "api_url": sandbox["hostinger_api_url"],
                   "api_token": sandbox["hostinger_api_token"], "records": records, "retries": 3}, **args)
    return module("hostinger_dns_records", params, *flags)


def requests(sandbox):
    return [(r["method"], r["path"].rsplit("/", 1)[-1] if r["path"].endswith("validate") else r["path"])
            for r in post(sandbox["hostinger_api_url"] + "/__sim/requests", method="GET")]


def writes(sandbox):
    return [r for r in requests(sandbox) if r[0] == "PUT"]


def zone(sandbox):
    return {(r["name"], r["type"]): r for r in post(sandbox["hostinger_api_url"] + "/__sim/state",
                                                    method="GET")[DOMAIN]["zone"]}


def fault(sandbox, **body):
    post(sandbox["hostinger_api_url"] + "/__sim/faults", body)


def test_check_mode_validates_and_never_puts(fresh):
    rc, out, result = run(fresh, [ACM] + LOWER, "--check", "--diff")
    assert rc == 0 and result["changed"] is True and result["validated"] is True, out[-3000:]
    assert [(c["name"], c["ttl_before"], c["ttl"], c["add"]) for c in result["changes"]] == [
        (ACM["name"], None, 300, ACM["values"]), (DOMAIN + ".", 3600, 300, []), ("www.%s." % DOMAIN, 3600, 300, [])]
    assert ACM["name"] not in result["diff"]["before"] and ACM["values"][0] in result["diff"]["after"]
    assert writes(fresh) == [] and ("POST", "validate") in requests(fresh)
    assert ("_3f1c0a9e", "CNAME") not in zone(fresh) and zone(fresh)[("@", "A")]["ttl"] == 3600


def test_one_put_only_the_asked_sets_change_then_nothing_to_do(fresh):
    before = zone(fresh)
    rc, out, result = run(fresh, [ACM] + LOWER, "--diff")
    assert rc == 0 and result["changed"] is True and result["snapshot_before"] == 1, out[-3000:]
    assert requests(fresh) == [("GET", "/api/dns/v1/zones/%s" % DOMAIN), ("POST", "validate"),
                               ("GET", "/api/dns/v1/snapshots/%s" % DOMAIN), ("PUT", "/api/dns/v1/zones/%s" % DOMAIN),
                               ("GET", "/api/dns/v1/zones/%s" % DOMAIN)]
    after = zone(fresh)
    assert after[("_3f1c0a9e", "CNAME")]["records"] == [{"content": ACM["values"][0], "is_disabled": False}]
    assert after[("@", "A")]["ttl"] == after[("www", "CNAME")]["ttl"] == 300
    assert after[("@", "A")]["records"] == before[("@", "A")]["records"]   # a TTL change appends nothing
    untouched = {k: v for k, v in after.items() if k not in (("_3f1c0a9e", "CNAME"), ("@", "A"), ("www", "CNAME"))}
    assert untouched == {k: v for k, v in before.items() if k not in (("@", "A"), ("www", "CNAME"))}
    # Hostinger's snapshot of the zone before the change, for an undo
    state = post(fresh["hostinger_api_url"] + "/__sim/state", method="GET")[DOMAIN]
    assert {(r["name"], r["type"]): r for r in state["snapshots"][-1]["snapshot"]} == before
    post(fresh["hostinger_api_url"] + "/__sim/requests", method="DELETE")
    # the same sets written differently (case, dots, relative vs absolute names): nothing to do, no write
    same = [dict(ACM, name="_3F1C0A9E", values=[ACM["values"][0].upper().rstrip(".")]),
            dict(LOWER[0], name=DOMAIN + "."), dict(LOWER[1], values=[DOMAIN])]
    rc, out, result = run(fresh, same)
    assert rc == 0 and result["changed"] is False and result["changes"] == [], out[-3000:]
    assert requests(fresh) == [("GET", "/api/dns/v1/zones/%s" % DOMAIN)]


def test_the_old_hostinger_servers_answer_what_was_written(fresh):
    assert run(fresh, [ACM])[0] == 0
    world = json.loads(Path(fresh["dns_world"]["state_file"]).read_text())
    server = sorted(world["old_servers"].values())[0]
    deadline, answer = time.monotonic() + 30, []
    while time.monotonic() < deadline:
        try:
            reply = dns.query.udp(dns.message.make_query(ACM["name"], "CNAME"), server, timeout=2)
        except dns.exception.Timeout:  # nsd reloading the new zone on a loaded machine: ask again
            continue
        answer = [r.to_text() for rrset in reply.answer for r in rrset]
        if answer:
            break
        time.sleep(0.5)
    assert answer == ACM["values"], answer


@pytest.mark.parametrize("records, message", [
    ([dict(ACM, type="NS")], "type 'NS' is not written at Hostinger by this module; accepted types: A, AAAA, CNAME"),
    ([dict(ACM, ttl=5)], "ttl 5 must be a whole number of seconds from 60 to 86400"),
    ([dict(ACM, values=["a.example.net", "b.example.net"])], "CNAME must have exactly one value, not 2"),
    ([{"name": "@", "type": "A", "ttl": 300, "values": ["256.1.1.1"]}], "A value '256.1.1.1' is not an IPv4 address"),
    ([ACM, dict(ACM, name="_3F1C0A9E")], "listed twice (also records[0])"),
    ([], "records is empty"),
])
def test_bad_input_is_refused_before_any_request(fresh, records, message):
    rc, out, result = run(fresh, records)
    assert rc != 0 and message in out and "Nothing was sent to Hostinger" in out, out[-2000:]
    assert requests(fresh) == []


def test_a_cname_that_points_elsewhere_is_refused_after_the_read_and_before_any_write(fresh):
    rc, out, result = run(fresh, [{"name": "www", "type": "CNAME", "ttl": 300, "values": ["elsewhere.example.net"]}])
    assert rc != 0 and "this module appends and never replaces" in out and "Nothing was changed" in out, out[-2000:]
    assert requests(fresh) == [("GET", "/api/dns/v1/zones/%s" % DOMAIN)]


def test_the_apis_422_is_shown_with_its_field_errors_and_nothing_is_written(fresh):
    fault(fresh, match="/validate$", method="POST", status=422,
          errors={"zone.0.records.0.content": ["The content must be a valid hostname."]})
    rc, out, result = run(fresh, [ACM])
    assert rc != 0 and "422" in out and "zone.0.records.0.content: The content must be a valid hostname." in out
    assert writes(fresh) == []


def test_429_and_5xx_are_retried_and_the_token_never_shows(fresh):
    fault(fresh, match="/api/dns/v1/zones/%s$" % DOMAIN, method="PUT", status=429, retry_after=1)
    fault(fresh, match="/api/dns/v1/zones/%s$" % DOMAIN, method="PUT", status=503, times=1)
    rc, out, result = run(fresh, [ACM], "-vvv")
    assert rc == 0 and result["changed"] is True, out[-3000:]
    assert [r for r in post(fresh["hostinger_api_url"] + "/__sim/requests", method="GET")
            if r["method"] == "PUT"] and [s for m, s in writes(fresh)] == ["/api/dns/v1/zones/%s" % DOMAIN] * 3
    assert fresh["hostinger_api_token"] not in out


def test_5xx_that_never_ends_fails_naming_the_attempts_and_writes_nothing(fresh):
    fault(fresh, match="/validate$", method="POST", status=500, times=10)
    rc, out, result = run(fresh, [ACM], retries=2)
    assert rc != 0 and "after 3 attempts" in out and "HTTP 500" in out, out[-2000:]
    assert writes(fresh) == []
