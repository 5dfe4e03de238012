# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ElastiCache (Redis/Valkey) replication group of the launch: input rules, the AUTH token fingerprint, the
pure planner and the bounded wait - everything `elasticache_redis` decides, on plain dicts, so it is unit-tested
without AWS. The module only reads (into the ``state`` dict described at `plan_cache`) and applies.

moto (the sandbox's AWS) lacks parts of ElastiCache. Every gap the module tolerates goes through `tolerated_gap`,
and nowhere else: a tolerated gap is never silent (it becomes a warning and an entry of the result's
``unverified``), and it is only ever tolerated against a loopback endpoint, so it cannot hide a real AWS error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import time

try:
    from urllib.parse import urlparse
except ImportError:  # pragma: no cover - Python 2 controllers are not supported by ansible-core 2.17+
    from urlparse import urlparse

from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan

MANAGED_TAG = ("managed-by", "directfanz.launch")
NAME_TAG = "launch-elasticache"
FINGERPRINT_TAG = "launch-auth-token-fingerprint"
PREVIOUS_TOKEN_TAG = "launch-auth-token-previous"
RESERVED_TAGS = (MANAGED_TAG[0], NAME_TAG, FINGERPRINT_TAG, PREVIOUS_TOKEN_TAG)

# An unknown value: what the state holds where a read hit a tolerated moto gap.
GAP = "(not readable: moto)"

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
NODE_TYPE_RE = re.compile(r"^cache\.[a-z]+[0-9]+[a-z]*\.(nano|micro|small|medium|large|[0-9]*xlarge)$")
ZONE_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$")
SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
GROUP_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")
VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
HHMM = r"([01][0-9]|2[0-3]):([0-5][0-9])"
SNAPSHOT_WINDOW_RE = re.compile(r"^%s-%s$" % (HHMM, HHMM))
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAINTENANCE_WINDOW_RE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):%s-(mon|tue|wed|thu|fri|sat|sun):%s$" % (HHMM, HHMM))
# AWS: 16-128 printable ASCII characters, none of @, ", / or a space.
TOKEN_FORBIDDEN = set('@"/ ')
TOKEN_ACCEPTED = "16 to 128 printable ASCII characters, none of @ \" / or a space"
ENGINES = {"redis": (6, 7), "valkey": (7, 8)}
ENGINES_ACCEPTED = "redis 6.x or 7.x (for example 7.1), valkey 7.2 or 8.x"
# In-place transit encryption (TransitEncryptionMode preferred -> required) needs Redis OSS 7.0+ or Valkey.
TRANSIT_IN_PLACE = (7, 0)
# PBKDF2 work factor of the token fingerprint (OWASP's figure for PBKDF2-HMAC-SHA256); about 0.35 s here.
FINGERPRINT_ITERATIONS = 600000
PARAMETERS_PER_CALL = 20  # ModifyCacheParameterGroup takes at most 20 parameters per call
MAX_NODES = 6  # one primary and at most five replicas in a node group


# ---------------------------------------------------------------------------------------------------------------
# Input (no API call)

def version_tuple(text: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def family_of(engine: str, version: str) -> str:
    """The cache parameter group family of an engine version: redis 7.x -> redis7, 6.x -> redis6.x, valkey 8.x
    -> valkey8 (AWS's names)."""
    major = version_tuple(version)[0]
    if engine == "redis" and major == 6:
        return "redis6.x"
    return "%s%d" % (engine, major)


def parameter_group_name(name: str, family: str) -> str:
    """Our parameter group's name: one per family, so a major upgrade makes a new group beside the old one."""
    return "%s-%s" % (name, family.replace(".", "-"))


def token_problems(token: Optional[str]) -> List[str]:
    """What AWS would refuse in an AUTH token, said without the token."""
    if token is None:
        return []
    problems = []
    if not 16 <= len(token) <= 128:
        problems.append("auth_token has %d characters; accepted: %s" % (len(token), TOKEN_ACCEPTED))
    bad = sorted(set(c for c in token if c in TOKEN_FORBIDDEN or not 32 <= ord(c) <= 126))
    if bad:
        named = ", ".join("space" if c == " " else (c if 32 < ord(c) < 127 else "a non-printable character")
                          for c in bad)
        problems.append("auth_token contains %s; accepted: %s" % (named, TOKEN_ACCEPTED))
    return problems


def window_minutes(text: str, weekly: bool) -> Tuple[int, int]:
    """A window as (start, end) minutes of the week (weekly) or of the day; end may wrap past the start."""
    if weekly:
        start_day, sh, sm, end_day, eh, em = MAINTENANCE_WINDOW_RE.match(text).groups()
        return (DAYS.index(start_day) * 1440 + int(sh) * 60 + int(sm), DAYS.index(end_day) * 1440 + int(eh) * 60 + int(em))
    sh, sm, eh, em = SNAPSHOT_WINDOW_RE.match(text).groups()
    return int(sh) * 60 + int(sm), int(eh) * 60 + int(em)


def window_length(start: int, end: int, period: int) -> int:
    return (end - start) % period


def windows_overlap(snapshot: Tuple[int, int], maintenance: Tuple[int, int]) -> bool:
    """Does the daily snapshot window, on any day, share a minute with the weekly maintenance window?"""
    week = 7 * 1440
    m_start, m_len = maintenance[0], window_length(maintenance[0], maintenance[1], week)
    s_len = window_length(snapshot[0], snapshot[1], 1440)
    for day in range(7):
        s_start = day * 1440 + snapshot[0]
        for shift in (-week, 0, week):
            a, b = s_start + shift, s_start + shift + s_len
            if a < m_start + m_len and m_start < b:
                return True
    return False


def input_problems(p: Dict[str, Any], region: Optional[str] = None) -> List[str]:
    """Everything wrong with the task, found with no API call, each said with what is accepted."""
    problems = []
    name = p.get("name") or ""
    if not NAME_RE.match(name) or "--" in name or name.endswith("-"):
        problems.append("name %r is not accepted; accepted: 1 to 40 lower-case letters, digits and hyphens, starting"
                        " with a letter, not ending with a hyphen, no two hyphens in a row" % name)
    engine, version = p.get("engine"), str(p.get("engine_version") or "")
    if engine not in ENGINES:
        problems.append("engine %r is not accepted; accepted: redis, valkey" % engine)
    elif not VERSION_RE.match(version) or version_tuple(version)[0] not in ENGINES[engine]:
        problems.append("engine_version %r of %s is not accepted; accepted: %s" % (version, engine, ENGINES_ACCEPTED))
    node_type = p.get("node_type") or ""
    if not NODE_TYPE_RE.match(node_type):
        problems.append("node_type %r is not accepted; accepted: cache.<family>.<size>, for example cache.t4g.micro,"
                        " cache.r7g.large, cache.m7g.2xlarge" % node_type)
    zones = p.get("availability_zones") or []
    if len(set(zones)) < 2:
        problems.append("availability_zones %s puts every node in one zone; accepted: the primary's zone first, then a"
                        " zone for each replica, at least two different zones (a zone's outage must leave a node)"
                        % (zones or "[]"))
    if len(zones) > MAX_NODES:
        problems.append("availability_zones lists %d nodes; accepted: 2 to %d (one primary, up to five replicas)"
                        % (len(zones), MAX_NODES))
    for zone in zones:
        if not ZONE_RE.match(zone or "") or (region and not zone.startswith(region)):
            problems.append("availability zone %r is not accepted; accepted: a zone of region %s such as %sa"
                            % (zone, region or "the region", region or "us-east-1"))
    subnets = p.get("subnet_ids") or []
    if not subnets or any(not SUBNET_RE.match(s or "") for s in subnets):
        problems.append("subnet_ids %s is not accepted; accepted: one or more subnet ids (subnet-0123abcd...), the"
                        " private subnets of the zones the nodes are in" % (subnets or "[]"))
    groups = p.get("security_group_ids") or []
    if not groups or any(not GROUP_RE.match(g or "") for g in groups):
        problems.append("security_group_ids %s is not accepted; accepted: one or more security group ids"
                        " (sg-0123abcd...)" % (groups or "[]"))
    if p.get("multi_az") and not p.get("automatic_failover"):
        problems.append("multi_az needs automatic_failover; accepted: automatic_failover: true, or multi_az: false")
    problems.extend(token_problems(p.get("auth_token")))
    if p.get("auth_token") is not None and not p.get("transit_encryption"):
        problems.append("auth_token needs transit_encryption (AWS accepts AUTH only over TLS); accepted:"
                        " transit_encryption: true")
    if p.get("kms_key_id") and not p.get("at_rest_encryption"):
        problems.append("kms_key_id is given but at_rest_encryption is false; accepted: at_rest_encryption: true")
    retention = p.get("snapshot_retention_limit")
    if retention is not None and not 0 <= retention <= 35:
        problems.append("snapshot_retention_limit %d is not accepted; accepted: 0 (no snapshots) to 35 days" % retention)
    windows = {}
    for key, regex, weekly, example in (("snapshot_window", SNAPSHOT_WINDOW_RE, False, "03:00-04:00"),
                                        ("maintenance_window", MAINTENANCE_WINDOW_RE, True, "sun:05:00-sun:06:00")):
        value = (p.get(key) or "").lower()
        if not value:
            continue
        if not regex.match(value):
            problems.append("%s %r is not accepted; accepted: UTC %s, for example %s" % (
                key, p.get(key), "ddd:hh:mm-ddd:hh:mm" if weekly else "hh:mm-hh:mm", example))
            continue
        start, end = window_minutes(value, weekly)
        if window_length(start, end, 7 * 1440 if weekly else 1440) < 60:
            problems.append("%s %r is shorter than an hour; accepted: at least 60 minutes" % (key, p.get(key)))
        windows[key] = (start, end)
    if len(windows) == 2 and windows_overlap(windows["snapshot_window"], windows["maintenance_window"]):
        problems.append("snapshot_window %s overlaps maintenance_window %s; accepted: windows that do not overlap"
                        % (p["snapshot_window"], p["maintenance_window"]))
    reserved = sorted(k for k in (p.get("tags") or {}) if k in RESERVED_TAGS)
    if reserved:
        problems.append("tags sets %s; accepted: any other key (the module sets %s)"
                        % (", ".join(reserved), ", ".join(RESERVED_TAGS)))
    if (p.get("wait_timeout") or 0) < 1:
        problems.append("wait_timeout %s is not accepted; accepted: at least 1 second" % p.get("wait_timeout"))
    return problems


def parameter_value(value: Any) -> str:
    """A cache parameter as AWS holds it: text; true/false as yes/no (Redis's words); None as empty (off)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# ---------------------------------------------------------------------------------------------------------------
# The AUTH token fingerprint

def token_fingerprint(token: str, name: str) -> str:
    """A tag-safe fingerprint of the token, so a run can tell whether the token it was given is the one the group
    has (AWS never returns a token). PBKDF2-HMAC-SHA256, salted with the group's name, 600,000 iterations:
    someone who can read tags but not the secret cannot test guesses cheaply, nor compare fingerprints across
    groups; for the 64-character random tokens the role generates, guessing is hopeless at any speed."""
    salt = ("directfanz.launch/elasticache/%s" % name).encode("utf-8")
    digest = hashlib.pbkdf2_hmac("sha256", token.encode("utf-8"), salt, FINGERPRINT_ITERATIONS)
    return "pbkdf2-sha256:%d:%s" % (FINGERPRINT_ITERATIONS, digest.hex())


# ---------------------------------------------------------------------------------------------------------------
# moto: the one place where a gap of the sandbox's AWS is tolerated

GAP_TEXTS = {
    "member": "the replication group's member clusters (DescribeCacheClusters does not know them), so its engine"
              " version, parameter group, subnet group, security groups and maintenance window were not compared",
    "parameter_group": "cache parameter groups (every CacheParameterGroup call is unimplemented), so parameter group"
                       " %s was neither read nor written",
}


def is_loopback(endpoint_url: Optional[str]) -> bool:
    host = urlparse(endpoint_url or "").hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def tolerated_gap(endpoint_url: Optional[str], kind: str, error_code: str = "", body: str = "",
                  subject: str = "") -> Optional[str]:
    """moto: the warning to give when a read failed only because the sandbox's moto lacks the operation, or None
    (then the failure is real and the module fails on it). Tolerated only against a loopback endpoint (AWS never is
    one) and only for the answers moto gives:
      - kind "member": DescribeCacheClusters answers CacheClusterNotFound for a member the replication group
        lists (moto keeps replication group members out of its cache cluster table);
      - kind "parameter_group": a Describe*Parameter* call answered with moto's HTML "500 Internal Server Error"
        page (NotImplementedError in moto; AWS answers XML, never HTML).
    The caller records the value as `GAP`, and the planner neither compares nor writes what it cannot read."""
    if not is_loopback(endpoint_url):
        return None
    if kind == "member" and error_code in ("CacheClusterNotFound", "CacheClusterNotFoundFault"):
        return "moto: cannot read %s" % GAP_TEXTS["member"]
    if kind == "parameter_group" and "<!doctype html" in body.lower() and "500 internal server error" in body.lower():
        return "moto: cannot read %s; its settings are verified on canned answers only" % (
            GAP_TEXTS["parameter_group"] % subject)
    return None


# ---------------------------------------------------------------------------------------------------------------
# Desired state

def desired_of(p: Dict[str, Any]) -> Dict[str, Any]:
    """The task's settings, normalised the way AWS writes them back (lower-case windows, sorted id sets)."""
    family = family_of(p["engine"], str(p["engine_version"]))
    tags = dict((str(k), str(v)) for k, v in (p.get("tags") or {}).items())
    tags.update({MANAGED_TAG[0]: MANAGED_TAG[1], NAME_TAG: p["name"]})
    return {
        "name": p["name"],
        "description": p.get("description") or "DirectFanz cache %s" % p["name"],
        "engine": p["engine"],
        "engine_version": str(p["engine_version"]),
        "family": family,
        "node_type": p["node_type"],
        "zones": list(p["availability_zones"]),
        "automatic_failover": bool(p["automatic_failover"]),
        "multi_az": bool(p["multi_az"]),
        "transit_encryption": bool(p["transit_encryption"]),
        "at_rest_encryption": bool(p["at_rest_encryption"]),
        "kms_key_id": p.get("kms_key_id"),
        "snapshot_retention_limit": p.get("snapshot_retention_limit"),
        "snapshot_window": (p.get("snapshot_window") or "").lower() or None,
        "maintenance_window": (p.get("maintenance_window") or "").lower() or None,
        "security_group_ids": sorted(set(p["security_group_ids"])),
        "subnet_ids": sorted(set(p["subnet_ids"])),
        "subnet_group": p["name"],
        "parameter_group": parameter_group_name(p["name"], family),
        "parameters": dict((str(k), parameter_value(v)) for k, v in (p.get("parameters") or {}).items()),
        "port": p.get("port") or 6379,
        "tags": tags,
        "auth_token": p.get("auth_token"),
        "strategy": p.get("auth_token_update_strategy") or "ROTATE",
        "rotate": bool(p.get("rotate_auth_token")),
        "apply_immediately": bool(p.get("apply_immediately")),
        "allow_disruptive": bool(p.get("allow_disruptive_changes")),
        "wait": bool(p.get("wait")),
        "wait_timeout": p.get("wait_timeout") or 1800,
    }


def tag_list(tags: Dict[str, str]) -> List[Dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def is_ours(tags: Dict[str, str], name: str) -> bool:
    return tags.get(MANAGED_TAG[0]) == MANAGED_TAG[1] and tags.get(NAME_TAG) == name


def same_version(existing: str, desired: str) -> bool:
    """7.1 asks for whatever 7.1.x AWS runs: compare the parts the task gives."""
    have, want = version_tuple(existing), version_tuple(desired)
    return have[:len(want)] == want


def enabled(value: Any) -> bool:
    """AutomaticFailover / MultiAZ as a bool: "enabled" and "enabling" are on."""
    return str(value).lower() in ("enabled", "enabling")


# ---------------------------------------------------------------------------------------------------------------
# The planner

def plan_subnet_group(d: Dict[str, Any], s: Dict[str, Any], plan: Plan) -> None:
    group = s.get("subnet_group")
    name = d["subnet_group"]
    if group is None:
        plan.call("elasticache", "create_cache_subnet_group",
                  ["create cache subnet group %s (%s)" % (name, ", ".join(d["subnet_ids"]))],
                  "create cache subnet group %s" % name, CacheSubnetGroupName=name,
                  CacheSubnetGroupDescription="Private subnets of cache %s" % d["name"], SubnetIds=d["subnet_ids"],
                  Tags=tag_list(d["tags"]))
        return
    if not is_ours(group.get("tags") or {}, d["name"]):
        plan.problems.append("cache subnet group %s exists but is not tagged %s=%s, %s=%s; it is not adopted: rename"
                             " the cache (name) or tag the group" % (name, MANAGED_TAG[0], MANAGED_TAG[1], NAME_TAG,
                                                                     d["name"]))
        return
    have = sorted(group.get("subnets") or [])
    if have != d["subnet_ids"]:
        plan.call("elasticache", "modify_cache_subnet_group",
                  ["set the subnets of cache subnet group %s to %s (were %s)" % (name, ", ".join(d["subnet_ids"]),
                                                                                 ", ".join(have))],
                  "change the subnets of cache subnet group %s" % name, CacheSubnetGroupName=name,
                  SubnetIds=d["subnet_ids"])
    missing = dict((k, v) for k, v in d["tags"].items() if (group.get("tags") or {}).get(k) != v)
    if missing:
        plan.call("elasticache", "add_tags_to_resource",
                  ["tag cache subnet group %s: %s" % (name, ", ".join(sorted(missing)))],
                  "tag cache subnet group %s" % name, ResourceName=group["arn"], Tags=tag_list(missing))


def plan_parameter_group(d: Dict[str, Any], s: Dict[str, Any], plan: Plan) -> None:
    """Our parameter group: made when missing, and only the parameters the task sets compared and changed."""
    group = s.get("parameter_group")
    name = d["parameter_group"]
    if group == GAP:
        return  # moto: tolerated_gap gave the warning; nothing is read, nothing written
    known = s.get("parameters")  # name -> {value, modifiable, allowed, change_type}; the group's or the defaults
    if known is not None and known != GAP:
        unknown = sorted(k for k in d["parameters"] if k not in known)
        if unknown:
            plan.problems.append("parameters %s are not %s parameters; accepted: %s" % (
                ", ".join(unknown), d["family"], ", ".join(sorted(k for k in known if known[k].get("modifiable")))))
        fixed = sorted(k for k in d["parameters"] if k in known and not known[k].get("modifiable"))
        if fixed:
            plan.problems.append("parameters %s cannot be changed in a %s parameter group; accepted: the modifiable"
                                 " ones" % (", ".join(fixed), d["family"]))
    if group is None:
        plan.call("elasticache", "create_cache_parameter_group",
                  ["create cache parameter group %s (%s)" % (name, d["family"])],
                  "create cache parameter group %s" % name, CacheParameterGroupName=name,
                  CacheParameterGroupFamily=d["family"], Description="Parameters of cache %s" % d["name"],
                  Tags=tag_list(d["tags"]))
    elif group.get("family") and group["family"] != d["family"]:
        plan.problems.append("cache parameter group %s is of family %s, not %s; delete it or rename the cache"
                             % (name, group["family"], d["family"]))
        return
    have = dict((k, (v or {}).get("value") or "") for k, v in (known or {}).items()) if known != GAP else {}
    changes = sorted((k, v) for k, v in d["parameters"].items() if have.get(k, None) != v)
    for start in range(0, len(changes), PARAMETERS_PER_CALL):
        chunk = changes[start:start + PARAMETERS_PER_CALL]
        plan.call("elasticache", "modify_cache_parameter_group",
                  ["set parameter %s of %s to %r (was %r)" % (k, name, v, have.get(k, "")) for k, v in chunk],
                  "set parameters of cache parameter group %s" % name, CacheParameterGroupName=name,
                  ParameterNameValues=[{"ParameterName": k, "ParameterValue": v} for k, v in chunk])
    static = sorted(k for k, value in changes if known and known != GAP and (known.get(k) or {}).get("change_type")
                    == "requires-reboot")
    if static and s.get("replication_group"):
        plan.warnings.append("parameters %s of %s take effect only after the nodes reboot" % (", ".join(static), name))


def create_kwargs(d: Dict[str, Any], fingerprint: Optional[str]) -> Dict[str, Any]:
    tags = dict(d["tags"])
    if fingerprint:
        tags[FINGERPRINT_TAG] = fingerprint
    kwargs = dict(
        ReplicationGroupId=d["name"], ReplicationGroupDescription=d["description"], Engine=d["engine"],
        EngineVersion=d["engine_version"], CacheNodeType=d["node_type"],
        # One node group (cluster mode disabled): a primary and len(zones) - 1 replicas, each zone named. Not
        # NumCacheClusters: see docs/elasticache.md ("members").
        NumNodeGroups=1, ReplicasPerNodeGroup=len(d["zones"]) - 1,
        NodeGroupConfiguration=[{"NodeGroupId": "0001", "PrimaryAvailabilityZone": d["zones"][0],
                                 "ReplicaAvailabilityZones": d["zones"][1:], "ReplicaCount": len(d["zones"]) - 1}],
        AutomaticFailoverEnabled=d["automatic_failover"], MultiAZEnabled=d["multi_az"],
        TransitEncryptionEnabled=d["transit_encryption"], AtRestEncryptionEnabled=d["at_rest_encryption"],
        CacheSubnetGroupName=d["subnet_group"], CacheParameterGroupName=d["parameter_group"],
        SecurityGroupIds=d["security_group_ids"], Port=d["port"], Tags=tag_list(tags))
    if d["kms_key_id"]:
        kwargs["KmsKeyId"] = d["kms_key_id"]
    if d["auth_token"] is not None:
        kwargs["AuthToken"] = d["auth_token"]
    if d["snapshot_retention_limit"] is not None:
        kwargs["SnapshotRetentionLimit"] = d["snapshot_retention_limit"]
    if d["snapshot_window"]:
        kwargs["SnapshotWindow"] = d["snapshot_window"]
    if d["maintenance_window"]:
        kwargs["PreferredMaintenanceWindow"] = d["maintenance_window"]
    return kwargs


def members_of(rg: Dict[str, Any]) -> List[Dict[str, Any]]:
    groups = rg.get("NodeGroups") or [{}]
    return [{"id": m.get("CacheClusterId"), "zone": m.get("PreferredAvailabilityZone"), "role": m.get("CurrentRole")}
            for m in groups[0].get("NodeGroupMembers") or []]


def plan_immutable(d: Dict[str, Any], s: Dict[str, Any], rg: Dict[str, Any], member: Any, plan: Plan,
                   mods: Dict[str, Any], texts: List[str]) -> None:
    """What AWS cannot change in place is refused; transit encryption on 7.0+ only with allow_disruptive_changes."""
    name = d["name"]
    new_group = "create a new replication group (another name) from a snapshot of this one, move the clients, then" \
                " delete this one"
    if bool(rg.get("AtRestEncryptionEnabled")) != d["at_rest_encryption"]:
        plan.problems.append("at-rest encryption of %s is %s and cannot be changed in place; to change it, %s" % (
            name, "on" if rg.get("AtRestEncryptionEnabled") else "off", new_group))
    kms = s.get("kms") or {}
    if d["at_rest_encryption"] and d["kms_key_id"] and rg.get("AtRestEncryptionEnabled"):
        have, want = kms.get("existing") or rg.get("KmsKeyId"), kms.get("desired") or d["kms_key_id"]
        if have != want:
            plan.problems.append("%s is encrypted with KMS key %s, not %s, and the key cannot be changed in place; to"
                                 " change it, %s" % (name, rg.get("KmsKeyId") or "(the AWS managed key)",
                                                     d["kms_key_id"], new_group))
    if isinstance(member, dict) and member.get("subnet_group") and member["subnet_group"] != d["subnet_group"]:
        plan.problems.append("%s is in cache subnet group %s, not %s, and a replication group cannot move to another"
                             " subnet group; change that group's subnets instead, or %s" % (
                                 name, member["subnet_group"], d["subnet_group"], new_group))
    if s.get("engine") == "valkey" and d["engine"] == "redis":
        plan.problems.append("%s runs valkey; AWS cannot change valkey back to redis in place; %s" % (name, new_group))
    transit, mode = bool(rg.get("TransitEncryptionEnabled")), rg.get("TransitEncryptionMode")
    version = member.get("engine_version") if isinstance(member, dict) else None
    if transit and not d["transit_encryption"]:
        plan.problems.append("%s has transit encryption on; the module never turns TLS off" % name)
    elif not transit and d["transit_encryption"]:
        if version and d["engine"] == "redis" and version_tuple(version)[:2] < TRANSIT_IN_PLACE:
            plan.problems.append("transit encryption cannot be turned on in place on %s (redis %s; AWS needs 7.0 or"
                                 " later); upgrade engine_version first, or %s" % (name, version, new_group))
        elif not d["allow_disruptive"]:
            plan.problems.append("turning transit encryption on for %s moves every client to TLS (first 'preferred',"
                                 " then 'required'); accepted: allow_disruptive_changes: true" % name)
        else:
            mods.update(TransitEncryptionEnabled=True, TransitEncryptionMode="preferred")
            texts.append("turn transit encryption on for %s in mode preferred (clients may use TLS; a later run"
                         " makes it required)" % name)
    elif transit and d["transit_encryption"] and mode == "preferred":
        if d["allow_disruptive"]:
            mods["TransitEncryptionMode"] = "required"
            texts.append("require TLS on %s (transit encryption mode preferred -> required)" % name)
        else:
            plan.warnings.append("%s accepts clients without TLS (transit encryption mode preferred); with"
                                 " allow_disruptive_changes: true the module makes it required" % name)


def plan_settings(d: Dict[str, Any], s: Dict[str, Any], rg: Dict[str, Any], member: Any, plan: Plan,
                  mods: Dict[str, Any], texts: List[str]) -> List[str]:
    """The in-place settings; returns the deferred ones (node type, engine version) that wait for the window."""
    name = d["name"]
    when = "now" if d["apply_immediately"] else "at the maintenance window"
    deferred = []
    pending = member.get("pending") or {} if isinstance(member, dict) else {}
    if rg.get("CacheNodeType") != d["node_type"] and pending.get("CacheNodeType") != d["node_type"]:
        mods["CacheNodeType"] = d["node_type"]
        texts.append("change node type of %s from %s to %s (%s)" % (name, rg.get("CacheNodeType"), d["node_type"], when))
        deferred.append("node_type")
    if isinstance(member, dict) and member.get("engine_version"):
        have = member["engine_version"]
        engine_change = s.get("engine") and s["engine"] != d["engine"]
        if (engine_change or not same_version(have, d["engine_version"])) and \
                not (pending.get("EngineVersion") and same_version(pending["EngineVersion"], d["engine_version"])):
            if not engine_change and version_tuple(have) > version_tuple(d["engine_version"]):
                plan.problems.append("%s runs %s %s; AWS cannot downgrade it to %s in place" % (
                    name, d["engine"], have, d["engine_version"]))
            else:
                mods["EngineVersion"] = d["engine_version"]
                if engine_change:
                    mods["Engine"] = d["engine"]
                texts.append("upgrade %s from %s %s to %s %s (%s)"
                             % (name, s.get("engine") or d["engine"], have, d["engine"], d["engine_version"], when))
                deferred.append("engine_version")
        if member.get("parameter_group") != d["parameter_group"]:
            mods["CacheParameterGroupName"] = d["parameter_group"]
            texts.append("use cache parameter group %s on %s (was %s)"
                         % (d["parameter_group"], name, member.get("parameter_group")))
        if member.get("security_groups") != d["security_group_ids"]:
            mods["SecurityGroupIds"] = d["security_group_ids"]
            texts.append("set the security groups of %s to %s (were %s)" % (
                name, ", ".join(d["security_group_ids"]), ", ".join(member.get("security_groups") or []) or "none"))
        if d["maintenance_window"] and (member.get("maintenance_window") or "").lower() != d["maintenance_window"]:
            mods["PreferredMaintenanceWindow"] = d["maintenance_window"]
            texts.append("set the maintenance window of %s to %s (was %s)" % (name, d["maintenance_window"],
                                                                              member.get("maintenance_window")))
    if enabled(rg.get("AutomaticFailover")) != d["automatic_failover"]:
        mods["AutomaticFailoverEnabled"] = d["automatic_failover"]
        texts.append("turn automatic failover %s for %s" % ("on" if d["automatic_failover"] else "off", name))
    if enabled(rg.get("MultiAZ")) != d["multi_az"]:
        mods["MultiAZEnabled"] = d["multi_az"]
        texts.append("turn Multi-AZ %s for %s" % ("on" if d["multi_az"] else "off", name))
    if d["snapshot_retention_limit"] is not None and rg.get("SnapshotRetentionLimit") != d["snapshot_retention_limit"]:
        mods["SnapshotRetentionLimit"] = d["snapshot_retention_limit"]
        texts.append("keep snapshots of %s %d days (was %s)" % (name, d["snapshot_retention_limit"],
                                                                rg.get("SnapshotRetentionLimit")))
    if d["snapshot_window"] and (rg.get("SnapshotWindow") or "").lower() != d["snapshot_window"]:
        mods["SnapshotWindow"] = d["snapshot_window"]
        texts.append("set the snapshot window of %s to %s (was %s)" % (name, d["snapshot_window"],
                                                                       rg.get("SnapshotWindow")))
    if rg.get("Description") is not None and rg.get("Description") != d["description"]:
        mods["ReplicationGroupDescription"] = d["description"]
        texts.append("set the description of %s" % name)
    return deferred


def plan_token(d: Dict[str, Any], rg: Dict[str, Any], tags: Dict[str, str], fingerprint: Optional[str],
               plan: Plan, mods: Dict[str, Any], texts: List[str]) -> Tuple[Dict[str, str], List[str]]:
    """The AUTH token decision. AWS never returns a token, so the group carries our fingerprint of it as a tag:
    a different fingerprint (or rotate_auth_token) changes the token with the chosen strategy - ROTATE keeps the
    previous token valid beside the new one (recorded in a tag), and a later SET run with the same token drops it.
    No fingerprint tag and no rotate_auth_token: the module cannot tell, so it changes nothing and says so.
    Returns the tags to set and the tag keys to remove."""
    set_tags, remove = {}, []
    if d["auth_token"] is None:
        if rg.get("AuthTokenEnabled"):
            plan.warnings.append("%s has an AUTH token and the task gives none; it is left as it is (the module never"
                                 " turns AUTH off)" % d["name"])
        return set_tags, remove
    name, strategy = d["name"], d["strategy"]
    status = (rg.get("PendingModifiedValues") or {}).get("AuthTokenStatus")
    have = tags.get(FINGERPRINT_TAG)
    if not rg.get("TransitEncryptionEnabled"):
        plan.warnings.append("the AUTH token of %s is set once transit encryption is on (a later run)" % name)
        return set_tags, remove
    if not rg.get("AuthTokenEnabled"):
        text, strategy = "add an AUTH token to %s" % name, "ROTATE"
    elif d["rotate"] or (have is not None and have != fingerprint):
        text = ("rotate the AUTH token of %s (the previous one stays valid until a run with"
                " auth_token_update_strategy SET)" % name) if strategy == "ROTATE" else \
            "set a new AUTH token on %s (the previous one stops working)" % name
    elif have is None:
        plan.warnings.append("%s has an AUTH token this module did not record (no %s tag), so it cannot tell whether"
                             " it is the given one; rotate_auth_token: true sets the given token and records it"
                             % (name, FINGERPRINT_TAG))
        return set_tags, remove
    elif tags.get(PREVIOUS_TOKEN_TAG) and strategy == "SET":
        text = "drop the previous AUTH token of %s (only the current one is accepted)" % name
    else:
        return set_tags, remove
    if status:
        plan.problems.append("an AUTH token change of %s is in progress (%s); run again when it is done" % (
            name, status))
    mods.update(AuthToken=d["auth_token"], AuthTokenUpdateStrategy=strategy)
    texts.append(text)
    if have != fingerprint:
        set_tags[FINGERPRINT_TAG] = fingerprint
    if strategy == "ROTATE" and rg.get("AuthTokenEnabled"):
        set_tags[PREVIOUS_TOKEN_TAG] = "valid"
    elif strategy == "SET" and PREVIOUS_TOKEN_TAG in tags:
        remove.append(PREVIOUS_TOKEN_TAG)
    return set_tags, remove


def plan_replication_group(d: Dict[str, Any], s: Dict[str, Any], plan: Plan, fingerprint: Optional[str]) -> None:
    rg = s.get("replication_group")
    name = d["name"]
    if rg is None:
        zones = d["zones"]
        plan.call("elasticache", "create_replication_group",
                  ["create replication group %s (%s %s, %s, primary in %s, replica%s in %s)" % (
                      name, d["engine"], d["engine_version"], d["node_type"], zones[0],
                      "s" if len(zones) > 2 else "", ", ".join(zones[1:]))],
                  "create replication group %s" % name, out="replication group %s" % name,
                  pick=["ReplicationGroup"], **create_kwargs(d, fingerprint))
        if d["wait"]:
            plan.add("wait_available", [], out="ready %s" % name, name=name, timeout=d["wait_timeout"])
        return
    tags = s.get("tags") or {}
    if not is_ours(tags, name):
        plan.problems.append("replication group %s exists but is not tagged %s=%s, %s=%s; it is not adopted: rename"
                             " the cache (name) or tag the group" % (name, MANAGED_TAG[0], MANAGED_TAG[1], NAME_TAG,
                                                                     name))
        return
    status = rg.get("Status")
    if status in ("deleting", "create-failed", "deleted"):
        plan.problems.append("replication group %s is %s; delete it (or wait until it is gone) and run again"
                             % (name, status))
        return
    member = s.get("member")
    mods, texts = {}, []
    plan_immutable(d, s, rg, member, plan, mods, texts)
    deferred = plan_settings(d, s, rg, member, plan, mods, texts)
    token_mods, token_texts = {}, []
    set_tags, remove_tags = plan_token(d, rg, tags, fingerprint, plan, token_mods, token_texts)
    if token_mods and "TransitEncryptionEnabled" in mods:
        token_mods, token_texts, set_tags, remove_tags = {}, [], {}, []
        plan.warnings.append("the AUTH token of %s is set once transit encryption is on (a later run)" % name)
    if token_mods and deferred and not d["apply_immediately"]:
        plan.problems.append("an AUTH token change applies at once, but %s of %s would wait for the maintenance"
                             " window and AWS takes one modification at a time; accepted: apply_immediately: true,"
                             " or change them in separate runs" % (" and ".join(deferred), name))
    mods.update(token_mods)
    texts.extend(token_texts)

    members = members_of(rg)
    replica_texts, replica_call = [], None
    if len(members) < len(d["zones"]):
        replica_call = ("increase_replica_count", len(d["zones"]) - 1)
        replica_texts.append("add %d replica(s) to %s (%d -> %d nodes)" % (
            len(d["zones"]) - len(members), name, len(members), len(d["zones"])))
    elif len(members) > len(d["zones"]):
        if d["allow_disruptive"]:
            replica_call = ("decrease_replica_count", len(d["zones"]) - 1)
            replica_texts.append("remove %d replica(s) from %s (%d -> %d nodes)" % (
                len(members) - len(d["zones"]), name, len(members), len(d["zones"])))
        else:
            plan.problems.append("%s has %d nodes and the task asks for %d; removing replicas lowers availability;"
                                 " accepted: allow_disruptive_changes: true" % (name, len(members), len(d["zones"])))
    if len(members) == len(d["zones"]) and sorted(m["zone"] or "" for m in members) != sorted(d["zones"]):
        plan.warnings.append("the nodes of %s are in %s, the task names %s; ElastiCache does not move nodes, so this"
                             " is not changed" % (name, ", ".join(sorted(m["zone"] or "?" for m in members)),
                                                  ", ".join(sorted(d["zones"]))))

    busy = status != "available"
    if (mods or replica_call) and busy:
        if d["wait"]:
            plan.add("wait_available", [], name=name, timeout=d["wait_timeout"])
        else:
            plan.problems.append("replication group %s is %s and takes modifications only when available; run again"
                                 " later, or with wait: true" % (name, status))
    if replica_call:
        plan.call("elasticache", replica_call[0], replica_texts, "change the replica count of %s" % name,
                  ReplicationGroupId=name, NewReplicaCount=replica_call[1], ApplyImmediately=True)
        if mods and not d["wait"]:
            plan.warnings.append("%s is busy while its replicas change; the other changes (%s) follow on a later run"
                                 % (name, "; ".join(texts)))
            mods, texts = {}, []
        elif mods:
            plan.add("wait_available", [], name=name, timeout=d["wait_timeout"])
    if mods:
        immediately = d["apply_immediately"] or "AuthToken" in mods or "TransitEncryptionEnabled" in mods \
            or "TransitEncryptionMode" in mods
        plan.call("elasticache", "modify_replication_group", texts, "modify replication group %s" % name,
                  ReplicationGroupId=name, ApplyImmediately=immediately, **mods)
    user_tags = dict((k, v) for k, v in d["tags"].items() if tags.get(k) != v)
    if "AuthToken" in mods:
        user_tags.update(set_tags)  # the fingerprint follows the token only when the token really changes
    else:
        remove_tags = []
    if user_tags:
        plan.call("elasticache", "add_tags_to_resource",
                  ["tag replication group %s: %s" % (name, ", ".join(sorted(user_tags)))],
                  "tag replication group %s" % name, ResourceName=rg["ARN"], Tags=tag_list(user_tags))
    if remove_tags:
        plan.call("elasticache", "remove_tags_from_resource",
                  ["untag replication group %s: %s" % (name, ", ".join(remove_tags))],
                  "untag replication group %s" % name, ResourceName=rg["ARN"], TagKeys=remove_tags)
    if d["wait"] and (mods or replica_call or busy):
        plan.add("wait_available", [], out="ready %s" % name, name=name, timeout=d["wait_timeout"])


def plan_cache(d: Dict[str, Any], s: Dict[str, Any], fingerprint: Optional[str] = None) -> Plan:
    """The whole change, from the task (``d``: `desired_of`) and what AWS holds (``s``):
    ``subnet_group`` None or {name, arn, subnets, tags}; ``parameter_group`` None, `GAP` or {name, family};
    ``parameters`` None, `GAP` or {name: {value, modifiable, change_type}} (the group's, or the family's defaults
    when the group is missing); ``replication_group`` None or the DescribeReplicationGroups entry; ``tags`` its
    tags; ``member`` `GAP` or {engine_version, parameter_group, subnet_group, security_groups, maintenance_window,
    pending}; ``engine``; ``kms`` {desired, existing} key ARNs; ``problems``/``warnings`` found while reading.
    ``fingerprint``: `token_fingerprint` of the task's token."""
    plan = Plan()
    plan.problems.extend(s.get("problems") or [])
    plan.warnings.extend(s.get("warnings") or [])
    plan_subnet_group(d, s, plan)
    plan_parameter_group(d, s, plan)
    plan_replication_group(d, s, plan, fingerprint)
    return plan


# ---------------------------------------------------------------------------------------------------------------
# Reporting

def view_of(d: Optional[Dict[str, Any]], s: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """What the diff shows: the settings the task manages, from the task (``d``) or from AWS (``s``). Never the
    token: only whether one is set."""
    if d is not None:
        return {"subnet_group": {"name": d["subnet_group"], "subnets": d["subnet_ids"]},
                "parameter_group": {"name": d["parameter_group"], "family": d["family"], "parameters": d["parameters"]},
                "replication_group": {
                    "engine": d["engine"], "engine_version": d["engine_version"], "node_type": d["node_type"],
                    "zones": sorted(d["zones"]), "automatic_failover": d["automatic_failover"], "multi_az": d["multi_az"],
                    "transit_encryption": d["transit_encryption"], "at_rest_encryption": d["at_rest_encryption"],
                    "kms_key_id": d["kms_key_id"], "auth_token": "set" if d["auth_token"] is not None else "none",
                    "snapshot_retention_limit": d["snapshot_retention_limit"], "snapshot_window": d["snapshot_window"],
                    "maintenance_window": d["maintenance_window"], "security_group_ids": d["security_group_ids"],
                    "parameter_group": d["parameter_group"], "tags": d["tags"]}}
    view = {}
    group = s.get("subnet_group")
    if group:
        view["subnet_group"] = {"name": group.get("name"), "subnets": sorted(group.get("subnets") or [])}
    pg = s.get("parameter_group")
    if pg == GAP:
        view["parameter_group"] = GAP
    elif pg:
        params = s.get("parameters") or {}
        view["parameter_group"] = {"name": pg.get("name"), "family": pg.get("family"),
                                   "parameters": dict((k, (v or {}).get("value") or "") for k, v in params.items()
                                                      if k in (s.get("asked_parameters") or ()))}
    rg = s.get("replication_group")
    if rg:
        member = s.get("member")
        known = member if isinstance(member, dict) else {}
        tags = dict((k, v) for k, v in (s.get("tags") or {}).items() if k not in (FINGERPRINT_TAG, PREVIOUS_TOKEN_TAG))
        view["replication_group"] = {
            "engine": rg.get("Engine") or s.get("engine"),
            "engine_version": known.get("engine_version", GAP), "node_type": rg.get("CacheNodeType"),
            "zones": sorted(m["zone"] or "" for m in members_of(rg)),
            "automatic_failover": enabled(rg.get("AutomaticFailover")), "multi_az": enabled(rg.get("MultiAZ")),
            "transit_encryption": bool(rg.get("TransitEncryptionEnabled")),
            "at_rest_encryption": bool(rg.get("AtRestEncryptionEnabled")), "kms_key_id": rg.get("KmsKeyId"),
            "auth_token": "set" if rg.get("AuthTokenEnabled") else "none",
            "snapshot_retention_limit": rg.get("SnapshotRetentionLimit"),
            "snapshot_window": (rg.get("SnapshotWindow") or "").lower() or None,
            "maintenance_window": known.get("maintenance_window", GAP),
            "security_group_ids": known.get("security_groups", GAP),
            "parameter_group": known.get("parameter_group", GAP), "tags": tags}
    return view


def endpoints_of(rg: Any) -> Dict[str, Any]:
    """The primary (read/write) and reader endpoints, as {address, port}, empty while AWS has none yet."""
    if not isinstance(rg, dict):
        return {"primary_endpoint": {}, "reader_endpoint": {}}
    group = (rg.get("NodeGroups") or [{}])[0]

    def endpoint(key):
        found = group.get(key) or {}
        return {"address": found["Address"], "port": found.get("Port")} if found.get("Address") else {}
    return {"primary_endpoint": endpoint("PrimaryEndpoint"), "reader_endpoint": endpoint("ReaderEndpoint")}


# ---------------------------------------------------------------------------------------------------------------
# Waiting

class WaitTimeout(Exception):
    pass


class WaitFailed(Exception):
    pass


def wait_available(describe: Callable[[], Optional[Dict[str, Any]]], timeout: float, delay: float = 15.0,
                   sleep: Callable[[float], None] = time.sleep,
                   clock: Callable[[], float] = time.monotonic,
                   progress: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Polls ``describe`` (the replication group's entry) until its status is ``available``; bounded by
    ``timeout`` seconds. A group that is gone or ``create-failed`` fails at once (waiting would not help)."""
    deadline = clock() + timeout
    seen = []
    while True:
        rg = describe()
        status = (rg or {}).get("Status")
        seen.append(status)
        if progress:
            progress(str(status))
        if status == "available":
            return rg
        if rg is None or status in ("create-failed", "deleting", "deleted"):
            raise WaitFailed("replication group is %s" % (status or "gone"))
        left = deadline - clock()
        if left <= 0:
            raise WaitTimeout("still %s after %d s (statuses seen: %s)" % (status, timeout, ", ".join(
                str(x) for x in seen)))
        sleep(min(delay, left))
