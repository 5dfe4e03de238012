# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress for validate_latency: a load run lasts duration x groups seconds and a module cannot print while
it runs, so this asks the module for the document's groups, then runs it once per group and prints a line
per group as each finishes (p50/p95/p99, requests, errors, pass/fail); the results are merged into one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()
MODULE = "directfanz.launch.validate_latency"


def progress_line(case):
    e = case.get("evidence", {})
    if e.get("p95_ms") is None:
        return "validate_latency %s: %s" % (e.get("group", case["id"]), case.get("message") or case["status"])
    return ("validate_latency %s: p50 %s ms, p95 %s ms, p99 %s ms over %d requests at %g req/s, %d errors - %s%s"
            % (e["group"], e["p50_ms"], e["p95_ms"], e["p99_ms"], e["requests"], e["rate"], e["errors"],
               case["status"].upper(), " (%s)" % case["message"] if case.get("message") else ""))


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get("list_groups"):
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result
        listing = self._execute_module(module_name=MODULE, module_args=dict(args, list_groups=True),
                                       task_vars=task_vars)
        if listing.get("failed"):
            result.update(listing)
            return result
        groups = list(listing.get("groups") or {})
        merged = {"changed": False, "cases": [], "series": {}, "groups": listing.get("groups", {}), "elapsed": 0.0}
        for group in groups:
            answer = self._execute_module(module_name=MODULE, module_args=dict(args, groups=[group]),
                                          task_vars=task_vars)
            if answer.get("failed"):
                result.update(answer)
                result["cases"] = merged["cases"]
                return result
            for case in answer.get("cases", []):
                display.display(progress_line(case))
            merged["cases"] += answer.get("cases", [])
            merged["series"].update(answer.get("series", {}))
            merged["elapsed"] = round(merged["elapsed"] + answer.get("elapsed", 0.0), 2)
        result.update(merged)
        return result
