#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: elasticache_redis
short_description: A highly available, encrypted Redis/Valkey replication group with its subnet and parameter groups
version_added: 0.3.0
description:
  - In one invocation, makes an ElastiCache replication group (cluster mode disabled) what the task says - a cache
    subnet group of its own (named O(name)), a cache parameter group of its own (C(<name>-<family>), for example
    C(directfanz-redis7)) with the parameters the task sets, and the replication group - a primary and at least one
    replica in another zone, automatic failover, Multi-AZ, TLS in transit, encryption at rest with a KMS key, an
    AUTH token, snapshots, a maintenance window, security groups and tags.
  - Why a module of our own - amazon.aws and community.aws have no replication group module
    (C(community.aws.elasticache) makes single-node clusters only).
  - Idempotent - only what the task sets is compared, normalised (lower-case windows, id sets, a C(7.1) asked is met
    by C(7.1.x) running), and a node type or engine version change that waits for the maintenance window is seen
    as pending, not as a change, on the next run.
  - The AUTH token is never returned by AWS, so the module keeps a salted PBKDF2 fingerprint of it in the tag
    C(launch-auth-token-fingerprint); a different token rotates it with O(auth_token_update_strategy). See
    O(rotate_auth_token) and the collection's C(docs/elasticache.md).
  - What AWS cannot change in place (encryption at rest, the KMS key, the subnet group of the replication group,
    transit encryption on Redis before 7.0, an engine downgrade, valkey back to redis) is refused before any
    write, with what to do instead. Turning transit encryption on (7.0+) and removing replicas are refused unless
    O(allow_disruptive_changes).
  - A replication group or subnet group of the same name that is not tagged C(managed-by=directfanz.launch) and
    C(launch-elasticache=<name>) is never adopted.
  - The module never deletes anything.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description:
      - The replication group id, also the name of its cache subnet group and the prefix of its parameter group.
      - 1 to 40 lower-case letters, digits and hyphens, starting with a letter, not ending with a hyphen, no C(--).
    type: str
    required: true
  description:
    description: Description of the replication group; defaults to C(DirectFanz cache <name>).
    type: str
  engine:
    description: The engine.
    type: str
    choices: [redis, valkey]
    default: redis
  engine_version:
    description:
      - The engine version, C(major.minor) or C(major.minor.patch); redis 6.x or 7.x, valkey 7.2 or 8.x.
      - Its parameter group family (C(redis7), C(redis6.x), C(valkey8)) names the module's parameter group.
      - A newer version is an upgrade (at the maintenance window unless O(apply_immediately)); an older one is refused.
    type: str
    default: "7.1"
  node_type:
    description: The node type, C(cache.<family>.<size>), for example C(cache.t4g.micro) or C(cache.r7g.large).
    type: str
    required: true
  availability_zones:
    description:
      - One entry per node - the primary's zone first, then a zone for each replica (2 to 6 entries, at least two
        different zones).
      - ElastiCache does not move nodes - zones that differ from the running nodes' are a warning, not a change.
        More entries add replicas; fewer remove replicas only with O(allow_disruptive_changes).
    type: list
    elements: str
    required: true
  subnet_ids:
    description: The private subnets of the cache subnet group (one per zone the nodes are in, at least).
    type: list
    elements: str
    required: true
  security_group_ids:
    description: The VPC security groups of the nodes (the cache group, reachable from the app group only).
    type: list
    elements: str
    required: true
  port:
    description: The port the nodes listen on (at creation only).
    type: int
    default: 6379
  automatic_failover:
    description: Promote a replica automatically when the primary fails.
    type: bool
    default: true
  multi_az:
    description: Multi-AZ (needs O(automatic_failover)).
    type: bool
    default: true
  transit_encryption:
    description: TLS between clients and nodes, and between nodes.
    type: bool
    default: true
  at_rest_encryption:
    description: Encrypt data on disk and snapshots (cannot be changed after creation).
    type: bool
    default: true
  kms_key_id:
    description:
      - The customer managed KMS key for encryption at rest - key id, key ARN, C(alias/<name>) or alias ARN. Resolved
        with KMS C(DescribeKey) to compare it with the group's.
      - Without it, AWS uses its own managed key.
    type: str
  auth_token:
    description:
      - The AUTH token (password) clients send; needs O(transit_encryption). 16 to 128 printable ASCII characters,
        none of C(@), C("), C(/) or a space.
      - Never returned, logged or shown in a diff; its fingerprint is kept as a tag (see the description).
    type: str
  auth_token_secret:
    description:
      - Read the AUTH token from this Secrets Manager secret (name or ARN) instead of O(auth_token), so the token
        never passes through the controller's variables - for example the one C(directfanz.launch.secrets_manager)
        generated once. The value is checked with the same rules as O(auth_token).
      - In check mode a secret that does not exist yet is a warning (the plan makes the group without a token);
        otherwise it is an error.
    type: str
  auth_token_secret_key:
    description: With O(auth_token_secret), the key of the JSON object in the secret that holds the token.
    type: str
  auth_token_update_strategy:
    description:
      - How a changed token is applied. C(ROTATE) adds the new token and keeps the previous one valid (so clients can
        move); a later run with the same token and C(SET) drops the previous one. C(SET) replaces the token at once.
    type: str
    choices: [ROTATE, SET]
    default: ROTATE
  rotate_auth_token:
    description:
      - Apply O(auth_token) even though the group carries no fingerprint of the token it has (a group made outside
        this module, or before its token was recorded), or to force a rotation.
    type: bool
    default: false
  parameters:
    description:
      - Cache parameters of the module's parameter group, name to value (true/false are written C(yes)/C(no), null as
        empty, which turns C(notify-keyspace-events) off). Only these are compared; the others keep the family's
        defaults.
    type: dict
    default: {}
  snapshot_retention_limit:
    description: Days of automatic snapshots to keep, 0 (none) to 35.
    type: int
  snapshot_window:
    description: Daily UTC snapshot window C(hh:mm-hh:mm), at least an hour, not overlapping O(maintenance_window).
    type: str
  maintenance_window:
    description: Weekly UTC maintenance window C(ddd:hh:mm-ddd:hh:mm), at least an hour.
    type: str
  apply_immediately:
    description:
      - Apply a node type, engine version or parameter group change now (with a failover) instead of at the
        maintenance window. AUTH token and transit encryption changes always apply at once.
    type: bool
    default: false
  allow_disruptive_changes:
    description:
      - Allow the in-place changes clients notice - turning transit encryption on (mode C(preferred), then
        C(required) on a later run) and removing replicas.
    type: bool
    default: false
  tags:
    description:
      - Tags of the replication group and the subnet and parameter groups (added or updated, never removed).
      - C(managed-by), C(launch-elasticache) and the two C(launch-auth-token-*) keys are set by the module.
    type: dict
    default: {}
  wait:
    description:
      - Wait until the replication group is C(available) after making or changing it (or when it is still being
        made), up to O(wait_timeout). With C(false), return as soon as the create or change has started - the launch
        starts the slow creates together and waits for them later with O(wait=true) and the same arguments.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait with O(wait) (a new replication group takes 5 to 20 minutes).
    type: int
    default: 1800
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and returns the planned RV(actions); creates, changes and waits for nothing, also on an
        empty account.
  diff_mode:
    support: full
    description:
      - Shows the subnet group, the parameters the task sets and the replication group's managed settings, as they
        are and as they would be; the AUTH token only as C(set) or C(none).
"""

EXAMPLES = r"""
- name: The platform's Redis, primary in one zone and a replica in another, started without waiting
  directfanz.launch.elasticache_redis:
    name: directfanz-redis
    engine_version: "7.1"
    node_type: cache.t4g.small
    availability_zones: [us-east-1a, us-east-1b]
    subnet_ids: "{{ network.private_subnet_ids }}"
    security_group_ids: ["{{ network.security_group_ids.cache }}"]
    kms_key_id: alias/directfanz-data
    auth_token: "{{ redis_auth_token }}"
    parameters:
      maxmemory-policy: volatile-lru
      notify-keyspace-events: ""
      timeout: 300
    snapshot_retention_limit: 7
    snapshot_window: "03:00-04:00"
    maintenance_window: "sun:05:00-sun:06:00"
    wait: false
  register: redis

- name: Later, wait for it together with the other slow creates
  directfanz.launch.elasticache_redis:
    name: directfanz-redis
    node_type: cache.t4g.small
    availability_zones: [us-east-1a, us-east-1b]
    subnet_ids: "{{ network.private_subnet_ids }}"
    security_group_ids: ["{{ network.security_group_ids.cache }}"]
    kms_key_id: alias/directfanz-data
    auth_token: "{{ redis_auth_token }}"
    wait: true
"""

RETURN = r"""
replication_group_id:
  description: The replication group id (O(name)).
  returned: always
  type: str
arn:
  description: ARN of the replication group (a placeholder in check mode before it exists).
  returned: always
  type: str
status:
  description: Status of the replication group as last read - C(creating), C(modifying), C(available)...
  returned: always
  type: str
primary_endpoint:
  description: C({address, port}) of the read/write endpoint; empty while AWS has not given one yet.
  returned: always
  type: dict
  sample: {"address": "master.directfanz-redis.abc123.use1.cache.amazonaws.com", "port": 6379}
reader_endpoint:
  description: C({address, port}) of the reader endpoint; empty while AWS has not given one yet.
  returned: always
  type: dict
members:
  description: The nodes, each C({id, zone, role}).
  returned: always
  type: list
  elements: dict
subnet_group:
  description: Name of the cache subnet group.
  returned: always
  type: str
parameter_group:
  description: Name of the cache parameter group.
  returned: always
  type: str
created_at:
  description: When AWS began making the replication group (ISO 8601), if known.
  returned: always
  type: str
ready_at:
  description: When the module saw it C(available) while waiting (ISO 8601, UTC); empty without a wait.
  returned: always
  type: str
unverified:
  description: What could not be read (moto gaps) and was therefore neither compared nor changed.
  returned: always
  type: list
  elements: str
actions:
  description: What was done (or in check mode would be done), one line per change; never the token.
  returned: always
  type: list
  elements: str
  sample: ["create cache subnet group directfanz-redis (subnet-0a, subnet-0b)", "rotate the AUTH token of directfanz-redis"]
"""

import datetime
import json
import os
import time

try:
    import botocore
    from botocore.parsers import ResponseParserError
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.directfanz.launch.plugins.module_utils import elasticache as E
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    apply, aws_call, error_code, finish, refuse, retrying_client)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


class Reader:
    """The module's reads, each failing with "Could not read ..." except where AWS says "not found" (None) or a
    moto gap is tolerated (`E.GAP`, through `E.tolerated_gap` only)."""

    def __init__(self, module, ec, kms):
        self.module, self.ec, self.kms = module, ec, kms
        self.endpoint = module.params.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_ELASTICACHE") \
            or os.environ.get("AWS_ENDPOINT_URL")
        self.warnings, self.unverified = [], []

    def read(self, what, method, missing=(), gap=None, subject="", client=None, **kwargs):
        try:
            return getattr(client or self.ec, method)(aws_retry=True, **kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, ResponseParserError) as e:
            # (ResponseParserError - an answer that is not AWS's XML, such as moto's HTML error page - is neither)
            code = error_code(e)
            if code and code in missing:
                return None
            text = E.tolerated_gap(self.endpoint, gap, code, str(e), subject) if gap else None
            if text:
                self.warnings.append(text)
                self.unverified.append(text)
                return E.GAP
            if isinstance(e, ResponseParserError):
                self.module.fail_json(msg="Could not %s: the endpoint's answer is not AWS's (%s)" % (what, e))
            self.module.fail_json_aws(e, msg="Could not %s" % what)

    def tags(self, arn):
        answer = self.read("read the tags of %s" % arn, "list_tags_for_resource", ResourceName=arn)
        return dict((t["Key"], t.get("Value", "")) for t in answer.get("TagList") or [])

    def pages(self, what, method, key, gap, subject, inner=None, **kwargs):
        items, marker = [], None
        while True:
            page = self.read(what, method, gap=gap, subject=subject, **(dict(kwargs, Marker=marker) if marker else kwargs))
            if page == E.GAP:
                return E.GAP
            body = page.get(inner) or {} if inner else page
            items.extend(body.get(key) or [])
            marker = body.get("Marker")
            if not marker:
                return items

    def key_arn(self, key_id):
        answer = self.read("read KMS key %s" % key_id, "describe_key", missing=("NotFoundException",), client=self.kms,
                           KeyId=key_id)
        return answer["KeyMetadata"]["Arn"] if answer else None


def secret_token(module, reader, secrets, p, state):
    """The AUTH token kept in Secrets Manager (``auth_token_secret``), masked in every output from here on; None
    when it cannot be had (a problem, or in check mode a warning, says why)."""
    name, key = p["auth_token_secret"], p["auth_token_secret_key"]
    answer = reader.read("read secret %s" % name, "get_secret_value", missing=("ResourceNotFoundException",),
                         client=secrets, SecretId=name)
    if answer is None:
        text = "secret %s (the AUTH token) does not exist; make it first (secrets_manager, generate once)" % name
        (state["warnings"] if module.check_mode else state["problems"]).append(text)
        return None
    value = answer.get("SecretString")
    if value is not None and key:
        try:
            value = json.loads(value).get(key)
        except (ValueError, AttributeError):
            value = None
    if not isinstance(value, str) or not value:
        state["problems"].append("secret %s holds no text%s; accepted: a string secret, or a JSON object with"
                                 " auth_token_secret_key" % (name, " under key %s" % key if key else ""))
        return None
    module.no_log_values.add(value)
    problems = E.token_problems(value)
    state["problems"].extend("secret %s: %s" % (name, problem) for problem in problems)
    return None if problems else value


def read_state(module, reader, d):
    s = {"problems": [], "warnings": reader.warnings, "asked_parameters": sorted(d["parameters"])}
    name = d["name"]
    found = reader.read("read replication group %s" % name, "describe_replication_groups",
                        missing=("ReplicationGroupNotFoundFault",), ReplicationGroupId=name)
    rg = (found.get("ReplicationGroups") or [None])[0] if found else None
    s["replication_group"] = rg
    if rg:
        s["tags"] = reader.tags(rg["ARN"])
        s["engine"] = rg.get("Engine")
        members = E.members_of(rg)
        primary = [m["id"] for m in members if m["role"] == "primary"] or list(rg.get("MemberClusters") or [])[:1]
        s["member"] = E.GAP
        if primary:
            answer = reader.read("read cache cluster %s of %s" % (primary[0], name), "describe_cache_clusters",
                                 gap="member", CacheClusterId=primary[0])
            if answer != E.GAP:
                cluster = (answer.get("CacheClusters") or [{}])[0]
                s["engine"] = s["engine"] or cluster.get("Engine")
                s["member"] = {
                    "engine_version": cluster.get("EngineVersion"),
                    "parameter_group": (cluster.get("CacheParameterGroup") or {}).get("CacheParameterGroupName"),
                    "subnet_group": cluster.get("CacheSubnetGroupName"),
                    "security_groups": sorted(g["SecurityGroupId"] for g in cluster.get("SecurityGroups") or []),
                    "maintenance_window": cluster.get("PreferredMaintenanceWindow"),
                    "pending": cluster.get("PendingModifiedValues") or {}}
    found = reader.read("read cache subnet group %s" % name, "describe_cache_subnet_groups",
                        missing=("CacheSubnetGroupNotFoundFault",), CacheSubnetGroupName=name)
    group = (found.get("CacheSubnetGroups") or [None])[0] if found else None
    s["subnet_group"] = None
    if group:
        s["subnet_group"] = {"name": group["CacheSubnetGroupName"], "arn": group.get("ARN"),
                             "subnets": sorted(x["SubnetIdentifier"] for x in group.get("Subnets") or []),
                             "tags": reader.tags(group["ARN"]) if group.get("ARN") else {}}
    pg_name = d["parameter_group"]
    found = reader.read("read cache parameter group %s" % pg_name, "describe_cache_parameter_groups",
                        missing=("CacheParameterGroupNotFound", "CacheParameterGroupNotFoundFault"),
                        gap="parameter_group", subject=pg_name, CacheParameterGroupName=pg_name)
    if found == E.GAP:
        s["parameter_group"] = s["parameters"] = E.GAP
    else:
        pg = (found.get("CacheParameterGroups") or [None])[0] if found else None
        s["parameter_group"] = {"name": pg["CacheParameterGroupName"], "family": pg.get("CacheParameterGroupFamily")} \
            if pg else None
        if pg:
            items = reader.pages("read the parameters of %s" % pg_name, "describe_cache_parameters", "Parameters",
                                 "parameter_group", pg_name, CacheParameterGroupName=pg_name)
        else:
            items = reader.pages("read the default %s parameters" % d["family"], "describe_engine_default_parameters",
                                 "Parameters", "parameter_group", pg_name, inner="EngineDefaults",
                                 CacheParameterGroupFamily=d["family"])
        s["parameters"] = E.GAP if items == E.GAP else dict(
            (x["ParameterName"], {"value": x.get("ParameterValue") or "", "modifiable": x.get("IsModifiable", True),
                                  "change_type": x.get("ChangeType")}) for x in items)
    if d["at_rest_encryption"] and d["kms_key_id"]:
        desired = reader.key_arn(d["kms_key_id"])
        if desired is None:
            text = "KMS key %s does not exist; make it first (the phase that makes the launch's data key)" % d["kms_key_id"]
            (s["warnings"] if module.check_mode else s["problems"]).append(text)
        existing = rg.get("KmsKeyId") if rg else None
        if existing and existing != desired:
            existing = reader.key_arn(existing) or existing
        s["kms"] = {"desired": desired or d["kms_key_id"], "existing": existing}
    return s


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            description=dict(type="str"),
            engine=dict(type="str", choices=["redis", "valkey"], default="redis"),
            engine_version=dict(type="str", default="7.1"),
            node_type=dict(type="str", required=True),
            availability_zones=dict(type="list", elements="str", required=True),
            subnet_ids=dict(type="list", elements="str", required=True),
            security_group_ids=dict(type="list", elements="str", required=True),
            port=dict(type="int", default=6379),
            automatic_failover=dict(type="bool", default=True),
            multi_az=dict(type="bool", default=True),
            transit_encryption=dict(type="bool", default=True),
            at_rest_encryption=dict(type="bool", default=True),
            kms_key_id=dict(type="str"),
            auth_token=dict(type="str", no_log=True),
            auth_token_secret=dict(type="str", no_log=False),  # the secret's name, not its value
            auth_token_secret_key=dict(type="str", no_log=False),
            auth_token_update_strategy=dict(type="str", choices=["ROTATE", "SET"], default="ROTATE"),
            rotate_auth_token=dict(type="bool", default=False),
            parameters=dict(type="dict", default={}),
            snapshot_retention_limit=dict(type="int"),
            snapshot_window=dict(type="str"),
            maintenance_window=dict(type="str"),
            apply_immediately=dict(type="bool", default=False),
            allow_disruptive_changes=dict(type="bool", default=False),
            tags=dict(type="dict", default={}),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1800),
        ),
        supports_check_mode=True,
        mutually_exclusive=[("auth_token", "auth_token_secret")],
    )
    p = module.params
    problems = E.input_problems(p, module.region)
    if p["auth_token_secret"] and not p["transit_encryption"]:
        problems.append("auth_token_secret needs transit_encryption (AWS accepts AUTH only over TLS); accepted:"
                        " transit_encryption: true")
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="elasticache_redis %s refused the input: %s" % (p["name"], "; ".join(problems)),
                         problems=problems)
    d = E.desired_of(p)

    clients = {"elasticache": retrying_client(module, "elasticache"), "kms": retrying_client(module, "kms")}
    reader = Reader(module, clients["elasticache"], clients["kms"])
    state = read_state(module, reader, d)
    if p["auth_token_secret"]:
        d["auth_token"] = secret_token(module, reader, retrying_client(module, "secretsmanager"), p, state)
    fingerprint = E.token_fingerprint(d["auth_token"], d["name"]) if d["auth_token"] is not None else None
    plan = E.plan_cache(d, state, fingerprint)
    refuse(module, "elasticache_redis %s" % d["name"], plan)

    ready = {}

    def wait_step(step, real):
        def describe():
            found = aws_call(module, clients["elasticache"], "read replication group %s" % step["name"],
                             "describe_replication_groups", ReplicationGroupId=step["name"])
            return (found.get("ReplicationGroups") or [None])[0]
        started = time.monotonic()
        try:
            rg = E.wait_available(describe, step["timeout"])
        except (E.WaitTimeout, E.WaitFailed) as e:
            module.fail_json(msg="replication group %s: %s; the next run finds it again (raise wait_timeout to wait"
                                 " longer)" % (step["name"], e), actions_done=plan.actions)
        ready.update(at=now_iso(), waited=round(time.monotonic() - started, 1))
        return rg

    real = apply(module, plan, clients, handlers={"wait_available": wait_step})

    rg = state["replication_group"]
    made = real("(new replication group %s)" % d["name"])
    if isinstance(made, dict):
        rg = made
    waited = real("(new ready %s)" % d["name"])
    if isinstance(waited, dict):
        rg = waited
    created = rg.get("ReplicationGroupCreateTime") if rg else None
    outputs = dict(
        replication_group_id=d["name"],
        arn=rg["ARN"] if rg else "(new replication group %s)" % d["name"],
        status=(rg or {}).get("Status") or ("(new)" if module.check_mode else "creating"),
        members=E.members_of(rg) if rg else [],
        subnet_group=d["subnet_group"], parameter_group=d["parameter_group"],
        created_at=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        ready_at=ready.get("at", ""), unverified=reader.unverified, **E.endpoints_of(rg))
    finish(module, plan, diff={"before": E.view_of(None, state), "after": E.view_of(d, None)}, **outputs)


if __name__ == "__main__":
    main()
