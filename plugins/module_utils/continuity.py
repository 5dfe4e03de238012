# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The continuity probe behind dns_continuity: while the name servers move, every resolver is asked every second for
the records users and mail depend on, and each answer is classed against what the old and the new servers answer.

An answer is ``old`` or ``new`` when it equals the old or the new servers' answer; ``mixed`` when it is a CNAME from one
zone whose target's records come from the other (a resolver still holds the old zone's CNAME while the target, expired
sooner, was fetched afresh from the new servers: users reach an address a zone gives, so nothing is lost); ``empty``
when it holds nothing where one of them has something (a lost record); ``differs`` when it is neither; ``servfail``
when the resolver cannot resolve the name (a lame or broken delegation, as users see it); ``unanswered`` when the
resolver did not answer at all (a timeout or a network error: the resolver's or the path's problem, counted and shown
but not a lost record).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.directfanz.launch.plugins.module_utils.propagation import _answer_values, canon_host

LOST = ("empty", "differs", "servfail")
KINDS = ("old", "new", "mixed") + LOST + ("unanswered",)
KEEP = 200  # anomalies kept with their times (all are counted)


def classify(reply, qname, rdtype, old, new):
    """The kind of one resolver answer, and the values it held. ``old``/``new``: {question key: values} of the old and
    the new servers (truth()), which also hold the answers for the targets of their CNAMEs."""
    if "error" in reply:
        return "unanswered", reply["error"]
    if reply.get("rcode") == "SERVFAIL":
        return "servfail", "SERVFAIL"
    values = _answer_values(reply, qname, rdtype) if reply.get("rcode") == "NOERROR" else []
    key = "%s %s" % (qname, rdtype)
    if values == new.get(key):
        return "new", values
    if values == old.get(key):
        return "old", values
    if not values:
        return "empty", values
    return _chained(values, key, rdtype, old, new) or "differs", values


def _cname_targets(values):
    return [v.split(" ", 1)[1] for v in values or [] if v.startswith("CNAME ")]


def _chained(values, key, rdtype, old, new):
    """The kind of a CNAME answer judged link by link: its CNAME must be one a zone gives for the name, and its
    target's records what a zone gives for the target (any, when the target lies outside the zone: it does not move
    with the name servers). None when a link is neither zone's."""
    cnames = [v.split(" ", 1)[1] for v in values if v.startswith("CNAME ")]
    rest = sorted(v for v in values if not v.startswith("CNAME "))
    if len(cnames) != 1 or not rest:
        return None
    sides = {"old": old, "new": new}
    link = set(side for side, answers in sides.items() if "CNAME " + cnames[0] in (answers.get(key) or []))
    target_key = "%s %s" % (cnames[0], rdtype)
    if not any(target_key in answers for answers in sides.values()):
        target = {"old", "new"}
    else:
        target = set(side for side, answers in sides.items() if answers.get(target_key) == rest)
    if not link or not target:
        return None
    both = link & target
    if both:
        return "new" if "new" in both else "old"
    return "mixed"


def truth(asker, servers, questions):
    """{question key: values} from the first of ``servers`` answering authoritatively for each question."""
    out = {}
    for qname, rdtype in questions:
        key = "%s %s" % (qname, rdtype)
        for server in servers:
            reply = asker.ask(server, qname, rdtype, False)
            if "error" not in reply and reply.get("aa") and reply.get("rcode") in ("NOERROR", "NXDOMAIN"):
                out[key] = _answer_values(reply, qname, rdtype)
                break
    return out


def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + (".%03dZ" % int((t % 1) * 1000))


def probe(asker, resolvers, questions, old_servers, new_servers, interval, max_seconds, stop_file=None,
          ready_file=None, clock=time.time, sleep=time.sleep, workers=64):
    """Rounds of every resolver x every question, ``interval`` apart, until ``stop_file`` exists or ``max_seconds``
    passed. Returns the summary dns_continuity reports."""
    old = truth(asker, old_servers, questions)
    new = truth(asker, new_servers, questions)
    targets = sorted(set((target, rdtype) for qname, rdtype in questions for answers in (old, new)
                         for target in _cname_targets(answers.get("%s %s" % (qname, rdtype)))) - set(questions))
    if targets:  # what each zone answers for its CNAMEs' targets, to judge a chain whose links come from both
        old.update(truth(asker, old_servers, targets))
        new.update(truth(asker, new_servers, targets))
    missing = ["%s %s" % q for q in questions if "%s %s" % q not in old and "%s %s" % q not in new]
    counts = dict((k, 0) for k in KINDS)
    anomalies, per_resolver = [], dict((r["name"], {"probes": 0, "lost": 0, "unanswered": 0, "first_new": None})
                                       for r in resolvers)
    started = clock()
    rounds = 0
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(resolvers) * len(questions))))
    try:
        while True:
            at = clock()
            jobs = [(r, q, pool.submit(asker.ask, r, q[0], q[1], True)) for r in resolvers for q in questions]
            for resolver, (qname, rdtype), job in jobs:
                key = "%s %s" % (qname, rdtype)
                kind, values = classify(job.result(), qname, rdtype, old, new)
                if kind == "empty" and not old.get(key) and not new.get(key):
                    kind = "new"  # nothing on either side: nothing to lose
                counts[kind] += 1
                row = per_resolver[resolver["name"]]
                row["probes"] += 1
                if kind == "new" and row["first_new"] is None and new.get(key) != old.get(key):
                    row["first_new"] = stamp(at)
                if kind in LOST:
                    row["lost"] += 1
                elif kind == "unanswered":
                    row["unanswered"] += 1
                if kind in LOST + ("unanswered",) and len(anomalies) < KEEP:
                    anomalies.append({"at": stamp(at), "resolver": resolver["name"], "question": key, "kind": kind,
                                      "answer": values, "old": old.get(key), "new": new.get(key)})
            rounds += 1
            if rounds == 1 and ready_file:
                with open(ready_file, "w") as f:
                    f.write(stamp(at) + "\n")
            if (stop_file and os.path.exists(stop_file)) or clock() - started >= max_seconds:
                break
            sleep(max(0.0, interval - (clock() - at)))
    finally:
        pool.shutdown(wait=True)
    lost = sum(counts[k] for k in LOST)
    return {"probes": sum(counts.values()), "resolvers": len(resolvers), "questions": len(questions), "rounds": rounds,
            "seconds": round(clock() - started, 1), "began_at": stamp(started), "counts": counts, "lost": lost,
            "unanswered": counts["unanswered"], "anomalies": anomalies, "per_resolver": per_resolver,
            "old": old, "new": new, "unknown_questions": missing,
            "stopped_by": "stop_file" if stop_file and os.path.exists(stop_file) else "max_seconds"}


def summary_text(result):
    """One line for the run's output and the report."""
    if not result or not result.get("probes"):
        return "no continuity probe ran"
    text = "%d probes through %d resolvers over %.0f s (%d questions, %d rounds): %d lost" % (
        result["probes"], result["resolvers"], result["seconds"], result["questions"], result["rounds"],
        result["lost"])
    if result["lost"]:
        first = [a for a in result["anomalies"] if a["kind"] in LOST][:3]
        text += " - " + "; ".join("%s %s %s at %s" % (a["resolver"], a["question"], a["kind"], a["at"]) for a in first)
    if result["counts"].get("mixed"):
        text += ", %d answered from both zones (an old CNAME, its target from the new servers: served)" % (
            result["counts"]["mixed"])
    if result["unanswered"]:
        text += ", %d unanswered (timeouts, not counted as lost)" % result["unanswered"]
    return text


def hosts(names):
    return sorted(set(canon_host(n) for n in names or []))
