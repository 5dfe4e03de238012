"""site.yml --tags preflight,dns_zone against a real moto server and the Hostinger simulator, as a user
runs it: twice (changed=0 the second time), in check mode on a fresh sandbox, and the ways it breaks."""

import json

from conftest import playbook, post, record_sets, route53

TAGS = ["--tags", "preflight,dns_zone"]


def by_key(rrsets):
    return {(r["Name"], r["Type"]): r for r in rrsets}


def test_zone_is_built_then_a_second_run_changes_nothing(fresh):
    first = playbook(fresh, *TAGS)
    assert first.rc == 0, first.out
    assert first.changed >= 2 and first.failed == 0
    zone, rrsets = record_sets(fresh)
    zone_id = zone["Id"].split("/")[-1]
    got = by_key(rrsets)
    d = "directfanz.io."
    # everything the domain serves today, carried over (TTLs capped at 300 by the inventory)
    assert [v["Value"] for v in got[(d, "A")]["ResourceRecords"]] == ["203.0.113.10"]
    assert got[(d, "A")]["TTL"] == 300
    mx = sorted(v["Value"] for v in got[(d, "MX")]["ResourceRecords"])
    assert mx == ["10 mx2.hostinger.com.", "5 mx1.hostinger.com."]
    assert got[("www." + d, "CNAME")]["ResourceRecords"] == [{"Value": "directfanz.io."}]
    assert ("_dmarc." + d, "TXT") in got and ("_autodiscover._tcp." + d, "SRV") in got
    assert len(got[(d, "CAA")]["ResourceRecords"]) == 4
    # the DKIM key (over 255 characters) was split into quoted strings
    dkim = got[("s1._domainkey." + d, "TXT")]["ResourceRecords"][0]["Value"]
    assert dkim.startswith('"v=DKIM1; k=rsa; p=') and '" "' in dkim
    # the apex ALIAS: AAAA flattened in; its A answers not merged over the explicit A
    assert got[(d, "AAAA")]["ResourceRecords"] == [{"Value": "2001:db8:113::20"}]
    assert "was flattened to AAAA" in first.out and "were not merged" in first.out
    # not carried: apex NS/SOA stay Route 53's own; the disabled record is listed, not imported
    assert "ns-2048.awsdns-64.com" in got[(d, "NS")]["ResourceRecords"][0]["Value"]
    assert ("status." + d, "CNAME") not in got and "status.directfanz.io. CNAME - disabled" in first.out
    # the canary exists, unique to this zone
    assert got[("_launch-canary." + d, "TXT")]["ResourceRecords"] == [{"Value": '"launch-canary=%s"' % zone_id}]
    # the four delegation-set name servers are reported
    for ns in route53(fresh).get_hosted_zone(Id=zone_id)["DelegationSet"]["NameServers"]:
        assert ns in first.out

    # ahead of the switch, the names that move (apex, www; api/ws/stream are not at Hostinger) lowered there to the
    # cutover TTL in one PUT, the ALIAS named instead (the API module does not write Hostinger's ALIAS)
    held = {(r["name"], r["type"]): r["ttl"]
            for r in post(fresh["hostinger_api_url"] + "/__sim/state", method="GET")["directfanz.io"]["zone"]}
    assert held[("@", "A")] == 300 and held[("www", "CNAME")] == 300 and held[("@", "MX")] == 14400, held
    out = " ".join(first.out.split())
    assert "TTL lowered at Hostinger ahead of the switch: directfanz.io. A 3600 -> 300 s" in out
    assert "TTL lowered at Hostinger ahead of the switch: www.directfanz.io. CNAME 3600 -> 300 s" in out
    puts = [r["path"] for r in post(fresh["hostinger_api_url"] + "/__sim/requests", method="GET") if r["method"] == "PUT"]
    assert puts == ["/api/dns/v1/zones/directfanz.io"]

    second = playbook(fresh, *TAGS)
    assert second.rc == 0, second.out
    assert second.changed == 0, second.out
    assert "0 written (none), 15 already in place" in second.out
    assert by_key(record_sets(fresh)[1]) == got
    again = [r["path"] for r in post(fresh["hostinger_api_url"] + "/__sim/requests", method="GET") if r["method"] == "PUT"]
    assert again == puts  # nothing more written at Hostinger


def test_check_mode_on_a_fresh_sandbox_creates_nothing(fresh):
    run = playbook(fresh, *TAGS, "--check", "--diff")
    assert run.rc == 0, run.out
    assert run.changed >= 2
    assert "CREATE www.directfanz.io. CNAME" in run.out  # reports what it would do
    assert route53(fresh).list_hosted_zones()["HostedZones"] == []
    # the TTL lowering at Hostinger is asked about (validate), never made
    calls = [(r["method"], r["path"]) for r in post(fresh["hostinger_api_url"] + "/__sim/requests", method="GET")]
    assert ("POST", "/api/dns/v1/zones/directfanz.io/validate") in calls and [c for c in calls if c[0] == "PUT"] == []


def test_check_mode_on_a_built_zone_reports_a_change_without_making_it(fresh):
    assert playbook(fresh, *TAGS).rc == 0
    before = record_sets(fresh)[1]
    zone = json.loads(json.dumps(post(fresh["hostinger_api_url"] + "/__sim/state", method="GET")))
    records = zone["directfanz.io"]["zone"]
    next(r for r in records if r["name"] == "ftp")["records"][0]["content"] = "203.0.113.99"
    post(fresh["hostinger_api_url"] + "/__sim/zone", {"zone": records}, method="PUT")
    run = playbook(fresh, *TAGS, "--check", "--diff")
    assert run.rc == 0 and run.changed == 1, run.out
    assert "-ftp.directfanz.io. A 300 203.0.113.10" in run.out and "+ftp.directfanz.io. A 300 203.0.113.99" in run.out
    assert record_sets(fresh)[1] == before
    applied = playbook(fresh, *TAGS)
    assert applied.rc == 0 and "UPSERT ftp.directfanz.io. A" in applied.out


def test_secrets_never_show_at_vvv(fresh):
    run = playbook(fresh, *TAGS, "-vvv")
    assert run.rc == 0, run.out[-3000:]
    assert fresh["hostinger_api_token"] not in run.out
    assert fresh["aws_secret_key"] not in run.out


def test_records_file_instead_of_the_api(fresh, tmp_path):
    zone_file = tmp_path / "directfanz.io.zone"
    zone_file.write_text("$TTL 600\n@ IN SOA ns1.example.net. hostmaster.example.net. 1 2 3 4 5\n"
                         "@ IN NS ns1.example.net.\n@ IN A 198.51.100.7\nwww IN CNAME @\n"
                         '@ IN TXT "v=spf1 -all"\n')
    run = playbook(fresh, *TAGS, "-e", "launch_hostinger_api_token=''", "-e",
                   "route53_zone_records_file=%s" % zone_file)
    assert run.rc == 0, run.out
    got = by_key(record_sets(fresh)[1])
    assert got[("directfanz.io.", "A")]["ResourceRecords"] == [{"Value": "198.51.100.7"}]
    assert got[("www.directfanz.io.", "CNAME")]["ResourceRecords"] == [{"Value": "directfanz.io."}]
    requests = post(fresh["hostinger_api_url"] + "/__sim/requests", method="GET")
    assert requests == [], "the records file run must not call the Hostinger API"


def fails_before_aws(fresh, run, message):
    assert run.rc != 0, run.out
    assert message in run.out, run.out[-4000:]
    assert route53(fresh).list_hosted_zones()["HostedZones"] == []


def test_invalid_domain_is_refused_before_any_call(fresh):
    run = playbook(fresh, *TAGS, "-e", "launch_domain=bad_domain.io")
    fails_before_aws(fresh, run, "label 'bad_domain' is not valid")
    assert post(fresh["hostinger_api_url"] + "/__sim/requests", method="GET") == []


def test_unknown_record_type_stops_with_nothing_written(fresh):
    post(fresh["hostinger_api_url"] + "/__sim/zone", {"zone": [
        {"name": "@", "type": "A", "ttl": 60, "records": [{"content": "192.0.2.1"}]},
        {"name": "geo", "type": "LOC", "ttl": 60, "records": [{"content": "52 22 23 N 4 53 32 E -2m"}]}]},
        method="PUT")
    fails_before_aws(fresh, playbook(fresh, *TAGS), "type 'LOC', which this collection does not know")


def test_record_over_route53_limits_stops_with_nothing_written(fresh):
    post(fresh["hostinger_api_url"] + "/__sim/zone", {"zone": [
        {"name": "big", "type": "TXT", "ttl": 60, "records": [{"content": "k" * 4100}]}]}, method="PUT")
    fails_before_aws(fresh, playbook(fresh, *TAGS), "over Route 53's 4000-character limit")


def fault(fresh, **kw):
    post(fresh["hostinger_api_url"] + "/__sim/faults", dict({"match": "/api/dns/v1/zones/", "method": "GET"}, **kw))


def test_hostinger_401(fresh):
    fault(fresh, status=401)
    fails_before_aws(fresh, playbook(fresh, *TAGS), "Hostinger rejected the API token")


def test_hostinger_429_is_waited_out_within_the_bound(fresh):
    fault(fresh, status=429, retry_after=1, times=2)
    run = playbook(fresh, *TAGS)
    assert run.rc == 0, run.out


def test_hostinger_429_beyond_the_bound_fails_naming_the_wait(fresh):
    fault(fresh, status=429, retry_after=3600)
    fails_before_aws(fresh, playbook(fresh, *TAGS), "asks to wait 3600 s, more than rate_limit_max_wait")


def test_hostinger_5xx_is_retried_then_fails(fresh):
    fault(fresh, status=502, times=20)
    run = playbook(fresh, *TAGS, env={"ANSIBLE_TIMEOUT": "30"})
    fails_before_aws(fresh, run, "after 5 attempts (last: HTTP 502")
    assert fault is not None


def test_moto_unreachable_is_a_clear_failure(fresh):
    run = playbook(fresh, *TAGS, "-e", "launch_aws_endpoint_url=http://127.0.0.1:9")
    assert run.rc != 0
    assert "Could not verify the AWS credentials with STS" in run.out
    assert "Could not connect to the endpoint URL" in run.out


def test_sandbox_refuses_a_non_loopback_endpoint_before_any_call(fresh):
    run = playbook(fresh, *TAGS, "-e", "launch_aws_endpoint_url=https://sts.amazonaws.com")
    assert run.rc != 0 and "is not on loopback" in run.out, run.out[-3000:]


def test_production_refuses_endpoint_overrides_before_any_call(fresh):
    # AWS_ENDPOINT_URL points at moto, so even a wrong refusal could not reach AWS.
    run = playbook(fresh, *TAGS, inventory="inventories/production",
                   env={"AWS_ENDPOINT_URL": fresh["aws_endpoint_url"], "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"})
    assert run.rc != 0
    assert "AWS_ENDPOINT_URL=%s is set in the environment" % fresh["aws_endpoint_url"] in run.out
    assert "Could not verify" not in run.out  # refused before STS


def test_wrong_account_is_refused(fresh):
    run = playbook(fresh, *TAGS, "-e", "launch_aws_account_id=210987654321")
    assert run.rc != 0 and "belong to account 123456789012, not 210987654321" in run.out
    assert route53(fresh).list_hosted_zones()["HostedZones"] == []
