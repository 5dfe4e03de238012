#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: launch_report
short_description: The launch report - a verdict for each of the 50 acceptance criteria and the overall GO / NO-GO
version_added: 0.3.0
description:
  - Takes the results of the validate phase's check modules (each with its C(cases)) and the owner's waivers, gives
    each acceptance criterion 1.1 to 10.5 (the owner's words as its title) a status C(PASS), C(FAIL), C(WAIVED) or
    C(NOT RUN) with the measured value against its threshold and the evidence, and the launch C(GO) or C(NO-GO).
  - A criterion with no case is C(NOT RUN); a failing case makes it C(FAIL); a case that did not run (none failing)
    leaves it C(NOT RUN). 5.1 is the pass rate of every C(infrastructure) case (gate 95 %), C(FAIL) whenever a
    C(critical) case fails. 10.1 also needs every technical criterion (1.1-9.5) to pass or be waived. A C(FAIL) or
    C(NOT RUN) with a waiver is C(WAIVED); a waiver of a C(PASS) is a warning. At O(stage=pre), 1.3, 1.4 and 10.5
    are C(NOT RUN) (after the cutover) and do not block. C(GO) when every criterion in the stage's scope is C(PASS)
    or C(WAIVED).
  - Writes C(launch-report.json) (schema in docs/report.md), C(launch-report.md), C(launch-report.junit.xml) and
    C(launch-report.html) (one self-contained page) into O(output_dir), each atomically.
  - Refuses before writing anything when a waiver or a case is not valid, naming each problem and what is accepted.
  - In check mode the report is still written (it changes no AWS state, and the report of a C(--check) run is how a
    person sees what the run would prove), with C(check_mode=true) in the JSON and a banner on the page.
author: DirectFanz platform team (@directfanz)
options:
  checks:
    description:
      - The registered results of the check modules, each with a C(cases) list (a registered loop's C(results) is
        read through). A result that failed without cases is listed as a warning and in C(check_errors).
    type: list
    elements: dict
    required: true
  waivers:
    description:
      - The owner's waivers, each C({criterion, by, reason}) with a known criterion id and non-empty C(by) and
        C(reason); one per criterion.
    type: list
    elements: dict
    default: []
  stage:
    description:
      - C(pre) before the name servers move (1.3, 1.4 and 10.5 are not in scope), C(post) after the cutover (all 50).
    type: str
    choices: [pre, post]
    default: post
  domain:
    description: The launch's domain, shown in the report.
    type: str
    required: true
  output_dir:
    description: The directory the four files are written to (made if absent), an absolute path such as
      C(<playbook_dir>/reports/<domain>).
    type: path
    required: true
  earlier_reports:
    description:
      - Earlier reports this one carries, each the path of a C(launch-report.json); their verdict, counts, waivers and
        each criterion's status are shown beside this report's. The one-command launch's final report carries its
        pre-cutover validation this way.
    type: list
    elements: path
    default: []
  started_at:
    description:
      - When the validate phase started (ISO 8601, such as C(2025-01-31T12:00:00Z); without a zone UTC is assumed;
        or seconds since the epoch), for C(duration_s). Omitted, C(duration_s) is null.
    type: str
attributes:
  check_mode:
    support: full
    description: Computes the same report and writes it, marked as coming from check mode; no AWS call is made at all.
  diff_mode:
    support: none
    description: The files carry the time they were generated, so every run changes them; there is nothing to diff.
"""

EXAMPLES = r"""
- name: Write the launch report and say GO or NO-GO
  directfanz.launch.launch_report:
    checks: "{{ [launch_infrastructure, launch_endpoints, launch_payments, launch_streaming] }}"
    waivers: "{{ launch_waivers | default([]) }}"
    stage: "{{ launch_validate_stage | default('post') }}"
    domain: "{{ launch_domain }}"
    output_dir: "{{ playbook_dir }}/reports/{{ launch_domain }}"
    started_at: "{{ launch_validate_started }}"
  register: launch_report
"""

RETURN = r"""
verdict:
  description: C(GO) or C(NO-GO).
  returned: always
  type: str
report_dir:
  description: The absolute directory the report was written to.
  returned: always
  type: str
files:
  description: The absolute path of each file written, keyed C(json), C(markdown), C(junit), C(html).
  returned: always
  type: dict
failed_criteria:
  description:
    - The criteria with status C(FAIL), each C({id, title, message}). (Not C(failed), which Ansible reserves for
      the task's own failure.)
  returned: always
  type: list
  elements: dict
not_run:
  description: The criteria with status C(NOT RUN), each C({id, title, message, blocking}); C(blocking) is false for a
    criterion outside the stage's scope.
  returned: always
  type: list
  elements: dict
waived:
  description: The criteria with status C(WAIVED), each C({id, title, by, reason, was}).
  returned: always
  type: list
  elements: dict
blocking:
  description: The ids of the criteria that make the verdict C(NO-GO).
  returned: always
  type: list
  elements: str
summary:
  description: How many criteria are C(pass), C(fail), C(waived) and C(not_run).
  returned: always
  type: dict
stage:
  description: The stage the report is for.
  returned: always
  type: str
check_mode:
  description: Whether the report comes from a check-mode run.
  returned: always
  type: bool
"""

import datetime
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.directfanz.launch.plugins.module_utils.launch_report import build, earlier_entry, render_all
from ansible_collections.directfanz.launch.plugins.module_utils.validation import domain_problem

FILES = (("json", "launch-report.json"), ("markdown", "launch-report.md"), ("junit", "launch-report.junit.xml"),
         ("html", "launch-report.html"))


def parse_started(value, now):
    """(seconds from ``value`` to ``now``, None) or (None, what is wrong)."""
    if value is None or value == "":
        return None, None
    text = str(value).strip()
    try:
        started = datetime.datetime.fromtimestamp(float(text), tz=datetime.timezone.utc)
    except ValueError:
        try:
            started = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None, ("started_at %r is not a time; accepted: ISO 8601 (2025-01-31T12:00:00Z) or seconds since the"
                          " epoch" % text)
        if started.tzinfo is None:
            started = started.replace(tzinfo=datetime.timezone.utc)
    seconds = (now - started).total_seconds()
    if seconds < 0:
        return None, "started_at %r is after now (%s); accepted: the time the validate phase started" % (
            text, now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return round(seconds, 1), None


def write_atomically(path, content):
    """Write to a temporary file beside ``path`` and rename it over: a reader never sees half a report."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".launch-report-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            checks=dict(type="list", elements="dict", required=True),
            waivers=dict(type="list", elements="dict", default=[]),
            stage=dict(type="str", choices=["pre", "post"], default="post"),
            domain=dict(type="str", required=True),
            output_dir=dict(type="path", required=True),
            started_at=dict(type="str"),
            earlier_reports=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    now = datetime.datetime.now(datetime.timezone.utc)
    problems = []
    problem = domain_problem(p["domain"])
    if problem:
        problems.append("domain %r: %s" % (p["domain"], problem))
    if not os.path.isabs(p["output_dir"]):
        problems.append("output_dir %r is relative; accepted: an absolute path (modules do not run in the playbook's"
                        " directory), such as {{ playbook_dir }}/reports/<domain>" % p["output_dir"])
    duration, problem = parse_started(p["started_at"], now)
    if problem:
        problems.append(problem)
    earlier = []
    for path in p["earlier_reports"]:
        try:
            with open(path, encoding="utf-8") as f:
                entry, problem = earlier_entry(json.load(f), path)
        except (OSError, ValueError) as e:
            entry, problem = None, "earlier report %s could not be read: %s" % (path, e)
        if problem:
            problems.append(problem)
        else:
            earlier.append(entry)
    report, report_problems = build(p["checks"], p["waivers"], p["stage"], (p["domain"] or "").lower().rstrip("."),
                                    now.strftime("%Y-%m-%dT%H:%M:%SZ"), duration, module.check_mode, earlier)
    problems += report_problems
    if problems:
        module.fail_json(msg="launch_report: %d problem(s), nothing was written: %s" % (len(problems),
                                                                                        "; ".join(problems)),
                         problems=problems)

    out_dir = os.path.abspath(p["output_dir"])
    rendered = render_all(report)
    files = dict((key, os.path.join(out_dir, name)) for key, name in FILES)
    changed = False
    try:
        os.makedirs(out_dir, exist_ok=True)
        for key, name in FILES:
            old = None
            if os.path.exists(files[key]):
                with open(files[key], encoding="utf-8", errors="replace") as f:
                    old = f.read()
            if old != rendered[name]:
                write_atomically(files[key], rendered[name])
                changed = True
    except OSError as e:
        module.fail_json(msg="launch_report: could not write the report to %s: %s" % (out_dir, e))

    criteria = report["criteria"]
    for warning in report["warnings"]:
        module.warn(warning)
    module.exit_json(
        changed=changed, verdict=report["verdict"], report_dir=out_dir, files=files, stage=report["stage"],
        check_mode=report["check_mode"], summary=report["summary"], blocking=report["blocking"],
        failed_criteria=[{"id": c["id"], "title": c["title"], "message": c["message"]} for c in criteria
                         if c["status"] == "FAIL"],
        not_run=[{"id": c["id"], "title": c["title"], "message": c["message"], "blocking": c["in_scope"]}
                 for c in criteria if c["status"] == "NOT RUN"],
        waived=[{"id": c["id"], "title": c["title"], "by": c["waiver"]["by"], "reason": c["waiver"]["reason"],
                 "was": c["waived_status"]} for c in criteria if c["status"] == "WAIVED"],
        msg="%s: %s (%s)" % (report["verdict"], files["html"],
                             "blocking: " + ", ".join(report["blocking"]) if report["blocking"]
                             else "every criterion in scope passes or is waived"),
    )


if __name__ == "__main__":
    main()
