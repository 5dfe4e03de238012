# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensuring record sets in a Hostinger zone: the pure part of ``hostinger_dns_records`` (no I/O, unit-tested).

What the module is for: the few records the launch must write at Hostinger while the domain still answers from
there - ACM's validation CNAMEs (so certificates are issued before the name servers move) and lower TTLs on the
records whose answers change at the switch. So it *ensures*: each asked-for (name, type) set gets its values and
its TTL; values already there that were not asked about stay, and so does every other name and type. It never
deletes. The write is Hostinger's ``PUT /api/dns/v1/zones/{domain}`` with ``overwrite: false`` - TTLs updated,
new values appended - carrying only what is missing (a TTL-only change re-sends values the set already holds,
which the API does not append twice), after ``POST .../validate`` with the same body.

A set here: ``{"name": "_x.example.com.", "type": "CNAME", "ttl": 300, "values": ["_y.acm-validations.aws."]}``,
names as lower-case FQDNs and values in ``records.normalize_value``'s canonical presentation, so "what we compare"
and "what we send" are one thing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.directfanz.launch.plugins.module_utils.records import (
    RecordError, check_name, fqdn, hostinger_record_sets, normalize_value)

# What the module writes. NS/SOA are Hostinger's own; ALIAS is Hostinger's flattening, which the launch never adds.
WRITABLE_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA")
# Hostinger's hPanel accepts TTLs from 60 s; a day is the most the launch has a reason to set.
MIN_TTL, MAX_TTL = 60, 86400


def wanted_sets(records, domain):
    """The asked-for sets, validated and canonical; RecordError naming every problem found (all at once)."""
    problems, out, seen = [], [], {}
    zone = domain.lower().rstrip(".") + "."
    for index, record in enumerate(records or []):
        where = "records[%d]" % index
        if not isinstance(record, dict):
            problems.append("%s must be a mapping with name, type, ttl and values" % where)
            continue
        unknown = sorted(set(record) - {"name", "type", "ttl", "values"})
        if unknown:
            problems.append("%s: unknown key(s) %s; accepted: name, type, ttl, values" % (where, ", ".join(unknown)))
            continue
        rtype = str(record.get("type") or "").upper()
        if rtype not in WRITABLE_TYPES:
            problems.append("%s: type %r is not written at Hostinger by this module; accepted types: %s"
                            % (where, record.get("type"), ", ".join(WRITABLE_TYPES)))
            continue
        try:
            name = fqdn(record.get("name"), zone)
            check_name(name, zone)
        except (RecordError, AttributeError, TypeError) as exc:
            problems.append("%s: name %r: %s" % (where, record.get("name"), exc))
            continue
        ttl = record.get("ttl")
        try:
            ttl = int(ttl)
        except (TypeError, ValueError):
            ttl = None
        if ttl is None or not MIN_TTL <= ttl <= MAX_TTL:
            problems.append("%s %s %s: ttl %r must be a whole number of seconds from %d to %d"
                            % (where, name, rtype, record.get("ttl"), MIN_TTL, MAX_TTL))
            continue
        values = record.get("values")
        if not isinstance(values, list) or not values:
            problems.append("%s %s %s: values must be a non-empty list" % (where, name, rtype))
            continue
        try:
            canon = sorted(set(normalize_value(rtype, v, zone) for v in values))
        except RecordError as exc:
            problems.append("%s %s %s: %s" % (where, name, rtype, exc))
            continue
        if rtype == "CNAME" and len(canon) != 1:
            problems.append("%s %s CNAME must have exactly one value, not %d" % (where, name, len(canon)))
            continue
        if rtype == "CNAME" and name == zone:
            problems.append("%s %s: a CNAME cannot stand at the zone apex" % (where, name))
            continue
        if (name, rtype) in seen:
            problems.append("%s %s %s: listed twice (also records[%d]); give one entry with every value"
                            % (where, name, rtype, seen[(name, rtype)]))
            continue
        seen[(name, rtype)] = index
        out.append({"name": name, "type": rtype, "ttl": ttl, "values": canon})
    if problems:
        raise RecordError("; ".join(problems))
    return out


def current_sets(zone_json, domain):
    """Hostinger's zone answer as ``{(name, type): {"ttl", "values", "disabled", "raw"}}``: values canonical where
    they parse (a value that does not is kept as Hostinger gave it: it can only ever be "not ours"), ``raw`` each
    canonical value's content exactly as Hostinger holds it (what a TTL-only change sends back)."""
    zone = domain.lower().rstrip(".") + "."
    out = {}
    for rs in hostinger_record_sets(zone_json, zone):
        raw = {}
        out[(rs["name"], rs["type"])] = {"ttl": rs["ttl"], "values": _canonical(rs["type"], rs["values"], zone, raw),
                                         "disabled": _canonical(rs["type"], rs["disabled_values"], zone, raw),
                                         "raw": raw}
    return out


def _canonical(rtype, values, zone, raw):
    """``values`` canonical (as given where they do not parse); ``raw`` gets canonical -> as given."""
    found = []
    for v in values:
        try:
            c = normalize_value(rtype, v, zone)
        except RecordError:
            c = v
        raw.setdefault(c, v)
        found.append(c)
    return found


def plan(wanted, current):
    """``(changes, problems)``. A change: ``{"name", "type", "ttl_before", "ttl", "add", "present"}`` - the values
    to append and the asked-for values already there (``present_as_held``: as Hostinger holds them). A problem
    refuses the whole run before any write."""
    changes, problems = [], []
    names_types = {}
    for (name, rtype) in current:
        names_types.setdefault(name, set()).add(rtype)
    for want in wanted:
        key = (want["name"], want["type"])
        have = current.get(key, {"ttl": None, "values": [], "disabled": []})
        others = names_types.get(want["name"], set()) - {want["type"]}
        if want["type"] == "CNAME" and others:
            problems.append("%s already has %s records at Hostinger; a CNAME cannot stand beside them"
                            % (want["name"], ", ".join(sorted(others))))
            continue
        if "CNAME" in others:
            problems.append("%s is a CNAME at Hostinger; a %s record cannot stand beside it"
                            % (want["name"], want["type"]))
            continue
        if want["type"] == "CNAME" and have["values"] and have["values"] != want["values"]:
            problems.append("%s CNAME points at %s at Hostinger, not %s; this module appends and never replaces -"
                            " change or remove it in hPanel first" % (want["name"], have["values"][0],
                                                                      want["values"][0]))
            continue
        disabled = [v for v in want["values"] if v in have["disabled"] and v not in have["values"]]
        if disabled:
            problems.append("%s %s: %s is in the zone but disabled; enable it in hPanel (the API cannot)"
                            % (want["name"], want["type"], ", ".join(disabled)))
            continue
        add = [v for v in want["values"] if v not in have["values"]]
        present = [v for v in want["values"] if v in have["values"]]
        if add or have["ttl"] != want["ttl"]:
            changes.append({"name": want["name"], "type": want["type"], "ttl_before": have["ttl"],
                            "ttl": want["ttl"], "add": add, "present": present,
                            "present_as_held": [have.get("raw", {}).get(v, v) for v in present]})
    return changes, problems


def relative(name, domain):
    """A FQDN as Hostinger names it: ``@`` for the apex, else the labels left of the domain."""
    zone = domain.lower().rstrip(".") + "."
    return "@" if name == zone else name[:-len(zone) - 1]


def request_body(changes, domain):
    """The JSON body of the validate call and of the PUT (``overwrite: false``)."""
    zone = []
    for c in changes:
        # a TTL-only change re-sends values the set holds, as it holds them: nothing is appended
        values = c["add"] or c["present_as_held"]
        zone.append({"name": relative(c["name"], domain), "type": c["type"], "ttl": c["ttl"],
                     "records": [{"content": v} for v in values]})
    return {"overwrite": False, "zone": zone}


def missing_after(wanted, current):
    """What a read-back still lacks: ``["name type: ..."]`` (empty when the zone holds every asked-for value)."""
    out = []
    for want in wanted:
        have = current.get((want["name"], want["type"]), {"ttl": None, "values": []})
        lacking = [v for v in want["values"] if v not in have["values"]]
        if lacking:
            out.append("%s %s lacks %s" % (want["name"], want["type"], ", ".join(lacking)))
        elif have["ttl"] != want["ttl"]:
            out.append("%s %s has ttl %s, not %s" % (want["name"], want["type"], have["ttl"], want["ttl"]))
    return out


def describe(sets_by_key, keys):
    """Diff text: one line per value of the given (name, type) sets, ``name ttl type value``."""
    lines = []
    for key in keys:
        entry = sets_by_key.get(key)
        if entry:
            lines += ["%s %s %s %s\n" % (key[0], entry["ttl"], key[1], v) for v in sorted(entry["values"])]
    return "".join(lines)


# --- the TTLs ahead of the switch ---------------------------------------------------------------------------------
# The answers that change when the name servers move: the address records of the names the launch routes itself.
SWITCH_TYPES = ("A", "AAAA", "CNAME", "ALIAS")


def names_in(names, domain):
    """Names given relative (``""``/``@`` for the apex, ``www``) or absolute, as lower-case FQDNs."""
    return {fqdn(name, domain) for name in names or []}


def switch_ttl_plan(record_sets, domain, names, ttl):
    """What to lower ahead of the switch: ``{"lower": [sets for hostinger_dns_records], "not_lowered": [...]}``.

    ``record_sets`` is ``records.hostinger_record_sets`` (hostinger_dns_info's ``record_sets``); the sets of
    ``names`` whose answers change at the switch (SWITCH_TYPES) with served values and a TTL above ``ttl`` are lowered
    to it with the values as Hostinger holds them (a TTL-only change). An ALIAS - Hostinger's flattening, which the
    API module does not write - is listed in ``not_lowered`` with what to do instead."""
    ttl = int(ttl)
    wanted = names_in(names, domain)
    lower, not_lowered = [], []
    for rs in record_sets or []:
        if rs["name"] not in wanted or rs["type"] not in SWITCH_TYPES or not rs["values"] or rs["ttl"] <= ttl:
            continue
        if rs["type"] == "ALIAS":
            not_lowered.append({"name": rs["name"], "type": "ALIAS", "ttl": rs["ttl"], "reason": (
                "Hostinger's ALIAS is not written through the API by the launch: lower its TTL to %d in hPanel "
                "(DNS / Nameservers), then wait out the old %d s" % (ttl, rs["ttl"]))})
            continue
        lower.append({"name": rs["name"], "type": rs["type"], "ttl": ttl, "values": list(rs["values"])})
    lower.sort(key=lambda s: (s["name"], s["type"]))
    return {"lower": lower, "not_lowered": not_lowered}


def _epoch(stamp):
    """A Hostinger timestamp (``2026-12-02T05:09:45Z``, or with ``+00:00`` / fractions) as POSIX seconds."""
    from datetime import datetime, timezone
    text = str(stamp).strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _stamp(epoch):
    from datetime import datetime, timezone
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ttl_history(record_sets, snapshots, fetch, domain, names, now, depth=20):
    """When the answers of ``names`` that change at the switch last had their TTL lowered, from the zone's snapshots
    (Hostinger takes one before each change, so a snapshot holds the zone as it was just before the change made at
    its ``created_at``), and so until when resolvers may still hold an old answer.

    ``record_sets``: the zone now (``hostinger_record_sets``); ``snapshots``: the snapshot list (``id``,
    ``created_at``); ``fetch(id)``: one snapshot with its ``snapshot`` zone, called newest first and only while a set
    is still unexplained, at most ``depth`` times. Per set, the newest snapshot whose TTL differs from today's says
    what happened: higher - lowered then, the old answers live until ``created_at`` + the old TTL; lower - raised,
    nothing to wait for; absent - made since. A set no examined snapshot explains has had today's TTL since the
    oldest one examined; when older snapshots were left unread its history is unknown and the bound is that
    snapshot's time + a day (the most a TTL can be here), said in ``unknown``.

    Returns ``{"lowered": [{name, type, ttl, ttl_before, lowered_at, settled_at}], "unknown": [...],
    "settled_at": the latest settled_at or None, "settled_in": seconds from ``now`` (0 when past),
    "examined": snapshots read, "snapshots": how many there are}``."""
    zone = domain.lower().rstrip(".") + "."
    wanted = names_in(names, domain)
    current = {(rs["name"], rs["type"]): rs for rs in record_sets or []
               if rs["name"] in wanted and rs["type"] in SWITCH_TYPES and rs["values"]}
    pending = set(current)
    ordered = sorted(snapshots or [], key=lambda s: (_epoch(s["created_at"]), s.get("id") or 0), reverse=True)
    lowered, unknown, examined = [], [], 0
    oldest = None
    for meta in ordered:
        if not pending or examined >= depth:
            break
        held = {(rs["name"], rs["type"]): rs
                for rs in hostinger_record_sets((fetch(meta["id"]) or {}).get("snapshot") or [], zone)}
        examined += 1
        oldest = meta
        for key in sorted(pending):
            before = held.get(key)
            if before is not None and before["ttl"] == current[key]["ttl"]:
                continue
            pending.discard(key)
            if before is not None and before["ttl"] > current[key]["ttl"]:
                at = _epoch(meta["created_at"])
                lowered.append({"name": key[0], "type": key[1], "ttl": current[key]["ttl"],
                                "ttl_before": before["ttl"], "lowered_at": _stamp(at),
                                "settled_at": _stamp(at + before["ttl"])})
    if pending and oldest is not None and examined < len(ordered):
        bound = _epoch(oldest["created_at"]) + MAX_TTL
        for key in sorted(pending):
            unknown.append({"name": key[0], "type": key[1], "ttl": current[key]["ttl"], "settled_at": _stamp(bound),
                            "reason": "its TTL is the same in the %d newest snapshots; older ones were not read "
                                      "(depth %d), so the bound is the oldest read + a day" % (examined, depth)})
    ends = [_epoch(x["settled_at"]) for x in lowered + unknown]
    settled = max(ends) if ends else None
    return {"lowered": sorted(lowered, key=lambda x: (x["name"], x["type"])), "unknown": unknown,
            "settled_at": _stamp(settled) if settled is not None else None,
            "settled_in": int(max(0, -(-(settled - now) // 1))) if settled is not None else 0,
            "examined": examined, "snapshots": len(ordered)}
