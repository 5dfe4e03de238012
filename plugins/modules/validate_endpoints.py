#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: validate_endpoints
short_description: Call every operation of the platform's OpenAPI document once and check each answer
version_added: 0.7.0
description:
  - The endpoint sweep of the validate phase (launch criterion 5.2). Loads the OpenAPI 3 document (a file or a
    URL), lets schemathesis 4 build one request per operation in B(positive) mode only - the documented
    examples when the operation has them, else generated valid inputs - sends it with the test credentials and
    checks the answer with schemathesis' conformance checks (status code documented, content type documented,
    body valid against the response schema) plus "not a server error". Negative (invalid-input) requests are
    never sent.
  - One case per operation, id C(METHOD path); a 5xx, a timeout or a non-conforming answer is a failing case.
  - With O(read_only) (the default when no O(token) is given) only GET, HEAD and OPTIONS are called; the other
    operations are C(not_run) cases saying why. In check mode the write operations are C(not_run) "check mode".
  - Every host name is resolved through O(resolvers) and the connection made to the resolved address with SNI
    and Host set to the name, so the new stack can be swept before the name servers move.
  - Bounded - each request by O(timeout), the whole sweep by O(total_timeout), at most O(concurrency) requests
    in flight. An operation not started when O(total_timeout) runs out is a failing case saying so.
  - The action plugin of the same name prints the sweep's progress while it runs (through O(progress_file)).
author: DirectFanz platform team (@directfanz)
options:
  openapi_file:
    description: Path of the OpenAPI 3 document (JSON or YAML). Exactly one of O(openapi_file), O(openapi_url).
    type: path
  openapi_url:
    description: URL of the OpenAPI 3 document, fetched through O(resolvers) (429/5xx retried).
    type: str
  base_url:
    description:
      - Where the API answers, for example C(https://api.example.com). When it has no path, the path of the
        document's first server URL is appended (C(/v1) of C(https://api.example.com/v1)).
      - Default - the document's first server URL, which must then be absolute.
    type: str
  resolvers:
    description: DNS resolvers (C(IP), C(IP:PORT), C([IPv6]:PORT)) every name is resolved through; empty - the
      system's resolver.
    type: list
    elements: raw
    default: []
  ca_file:
    description: CA bundle TLS is verified against; default the system store.
    type: path
  token:
    description: Bearer token of the test account, sent as C(Authorization). Never returned.
    type: str
  read_only:
    description: Call only GET, HEAD and OPTIONS. Default - true unless O(token) is given.
    type: bool
  exclude:
    description: Operations (C(METHOD path), as the case ids) not to call; they are C(not_run) cases.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds each request may take.
    type: float
    default: 10
  total_timeout:
    description: Seconds the whole sweep may take.
    type: float
    default: 300
  concurrency:
    description: Requests in flight at once (1-64).
    type: int
    default: 8
  progress_file:
    description: A file a progress line is appended to when the sweep starts and every O(progress_interval)
      seconds (operations answered, failing so far); the action plugin sets it and prints the lines as the
      module runs.
    type: path
  progress_interval:
    description: Seconds between progress lines.
    type: float
    default: 5
attributes:
  check_mode:
    support: full
    description: Read-only operations are called; write operations are C(not_run) with message "check mode".
  diff_mode:
    support: none
    description: Changes nothing.
  action:
    support: full
    description: The action plugin of the same name prints the progress lines as they come.
notes:
  - Requires schemathesis 4, requests and dnspython on the host that runs it.
"""

EXAMPLES = r"""
- name: Sweep every read-only operation of the API through the new zone's name servers
  directfanz.launch.validate_endpoints:
    openapi_url: https://api.example.com/openapi.json
    base_url: https://api.example.com
    resolvers: "{{ launch_validate_resolvers }}"

- name: Sweep every operation with the test account
  directfanz.launch.validate_endpoints:
    openapi_file: files/openapi.json
    base_url: https://api.example.com
    token: "{{ launch_validate_token }}"
    read_only: false
  no_log: false
"""

RETURN = r"""
cases:
  description: One case per operation (suite C(endpoints), criterion C(5.2)); C(measured) is the status code,
    C(evidence) the request and a sample of the response.
  returned: always
  type: list
  elements: dict
summary:
  description: C(total), C(pass), C(fail), C(not_run) and C(pass_rate) (percent of the operations called).
  returned: always
  type: dict
elapsed:
  description: Seconds the sweep took.
  returned: always
  type: float
"""

import json
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.directfanz.launch.plugins.module_utils import validate_checks as C
from ansible_collections.directfanz.launch.plugins.module_utils import validate_net as N
from ansible_collections.directfanz.launch.plugins.module_utils.progress import ProgressFile

try:
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                                   status_code_conformance)
    HAS_SCHEMATHESIS = True
    SCHEMATHESIS_ERROR = None
except ImportError as exc:
    HAS_SCHEMATHESIS = False
    SCHEMATHESIS_ERROR = exc

SUITE = "endpoints"
CRITERION = "5.2"


def input_problems(p):
    problems = N.document_problems(p)
    if not 0 < p["timeout"] <= 600:
        problems.append("timeout %s must be between 0 and 600 seconds" % p["timeout"])
    if not 0 < p["total_timeout"] <= 7200:
        problems.append("total_timeout %s must be between 0 and 7200 seconds" % p["total_timeout"])
    if not 1 <= p["concurrency"] <= 64:
        problems.append("concurrency %s must be between 1 and 64" % p["concurrency"])
    if not 0.5 <= p["progress_interval"] <= 600:
        problems.append("progress_interval %s must be between 0.5 and 600 seconds" % p["progress_interval"])
    for item in p["exclude"]:
        method = item.split(" ", 1)[0]
        if " " not in item or method.lower() not in C.HTTP_METHODS:
            problems.append("exclude entry %r is not 'METHOD /path' (as the case ids)" % item)
    return problems


def draw_case(strategy):
    """One case from a schemathesis strategy, deterministically (derandomized, no example database)."""
    found = []

    @settings(max_examples=1, database=None, derandomize=True, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def take(case):
        if not found:
            found.append(case)

    take()
    return found[0]


def make_case(operation):
    """The documented example's request when the operation has one, else a generated valid (positive) one."""
    examples = operation.get_strategies_from_examples()
    if examples:
        return draw_case(examples[0]), "examples"
    return draw_case(operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE)), "generated"


def failure_text(group):
    out = []
    for failure in group.exceptions:
        title = getattr(failure, "title", "") or failure.__class__.__name__
        message = (getattr(failure, "message", "") or "").strip().splitlines()
        out.append("%s%s" % (title, ": " + message[0] if message else ""))
    return "; ".join(dict.fromkeys(out))


def request_evidence(case, base_url, source):
    body = getattr(case, "body", None)
    body_text = None
    if body is not None and body.__class__.__name__ != "NotSet":
        try:
            body_text = C.truncate(json.dumps(body, default=str), 300)
        except (TypeError, ValueError):
            body_text = C.truncate(repr(body), 300)
    return {"method": case.method.upper(), "url": base_url + case.formatted_path, "query": case.query or {},
            "body": body_text, "inputs": source}


def sweep_one(case, base_url, session, headers, timeout, checks):
    """Send ``case`` and check the answer: (status, measured, message, response evidence, elapsed ms)."""
    start = time.monotonic()
    try:
        # verify given explicitly: schemathesis would otherwise set its own (True: the system store) over the session's
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=timeout,
                             verify=session.verify)
    except N.ResolutionError as exc:
        return "fail", None, str(exc), {}, None
    except requests.exceptions.Timeout:
        return "fail", None, "timed out after %s s" % timeout, {}, round((time.monotonic() - start) * 1000, 1)
    except requests.exceptions.RequestException as exc:
        return "fail", None, "request failed: %s" % N.error_text(exc), {}, None
    elapsed = round((time.monotonic() - start) * 1000, 1)
    evidence = {"status": response.status_code, "content_type": response.headers.get("Content-Type"),
                "body": C.truncate(response.text, 300)}
    try:
        case.validate_response(response, checks=checks, headers=headers)
    except FailureGroup as group:
        return "fail", response.status_code, "HTTP %s: %s" % (response.status_code, failure_text(group)), \
            evidence, elapsed
    except Exception as exc:  # a check that cannot decide (a body that is not JSON for a JSON schema...)
        return "fail", response.status_code, "HTTP %s: %s: %s" % (response.status_code, exc.__class__.__name__,
                                                                  C.truncate(str(exc), 200)), evidence, elapsed
    return "pass", response.status_code, "", evidence, elapsed


def run(module):
    p = module.params
    started = time.monotonic()
    deadline = started + p["total_timeout"]
    resolver = N.NameResolver(p["resolvers"], timeout=min(p["timeout"], 5))
    session = N.session(resolver, p["ca_file"], pool_size=p["concurrency"])
    doc = N.load_document(module, session, p["openapi_file"], p["openapi_url"], p["timeout"])
    base_url = C.effective_base_url(p["base_url"], doc)
    if not base_url:
        module.fail_json(msg="give base_url: the document's first server URL is not absolute (accepted: "
                             "https://host[:port][/path])")
    read_only = p["read_only"] if p["read_only"] is not None else not p["token"]
    headers = {"Authorization": "Bearer %s" % p["token"]} if p["token"] else {}
    excluded = set(x.split(" ", 1)[0].upper() + " " + x.split(" ", 1)[1].strip() for x in p["exclude"])
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    try:
        schema = schemathesis.openapi.from_dict(doc)
    except Exception as exc:
        module.fail_json(msg="the OpenAPI document cannot be loaded: %s" % exc)

    cases, pending = {}, []
    order = []
    for result in schema.get_all_operations():
        try:
            operation = result.ok()
        except Exception as exc:
            label = getattr(getattr(result, "err", lambda: None)(), "path", None) or "operation %d" % len(order)
            order.append(label)
            cases[label] = C.case(label, SUITE, CRITERION, label, "fail", message="its schema is invalid: %s"
                                  % C.truncate(str(exc), 200))
            continue
        label = "%s %s" % (operation.method.upper(), operation.path)
        order.append(label)
        title = operation.definition.raw.get("summary") or operation.definition.raw.get("operationId") or label
        write = operation.method.upper() not in C.READ_ONLY_METHODS
        reason = ("excluded" if label in excluded else
                  "read_only: write operations are not called (give token and read_only: false for a test "
                  "account)" if write and read_only else
                  "check mode" if write and module.check_mode else "")
        if reason:
            cases[label] = C.case(label, SUITE, CRITERION, title, "not_run", message=reason)
            continue
        if time.monotonic() > deadline:
            cases[label] = C.case(label, SUITE, CRITERION, title, "fail",
                                  message="not started: the sweep's total_timeout %s s ran out" % p["total_timeout"])
            continue
        try:
            built, source = make_case(operation)
        except Exception as exc:
            cases[label] = C.case(label, SUITE, CRITERION, title, "fail", message="no valid request could be "
                                  "generated: %s" % C.truncate(str(exc), 200))
            continue
        pending.append((label, title, built, source))

    progress = ProgressFile(p["progress_file"])
    progress.say("validate_endpoints: %d operations, %d to call at %d at a time, %d not run (%s)" % (
        len(order), len(pending), p["concurrency"], sum(1 for c in cases.values() if c["status"] == "not_run"),
        "read-only" if read_only else "with the test account"))
    pool = ThreadPoolExecutor(max_workers=p["concurrency"])
    futures = {}
    for label, title, built, source in pending:
        futures[pool.submit(sweep_one, built, base_url, session, headers, p["timeout"], checks)] = \
            (label, title, request_evidence(built, base_url, source))
    remaining = set(futures)
    said_at = time.monotonic()
    while remaining:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if time.monotonic() - said_at >= p["progress_interval"]:
            said_at = time.monotonic()
            answered = len(futures) - len(remaining)
            progress.say("validate_endpoints: %d/%d answered, %d failing so far, %.0f s" % (
                answered, len(futures), sum(1 for f in futures if f not in remaining and cases.get(
                    futures[f][0], {}).get("status") == "fail"), said_at - started))
        done, remaining = wait(remaining, timeout=min(left, p["progress_interval"]), return_when=FIRST_COMPLETED)
        for future in done:
            label, title, req = futures[future]
            try:
                status, measured, message, resp, elapsed = future.result()
            except Exception as exc:
                status, measured, message, resp, elapsed = "fail", None, "%s: %s" % (
                    exc.__class__.__name__, C.truncate(str(exc), 200)), {}, None
            cases[label] = C.case(label, SUITE, CRITERION, title, status, measured=measured,
                                  threshold="a documented status with a conforming body", message=message,
                                  evidence={"request": req, "response": resp, "elapsed_ms": elapsed})
    for future in remaining:
        label, title, req = futures[future]
        future.cancel()
        cases[label] = C.case(label, SUITE, CRITERION, title, "fail", evidence={"request": req},
                              message="timed out after %s s: the sweep's total_timeout ran out before it answered"
                                      % p["total_timeout"])
    pool.shutdown(wait=False, cancel_futures=True)
    progress.say("validate_endpoints: %d/%d answered, %d failing, %.0f s" % (
        len(futures) - len(remaining), len(futures), sum(1 for c in cases.values() if c["status"] == "fail"),
        time.monotonic() - started))

    out = C.unique_ids([cases[label] for label in order])
    out = C.redact(out, [p["token"]])
    counts = dict((s, sum(1 for c in out if c["status"] == s)) for s in C.STATUSES)
    called = counts["pass"] + counts["fail"]
    summary = {"total": len(out), "pass": counts["pass"], "fail": counts["fail"], "not_run": counts["not_run"],
               "pass_rate": round(100.0 * counts["pass"] / called, 1) if called else None,
               "base_url": base_url, "read_only": read_only}
    return out, summary, round(time.monotonic() - started, 2)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            openapi_file=dict(type="path"),
            openapi_url=dict(type="str"),
            base_url=dict(type="str"),
            resolvers=dict(type="list", elements="raw", default=[]),
            ca_file=dict(type="path"),
            token=dict(type="str", no_log=True),
            read_only=dict(type="bool"),
            exclude=dict(type="list", elements="str", default=[]),
            timeout=dict(type="float", default=10),
            total_timeout=dict(type="float", default=300),
            concurrency=dict(type="int", default=8),
            progress_file=dict(type="path"),
            progress_interval=dict(type="float", default=5),
        ),
        supports_check_mode=True,
    )
    problems = input_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    if not HAS_SCHEMATHESIS:
        module.fail_json(msg=missing_required_lib("schemathesis"), exception=str(SCHEMATHESIS_ERROR))
    cases, summary, elapsed = run(module)
    module.exit_json(changed=False, cases=cases, summary=summary, elapsed=elapsed)


if __name__ == "__main__":
    main()
