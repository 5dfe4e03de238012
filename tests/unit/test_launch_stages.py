"""The one-command launch's pure parts (playbooks/launch.yml, docs/launch.md): the cases only the cutover can prove
(1.3, 1.4, 10.5), the decision after the post-switch validation (GO, rollback, or NO-GO left in place), when the
restore drill is due, the announcement, and a final report carrying the pre-switch one."""

import json

from ansible_collections.directfanz.launch.plugins.filter import validate as F
from ansible_collections.directfanz.launch.plugins.module_utils import launch_report as lr
from test_launch_report import STAMP, case, healthy, report

APEX, API = "directfanz.io. A", "api.directfanz.io. A"


def propagation(resolver_answers, parent_matches=True, auth=None):
    auth = auth if auth is not None else {APEX: ["192.0.2.10"], API: ["192.0.2.20"],
                                          "directfanz.io. NS": ["ns-1.awsdns-01.org."]}
    resolvers = []
    for name, answers in resolver_answers.items():
        state = "timeout" if answers is None else "new" if answers == auth else "old"
        resolvers.append({"server": name, "state": state, "answers": answers or {}})
    reachable = [r for r in resolvers if r["state"] != "timeout"]
    return {"authoritative": [{"server": "ns-1.awsdns-01.org", "address": "127.0.0.5", "port": 5353,
                               "authoritative": True, "answers": auth}],
            "parent": {"matches": parent_matches, "nameservers": ["ns-1.awsdns-01.org"], "ns_ttl": 3600},
            "resolvers": resolvers, "counts": {},
            "ratio": sum(1 for r in reachable if r["state"] == "new") / float(len(reachable) or 1), "elapsed": 0.2}


SWITCHED = {"changed": False, "previous_nameservers": ["ns-1.awsdns-01.org"], "nameservers": ["ns-1.awsdns-01.org"]}


def by(cases):
    return dict((c["id"], c) for c in cases)


def test_the_pre_switch_resolvers_are_the_located_route53_servers_with_their_ports():
    result = {"authoritative": [{"address": "127.0.0.5", "port": 5353}, {"address": "::1", "port": 53},
                                {"address": None}]}
    assert F.launch_server_addresses(result) == ["127.0.0.5:5353", "[::1]:53"]


def test_every_resolver_answering_like_route53_passes_1_3_1_4_and_the_cutover():
    auth = propagation({})["authoritative"][0]["answers"]
    cases = F.launch_dns_cases(propagation({"r1": auth, "r2": auth}), SWITCHED)
    assert {c["criterion"] for c in cases} == {"1.3", "1.4", "10.5"}
    assert all(c["status"] == "pass" for c in cases), [c for c in cases if c["status"] != "pass"]
    assert by(cases)["resolves to AWS %s" % API]["measured"] == 100.0
    # the NS question is 1.4's (the parent), not a "resolves to AWS" case
    assert not [c for c in cases if c["id"].endswith(" NS")]


def test_one_resolver_with_the_old_answer_fails_that_name_and_global_resolution():
    auth = propagation({})["authoritative"][0]["answers"]
    old = dict(auth, **{APEX: ["203.0.113.7"]})
    cases = by(F.launch_dns_cases(propagation({"r1": auth, "r2": old, "dead": None}), SWITCHED))
    apex = cases["resolves to AWS %s" % APEX]
    assert apex["status"] == "fail" and apex["measured"] == 50.0 and apex["critical"]
    assert apex["evidence"]["resolvers_differing"] == {"r2": ["203.0.113.7"]} and apex["evidence"]["unreachable"] == ["dead"]
    assert cases["resolves to AWS %s" % API]["status"] == "pass"  # r2 answers api like Route 53
    assert cases["global resolution"]["status"] == "fail" and cases["global resolution"]["measured"] == 50.0
    assert "dead: timeout" in cases["global resolution"]["message"]


def test_the_parent_still_delegating_elsewhere_or_the_registrar_unswitched_fails():
    auth = propagation({})["authoritative"][0]["answers"]
    cases = by(F.launch_dns_cases(propagation({"r1": auth}, parent_matches=False),
                                  {"changed": True, "previous_nameservers": ["ns1.dns-parking.com"]}))
    assert cases["parent delegation"]["status"] == "fail"
    assert cases["production cutover"]["status"] == "fail"
    assert "ns1.dns-parking.com" in cases["production cutover"]["message"]


def test_route53_answering_nothing_is_a_failure_not_a_pass():
    cases = F.launch_dns_cases(propagation({"r1": {}}, auth={}), SWITCHED)
    assert by(cases)["resolves to AWS"]["status"] == "fail"


def decision(blocking, failed=(), saved_at="2026-12-02T10:00:00Z", now_s=0, auto=True, window=3600):
    base = F._epoch("2026-12-02T10:00:00Z")
    return F.launch_post_decision({"blocking": blocking, "failed_criteria": [{"id": i} for i in failed]},
                                  {"saved_at": saved_at} if saved_at else None, window, auto, now=base + now_s)


def test_only_the_pending_announcement_blocking_is_go():
    d = decision(["10.5"])
    assert d["ok"] and not d["rollback"] and d["blocking"] == []
    # 10.5 FAILING (the registrar not switched) is not the pending announcement
    assert not decision(["10.5"], failed=["10.5"])["ok"]


def test_a_failure_rolls_back_only_when_automatic_and_within_the_window():
    assert decision(["5.2", "10.5"], failed=["5.2"], now_s=600)["rollback"]
    late = decision(["5.2"], failed=["5.2"], now_s=3601)
    assert not late["rollback"] and late["elapsed"] == 3601 and not late["within_window"]
    assert not decision(["5.2"], failed=["5.2"], now_s=10, auto=False)["rollback"]
    assert not decision(["5.2"], failed=["5.2"], saved_at=None)["rollback"]  # no backup: no time, no rollback


def test_the_drill_is_due_without_a_fresh_passing_record():
    now = F._epoch("2026-12-02T10:00:00Z")
    assert F.launch_drill_due({}, 168, now)
    assert F.launch_drill_due({"ok": False, "finished": "2026-12-02T09:00:00Z"}, 168, now)
    assert not F.launch_drill_due({"ok": True, "finished": "2026-12-02T09:00:00Z"}, 168, now)
    assert F.launch_drill_due({"ok": True, "finished": "2026-11-24T09:00:00Z"}, 168, now)
    assert F.launch_drill_due({"ok": True, "finished": "yesterday"}, 168, now)


def test_a_burst_the_rate_rule_stopped_is_waited_out_for_its_window():
    burst = {"id": "waf rate burst", "status": "pass", "evidence": {
        "url": "https://api.directfanz.io/", "ended": "2026-12-02T10:00:00Z", "blocked_after": 2013}}
    record = F.validate_waf_burst_record({"cases": [{"id": "terms page", "status": "pass"}, burst]}, "60")
    assert record == {"ended": "2026-12-02T10:00:00Z", "window": 60, "url": "https://api.directfanz.io/",
                      "blocked_after": 2013}
    # no 403 in the burst (no rule blocked it), no burst sent, no result: nothing to wait for
    assert F.validate_waf_burst_record({"cases": [dict(burst, status="fail")]}, 60) == {}
    assert F.validate_waf_burst_record({"cases": [{"id": "waf rate burst", "status": "not_run"}]}, 60) == {}
    assert F.validate_waf_burst_record(None) == {}
    ended = F._epoch("2026-12-02T10:00:00Z")
    assert F.validate_waf_block_wait(record, 20, ended + 5) == 75  # 60 s window + 20 s margin - 5 s since
    assert F.validate_waf_block_wait(record, 20, ended + 79.5) == 1  # rounded up, never short
    assert F.validate_waf_block_wait(record, 20, ended + 81) == 0
    assert F.validate_waf_block_wait(dict(record, window=300), 0, ended + 100) == 200
    assert F.validate_waf_block_wait({}, 20) == 0 and F.validate_waf_block_wait(None) == 0
    assert F.validate_waf_block_wait({"ended": "a minute ago", "window": 60}, 20) == 0


def test_the_rate_rule_sends_its_window_only_when_it_is_not_awss_default():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.directfanz.launch.plugins.filter.launch import waf_rules

    def rate(rules):
        return rules[-1]["statement"]["rate_based_statement"]

    assert rate(waf_rules(["AWSManagedRulesCommonRuleSet"], 2000)) == {"limit": 2000, "aggregate_key_type": "IP"}
    assert rate(waf_rules([], "2000", 300)) == {"limit": 2000, "aggregate_key_type": "IP"}
    assert rate(waf_rules([], 2000, "60")) == {"limit": 2000, "aggregate_key_type": "IP", "evaluation_window_sec": 60}
    try:
        waf_rules([], 2000, 90)
    except AnsibleFilterError as e:
        assert "window 90 must be 60, 120, 300 or 600 seconds" in str(e)
    else:
        raise AssertionError("a 90 s window was accepted")


def test_the_announcement_names_the_verdict_the_waivers_and_the_report():
    a = F.launch_announcement({"verdict": "GO", "summary": {"pass": 49, "waived": 1, "fail": 0, "not_run": 0},
                               "waived": [{"id": "5.5", "by": "A. Owner", "reason": "p95 tuned next week"}]},
                              "directfanz.io", "/r/launch-report.html")
    assert a["subject"] == "directfanz.io is live"
    assert a["text"].startswith("directfanz.io is live on AWS: the post-switch validation passes.\n"
                                "49 criteria pass, 1 waived")
    assert "5.5 by A. Owner (p95 tuned next week)" in a["text"]
    assert a["text"].endswith("Report: /r/launch-report.html")


def test_the_announcement_case_passes_only_with_the_message_and_a_2xx_webhook():
    pending = F.launch_announcement_cases({}, "no announcement: NO-GO")[0]
    assert pending["status"] == "not_run" and pending["message"] == "no announcement: NO-GO"
    sent = {"at": STAMP, "sns_message_id": "m-1", "webhook": True, "webhook_status": 200}
    assert F.launch_announcement_cases(sent)[0]["status"] == "pass"
    assert F.launch_announcement_cases(dict(sent, webhook_status=500))[0]["status"] == "fail"
    assert F.launch_announcement_cases(dict(sent, sns_message_id=""))[0]["status"] == "fail"
    assert F.launch_announcement_cases(dict(sent, webhook=False, webhook_status=None))[0]["status"] == "pass"


def test_the_final_report_carries_the_pre_switch_one():
    pre = report(healthy(skip=("1.3", "1.4", "10.5")) + [case("5.5", "fail", cid="slow")], stage="pre",
                 waivers=[{"criterion": "5.5", "by": "A. Owner", "reason": "tuned next week"}])
    entry, problem = lr.earlier_entry(json.loads(lr.render_json(pre)), "/r/pre/launch-report.json")
    assert problem is None and entry["verdict"] == "GO" and entry["statuses"]["5.5"] == "WAIVED"
    assert entry["statuses"]["1.3"] == "NOT RUN" and entry["waivers"][0]["by"] == "A. Owner"
    final = report(healthy(), earlier=[entry])
    assert final["earlier"] == [entry]
    md = lr.render_markdown(final)
    assert "| id | status | pre | criterion |" in md and "| 1.3 | PASS | NOT RUN |" in md
    html = lr.render_html(final)
    assert 'id="earlier-0"' in html and "A. Owner" in html and "/r/pre/launch-report.json" in html
    assert lr.earlier_entry({"stage": "later", "criteria": []}, "x.json")[1] == (
        "x.json is not a launch report (launch-report.json: stage, verdict, criteria)")


def test_the_continuity_probe_asks_the_mail_records_and_every_routed_name():
    from ansible_collections.directfanz.launch.plugins.filter.launch import continuity_questions
    sets = [{"name": "directfanz.io.", "type": "MX", "values": ["10 mx1.hostinger.com."]},
            {"name": "directfanz.io.", "type": "TXT", "values": ['"v=spf1 include:_spf.mail.hostinger.com ~all"']},
            {"name": "_dmarc.directfanz.io.", "type": "TXT", "values": ['"v=DMARC1; p=none"']},
            {"name": "s1._domainkey.directfanz.io.", "type": "TXT", "values": ['"k=rsa; p=MIGf"']},
            {"name": "directfanz.io.", "type": "NS", "values": ["ns1.dns-parking.com."]},
            {"name": "ftp.directfanz.io.", "type": "A", "values": ["203.0.113.7"]},
            {"name": "old.directfanz.io.", "type": "TXT", "values": []}]
    assert continuity_questions(sets, ["directfanz.io.", "api.directfanz.io."]) == [
        {"name": "_dmarc.directfanz.io.", "type": "TXT"}, {"name": "api.directfanz.io.", "type": "A"},
        {"name": "directfanz.io.", "type": "A"}, {"name": "directfanz.io.", "type": "MX"},
        {"name": "directfanz.io.", "type": "TXT"}, {"name": "s1._domainkey.directfanz.io.", "type": "TXT"}]


def test_the_continuity_case_passes_on_zero_lost_and_names_the_losses_otherwise():
    assert F.launch_continuity_cases({}) == []  # no switch in this run: no probe, no case
    ok = F.launch_continuity_cases({"probes": 4520, "lost": 0, "summary": "4520 probes through 20 resolvers: 0 lost"})[0]
    assert ok["criterion"] == "1.4" and ok["status"] == "pass" and ok["measured"] == 0 and ok["critical"]
    bad = F.launch_continuity_cases({"probes": 40, "lost": 2, "summary": "40 probes: 2 lost - r1 MX empty at T",
                                     "anomalies": [{"kind": "empty"}] * 30})[0]
    assert bad["status"] == "fail" and bad["message"] == "40 probes: 2 lost - r1 MX empty at T"
    assert len(bad["evidence"]["anomalies"]) == 20
