#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_continuity
short_description: Probe every resolver every second while the name servers move, and count every lost answer
version_added: 0.10.0
description:
  - Reads what the old and the new name servers answer for each of O(questions) (authoritatively, without
    recursion), then asks every resolver every O(interval) seconds for all of them until O(stop_file) exists or
    O(max_seconds) passed, classing each answer - C(old) or C(new) when it equals one side's, C(mixed) when it is a
    CNAME one side gives whose target's records the other side gives (a resolver kept the old CNAME and fetched
    its target afresh - still served), C(empty) when it holds nothing where a side has something, C(differs) when
    it is neither, C(servfail), or C(unanswered) (a timeout or a network error).
  - C(empty), C(differs) and C(servfail) are lost answers (RV(lost)); C(unanswered) is counted apart (a resolver or a
    path that did not answer loses no record). Each anomaly is kept with its time (the first 200).
  - Meant to run in the background during the cutover (C(async) with C(poll=0)); the cutover waits for
    O(ready_file) (written after the first round) before it switches, creates O(stop_file) once propagation is
    complete and collects the result with C(async_status).
  - Read-only.
author: DirectFanz platform team (@directfanz)
options:
  domain:
    description: The zone apex.
    type: str
    required: true
  questions:
    description: What to ask, each C({name, type}) (names relative to the apex or absolute).
    type: list
    elements: dict
    required: true
  old_nameservers:
    description: The name servers the domain is delegated to before the switch.
    type: list
    elements: str
    required: true
  new_nameservers:
    description: The name servers it is delegated to after the switch.
    type: list
    elements: str
    required: true
  nameserver_addresses:
    description: Where to ask each name server, by host name (C(IP), C(IP:PORT) or a dict); default - a resolver's answer.
    type: dict
    default: {}
  resolvers:
    description: Resolvers to probe. Default - dns_propagation's 20 public resolvers of different operators and regions.
    type: list
    elements: raw
    default: []
  interval:
    description: Seconds between the starts of two rounds.
    type: float
    default: 1
  max_seconds:
    description: The longest the probe runs when O(stop_file) never appears.
    type: int
    default: 7800
  stop_file:
    description: The probe ends after the round in which this file exists.
    type: path
  ready_file:
    description: Written after the first round (the time of its start), so a caller knows the probe runs.
    type: path
  query_timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 1
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
notes:
  - Requires C(dnspython) on the host that runs it.
"""

EXAMPLES = r"""
- name: Probe the resolvers in the background while the name servers move
  directfanz.launch.dns_continuity:
    domain: example.com
    questions: [{name: "@", type: MX}, {name: "@", type: TXT}, {name: _dmarc, type: TXT}, {name: www, type: A}]
    old_nameservers: [ns1.dns-parking.com, ns2.dns-parking.com]
    new_nameservers: "{{ route53_nameservers }}"
    stop_file: /tmp/continuity.stop
    ready_file: /tmp/continuity.ready
  async: 7900
  poll: 0
  register: continuity_job
"""

RETURN = r"""
probes:
  description: Answers asked for (resolvers x questions x rounds).
  returned: always
  type: int
lost:
  description: Answers that were C(empty), C(differs) or C(servfail).
  returned: always
  type: int
unanswered:
  description: Probes no answer came back for.
  returned: always
  type: int
counts:
  description: Answers of each kind.
  returned: always
  type: dict
anomalies:
  description: The first 200 lost or unanswered probes, each C({at, resolver, question, kind, answer, old, new}).
  returned: always
  type: list
  elements: dict
per_resolver:
  description: Per resolver C(probes), C(lost), C(unanswered) and C(first_new) (when it first gave a new answer).
  returned: always
  type: dict
began_at:
  description: When the first round started (UTC). (Not C(started), which C(async_status) reads as "still running".)
  returned: always
  type: str
summary:
  description: One line, such as C(4520 probes through 20 resolvers over 113 s (2 questions, 113 rounds) - 0 lost).
  returned: always
  type: str
"""

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.directfanz.launch.plugins.module_utils import continuity
from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import DNSPYTHON_IMPORT_ERROR, HAS_DNSPYTHON
from ansible_collections.directfanz.launch.plugins.module_utils.propagation import (
    PUBLIC_RESOLVERS, Asker, input_problems, locate_servers, parse_servers)
from ansible_collections.directfanz.launch.plugins.module_utils.records import fqdn
from ansible_collections.directfanz.launch.plugins.module_utils.validation import domain_problem

TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "CAA", "SRV")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            domain=dict(type="str", required=True),
            questions=dict(type="list", elements="dict", required=True),
            old_nameservers=dict(type="list", elements="str", required=True),
            new_nameservers=dict(type="list", elements="str", required=True),
            nameserver_addresses=dict(type="dict", default={}),
            resolvers=dict(type="list", elements="raw", default=[]),
            interval=dict(type="float", default=1),
            max_seconds=dict(type="int", default=7800),
            stop_file=dict(type="path"),
            ready_file=dict(type="path"),
            query_timeout=dict(type="float", default=1),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = []
    problem = domain_problem(p["domain"])
    if problem:
        problems.append("domain %r is not valid: %s" % (p["domain"], problem))
    for label in ("old_nameservers", "new_nameservers"):
        if not p[label]:
            problems.append("%s is empty; accepted: the host names of 1 or more name servers" % label)
        for ns in p[label]:
            bad = domain_problem(str(ns).rstrip("."))
            if bad:
                problems.append("%s entry %r is not a host name: %s" % (label, ns, bad))
    if not p["questions"]:
        problems.append("questions is empty; accepted: a list of {name, type}")
    for q in p["questions"]:
        if str(q.get("type", "")).upper() not in TYPES:
            problems.append("question %r: type must be one of %s" % (q, ", ".join(TYPES)))
    problems += input_problems(p["questions"], p["resolvers"], p["nameserver_addresses"].values())
    if not 0.1 <= p["interval"] <= 60:
        problems.append("interval %s: accepted 0.1 to 60 seconds" % p["interval"])
    if p["max_seconds"] < 1:
        problems.append("max_seconds must be at least 1")
    if p["query_timeout"] <= 0:
        problems.append("query_timeout must be positive")
    if problems:
        module.fail_json(msg="dns_continuity: %d problem(s), nothing was asked: %s" % (len(problems), "; ".join(problems)),
                         problems=problems)
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=str(DNSPYTHON_IMPORT_ERROR))

    domain = p["domain"].lower().rstrip(".")
    resolvers = parse_servers(p["resolvers"] or PUBLIC_RESOLVERS)
    questions = [(fqdn(str(q["name"]), domain), str(q["type"]).upper()) for q in p["questions"]]
    asker = Asker(p["query_timeout"])
    with ThreadPoolExecutor(max_workers=16) as pool:
        servers = locate_servers(asker, pool, set(continuity.hosts(p["old_nameservers"] + p["new_nameservers"])),
                                 resolvers, p["nameserver_addresses"])
    old = [servers[h] for h in continuity.hosts(p["old_nameservers"]) if h in servers]
    new = [servers[h] for h in continuity.hosts(p["new_nameservers"]) if h in servers]
    if not old or not new:
        module.fail_json(msg="dns_continuity: could not locate %s name servers (%s); give nameserver_addresses" % (
            "the old" if not old else "the new", ", ".join(p["old_nameservers"] if not old else p["new_nameservers"])))
    result = continuity.probe(asker, resolvers, questions, old, new, p["interval"], p["max_seconds"],
                              p["stop_file"], p["ready_file"])
    module.exit_json(changed=False, summary=continuity.summary_text(result), **result)


if __name__ == "__main__":
    main()
