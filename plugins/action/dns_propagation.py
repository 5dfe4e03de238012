# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polling for dns_propagation: a module cannot print while it runs, an action plugin can. Each round runs
the read-only module once; between rounds a line says where things stand, so a person watching a cutover
can follow it. In check mode it asks once and never waits."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()


def progress_line(domain, rnd, result):
    counts = result.get("counts", {})
    reachable = sum(v for k, v in counts.items() if k not in ("timeout", "error"))
    behind = ("old", "mixed", "dnssec_failure")
    lagging = [r["server"] for r in result.get("resolvers", []) if r.get("state") in behind]
    parent = result.get("parent", {})
    return ("dns_propagation %s, round %d: parent %s%s, authoritative %s, resolvers new %d/%d reachable%s"
            % (domain, rnd, "delegates to the new servers" if parent.get("matches") else
               "still delegates to %s" % ", ".join(parent.get("nameservers") or ["(no answer)"]),
               " (DS published!)" if parent.get("ds_present") else "",
               "ok" if result.get("authoritative_ok") else "NOT answering",
               counts.get("new", 0), reachable, "; waiting on: " + ", ".join(lagging) if lagging else ""))


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        wait = boolean(args.get("wait", False), strict=False) and not self._task.check_mode
        wait_timeout = int(args.get("wait_timeout", 3600))
        interval = max(1, int(args.get("interval", 30)))
        args["wait"] = False
        deadline = time.monotonic() + wait_timeout
        rnd = 0
        while True:
            rnd += 1
            answer = self._execute_module(module_name="directfanz.launch.dns_propagation", module_args=args,
                                          task_vars=task_vars)
            if answer.get("failed") or not wait or answer.get("propagated"):
                result.update(answer)
                result["rounds"] = rnd
                return result
            display.display(progress_line(args.get("domain"), rnd, answer))
            if time.monotonic() + interval > deadline:
                result.update(answer)
                still = ["%s (%s)" % (r["server"], r["state"]) for r in answer.get("resolvers", [])
                         if r.get("state") in ("old", "mixed", "dnssec_failure")]
                result.update(failed=True, rounds=rnd, msg="%s had not propagated after %d s: %s%s" % (
                    args.get("domain"), wait_timeout,
                    "the parent still delegates to %s; " % ", ".join(answer["parent"]["nameservers"])
                    if not answer["parent"]["matches"] else "",
                    "resolvers still answering old: " + ", ".join(still) if still else
                    "resolvers are new but the authoritative check failed"))
                return result
            time.sleep(interval)
