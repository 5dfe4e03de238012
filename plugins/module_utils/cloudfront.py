# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudFront calls and finding our distribution: shared by cloudfront_distribution and launch_facts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

MANAGED_TAG = ("managed-by", "directfanz.launch")
NAME_TAG = "launch-distribution"
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"  # the one hosted zone id of every CloudFront alias target


class Distributions:
    """CloudFront calls, one small function each, retried with jittered backoff."""

    def __init__(self, module):
        self.module = module
        self.cf = module.client("cloudfront", retry_decorator=AWSRetry.jittered_backoff(retries=10, delay=1,
                                                                                        max_delay=30))

    def fail(self, e, what):
        self.module.fail_json_aws(e, msg="Could not %s" % what)

    def summaries(self):
        try:
            pages = self.cf.get_paginator("list_distributions").paginate()
            return [s for page in pages for s in (page["DistributionList"].get("Items") or [])]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.fail(e, "list CloudFront distributions")

    def tags(self, arn):
        try:
            answer = self.cf.list_tags_for_resource(Resource=arn, aws_retry=True)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.fail(e, "read the tags of %s" % arn)
        return dict((t["Key"], t["Value"]) for t in answer["Tags"].get("Items") or [])

    def get_config(self, dist_id):
        try:
            answer = self.cf.get_distribution_config(Id=dist_id, aws_retry=True)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.fail(e, "read the configuration of distribution %s" % dist_id)
        return answer["DistributionConfig"], answer["ETag"]

    def get(self, dist_id):
        try:
            return self.cf.get_distribution(Id=dist_id, aws_retry=True)["Distribution"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.fail(e, "read distribution %s" % dist_id)

    def find_origin_access_control(self, name):
        """The id of the origin access control of that name, '' when there is none."""
        try:
            pages = self.cf.get_paginator("list_origin_access_controls").paginate()
            found = [c for page in pages for c in (page["OriginAccessControlList"].get("Items") or [])
                     if c["Name"] == name]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.fail(e, "list origin access controls")
        return found[0]["Id"] if found else ""

    def alias_conflict(self, e, aliases):
        code = e.response.get("Error", {}).get("Code", "") if hasattr(e, "response") else ""
        if code == "CNAMEAlreadyExists":
            self.module.fail_json(msg="CloudFront refused the aliases %s: one is already used by a distribution in"
                                      " another AWS account (CNAMEAlreadyExists). Remove it there, or move it with"
                                      " CloudFront's ListConflictingAliases/AssociateAlias; nothing was changed here"
                                      % ", ".join(aliases))

    def create(self, config, tags, aliases):
        request = {"DistributionConfig": config,
                   "Tags": {"Items": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}}
        try:
            return self.cf.create_distribution_with_tags(aws_retry=True, DistributionConfigWithTags=request)[
                "Distribution"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.alias_conflict(e, aliases)
            self.fail(e, "create the distribution for %s" % (", ".join(aliases) or config["Comment"]))

    def update(self, dist_id, config, etag, aliases):
        try:
            return self.cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=config,
                                               aws_retry=True)["Distribution"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.alias_conflict(e, aliases)
            self.fail(e, "update distribution %s" % dist_id)

    def delete(self, dist_id, etag):
        try:
            self.cf.delete_distribution(Id=dist_id, IfMatch=etag, aws_retry=True)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.fail(e, "delete distribution %s" % dist_id)

    def wait_deployed(self, dist_id, timeout):
        deadline = time.monotonic() + timeout
        while True:
            dist = self.get(dist_id)
            if dist["Status"] == "Deployed":
                return dist
            if time.monotonic() > deadline:
                self.module.fail_json(msg="distribution %s is still %s after %d s; the change is applied and CloudFront"
                                          " finishes it on its own - run again later or raise wait_timeout"
                                          % (dist_id, dist["Status"], timeout), id=dist_id)
            time.sleep(min(15.0, max(1.0, deadline - time.monotonic())))


def find(dists, name, aliases):
    """(ours or None, [(alias, other distribution summary)]) - an alias can live on one distribution only."""
    comment = "%s (managed by directfanz.launch)" % name
    ours, conflicts = None, []
    for summary in dists.summaries():
        held = set(a.lower() for a in (summary.get("Aliases", {}).get("Items") or []))
        if summary.get("Comment") != comment and not held & set(aliases):
            continue
        tags = dists.tags(summary["ARN"])
        if tags.get(MANAGED_TAG[0]) == MANAGED_TAG[1] and tags.get(NAME_TAG) == name:
            ours = summary
        else:
            conflicts.extend((alias, summary) for alias in sorted(held & set(aliases)))
    return ours, conflicts
