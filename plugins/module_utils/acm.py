# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding our ACM certificates: shared by acm_certificate (which makes them) and launch_facts (which finds them
for later phases)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

MANAGED_TAG = ("managed-by", "directfanz.launch")
LIVE = ("PENDING_VALIDATION", "ISSUED", "INACTIVE", "FAILED", "VALIDATION_TIMED_OUT")
KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


def names_of(domain_name, sans):
    return sorted(set(n.lower().rstrip(".") for n in [domain_name] + list(sans)))


def find_ours(module, acm, wanted):
    """Our certificates for exactly these names, newest first."""
    found = []
    try:
        paginator = acm.get_paginator("list_certificates")
        pages = paginator.paginate(CertificateStatuses=list(LIVE), Includes={"keyTypes": KEY_TYPES})
        summaries = [s for page in pages for s in page["CertificateSummaryList"]]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not list ACM certificates")
    for summary in summaries:
        if summary["DomainName"].lower() not in wanted:
            continue
        cert = describe(module, acm, summary["CertificateArn"])
        if names_of(cert["DomainName"], cert.get("SubjectAlternativeNames", [])) != wanted:
            continue
        try:
            tags = acm.list_tags_for_certificate(CertificateArn=cert["CertificateArn"], aws_retry=True).get("Tags", [])
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Could not read the tags of %s" % cert["CertificateArn"])
        if {"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]} in tags:
            found.append(cert)
    return sorted(found, key=lambda c: str(c.get("CreatedAt", "")), reverse=True)


def describe(module, acm, arn):
    try:
        return acm.describe_certificate(CertificateArn=arn, aws_retry=True)["Certificate"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not describe certificate %s" % arn)
