#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_zone_compare
short_description: Prove that new name servers answer every record exactly as the old ones do
version_added: 0.1.0
description:
  - Before a domain is handed to new name servers, asks the old and the new authoritative servers (without
    recursion) for every listed name and type and reports each difference - so no record is lost at cutover.
  - Values are compared as sets after normalising (lower case; TXT strings joined, since two providers may
    split a long DKIM key at different places). Every new server must agree.
  - Also reports the TTLs the old servers hand out (how long resolvers may keep old answers after the switch)
    and the new zone's apex NS TTL.
  - Read-only.
author: DirectFanz platform team (@directfanz)
options:
  domain:
    description: The zone apex.
    type: str
    required: true
  records:
    description: The names and types to compare, each C({name, type}); C(ALIAS) is compared as C(A) and C(AAAA).
    type: list
    elements: dict
    required: true
  old_nameservers:
    description: Host names of the servers that answer for the domain today.
    type: list
    elements: str
    required: true
  new_nameservers:
    description: Host names of the servers the domain moves to.
    type: list
    elements: str
    required: true
  nameserver_addresses:
    description: Where to ask a name server, by host name (C(IP), C(IP:PORT), C([IPv6]:PORT) or a dict); the
      others are located through O(resolvers), on port 53.
    type: dict
    default: {}
  resolvers:
    description: Resolvers used to find the name servers' addresses (empty - the public ones dns_propagation uses).
    type: list
    elements: raw
    default: []
  query_timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 2
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Refuse the cutover if Route 53 would answer anything differently
  directfanz.launch.dns_zone_compare:
    domain: example.com
    records: [{name: "@", type: A}, {name: www, type: CNAME}, {name: "@", type: MX}]
    old_nameservers: [ns1.dns-parking.com, ns2.dns-parking.com]
    new_nameservers: "{{ route53_zone_result.nameservers }}"
  register: compare
  failed_when: not compare.identical
"""

RETURN = r"""
identical:
  description: Every listed name and type is answered the same by the old and every new server.
  returned: always
  type: bool
differences:
  description: One entry per name and type that differs, with C(old) and C(new) (per new server when they disagree).
  returned: always
  type: list
  elements: dict
compared:
  description: How many name/type pairs were compared.
  returned: always
  type: int
old_max_ttl:
  description: The longest TTL among the old servers' answers (seconds).
  returned: always
  type: int
new_ns_ttl:
  description: The TTL of the new zone's apex NS record set.
  returned: always
  type: int
unreachable:
  description: Name servers that could not be located or did not answer.
  returned: always
  type: list
  elements: str
"""

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import DNSPYTHON_IMPORT_ERROR, HAS_DNSPYTHON
from ansible_collections.directfanz.launch.plugins.module_utils.propagation import (
    PUBLIC_RESOLVERS, Asker, canon_host, fqdn, input_problems, locate_servers, parse_servers)
from ansible_collections.directfanz.launch.plugins.module_utils.records import parse_txt
from ansible_collections.directfanz.launch.plugins.module_utils.validation import domain_problem


def comparable(rtype, values):
    if rtype == "TXT":
        return sorted("".join(parse_txt(v)) for v in values)
    return sorted(values)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            domain=dict(type="str", required=True),
            records=dict(type="list", elements="dict", required=True),
            old_nameservers=dict(type="list", elements="str", required=True),
            new_nameservers=dict(type="list", elements="str", required=True),
            nameserver_addresses=dict(type="dict", default={}),
            resolvers=dict(type="list", elements="raw", default=[]),
            query_timeout=dict(type="float", default=2),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = []
    for label, names in (("domain", [p["domain"]]), ("old_nameservers", p["old_nameservers"]),
                         ("new_nameservers", p["new_nameservers"])):
        for name in names:
            problem = domain_problem(name.rstrip("."))
            if problem:
                problems.append("%s: %r is not valid: %s" % (label, name, problem))
    for label in ("old_nameservers", "new_nameservers"):
        if not p[label]:
            problems.append("%s is empty" % label)
    problems += input_problems(p["records"], p["resolvers"], p["nameserver_addresses"].values())
    if problems:
        module.fail_json(msg="; ".join(problems))
    resolvers = parse_servers(p["resolvers"] or PUBLIC_RESOLVERS)
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=str(DNSPYTHON_IMPORT_ERROR))

    domain = p["domain"].lower().rstrip(".") + "."
    questions = []
    for r in p["records"]:
        types = ("A", "AAAA") if r["type"].upper() == "ALIAS" else (r["type"].upper(),)
        for rtype in types:
            q = (fqdn(r["name"], domain), rtype)
            if q not in questions:
                questions.append(q)
    asker = Asker(p["query_timeout"])
    old_hosts = set(canon_host(n) for n in p["old_nameservers"])
    new_hosts = set(canon_host(n) for n in p["new_nameservers"])
    with ThreadPoolExecutor(max_workers=64) as pool:
        servers = locate_servers(asker, pool, old_hosts | new_hosts, resolvers, p["nameserver_addresses"])
        unreachable = sorted((old_hosts | new_hosts) - set(servers))
        jobs = dict(((host, q), pool.submit(asker.ask, servers[host], q[0], q[1], False))
                    for host in servers for q in questions + [(domain, "NS")])
        replies = dict((k, job.result()) for k, job in jobs.items())

    def answers(host, q):
        reply = replies.get((host, q), {"error": "not asked"})
        if "error" in reply or not reply.get("aa"):
            return None, None
        key = "%s %s" % q
        return comparable(q[1], reply["answer"].get(key, [])), reply["ttls"].get(key)

    for host in sorted(servers):
        if all(answers(host, q)[0] is None for q in questions):
            unreachable.append(host)
    old_live = [h for h in sorted(old_hosts) if h in servers and h not in unreachable]
    new_live = [h for h in sorted(new_hosts) if h in servers and h not in unreachable]
    if not old_live or sorted(new_live) != sorted(new_hosts):
        module.fail_json(msg="cannot compare: %s did not answer authoritatively (an old server and every new one"
                             " must)" % ", ".join(sorted(set(unreachable))), unreachable=sorted(set(unreachable)))
    differences, old_ttls = [], []
    for q in questions:
        old, ttl = answers(old_live[0], q)
        if ttl is not None:
            old_ttls.append(ttl)
        new = dict((h, answers(h, q)[0]) for h in new_live)
        if any(v != old for v in new.values()):
            agreed = len(set(tuple(v or ()) for v in new.values())) == 1
            differences.append({"name": q[0], "type": q[1], "old": old,
                                "new": new[new_live[0]] if agreed else new})
    new_ns_ttl = answers(new_live[0], (domain, "NS"))[1]
    module.exit_json(changed=False, identical=not differences, differences=differences, compared=len(questions),
                     old_max_ttl=max(old_ttls) if old_ttls else 0, new_ns_ttl=new_ns_ttl or 0,
                     unreachable=sorted(set(unreachable)))


if __name__ == "__main__":
    main()
