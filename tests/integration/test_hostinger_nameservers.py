"""hostinger_nameservers against the Hostinger simulator over HTTP: check mode never PUTs, the change
writes a backup first, a second run changes nothing, and every refusal happens before any PUT."""

import json
import stat

import pytest
from conftest import CLOSED, module, post

ROUTE53 = ["ns-2048.awsdns-64.com", "ns-2049.awsdns-65.net", "ns-2050.awsdns-66.org", "ns-2051.awsdns-67.co.uk"]


def run(sandbox, *flags, **args):
    params = dict({"domain": "directfanz.io", "api_url": sandbox["hostinger_api_url"],
                   "api_token": sandbox["hostinger_api_token"], "nameservers": ROUTE53}, **args)
    return module("hostinger_nameservers", params, *flags)


def puts(sandbox):
    return [r for r in post(sandbox["hostinger_api_url"] + "/__sim/requests", method="GET") if r["method"] == "PUT"]


def current(sandbox):
    return post(sandbox["hostinger_api_url"] + "/__sim/state", method="GET")["directfanz.io"]["domain"]["name_servers"]


def test_check_mode_reports_and_never_puts(fresh):
    rc, out, result = run(fresh, "--check", "--diff")
    assert rc == 0 and result["changed"] is True, out
    assert result["previous_nameservers"] == ["ns1.dns-parking.com", "ns2.dns-parking.com"]
    assert result["diff"] == {"before": "ns1.dns-parking.com\nns2.dns-parking.com\n",
                              "after": "".join(ns + "\n" for ns in ROUTE53)}
    assert puts(fresh) == [] and current(fresh)["ns1"] == "ns1.dns-parking.com"


def test_change_writes_the_backup_first_then_a_second_run_changes_nothing(fresh, tmp_path):
    backup = tmp_path / "backups" / "ns.json"
    rc, out, result = run(fresh, backup_file=str(backup))
    assert rc == 0 and result["changed"] is True, out
    assert current(fresh) == {"ns1": ROUTE53[0], "ns2": ROUTE53[1], "ns3": ROUTE53[2], "ns4": ROUTE53[3]}
    saved = json.loads(backup.read_text())
    assert saved["nameservers"] == ["ns1.dns-parking.com", "ns2.dns-parking.com"] and saved["saved_at"]
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    # same set, other order, upper case and trailing dots: nothing to do (ns3/ns4 come from the raw JSON)
    same = [ROUTE53[3].upper() + ".", ROUTE53[1], ROUTE53[0] + ".", ROUTE53[2]]
    rc, out, result = run(fresh, nameservers=same, backup_file=str(backup))
    assert rc == 0 and result["changed"] is False, out
    assert len(puts(fresh)) == 1
    # and back (the rollback's move), from the backup's content
    rc, out, result = run(fresh, nameservers=saved["nameservers"])
    assert rc == 0 and result["changed"] is True
    assert current(fresh) == {"ns1": "ns1.dns-parking.com", "ns2": "ns2.dns-parking.com"}


@pytest.mark.parametrize("nameservers,message", [
    (["ns1.example.net"], "1 name servers given; Hostinger takes 2 to 4"),
    (["a.example.net", "b.example.net", "c.example.net", "d.example.net", "e.example.net"], "5 name servers given"),
    (["ns1.example.net", "NS1.example.net."], "listed more than once: ns1.example.net"),
    (["ns1.example.net", "not a host"], "'not a host' is not a valid host name"),
])
def test_bad_name_servers_are_refused_before_any_request(nameservers, message):
    rc, out = module("hostinger_nameservers", {"domain": "directfanz.io", "api_url": CLOSED,
                                               "api_token": "dummy-token-for-input-tests",
                                               "nameservers": nameservers})[:2]
    assert rc != 0 and message in out and "failed to read" not in out, out


def test_an_inactive_domain_is_refused_before_any_put(fresh):
    post(fresh["hostinger_api_url"] + "/__sim/domain", {"status": "pending_verification"}, method="PATCH")
    rc, out, result = run(fresh)
    assert rc != 0 and "status 'pending_verification'" in out and puts(fresh) == []


def fault(sandbox, **kw):
    post(sandbox["hostinger_api_url"] + "/__sim/faults", kw)


def test_401_on_read(fresh):
    fault(fresh, match="/portfolio/", method="GET", status=401)
    rc, out, result = run(fresh)
    assert rc != 0 and "rejected the API token" in out and puts(fresh) == []


def test_422_shows_the_api_field_errors(fresh):
    fault(fresh, match="/nameservers", method="PUT", status=422, errors={"ns2": ["The ns2 is not delegated."]})
    rc, out, result = run(fresh)
    assert rc != 0 and "ns2: The ns2 is not delegated." in out, out
    assert result["errors"] == {"ns2": ["The ns2 is not delegated."]}


def test_429_waits_within_the_bound_and_fails_beyond_it(fresh):
    fault(fresh, match="/nameservers", method="PUT", status=429, retry_after=1)
    rc, out, result = run(fresh, rate_limit_max_wait=5)
    assert rc == 0 and result["changed"] is True, out
    post(fresh["hostinger_api_url"] + "/__sim/reset")
    fault(fresh, match="/nameservers", method="PUT", status=429, retry_after=90)
    rc, out, result = run(fresh, rate_limit_max_wait=5)
    assert rc != 0 and "asks to wait 90 s, more than rate_limit_max_wait (5 s" in out


def test_5xx_and_timeouts_are_retried(fresh):
    fault(fresh, match="/nameservers", method="PUT", status=503, times=2)
    fault(fresh, match="/portfolio/directfanz.io$", method="GET", delay=2, times=1)
    rc, out, result = run(fresh, request_timeout=1, retries=3)
    assert rc == 0 and result["changed"] is True, out
    statuses = [r["status"] for r in puts(fresh)]
    assert statuses == [503, 503, 200]


def test_rollback_playbook_restores_the_backup_and_needs_confirmation(fresh, tmp_path):
    from conftest import playbook

    backup = tmp_path / "directfanz.io-nameservers.json"
    assert run(fresh, backup_file=str(backup))[0] == 0
    assert current(fresh)["ns1"] == ROUTE53[0]
    refused = playbook(fresh, "-e", "launch_nameserver_backup_file=%s" % backup,
                       playbook_file="playbooks/rollback_nameservers.yml")
    assert refused.rc != 0 and "-e launch_rollback_confirm=directfanz.io" in refused.out
    assert current(fresh)["ns1"] == ROUTE53[0]
    done = playbook(fresh, "-e", "launch_nameserver_backup_file=%s" % backup, "-e", "launch_rollback_confirm=directfanz.io",
                    playbook_file="playbooks/rollback_nameservers.yml")
    assert done.rc == 0 and done.changed == 1, done.out
    assert current(fresh) == {"ns1": "ns1.dns-parking.com", "ns2": "ns2.dns-parking.com"}
    assert json.loads((tmp_path / "directfanz.io-nameservers-before-rollback.json").read_text())["nameservers"] == ROUTE53
    again = playbook(fresh, "-e", "launch_nameserver_backup_file=%s" % backup, "-e", "launch_rollback_confirm=directfanz.io",
                     playbook_file="playbooks/rollback_nameservers.yml")
    assert again.rc == 0 and again.changed == 0 and "(already in place)" in again.out
