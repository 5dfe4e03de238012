# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shaping for the validate phase: which secrets the owner's file must have given, and the security cases made from
what encryption_report and the least-privilege lint found (the case shape is docs/validate.md's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
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


class FilterModule(object):
    def filters(self):
        return {
            "validate_secret_keys": validate_secret_keys,
            "validate_encryption_cases": validate_encryption_cases,
            "validate_policy_cases": validate_policy_cases,
            "validate_signoff_cases": validate_signoff_cases,
        }
