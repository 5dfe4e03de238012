"""The launch report's rules and renderings, on dicts: every verdict rule of the contract, the catalogue equal to the
owner's requirements file, JUnit that parses with the right counts, and evidence that stays inert text."""

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import launch_report as lr

ROOT = Path(__file__).resolve().parents[2]
# The owner's file, kept in the repository as written (docs/requirements/; the original is ../shared/requirements/).
REQUIREMENTS_FILE = Path(os.environ.get("LAUNCH_REQUIREMENTS_FILE")
                         or ROOT / "docs" / "requirements" / "launch-readiness.md")
STAMP = "2025-01-31T12:00:00Z"


def case(criterion, status="pass", cid=None, suite="business", **extra):
    return dict({"id": cid or "case %s" % criterion, "suite": suite, "criterion": criterion,
                 "name": "a case of %s" % criterion, "status": status, "measured": None, "threshold": None,
                 "unit": None, "critical": False, "message": "" if status == "pass" else "why: %s" % status,
                 "evidence": {}}, **extra)


def healthy(skip=()):
    """One passing case for every criterion (5.1's is an infrastructure case)."""
    return [case(cid, suite="infrastructure" if cid == "5.1" else "business") for cid in lr.CRITERION_IDS
            if cid not in skip]


def report(cases, waivers=(), stage="post", **kw):
    doc, problems = lr.build([{"changed": False, "cases": cases}], list(waivers), stage, "directfanz.io", STAMP, **kw)
    assert problems == [], problems
    return doc


def by_id(doc):
    return dict((c["id"], c) for c in doc["criteria"])


# ---------------------------------------------------------------------------------------------------------------
# The catalogue


def parse_requirements(text):
    """The requirements file's requirement titles and numbered acceptance criteria, as the owner wrote them."""
    requirements, criteria, current = {}, [], None
    for line in text.splitlines():
        m = re.match(r"^### Requirement (\d+): (.+?)\s*$", line)
        if m:
            current = m.group(1)
            requirements[current] = m.group(2)
            continue
        m = re.match(r"^(\d+)\. (.+?)\s*$", line)
        if m and current:
            criteria.append(("%s.%s" % (current, m.group(1)), m.group(2)))
    return requirements, criteria


def test_the_catalogue_is_the_requirements_file_word_for_word():
    assert REQUIREMENTS_FILE.is_file(), "the owner's requirements file is not at %s" % REQUIREMENTS_FILE
    requirements, criteria = parse_requirements(REQUIREMENTS_FILE.read_text(encoding="utf-8"))
    assert len(criteria) == 50
    assert list(lr.CRITERIA) == criteria
    assert lr.REQUIREMENTS == requirements
    entries = lr.catalogue()
    assert [e["id"] for e in entries] == [cid for cid, unused in criteria]
    assert [e["id"] for e in entries if e["stage"] == "post"] == ["1.3", "1.4", "10.5"]


def test_every_gate_is_a_number_the_owner_wrote_in_that_criterion():
    titles = dict(lr.CRITERIA)
    assert sorted(lr.GATES) == ["5.1", "5.2", "5.5", "7.1", "7.4", "8.1", "8.2", "8.4"]
    for cid, (text, number, _unit) in lr.GATES.items():
        assert str(number) in text and str(number) in titles[cid], cid
    assert [lr.GATES[k][0] for k in ("5.1", "5.2", "5.5", "7.4", "8.1", "8.2", "8.4", "7.1")] == [
        "95 %", "130+", "sub-200 ms", "30 minutes", "85 %", "sub-50 ms", "2 minutes", "30-day"]


# ---------------------------------------------------------------------------------------------------------------
# Verdict rules


def test_all_pass_is_go():
    doc = report(healthy())
    assert doc["verdict"] == "GO" and doc["blocking"] == []
    assert doc["summary"] == {"pass": 50, "fail": 0, "waived": 0, "not_run": 0}
    assert len(doc["criteria"]) == 50 and all(c["status"] == "PASS" for c in doc["criteria"])


def test_a_criterion_with_no_case_is_not_run_and_blocks():
    doc = report(healthy(skip=("6.4",)))
    c = by_id(doc)["6.4"]
    assert c["status"] == "NOT RUN" and c["cases"] == [] and "no check" in c["message"]
    assert doc["verdict"] == "NO-GO" and "6.4" in doc["blocking"]
    assert by_id(doc)["10.1"]["status"] == "NOT RUN" and "6.4" in by_id(doc)["10.1"]["message"]


def test_a_failing_case_fails_its_criterion_and_the_launch():
    cases = healthy() + [case("5.2", "fail", cid="GET /v1/creators/{creatorId}", suite="endpoints",
                              message="500 Internal Server Error")]
    doc = report(cases)
    c = by_id(doc)["5.2"]
    assert c["status"] == "FAIL" and "GET /v1/creators/{creatorId}: 500 Internal Server Error" in c["message"]
    assert doc["verdict"] == "NO-GO" and doc["blocking"] == ["5.2", "10.1"]
    assert by_id(doc)["10.1"]["message"] == "failing: 5.2"


def test_a_case_that_did_not_run_leaves_the_criterion_not_run():
    doc = report(healthy() + [case("5.3", "not_run", cid="test payment", message="check mode")])
    assert by_id(doc)["5.3"]["status"] == "NOT RUN" and "check mode" in by_id(doc)["5.3"]["message"]
    assert doc["verdict"] == "NO-GO"


def infra(passed, failed, critical=False):
    cases = [case("3.%d" % (i % 5 + 1), cid="infra ok %d" % i, suite="infrastructure") for i in range(passed)]
    cases += [case("3.1", "fail", cid="infra bad %d" % i, suite="infrastructure", critical=critical)
              for i in range(failed)]
    return cases


def rate_doc(passed, failed, critical=False, waivers=()):
    """5.1 alone decided by the infrastructure cases: the 3.x criteria they name are waived (their own FAIL is
    another rule), every other criterion passes."""
    waivers = list(waivers) + [{"criterion": "3.1", "by": "Ops", "reason": "counted in 5.1 here"}]
    return report([c for c in healthy() if c["criterion"] != "5.1"] + infra(passed, failed, critical), waivers)


def test_5_1_at_94_9_percent_fails():
    doc = rate_doc(949, 51)
    c = by_id(doc)["5.1"]
    assert c["status"] == "FAIL" and c["measured"] == 94.9 and c["threshold"] == 95 and c["unit"] == "%"
    assert "949 of 1000" in c["message"] and doc["verdict"] == "NO-GO" and "5.1" in doc["blocking"]


def test_5_1_at_95_percent_passes_and_the_rate_never_rounds_up_to_the_gate():
    doc = rate_doc(950, 50)
    assert by_id(doc)["5.1"]["status"] == "PASS" and by_id(doc)["5.1"]["measured"] == 95
    assert doc["verdict"] == "GO"
    almost = by_id(rate_doc(18999, 1001))["5.1"]  # 94.995 %
    assert almost["status"] == "FAIL" and almost["measured"] == 94.99


def test_5_1_fails_on_a_critical_case_whatever_the_rate():
    doc = rate_doc(99, 1, critical=True)
    c = by_id(doc)["5.1"]
    assert c["measured"] == 99 and c["status"] == "FAIL" and "critical" in c["message"]
    assert doc["verdict"] == "NO-GO"
    assert by_id(rate_doc(99, 1))["5.1"]["status"] == "PASS"  # the same rate without the critical flag


def test_5_1_counts_a_case_that_did_not_run_as_not_passed():
    doc = report([c for c in healthy() if c["criterion"] != "5.1"]
                 + infra(18, 0) + [case("3.2", "not_run", cid="s3 probe", suite="infrastructure")] * 2)
    assert by_id(doc)["5.1"]["measured"] == 90 and by_id(doc)["5.1"]["status"] == "FAIL"


def test_a_waiver_turns_fail_and_not_run_into_waived_with_who_and_why():
    cases = healthy(skip=("7.3",)) + [case("9.1", "fail", cid="sqli probe", suite="security")]
    waivers = [{"criterion": "7.3", "by": "Ann Owner", "reason": "blue-green drill booked for week 2"},
               {"criterion": "9.1", "by": "Sec Lead", "reason": "WAF rule tuned after launch"}]
    doc = report(cases, waivers)
    for cid, was in (("7.3", "NOT RUN"), ("9.1", "FAIL")):
        c = by_id(doc)[cid]
        assert c["status"] == "WAIVED" and c["waived_status"] == was
        assert c["waiver"] == {"by": waivers[0 if cid == "7.3" else 1]["by"],
                               "reason": waivers[0 if cid == "7.3" else 1]["reason"]}
    assert doc["verdict"] == "GO" and doc["summary"]["waived"] == 2
    assert by_id(doc)["10.1"]["status"] == "PASS"


def test_a_waiver_of_a_pass_keeps_pass_and_warns():
    doc = report(healthy(), [{"criterion": "5.2", "by": "Ann", "reason": "just in case"}])
    assert by_id(doc)["5.2"]["status"] == "PASS" and by_id(doc)["5.2"]["waiver"]["by"] == "Ann"
    assert any("5.2" in w and "not needed" in w for w in doc["warnings"])


def test_waiving_a_critical_failure_warns():
    doc = report(healthy() + [case("9.2", "fail", cid="rds unencrypted", suite="security", critical=True)],
                 [{"criterion": "9.2", "by": "CTO", "reason": "accepted risk"}])
    assert by_id(doc)["9.2"]["status"] == "WAIVED"
    assert any("critical" in w and "9.2" in w for w in doc["warnings"])


@pytest.mark.parametrize("waiver,expected", [
    ({"criterion": "5.2", "by": "", "reason": "x"}, "by is empty"),
    ({"criterion": "5.2", "by": "Ann", "reason": "   "}, "reason is empty"),
    ({"criterion": "5.2", "by": "Ann"}, "reason is empty"),
    ({"criterion": "11.1", "by": "Ann", "reason": "x"}, "criterion '11.1' is not known; accepted: one of 1.1 ... 10.5"),
    ({"criterion": "5.2", "by": "Ann", "reason": "x", "reasn": "typo"}, "unknown key(s) reasn"),
    ("5.2", "accepted: a dict {criterion, by, reason}"),
])
def test_a_bad_waiver_is_refused_saying_what_is_accepted(waiver, expected):
    doc, problems = lr.build([{"cases": healthy()}], [waiver], "post", "directfanz.io", STAMP)
    assert doc is None and any(expected in p for p in problems), problems


def test_two_waivers_of_one_criterion_are_refused():
    w = {"criterion": "5.2", "by": "Ann", "reason": "x"}
    doc, problems = lr.build([{"cases": healthy()}], [w, dict(w)], "post", "directfanz.io", STAMP)
    assert doc is None and any("waived twice" in p for p in problems)


def test_a_waiver_with_a_yaml_float_criterion_is_taken():
    doc = report(healthy(skip=("7.4",)), [{"criterion": 7.4, "by": "Ann", "reason": "drill next week"}])
    assert by_id(doc)["7.4"]["status"] == "WAIVED"


@pytest.mark.parametrize("bad,expected", [
    (dict(criterion="5.9"), "criterion '5.9' is not known"),
    (dict(status="ok"), "status 'ok' is not accepted; accepted: pass, fail, not_run"),
    (dict(suite="misc"), "suite 'misc' is not accepted"),
    (dict(id=""), "has no id"),
])
def test_a_case_outside_the_contract_is_refused(bad, expected):
    doc, problems = lr.build([{"cases": healthy() + [dict(case("5.2"), **bad)]}], [], "post", "directfanz.io", STAMP)
    assert doc is None and any(expected in p for p in problems), problems


def test_stage_pre_leaves_the_cutover_criteria_not_run_and_still_go():
    doc = report(healthy(skip=("1.3", "1.4", "10.5")), stage="pre")
    for cid in ("1.3", "1.4", "10.5"):
        c = by_id(doc)[cid]
        assert c["status"] == "NOT RUN" and not c["in_scope"] and "after the cutover" in c["message"]
    assert doc["verdict"] == "GO" and doc["summary"]["not_run"] == 3
    # the same input after the cutover is NO-GO: those three must then be proven
    post = report(healthy(skip=("1.3", "1.4", "10.5")), stage="post")
    assert post["verdict"] == "NO-GO" and post["blocking"] == ["1.3", "1.4", "10.1", "10.5"]


def test_stage_pre_does_not_block_on_a_failing_cutover_case():
    cases = healthy() + infra(30, 0) + [case("1.3", "fail", cid="apex resolves to AWS", suite="infrastructure")]
    doc = report(cases, stage="pre")
    assert by_id(doc)["1.3"]["status"] == "NOT RUN" and len(by_id(doc)["1.3"]["cases"]) == 2
    # the case still counts in 5.1's rate (31 of 32 pass), which passes
    assert by_id(doc)["5.1"]["status"] == "PASS" and by_id(doc)["5.1"]["measured"] == 96.87
    assert doc["verdict"] == "GO"
    assert report(cases, stage="post")["blocking"] == ["1.3", "10.1"]


def test_measured_is_the_worst_case():
    lat = [case("5.5", cid="p95 %s" % g, suite="performance", measured=v, threshold=200, unit="ms")
           for g, v in (("auth", 40.5), ("media", 180.0), ("posts", 95.0))]
    rate = [case("8.1", cid="hit %s" % p, suite="performance", measured=v, threshold=85, unit="%")
            for p, v in (("/static", 97.0), ("/media", 88.5))]
    doc = report(healthy(skip=("5.5", "8.1")) + lat + rate)
    assert (by_id(doc)["5.5"]["measured"], by_id(doc)["5.5"]["measured_case"]) == (180.0, "p95 media")
    assert (by_id(doc)["8.1"]["measured"], by_id(doc)["8.1"]["unit"]) == (88.5, "%")
    lat[0] = dict(lat[0], status="fail", measured=320.0, message="p95 320 ms")
    assert by_id(report(healthy(skip=("5.5", "8.1")) + lat + rate))["5.5"]["measured"] == 320.0


def test_many_cases_without_numbers_say_how_many_pass_against_the_owner_gate():
    sweep = [case("5.2", cid="GET /v1/op%d" % i, suite="endpoints") for i in range(131)]
    c = by_id(report(healthy(skip=("5.2",)) + sweep))["5.2"]
    assert c["measured"] == "131 of 131 cases pass" and c["threshold"] == "130+"


def test_a_failed_check_without_cases_is_a_warning_and_its_criteria_are_not_run():
    doc, problems = lr.build([{"cases": healthy(skip=("5.4",))},
                              {"failed": True, "msg": "could not reach stream.directfanz.io"}],
                             [], "post", "directfanz.io", STAMP)
    assert problems == [] and doc["check_errors"][0]["msg"] == "could not reach stream.directfanz.io"
    assert any("stream.directfanz.io" in w for w in doc["warnings"]) and by_id(doc)["5.4"]["status"] == "NOT RUN"


def test_a_registered_loop_is_read_through():
    doc, problems = lr.build([{"results": [{"cases": healthy()[:25]}, {"cases": healthy()[25:]}]}], [], "post",
                             "directfanz.io", STAMP)
    assert problems == [] and doc["verdict"] == "GO"


def test_evidence_is_bounded_in_json():
    big = case("5.2", cid="GET /big", suite="endpoints", evidence={"body": "x" * 10000, "list": list(range(500))})
    c = by_id(report(healthy(skip=("5.2",)) + [big]))["5.2"]
    e = c["evidence"][0]["evidence"]
    assert len(e["body"]) < 4100 and e["body"].endswith("[6000 more characters]")
    assert len(e["list"]) == 201 and e["list"][-1] == "... [300 more items]"


# ---------------------------------------------------------------------------------------------------------------
# Renderers


HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">]]>&amp;\x1b[31m|`'


def hostile_doc():
    cases = healthy(skip=("5.2", "5.5")) + [
        case("5.2", "fail", cid="GET /v1/posts/<script>", suite="endpoints", message=HOSTILE,
             evidence={"response": {"status": 500, "body": HOSTILE * 3}}),
        case("5.2", cid="GET /v1/health", suite="endpoints"),
        case("5.2", "not_run", cid="DELETE /v1/posts/{id}", suite="endpoints", message="read-only methods only"),
        case("5.5", cid="latency api", suite="performance", measured=120.5, threshold=200, unit="ms",
             evidence={"group": "api" + HOSTILE, "p50_ms": 40.1, "p95_ms": 120.5, "p99_ms": 180.0}),
        case("5.5", "fail", cid="latency media", suite="performance", measured=320.0, threshold=200, unit="ms",
             evidence={"group": "media", "p50_ms": 140.0, "p95_ms": 320.0, "p99_ms": 410.0}),
    ]
    return report(cases, [{"criterion": "7.3", "by": "Ann <b>", "reason": HOSTILE}], duration_s=42.0)


def test_json_has_the_documented_keys():
    doc = json.loads(lr.render_json(hostile_doc()))
    assert {"verdict", "stage", "domain", "generated", "duration_s", "summary", "criteria"} <= set(doc)
    assert doc["verdict"] == "NO-GO" and doc["generated"] == STAMP and doc["duration_s"] == 42.0
    for c in doc["criteria"]:
        assert {"id", "title", "status", "measured", "threshold", "unit", "evidence", "cases", "waiver", "stage",
                "message"} <= set(c)
    assert [g["group"] for g in doc["latency"]][1] == "media" and doc["latency_gate_ms"] == 200


def test_junit_parses_with_a_suite_per_requirement_and_the_endpoints():
    text = lr.render_junit(hostile_doc(), lr.endpoint_cases(hostile_doc()))
    root = ET.fromstring(text.encode("utf-8"))
    suites = root.findall("testsuite")
    assert [s.get("id") for s in suites] == [str(n) for n in range(1, 11)] + ["endpoints"]
    assert [len(s.findall("testcase")) for s in suites] == [5] * 10 + [3]
    endpoints = suites[-1]
    assert (endpoints.get("tests"), endpoints.get("failures"), endpoints.get("skipped")) == ("3", "1", "1")
    failing = [c.get("name") for s in suites for c in s.findall("testcase") if c.find("failure") is not None]
    assert failing[:2] == ["5.2 " + dict(lr.CRITERIA)["5.2"], "5.5 " + dict(lr.CRITERIA)["5.5"]]
    assert "GET /v1/posts/<script>" in failing  # the attribute holds the text; the parser gives it back unchanged
    assert root.get("tests") == "53" and root.get("failures") == str(len(failing)) and root.get("time") == "42"
    assert "\x1b" not in text  # a control character cannot be in XML 1.0 at all, escaped or not
    waived = [c for c in suites[6].findall("testcase") if c.get("name").startswith("7.3")][0]
    assert waived.find("failure") is None and "waiver by Ann <b>" in waived.find("system-out").text


def test_html_escapes_every_untrusted_text():
    page = lr.render_html(hostile_doc())
    assert "<script" not in page and "<img" not in page and "onerror=\"" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert 'data-id="5.2" data-status="FAIL"' in page and page.count('<tr class="criterion') == 50
    assert 'id="verdict" class="verdict-nogo">NO-GO<' in page
    assert "<link" not in page and "src=" not in page.replace("&quot;", "").replace("src=x", "")
    assert page.count('<rect class="bar') == 6 and 'id="latency-gate"' in page


def test_html_bounds_the_evidence_shown():
    sweep = [case("5.2", cid="GET /v1/op%d" % i, suite="endpoints", evidence={"status": 200, "body": "y" * 5000})
             for i in range(30)]
    page = lr.render_html(report(healthy(skip=("5.2",)) + sweep))
    assert page.count("<div class=\"evidence\">") == lr.HTML_CASES  # the healthy cases carry no evidence
    assert "and 10 more cases' evidence in launch-report.json" in page and "y" * 700 not in page


def test_markdown_puts_the_verdict_first_and_keeps_the_table_whole():
    text = lr.render_markdown(hostile_doc())
    assert text.startswith("# Launch report for directfanz.io: **NO-GO**")
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+\.\d+ \|", line)]
    assert len(rows) == 50 and all(len(re.findall(r"(?<!\\)\|", r)) == 7 for r in rows)
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_check_mode_is_marked_everywhere():
    doc = report(healthy(), check_mode=True)
    assert doc["check_mode"] is True
    assert 'id="check-mode"' in lr.render_html(doc) and "**Check mode**" in lr.render_markdown(doc)
    assert 'id="check-mode"' not in lr.render_html(report(healthy()))


def test_no_latency_says_so_instead_of_an_empty_chart():
    page = lr.render_html(report(healthy()))
    assert 'id="latency-none"' in page and "<svg" not in page
