#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostinger_dns_records
short_description: Ensure record sets in a domain's Hostinger DNS zone, touching nothing else
version_added: 0.1.0
description:
  - Ensures that each given (name, type) set in the Hostinger zone holds the given values with the given TTL - for
    the records the launch writes at Hostinger while the domain still answers from there (ACM's validation
    CNAMEs, so certificates are issued before the name servers move; lower TTLs ahead of the switch).
  - Compares as a set (names and values canonical, order ignored). Values already in a set that were not asked
    about stay; every other name and type stays. It never deletes.
  - One write when anything differs - C(PUT /api/dns/v1/zones/{domain}) with C(overwrite=false), carrying only the
    missing values and the TTLs - after Hostinger's own C(POST .../validate) of the same body. The zone is read
    back afterwards and the run fails if it does not hold every asked-for value.
  - Refused before any request - input it cannot write (types other than A, AAAA, CNAME, MX, TXT, SRV, CAA; a
    CNAME at the apex or with two values; a TTL outside 60-86400; a value invalid for its type; one name and type
    given twice). Refused after the read and before any write - a CNAME beside other types at one name, a CNAME
    that already points elsewhere (it is never replaced), a value that is in the zone but disabled.
  - Returns the id of the newest snapshot before the change, C(snapshot_before), for an undo (Hostinger keeps
    one per change; restoring it puts the whole zone back as it was).
author: DirectFanz platform team (@directfanz)
options:
  domain:
    description: The domain whose zone is changed, as registered at Hostinger.
    type: str
    required: true
  records:
    description:
      - The record sets to ensure. Each C(name) is relative to the domain (C(@) or V(example.com) for the apex,
        C(_abc) or C(_abc.example.com.)), C(type), C(ttl) in seconds, C(values) as in a zone file
        (C(10 mx.example.com.) for MX, C(0 issue "amazon.com") for CAA).
    type: list
    elements: dict
    required: true
extends_documentation_fragment:
  - directfanz.launch.hostinger
attributes:
  check_mode:
    support: full
    description: Reads the zone and asks Hostinger to validate the change (a call that changes nothing); never
      sends the change.
  diff_mode:
    support: full
    description: The asked-for sets before and after, one C(name ttl type value) line per value.
"""

EXAMPLES = r"""
- name: Publish ACM's validation record where the world resolves the domain today
  directfanz.launch.hostinger_dns_records:
    domain: example.com
    records:
      - name: _3f1c0a.example.com.
        type: CNAME
        ttl: 300
        values: [_9b2e77.xlfgrmvvlj.acm-validations.aws.]

- name: Lower the TTLs of the records that move at the switch
  directfanz.launch.hostinger_dns_records:
    domain: example.com
    records:
      - {name: "@", type: A, ttl: 300, values: [203.0.113.10]}
      - {name: www, type: CNAME, ttl: 300, values: [example.com.]}
"""

RETURN = r"""
changes:
  description: One entry per set that differed (in check mode, would differ) - C(name), C(type), C(ttl_before)
    (null for a new set), C(ttl), C(add) (values appended), C(present) (asked-for values already there).
  returned: always
  type: list
  elements: dict
records:
  description: The asked-for sets, canonical (FQDN names, canonical values).
  returned: always
  type: list
  elements: dict
snapshot_before:
  description: The id of the zone's newest snapshot before the change (restore it to undo); null without a change.
  returned: always
  type: int
validated:
  description: Whether Hostinger's validate call accepted the change (also run in check mode).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.directfanz.launch.plugins.module_utils import hostinger_zone as Z
from ansible_collections.directfanz.launch.plugins.module_utils.hostinger import (
    HOSTINGER_ARGSPEC, HostingerError, client_for)
from ansible_collections.directfanz.launch.plugins.module_utils.records import RecordError
from ansible_collections.directfanz.launch.plugins.module_utils.validation import domain_problem


def main():
    argument_spec = dict(
        domain=dict(type="str", required=True),
        records=dict(type="list", elements="dict", required=True),
    )
    argument_spec.update(HOSTINGER_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    domain = p["domain"].lower().rstrip(".")

    # the input, whole, before the first request
    problems = []
    problem = domain_problem(domain)
    if problem:
        problems.append("domain %r is not valid: %s" % (p["domain"], problem))
    wanted = []
    if not problem:
        if not p["records"]:
            problems.append("records is empty: give at least one record set")
        try:
            wanted = Z.wanted_sets(p["records"], domain)
        except RecordError as exc:
            problems.append(str(exc))
    if problems:
        module.fail_json(msg="hostinger_dns_records: %s. Nothing was sent to Hostinger." % "; ".join(problems))
    client = client_for(module)

    result = dict(changed=False, changes=[], records=wanted, snapshot_before=None, validated=False)
    try:
        current = Z.current_sets(client.zone(domain), domain)
        changes, refused = Z.plan(wanted, current)
        if refused:
            module.fail_json(msg="hostinger_dns_records: %s. Nothing was changed." % "; ".join(refused), **result)
        result["changes"] = changes
        keys = [(c["name"], c["type"]) for c in changes]
        if changes:
            body = Z.request_body(changes, domain)
            client.validate_zone(domain, body)
            result["validated"] = True
            result["changed"] = True
            if module._diff:
                after = dict(current)
                for c in changes:
                    held = current.get((c["name"], c["type"]), {"values": []})["values"]
                    after[(c["name"], c["type"])] = {"ttl": c["ttl"], "values": held + c["add"]}
                result["diff"] = {"before": Z.describe(current, keys), "after": Z.describe(after, keys)}
            if not module.check_mode:
                snapshots = client.snapshots(domain) or []
                result["snapshot_before"] = max((s.get("id") for s in snapshots if isinstance(s, dict)
                                                 and s.get("id") is not None), default=None)
                client.update_zone(domain, body)
                lacking = Z.missing_after(wanted, Z.current_sets(client.zone(domain), domain))
                if lacking:
                    module.fail_json(msg="Hostinger accepted the change to %s but the zone read back does not hold"
                                         " it: %s. Snapshot %s is the zone before the change."
                                     % (domain, "; ".join(lacking), result["snapshot_before"]), **result)
    except HostingerError as exc:
        module.fail_json(msg=str(exc), **dict(result, **exc.result()))
    except RecordError as exc:  # a zone answer this collection cannot read
        module.fail_json(msg="the Hostinger zone of %s could not be read: %s" % (domain, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
