#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: acm_certificate
short_description: Request an ACM certificate with DNS validation, and keep its validation records in Route 53
version_added: 0.1.0
description:
  - Requests a public ACM certificate validated through DNS, or finds the one it requested before. A
    certificate is ours when its domain, its set of subject alternative names and the tag
    C(managed-by=directfanz.launch) match, so a second run never requests another.
  - With O(hosted_zone_id), writes the validation CNAMEs into that zone (deduplicated - the wildcard and the
    apex share one) in one Route 53 change, and keeps them there so ACM can renew the certificate.
  - A certificate that C(FAILED) or whose validation timed out is reported with its reason, never waited on.
  - amazon.aws has no module that requests a certificate; community.aws's C(acm_certificate) imports only.
author: DirectFanz platform team (@directfanz)
options:
  domain_name:
    description: The certificate's main name, for example C(*.example.com).
    type: str
    required: true
  subject_alternative_names:
    description: Further names, for example C(example.com).
    type: list
    elements: str
    default: []
  hosted_zone_id:
    description: Route 53 zone to write the validation records into. Every name must lie in that zone.
    type: str
  hosted_zone:
    description:
      - Name of the public Route 53 zone to write the validation records into, instead of O(hosted_zone_id)
        (for runs that start after the zone was made, for example C(--tags certificates)).
    type: str
  validation_record_ttl:
    description: TTL of the validation CNAMEs.
    type: int
    default: 300
  key_algorithm:
    description: Key algorithm of a new certificate.
    type: str
    default: RSA_2048
    choices: [RSA_2048, EC_prime256v1, EC_secp384r1]
  tags:
    description: Tags on a new certificate (the C(managed-by) tag is always added).
    type: dict
    default: {}
  state:
    description: C(present) requests or finds the certificate; C(absent) deletes ours.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait until the certificate is C(ISSUED).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait when O(wait) is true (DNS validation usually takes minutes).
    type: int
    default: 1800
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Finds the certificate and reports what it would request or write; requests and writes nothing.
  diff_mode:
    support: none
    description: Reports whether a certificate was requested or validation records were written.
"""

EXAMPLES = r"""
- name: Wildcard certificate for CloudFront (us-east-1), validated through the domain's zone
  directfanz.launch.acm_certificate:
    domain_name: "*.example.com"
    subject_alternative_names: [example.com]
    hosted_zone_id: "{{ route53_zone_result.zone_id }}"
    region: us-east-1
    wait: true
"""

RETURN = r"""
arn:
  description: ARN of the certificate (empty in check mode before one exists).
  returned: always
  type: str
status:
  description: ACM status, for example C(PENDING_VALIDATION) or C(ISSUED).
  returned: always
  type: str
validation_records:
  description: The distinct validation CNAMEs, each C({name, type, value}).
  returned: always
  type: list
  elements: dict
renewal_eligibility:
  description: Whether ACM can renew the certificate by itself (C(ELIGIBLE) once issued and in use).
  returned: always
  type: str
not_after:
  description: Expiry time of the issued certificate.
  returned: when issued
  type: str
in_use_by:
  description: ARNs of the resources (load balancers, distributions) that use the certificate.
  returned: always
  type: list
  elements: str
actions:
  description: What was (or in check mode would be) done, one line each.
  returned: always
  type: list
  elements: str
  sample: ["request a certificate for *.example.com, example.com"]
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.directfanz.launch.plugins.module_utils import route53
from ansible_collections.directfanz.launch.plugins.module_utils.acm import MANAGED_TAG, describe, find_ours, names_of
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, finish, refuse, retrying_client)
from ansible_collections.directfanz.launch.plugins.module_utils.records import (
    RecordError, from_rrset, in_zone, normalize_record, plan_changes, split_batches, to_change)


def validation_records(cert):
    seen = {}
    for option in cert.get("DomainValidationOptions", []):
        rr = option.get("ResourceRecord")
        if rr:
            seen[(rr["Name"].lower(), rr["Type"])] = {"name": rr["Name"].lower(), "type": rr["Type"],
                                                      "value": rr["Value"].lower()}
    return [seen[k] for k in sorted(seen)]


def wait_for_records(module, acm, cert, names, timeout=120):
    """ACM adds the validation records a few seconds after the request; wait (bounded) until each name has one."""
    deadline = time.monotonic() + timeout
    while sum(1 for o in cert.get("DomainValidationOptions", []) if o.get("ResourceRecord")) < len(names):
        if time.monotonic() > deadline:
            module.fail_json(msg="ACM gave no DNS validation records for %s within %d s"
                                 % (cert["CertificateArn"], timeout))
        time.sleep(2)
        cert = describe(module, acm, cert["CertificateArn"])
    return cert


def failure(cert):
    if cert["Status"] in ("FAILED", "VALIDATION_TIMED_OUT"):
        return ("certificate %s for %s is %s (%s). It will not be retried: delete it (state=absent) and run again;"
                " check that the validation CNAMEs are in the domain's public zone and that CAA records allow"
                " amazon.com" % (cert["CertificateArn"], cert["DomainName"], cert["Status"],
                                 cert.get("FailureReason", "no reason given")))
    return None


def validation_changes(p, zone, records, existing):
    """The Route 53 changes that put the certificate's validation CNAMEs in the zone (none when they are there)."""
    zone_name = zone["HostedZone"]["Name"]
    desired = [normalize_record({"name": r["name"], "type": r["type"], "ttl": p["validation_record_ttl"],
                                 "values": [r["value"]]}, zone_name) for r in records]
    return plan_changes(desired, existing)[0]


def wait_issued(module, acm, cert, timeout, changed):
    """Until ISSUED (bounded); a failed or still pending certificate fails naming what to do."""
    deadline = time.monotonic() + timeout
    while cert["Status"] == "PENDING_VALIDATION" and time.monotonic() < deadline:
        time.sleep(min(5.0, max(0.5, deadline - time.monotonic())))
        cert = describe(module, acm, cert["CertificateArn"])
    if failure(cert):
        module.fail_json(msg=failure(cert), changed=changed, **result_of(cert))
    if cert["Status"] != "ISSUED":
        module.fail_json(msg="certificate %s is still %s after %d s; the validation records are in place, so run again"
                             " later or raise wait_timeout" % (cert["CertificateArn"], cert["Status"], timeout),
                         changed=changed, **result_of(cert))
    return cert


def plan_certificate(p, wanted, ours, zone, existing):
    """The plan from what was read: ``ours`` (our certificates for exactly these names), ``zone`` (the hosted
    zone, or None) and ``existing`` (its records, read when a certificate exists). A new certificate's
    validation records are known only after the request, so its write step computes them then."""
    plan = Plan()
    if p["state"] == "absent":
        for cert in ours:
            if cert.get("InUseBy"):
                plan.problems.append("certificate %s is in use by %s; detach it first"
                                     % (cert["CertificateArn"], ", ".join(cert["InUseBy"])))
            plan.call("acm", "delete_certificate", "delete certificate %s" % cert["CertificateArn"],
                      "delete certificate %s" % cert["CertificateArn"], CertificateArn=cert["CertificateArn"])
        return plan
    cert = ours[0] if ours else None
    if cert is None:
        tags = [{"Key": k, "Value": str(v)} for k, v in sorted(p["tags"].items()) if k != MANAGED_TAG[0]]
        tags.append({"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]})
        request = dict(DomainName=p["domain_name"].lower().rstrip("."), ValidationMethod="DNS",
                       KeyAlgorithm=p["key_algorithm"], Tags=tags)
        sans = [n for n in wanted if n != request["DomainName"]]
        if sans:
            request["SubjectAlternativeNames"] = sans
        plan.call("acm", "request_certificate", "request a certificate for %s" % ", ".join(wanted),
                  "request a certificate for %s" % ", ".join(wanted), out="certificate", **request)
        if zone is not None:
            plan.add("write_validation", "write the new certificate's validation records to %s"
                     % zone["HostedZone"]["Name"], changes=None)
    elif zone is not None:
        changes = validation_changes(p, zone, validation_records(cert), existing)
        if changes:
            plan.add("write_validation", ["%s %s" % (c["action"].lower(), c["record"]["name"]) for c in changes],
                     changes=changes)
    if p["wait"] and (cert is None or cert["Status"] != "ISSUED"):
        plan.add("wait_issued", None)
    return plan


def result_of(cert):
    out = {"arn": cert["CertificateArn"], "status": cert["Status"], "validation_records": validation_records(cert),
           "renewal_eligibility": cert.get("RenewalEligibility", ""), "in_use_by": cert.get("InUseBy", [])}
    if cert.get("NotAfter"):
        out["not_after"] = str(cert["NotAfter"])
    return out


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            domain_name=dict(type="str", required=True),
            subject_alternative_names=dict(type="list", elements="str", default=[]),
            hosted_zone_id=dict(type="str"),
            hosted_zone=dict(type="str"),
            validation_record_ttl=dict(type="int", default=300),
            key_algorithm=dict(type="str", default="RSA_2048", choices=["RSA_2048", "EC_prime256v1", "EC_secp384r1"]),
            tags=dict(type="dict", default={}),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1800),
        ),
        mutually_exclusive=[("hosted_zone_id", "hosted_zone")],
        supports_check_mode=True,
    )
    p = module.params
    wanted = names_of(p["domain_name"], p["subject_alternative_names"])
    acm = retrying_client(module, "acm")

    zone = None
    r53 = None
    if p["hosted_zone_id"] or p["hosted_zone"]:
        r53 = route53.client(module)
        zone = route53.find_zone(module, r53, zone_id=p["hosted_zone_id"], name=p["hosted_zone"])
        if zone is None and not module.check_mode:
            module.fail_json(msg="hosted zone %s does not exist (run the dns_zone phase first)"
                                 % (p["hosted_zone_id"] or "named %s" % p["hosted_zone"]))
        # in check mode the zone may be one this run would create: plan against its name
        zone_name = zone["HostedZone"]["Name"] if zone else (p["hosted_zone"] or "").lower().rstrip(".") + "."
        outside = [n for n in wanted if not in_zone(n.replace("*.", "", 1) + ".", zone_name)]
        if outside:
            module.fail_json(msg="%s not in the hosted zone %s, so their validation records cannot be written there;"
                                 " accepted: names ending in %s" % (", ".join(outside), zone_name, zone_name[:-1]))

    ours = find_ours(module, acm, wanted)
    cert = ours[0] if ours else None
    if p["state"] == "present" and cert is not None and failure(cert):
        module.fail_json(msg=failure(cert), **result_of(cert))
    existing = []
    if zone is not None and cert is not None:
        existing = [from_rrset(r, zone["HostedZone"]["Name"])
                    for r in route53.list_record_sets(module, r53, zone["HostedZone"]["Id"].split("/")[-1])]
    plan = plan_certificate(p, wanted, ours, zone, existing)
    refuse(module, "acm_certificate %s" % p["domain_name"], plan)

    outcome = {"cert": cert}

    def request(step, real):
        arn = aws_call(module, acm, step["failure"], "request_certificate", **step["kwargs"])["CertificateArn"]
        outcome["cert"] = wait_for_records(module, acm, describe(module, acm, arn), wanted)
        return arn

    def validation(step, real):
        changes = step["changes"]
        if changes is None:  # a certificate requested in this run: its records are known only now
            changes = validation_changes(p, zone, validation_records(outcome["cert"]), [
                from_rrset(r, zone["HostedZone"]["Name"])
                for r in route53.list_record_sets(module, r53, zone["HostedZone"]["Id"].split("/")[-1])])
        for batch in split_batches(changes):
            route53.apply_batch(module, r53, zone["HostedZone"]["Id"].split("/")[-1], [to_change(c) for c in batch],
                                "ACM DNS validation")

    def wait(step, real):
        outcome["cert"] = wait_issued(module, acm, outcome["cert"], p["wait_timeout"], plan.changed)

    try:
        apply(module, plan, {"acm": acm}, handlers={"request_certificate": request, "write_validation": validation,
                                                    "wait_issued": wait})
    except RecordError as exc:
        module.fail_json(msg=str(exc), **result_of(outcome["cert"]))
    if p["state"] == "absent":
        finish(module, plan, deleted=[c["CertificateArn"] for c in ours])
    if outcome["cert"] is None:  # check mode, nothing requested yet
        finish(module, plan, arn="", status="", validation_records=[], renewal_eligibility="")
    finish(module, plan, **result_of(outcome["cert"]))


if __name__ == "__main__":
    main()
