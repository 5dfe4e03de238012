# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Route 53 health checks as the launch names them: by their ``Name`` tag.

Route 53 gives a health check no name of its own (only an id and a caller reference), so the launch finds its checks
by the ``Name`` tag it sets (``<prefix>-<name>``). Read here once for the module that keeps them
(route53_health_checks) and the one that reads what the alarms watch (alarm_targets)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.directfanz.launch.plugins.module_utils.plan import aws_read

MANAGED = ("managed-by", "directfanz.launch")


def read_health_checks(module, client):
    """Name tag -> {id, version, config, tags, managed} for every health check that has a Name tag (one listing,
    then the tags ten checks per ListTagsForResources call, Route 53's limit)."""
    checks = []
    marker = None
    while True:
        paging = {"Marker": marker} if marker else {}
        page = aws_read(module, client, "list health checks", "list_health_checks", **paging)
        checks.extend(page.get("HealthChecks") or [])
        if not page.get("IsTruncated"):
            break
        marker = page.get("NextMarker")
    tags = {}
    for start in range(0, len(checks), 10):
        ids = [c["Id"] for c in checks[start:start + 10]]
        answer = aws_read(module, client, "read the tags of health checks", "list_tags_for_resources",
                          ResourceType="healthcheck", ResourceIds=ids)
        for tag_set in answer.get("ResourceTagSets") or []:
            tags[tag_set["ResourceId"]] = dict((t["Key"], t.get("Value", "")) for t in tag_set.get("Tags") or [])
    out = {}
    for check in checks:
        own = tags.get(check["Id"], {})
        if own.get("Name"):
            out[own["Name"]] = {"id": check["Id"], "version": check.get("HealthCheckVersion", 1),
                                "config": check.get("HealthCheckConfig") or {}, "tags": own,
                                "managed": own.get(MANAGED[0]) == MANAGED[1]}
    return out
