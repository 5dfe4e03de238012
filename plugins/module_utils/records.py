# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS record sets in one canonical shape, and the rules for carrying them from Hostinger into Route 53.

Pure functions (no I/O) so the modules and the unit tests share them. A record set here is a dict:
``{"name": "www.example.com.", "type": "CNAME", "ttl": 300, "values": ["example.com."]}`` or, for a
Route 53 alias, ``{"name", "type", "alias": {"hosted_zone_id", "dns_name", "evaluate_target_health"}}``.
Names are lower-case FQDNs with a trailing dot; values are in the canonical presentation that both
the comparison and the API call use, so "what we send" and "what we compare" cannot drift apart.

Failover routing: a set may also carry ``set_identifier``, ``failover`` (PRIMARY or SECONDARY) and
``health_check_id``. Such a pair is two record sets of one name and type, so a set's identity is
``(name, type, set_identifier)`` (`ident`), while ``(name, type)`` (`key`) is what cannot hold a simple set beside a
failover pair. Sets of other routing policies (weighted, latency, geolocation...) are read as ``routing``: this
module never writes or replaces them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

# What Route 53 can hold (simple routing). SOA/NS at the apex are Route 53's own.
ROUTE53_TYPES = ("A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV",
                 "SSHFP", "SVCB", "TLSA", "TXT")
# What Hostinger's DNS API documents.
HOSTINGER_TYPES = ("A", "AAAA", "CNAME", "ALIAS", "MX", "TXT", "NS", "SOA", "SRV", "CAA")

# Route 53 quotas (Developer Guide, "Quotas on records" and the ChangeResourceRecordSets reference).
MAX_VALUES_PER_RECORD_SET = 400
MAX_VALUE_CHARS = 4000
MAX_TXT_STRING = 255
MAX_TTL = 2147483647
MAX_BATCH_RECORDS = 1000     # ResourceRecord elements per request; UPSERT counts twice
MAX_BATCH_CHARS = 32000      # characters of all Value elements per request; UPSERT counts twice

FAILOVER_ROLES = ("PRIMARY", "SECONDARY")
# Record-set fields of the routing policies this collection does not write (read only to leave them alone).
OTHER_ROUTING = ("Weight", "Region", "GeoLocation", "MultiValueAnswer", "CidrRoutingConfig", "GeoProximityLocation",
                 "TrafficPolicyInstanceId")
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
_HEALTH_CHECK_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_LABEL = re.compile(r"^(\*|_?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$")
_OCTAL = re.compile(r"\\(\d{3})")


class RecordError(ValueError):
    """A record that cannot be written as given; the message says what and what is accepted."""


def decode_name(name):
    """Route 53 returns names with octal escapes (``\\052`` for ``*``): turn them back into characters."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), name)


def fqdn(name, zone):
    """Absolute, lower-case, trailing-dot form of ``name`` relative to ``zone`` (``@`` or "" is the apex)."""
    zone = zone.lower().rstrip(".") + "."
    name = decode_name((name or "@").strip()).lower()
    if name in ("@", zone, zone[:-1]):
        return zone
    if name.endswith("."):
        return name
    if name.endswith("." + zone[:-1]):
        return name + "."
    return name + "." + zone


def in_zone(name, zone):
    zone = zone.lower().rstrip(".") + "."
    return name == zone or name.endswith("." + zone)


def check_name(name, zone):
    """Reject names Route 53 cannot hold in ``zone``."""
    if not in_zone(name, zone):
        raise RecordError("%s is not inside the zone %s" % (name, zone))
    if len(name) > 255:
        raise RecordError("%s is longer than 255 characters" % name)
    labels = name[:-1].split(".")
    for i, label in enumerate(labels):
        if label == "*" and i != 0:
            raise RecordError("%s: a wildcard '*' is only accepted as the leftmost label" % name)
        if not _LABEL.match(label):
            raise RecordError("%s: label %r is not valid (letters, digits, '-', '_', 1-63 characters;"
                              " '*' only leftmost)" % (name, label))


def _host(value, zone):
    """A hostname value (CNAME/NS/MX/SRV target): absolute with trailing dot; '@' means the apex."""
    value = value.strip().lower()
    if value in ("@", ""):
        return zone.lower().rstrip(".") + "."
    return value if value.endswith(".") else value + "."


def parse_txt(value):
    """The character-strings of a TXT value: ``"a" "b"`` -> [a, b]; unquoted text is one string."""
    value = value.strip()
    if not value.startswith('"'):
        return [value]
    strings, i = [], 0
    while i < len(value):
        if value[i].isspace():
            i += 1
            continue
        if value[i] != '"':
            raise RecordError("TXT value %r mixes quoted and unquoted text" % value)
        i += 1
        buf = []
        while i < len(value) and value[i] != '"':
            if value[i] == "\\" and i + 1 < len(value):
                if value[i + 1:i + 4].isdigit() and len(value[i + 1:i + 4]) == 3:
                    buf.append(chr(int(value[i + 1:i + 4])))
                    i += 4
                    continue
                buf.append(value[i + 1])
                i += 2
                continue
            buf.append(value[i])
            i += 1
        if i >= len(value):
            raise RecordError("TXT value %r has an unterminated quote" % value)
        strings.append("".join(buf))
        i += 1
    return strings


def _quote(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            for byte in ch.encode("utf-8"):
                out.append("\\%03d" % byte)
    return '"' + "".join(out) + '"'


def format_txt(value):
    """Canonical TXT: each string quoted; strings over 255 characters split (DKIM keys usually are)."""
    parts = []
    for s in parse_txt(value):
        chunks = [s[i:i + MAX_TXT_STRING] for i in range(0, len(s), MAX_TXT_STRING)] or [""]
        parts.extend(_quote(c) for c in chunks)
    return " ".join(parts)


def _fields(value, count, rtype):
    parts = value.split()
    if len(parts) != count:
        raise RecordError("%s value %r must have %d fields" % (rtype, value, count))
    return parts


def _uint(text, rtype, value, high):
    if not text.isdigit() or int(text) > high:
        raise RecordError("%s value %r: %r is not a number from 0 to %d" % (rtype, value, text, high))
    return int(text)


def normalize_value(rtype, value, zone):
    """One value in canonical presentation; RecordError when it is not valid for ``rtype``."""
    value = str(value).strip()
    if rtype == "A":
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise RecordError("A value %r is not an IPv4 address" % value)
    if rtype == "AAAA":
        try:
            return ipaddress.IPv6Address(value).compressed
        except ValueError:
            raise RecordError("AAAA value %r is not an IPv6 address" % value)
    if rtype in ("CNAME", "NS", "PTR"):
        return _host(value, zone)
    if rtype == "MX":
        pref, host = _fields(value, 2, rtype)
        return "%d %s" % (_uint(pref, rtype, value, 65535), _host(host, zone))
    if rtype == "SRV":
        prio, weight, port, host = _fields(value, 4, rtype)
        return "%d %d %d %s" % (_uint(prio, rtype, value, 65535), _uint(weight, rtype, value, 65535),
                                _uint(port, rtype, value, 65535), _host(host, zone))
    if rtype == "CAA":
        m = re.match(r'^(\d+)\s+([A-Za-z0-9]+)\s+(.*)$', value)
        if not m:
            raise RecordError('CAA value %r must look like: 0 issue "amazon.com"' % value)
        flags, tag, rest = m.groups()
        rest = rest.strip()
        inner = rest[1:-1] if len(rest) >= 2 and rest[0] == rest[-1] == '"' else rest
        return '%d %s "%s"' % (_uint(flags, rtype, value, 255), tag.lower(), inner)
    if rtype in ("TXT", "SPF"):
        return format_txt(value)
    return " ".join(value.split())


def normalize_record(record, zone):
    """Validate and canonicalise one record set (user input or Route 53's answer)."""
    rtype = str(record.get("type", "")).upper()
    if rtype not in ROUTE53_TYPES:
        raise RecordError("record %s: type %r is not accepted; accepted types: %s"
                          % (record.get("name"), record.get("type"), ", ".join(ROUTE53_TYPES)))
    name = fqdn(record.get("name"), zone)
    check_name(name, zone)
    out = {"name": name, "type": rtype}
    out.update(_failover_fields(record, name, rtype))
    alias = record.get("alias")
    if alias:
        out["alias"] = {"hosted_zone_id": alias["hosted_zone_id"].split("/")[-1],
                        "dns_name": _host(alias["dns_name"], zone),
                        "evaluate_target_health": bool(alias.get("evaluate_target_health", False))}
        if out["alias"]["hosted_zone_id"] == CLOUDFRONT_ZONE_ID and out["alias"]["evaluate_target_health"]:
            raise RecordError("record %s %s: evaluate_target_health cannot be true for a CloudFront alias (Route 53"
                              " refuses it); judge the set by a health check instead" % (name, rtype))
        return out
    ttl = record.get("ttl")
    if ttl is None or not 0 <= int(ttl) <= MAX_TTL:
        raise RecordError("record %s %s: ttl %r must be a number from 0 to %d" % (name, rtype, ttl, MAX_TTL))
    values = record.get("values") or []
    if not values:
        raise RecordError("record %s %s has no values (give values, or alias)" % (name, rtype))
    canon = sorted(set(normalize_value(rtype, v, zone) for v in values))
    if len(canon) > MAX_VALUES_PER_RECORD_SET:
        raise RecordError("record %s %s has %d values; Route 53 accepts at most %d per record set"
                          % (name, rtype, len(canon), MAX_VALUES_PER_RECORD_SET))
    for v in canon:
        if len(v) > MAX_VALUE_CHARS:
            raise RecordError("record %s %s: a value of %d characters is over Route 53's %d-character limit"
                              % (name, rtype, len(v), MAX_VALUE_CHARS))
    if rtype == "CNAME" and len(canon) != 1:
        raise RecordError("record %s CNAME must have exactly one value, not %d" % (name, len(canon)))
    if rtype == "CNAME" and name == zone.lower().rstrip(".") + ".":
        raise RecordError("%s: a CNAME cannot stand at the zone apex (use an alias record)" % name)
    out.update(ttl=int(ttl), values=canon)
    return out


def key(record):
    """(name, type): what a simple set and a failover pair cannot share."""
    return (record["name"], record["type"])


def ident(record):
    """(name, type, set identifier): one record set - the two sets of a failover pair differ only in the last."""
    return (record["name"], record["type"], record.get("set_identifier") or "")


def _failover_fields(record, name, rtype):
    """``set_identifier``/``failover``/``health_check_id`` of a user's record, checked: Route 53 wants a set identifier
    on every failover set and a failover role on every set identifier we write (other routing policies are not ours)."""
    set_id = record.get("set_identifier") or ""
    role = str(record.get("failover") or "").upper()
    check = record.get("health_check_id") or ""
    if not set_id and not role:
        if check:
            raise RecordError("record %s %s: health_check_id is only accepted on a failover set (give failover and"
                              " set_identifier)" % (name, rtype))
        return {}
    if role not in FAILOVER_ROLES:
        raise RecordError("record %s %s: failover %r is not accepted; accepted: PRIMARY or SECONDARY (with a"
                          " set_identifier)" % (name, rtype, record.get("failover")))
    if not set_id:
        raise RecordError("record %s %s: a failover %s set needs a set_identifier (1-128 characters, unique for the"
                          " name and type)" % (name, rtype, role))
    if len(set_id) > 128:
        raise RecordError("record %s %s: set_identifier %r is longer than 128 characters" % (name, rtype, set_id))
    if check and not _HEALTH_CHECK_ID.match(check):
        raise RecordError("record %s %s: health_check_id %r is not a Route 53 health check id (a UUID such as"
                          " 1b2c3d4e-0000-4000-8000-123456789abc)" % (name, rtype, check))
    out = {"set_identifier": set_id, "failover": role}
    if check:
        out["health_check_id"] = check
    return out


def check_failover_pairs(records):
    """Every failover pair whole and alone at its name and type: exactly one PRIMARY (a SECONDARY alone is answered
    only while it is healthy, and never as a fallback), at most one SECONDARY, no simple set of the same name and type
    (Route 53 refuses the mix), set identifiers that differ. Raises RecordError, before any API call."""
    by_key = {}
    for r in records:
        by_key.setdefault(key(r), []).append(r)
    for k, sets in sorted(by_key.items()):
        roles = sorted(r.get("failover", "") for r in sets)
        if roles == [""] or not any(roles):
            continue
        if "" in roles:
            raise RecordError("%s %s is listed both as a simple set and as a failover set; a name and type holds"
                              " either one simple set or a failover pair" % k)
        if roles.count("PRIMARY") != 1 or roles.count("SECONDARY") > 1:
            raise RecordError("%s %s: a failover pair is one PRIMARY and at most one SECONDARY; listed: %s"
                              % (k + (", ".join(roles),)))
        ids = [r["set_identifier"] for r in sets]
        if len(set(ids)) != len(ids):
            raise RecordError("%s %s: the set identifiers of a failover pair must differ; listed: %s"
                              % (k + (", ".join(ids),)))


def check_coexistence(records):
    """A CNAME cannot share its name with any other record set (RFC 1034); catch it before any API call."""
    by_name = {}
    for r in records:
        by_name.setdefault(r["name"], set()).add(r["type"])
    for name, types in sorted(by_name.items()):
        if "CNAME" in types and len(types) > 1:
            raise RecordError("%s would hold a CNAME beside %s; a CNAME must be alone at its name"
                              % (name, ", ".join(sorted(types - {"CNAME"}))))


# -- Hostinger -> Route 53 ------------------------------------------------------------------------------

def hostinger_record_sets(zone_json, domain):
    """Hostinger's zone answer (list of ``{name, type, ttl, records: [{content, is_disabled}]}``) as
    canonical-ish sets ``{name, type, ttl, values, disabled_values}``; unknown types rejected."""
    sets = {}
    for rs in zone_json:
        rtype = str(rs.get("type", "")).upper()
        if rtype not in HOSTINGER_TYPES:
            raise RecordError("Hostinger record %r has type %r, which this collection does not know;"
                              " known types: %s" % (rs.get("name"), rs.get("type"), ", ".join(HOSTINGER_TYPES)))
        name = fqdn(rs.get("name"), domain)
        entry = sets.setdefault((name, rtype), {"name": name, "type": rtype, "ttl": rs.get("ttl"),
                                                "values": [], "disabled_values": []})
        if rs.get("ttl") is not None and (entry["ttl"] is None or rs["ttl"] < entry["ttl"]):
            entry["ttl"] = rs["ttl"]
        for rec in rs.get("records") or []:
            target = "disabled_values" if rec.get("is_disabled") else "values"
            entry[target].append(rec.get("content", ""))
    return [sets[k] for k in sorted(sets)]


def plan_import(record_sets, domain):
    """Split Hostinger record sets into what Route 53 can take as is, ALIAS sets to flatten, and what is
    deliberately not carried over (each with its reason). Nothing is dropped without a line in
    ``not_carried``; a served record Route 53 cannot hold raises RecordError instead."""
    apex = domain.lower().rstrip(".") + "."
    importable, aliases, not_carried = [], [], []
    for rs in record_sets:
        if rs["disabled_values"]:
            not_carried.append({"name": rs["name"], "type": rs["type"], "values": rs["disabled_values"],
                                "reason": "disabled at Hostinger; not served today, so not carried over"})
        if not rs["values"]:
            continue
        if rs["name"] == apex and rs["type"] in ("NS", "SOA"):
            not_carried.append({"name": rs["name"], "type": rs["type"], "values": rs["values"],
                                "reason": "apex %s belongs to the hosting DNS service; Route 53 serves its own"
                                          % rs["type"]})
            continue
        if rs["type"] == "ALIAS":
            aliases.append(rs)
            continue
        try:
            importable.append(normalize_record(rs, domain))
        except RecordError as exc:
            # Not a skip: a record the domain serves today that Route 53 cannot hold would vanish at cutover.
            raise RecordError("the Hostinger record set %s %s cannot be carried into Route 53: %s. Fix it at"
                              " Hostinger (or in records_file) and run again; nothing was written"
                              % (rs["name"], rs["type"], exc))
    return importable, aliases, not_carried


def flatten_aliases(aliases, answers, importable):
    """Turn registrar ALIAS sets into A/AAAA sets from ``answers`` ({target: {"A": [...], "AAAA": [...]}
    or {"error": "..."}}). An explicit record set of the same name and type wins over the flattened one
    (both listed); returns (new_records, not_carried, warnings)."""
    present = set(key(r) for r in importable)
    records, not_carried, warnings = [], [], []
    for rs in aliases:
        for target in rs["values"]:
            target = target.lower().rstrip(".") + "."
            got = answers.get(target) or {}
            if got.get("error") or not (got.get("A") or got.get("AAAA")):
                not_carried.append({"name": rs["name"], "type": "ALIAS", "values": [target],
                                    "reason": "ALIAS target %s did not resolve (%s); Route 53 cannot hold an "
                                              "ALIAS to an outside name" % (target, got.get("error", "no A/AAAA"))})
                continue
            for rtype in ("A", "AAAA"):
                if not got.get(rtype):
                    continue
                if (rs["name"], rtype) in present:
                    not_carried.append({"name": rs["name"], "type": "ALIAS", "values": [target],
                                        "reason": "the ALIAS's %s answers (%s) were not merged: the zone already"
                                                  " has an explicit %s record set at this name"
                                                  % (rtype, ", ".join(got[rtype]), rtype)})
                    continue
                records.append(normalize_record({"name": rs["name"], "type": rtype, "ttl": rs["ttl"],
                                                 "values": got[rtype]}, rs["name"]))
                present.add((rs["name"], rtype))
                warnings.append("%s ALIAS %s was flattened to %s %s: Route 53 cannot follow an outside name, so"
                                " these addresses will not track the target if it changes"
                                % (rs["name"], target, rtype, ", ".join(got[rtype])))
    return records, not_carried, warnings


# -- Route 53 shapes and change planning -----------------------------------------------------------------

def to_rrset(record):
    rrset = {"Name": record["name"], "Type": record["type"]}
    if record.get("set_identifier"):
        rrset["SetIdentifier"] = record["set_identifier"]
        rrset["Failover"] = record["failover"]
        if record.get("health_check_id"):
            rrset["HealthCheckId"] = record["health_check_id"]
    if "alias" in record:
        a = record["alias"]
        rrset["AliasTarget"] = {"HostedZoneId": a["hosted_zone_id"], "DNSName": a["dns_name"],
                                "EvaluateTargetHealth": a["evaluate_target_health"]}
    else:
        rrset["TTL"] = record["ttl"]
        rrset["ResourceRecords"] = [{"Value": v} for v in record["values"]]
    return rrset


def from_rrset(rrset, zone):
    """Route 53's record set in canonical form; ``None`` for routing-policy sets we do not manage."""
    record = {"name": fqdn(rrset["Name"], zone), "type": rrset["Type"]}
    if rrset.get("SetIdentifier"):
        record["set_identifier"] = rrset["SetIdentifier"]
        if rrset.get("Failover") and not any(f in rrset for f in OTHER_ROUTING):
            record["failover"] = rrset["Failover"]
        else:
            record["routing"] = sorted(f for f in OTHER_ROUTING if f in rrset) or ["unknown"]
        if rrset.get("HealthCheckId"):
            record["health_check_id"] = rrset["HealthCheckId"]
    if "AliasTarget" in rrset:
        a = rrset["AliasTarget"]
        record["alias"] = {"hosted_zone_id": a["HostedZoneId"].split("/")[-1], "dns_name": _host(a["DNSName"], zone),
                           "evaluate_target_health": bool(a.get("EvaluateTargetHealth", False))}
        return record
    values = [r["Value"] for r in rrset.get("ResourceRecords", [])]
    try:
        record["values"] = sorted(set(normalize_value(rrset["Type"], v, zone) for v in values))
    except RecordError:
        record["values"] = sorted(values)  # keep what is there; it will simply compare unequal
    record["ttl"] = rrset.get("TTL")
    return record


def same(a, b):
    fields = ("alias",) if "alias" in a or "alias" in b else ("ttl", "values")
    fields += ("failover", "health_check_id")
    return all(a.get(f) == b.get(f) for f in fields)


def keep_aliases(desired, existing):
    """``desired`` without the address records (A, AAAA, CNAME) at names where the zone already holds an alias
    A/AAAA set - names the launch has routed to CloudFront or the load balancer, which an import of the old
    records must not undo. Returns (kept, left_out)."""
    routed = set(r["name"] for r in existing if r.get("alias") and r["type"] in ("A", "AAAA"))
    kept, left_out = [], []
    for rec in desired:
        if rec["name"] in routed and rec["type"] in ("A", "AAAA", "CNAME") and not rec.get("alias"):
            left_out.append(rec)
        else:
            kept.append(rec)
    return kept, left_out


def plan_changes(desired, existing, state="present", displace=False):
    """Changes that bring ``existing`` to ``desired`` (present) or remove ``desired`` (absent).

    Only the named record sets are touched; others in the zone are left alone - except, with ``displace``, the
    sets a desired set cannot stand beside: a CNAME where other types are wanted, other types where a CNAME is
    wanted, the simple set of a name and type that becomes a failover pair (or the pair that becomes a simple set,
    or a pair's PRIMARY or SECONDARY listed under another identifier). Those are deleted first in the same change,
    so the name never stops answering. Sets of other routing policies are never replaced. Returns (changes,
    unchanged) where a change is ``{"action", "record", "before"}``."""
    if state == "present":
        check_failover_pairs(desired)
    current = dict((ident(r), r) for r in existing if not r.get("routing"))
    routed = set(key(r) for r in existing if r.get("routing"))
    changes, unchanged = [], []
    if state == "present":
        wanted_ids = set(ident(r) for r in desired)
        wanted_keys = set(key(r) for r in desired)
        roles = {}
        for r in desired:
            roles.setdefault(key(r), set()).add(r.get("failover"))
        for rec in desired:
            for other in list(current.values()):
                if other["name"] != rec["name"] or ident(other) in wanted_ids:
                    continue
                cname_clash = "CNAME" in (rec["type"], other["type"]) and rec["type"] != other["type"] \
                    and key(other) not in wanted_keys
                routing_clash = key(other) == key(rec) and bool(other.get("failover")) != bool(rec.get("failover"))
                # a set of the pair whose role is now listed under another identifier
                stale_pair_set = key(other) == key(rec) and other.get("failover") and \
                    other["failover"] in roles.get(key(rec), ())
                if not (cname_clash or routing_clash or stale_pair_set):
                    continue
                if not displace:
                    if cname_clash:
                        continue  # check_coexistence below names it
                    raise RecordError("%s %s holds %s; writing %s needs it deleted in the same change"
                                      " (replace_conflicting)" % (rec["name"], rec["type"], describe(other),
                                                                  describe(rec)))
                changes.append({"action": "DELETE", "record": other, "before": other})
                del current[ident(other)]
    for rec in desired:
        if key(rec) in routed:
            raise RecordError("%s %s exists with a routing policy this module does not manage (weighted, latency,"
                              " geolocation...); it will not replace it" % key(rec))
        before = current.get(ident(rec))
        if state == "absent":
            if before is not None:
                changes.append({"action": "DELETE", "record": before, "before": before})
            continue
        if before is None:
            changes.append({"action": "CREATE", "record": rec, "before": None})
        elif same(before, rec):
            unchanged.append(rec)
        else:
            changes.append({"action": "UPSERT", "record": rec, "before": before})
    if state == "present":
        after = dict(current)
        after.update((ident(c["record"]), c["record"]) for c in changes if c["action"] != "DELETE")
        check_coexistence(after.values())
        touched = set(key(r) for r in desired)
        check_failover_pairs([r for r in after.values() if key(r) in touched])
    return changes, unchanged


def change_cost(change):
    """(records, characters) a change counts against the per-request quotas; UPSERT counts twice."""
    values = change["record"].get("values", [])
    weight = 2 if change["action"] == "UPSERT" else 1
    return weight * max(len(values), 1), weight * sum(len(v) for v in values)


def split_batches(changes, max_records=MAX_BATCH_RECORDS, max_chars=MAX_BATCH_CHARS):
    """Group changes into as few requests as the quotas allow (one, for any ordinary zone).

    DELETEs go first so a later CREATE of the same name never collides within a request."""
    # a PRIMARY before its SECONDARY: Route 53 checks a pair as the request goes
    ordered = sorted(changes, key=lambda c: (c["action"] != "DELETE", key(c["record"]),
                                             c["record"].get("failover") != "PRIMARY", ident(c["record"])))
    batches, current, recs, chars = [], [], 0, 0
    for change in ordered:
        r, c = change_cost(change)
        if r > max_records or c > max_chars:
            raise RecordError("%s %s alone is over Route 53's per-request limit (%d records / %d characters,"
                              " UPSERT counted twice)" % (key(change["record"]) + (max_records, max_chars)))
        if current and (recs + r > max_records or chars + c > max_chars):
            batches.append(current)
            current, recs, chars = [], 0, 0
        current.append(change)
        recs += r
        chars += c
    if current:
        batches.append(current)
    return batches


def to_change(change):
    return {"Action": change["action"], "ResourceRecordSet": to_rrset(change["record"])}


def describe(record):
    """One line a person reads: ``www.example.com. CNAME 300 example.com.``"""
    routing = ""
    if record.get("failover"):
        routing = " [failover %s %s%s]" % (record["failover"], record["set_identifier"],
                                           (" health check %s" % record["health_check_id"])
                                           if record.get("health_check_id") else "")
    elif record.get("routing"):
        routing = " [%s %s]" % ("/".join(record["routing"]), record["set_identifier"])
    if "alias" in record:
        return "%s %s ALIAS %s%s%s" % (record["name"], record["type"], record["alias"]["dns_name"],
                                       " (evaluate target health)" if record["alias"]["evaluate_target_health"] else "",
                                       routing)
    return "%s %s %s %s%s" % (record["name"], record["type"], record.get("ttl"), " | ".join(record.get("values", [])),
                              routing)
