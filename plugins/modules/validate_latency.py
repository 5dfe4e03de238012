#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: validate_latency
short_description: Measure p50/p95/p99 latency per endpoint group under a fixed request rate
version_added: 0.7.0
description:
  - The performance check of the validate phase (launch criterion 5.5). The endpoint groups come from the
    OpenAPI document - every GET/HEAD operation with an C(x-launch-group) extension, called with its documented
    example inputs (a required parameter without an example leaves the operation out, said in the evidence).
  - An B(open-loop) fixed-rate client (aiohttp) sends O(rate) requests a second for O(duration) seconds to each
    group in turn (or to all at once, O(groups_at_once)), round-robin over its operations, each request at its
    scheduled time whether or not the earlier ones have answered, so a slow server cannot slow the client down
    and hide its own latency. Latency runs from the start of each request (a wait for one of O(max_in_flight)
    connections included); errors (4xx/5xx, connection errors) count at the time they failed, timeouts at
    O(timeout). How late the client sent (its own lag) is reported apart as C(send_lag_p95_ms).
  - One case per group, id C(latency <group>) - pass when p95 is under O(threshold_ms) and at most
    O(max_error_rate) of the requests failed.
  - The action plugin of the same name prints a line per group as each finishes (through O(progress_file)).
  - Names resolve through O(resolvers); connections go to the resolved address with SNI/Host set to the name.
author: DirectFanz platform team (@directfanz)
options:
  openapi_file:
    description: Path of the OpenAPI 3 document (JSON or YAML). Exactly one of O(openapi_file), O(openapi_url).
    type: path
  openapi_url:
    description: URL of the OpenAPI 3 document, fetched through O(resolvers) (429/5xx retried).
    type: str
  base_url:
    description: Where the API answers; as for M(directfanz.launch.validate_endpoints) (the document's server
      path is appended when it has none). Default - the document's first server URL.
    type: str
  resolvers:
    description: DNS resolvers (C(IP), C(IP:PORT), C([IPv6]:PORT)); empty - the system's resolver.
    type: list
    elements: raw
    default: []
  ca_file:
    description: CA bundle TLS is verified against; default the system store.
    type: path
  token:
    description: Bearer token sent as C(Authorization). Never returned.
    type: str
  groups:
    description: The groups to measure; default every group of the document.
    type: list
    elements: str
    default: []
  groups_at_once:
    description: Load every group at the same time, each at O(rate) (the mixed load production sees, in
      O(duration) seconds rather than groups x O(duration)); C(false) loads one group after the other, so each
      group's latency is its own alone. The evidence says which (C(groups_at_once), the number loaded together).
    type: bool
    default: false
  progress_file:
    description: A file a line per measured group is appended to as it finishes (the action plugin sets it and
      prints the lines while the module runs).
    type: path
  rate:
    description: Requests per second sent to each group (0.1-2000).
    type: float
    default: 20
  duration:
    description: Seconds each group is loaded (1-600).
    type: float
    default: 10
  threshold_ms:
    description: The p95 a group must stay under, in milliseconds.
    type: float
    default: 200
  max_error_rate:
    description: Share of failed requests (0-1) a group may have and still pass.
    type: float
    default: 0.01
  timeout:
    description: Seconds one request may take; a slower one is a timeout error.
    type: float
    default: 5
  max_requests:
    description: The most requests the whole load may send, C(0) for no bound - what a rate limit the validating host
      is subject to leaves it (the WAF's rate rule, of which roles/validate gives half less the sweep's share). A
      plan over it (groups x O(rate) x O(duration)) fails before the first load request, naming the figures, so the
      measurement never measures the block.
    type: int
    default: 0
  max_in_flight:
    description: Connections open at once (a bound on the client, 1-2000); requests beyond it queue, and the
      queueing counts in their latency.
    type: int
    default: 256
attributes:
  check_mode:
    support: full
    description: Read-only requests; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
  action:
    support: full
    description: The action plugin of the same name prints each group's result as it finishes.
notes:
  - Requires aiohttp, requests and dnspython on the host that runs it.
  - No timing is asserted in the collection's tests; the bench (tools/bench_validate.py) compares this client
    with wrk on the same target.
"""

EXAMPLES = r"""
- name: Measure each endpoint group at 50 requests a second for 20 seconds
  directfanz.launch.validate_latency:
    openapi_url: https://api.example.com/openapi.json
    base_url: https://api.example.com
    resolvers: "{{ launch_validate_resolvers }}"
    rate: 50
    duration: 20
"""

RETURN = r"""
cases:
  description: One case per group (suite C(performance), criterion C(5.5)); C(measured) is the p95 in ms and
    C(evidence) C({group, p50_ms, p95_ms, p99_ms, requests, errors, rate}).
  returned: always
  type: list
  elements: dict
groups:
  description: The groups measured and their operations.
  returned: always
  type: dict
series:
  description: C({group - [latency ms, ...]}) in send order, for the report's chart (at most 2000 points a group,
    evenly sampled).
  returned: always
  type: dict
elapsed:
  description: Seconds the run took.
  returned: always
  type: float
"""

import asyncio
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.directfanz.launch.plugins.module_utils import validate_checks as C
from ansible_collections.directfanz.launch.plugins.module_utils.progress import ProgressFile
from ansible_collections.directfanz.launch.plugins.module_utils import validate_net as N

try:
    import aiohttp
    HAS_AIOHTTP = True
    AIOHTTP_ERROR = None
except ImportError as exc:
    HAS_AIOHTTP = False
    AIOHTTP_ERROR = exc

MAX_SERIES = 2000


def input_problems(p):
    problems = N.document_problems(p)
    if not 0.1 <= p["rate"] <= 2000:
        problems.append("rate %s must be between 0.1 and 2000 requests a second" % p["rate"])
    if not 1 <= p["duration"] <= 600:
        problems.append("duration %s must be between 1 and 600 seconds" % p["duration"])
    if p["rate"] * p["duration"] < 1:
        problems.append("rate x duration must make at least one request")
    if p["threshold_ms"] <= 0:
        problems.append("threshold_ms must be positive")
    if not 0 <= p["max_error_rate"] <= 1:
        problems.append("max_error_rate %s must be between 0 and 1" % p["max_error_rate"])
    if not 0 < p["timeout"] <= 120:
        problems.append("timeout %s must be between 0 and 120 seconds" % p["timeout"])
    if p["max_requests"] < 0:
        problems.append("max_requests %s must be 0 (no bound) or more" % p["max_requests"])
    if not 1 <= p["max_in_flight"] <= 2000:
        problems.append("max_in_flight %s must be between 1 and 2000" % p["max_in_flight"])
    return problems


def plan_groups(doc, base_url, wanted):
    """{group: {"targets": [(op id, url, query)], "skipped": [why]}} for the wanted groups (all when empty)."""
    groups = C.latency_groups(doc)
    out = {}
    for name, ops in groups.items():
        if wanted and name not in wanted:
            continue
        targets, skipped = [], []
        for op in ops:
            try:
                path, query = C.example_request(doc, op)
            except ValueError as exc:
                skipped.append(str(exc))
                continue
            targets.append((op["id"], op["method"], base_url + path, query))
        out[name] = {"targets": targets, "skipped": skipped}
    return out


async def load_group(targets, rate, duration, timeout, headers, connector):
    """Open loop: request i is sent at start + i/rate, whatever the earlier ones are doing. Returns
    [(latency ms, error or None, send lag ms)] in send order. Latency runs from the moment the request is
    started - a wait for a free connection (max_in_flight) counts in it - and the lag (how late the event loop
    woke to send it) is kept apart: it is the client's delay, not the server's."""
    offsets = C.schedule(rate, duration)
    results = [None] * len(offsets)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout, headers=headers,
                                     trust_env=False) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05

        async def one(i, due):
            op_id, method, url, query = targets[i % len(targets)]
            await asyncio.sleep(max(0.0, due - loop.time()))
            sent = loop.time()
            error = None
            try:
                async with session.request(method, url, params=query, allow_redirects=False) as resp:
                    await resp.read()
                    if resp.status >= 400:
                        error = "%s answered HTTP %d" % (op_id, resp.status)
            except asyncio.TimeoutError:
                error = "%s timed out after %s s" % (op_id, timeout)
            except (aiohttp.ClientError, OSError) as exc:
                error = "%s: %s" % (op_id, exc.__class__.__name__ + (": %s" % exc if str(exc) else ""))
            results[i] = (round((loop.time() - sent) * 1000.0, 3), error, round(max(0.0, sent - due) * 1000.0, 3))

        await asyncio.gather(*(one(i, start + off) for i, off in enumerate(offsets)))
    return results


def sample_series(values):
    if len(values) <= MAX_SERIES:
        return values
    step = len(values) / float(MAX_SERIES)
    return [values[int(i * step)] for i in range(MAX_SERIES)]


def progress_line(case):
    e = case.get("evidence", {})
    if e.get("p95_ms") is None:
        return "validate_latency %s: %s" % (e.get("group", case["id"]), case.get("message") or case["status"])
    return ("validate_latency %s: p50 %s ms, p95 %s ms, p99 %s ms over %d requests at %g req/s, %d errors - %s%s"
            % (e["group"], e["p50_ms"], e["p95_ms"], e["p99_ms"], e["requests"], e["rate"], e["errors"],
               case["status"].upper(), " (%s)" % case["message"] if case.get("message") else ""))


def measure(module, planned, resolver):
    """One case per group and its latency series. With ``groups_at_once`` every group is loaded at the same time
    (each at ``rate``: the mixed load production sees), else one group after the other."""
    p = module.params
    progress = ProgressFile(p["progress_file"])
    headers = {"Authorization": "Bearer %s" % p["token"]} if p["token"] else {}
    cases, series = {}, {}
    loaded = [name for name, group in planned.items() if group["targets"]]
    for name, group in planned.items():
        if not group["targets"]:
            cases[name] = C.case("latency %s" % name, "performance", "5.5", "p95 latency of the %s endpoints" % name,
                                 "fail", threshold=p["threshold_ms"], unit="ms",
                                 message="no operation of group %s can be called: %s" % (name, "; ".join(
                                     group["skipped"])), evidence={"group": name, "skipped": group["skipped"]})
            progress.say(progress_line(cases[name]))

    def finish(name, results):
        group = planned[name]
        latencies = [r[0] for r in results]
        errors = [r[1] for r in results if r[1]]
        c = C.latency_case(name, latencies, len(errors), p["rate"], p["threshold_ms"], p["max_error_rate"],
                           error_samples=list(dict.fromkeys(errors)), duration=p["duration"])
        c["evidence"]["operations"] = [t[0] for t in group["targets"]]
        c["evidence"]["send_lag_p95_ms"] = C.latency_summary([r[2] for r in results])["p95_ms"]
        c["evidence"]["groups_at_once"] = len(loaded) if p["groups_at_once"] else 1
        if p["groups_at_once"] and len(loaded) > 1:
            c["name"] += ", %d groups at once (%g req/s in all)" % (len(loaded), p["rate"] * len(loaded))
        if group["skipped"]:
            c["evidence"]["skipped"] = group["skipped"]
        cases[name] = c
        series[name] = sample_series(latencies)
        progress.say(progress_line(C.redact([c], [p["token"]])[0]))

    async def load(name):
        connector = N.aiohttp_connector(resolver, p["ca_file"], limit=p["max_in_flight"])
        finish(name, await load_group(planned[name]["targets"], p["rate"], p["duration"], p["timeout"], headers,
                                      connector))

    if p["groups_at_once"]:
        async def every_group():
            await asyncio.gather(*(load(name) for name in loaded))

        asyncio.run(every_group())
    else:
        for name in loaded:
            asyncio.run(load(name))
    return [cases[name] for name in planned], series


def main():
    module = AnsibleModule(
        argument_spec=dict(
            openapi_file=dict(type="path"),
            openapi_url=dict(type="str"),
            base_url=dict(type="str"),
            resolvers=dict(type="list", elements="raw", default=[]),
            ca_file=dict(type="path"),
            token=dict(type="str", no_log=True),
            groups=dict(type="list", elements="str", default=[]),
            progress_file=dict(type="path"),
            groups_at_once=dict(type="bool", default=False),
            rate=dict(type="float", default=20),
            duration=dict(type="float", default=10),
            threshold_ms=dict(type="float", default=200),
            max_error_rate=dict(type="float", default=0.01),
            timeout=dict(type="float", default=5),
            max_requests=dict(type="int", default=0),
            max_in_flight=dict(type="int", default=256),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if problems:
        module.fail_json(msg="; ".join(problems))
    if not HAS_AIOHTTP:
        module.fail_json(msg=missing_required_lib("aiohttp"), exception=str(AIOHTTP_ERROR))
    started = time.monotonic()
    resolver = N.NameResolver(p["resolvers"], timeout=min(p["timeout"], 5))
    doc = N.load_document(module, N.session(resolver, p["ca_file"]), p["openapi_file"], p["openapi_url"],
                          p["timeout"])
    base_url = C.effective_base_url(p["base_url"], doc)
    if not base_url:
        module.fail_json(msg="give base_url: the document's first server URL is not absolute (accepted: "
                             "https://host[:port][/path])")
    all_groups = C.latency_groups(doc)
    unknown = [g for g in p["groups"] if g not in all_groups]
    if unknown:
        module.fail_json(msg="groups %s are not in the document; its x-launch-group values are: %s"
                             % (", ".join(unknown), ", ".join(sorted(all_groups)) or "(none)"))
    if not all_groups:
        module.fail_json(msg="the OpenAPI document has no GET/HEAD operation with an x-launch-group extension")
    listing = dict((g, [op["id"] for op in ops]) for g, ops in all_groups.items() if not p["groups"] or g in p["groups"])
    planned = len(listing) * len(C.schedule(p["rate"], p["duration"]))
    if p["max_requests"] and planned > p["max_requests"]:
        module.fail_json(msg="the load would send %d requests (%d groups x %g req/s x %g s), more than max_requests %d "
                             "(what the rate limit leaves this validation); lower rate, duration or the groups, or "
                             "raise max_requests with the limit (0: no bound) - no load request was sent"
                             % (planned, len(listing), p["rate"], p["duration"], p["max_requests"]))
    try:
        resolver.resolve(urlsplit(base_url).hostname)
    except N.ResolutionError as exc:
        cases = [C.case("latency %s" % g, "performance", "5.5", "p95 latency of the %s endpoints" % g, "fail",
                        threshold=p["threshold_ms"], unit="ms", message=str(exc), evidence={"group": g})
                 for g in listing]
        module.exit_json(changed=False, cases=cases, groups=listing, series={},
                         elapsed=round(time.monotonic() - started, 2))
    cases, series = measure(module, plan_groups(doc, base_url, p["groups"]), resolver)
    module.exit_json(changed=False, cases=C.redact(cases, [p["token"]]), groups=listing, series=series,
                     elapsed=round(time.monotonic() - started, 2))


if __name__ == "__main__":
    main()
