#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_propagation
short_description: Tell whether a domain's move to new name servers has really propagated
version_added: 0.1.0
description:
  - Asks the servers themselves, concurrently, instead of trusting resolver caches
    - (a) every parent (TLD) server, without recursion - which name servers it delegates to and whether it
      publishes a DS record;
    - (b) every expected name server - does it answer authoritatively (AA) for the zone and the records;
    - (c) every resolver - C(new) when its NS set and records match the new servers, C(old), C(mixed),
      C(timeout)/C(error) (unreachable, not counted as old) or C(dnssec_failure) (SERVFAIL that turns into an
      answer with the CD bit set).
  - Read-only. With O(wait) the action plugin polls until propagated or O(wait_timeout), printing a line per
    round, then fails naming the resolvers that still answer old.
author: DirectFanz platform team (@directfanz)
options:
  domain:
    description: The zone apex.
    type: str
    required: true
  expected_nameservers:
    description: The name servers the domain should be delegated to (the new ones).
    type: list
    elements: str
    required: true
  nameserver_addresses:
    description:
      - Where to ask each expected name server, by host name (C(IP), C(IP:PORT), C([IPv6]:PORT) or a dict).
        Default - the parent's glue, else what the resolvers answer, on port 53.
    type: dict
    default: {}
  parent_servers:
    description:
      - The parent zone's servers (C(IP), C(IP:PORT), C([IPv6]:PORT) or C({address, port, name})). Default - the
        TLD's servers, found through DNS.
    type: list
    elements: raw
    default: []
  resolvers:
    description: Resolvers to ask. Default - 20 public resolvers of different operators and regions.
    type: list
    elements: raw
    default: []
  records:
    description:
      - Records to compare, each C({name, type}) with an optional C(value) (else the new servers' answer is
        the truth). Default - the apex A and the C(_launch-canary) TXT.
    type: list
    elements: dict
    default: []
  min_resolver_ratio:
    description: Share of reachable resolvers that must answer C(new) for RV(propagated).
    type: float
    default: 1.0
  query_timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 2
  wait:
    description: Poll until propagated or O(wait_timeout) (handled by the action plugin).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to poll when O(wait) is true.
    type: int
    default: 3600
  interval:
    description: Seconds between rounds when O(wait) is true.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
  action:
    support: full
    description: The action plugin of the same name does the polling for O(wait).
notes:
  - Requires C(dnspython) on the host that runs it.
"""

EXAMPLES = r"""
- name: Wait until the TLD and the world's resolvers see Route 53
  directfanz.launch.dns_propagation:
    domain: example.com
    expected_nameservers: "{{ route53_zone_result.nameservers }}"
    wait: true
    wait_timeout: 7200
"""

RETURN = r"""
propagated:
  description: The parent delegates to exactly the expected set, every expected server answers
    authoritatively, and the share of C(new) among reachable resolvers is at least O(min_resolver_ratio).
  returned: always
  type: bool
parent:
  description: C(nameservers) (what the parent delegates to), C(ns_ttl) (how long resolvers may cache that
    delegation), C(ds_present), C(matches), and per-server C(servers).
  returned: always
  type: dict
authoritative:
  description: One entry per expected name server with C(authoritative), C(answers) and C(nameservers) (its apex NS set).
  returned: always
  type: list
  elements: dict
resolvers:
  description: One entry per resolver with C(state) and C(answers).
  returned: always
  type: list
  elements: dict
counts:
  description: How many resolvers are in each state.
  returned: always
  type: dict
ratio:
  description: Share of reachable resolvers answering C(new).
  returned: always
  type: float
elapsed:
  description: Seconds the check took.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import DNSPYTHON_IMPORT_ERROR, HAS_DNSPYTHON
from ansible_collections.directfanz.launch.plugins.module_utils.propagation import (
    PUBLIC_RESOLVERS, Asker, check, fqdn, input_problems, parse_servers)
from ansible_collections.directfanz.launch.plugins.module_utils.validation import domain_problem


def tld_servers(domain, resolvers, timeout):
    """The TLD's name servers and their addresses, asked of the resolvers (the default parent set)."""
    tld = domain.rstrip(".").split(".")[-1] + "."
    asker = Asker(timeout)
    for resolver in resolvers:
        reply = asker.ask(resolver, tld, "NS", True)
        hosts = reply.get("answer", {}).get("%s NS" % tld)
        if not hosts:
            continue
        servers = []
        for host in sorted(hosts):
            a = asker.ask(resolver, host, "A", True).get("answer", {}).get("%s A" % host)
            if a:
                servers.append({"address": a[0], "port": 53, "name": host.rstrip(".")})
        if servers:
            return servers
    return []


def main():
    module = AnsibleModule(
        argument_spec=dict(
            domain=dict(type="str", required=True),
            expected_nameservers=dict(type="list", elements="str", required=True),
            nameserver_addresses=dict(type="dict", default={}),
            parent_servers=dict(type="list", elements="raw", default=[]),
            resolvers=dict(type="list", elements="raw", default=[]),
            records=dict(type="list", elements="dict", default=[]),
            min_resolver_ratio=dict(type="float", default=1.0),
            query_timeout=dict(type="float", default=2),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=3600),
            interval=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = []
    problem = domain_problem(p["domain"])
    if problem:
        problems.append("domain %r is not valid: %s" % (p["domain"], problem))
    for ns in p["expected_nameservers"]:
        bad = domain_problem(ns.rstrip("."))
        if bad:
            problems.append("expected name server %r is not a host name: %s" % (ns, bad))
    if not p["expected_nameservers"]:
        problems.append("expected_nameservers is empty")
    if not 0 <= p["min_resolver_ratio"] <= 1:
        problems.append("min_resolver_ratio %s must be between 0 and 1" % p["min_resolver_ratio"])
    if p["query_timeout"] <= 0:
        problems.append("query_timeout must be positive")
    problems += input_problems(p["records"], p["parent_servers"], p["resolvers"], p["nameserver_addresses"].values())
    if problems:
        module.fail_json(msg="; ".join(problems))
    parents = parse_servers(p["parent_servers"])
    resolvers = parse_servers(p["resolvers"] or PUBLIC_RESOLVERS)
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=str(DNSPYTHON_IMPORT_ERROR))

    domain = p["domain"].lower().rstrip(".")
    records = p["records"] or [{"name": "@", "type": "A"}, {"name": "_launch-canary", "type": "TXT"}]
    if not parents:
        parents = tld_servers(domain, resolvers, p["query_timeout"])
        if not parents:
            module.fail_json(msg="could not find the servers of %s's parent zone through the resolvers; give"
                                 " parent_servers" % domain)
    result = check(domain, p["expected_nameservers"], parents, resolvers,
                   [dict(r, name=fqdn(r["name"], domain)) for r in records], p["query_timeout"],
                   p["min_resolver_ratio"], p["nameserver_addresses"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
