#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: route53_records
short_description: Manage many Route 53 record sets in one batched change
version_added: 0.1.0
description:
  - Brings a list of record sets in a Route 53 hosted zone to the given state with as few
    C(ChangeResourceRecordSets) requests as Route 53's per-request quotas allow - one for any ordinary zone,
    so the whole list applies atomically. M(amazon.aws.route53) needs one task, one listing of the whole
    zone and one change per record.
  - Compares before it writes - names lower-cased with trailing dot, values canonicalised and compared as
    a set, TXT strings split at 255 characters - and sends only what differs (C(CREATE) for new sets,
    C(UPSERT) for changed ones). Record sets not listed are never touched.
  - Every record is validated before any API call; a bad one fails the task with nothing written.
author: DirectFanz platform team (@directfanz)
options:
  zone:
    description: Name of the hosted zone. One of O(zone) or O(hosted_zone_id) is required.
    type: str
  hosted_zone_id:
    description: Id of the hosted zone (with or without the C(/hostedzone/) prefix).
    type: str
  private_zone:
    description: With O(zone), look for a private zone of that name instead of the public one.
    type: bool
    default: false
  records:
    description: The record sets to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name, relative to the zone (C(www), C(@) for the apex) or absolute (C(www.example.com.)).
        type: str
        required: true
      type:
        description: Record type; Route 53's simple-routing types (A, AAAA, CAA, CNAME, DS, HTTPS, MX, NAPTR,
          NS, PTR, SPF, SRV, SSHFP, SVCB, TLSA, TXT).
        type: str
        required: true
      ttl:
        description: Time to live in seconds; required unless O(records[].alias) is given.
        type: int
      values:
        description: Values in zone-file presentation (C(10 mx.example.com.), TXT with or without quotes).
        type: list
        elements: str
      alias:
        description: A Route 53 alias target instead of values.
        type: dict
        suboptions:
          hosted_zone_id:
            description: Hosted zone id of the target (CloudFront C(Z2FDTNDATAQYW2), a load balancer's zone).
            type: str
            required: true
          dns_name:
            description: DNS name of the target.
            type: str
            required: true
          evaluate_target_health:
            description:
              - Whether the set inherits the target's health (a load balancer is healthy while its target groups have
                healthy targets). Not accepted for a CloudFront target.
            type: bool
            default: false
      set_identifier:
        description:
          - Tells apart the two sets of a failover pair (same name and type); required with O(records[].failover).
            Only failover routing is written by this module; sets of other routing policies are left alone and
            never replaced.
        type: str
      failover:
        description:
          - C(PRIMARY) or C(SECONDARY) of a failover pair. Route 53 answers the PRIMARY while it is healthy (its
            O(records[].health_check_id), or its alias target's health with
            O(records[].alias.evaluate_target_health)), else the SECONDARY.
          - A list with a SECONDARY must hold its PRIMARY; a name and type holds either one simple set or a pair.
        type: str
        choices: [PRIMARY, SECONDARY]
      health_check_id:
        description:
          - Id of the Route 53 health check that judges this failover set. Aim it at the live target, not at the
            failover name itself - once failed over, a check of the name sees the SECONDARY's answer and never
            recovers (docs/failover.md).
        type: str
  state:
    description: C(present) creates or updates the listed sets; C(absent) deletes those that exist.
    type: str
    choices: [present, absent]
    default: present
  replace_conflicting:
    description:
      - Delete, in the same change, the record sets a listed set cannot stand beside - a CNAME at a name that
        gets other types (for example an imported C(www) CNAME replaced by alias A/AAAA records), or other types
        at a name that gets a CNAME, the simple set of a name and type that becomes a failover pair (and the pair
        that becomes a simple set again) - so the name never stops answering. Without it such a conflict is
        refused.
    type: bool
    default: false
  keep_aliases:
    description:
      - Leave out listed A, AAAA and CNAME sets with values at names where the zone already holds an alias
        A/AAAA set (returned as RV(kept_aliases)). For importing old records into a zone whose names the
        launch has since routed to CloudFront or a load balancer, so a re-run does not undo the routing.
    type: bool
    default: false
  comment:
    description: Comment recorded with the change batch.
    type: str
    default: directfanz.launch route53_records
  wait:
    description: Wait until Route 53 reports the change C(INSYNC) on its servers.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait when O(wait) is true.
    type: int
    default: 300
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads the zone and reports the changes it would make; sends none.
  diff_mode:
    support: full
    description: C(before)/C(after) of the managed record sets, one line each.
notes:
  - Should the changes need more than one request (over 1,000 values or 32,000 characters, UPSERT counted
    twice), each request is atomic but the whole is not; a failure names what was already applied.
"""

EXAMPLES = r"""
- name: Write the imported records and the canary in one change
  directfanz.launch.route53_records:
    zone: example.com
    records:
      - {name: www, type: CNAME, ttl: 300, values: [example.com.]}
      - {name: "@", type: MX, ttl: 3600, values: ["10 mx1.example.net.", "20 mx2.example.net."]}
      - {name: _launch-canary, type: TXT, ttl: 60, values: ["launch-canary=Z0123"]}

- name: Point api. at the load balancer
  directfanz.launch.route53_records:
    hosted_zone_id: Z0123
    records:
      - name: api
        type: A
        alias: {hosted_zone_id: Z35SXDOTRQ7X7K, dns_name: my-alb-123.us-east-1.elb.amazonaws.com}

- name: api. as a failover pair - the load balancer while its targets are healthy, else the maintenance page
  directfanz.launch.route53_records:
    zone: example.com
    replace_conflicting: true   # the plain alias above gives way in the same change
    records:
      - name: api
        type: A
        set_identifier: api-primary
        failover: PRIMARY
        alias: {hosted_zone_id: Z35SXDOTRQ7X7K, dns_name: my-alb-123.us-east-1.elb.amazonaws.com,
                evaluate_target_health: true}
      - name: api
        type: A
        set_identifier: api-secondary
        failover: SECONDARY
        alias: {hosted_zone_id: Z2FDTNDATAQYW2, dns_name: d111111abcdef8.cloudfront.net}
"""

RETURN = r"""
zone_id:
  description: Id of the hosted zone (empty in check mode when the zone does not exist yet).
  returned: always
  type: str
zone_name:
  description: Name of the hosted zone, with trailing dot.
  returned: always
  type: str
nameservers:
  description: The zone's delegation-set name servers.
  returned: always
  type: list
  elements: str
changes:
  description: The changes made (or, in check mode, that would be made).
  returned: always
  type: list
  elements: dict
  sample: [{"action": "CREATE", "name": "www.example.com.", "type": "CNAME", "ttl": 300, "values": ["example.com."]},
           {"action": "CREATE", "name": "api.example.com.", "type": "A", "set_identifier": "api-primary",
            "failover": "PRIMARY", "alias": {"hosted_zone_id": "Z35SXDOTRQ7X7K", "dns_name": "my-alb.elb.amazonaws.com.",
                                             "evaluate_target_health": true}}]
actions:
  description: What was (or in check mode would be) done, one line per record set changed.
  returned: always
  type: list
  elements: str
  sample: ["create www.example.com. CNAME 300 example.com."]
unchanged:
  description: How many listed record sets already matched.
  returned: always
  type: int
change_ids:
  description: Route 53 change ids, one per request sent.
  returned: always
  type: list
  elements: str
requests:
  description: How many change requests the changes take (or would take).
  returned: always
  type: int
kept_aliases:
  description: With O(keep_aliases), the listed sets left out because their name is routed by an alias, one line each.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.directfanz.launch.plugins.module_utils import route53
from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan, apply, finish
from ansible_collections.directfanz.launch.plugins.module_utils.records import (
    RecordError, check_failover_pairs, describe, from_rrset, ident, keep_aliases, normalize_record, plan_changes,
    split_batches, to_change)
from ansible_collections.directfanz.launch.plugins.module_utils.validation import domain_problem


def change_result(change):
    rec = change["record"]
    out = {"action": change["action"], "name": rec["name"], "type": rec["type"]}
    out.update((k, rec[k]) for k in ("ttl", "values", "alias", "set_identifier", "failover", "health_check_id")
               if k in rec)
    return out


def main():
    alias_spec = dict(hosted_zone_id=dict(type="str", required=True), dns_name=dict(type="str", required=True),
                      evaluate_target_health=dict(type="bool", default=False))
    record_spec = dict(name=dict(type="str", required=True), type=dict(type="str", required=True),
                       ttl=dict(type="int"), values=dict(type="list", elements="str"),
                       alias=dict(type="dict", options=alias_spec), set_identifier=dict(type="str"),
                       failover=dict(type="str", choices=["PRIMARY", "SECONDARY"]),
                       health_check_id=dict(type="str"))
    module = AnsibleAWSModule(
        argument_spec=dict(
            zone=dict(type="str"), hosted_zone_id=dict(type="str"), private_zone=dict(type="bool", default=False),
            records=dict(type="list", elements="dict", required=True, options=record_spec),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            replace_conflicting=dict(type="bool", default=False),
            keep_aliases=dict(type="bool", default=False),
            comment=dict(type="str", default="directfanz.launch route53_records"),
            wait=dict(type="bool", default=False), wait_timeout=dict(type="int", default=300),
        ),
        required_one_of=[("zone", "hosted_zone_id")],
        mutually_exclusive=[("zone", "hosted_zone_id")],
        supports_check_mode=True,
    )
    p = module.params

    # Every input checked before the first API call.
    if p["zone"]:
        problem = domain_problem(p["zone"])
        if problem:
            module.fail_json(msg="zone %r is not valid: %s" % (p["zone"], problem))
    for r in p["records"]:
        if r["alias"] and (r["values"] or r["ttl"] is not None):
            module.fail_json(msg="record %s %s: give either alias or ttl+values, not both" % (r["name"], r["type"]))

    def normalize_all(zone_name):
        desired, seen = [], set()
        for r in p["records"]:
            rec = normalize_record(r, zone_name)
            if ident(rec) in seen:
                raise RecordError("%s %s is listed twice; list each name and type once with all its values (a"
                                  " failover pair: once per set identifier)" % ident(rec)[:2])
            seen.add(ident(rec))
            desired.append(rec)
        if p["state"] == "present":
            check_failover_pairs(desired)
        return desired

    try:
        # with only hosted_zone_id the names may be relative: check them against a stand-in zone, so a broken pair
        # (a SECONDARY without its PRIMARY, a failover set without its identifier) still stops before any call
        normalize_all(p["zone"] or "zone.invalid")
    except RecordError as exc:
        if p["zone"] or "not inside the zone" not in str(exc):
            module.fail_json(msg=str(exc))

    conn = route53.client(module)
    zone = route53.find_zone(module, conn, name=p["zone"], zone_id=p["hosted_zone_id"], private=p["private_zone"])
    if zone is None and not module.check_mode:
        module.fail_json(msg="hosted zone %s does not exist; create it first (amazon.aws.route53_zone)"
                             % (p["zone"] or p["hosted_zone_id"]))
    zone_name = zone["HostedZone"]["Name"] if zone else p["zone"].lower().rstrip(".") + "."
    zone_id = zone["HostedZone"]["Id"].split("/")[-1] if zone else ""
    nameservers = sorted(zone.get("DelegationSet", {}).get("NameServers", [])) if zone else []
    try:
        desired = normalize_all(zone_name)
        existing = [from_rrset(r, zone_name) for r in route53.list_record_sets(module, conn, zone_id)] if zone else []
        kept_aliases = []
        if p["keep_aliases"] and p["state"] == "present":
            desired, kept_aliases = keep_aliases(desired, existing)
        changes, unchanged = plan_changes(desired, existing, p["state"], p["replace_conflicting"])
        batches = split_batches(changes)
    except RecordError as exc:
        module.fail_json(msg=str(exc), zone_id=zone_id)

    plan = Plan()
    for batch in batches:
        plan.add("change_batch", ["%s %s" % (c["action"].lower(), describe(c["record"])) for c in batch],
                 changes=[to_change(c) for c in batch])
    if batches and p["wait"]:
        plan.add("wait_in_sync", None)
    change_ids = []

    def change_batch(step, real):
        change_ids.append(route53.apply_batch(module, conn, zone_id, step["changes"], p["comment"], change_ids))

    apply(module, plan, handlers={"change_batch": change_batch, "wait_in_sync": lambda step, real: route53.wait_in_sync(
        module, conn, change_ids, p["wait_timeout"])})

    diff = None
    if module._diff:
        before = dict((ident(c["before"]), describe(c["before"])) for c in changes if c["before"])
        after = dict((ident(c["record"]), describe(c["record"])) for c in changes if c["action"] != "DELETE")
        diff = {"before": "".join(before[k] + "\n" for k in sorted(before)),
                "after": "".join(after[k] + "\n" for k in sorted(after))}
    finish(module, plan, diff, zone_id=zone_id, zone_name=zone_name, nameservers=nameservers,
           changes=[change_result(c) for c in changes], unchanged=len(unchanged), change_ids=change_ids,
           requests=len(batches), kept_aliases=[describe(r) for r in kept_aliases])


if __name__ == "__main__":
    main()
