# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure data shaping for DNS records and reports (no I/O)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: cap_ttl
short_description: Cap the TTL of record sets
version_added: 0.1.0
description:
  - Returns the record sets with every TTL above O(max_ttl) lowered to it; 0 keeps them as they are.
  - Alias records (which have no TTL) pass unchanged.
options:
  _input:
    description: Record sets in the route53_records format.
    type: list
    elements: dict
    required: true
  max_ttl:
    description: Highest TTL to keep, in seconds; 0 disables the cap.
    type: int
    required: true
"""


def cap_ttl(records, max_ttl):
    max_ttl = int(max_ttl or 0)
    out = []
    for record in records:
        record = dict(record)
        if max_ttl and record.get("ttl") is not None and int(record["ttl"]) > max_ttl:
            record["ttl"] = max_ttl
        out.append(record)
    return out


def zone_import_summary(result, domain):
    """Lines a person reads after the dns_zone phase: name servers, what changed, what was not carried."""
    lines = ["Route 53 zone for %s: %s" % (domain, result.get("zone_id") or "(not created yet - check mode)")]
    ns = result.get("nameservers") or []
    lines.append("Name servers to give Hostinger at cutover: %s" % (", ".join(ns) if ns else "(known once created)"))
    changes = result.get("changes") or []
    counts = {}
    for c in changes:
        counts[c["action"]] = counts.get(c["action"], 0) + 1
    lines.append("Records from %s: %d written (%s), %d already in place"
                 % (result.get("source", "?"), len(changes),
                    ", ".join("%s %d" % kv for kv in sorted(counts.items())) or "none", result.get("unchanged", 0)))
    for c in changes:
        lines.append("  %s %s %s" % (c["action"], c["name"], c["type"]))
    for line in result.get("kept_aliases") or []:
        lines.append("Left as routed by the launch (an alias holds the name): %s" % line)
    for nc in result.get("not_carried") or []:
        lines.append("Not carried over: %s %s - %s" % (nc["name"], nc["type"], nc["reason"]))
    return lines


class FilterModule(object):
    def filters(self):
        return {"cap_ttl": cap_ttl, "zone_import_summary": zone_import_summary}
