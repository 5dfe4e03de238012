# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The launch report (issue 10, requirement 10.1): the owner's 50 acceptance criteria, a verdict for each from the
validate checks' cases, the overall GO / NO-GO, and four renderings of it (JSON, Markdown, JUnit XML, HTML). Pure:
every function takes and returns plain data, so the rules are unit-tested on dicts and the module only writes files.

Why a table and not the requirements file: the collection is installed without ../shared, and the titles are the
owner's words, which must not drift - tests/unit/test_launch_report.py parses the file and compares it with this
table. The evidence is untrusted text (response bodies, header values): every renderer escapes it, and it is bounded
in size so one large sample cannot make the page unreadable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json
import math
import re
import xml.etree.ElementTree as ET
from typing import Any, Optional

# ---------------------------------------------------------------------------------------------------------------
# The catalogue: shared/requirements/launch-readiness.md, as written (the unit test keeps it equal to the file).

REQUIREMENTS = {
    "1": "Domain DNS Migration",
    "2": "SSL Certificate Provisioning",
    "3": "Production Infrastructure Deployment",
    "4": "Environment Configuration Setup",
    "5": "Production Validation and Testing",
    "6": "Launch Monitoring and Alerting",
    "7": "Backup and Disaster Recovery",
    "8": "Performance Optimization Activation",
    "9": "Security Hardening Validation",
    "10": "Launch Readiness Checklist Completion",
}
CRITERIA = (
    ("1.1", "WHEN the DNS migration is initiated, THE DNS_Migration_Service SHALL create a Route 53 hosted zone "
            "for directfanz.io"),
    ("1.2", "WHEN the hosted zone is created, THE DNS_Migration_Service SHALL generate name server records for "
            "Hostinger configuration"),
    ("1.3", "WHEN name servers are updated at Hostinger, THE Route53_Service SHALL resolve directfanz.io to AWS "
            "infrastructure"),
    ("1.4", "WHEN DNS propagation completes, THE Health_Check_Service SHALL verify domain resolution globally"),
    ("1.5", "WHEN subdomain routing is configured, THE Route53_Service SHALL route api.directfanz.io, "
            "ws.directfanz.io, and stream.directfanz.io to appropriate services"),
    ("2.1", "WHEN SSL certificate request is initiated, THE Certificate_Manager SHALL request wildcard "
            "certificate for *.directfanz.io"),
    ("2.2", "WHEN certificate validation is required, THE Certificate_Manager SHALL use DNS validation through "
            "Route 53"),
    ("2.3", "WHEN certificate is issued, THE Load_Balancer SHALL automatically use the certificate for HTTPS "
            "termination"),
    ("2.4", "WHEN certificate approaches expiration, THE Certificate_Manager SHALL automatically renew the "
            "certificate"),
    ("2.5", "WHEN certificate renewal occurs, THE Notification_Service SHALL alert administrators of successful "
            "renewal"),
    ("3.1", "WHEN infrastructure deployment begins, THE Terraform_Service SHALL provision all AWS resources in "
            "production environment"),
    ("3.2", "WHEN ECS services are deployed, THE Container_Service SHALL run web app, WebSocket, and streaming "
            "services with auto-scaling"),
    ("3.3", "WHEN database is provisioned, THE RDS_Service SHALL create PostgreSQL with PgBouncer connection "
            "pooling and automated backups"),
    ("3.4", "WHEN cache is deployed, THE ElastiCache_Service SHALL provide Redis cluster with failover capability"),
    ("3.5", "WHEN CDN is configured, THE CloudFront_Service SHALL cache static content with optimized global "
            "distribution"),
    ("4.1", "WHEN environment setup begins, THE Configuration_Service SHALL use pre-generated secure secrets from"
            " .env.production.secrets"),
    ("4.2", "WHEN external service integration is configured, THE Integration_Service SHALL connect to Stripe "
            "production, AWS S3, and email services"),
    ("4.3", "WHEN database connection is established, THE Database_Service SHALL use production DATABASE_URL with"
            " connection pooling"),
    ("4.4", "WHEN authentication is configured, THE Auth_Service SHALL use production NEXTAUTH_URL with "
            "directfanz.io domain"),
    ("4.5", "WHEN all services are configured, THE Validation_Service SHALL verify all integrations are functional"),
    ("5.1", "WHEN validation begins, THE Test_Service SHALL execute all infrastructure tests and verify 95%+ pass"
            " rate"),
    ("5.2", "WHEN API testing is performed, THE API_Test_Service SHALL validate all 130+ endpoints respond "
            "correctly"),
    ("5.3", "WHEN payment processing is tested, THE Payment_Service SHALL process test transactions through "
            "Stripe production"),
    ("5.4", "WHEN streaming is validated, THE Streaming_Service SHALL verify live streaming and VOD functionality"),
    ("5.5", "WHEN performance testing is completed, THE Performance_Service SHALL confirm sub-200ms API response "
            "times"),
    ("6.1", "WHEN monitoring is activated, THE CloudWatch_Service SHALL collect metrics from all services and "
            "infrastructure"),
    ("6.2", "WHEN alerting is configured, THE Alert_Service SHALL notify administrators of critical issues via "
            "email and SNS"),
    ("6.3", "WHEN health checks are enabled, THE Route53_Health_Service SHALL monitor all endpoints and trigger "
            "failover if needed"),
    ("6.4", "WHEN cost monitoring is active, THE Cost_Service SHALL track spending and alert on budget thresholds"),
    ("6.5", "WHEN security monitoring is enabled, THE WAF_Service SHALL protect against common attacks and log "
            "security events"),
    ("7.1", "WHEN backup systems are activated, THE Backup_Service SHALL create automated daily database backups "
            "with 30-day retention"),
    ("7.2", "WHEN cross-region replication is enabled, THE S3_Service SHALL replicate content to backup region "
            "for disaster recovery"),
    ("7.3", "WHEN rollback procedures are tested, THE Deployment_Service SHALL successfully execute blue-green "
            "rollback scenarios"),
    ("7.4", "WHEN disaster recovery is validated, THE Recovery_Service SHALL restore from backup within 30 minutes"),
    ("7.5", "WHEN backup monitoring is active, THE Backup_Monitor_Service SHALL alert on backup failures or "
            "anomalies"),
    ("8.1", "WHEN cache optimization is enabled, THE Cache_Service SHALL achieve 85%+ cache hit rates for static "
            "content"),
    ("8.2", "WHEN database optimization is active, THE Query_Optimizer_Service SHALL maintain sub-50ms average "
            "query response times"),
    ("8.3", "WHEN CDN optimization is configured, THE CloudFront_Service SHALL serve content from edge locations "
            "globally"),
    ("8.4", "WHEN auto-scaling is enabled, THE Auto_Scaling_Service SHALL respond to traffic spikes within 2 "
            "minutes"),
    ("8.5", "WHEN performance monitoring is active, THE Performance_Monitor_Service SHALL track and alert on "
            "performance degradation"),
    ("9.1", "WHEN security validation begins, THE Security_Service SHALL verify WAF rules are blocking malicious "
            "requests"),
    ("9.2", "WHEN encryption validation is performed, THE Encryption_Service SHALL confirm data encryption at "
            "rest and in transit"),
    ("9.3", "WHEN access control is tested, THE IAM_Service SHALL verify least-privilege access for all AWS "
            "resources"),
    ("9.4", "WHEN audit logging is validated, THE CloudTrail_Service SHALL log all administrative actions and API"
            " calls"),
    ("9.5", "WHEN vulnerability scanning is active, THE Security_Scanner_Service SHALL scan container images and "
            "alert on vulnerabilities"),
    ("10.1", "WHEN technical validation is complete, THE Validation_Service SHALL confirm all systems are "
             "operational and performant"),
    ("10.2", "WHEN business readiness is verified, THE Business_Service SHALL confirm Terms of Service, Privacy "
             "Policy, and compliance measures are in place"),
    ("10.3", "WHEN support systems are ready, THE Support_Service SHALL have customer support channels and "
             "documentation prepared"),
    ("10.4", "WHEN marketing readiness is confirmed, THE Marketing_Service SHALL have launch announcements and "
             "user onboarding materials ready"),
    ("10.5", "WHEN final go-live approval is given, THE Launch_Service SHALL execute production cutover and "
             "announce platform availability"),
)

# Criteria only the cutover can prove: at stage "pre" they are NOT RUN and do not block the verdict.
POST_CUTOVER = ("1.3", "1.4", "10.5")
# Where the owner gives a number: (the owner's words for it, the number, its unit).
GATES = {
    "5.1": ("95 %", 95, "%"),
    "5.2": ("130+", 130, "endpoints"),
    "5.5": ("sub-200 ms", 200, "ms"),
    "7.1": ("30-day", 30, "days"),
    "7.4": ("30 minutes", 30, "min"),
    "8.1": ("85 %", 85, "%"),
    "8.2": ("sub-50 ms", 50, "ms"),
    "8.4": ("2 minutes", 2, "min"),
}
STATUSES = ("PASS", "FAIL", "WAIVED", "NOT RUN")
CASE_STATUSES = ("pass", "fail", "not_run")
SUITES = ("infrastructure", "endpoints", "payments", "streaming", "performance", "integrations", "security",
          "business")
WAIVER_KEYS = ("criterion", "by", "reason")
# The criterion the report itself answers from the others ("all systems are operational and performant").
SUMMARY_CRITERION = "10.1"
RATE_CRITERION = "5.1"
LATENCY_GATE_MS = GATES["5.5"][1]
# Units whose worst value is the largest (times) or the smallest (rates), for a criterion's headline figure.
LOWER_IS_BETTER = ("ms", "s", "min", "minutes", "seconds", "days")
HIGHER_IS_BETTER = ("%",)
# Evidence bounds: every string in JSON, and tighter in the HTML page (with at most HTML_CASES cases' evidence shown
# per criterion; the JSON keeps every case's).
JSON_STRING_LIMIT = 4000
JSON_LIST_LIMIT = 200
HTML_STRING_LIMIT = 600
HTML_CASES = 20
MAX_DEPTH = 8


def catalogue() -> list[dict]:
    """The 50 criteria in order, each with its requirement, the owner's title, the stage that can prove it and the
    owner's gate (None where the owner gives no number)."""
    out = []
    for cid, title in CRITERIA:
        gate = GATES.get(cid)
        out.append({"id": cid, "requirement": cid.split(".")[0], "title": title,
                    "stage": "post" if cid in POST_CUTOVER else "pre",
                    "gate": gate[0] if gate else None, "gate_value": gate[1] if gate else None,
                    "gate_unit": gate[2] if gate else None})
    return out


CRITERION_IDS = tuple(cid for cid, unused in CRITERIA)


# ---------------------------------------------------------------------------------------------------------------
# Inputs: the checks' cases and the waivers, refused (with what is accepted) before anything is written.


def bounded(value: Any, limit: int = JSON_STRING_LIMIT, items: int = JSON_LIST_LIMIT, depth: int = 0) -> Any:
    """``value`` made JSON-safe and small: long strings cut (saying how much was cut), long lists cut, deep nesting
    and non-JSON types turned into text."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return value[:limit] + " ... [%d more characters]" % (len(value) - limit)
    if depth >= MAX_DEPTH:
        return bounded(json.dumps(value, default=str, sort_keys=True), limit, items, depth)
    if isinstance(value, dict):
        return dict((str(k), bounded(v, limit, items, depth + 1)) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        seq = list(value)
        out = [bounded(v, limit, items, depth + 1) for v in seq[:items]]
        if len(seq) > items:
            out.append("... [%d more items]" % (len(seq) - items))
        return out
    return bounded(str(value), limit, items, depth)


def _flatten(checks: Any, path: str, out: list, problems: list) -> None:
    for i, check in enumerate(checks):
        where = "%s[%d]" % (path, i)
        if not isinstance(check, dict):
            problems.append("%s is a %s; accepted: a check module's result (a dict with cases)"
                            % (where, type(check).__name__))
        elif isinstance(check.get("results"), list) and "cases" not in check:
            _flatten(check["results"], where + ".results", out, problems)  # a registered loop
        else:
            out.append((where, check))


def collect_cases(checks: Any) -> tuple[list[dict], list[dict], list[str]]:
    """Every case of every check result, normalised (each with all the contract's keys and ``check``, where it came
    from); the checks that failed without cases (their message, so a broken check is not silent); the problems."""
    problems: list[str] = []
    if not isinstance(checks, list):
        return [], [], ["checks is a %s; accepted: a list of check module results" % type(checks).__name__]
    found: list = []
    _flatten(checks, "checks", found, problems)
    cases, errors = [], []
    for where, check in found:
        raw = check.get("cases")
        if raw is None:
            if check.get("skipped"):
                continue
            if check.get("failed"):
                errors.append({"check": where, "msg": bounded(str(check.get("msg") or "failed without cases"))})
            else:
                problems.append("%s has no cases; accepted: a check module's result with a cases list" % where)
            continue
        if not isinstance(raw, list):
            problems.append("%s.cases is a %s; accepted: a list of cases" % (where, type(raw).__name__))
            continue
        for j, case in enumerate(raw):
            case_where = "%s.cases[%d]" % (where, j)
            problem, normal = normalise_case(case, case_where)
            if problem:
                problems.append(problem)
            else:
                cases.append(normal)
    return cases, errors, problems


def normalise_case(case: Any, where: str) -> tuple[Optional[str], Optional[dict]]:
    """(None, the case with every key) or (what is wrong with it, None)."""
    if not isinstance(case, dict):
        return "%s is a %s; accepted: a dict" % (where, type(case).__name__), None
    cid = case.get("id")
    if not isinstance(cid, str) or not cid.strip():
        return "%s has no id; accepted: a non-empty string unique within its check" % where, None
    label = "%s (%r)" % (where, cid)
    if case.get("criterion") not in CRITERION_IDS:
        return ("%s: criterion %r is not known; accepted: one of %s ... %s (shared/requirements/launch-readiness.md)"
                % (label, case.get("criterion"), CRITERION_IDS[0], CRITERION_IDS[-1])), None
    if case.get("status") not in CASE_STATUSES:
        return ("%s: status %r is not accepted; accepted: %s"
                % (label, case.get("status"), ", ".join(CASE_STATUSES))), None
    suite = case.get("suite") or ""
    if suite not in SUITES:
        return "%s: suite %r is not accepted; accepted: %s" % (label, suite, ", ".join(SUITES)), None
    return None, {
        "id": cid, "suite": suite, "criterion": case["criterion"], "name": str(case.get("name") or cid),
        "status": case["status"], "measured": bounded(case.get("measured")),
        "threshold": bounded(case.get("threshold")), "unit": case.get("unit") if case.get("unit") else None,
        "critical": bool(case.get("critical")), "message": bounded(str(case.get("message") or "")),
        "evidence": bounded(case.get("evidence") if case.get("evidence") is not None else {}),
        "check": where.rsplit(".cases[", 1)[0],
    }


def waiver_problems(waivers: Any) -> list[str]:
    """What is wrong with the waivers: each needs a known criterion, a non-empty ``by`` (who) and ``reason``, no
    other key (a misspelt key would otherwise drop the reason silently), and one waiver per criterion."""
    if waivers is None:
        return []
    if not isinstance(waivers, list):
        return ["waivers is a %s; accepted: a list of {criterion, by, reason}" % type(waivers).__name__]
    problems, seen = [], set()
    for i, w in enumerate(waivers):
        where = "waivers[%d]" % i
        if not isinstance(w, dict):
            problems.append("%s is a %s; accepted: a dict {criterion, by, reason}" % (where, type(w).__name__))
            continue
        extra = sorted(set(w) - set(WAIVER_KEYS))
        if extra:
            problems.append("%s has unknown key(s) %s; accepted: criterion, by, reason" % (where, ", ".join(extra)))
        criterion = w.get("criterion")
        criterion = str(criterion) if isinstance(criterion, (str, float, int)) else criterion
        if criterion not in CRITERION_IDS:
            problems.append("%s: criterion %r is not known; accepted: one of %s ... %s"
                            % (where, w.get("criterion"), CRITERION_IDS[0], CRITERION_IDS[-1]))
        elif criterion in seen:
            problems.append("%s: criterion %s is waived twice; accepted: one waiver per criterion" % (where, criterion))
        else:
            seen.add(criterion)
        for key, what in (("by", "who waives it"), ("reason", "why")):
            if not isinstance(w.get(key), str) or not w[key].strip():
                problems.append("%s (criterion %s): %s is empty; accepted: a non-empty string (%s)"
                                % (where, criterion, key, what))
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Verdicts


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _case_summary(case: dict) -> dict:
    return dict((k, case[k]) for k in ("id", "suite", "name", "status", "measured", "threshold", "unit", "critical",
                                       "message", "check"))


def _named(cases: list[dict], limit: int = 5) -> str:
    texts = ["%s%s" % (c["id"], ": " + c["message"] if c["message"] else "") for c in cases[:limit]]
    if len(cases) > limit:
        texts.append("and %d more" % (len(cases) - limit))
    return "; ".join(texts)


def headline(cases: list[dict]) -> tuple[Any, Any, Optional[str], Optional[str]]:
    """(measured, threshold, unit, the case they come from) for a criterion: one case's own figures; for many, the
    worst of the failing cases (else of all) - the largest time, the smallest rate - where they are numbers in one
    unit; otherwise how many cases pass."""
    if len(cases) == 1:
        c = cases[0]
        return c["measured"], c["threshold"], c["unit"], c["id"]
    pool = [c for c in cases if c["status"] == "fail"] or [c for c in cases if c["status"] == "pass"] or cases
    numeric = [c for c in pool if _number(c["measured"])]
    if numeric:
        unit = numeric[0]["unit"]
        same = [c for c in numeric if c["unit"] == unit]
        worst = None
        if unit in LOWER_IS_BETTER:
            worst = max(same, key=lambda c: c["measured"])
        elif unit in HIGHER_IS_BETTER:
            worst = min(same, key=lambda c: c["measured"])
        if worst is not None:
            return worst["measured"], worst["threshold"], worst["unit"], worst["id"]
    passed = sum(1 for c in cases if c["status"] == "pass")
    return "%d of %d cases pass" % (passed, len(cases)), None, None, None


def case_verdict(cases: list[dict]) -> tuple[str, str]:
    """(status, message) by the contract's rule: no case is NOT RUN, a failing case is FAIL. A case that did not
    run (and none failing) leaves the criterion NOT RUN: what was not tried is not proven."""
    if not cases:
        return "NOT RUN", "no check covers this criterion"
    failing = [c for c in cases if c["status"] == "fail"]
    if failing:
        return "FAIL", "%d of %d case(s) fail: %s" % (len(failing), len(cases), _named(failing))
    not_run = [c for c in cases if c["status"] == "not_run"]
    if not_run:
        return "NOT RUN", "%d of %d case(s) did not run: %s" % (len(not_run), len(cases), _named(not_run))
    return "PASS", ""


def rate_verdict(cases: list[dict]) -> tuple[str, str, Any]:
    """Criterion 5.1: the pass rate of every infrastructure case (a case that did not run counts as not passed:
    the owner asks that all of them execute), gate 95 %, and FAIL whenever a critical case fails."""
    gate = GATES[RATE_CRITERION][1]
    if not cases:
        return "NOT RUN", "no infrastructure case was given", None
    passed = sum(1 for c in cases if c["status"] == "pass")
    if all(c["status"] == "not_run" for c in cases):
        return "NOT RUN", "none of the %d infrastructure case(s) ran: %s" % (len(cases), _named(cases)), None
    # truncated, not rounded: 94.996 % must not read as 95.00 % beside a FAIL
    rate = math.floor(passed * 10000 / len(cases)) / 100
    critical = [c for c in cases if c["status"] == "fail" and c["critical"]]
    failing = [c for c in cases if c["status"] != "pass"]
    text = "%d of %d infrastructure case(s) pass (%s %%, gate %s %%)" % (passed, len(cases), _fmt(rate), gate)
    if critical:
        return "FAIL", "%s, but a critical case fails (NO-GO whatever the rate): %s" % (text, _named(critical)), rate
    if passed * 100 < gate * len(cases):
        return "FAIL", "%s; not passed: %s" % (text, _named(failing)), rate
    return "PASS", text + ("; not passed: %s" % _named(failing) if failing else ""), rate


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _criterion(entry: dict, cases: list[dict], stage: str) -> dict:
    if entry["id"] == RATE_CRITERION:
        status, message, rate = rate_verdict(cases)
        measured, threshold, unit, by = rate, GATES[RATE_CRITERION][1], "%", None
    else:
        status, message = case_verdict(cases)
        measured, threshold, unit, by = headline(cases) if cases else (None, None, None, None)
    if threshold is None and entry["gate"]:
        threshold = entry["gate"]
    in_scope = not (stage == "pre" and entry["stage"] == "post")
    if not in_scope:
        status = "NOT RUN"
        message = "after the cutover: proven at stage post%s" % (
            " (%d case(s) seen before it, kept as evidence)" % len(cases) if cases else "")
    return {
        "id": entry["id"], "requirement": entry["requirement"], "title": entry["title"], "stage": entry["stage"],
        "in_scope": in_scope, "status": status, "measured": measured, "threshold": threshold, "unit": unit,
        "measured_case": by, "gate": entry["gate"], "message": message, "waiver": None, "waived_status": None,
        "evidence": [{"case": c["id"], "evidence": c["evidence"]} for c in cases
                     if c["evidence"] not in ({}, [], None)],
        "cases": [_case_summary(c) for c in cases],
    }


def _waive(criterion: dict, waiver: Optional[dict], cases: list[dict], warnings: list[str]) -> None:
    if not waiver:
        return
    criterion["waiver"] = {"by": waiver["by"].strip(), "reason": waiver["reason"].strip()}
    if criterion["status"] == "PASS":
        warnings.append("waiver of %s by %s is not needed: the criterion passes (status stays PASS)"
                        % (criterion["id"], criterion["waiver"]["by"]))
        return
    critical = [c for c in cases if c["status"] == "fail" and c["critical"]]
    if critical:
        warnings.append("%s is waived by %s although a critical (security or data-loss) case fails: %s"
                        % (criterion["id"], criterion["waiver"]["by"], _named(critical)))
    criterion["waived_status"] = criterion["status"]
    criterion["message"] = "waived by %s: %s (was %s%s)" % (
        criterion["waiver"]["by"], criterion["waiver"]["reason"], criterion["status"],
        ": " + criterion["message"] if criterion["message"] else "")
    criterion["status"] = "WAIVED"


def _summary_verdict(criterion: dict, others: list[dict]) -> None:
    """10.1 ("all systems are operational and performant") is what the technical criteria 1.1-9.5 say together,
    plus any case a check gives it: FAIL when one of them fails, NOT RUN when one is not proven, else its own."""
    technical = [c for c in others if c["in_scope"] and int(c["requirement"]) < 10]
    failing = [c["id"] for c in technical if c["status"] == "FAIL"]
    unproven = [c["id"] for c in technical if c["status"] == "NOT RUN"]
    ok = len(technical) - len(failing) - len(unproven)
    own = criterion["status"]
    criterion["measured"] = "%d of %d technical criteria pass or are waived" % (ok, len(technical))
    criterion["measured_case"] = None
    criterion["threshold"] = "all %d" % len(technical)
    criterion["unit"] = None
    if not criterion["in_scope"]:
        return
    if own == "FAIL":
        return
    if failing:
        criterion["status"] = "FAIL"
        criterion["message"] = "failing: %s" % ", ".join(failing)
        if unproven:
            criterion["message"] += "; not run: %s" % ", ".join(unproven)
    elif unproven:
        criterion["status"] = "NOT RUN"
        criterion["message"] = "not proven: %s" % ", ".join(unproven)
    elif own == "NOT RUN" and criterion["cases"]:
        return  # a case of its own did not run
    else:
        criterion["status"] = "PASS"
        criterion["message"] = ""


def evaluate(cases: list[dict], waivers: Optional[list], stage: str) -> tuple[list[dict], list[str]]:
    """The 50 criteria with their verdicts, in catalogue order, and the warnings (unneeded waivers, waived critical
    failures). ``cases`` and ``waivers`` must have passed collect_cases / waiver_problems."""
    by_criterion: dict[str, list[dict]] = dict((cid, []) for cid in CRITERION_IDS)
    for c in cases:
        by_criterion[c["criterion"]].append(c)
    rate_cases = [c for c in cases if c["suite"] == "infrastructure" or c["criterion"] == RATE_CRITERION]
    waiver_of = dict((str(w["criterion"]), w) for w in waivers or [])
    warnings: list[str] = []
    out = []
    for entry in catalogue():
        own = rate_cases if entry["id"] == RATE_CRITERION else by_criterion[entry["id"]]
        criterion = _criterion(entry, own, stage)
        if entry["id"] != SUMMARY_CRITERION:
            _waive(criterion, waiver_of.get(entry["id"]), own, warnings)
        out.append(criterion)
    summary = next(c for c in out if c["id"] == SUMMARY_CRITERION)
    _summary_verdict(summary, [c for c in out if c["id"] != SUMMARY_CRITERION])
    _waive(summary, waiver_of.get(SUMMARY_CRITERION), by_criterion[SUMMARY_CRITERION], warnings)
    return out, warnings


def latency_groups(cases: list[dict]) -> list[dict]:
    """The latency chart's bars: each performance case whose evidence is {"group", "p50_ms", "p95_ms", "p99_ms"}."""
    out = []
    for c in cases:
        e = c["evidence"]
        if c["suite"] != "performance" or not isinstance(e, dict) or not isinstance(e.get("group"), str):
            continue
        if all(_number(e.get(k)) for k in ("p50_ms", "p95_ms", "p99_ms")):
            out.append({"group": e["group"], "p50_ms": e["p50_ms"], "p95_ms": e["p95_ms"], "p99_ms": e["p99_ms"],
                        "case": c["id"], "criterion": c["criterion"], "status": c["status"]})
    return out


def latency_gate(cases: list[dict]) -> Any:
    """The gate line: the latency cases' own threshold in ms when they give one, else the owner's 200 ms."""
    for c in cases:
        if c["suite"] == "performance" and c["unit"] == "ms" and _number(c["threshold"]) \
                and isinstance(c["evidence"], dict) and "p95_ms" in c["evidence"]:
            return c["threshold"]
    return LATENCY_GATE_MS


def earlier_entry(doc: Any, path: str) -> tuple[Optional[dict], Optional[str]]:
    """What a report keeps of an earlier one (the pre-switch validation, in the one-command launch's final report):
    its stage, verdict, time, counts, blocking ids and each criterion's status; or what is wrong with ``doc``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("criteria"), list) or doc.get("stage") not in ("pre", "post"):
        return None, "%s is not a launch report (launch-report.json: stage, verdict, criteria)" % path
    return {"path": path, "stage": doc["stage"], "verdict": doc.get("verdict"), "generated": doc.get("generated"),
            "summary": doc.get("summary") or {}, "blocking": doc.get("blocking") or [],
            "statuses": dict((str(c.get("id")), c.get("status")) for c in doc["criteria"] if isinstance(c, dict)),
            "waivers": [{"id": c.get("id"), "by": c["waiver"].get("by"), "reason": c["waiver"].get("reason")}
                        for c in doc["criteria"] if isinstance(c, dict) and isinstance(c.get("waiver"), dict)]}, None


def build(checks: Any, waivers: Any, stage: str, domain: str, generated: str, duration_s: Optional[float] = None,
          check_mode: bool = False, earlier: Optional[list] = None) -> tuple[Optional[dict], list[str]]:
    """(the report document, []) or (None, every problem with the input) - nothing is rendered from bad input.
    ``earlier``: earlier_entry() of each earlier report this one carries (shown beside this one's statuses)."""
    problems = []
    if stage not in ("pre", "post"):
        problems.append("stage %r is not accepted; accepted: pre (before the name servers move) or post" % (stage,))
    cases, errors, case_problems = collect_cases(checks)
    problems += case_problems + waiver_problems(waivers)
    if problems:
        return None, problems
    criteria, warnings = evaluate(cases, waivers, stage)
    for e in errors:
        warnings.append("check %s failed without cases: %s" % (e["check"], e["msg"]))
    blocking = [c["id"] for c in criteria if c["in_scope"] and c["status"] not in ("PASS", "WAIVED")]
    counts = {"pass": 0, "fail": 0, "waived": 0, "not_run": 0}
    for c in criteria:
        counts[c["status"].lower().replace(" ", "_")] += 1
    report = {
        "schema_version": 1, "verdict": "NO-GO" if blocking else "GO", "stage": stage, "domain": domain,
        "generated": generated, "duration_s": duration_s, "check_mode": bool(check_mode), "summary": counts,
        "blocking": blocking, "warnings": warnings, "check_errors": errors,
        "latency": latency_groups(cases), "latency_gate_ms": latency_gate(cases), "criteria": criteria,
        "earlier": list(earlier or []),
    }
    return report, []


# ---------------------------------------------------------------------------------------------------------------
# Renderers. Every one escapes what it shows: the evidence is text the platform under test sent back.

# Characters XML 1.0 cannot hold at all (escaping does not help): control characters from a response body.
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    """Any value as one line of display text, with characters XML cannot carry replaced."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif _number(value):
        text = _fmt(value)
    else:
        text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return _XML_INVALID.sub("\ufffd", text)


def figure(value: Any, unit: Optional[str]) -> str:
    """A measured value or threshold with its unit ("212.5 ms", "94.9 %")."""
    if value is None or value == "":
        return ""
    return "%s %s" % (_text(value), unit) if unit and _number(value) else _text(value)


def render_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"


def _md(value: Any) -> str:
    """A Markdown table cell: one line, pipes escaped, HTML inert (GitLab and GitHub render inline HTML)."""
    text = " ".join(_text(value).split())
    return html.escape(text, quote=False).replace("|", "\\|").replace("`", "\\`")


def render_markdown(report: dict) -> str:
    s = report["summary"]
    lines = ["# Launch report for %s: **%s**" % (_md(report["domain"]), report["verdict"]), ""]
    if report["check_mode"]:
        lines += ["> **Check mode** (`--check`): probes that change anything did not run; this is a rehearsal of the "
                  "report, not a verdict to launch on.", ""]
    lines.append("Stage **%s**, generated %s%s. %d pass, %d fail, %d waived, %d not run." % (
        report["stage"], report["generated"],
        ", the checks took %s s" % _fmt(report["duration_s"]) if report["duration_s"] is not None else "",
        s["pass"], s["fail"], s["waived"], s["not_run"]))
    lines.append("")
    by_id = dict((c["id"], c) for c in report["criteria"])
    if report["blocking"]:
        lines.append("Blocking the launch:")
        lines.append("")
        for cid in report["blocking"]:
            c = by_id[cid]
            lines.append("- **%s %s** %s%s" % (cid, c["status"], _md(c["title"]),
                                               " - " + _md(c["message"]) if c["message"] else ""))
        lines.append("")
    for w in report["warnings"]:
        lines.append("- warning: %s" % _md(w))
    if report["warnings"]:
        lines.append("")
    earlier = report.get("earlier") or []
    for e in earlier:
        lines.append("Carries the %s-cutover validation of %s: **%s** (%s) - `%s`." % (
            _md(e["stage"]), _md(e["generated"]), _md(e["verdict"]), _md(", ".join(
                "%s %s" % (v, k) for k, v in sorted(e["summary"].items()))), _md(e["path"])))
    if earlier:
        lines.append("")
    extra = "".join(" %s |" % _md(e["stage"]) for e in earlier)
    lines += ["| id | status |%s criterion | measured | threshold | note |" % extra,
              "|---|---|%s---|---|---|---|" % ("---|" * len(earlier))]
    for c in report["criteria"]:
        note = c["message"]
        if c["waiver"] and c["status"] == "PASS":
            note = "waiver by %s not needed" % c["waiver"]["by"]
        lines.append("| %s | %s |%s %s | %s | %s | %s |" % (
            c["id"], c["status"], "".join(" %s |" % _md(e["statuses"].get(c["id"], "")) for e in earlier),
            _md(c["title"]), _md(figure(c["measured"], c["unit"])), _md(figure(c["threshold"], c["unit"])), _md(note)))
    if report["latency"]:
        lines += ["", "## Latency (gate p95 < %s ms)" % _fmt(report["latency_gate_ms"]), "",
                  "| group | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|"]
        for g in report["latency"]:
            lines.append("| %s | %s | %s | %s |" % (_md(g["group"]), _fmt(g["p50_ms"]), _fmt(g["p95_ms"]),
                                                    _fmt(g["p99_ms"])))
    lines += ["", "Evidence for every case: `launch-report.json`; the page to read: `launch-report.html`.", ""]
    return "\n".join(lines)


def _junit_case(parent: ET.Element, classname: str, name: str, status: str, message: str, details: str) -> None:
    case = ET.SubElement(parent, "testcase", classname=_text(classname), name=_text(name))
    if status == "FAIL":
        ET.SubElement(case, "failure", message=_text(message)[:1000], type="FAIL").text = _text(details)
    elif status == "NOT RUN":
        ET.SubElement(case, "skipped", message=_text(message)[:1000])
    if details:
        ET.SubElement(case, "system-out").text = _text(details)


def _suite_counts(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", "0")
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))


def render_junit(report: dict, endpoint_cases: Optional[list[dict]] = None) -> str:
    """A <testsuite> per requirement (a <testcase> per criterion: <failure> for FAIL, <skipped> for NOT RUN, WAIVED
    passes with the waiver in <system-out>) and one "endpoints" suite with a <testcase> per endpoint case."""
    root = ET.Element("testsuites", name="launch-readiness %s" % _text(report["domain"]))
    for number, title in REQUIREMENTS.items():
        suite = ET.SubElement(root, "testsuite", name="Requirement %s: %s" % (number, title), id=number)
        for c in (c for c in report["criteria"] if c["requirement"] == number):
            details = ["%s - verdict %s" % (c["id"], c["status"])]
            if c["measured"] is not None:
                details.append("measured %s against %s" % (figure(c["measured"], c["unit"]),
                                                           figure(c["threshold"], c["unit"]) or "no threshold"))
            if c["message"]:
                details.append(c["message"])
            if c["waiver"]:
                details.append("waiver by %s: %s" % (c["waiver"]["by"], c["waiver"]["reason"]))
            for k in c["cases"][:50]:
                details.append("case %s [%s] %s" % (k["id"], k["status"], k["message"]))
            _junit_case(suite, "launch.requirement%s" % number, "%s %s" % (c["id"], c["title"]), c["status"],
                        c["message"], "\n".join(_text(d) for d in details))
        _suite_counts(suite)
    suite = ET.SubElement(root, "testsuite", name="endpoints", id="endpoints")
    for k in endpoint_cases or []:
        status = {"pass": "PASS", "fail": "FAIL", "not_run": "NOT RUN"}[k["status"]]
        details = "criterion %s; measured %s against %s" % (k["criterion"], figure(k["measured"], k["unit"]) or "-",
                                                            figure(k["threshold"], k["unit"]) or "-")
        if k["message"]:
            details += "; " + _text(k["message"])
        _junit_case(suite, "launch.endpoints", k["id"], status, k["message"] or status, details)
    _suite_counts(suite)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key)) for s in root.findall("testsuite"))))
    if report.get("duration_s") is not None:
        root.set("time", _fmt(report["duration_s"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def endpoint_cases(report: dict) -> list[dict]:
    """The cases of suite "endpoints" across the criteria, once each (for the JUnit "endpoints" suite)."""
    out, seen = [], set()
    for c in report["criteria"]:
        for k in c["cases"]:
            key = (k["check"], k["id"])
            if k["suite"] == "endpoints" and key not in seen:
                seen.add(key)
                out.append(dict(k, criterion=c["id"]))
    return out


def _h(value: Any) -> str:
    return html.escape(_text(value), quote=True)


CSS = """
:root { --pass: #13663a; --fail: #b3261e; --waived: #8a5a00; --notrun: #555; --line: #d0d4da; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1b1f24;
       background: #f6f7f9; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
#verdict { font-size: 72px; font-weight: 800; letter-spacing: 2px; margin: 8px 0 0; }
.verdict-go { color: var(--pass); } .verdict-nogo { color: var(--fail); }
#counts span { display: inline-block; margin-right: 18px; font-size: 18px; }
.banner { background: #fff4ce; border: 1px solid #e0c36c; padding: 10px 14px; margin: 12px 0; border-radius: 6px; }
.meta { color: #4a5361; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin: 18px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { background: #eef0f3; }
#criteria > thead th { position: sticky; top: 0; z-index: 1; }
tr.requirement th { background: #e3e7ee; font-size: 14px; }
td.id { white-space: nowrap; font-weight: 600; }
.status { display: inline-block; min-width: 64px; text-align: center; padding: 2px 8px; border-radius: 10px;
          color: #fff; font-size: 12px; font-weight: 700; white-space: nowrap; }
.status-pass { background: var(--pass); } .status-fail { background: var(--fail); }
.status-waived { background: var(--waived); } .status-not-run { background: var(--notrun); }
td.figures { white-space: nowrap; } .vs { color: #6b7380; }
.message { color: #3b4350; font-size: 13px; margin-top: 4px; }
details summary { cursor: pointer; color: #1f4e9c; white-space: nowrap; }
pre { white-space: pre-wrap; word-break: break-all; background: #f3f4f6; padding: 8px; font-size: 12px;
      max-height: 320px; overflow: auto; }
table.cases td, table.cases th { font-size: 12px; padding: 3px 6px; }
.out-of-scope td { color: #6b7380; }
svg text { font: 12px system-ui, sans-serif; fill: #1b1f24; }
"""


def _badge(status: str) -> str:
    return '<span class="status status-%s">%s</span>' % (status.lower().replace(" ", "-"), _h(status))


def _chart(report: dict) -> str:
    """Grouped bars (p50/p95/p99) per endpoint group with the gate as a dashed line; inline SVG, no script."""
    groups = report["latency"]
    if not groups:
        return '<p id="latency-none">No latency was measured (no performance case with p50/p95/p99 evidence).</p>'
    gate = report["latency_gate_ms"] if _number(report["latency_gate_ms"]) else LATENCY_GATE_MS
    top = max([gate] + [g[k] for g in groups for k in ("p50_ms", "p95_ms", "p99_ms")]) * 1.15 or 1
    step = 10 ** math.floor(math.log10(top / 5)) if top > 5 else 1
    for mult in (1, 2, 5, 10):
        if top / (step * mult) <= 6:
            step *= mult
            break
    left, right, pad_top, plot_h, slot = 56, 96, 28, 220, 84
    width = max(480, left + right + slot * len(groups))
    height = pad_top + plot_h + 70
    colours = (("p50_ms", "#6aa9e9", "p50"), ("p95_ms", "#1f5fae", "p95"), ("p99_ms", "#0b2a52", "p99"))

    def y(v: float) -> float:
        return pad_top + plot_h - plot_h * min(v, top) / top

    parts = ['<svg id="latency-chart" xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" '
             'viewBox="0 0 %d %d" aria-label="latency per endpoint group: p50, p95 and p99 in ms, gate %s ms">'
             % (width, height, width, height, _h(gate))]
    tick = 0.0
    while tick <= top:
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e3e6ea"/>' % (left, width - right, y(tick),
                                                                                       y(tick)))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 6, y(tick) + 4, _h(_fmt(tick))))
        tick += step
    parts.append('<text x="12" y="%d" transform="rotate(-90 12 %d)" text-anchor="middle">ms</text>'
                 % (pad_top + plot_h // 2, pad_top + plot_h // 2))
    for i, g in enumerate(groups):
        x0 = left + slot * i + 12
        for j, (key, colour, label) in enumerate(colours):
            value = g[key]
            parts.append('<rect class="bar %s" x="%d" y="%.1f" width="18" height="%.1f" fill="%s"><title>%s %s: %s ms'
                         '</title></rect>' % (label, x0 + 20 * j, y(value), pad_top + plot_h - y(value), colour,
                                              _h(g["group"]), label, _h(_fmt(value))))
        parts.append('<text class="group" x="%d" y="%d" text-anchor="middle">%s</text>'
                     % (x0 + 29, pad_top + plot_h + 16, _h(g["group"][:14])))
        parts.append('<text x="%d" y="%d" text-anchor="middle" fill="%s">p95 %s</text>'
                     % (x0 + 29, pad_top + plot_h + 32, "#b3261e" if g["p95_ms"] >= gate else "#13663a",
                        _h(_fmt(g["p95_ms"]))))
    parts.append('<line id="latency-gate" x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#b3261e" stroke-width="2" '
                 'stroke-dasharray="6 4"/>' % (left, width - right, y(gate), y(gate)))
    parts.append('<text x="%d" y="%.1f" text-anchor="start" fill="#b3261e">gate %s ms</text>'
                 % (width - right + 6, y(gate) + 4, _h(_fmt(gate))))
    for j, (_key, colour, label) in enumerate(colours):
        parts.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>'
                     % (left + 70 * j, height - 18, colour, left + 70 * j + 16, height - 8, label))
    parts.append("</svg>")
    return "\n".join(parts)


def _evidence_cell(c: dict) -> str:
    if not c["cases"]:
        return '<span class="none">no case</span>'
    rows = ['<table class="cases"><tr><th>case</th><th>status</th><th>measured</th><th>threshold</th>'
            "<th>message</th></tr>"]
    for k in c["cases"]:
        rows.append('<tr class="case" data-case="%s" data-status="%s"><td>%s%s</td><td>%s</td><td>%s</td><td>%s</td>'
                    "<td>%s</td></tr>" % (_h(k["id"]), _h(k["status"]), _h(k["id"]),
                                          " (critical)" if k["critical"] else "", _h(k["status"]),
                                          _h(figure(k["measured"], k["unit"])),
                                          _h(figure(k["threshold"], k["unit"])),
                                          _h(bounded(k["message"], HTML_STRING_LIMIT))))
    rows.append("</table>")
    for e in c["evidence"][:HTML_CASES]:
        shown = json.dumps(bounded(e["evidence"], HTML_STRING_LIMIT, 20), indent=1, ensure_ascii=False,
                           sort_keys=True)
        rows.append('<div class="evidence"><b>%s</b><pre>%s</pre></div>' % (_h(e["case"]), _h(shown)))
    if len(c["evidence"]) > HTML_CASES:
        rows.append('<p class="more">and %d more cases\' evidence in launch-report.json</p>'
                    % (len(c["evidence"]) - HTML_CASES))
    failing = sum(1 for k in c["cases"] if k["status"] == "fail")
    label = "%d case(s)%s" % (len(c["cases"]), ", %d failing" % failing if failing else "")
    return "<details><summary>%s</summary>%s</details>" % (_h(label), "".join(rows))


def render_html(report: dict) -> str:
    """One self-contained page (inline CSS and SVG, no script, nothing fetched): the verdict first, the counts, the
    criteria table with each criterion's evidence in <details>, the latency chart."""
    s = report["summary"]
    go = report["verdict"] == "GO"
    by_id = dict((c["id"], c) for c in report["criteria"])
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           # nothing on this page may load or run anything: a sample that slipped through stays inert
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
           "img-src data:\">",
           "<title>Launch report %s: %s</title>" % (_h(report["domain"]), _h(report["verdict"])),
           "<style>%s</style></head><body><main>" % CSS]
    out.append('<p class="meta">Launch readiness of <b id="domain">%s</b></p>' % _h(report["domain"]))
    out.append('<h1 id="verdict" class="%s">%s</h1>' % ("verdict-go" if go else "verdict-nogo", _h(report["verdict"])))
    out.append('<p id="counts"><span class="count-pass">%d pass</span> <span class="count-fail">%d fail</span> '
               '<span class="count-waived">%d waived</span> <span class="count-not-run">%d not run</span></p>'
               % (s["pass"], s["fail"], s["waived"], s["not_run"]))
    if report["check_mode"]:
        out.append('<p id="check-mode" class="banner"><b>Check mode.</b> This report comes from a <code>--check</code>'
                   " run: probes that change anything (a payment, an S3 probe object) did not run. It rehearses the"
                   " report; it is not a verdict to launch on.</p>")
    duration = ", the checks took %s s" % _h(_fmt(report["duration_s"])) if report["duration_s"] is not None else ""
    out.append('<p class="meta">Stage <b id="stage">%s</b>%s, generated %s%s.</p>' % (
        _h(report["stage"]), " (before the name servers move: %s are proven after the cutover)"
        % ", ".join(POST_CUTOVER) if report["stage"] == "pre" else "", _h(report["generated"]), duration))
    if report["blocking"]:
        items = "".join('<li data-id="%s"><b>%s</b> %s %s<div class="message">%s</div></li>'
                        % (_h(cid), _h(cid), _badge(by_id[cid]["status"]), _h(by_id[cid]["title"]),
                           _h(by_id[cid]["message"])) for cid in report["blocking"])
        out.append('<section id="blocking"><h2>Blocking the launch</h2><ul>%s</ul></section>' % items)
    notes = list(report["warnings"])
    if notes:
        out.append('<section id="warnings"><h2>Warnings</h2><ul>%s</ul></section>'
                   % "".join("<li>%s</li>" % _h(w) for w in notes))
    out.append('<section id="criteria-section"><h2>Acceptance criteria</h2><table id="criteria"><thead><tr>'
               "<th>id</th><th>criterion</th><th>status</th><th>measured vs threshold</th><th>evidence</th></tr>"
               "</thead>")
    for number, title in REQUIREMENTS.items():
        out.append('<tbody><tr class="requirement" data-requirement="%s"><th colspan="5">Requirement %s: %s</th></tr>'
                   % (number, number, _h(title)))
        for c in (c for c in report["criteria"] if c["requirement"] == number):
            measured = figure(c["measured"], c["unit"])
            threshold = figure(c["threshold"], c["unit"])
            figures = "%s%s" % (_h(measured) or "-", ' <span class="vs">vs</span> %s' % _h(threshold)
                                if threshold else "")
            message = c["message"]
            if c["waiver"] and c["status"] == "PASS":
                message = "waiver by %s not needed: it passes" % c["waiver"]["by"]
            waiver = ""
            if c["waiver"]:
                waiver = '<div class="waiver">waived by <b class="waiver-by">%s</b>: <span class="waiver-reason">%s' \
                         "</span></div>" % (_h(c["waiver"]["by"]), _h(c["waiver"]["reason"]))
            out.append('<tr class="criterion%s" id="criterion-%s" data-id="%s" data-status="%s">'
                       '<td class="id">%s</td><td class="title">%s%s%s</td><td>%s</td><td class="figures">%s</td>'
                       '<td class="evidence">%s</td></tr>'
                       % ("" if c["in_scope"] else " out-of-scope", _h(c["id"].replace(".", "-")), _h(c["id"]),
                          _h(c["status"]), _h(c["id"]), _h(c["title"]),
                          '<div class="message">%s</div>' % _h(message) if message else "", waiver,
                          _badge(c["status"]), figures, _evidence_cell(c)))
        out.append("</tbody>")
    out.append("</table></section>")
    for n, e in enumerate(report.get("earlier") or []):
        rows = "".join('<tr data-id="%s"><td>%s</td><td>%s</td><td>%s</td></tr>'
                       % (_h(c["id"]), _h(c["id"]), _badge(e["statuses"].get(c["id"], "")), _badge(c["status"]))
                       for c in report["criteria"])
        waivers = "".join("<li>%s waived by %s: %s</li>" % (_h(w["id"]), _h(w["by"]), _h(w["reason"]))
                          for w in e["waivers"])
        out.append('<section class="earlier" id="earlier-%d"><h2>The %s-cutover validation: <span class="earlier-verdict">'
                   "%s</span></h2><p class=\"meta\">Generated %s; %s. Its report: %s.</p>%s<table><thead><tr><th>id</th>"
                   "<th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table></section>"
                   % (n, _h(e["stage"]), _h(e["verdict"]), _h(e["generated"]),
                      _h(", ".join("%s %s" % (v, k) for k, v in sorted(e["summary"].items()))), _h(e["path"]),
                      "<ul>%s</ul>" % waivers if waivers else "", _h(e["stage"]), _h(report["stage"]), rows))
    out.append('<section id="latency"><h2>Latency per endpoint group (p50 / p95 / p99, gate p95 &lt; %s ms)</h2>%s'
               "</section>" % (_h(_fmt(report["latency_gate_ms"])), _chart(report)))
    if report["check_errors"]:
        out.append('<section id="check-errors"><h2>Checks that failed without cases</h2><ul>%s</ul></section>'
                   % "".join("<li>%s: %s</li>" % (_h(e["check"]), _h(e["msg"])) for e in report["check_errors"]))
    out.append('<p class="meta">Every case\'s evidence: launch-report.json (schema: docs/report.md of the '
               "directfanz.launch collection).</p></main></body></html>")
    return "\n".join(out) + "\n"


def render_all(report: dict) -> dict[str, str]:
    """File name -> content, the four files of ``reports/<domain>/``."""
    return {
        "launch-report.json": render_json(report),
        "launch-report.md": render_markdown(report),
        "launch-report.junit.xml": render_junit(report, endpoint_cases(report)),
        "launch-report.html": render_html(report),
    }
