# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure data shaping for DNS records and reports (no I/O)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.directfanz.launch.plugins.module_utils.hostinger_zone import SWITCH_TYPES, names_in, switch_ttl_plan

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
  names:
    description: Cap only the address sets (A, AAAA, CNAME) at these names (relative or absolute; C(@) for the
      apex) of O(domain) - the answers that change at the switch.
    type: list
    elements: str
  domain:
    description: The zone O(names) are relative to.
    type: str
"""


def cap_ttl(records, max_ttl, names=None, domain=None):
    max_ttl = int(max_ttl or 0)
    only = names_in(names, domain) if names is not None else None
    out = []
    for record in records:
        record = dict(record)
        if only is not None and (record.get("name", "").lower() not in only or record.get("type") not in SWITCH_TYPES):
            out.append(record)
            continue
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
    switch = result.get("switch_ttls") or {}
    for c in switch.get("lowered") or []:
        lines.append("TTL lowered at Hostinger ahead of the switch: %s %s %s -> %s s (the cutover waits until the old "
                     "%s s have passed)" % (c["name"], c["type"], c["ttl_before"], c["ttl"], c["ttl_before"]))
    for x in switch.get("not_lowered") or []:
        lines.append("TTL not lowered: %s %s (%s s) - %s" % (x["name"], x["type"], x["ttl"], x["reason"]))
    return lines


def ttl_history_text(history):
    """hostinger_dns_info's ``ttl_history`` as a sentence: what was lowered when, from what, and until when."""
    parts = ["%s %s %s -> %s s at %s (old answers live until %s)" % (
        x["name"], x["type"], x["ttl_before"], x["ttl"], x["lowered_at"], x["settled_at"])
        for x in (history or {}).get("lowered") or []]
    parts += ["%s %s: %s (bound %s)" % (x["name"], x["type"], x["reason"], x["settled_at"])
              for x in (history or {}).get("unknown") or []]
    if not parts:
        return "none lowered in the %d snapshot(s) read" % (history or {}).get("examined", 0)
    return "; ".join(parts)


class FilterModule(object):
    def filters(self):
        return {"cap_ttl": cap_ttl, "zone_import_summary": zone_import_summary, "switch_ttl_plan": switch_ttl_plan,
                "ttl_history_text": ttl_history_text}
