"""The launch report as a person gets it: the module run through ansible writes the four files, and the HTML page,
opened in headless Chromium (Debian's, driven by Playwright; no browser download), shows the verdict first, one row
per criterion with the failing one marked, evidence that stays inert text, and loads nothing from anywhere.

No sandbox is needed: the module reads no AWS, so the checks' results are given as a check module returns them."""

import json
import os
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT, module

CRITERIA = [(str(r), "%d.%d" % (r, n)) for r in range(1, 11) for n in range(1, 6)]
SHOTS = ROOT / "tests" / "output" / "launch_report"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
HOSTILE = '<script>window.__pwned = 1</script><img src="http://127.0.0.1:9/x.png" onerror="window.__pwned = 2">'


def sync_playwright():
    """Playwright, or a skip locally - under CI=true a skip fails the run (tests/conftest.py)."""
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError as e:  # pragma: no cover - installed by make test
        pytest.skip("playwright is not installed: %s" % e)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("%s is not installed (Debian package chromium)" % CHROMIUM)
    return start()


def checks(latency_ms=120.0):
    """What the validate phase's checks return: a case per criterion, a small endpoint sweep, two latency groups;
    an endpoint's sample carries markup, as a hostile or broken response would."""
    infra = [{"id": "criterion %s" % cid, "suite": "infrastructure" if req in "123" or cid == "5.1" else "business",
              "criterion": cid, "name": "case for %s" % cid, "status": "pass", "measured": None, "threshold": None,
              "unit": None, "critical": False, "message": "", "evidence": {"arn": "arn:aws:test:::%s" % cid}}
             for req, cid in CRITERIA if cid not in ("5.2", "5.5")]
    sweep = [{"id": "GET /v1/creators/{creatorId}", "suite": "endpoints", "criterion": "5.2",
              "name": "get a creator", "status": "pass", "measured": 200, "threshold": 200, "unit": None,
              "critical": False, "message": "", "evidence": {"response": {"status": 200, "body": HOSTILE}}},
             {"id": "GET /v1/health", "suite": "endpoints", "criterion": "5.2", "name": "health", "status": "pass",
              "measured": 200, "threshold": 200, "unit": None, "critical": False, "message": "", "evidence": {}}]
    perf = [{"id": "latency %s" % group, "suite": "performance", "criterion": "5.5", "name": "p95 of %s" % group,
             "status": "pass" if p95 < 200 else "fail", "measured": p95, "threshold": 200, "unit": "ms",
             "critical": False, "message": "" if p95 < 200 else "p95 %s ms is not under 200 ms" % p95,
             "evidence": {"group": group, "p50_ms": round(p95 / 3, 1), "p95_ms": p95, "p99_ms": p95 * 1.4}}
            for group, p95 in (("auth", 60.0), ("media", latency_ms))]
    return [{"changed": False, "cases": infra}, {"changed": False, "cases": sweep}, {"changed": False, "cases": perf}]


def run_report(tmp_path, name, check_list, *flags):
    out = tmp_path / name / "reports" / "directfanz.io"
    rc, output, result = module("launch_report", {"checks": check_list, "stage": "pre", "domain": "directfanz.io",
                                                  "output_dir": str(out), "started_at": "2025-01-31T12:00:00Z"},
                                *flags)
    return out, rc, output, result


def open_page(path, shot):
    """The page's verdict, rows and statuses as Chromium renders them, the requests it made, a screenshot."""
    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri())
            seen = {
                "verdict": page.locator("#verdict").inner_text(),
                "verdict_colour": page.locator("#verdict").evaluate("e => getComputedStyle(e).color"),
                "rows": page.locator("tr.criterion").count(),
                "ids": page.locator("tr.criterion").evaluate_all("rows => rows.map(r => r.dataset.id)"),
                "status": dict((cid, page.locator('tr.criterion[data-id="%s"] .status' % cid).inner_text())
                               for cid in ("1.3", "5.2", "5.5", "10.1")),
                "pwned": page.evaluate("() => window.__pwned === undefined ? null : window.__pwned"),
                "scripts": page.locator("script").count(),
                "bars": page.locator("#latency-chart rect.bar").count(),
                "gate": page.locator("#latency-gate").count(),
                "counts": page.locator("#counts").inner_text(),
                "dialogs": dialogs,
            }
            details = page.locator('tr.criterion[data-id="5.2"] details')
            details.locator("summary").click()
            seen["evidence_text"] = details.inner_text()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            print("screenshot: %s" % shot)
        finally:
            browser.close()
    seen["requests"] = requests
    return seen


def test_healthy_input_is_go_in_every_file_and_in_chromium(tmp_path):
    out, rc, output, result = run_report(tmp_path, "go", checks())
    assert rc == 0, output
    assert result["verdict"] == "GO" and result["blocking"] == [] and result["failed_criteria"] == []
    assert [n["id"] for n in result["not_run"]] == ["1.3", "1.4", "10.5"]
    assert all(not n["blocking"] for n in result["not_run"])
    files = sorted(p.name for p in out.iterdir())
    assert files == ["launch-report.html", "launch-report.json", "launch-report.junit.xml", "launch-report.md"]
    doc = json.loads((out / "launch-report.json").read_text())
    assert doc["verdict"] == "GO" and doc["stage"] == "pre" and doc["check_mode"] is False
    assert doc["duration_s"] > 0 and len(doc["criteria"]) == 50
    root = ET.parse(out / "launch-report.junit.xml").getroot()
    assert root.get("failures") == "0" and root.get("skipped") == "3" and root.get("tests") == "52"
    assert (out / "launch-report.md").read_text().startswith("# Launch report for directfanz.io: **GO**")

    seen = open_page(out / "launch-report.html", SHOTS / "go.png")
    assert seen["verdict"] == "GO" and seen["verdict_colour"] == "rgb(19, 102, 58)"
    assert seen["rows"] == 50 and seen["ids"] == [cid for unused, cid in CRITERIA]
    assert seen["status"] == {"1.3": "NOT RUN", "5.2": "PASS", "5.5": "PASS", "10.1": "PASS"}
    assert seen["counts"].split() == ["47", "pass", "0", "fail", "0", "waived", "3", "not", "run"]
    assert seen["bars"] == 6 and seen["gate"] == 1
    # the sample's markup is shown as text and did nothing: no script ran, no image was fetched
    assert "<script>window.__pwned = 1</script>" in seen["evidence_text"]
    assert seen["pwned"] is None and seen["scripts"] == 0 and seen["dialogs"] == []
    assert seen["requests"] == [(out / "launch-report.html").as_uri()]


def test_a_slow_group_is_no_go_naming_5_5(tmp_path):
    out, rc, output, result = run_report(tmp_path, "nogo", checks(latency_ms=320.0))
    assert rc == 0, output
    assert result["verdict"] == "NO-GO" and result["blocking"] == ["5.5", "10.1"]
    assert result["failed_criteria"][0]["id"] == "5.5" and "sub-200ms" in result["failed_criteria"][0]["title"]
    assert "latency media" in result["failed_criteria"][0]["message"]
    assert "NO-GO" in result["msg"] and "5.5" in result["msg"]
    doc = json.loads((out / "launch-report.json").read_text())
    c55 = [c for c in doc["criteria"] if c["id"] == "5.5"][0]
    assert (c55["status"], c55["measured"], c55["threshold"], c55["unit"]) == ("FAIL", 320.0, 200, "ms")

    seen = open_page(out / "launch-report.html", SHOTS / "nogo.png")
    assert seen["verdict"] == "NO-GO" and seen["verdict_colour"] == "rgb(179, 38, 30)"
    assert seen["rows"] == 50
    assert seen["status"] == {"1.3": "NOT RUN", "5.2": "PASS", "5.5": "FAIL", "10.1": "FAIL"}
    assert seen["pwned"] is None and seen["requests"] == [(out / "launch-report.html").as_uri()]


def test_a_bad_waiver_fails_before_anything_is_written(tmp_path):
    out = tmp_path / "refused"
    rc, output, result = module("launch_report", {
        "checks": checks(), "domain": "directfanz.io", "output_dir": str(out),
        "waivers": [{"criterion": "5.5", "by": "", "reason": "slow disks"}, {"criterion": "12.1", "by": "Ann",
                                                                             "reason": "x"}]})
    assert rc != 0 and result.get("failed")
    assert "by is empty" in result["msg"] and "criterion '12.1' is not known; accepted" in result["msg"]
    assert "nothing was written" in result["msg"] and not out.exists()


def test_check_mode_writes_a_report_marked_as_check_mode(tmp_path):
    out, rc, output, result = run_report(tmp_path, "check", checks(), "--check")
    assert rc == 0, output
    assert result["check_mode"] is True
    assert json.loads((out / "launch-report.json").read_text())["check_mode"] is True
    assert 'id="check-mode"' in (out / "launch-report.html").read_text()


def test_a_relative_output_dir_is_refused(tmp_path):
    rc, output, result = module("launch_report", {"checks": checks(), "domain": "directfanz.io",
                                                  "output_dir": "reports/directfanz.io"})
    assert rc != 0 and "is relative; accepted: an absolute path" in result["msg"]
    assert "nothing was written" in result["msg"]
