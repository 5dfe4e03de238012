# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Route 53 calls shared by our modules: one small function per API call, retried on throttling and
``PriorRequestNotComplete`` (Route 53's "a change to this zone is still being applied")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

RETRY = AWSRetry.jittered_backoff(retries=10, delay=1, max_delay=20,
                                  catch_extra_error_codes=["PriorRequestNotComplete", "Throttling"])


def client(module):
    return module.client("route53", retry_decorator=RETRY)


def find_zone(module, conn, name=None, zone_id=None, private=False):
    """The hosted zone (GetHostedZone answer) by id or by exact name and visibility; None when absent."""
    if zone_id:
        zone_id = zone_id.split("/")[-1]
        try:
            return conn.get_hosted_zone(Id=zone_id, aws_retry=True)
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") == "NoSuchHostedZone":
                return None
            module.fail_json_aws(e, msg="Could not read hosted zone %s" % zone_id)
        except botocore.exceptions.BotoCoreError as e:
            module.fail_json_aws(e, msg="Could not read hosted zone %s" % zone_id)
    fqdn = name.lower().rstrip(".") + "."
    matches = []
    try:
        kwargs = {"DNSName": fqdn}
        while True:
            page = conn.list_hosted_zones_by_name(aws_retry=True, **kwargs)
            for z in page["HostedZones"]:
                if z["Name"].lower() == fqdn and bool(z.get("Config", {}).get("PrivateZone")) == private:
                    matches.append(z)
            if not page.get("IsTruncated") or page.get("NextDNSName", "").lower() != fqdn:
                break
            kwargs = {"DNSName": page["NextDNSName"], "HostedZoneId": page["NextHostedZoneId"]}
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not list hosted zones named %s" % fqdn)
    if len(matches) > 1:
        module.fail_json(msg="%d %s hosted zones are named %s (%s); name the one to use with hosted_zone_id"
                             % (len(matches), "private" if private else "public", fqdn,
                                ", ".join(z["Id"].split("/")[-1] for z in matches)))
    if not matches:
        return None
    return find_zone(module, conn, zone_id=matches[0]["Id"])


@RETRY
def _all_record_sets(conn, zone_id):
    pages = conn.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
    return [rrset for page in pages for rrset in page["ResourceRecordSets"]]


def list_record_sets(module, conn, zone_id):
    """Every record set of the zone (the whole listing is retried on throttling)."""
    try:
        return _all_record_sets(conn, zone_id)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not list the record sets of hosted zone %s" % zone_id)


def apply_batch(module, conn, zone_id, changes, comment, applied=()):
    """One ChangeResourceRecordSets request; returns the change id. A failure names earlier requests
    of the same run that were already applied (``applied``)."""
    try:
        answer = conn.change_resource_record_sets(
            aws_retry=True, HostedZoneId=zone_id, ChangeBatch={"Comment": comment, "Changes": changes})
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        done = " (already applied in this run: changes %s)" % ", ".join(applied) if applied else ""
        module.fail_json_aws(e, msg="Could not change %d record set(s) in hosted zone %s%s"
                                    % (len(changes), zone_id, done), applied_change_ids=list(applied))
    return answer["ChangeInfo"]["Id"].split("/")[-1]


def wait_in_sync(module, conn, change_ids, timeout, delay=2.0):
    """Poll GetChange until every change is INSYNC or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    pending = list(change_ids)
    while pending:
        try:
            pending = [c for c in pending if conn.get_change(Id=c, aws_retry=True)["ChangeInfo"]["Status"] != "INSYNC"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Could not read the status of change %s" % pending[0])
        if not pending:
            return
        if time.monotonic() + delay > deadline:
            module.fail_json(msg="Route 53 changes %s were not INSYNC within wait_timeout (%s s); they are applied"
                                 " and will finish on their own - raise wait_timeout to wait longer"
                                 % (", ".join(pending), timeout), change_ids=change_ids)
        time.sleep(delay)
