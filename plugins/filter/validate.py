# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shaping for the validate phase: which secrets the owner's file must have given, and the security cases made from
what encryption_report and the least-privilege lint found (the case shape is docs/validate.md's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import math
import re

from ansible_collections.directfanz.launch.plugins.module_utils.validate_infra import case, encryption_cases, policy_cases

# The sign-offs the owner's checklist asks for (requirement 10.4 marketing; 10.2 legal for compliance), each by a named
# person on a date.
SIGNOFF_AREAS = {
    "marketing": ("10.4", "Launch announcements and user onboarding materials are ready"),
    "legal": ("10.2", "Terms of Service, Privacy Policy and compliance measures are approved"),
}


def validate_secret_keys(schema, composed=("DATABASE_URL", "DIRECT_URL", "REDIS_URL")):
    """The Secrets Manager keys (``<name>/app/<key>``) the config phase must have written: every required key of the
    secrets contract, and the URLs it composes."""
    keys = [e["key"] for e in schema or [] if e.get("required") and not e.get("composed") and not e.get("forbidden")]
    return sorted(set(keys) | set(composed))


def validate_encryption_cases(results):
    """One critical 9.2 case per item of each encryption_report result (a looped task's ``results`` or one result)."""
    if isinstance(results, dict):
        results = results.get("results", [results])
    items, broken = [], []
    for result in results or []:
        if result.get("failed"):
            # the report could not be made (the region unreachable, say): a failing critical case, not a silent gap
            region = result.get("item") or "a region"
            broken.append(case("9.2", "encryption report %s" % region, "The encryption report of %s ran" % region, False,
                               {"region": region}, str(result.get("msg") or "encryption_report failed"), critical=True))
            continue
        failures = set(result.get("failures") or [])
        for item in result.get("items") or []:
            sentence = "%s %s (%s): %s" % (item.get("kind"), item.get("name"), item.get("aspect"), item.get("detail"))
            items.append(dict(item, failing=sentence in failures))
    return encryption_cases(items) + broken


def validate_policy_cases(policies, problems):
    """9.3's cases: one per IAM policy the launch wrote, failing with each least-privilege problem the lint found."""
    return policy_cases(policies, problems)


def validate_signoff_cases(signoffs, areas=None, today=None, source=""):
    """One case per required sign-off area: it passes only with a named approver (``by``) and an ISO date that is not in
    the future; a missing or incomplete one fails - never silently passed. ``signoffs`` is the inventory file's
    ``signoffs`` list ([{area, by, date, note}])."""
    today = today or datetime.date.today().isoformat()
    by_area = {}
    for entry in signoffs or []:
        if isinstance(entry, dict) and entry.get("area"):
            by_area[str(entry["area"]).lower()] = entry
    out = []
    for area in areas or sorted(SIGNOFF_AREAS):
        criterion, title = SIGNOFF_AREAS.get(area, ("10.4", "%s sign-off" % area))
        entry = by_area.get(area) or {}
        who = str(entry.get("by") or "").strip()
        date = str(entry.get("date") or "").strip()
        problems = []
        if not entry:
            problems.append("no %s sign-off in %s" % (area, source or "the sign-offs file"))
        else:
            if not who:
                problems.append("the %s sign-off names no approver (by)" % area)
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", date):
                problems.append("the %s sign-off's date %r is not YYYY-MM-DD" % (area, date))
            elif date > today:
                problems.append("the %s sign-off is dated %s, in the future" % (area, date))
        out.append(case(criterion, "sign-off %s" % area, title + " (signed off)", not problems,
                        {"area": area, "by": who, "date": date, "note": entry.get("note", ""), "file": source},
                        "; ".join(problems)))
    for c in out:
        c["suite"] = "business"
    return out


def validate_waf_burst_record(result, window=300):
    """The record a validation's WAF burst leaves (the role keeps it in the domain's reports, ``waf-burst.json``):
    when the burst the rate rule stopped ended, and the rule's ``window`` in seconds - what the next validation waits
    out. ``{}`` when no burst met the rule (none sent, or a rule that did not block, which blocks nobody)."""
    for c in (result or {}).get("cases") or []:
        evidence = c.get("evidence") or {}
        if c.get("id") == "waf rate burst" and c.get("status") == "pass" and evidence.get("ended"):
            return {"ended": evidence["ended"], "window": int(window), "url": evidence.get("url"),
                    "blocked_after": evidence.get("blocked_after")}
    return {}


def validate_waf_block_wait(record, margin=20, now=None):
    """Seconds until the rate rule lets this host through again after the burst of ``record``
    (validate_waf_burst_record): its end + the rule's window + ``margin`` - now, 0 when that has passed or there is no
    record. AWS WAF counts a host's requests over the whole window and evaluates the rule every few seconds, so the
    block of a burst lasts about the window; ``margin`` covers the evaluation's lag."""
    record = record or {}
    ended = _epoch(record.get("ended"))
    if ended is None:
        return 0
    now = datetime.datetime.now(datetime.timezone.utc).timestamp() if now is None else float(now)
    return max(0, int(math.ceil(ended + int(record.get("window") or 300) + float(margin) - now)))


# ---------------------------------------------------------------------------------------------------------------
# The one-command launch (playbooks/launch.yml, docs/launch.md): the criteria only the cutover can prove (1.3, 1.4,
# 10.5) as cases, the decision after the post-switch validation, and the announcement.

def _epoch(text):
    try:
        return datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def launch_server_addresses(propagation):
    """``address:port`` of every expected name server dns_propagation located (its ``authoritative`` rows): the
    resolvers the pre-switch validation asks, so it sees the new zone while the world still sees the old one."""
    out = []
    for row in (propagation or {}).get("authoritative") or []:
        address = row.get("address")
        if address:
            port = int(row.get("port") or 53)
            out.append(("[%s]:%d" if ":" in address else "%s:%d") % (address, port))
    return out


def launch_dns_cases(propagation, registrar, min_ratio=1.0):
    """1.3 and 1.4's cases, and 10.5's cutover case, from a dns_propagation result taken after the switch (its
    ``records``: the names the launch routes) and a read of the registrar's name servers (hostinger_nameservers in
    check mode: ``changed`` false means they are already the zone's).

    1.3 - per name and type: every reachable resolver answers what the Route 53 servers answer (and they answer
    something). 1.4 - the parent delegates to the Route 53 servers, and the share of reachable resolvers answering
    every question like them is at least ``min_ratio``; a resolver that does not answer is listed, not counted."""
    propagation = propagation or {}
    authoritative = [a for a in propagation.get("authoritative") or [] if a.get("authoritative")]
    truth = dict(authoritative[0].get("answers") or {}) if authoritative else {}
    resolvers = propagation.get("resolvers") or []
    reachable = [r for r in resolvers if r.get("state") not in ("timeout", "error")]
    out = []
    for key in sorted(k for k in truth if not k.endswith(" NS")):
        name, rtype = key.rsplit(" ", 1)
        agree = [r["server"] for r in reachable if (r.get("answers") or {}).get(key) == truth[key]]
        differ = dict((r["server"], (r.get("answers") or {}).get(key)) for r in reachable if r["server"] not in agree)
        ok = bool(truth[key]) and bool(reachable) and not differ
        share = round(100.0 * len(agree) / len(reachable), 1) if reachable else 0.0
        out.append(case("1.3", "resolves to AWS %s %s" % (name, rtype),
                        "%s %s answers from the Route 53 zone through every resolver" % (name, rtype), ok,
                        {"route53": truth[key], "resolvers_agreeing": agree, "resolvers_differing": differ,
                         "unreachable": [r["server"] for r in resolvers if r not in reachable]},
                        "the Route 53 servers answer nothing for %s %s" % (name, rtype) if not truth[key] else
                        "no resolver answered" if not reachable else
                        "%d of %d resolvers answer otherwise: %s" % (len(differ), len(reachable), differ),
                        critical=True, measured=share, threshold=100, unit="%"))
    if not truth:
        out.append(case("1.3", "resolves to AWS", "The routed names answer from the Route 53 zone", False,
                        {"authoritative": propagation.get("authoritative")},
                        "no Route 53 server answered authoritatively", critical=True))
    parent = propagation.get("parent") or {}
    out.append(case("1.4", "parent delegation", "The parent zone delegates the domain to the Route 53 servers",
                    bool(parent.get("matches")), {"nameservers": parent.get("nameservers"), "ns_ttl": parent.get("ns_ttl")},
                    "the parent delegates to %s" % ", ".join(parent.get("nameservers") or ["nothing"]), critical=True))
    ratio = float(propagation.get("ratio") or 0.0)
    states = dict((r["server"], r.get("state")) for r in resolvers)
    out.append(case("1.4", "global resolution", "Resolvers of different operators answer from the Route 53 zone",
                    bool(reachable) and ratio >= float(min_ratio),
                    {"states": states, "counts": propagation.get("counts"), "checked_in_s": propagation.get("elapsed")},
                    "%.0f %% of %d reachable resolvers answer like the Route 53 servers (%s)" % (
                        ratio * 100, len(reachable), ", ".join("%s: %s" % kv for kv in sorted(states.items())) or "none"),
                    measured=round(ratio * 100, 1), threshold=round(float(min_ratio) * 100, 1), unit="%"))
    registrar = registrar or {}
    switched = registrar.get("changed") is False and not registrar.get("failed")
    out.append(case("10.5", "production cutover", "The registrar delegates the domain to the Route 53 zone", switched,
                    {"registrar": registrar.get("previous_nameservers"), "route53": registrar.get("nameservers")},
                    "the registrar still lists %s" % ", ".join(registrar.get("previous_nameservers") or ["nothing"]),
                    critical=True))
    return out


def launch_continuity_cases(continuity):
    """1.4's continuity case from the cutover's probe (dns_continuity): every answer every resolver gave while the name
    servers moved was the old or the new zone's - "N probes through M resolvers, 0 lost" - or the lost ones with their
    times. None when no probe ran in this run (no switch)."""
    c = continuity or {}
    if not c.get("probes"):
        return []
    return [case("1.4", "continuity during the switch", "No answer was lost while the name servers moved (mail records, "
                 "the apex and the subdomains, every resolver, every second)", c.get("lost", 1) == 0,
                 {"counts": c.get("counts"), "anomalies": (c.get("anomalies") or [])[:20], "seconds": c.get("seconds"),
                  "per_resolver": c.get("per_resolver"), "began_at": c.get("began_at")},
                 c.get("summary") or "", critical=True, measured=c.get("lost"), threshold=0)]


def launch_post_decision(report, backup=None, window=3600, auto_rollback=False, now=None):
    """What follows the post-switch validation: ``ok`` when nothing blocks but the announcement (10.5 NOT RUN, waiting
    for it); else ``rollback`` when ``auto_rollback`` and the switch (the name-server backup's ``saved_at``) is at most
    ``window`` seconds old. ``elapsed`` is null when no backup says when the switch was."""
    report = report or {}
    failed = set(c.get("id") for c in report.get("failed_criteria") or [])
    blocking = [b for b in report.get("blocking") or [] if b != "10.5" or b in failed]
    saved = _epoch((backup or {}).get("saved_at"))
    now = datetime.datetime.now(datetime.timezone.utc).timestamp() if now is None else float(now)
    elapsed = int(now - saved) if saved is not None else None
    ok = not blocking
    within = elapsed is not None and elapsed <= int(window)
    return {"ok": ok, "blocking": blocking, "elapsed": elapsed, "window": int(window), "within_window": within,
            "rollback": (not ok) and bool(auto_rollback) and within}


def launch_drill_due(record, max_age_hours=168, now=None):
    """Whether the launch runs the restore drill: no record, a failed one, or one older than ``max_age_hours`` (the
    drill restores a copy of the database, minutes to an hour on AWS: a re-run of the launch reuses a fresh record)."""
    finished = _epoch((record or {}).get("finished"))
    if finished is None or not (record or {}).get("ok"):
        return True
    now = datetime.datetime.now(datetime.timezone.utc).timestamp() if now is None else float(now)
    return now - finished > float(max_age_hours) * 3600


def launch_announcement(report, domain, report_file, url=""):
    """The announcement's subject and text (SNS and a Slack-compatible webhook's ``text``) from a launch_report
    result: the verdict, the counts, the waivers by name, where the report is."""
    report = report or {}
    counts = report.get("summary") or {}
    waived = report.get("waived") or []
    # sent only when nothing but 10.5 blocks: 10.5 (announce the platform's availability) is this message itself
    passed, n_waived = counts.get("pass", 0), counts.get("waived", 0)
    text = ["%s is live on AWS: the post-switch validation passes." % domain,
            "%s criteria pass, %s waived; 10.5, the announcement, is this message." % (passed, n_waived)]
    if waived:
        named = ["%s by %s (%s)" % (w.get("id"), w.get("by"), w.get("reason")) for w in waived]
        text.append("Waived: %s." % "; ".join(named))
    text.append("Report: %s" % (url or report_file))
    return {"subject": ("%s is live" % domain)[:100], "text": "\n".join(text)}


def launch_questions(names, types=("A",)):
    """dns_propagation's ``records`` for ``names``: each name with each of ``types``."""
    return [{"name": n, "type": t} for n in names or [] for t in types]


def launch_announcement_cases(announcement, why="announced once the post-switch validation passes"):
    """10.5's announcement case: sent now or by an earlier run (its record), or not (NOT RUN, blocking, ``why``)."""
    a = announcement or {}
    if not a.get("at"):
        return [case("10.5", "announcement", "Platform availability is announced to the administrators", False, {},
                     why, status="not_run")]
    ok = bool(a.get("sns_message_id")) and (not a.get("webhook") or 200 <= int(a.get("webhook_status") or 0) < 300)
    return [case("10.5", "announcement", "Platform availability is announced to the administrators", ok,
                 dict((k, a.get(k)) for k in ("at", "topic", "sns_message_id", "webhook", "webhook_status", "record")),
                 "SNS message %s, webhook status %s" % (a.get("sns_message_id"), a.get("webhook_status")))]


class FilterModule(object):
    def filters(self):
        return {
            "validate_secret_keys": validate_secret_keys,
            "validate_encryption_cases": validate_encryption_cases,
            "validate_policy_cases": validate_policy_cases,
            "validate_signoff_cases": validate_signoff_cases,
            "validate_waf_burst_record": validate_waf_burst_record,
            "validate_waf_block_wait": validate_waf_block_wait,
            "launch_server_addresses": launch_server_addresses,
            "launch_dns_cases": launch_dns_cases,
            "launch_continuity_cases": launch_continuity_cases,
            "launch_post_decision": launch_post_decision,
            "launch_announcement": launch_announcement,
            "launch_drill_due": launch_drill_due,
            "launch_questions": launch_questions,
            "launch_announcement_cases": launch_announcement_cases,
        }
