#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostinger_dns_info
short_description: Read a domain's DNS records from Hostinger and plan their move to Route 53
version_added: 0.1.0
description:
  - Reads the record sets of a domain's DNS zone from the Hostinger API (official C(hostinger-api) SDK),
    or, without an API token, from a records file the user supplies.
  - Plans their move into Route 53 - apex C(NS)/C(SOA) and disabled records are not carried over, a
    registrar C(ALIAS) is flattened to C(A)/C(AAAA) by resolving its target (with a warning), long TXT
    strings are split to 255 characters - and lists everything that is not carried over with the reason.
  - Read-only; makes no change anywhere.
author: DirectFanz platform team (@directfanz)
options:
  domain:
    description: The domain (zone apex), for example C(example.com).
    type: str
    required: true
  records_file:
    description:
      - Read the records from this file instead of the API. JSON or YAML (C(.json), C(.yml), C(.yaml)) in
        the shape of Hostinger's zone API (a list of C({name, type, ttl, records[{content}]})), or any
        other name as a BIND zone file.
    type: path
  flatten_alias:
    description: Resolve ALIAS record sets to A/AAAA. When false they are listed in RV(not_carried).
    type: bool
    default: true
  resolvers:
    description:
      - DNS servers used to resolve ALIAS targets - C(IP), C(IP:PORT), C([IPv6]:PORT) or a dict with
        C(address), C(port), C(name). Empty means the system's resolver.
    type: list
    elements: raw
    default: []
  resolver_timeout:
    description: Seconds to wait for each DNS answer.
    type: float
    default: 2
  ttl_history:
    description:
      - Names (relative - C(@) or V("") for the apex, C(www) - or absolute) whose answers change at the switch. For
        their A, AAAA, CNAME and ALIAS sets, the zone's snapshots are read newest first (Hostinger takes one before
        each change) to find when their TTL was last lowered and from what, and so until when resolvers may still
        hold an old answer - RV(ttl_history). The cutover refuses to switch before then.
      - Only with the API (not with O(records_file)).
    type: list
    elements: str
    default: []
  ttl_history_depth:
    description: The most snapshots to read for O(ttl_history) (one request each, newest first, only while a set is
      unexplained).
    type: int
    default: 20
extends_documentation_fragment:
  - directfanz.launch.hostinger
attributes:
  check_mode:
    support: full
    description: Read-only; behaves the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
notes:
  - Requires the C(hostinger-api) and C(dnspython) Python packages on the host that runs it.
"""

EXAMPLES = r"""
- name: Read the domain's records at Hostinger
  directfanz.launch.hostinger_dns_info:
    domain: example.com
    api_token: "{{ vault_hostinger_api_token }}"
  register: hostinger_zone

- name: Read the zone and when the TTLs of the names that move at the switch were lowered
  directfanz.launch.hostinger_dns_info:
    domain: example.com
    flatten_alias: false
    ttl_history: ["@", www, api]
  register: hostinger_zone

- name: Read them from an exported zone file instead
  directfanz.launch.hostinger_dns_info:
    domain: example.com
    records_file: files/example.com.zone
"""

RETURN = r"""
source:
  description: Where the records came from, C(api) or C(file).
  returned: always
  type: str
record_sets:
  description: The zone as read, grouped by name and type (names are absolute, with trailing dot).
  returned: always
  type: list
  elements: dict
records:
  description: Record sets ready for M(directfanz.launch.route53_records), in canonical form.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "www.example.com.", "type": "CNAME", "ttl": 3600, "values": ["example.com."]}]
not_carried:
  description: Everything that will not be carried over, each with C(name), C(type), C(values), C(reason).
  returned: always
  type: list
  elements: dict
flattened:
  description: How many A/AAAA record sets were made by flattening ALIAS records.
  returned: always
  type: int
ttl_history:
  description:
    - For O(ttl_history)'s names - C(lowered) (each set whose TTL was lowered, with C(ttl), C(ttl_before),
      C(lowered_at) and C(settled_at) = the lowering + the old TTL), C(unknown) (sets whose history is older than the
      snapshots read, bounded by the oldest one read + a day), C(settled_at) (the latest of them, null when none),
      C(settled_in) (seconds from now until then, 0 when past), C(examined) and C(snapshots) (read, and held).
    - C(settled_in) is 0 and the lists empty when O(ttl_history) is empty.
  returned: always
  type: dict
  sample: {"lowered": [{"name": "www.example.com.", "type": "CNAME", "ttl": 300, "ttl_before": 3600,
           "lowered_at": "2026-12-01T09:00:00Z", "settled_at": "2026-12-01T10:00:00Z"}], "unknown": [],
           "settled_at": "2026-12-01T10:00:00Z", "settled_in": 0, "examined": 2, "snapshots": 7}
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import (
    DNSPYTHON_IMPORT_ERROR, HAS_DNSPYTHON, make_resolver, parse_server, resolve_addresses)
from ansible_collections.directfanz.launch.plugins.module_utils.hostinger import (
    HOSTINGER_ARGSPEC, HostingerError, client_for)
from ansible_collections.directfanz.launch.plugins.module_utils.hostinger_zone import ttl_history
from ansible_collections.directfanz.launch.plugins.module_utils.records import (
    RecordError, flatten_aliases, fqdn, hostinger_record_sets, plan_import)
from ansible_collections.directfanz.launch.plugins.module_utils.validation import domain_problem


def read_records_file(path, domain):
    """A records file in Hostinger's API shape (JSON/YAML) or a BIND zone file, as Hostinger's shape."""
    with open(path) as f:
        text = f.read()
    if path.endswith((".json", ".yml", ".yaml")):
        if path.endswith(".json"):
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
        if not isinstance(data, list):
            raise RecordError("%s must hold a list of record sets like Hostinger's zone API answer" % path)
        return data
    import dns.rdatatype
    import dns.zone
    zone = dns.zone.from_text(text, origin=domain.rstrip(".") + ".", relativize=True, check_origin=False)
    out = []
    for name, rdataset in zone.iterate_rdatasets():
        out.append({"name": name.to_text(), "type": dns.rdatatype.to_text(rdataset.rdtype),
                    "ttl": rdataset.ttl,
                    "records": [{"content": r.to_text(origin=zone.origin, relativize=False)} for r in rdataset]})
    return out


def main():
    argument_spec = dict(
        domain=dict(type="str", required=True),
        records_file=dict(type="path"),
        flatten_alias=dict(type="bool", default=True),
        resolvers=dict(type="list", elements="raw", default=[]),
        resolver_timeout=dict(type="float", default=2),
        ttl_history=dict(type="list", elements="str", default=[]),
        ttl_history_depth=dict(type="int", default=20),
    )
    argument_spec.update(HOSTINGER_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    domain = p["domain"].lower().rstrip(".")

    # Inputs first: nothing is asked of any server until they are all valid.
    problem = domain_problem(domain)
    if problem:
        module.fail_json(msg="domain %r is not valid: %s" % (p["domain"], problem))
    try:
        resolvers = [parse_server(s) for s in p["resolvers"]]
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if p["records_file"] and not os.path.isfile(p["records_file"]):
        module.fail_json(msg="records_file %s does not exist" % p["records_file"])
    if p["ttl_history"] and p["records_file"]:
        module.fail_json(msg="ttl_history reads the zone's snapshots through the API; it cannot be used with "
                             "records_file (drop one of them)")
    if p["ttl_history_depth"] < 1:
        module.fail_json(msg="ttl_history_depth %d is not accepted; accepted: 1 or more snapshots to read"
                             % p["ttl_history_depth"])
    for name in p["ttl_history"]:
        try:
            bad = domain_problem(fqdn(name, domain).rstrip("."))
        except RecordError as exc:
            bad = str(exc)
        if bad:
            module.fail_json(msg="ttl_history name %r is not a name in %s; accepted: @ or \"\" for the apex, a label "
                                 "such as www, or an absolute name under the domain" % (name, domain))
    if p["flatten_alias"] and not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=str(DNSPYTHON_IMPORT_ERROR))

    try:
        if p["records_file"]:
            source, zone_json = "file", read_records_file(p["records_file"], domain)
        else:
            client = client_for(module, "no Hostinger API token: set api_token (or HOSTINGER_API_TOKEN), or give"
                                        " records_file with the zone exported from Hostinger")
            source, zone_json = "api", client.zone(domain)
        record_sets = hostinger_record_sets(zone_json, domain)
        records, aliases, not_carried = plan_import(record_sets, domain)
        flattened = 0
        if aliases and p["flatten_alias"]:
            targets = sorted(set(v.lower().rstrip(".") + "." for a in aliases for v in a["values"]))
            answers = resolve_addresses(make_resolver(resolvers, p["resolver_timeout"]), targets)
            extra, more_not_carried, warnings = flatten_aliases(aliases, answers, records)
            records.extend(extra)
            not_carried.extend(more_not_carried)
            flattened = len(extra)
            for w in warnings:
                module.warn(w)
        elif aliases:
            not_carried.extend({"name": a["name"], "type": "ALIAS", "values": a["values"],
                                "reason": "flatten_alias is false; Route 53 cannot hold a registrar ALIAS"}
                               for a in aliases)
        history = {"lowered": [], "unknown": [], "settled_at": None, "settled_in": 0, "examined": 0, "snapshots": 0}
        if p["ttl_history"]:
            history = ttl_history(record_sets, client.snapshots(domain), lambda sid: client.snapshot(domain, sid),
                                  domain, p["ttl_history"], time.time(), p["ttl_history_depth"])
    except HostingerError as exc:
        module.fail_json(msg=str(exc), **exc.result())
    except RecordError as exc:
        module.fail_json(msg=str(exc))

    records.sort(key=lambda r: (r["name"], r["type"]))
    module.exit_json(changed=False, source=source, record_sets=record_sets, records=records,
                     not_carried=not_carried, flattened=flattened, ttl_history=history)


if __name__ == "__main__":
    main()
