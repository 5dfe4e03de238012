"""playbooks/cutover.yml against the sandbox and its DNS world (nsd + unbound following moto and the simulator):
it refuses the unsafe move (no confirmation, Route 53 answering differently) with nothing PUT at Hostinger, and
otherwise hands the domain over, waits for propagation, and the rollback puts it back."""

import json
import re
import time

from conftest import aws_client, module, playbook, post, route53


def puts(sandbox):
    """The PUTs the simulator saw since its reset: (kind, path) - 'nameservers' for the handoff, 'zone' for records."""
    return [("nameservers" if r["path"].endswith("/nameservers") else "zone", r["path"])
            for r in post(sandbox["hostinger_api_url"] + "/__sim/requests", method="GET") if r["method"] == "PUT"]


def ns_puts(sandbox):
    return [path for kind, path in puts(sandbox) if kind == "nameservers"]


def hostinger_zone(sandbox):
    return {(r["name"], r["type"]): r
            for r in post(sandbox["hostinger_api_url"] + "/__sim/state", method="GET")["directfanz.io"]["zone"]}


# The two tests on the whole launch come first (conftest's whole_launch, built once for this file and the two before it
# in its shard); the refusals after them start from an empty sandbox.

def test_a_plain_site_run_never_touches_the_name_servers(sandbox, whole_launch):
    # the launch's first run, and whatever the files before this one ran on it since (a second run, tagged runs, the
    # validate phase): no name-server PUT at Hostinger since the simulator's reset, no switch in the output - only
    # two zone PUTs of the first run: the dns_zone phase's lower TTLs on the names that move at the switch, and the
    # certificates phase's validation CNAMEs (where the domain resolves until the cutover); none after it
    assert whole_launch.rc == 0, whole_launch.out[-3000:]
    assert puts(sandbox) == [("zone", "/api/dns/v1/zones/directfanz.io")] * 2, puts(sandbox)
    zone = hostinger_zone(sandbox)
    assert zone[("@", "A")]["ttl"] == 300 and zone[("www", "CNAME")]["ttl"] == 300, zone
    assert zone[("@", "MX")]["ttl"] == 14400 and zone[("@", "TXT")]["ttl"] == 3600  # what does not move is left
    assert "TTL lowered at Hostinger ahead of the switch: www.directfanz.io. CNAME 3600 -> 300 s" in " ".join(
        whole_launch.out.split())
    assert "Switch the name servers" not in whole_launch.out
    # and what it wrote is every certificate's validation CNAME, with ACM's value
    acm = aws_client(sandbox, "acm")
    wanted = {(o["ResourceRecord"]["Name"].lower().rstrip(".") + ".", o["ResourceRecord"]["Value"].lower().rstrip("."))
              for c in acm.list_certificates()["CertificateSummaryList"]
              for o in acm.describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"][
                  "DomainValidationOptions"]}
    published = {("%s.directfanz.io." % r["name"], v["content"].lower().rstrip("."))
                 for r in zone.values() if r["type"] == "CNAME" for v in r["records"] if not v["is_disabled"]}
    assert wanted and wanted <= published, (wanted, published)


def test_the_whole_handoff_then_the_rollback(sandbox, whole_launch, tmp_path):
    fresh, backup = sandbox, tmp_path / "ns.json"
    # the launch lowered the TTLs of the names that move minutes ago, from an hour: too early - the cutover says
    # until when old answers may live and changes nothing
    early = playbook(fresh, "-e", "launch_nameserver_backup_file=%s" % backup, playbook_file="playbooks/cutover.yml")
    assert early.rc != 0 and "Too early to switch" in early.out, early.out[-4000:]
    assert "www.directfanz.io. CNAME 3600 -> 300 s at" in " ".join(early.out.split()), early.out[-4000:]
    assert ns_puts(fresh) == [] and not backup.exists()
    # the simulator's history dated back so that a minute and a half of the old TTL is left; allowed to wait, the
    # cutover waits out the rest, then switches. On the whole launch, apex, www and the subdomains are then aliases
    # to CloudFront and the load balancer, which the cutover does not compare with Hostinger (they move on purpose)
    # and names instead
    left = int(re.search(r"\(in (\d+) s\)", " ".join(early.out.split())).group(1))
    post(fresh["hostinger_api_url"] + "/__sim/age", {"seconds": left - 90})
    run = playbook(fresh, "-e", "launch_nameserver_backup_file=%s" % backup, "-e", "launch_cutover_ttl_wait=true",
                   playbook_file="playbooks/cutover.yml")
    assert run.rc == 0, run.out[-4000:]
    assert "Wait until the old TTLs have passed since they were lowered" in run.out and "Pausing for" in run.out
    assert "TTLs lowered for the switch: directfanz.io. A 3600 -> 300 s at" in " ".join(run.out.split())
    assert ("Routed by the launch, so not compared with Hostinger: api.directfanz.io., directfanz.io.,"
            " stream.directfanz.io., ws.directfanz.io., www.directfanz.io.") in " ".join(run.out.split()), run.out[-6000:]
    state = post(fresh["hostinger_api_url"] + "/__sim/state", method="GET")["directfanz.io"]["domain"]
    moved = sorted(state["name_servers"].values())
    assert moved == sorted(route53(fresh).get_hosted_zone(Id=route53(fresh).list_hosted_zones()["HostedZones"][0][
        "Id"])["DelegationSet"]["NameServers"])
    assert "Resolvers: resolver-1: new, resolver-2: new, resolver-3: new" in run.out
    # every resolver asked every second for the mail records, the apex and the subdomains while they moved: each
    # answer the old or the new zone's, none lost (the probe started before the switch and saw both)
    said = " ".join(run.out.split())
    probe = re.search(r"Continuity during the switch: (\d+) probes through 3 resolvers over [\d.]+ s \((\d+) questions, "
                      r"(\d+) rounds\): 0 lost", said)
    assert probe and int(probe.group(3)) >= 2 and int(probe.group(2)) >= 8, said[-4000:]
    assert json.loads(backup.read_text())["nameservers"] == ["ns1.dns-parking.com", "ns2.dns-parking.com"]
    # the lower TTLs and the certificates' records went to Hostinger before the name servers moved (the certificate
    # was issued through the DNS the world saw then): the zone PUTs come first in the simulator's log
    assert [kind for kind, path in puts(fresh)] == ["zone", "zone", "nameservers"], puts(fresh)
    again = playbook(fresh, "-e", "launch_nameserver_backup_file=%s" % backup, playbook_file="playbooks/cutover.yml")
    assert again.rc == 0 and again.changed == 0, again.out[-3000:]  # already moved: nothing to switch
    back = playbook(fresh, "-e", "launch_nameserver_backup_file=%s" % backup, "-e",
                    "launch_rollback_confirm=directfanz.io", playbook_file="playbooks/rollback_nameservers.yml")
    assert back.rc == 0, back.out
    state = post(fresh["hostinger_api_url"] + "/__sim/state", method="GET")["directfanz.io"]["domain"]
    assert state["name_servers"] == {"ns1": "ns1.dns-parking.com", "ns2": "ns2.dns-parking.com"}


def test_cutover_needs_the_confirmation(fresh):
    # on an account without the zone it says what to run first, and switches nothing
    none = playbook(fresh, playbook_file="playbooks/cutover.yml")
    assert none.rc != 0 and "There is no public Route 53 zone of directfanz.io with name servers to switch to" in \
        " ".join(none.out.split()), none.out[-3000:]
    assert ns_puts(fresh) == []
    assert playbook(fresh, "--tags", "preflight,dns_zone").rc == 0
    run = playbook(fresh, "-e", "launch_cutover_confirm=", playbook_file="playbooks/cutover.yml")
    assert run.rc != 0 and "-e launch_cutover_confirm=directfanz.io" in run.out
    wrong = playbook(fresh, "-e", "launch_cutover_confirm=example.com", playbook_file="playbooks/cutover.yml")
    assert wrong.rc != 0 and ns_puts(fresh) == []


def test_cutover_refuses_when_route53_would_answer_differently(fresh, tmp_path):
    assert playbook(fresh, "--tags", "preflight,dns_zone").rc == 0
    r53 = route53(fresh)
    zone_id = r53.list_hosted_zones()["HostedZones"][0]["Id"]
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT",
                                    "ResourceRecordSet": {"Name": "ftp.directfanz.io.", "Type": "A", "TTL": 300,
                                                          "ResourceRecords": [{"Value": "192.0.2.66"}]}}]})
    time.sleep(3)  # the DNS world serves moto's change within a couple of seconds
    run = playbook(fresh, "-e", "launch_nameserver_backup_file=%s" % (tmp_path / "ns.json"),
                   playbook_file="playbooks/cutover.yml")
    assert run.rc != 0, run.out
    assert "Route 53 would not answer like Hostinger does today" in run.out and "192.0.2.66" in run.out
    assert ns_puts(fresh) == [] and not (tmp_path / "ns.json").exists()


def test_cutover_refuses_when_the_zone_names_other_name_servers(fresh):
    assert playbook(fresh, "--tags", "preflight,dns_zone").rc == 0
    r53 = route53(fresh)
    zone_id = r53.list_hosted_zones()["HostedZones"][0]["Id"]
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT",
                                    "ResourceRecordSet": {"Name": "directfanz.io.", "Type": "NS", "TTL": 300,
                                                          "ResourceRecords": [{"Value": "ns1.elsewhere.net."},
                                                                              {"Value": "ns2.elsewhere.net."}]}}]})
    time.sleep(3)
    run = playbook(fresh, playbook_file="playbooks/cutover.yml")
    assert run.rc != 0 and "not the zone's delegation set" in run.out and "ns1.elsewhere.net" in run.out, run.out[-3000:]
    assert ns_puts(fresh) == []


def test_the_continuity_probe_counts_an_empty_answer_lost_and_a_silent_resolver_unanswered(fresh, tmp_path):
    # real nsd and unbound: the DNS world's resolvers answer the seed zone's MX as Hostinger's servers do; the TLD
    # server, asked as if it were a resolver, answers with a referral and no MX (what a resolver that lost the record
    # would say); a closed port never answers. Old and new servers are both Hostinger's here: no moto zone is needed.
    world = fresh["dns_world"]
    stop = tmp_path / "stop"
    stop.write_text("")  # one round, then stop
    resolvers = world["resolvers"] + [dict(world["parent_servers"][0], name="lost-it")] + [
        {"address": "127.0.0.1", "port": 9, "name": "silent"}]
    rc, out, result = module("dns_continuity", {
        "domain": "directfanz.io", "questions": [{"name": "@", "type": "MX"}],
        "old_nameservers": ["ns1.dns-parking.com", "ns2.dns-parking.com"],
        "new_nameservers": ["ns1.dns-parking.com", "ns2.dns-parking.com"],
        "resolvers": resolvers, "stop_file": str(stop), "query_timeout": 0.5})
    assert rc == 0, out[-3000:]
    assert result["rounds"] == 1 and result["probes"] == len(resolvers), result
    assert result["lost"] == 1 and result["unanswered"] == 1 and result["counts"]["new"] == len(world["resolvers"])
    assert [(a["resolver"], a["kind"]) for a in result["anomalies"]] == [("lost-it", "empty"), ("silent", "unanswered")]
    assert result["summary"].startswith("%d probes through %d resolvers" % (len(resolvers), len(resolvers)))
    assert "1 lost - lost-it directfanz.io. MX empty at" in result["summary"]
    assert result["changed"] is False
    # check mode asks the same (it only reads), and a second run reports no change either
    rc, out, again = module("dns_continuity", {
        "domain": "directfanz.io", "questions": [{"name": "@", "type": "MX"}],
        "old_nameservers": ["ns1.dns-parking.com", "ns2.dns-parking.com"],
        "new_nameservers": ["ns1.dns-parking.com", "ns2.dns-parking.com"],
        "resolvers": resolvers, "stop_file": str(stop), "query_timeout": 0.5}, "--check")
    assert rc == 0 and again["changed"] is False and again["lost"] == 1 and again["unanswered"] == 1, out[-2000:]
    # bad input: refused before any query, naming what is accepted
    rc, out, result = module("dns_continuity", {"domain": "directfanz.io", "questions": [{"name": "@", "type": "SOA"}],
                                                "old_nameservers": [], "new_nameservers": ["ns1.dns-parking.com"]})
    assert rc != 0 and "old_nameservers is empty" in out and "type must be one of A, AAAA" in out, out[-2000:]
    assert "nothing was asked" in out
    rc, out, result = module("dns_continuity", {"domain": "directfanz.io", "questions": [{"type": "MX"}],
                                                "old_nameservers": ["ns1.dns-parking.com"],
                                                "new_nameservers": ["ns1.dns-parking.com"], "resolvers": ["999.1.1.1"]})
    assert rc != 0 and "needs name and type" in out and "'999.1.1.1' is malformed" in out, out[-2000:]
