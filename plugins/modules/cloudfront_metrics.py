#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cloudfront_metrics
short_description: CloudFront's additional metrics (CacheHitRate and others) on or off for one distribution
version_added: 0.6.0
description:
  - Keeps the distribution's monitoring subscription, which makes CloudFront publish its additional CloudWatch
    metrics - C(CacheHitRate), C(OriginLatency), the 4xx/5xx rates by status code - every minute (billed per metric).
    Without it the launch's cache hit rate alarm (requirement 8.1) has no data.
  - Reads the subscription (GetMonitoringSubscription) and plans CreateMonitoringSubscription only when the status
    differs from O(additional_metrics); turning them off deletes the subscription.
  - An endpoint that does not implement the operation at all (a bare HTTP 404 without an AWS error code - the
    sandbox's moto 5.2.5, which has no monitoring subscriptions) is reported as C(unsupported=true) with a warning and
    changes nothing; AWS answers C(NoSuchMonitoringSubscription) or C(NoSuchDistribution) instead, which are handled
    as themselves.
author: DirectFanz platform team (@directfanz)
options:
  distribution_id:
    description: Id of the CloudFront distribution.
    type: str
    required: true
  additional_metrics:
    description: Whether the additional metrics are published.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads the subscription and returns the planned RV(actions); writes nothing.
  diff_mode:
    support: full
    description: Returns the subscription's status before and after.
"""

EXAMPLES = r"""
- name: Publish the distribution's cache hit rate
  directfanz.launch.cloudfront_metrics:
    distribution_id: E1ABCDEF2GHIJK
"""

RETURN = r"""
status:
  description: C(Enabled) or C(Disabled) after the run (in check mode, as planned); C(unknown) when unsupported.
  returned: always
  type: str
unsupported:
  description: True when the endpoint does not implement monitoring subscriptions (the sandbox's moto).
  returned: always
  type: bool
actions:
  description: What was done (in check mode, what would be done).
  returned: always
  type: list
  elements: str
"""

import re

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, error_code, finish, refuse, retrying_client)

DISTRIBUTION_ID = re.compile(r"^[A-Z0-9]{1,128}$")


def plan_metrics(distribution_id, wanted, current):
    """The plan from the wanted state (bool) and the current status (None when there is no subscription)."""
    plan = Plan()
    enabled = current == "Enabled"
    if wanted and not enabled:
        plan.call("cloudfront", "create_monitoring_subscription",
                  ["enable the additional metrics of distribution %s" % distribution_id],
                  "enable the additional metrics of distribution %s" % distribution_id,
                  DistributionId=distribution_id,
                  MonitoringSubscription={"RealtimeMetricsSubscriptionConfig": {
                      "RealtimeMetricsSubscriptionStatus": "Enabled"}})
    elif not wanted and current is not None:
        plan.call("cloudfront", "delete_monitoring_subscription",
                  ["disable the additional metrics of distribution %s" % distribution_id],
                  "disable the additional metrics of distribution %s" % distribution_id, DistributionId=distribution_id)
    return plan


def read_status(module, client, distribution_id):
    """(status or None, unsupported): None when the distribution has no subscription."""
    try:
        answer = client.get_monitoring_subscription(DistributionId=distribution_id, aws_retry=True)
    except botocore.exceptions.ClientError as e:
        code = error_code(e)
        if code == "NoSuchMonitoringSubscription":
            return None, False
        if code == "404":  # no AWS error code at all: the endpoint lacks the operation (moto), see DOCUMENTATION
            return None, True
        module.fail_json_aws(e, msg="Could not read the monitoring subscription of distribution %s" % distribution_id)
    except botocore.exceptions.BotoCoreError as e:
        module.fail_json_aws(e, msg="Could not read the monitoring subscription of distribution %s" % distribution_id)
    config = (answer.get("MonitoringSubscription") or {}).get("RealtimeMetricsSubscriptionConfig") or {}
    return config.get("RealtimeMetricsSubscriptionStatus"), False


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(distribution_id=dict(type="str", required=True),
                           additional_metrics=dict(type="bool", default=True)),
        supports_check_mode=True,
    )
    p = module.params
    if not DISTRIBUTION_ID.match(p["distribution_id"] or ""):
        module.fail_json(msg="distribution_id %r is not valid; accepted: a CloudFront distribution id such as"
                             " E1ABCDEF2GHIJK" % p["distribution_id"])
    client = retrying_client(module, "cloudfront", retries=8, max_delay=20)
    current, unsupported = read_status(module, client, p["distribution_id"])
    if unsupported:
        module.warn("the AWS endpoint does not implement CloudFront monitoring subscriptions (moto lacks them): the"
                    " additional metrics of distribution %s were not enabled" % p["distribution_id"])
        module.exit_json(changed=False, status="unknown", unsupported=True, actions=[])
    plan = plan_metrics(p["distribution_id"], p["additional_metrics"], current)
    refuse(module, "cloudfront_metrics %s" % p["distribution_id"], plan)
    after = "Enabled" if p["additional_metrics"] else "Disabled"
    diff = {"before": {"additional_metrics": current or "Disabled"}, "after": {"additional_metrics": after}}
    apply(module, plan, {"cloudfront": client})
    finish(module, plan, diff if module._diff else None, status=after, unsupported=False)


if __name__ == "__main__":
    main()
