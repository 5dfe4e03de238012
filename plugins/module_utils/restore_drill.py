# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore drill's planning (requirement 7.4), pure: names, the restore request, the steps to restore and to
remove, and the time gate.

Why pure: what the drill makes and - above all - what it is allowed to delete are decided here on plain dicts, so
the unit tests prove that nothing but a drill's own instance and snapshot (named ``<source>-drill-<14 digits>`` AND
tagged ``launch-drill=<source>``) can ever be planned for deletion, and that the restored copy lands in the live
instance's subnet group, security groups and parameter group, private, without deletion protection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan

DRILL_TAG = "launch-drill"            # value: the live instance the drill copies
SOURCE_TAG = "launch-drill-source"    # value: snapshot:<id> or point-in-time:<instance>@<ISO time>
MANAGED_TAG = ("managed-by", "directfanz.launch")
STAMP = re.compile(r"^\d{14}$")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
RESTORE_FROM = ("snapshot", "point_in_time")
# States a source instance can be copied in (a snapshot or a point-in-time restore is accepted in these).
SOURCE_STATES = ("available", "backing-up", "storage-optimization", "modifying", "configuring-enhanced-monitoring",
                 "configuring-log-exports")


def drill_name(source, stamp):
    return "%s-drill-%s" % (source, stamp)


def is_drill_name(name, source=None):
    """True for ``<source>-drill-<YYYYmmddHHMMSS>`` (any source when ``source`` is None)."""
    head, sep, stamp = (name or "").rpartition("-drill-")
    if not sep or not STAMP.match(stamp) or not IDENTIFIER.match(head):
        return False
    return source is None or head == source


def identifier_problem(what, value, limit=63):
    if not value or len(value) > limit or not IDENTIFIER.match(value):
        return ("%s %r is not an RDS identifier; accepted: 1-%d lower-case letters, digits and single hyphens, starting"
                " with a letter, not ending with a hyphen" % (what, value, limit))
    return None


def parse_time(value):
    """An aware datetime from an ISO 8601 text (a trailing Z or an offset; naive means UTC) or a datetime."""
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def iso(moment):
    return parse_time(moment).astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None


def input_problems(p):
    """Everything wrong with the task's arguments, found with no API call."""
    problems = []
    for what, key in (("source", "source"), ("name", "name")):
        problem = identifier_problem(what, p.get(key))
        if problem:
            problems.append(problem)
    if not problems and not is_drill_name(p["name"], p["source"]):
        problems.append("name %r is not a drill's name for %s; accepted: %s-drill-<YYYYmmddHHMMSS> (the module makes"
                        " and deletes nothing else)" % (p["name"], p["source"], p["source"]))
    if p.get("restore_from") not in RESTORE_FROM:
        problems.append("restore_from %r is not one of %s" % (p.get("restore_from"), ", ".join(RESTORE_FROM)))
    if p.get("restore_after"):
        try:
            parse_time(p["restore_after"])
        except ValueError:
            problems.append("restore_after %r is not an ISO 8601 time; accepted: 2026-12-01T15:44:15Z or with an"
                            " offset" % p["restore_after"])
        if p.get("restore_from") == "snapshot":
            problems.append("restore_after applies to restore_from=point_in_time only")
    if p.get("instance_class") and not re.match(r"^db\.[a-z0-9]+\.[a-z0-9]+$", p["instance_class"]):
        problems.append("instance_class %r is not db.<family>.<size>" % p["instance_class"])
    if (p.get("wait_timeout") or 0) <= 0:
        problems.append("wait_timeout must be a positive number of seconds")
    for key in (p.get("tags") or {}):
        if key in (DRILL_TAG, SOURCE_TAG):
            problems.append("tag %s is the drill's own and cannot be given" % key)
    return problems


def tag_dict(tag_list):
    return dict((t["Key"], t["Value"]) for t in (tag_list or []))


def is_drills(resource, source):
    """The tag check behind every deletion: the resource says it is a drill of ``source``."""
    return tag_dict((resource or {}).get("TagList")).get(DRILL_TAG) == source


def drill_tags(p, source_value):
    tags = dict(p.get("tags") or {})
    tags[MANAGED_TAG[0]] = MANAGED_TAG[1]
    tags[DRILL_TAG] = p["source"]
    tags[SOURCE_TAG] = source_value
    return [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())]


def restore_request(p, source, restore_time=None):
    """The restore call's arguments: the live instance's placement (subnet group, security groups, parameter group)
    and secret key, never public, no deletion protection, no backups of its own (a drill copy is thrown away; a
    retention of 0 also spares the first backup a restore otherwise starts), a master password RDS manages in a
    secret of its own (deleted with the instance)."""
    kwargs = {
        "DBSubnetGroupName": (source.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
        "VpcSecurityGroupIds": sorted(g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups") or []),
        "PubliclyAccessible": False,
        "DeletionProtection": False,
        "MultiAZ": bool(p.get("multi_az")),
        "DBInstanceClass": p.get("instance_class") or source["DBInstanceClass"],
        "BackupRetentionPeriod": 0,
        "CopyTagsToSnapshot": False,
        "AutoMinorVersionUpgrade": False,
    }
    groups = [g["DBParameterGroupName"] for g in source.get("DBParameterGroups") or []]
    if groups:
        kwargs["DBParameterGroupName"] = groups[0]
    secret = source.get("MasterUserSecret") or {}
    kwargs["ManageMasterUserPassword"] = True
    if secret.get("KmsKeyId"):
        kwargs["MasterUserSecretKmsKeyId"] = secret["KmsKeyId"]
    if p["restore_from"] == "snapshot":
        kwargs.update(DBInstanceIdentifier=p["name"], DBSnapshotIdentifier=p["name"],
                      Tags=drill_tags(p, "snapshot:%s" % p["name"]))
    else:
        kwargs.update(SourceDBInstanceIdentifier=p["source"], TargetDBInstanceIdentifier=p["name"])
        if restore_time is not None:
            kwargs["RestoreTime"] = restore_time
        else:
            kwargs["UseLatestRestorableTime"] = True
        moment = iso(restore_time) if restore_time else "latest"
        kwargs["Tags"] = drill_tags(p, "point-in-time:%s@%s" % (p["source"], moment))
    return kwargs


def plan_restored(p, observed):
    """Steps that leave a restored drill copy of the live instance. ``observed``: ``source`` (the live instance or
    None), ``snapshot`` (the drill's snapshot or None), ``drill`` (the drill instance or None)."""
    plan = Plan()
    source, snapshot, drill = observed.get("source"), observed.get("snapshot"), observed.get("drill")
    if source is None:
        plan.problems.append("no DB instance %s to drill: the drill copies the live instance (name it with source; the"
                             " data phase makes <launch_name>-db)" % p["source"])
        return plan
    if source.get("Engine") != "postgres":
        plan.problems.append("DB instance %s runs %s; the drill restores PostgreSQL only"
                             % (p["source"], source.get("Engine")))
    if not (source.get("MasterUserSecret") or {}).get("SecretArn"):
        plan.problems.append("DB instance %s has no master password managed by RDS in Secrets Manager; the drill"
                             " reads only that secret (turn on manage_master_user_password)" % p["source"])
    if drill is not None and not is_drills(drill, p["source"]):
        plan.problems.append("DB instance %s exists and is not tagged %s=%s: not the drill's, left alone"
                             % (p["name"], DRILL_TAG, p["source"]))
    if snapshot is not None and not is_drills(snapshot, p["source"]):
        plan.problems.append("DB snapshot %s exists and is not tagged %s=%s: not the drill's, left alone"
                             % (p["name"], DRILL_TAG, p["source"]))
    if drill is None and source.get("DBInstanceStatus") not in SOURCE_STATES:
        plan.problems.append("DB instance %s is %s; it is copied only when %s" % (
            p["source"], source.get("DBInstanceStatus"), " or ".join(SOURCE_STATES[:2])))
    if plan.problems:
        return plan
    if drill is None:
        if p["restore_from"] == "snapshot":
            if snapshot is None:
                plan.call("rds", "create_db_snapshot", "create snapshot %s of %s" % (p["name"], p["source"]),
                          "create DB snapshot %s of %s" % (p["name"], p["source"]),
                          DBInstanceIdentifier=p["source"], DBSnapshotIdentifier=p["name"],
                          Tags=drill_tags(p, "instance:%s" % p["source"]))
            plan.add("wait_snapshot", [], snapshot=p["name"])
            plan.add("restore", "restore %s from snapshot %s into subnet group %s" % (
                p["name"], p["name"], (source.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")))
        else:
            after = p.get("restore_after")
            plan.add("wait_restorable", [], after=after)
            plan.add("restore", "restore %s to the latest restorable time of %s%s" % (
                p["name"], p["source"], " after %s" % iso(after) if after else ""))
    if p.get("wait") and (drill is None or drill.get("DBInstanceStatus") != "available"):
        plan.add("wait_available", [])
    if drill is not None and drill.get("DBInstanceStatus") in ("deleting", "failed", "incompatible-restore"):
        plan.problems.append("drill instance %s is %s; remove it (state=absent) and drill again with a new name"
                             % (p["name"], drill["DBInstanceStatus"]))
    return plan


def plan_absent(p, observed):
    """Steps that remove the drill's instance (no final snapshot, no retained backups) and, unless kept, its
    snapshot. Only resources named like this drill AND tagged as a drill of ``source`` are planned; anything else
    refuses the whole removal."""
    plan = Plan()
    snapshot, drill = observed.get("snapshot"), observed.get("drill")
    if drill is not None and not is_drills(drill, p["source"]):
        plan.problems.append("refusing to delete DB instance %s: it is not tagged %s=%s"
                             % (p["name"], DRILL_TAG, p["source"]))
    if snapshot is not None and not p.get("keep_snapshot") and not is_drills(snapshot, p["source"]):
        plan.problems.append("refusing to delete DB snapshot %s: it is not tagged %s=%s"
                             % (p["name"], DRILL_TAG, p["source"]))
    if snapshot is not None and snapshot.get("SnapshotType") != "manual":
        plan.problems.append("refusing to delete DB snapshot %s: it is %s, not a manual snapshot"
                             % (p["name"], snapshot.get("SnapshotType")))
    if plan.problems:
        return plan
    if drill is not None and drill.get("DBInstanceStatus") != "deleting":
        if drill.get("DeletionProtection"):
            plan.call("rds", "modify_db_instance", "turn deletion protection off on drill instance %s" % p["name"],
                      "turn deletion protection off on DB instance %s" % p["name"],
                      DBInstanceIdentifier=p["name"], DeletionProtection=False, ApplyImmediately=True)
        plan.add("delete_instance", "delete drill instance %s (no final snapshot)" % p["name"],
                 kwargs={"DBInstanceIdentifier": p["name"], "SkipFinalSnapshot": True,
                         "DeleteAutomatedBackups": True})
    if drill is not None and p.get("wait"):
        plan.add("wait_deleted", [])
    if snapshot is not None and not p.get("keep_snapshot"):
        plan.add("delete_snapshot", "delete drill snapshot %s" % p["name"], snapshot=p["name"])
    return plan


def poll_delays(first=1.0, factor=1.5, ceiling=15.0):
    """Seconds between reads of a wait: quick at first (the sandbox answers at once), then up to ``ceiling``."""
    delay = first
    while True:
        yield delay
        delay = min(ceiling, delay * factor)


def timing_report(t0, t1, t2, restore_point, max_minutes):
    """The drill's times (epoch seconds) and verdict: t0 restore accepted, t1 available, t2 data checked; the restore
    point's age is measured at t0 (how much data a restore at that moment would have lost)."""
    report = {
        "t0": iso(datetime.datetime.fromtimestamp(t0, datetime.timezone.utc)),
        "t1": iso(datetime.datetime.fromtimestamp(t1, datetime.timezone.utc)),
        "t2": iso(datetime.datetime.fromtimestamp(t2, datetime.timezone.utc)),
        "available_after_seconds": round(t1 - t0, 3),
        "checked_after_seconds": round(t2 - t0, 3),
        "restore_point": iso(restore_point) if restore_point else None,
        "restore_point_age_seconds": (round(t0 - parse_time(restore_point).timestamp(), 3) if restore_point
                                      else None),
        "max_minutes": max_minutes,
    }
    report["within_limit"] = (t2 - t0) <= max_minutes * 60.0
    return report
