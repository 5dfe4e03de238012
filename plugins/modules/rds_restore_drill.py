#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rds_restore_drill
short_description: Restore a PostgreSQL instance to a temporary drill copy, and remove that copy
version_added: 0.3.0
description:
  - The restore drill's AWS half (requirement 7.4). O(state=restored) makes a manual snapshot of the live instance
    O(source) named O(name) and restores it to a new instance O(name) (or, with O(restore_from=point_in_time),
    restores the live instance to its latest restorable time, waiting until that time has passed O(restore_after)),
    in the live instance's DB subnet group, security groups and parameter group, under the same KMS key, never
    publicly accessible, without deletion protection or backups of its own, with a master password RDS manages in
    a secret of its own; then waits until it is C(available).
  - O(state=absent) deletes the drill instance (no final snapshot, automated backups not kept) and, unless
    O(keep_snapshot), the drill snapshot.
  - It only ever makes or deletes resources named C(<source>-drill-<YYYYmmddHHMMSS>) and tagged
    C(launch-drill=<source>); any other name is refused before any API call, and a resource of that name without
    the tag refuses the whole run before any write.
  - Returns the drill's times - RV(t0) when AWS accepted the restore, RV(t1) when it was seen C(available) - and
    the restore point (the snapshot's creation time or the point in time), so the playbook can gate on them.
author: DirectFanz platform team (@directfanz)
options:
  source:
    description: Identifier of the live DB instance the drill copies.
    type: str
    required: true
  name:
    description:
      - Identifier of the drill instance and of its snapshot, C(<source>-drill-<YYYYmmddHHMMSS>) (at most 63
        characters).
    type: str
    required: true
  state:
    description:
      - C(restored) makes the snapshot (unless it exists), restores it and waits; a run that finds the drill instance
        already there makes nothing.
      - C(absent) removes what C(restored) made.
    type: str
    choices: [restored, absent]
    default: restored
  restore_from:
    description:
      - C(snapshot) copies a manual snapshot made now; C(point_in_time) restores the live instance's continuous
        backup (no snapshot is made).
    type: str
    choices: [snapshot, point_in_time]
    default: snapshot
  restore_after:
    description:
      - With O(restore_from=point_in_time), an ISO 8601 time the restore point must follow (the sentinel row's
        C(written_at)); the module waits, within O(wait_timeout), until the live instance's latest restorable time
        passes it (on AWS it lags a few minutes behind), then restores to that latest restorable time.
    type: str
  instance_class:
    description: Class of the drill instance; the live instance's class when not given.
    type: str
  multi_az:
    description: Whether the drill instance has a standby (it needs none to be checked).
    type: bool
    default: false
  keep_snapshot:
    description: With O(state=absent), keep the drill snapshot.
    type: bool
    default: false
  tags:
    description:
      - Extra tags on the snapshot and the drill instance (C(launch-drill), C(launch-drill-source) and
        C(managed-by) are always set).
    type: dict
    default: {}
  wait:
    description: Wait until the drill instance is C(available) (O(state=restored)) or gone (O(state=absent)).
    type: bool
    default: true
  wait_timeout:
    description: Seconds each wait may take (the snapshot, the restore point, the instance).
    type: int
    default: 3600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads the live instance and any drill resources and returns the planned RV(actions); makes,
      deletes and waits for nothing.
  diff_mode:
    support: full
    description: Returns the drill instance and snapshot (identifier and status) before and after.
"""

EXAMPLES = r"""
- name: Restore the live database to a drill copy
  directfanz.launch.rds_restore_drill:
    source: directfanz-production-db
    name: directfanz-production-db-drill-20261201154415
  register: drill

- name: Remove the drill copy and its snapshot
  directfanz.launch.rds_restore_drill:
    source: directfanz-production-db
    name: directfanz-production-db-drill-20261201154415
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (in check mode, what would be done), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create snapshot db-drill-20261201154415 of db", "restore db-drill-20261201154415 from snapshot ..."]
instance:
  description:
    - The drill instance after the run - C(identifier), C(status) (C(absent) when there is none), C(endpoint),
      C(port), C(master_username), C(secret_arn) (the ARN of its managed master secret, never the value),
      C(kms_key_id), C(subnet_group), C(security_groups), C(parameter_group), C(publicly_accessible),
      C(deletion_protection).
  returned: always
  type: dict
snapshot:
  description: The drill snapshot - C(identifier), C(status) (C(absent) when there is none), C(created).
  returned: always
  type: dict
restore_point:
  description: The time the drill copy holds the data of (ISO 8601, UTC); null before a restore.
  returned: always
  type: str
t0:
  description: Epoch seconds when AWS accepted the restore call (null when this run made no restore).
  returned: always
  type: float
t1:
  description: Epoch seconds when the drill instance was seen C(available) (null when not waited for).
  returned: always
  type: float
restore_point_age_seconds:
  description: How old the restore point was at RV(t0) - the data a restore at that moment would have lost.
  returned: always
  type: float
waited:
  description: Seconds spent in each wait, and the statuses seen.
  returned: always
  type: dict
"""

import time

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    AWS_ERRORS, apply, aws_call, aws_read, error_code, finish, refuse, retrying_client)
from ansible_collections.directfanz.launch.plugins.module_utils.restore_drill import (
    input_problems, iso, parse_time, plan_absent, plan_restored, poll_delays, restore_request)

FAILED_STATES = ("failed", "incompatible-restore", "incompatible-parameters", "incompatible-network",
                 "inaccessible-encryption-credentials", "storage-full", "stopped", "restore-error")


def read_instance(module, rds, identifier):
    answer = aws_read(module, rds, "describe DB instance %s" % identifier, "describe_db_instances",
                      missing=("DBInstanceNotFound", "DBInstanceNotFoundFault"), DBInstanceIdentifier=identifier)
    found = (answer or {}).get("DBInstances") or []
    return found[0] if found else None


def read_snapshot(module, rds, identifier):
    answer = aws_read(module, rds, "describe DB snapshot %s" % identifier, "describe_db_snapshots",
                      missing=("DBSnapshotNotFound", "DBSnapshotNotFoundFault"), DBSnapshotIdentifier=identifier)
    found = (answer or {}).get("DBSnapshots") or []
    return found[0] if found else None


def instance_view(instance, name):
    if not instance:
        return {"identifier": name, "status": "absent"}
    endpoint = instance.get("Endpoint") or {}
    return {
        "identifier": instance["DBInstanceIdentifier"], "status": instance.get("DBInstanceStatus"),
        "endpoint": endpoint.get("Address"), "port": endpoint.get("Port"),
        "master_username": instance.get("MasterUsername"), "db_name": instance.get("DBName"),
        "secret_arn": (instance.get("MasterUserSecret") or {}).get("SecretArn"),
        "kms_key_id": instance.get("KmsKeyId"),
        "subnet_group": (instance.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
        "security_groups": sorted(g["VpcSecurityGroupId"] for g in instance.get("VpcSecurityGroups") or []),
        "parameter_group": ([g["DBParameterGroupName"] for g in instance.get("DBParameterGroups") or []] or [None])[0],
        "publicly_accessible": instance.get("PubliclyAccessible"),
        "deletion_protection": instance.get("DeletionProtection"),
        "multi_az": instance.get("MultiAZ"),
    }


def snapshot_view(snapshot, name):
    if not snapshot:
        return {"identifier": name, "status": "absent"}
    return {"identifier": snapshot["DBSnapshotIdentifier"], "status": snapshot.get("Status"),
            "created": iso(snapshot.get("SnapshotCreateTime")) if snapshot.get("SnapshotCreateTime") else None}


def placement_differences(drill, source):
    """What of the live instance's placement the copy did not get (AWS takes all of it from the request)."""
    wanted = instance_view(source, source["DBInstanceIdentifier"])
    got = instance_view(drill, drill["DBInstanceIdentifier"])
    out = []
    for key in ("subnet_group", "security_groups", "parameter_group", "kms_key_id"):
        if got[key] != wanted[key]:
            out.append("%s is %s, the live instance's is %s" % (key, got[key], wanted[key]))
    if got["publicly_accessible"]:
        out.append("the drill instance is publicly accessible")
    return out


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            source=dict(type="str", required=True),
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["restored", "absent"], default="restored"),
            restore_from=dict(type="str", choices=["snapshot", "point_in_time"], default="snapshot"),
            restore_after=dict(type="str"),
            instance_class=dict(type="str"),
            multi_az=dict(type="bool", default=False),
            keep_snapshot=dict(type="bool", default=False),
            tags=dict(type="dict", default={}),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=3600),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="rds_restore_drill refused the input: %s" % "; ".join(problems), problems=problems)

    rds = retrying_client(module, "rds")
    name = p["name"]
    observed = {"drill": read_instance(module, rds, name), "snapshot": read_snapshot(module, rds, name)}
    if p["state"] == "restored":
        observed["source"] = read_instance(module, rds, p["source"])
        plan = plan_restored(p, observed)
    else:
        plan = plan_absent(p, observed)
    refuse(module, "rds_restore_drill %s" % name, plan)

    times = {"t0": None, "t1": None, "restore_point": None}
    waited = {}
    if observed["drill"] is not None:
        source_tag = dict((t["Key"], t["Value"]) for t in observed["drill"].get("TagList") or []).get(
            "launch-drill-source", "")
        if "@" in source_tag and not source_tag.endswith("@latest"):
            times["restore_point"] = source_tag.rsplit("@", 1)[1]
        elif observed["snapshot"] is not None and observed["snapshot"].get("SnapshotCreateTime"):
            times["restore_point"] = iso(observed["snapshot"]["SnapshotCreateTime"])

    def wait_for(what, read, done, failed=None):
        start, seen = time.time(), []
        for delay in poll_delays():
            current = read()
            if not seen or seen[-1] != current:
                seen.append(current)
            if done(current):
                waited[what] = {"seconds": round(time.time() - start, 3), "statuses": seen}
                return current
            if failed and failed(current):
                module.fail_json(msg="%s: status %s, which it does not leave by itself (seen: %s)"
                                 % (what, current, ", ".join(map(str, seen))), actions_done=plan.actions)
            if time.time() - start + delay > p["wait_timeout"]:
                module.fail_json(msg="%s: still %s after %d s (seen: %s); raise wait_timeout, or run again later -"
                                 " nothing is lost" % (what, current, p["wait_timeout"], ", ".join(map(str, seen))),
                                 actions_done=plan.actions)
            time.sleep(delay)

    def status_of_instance():
        found = read_instance(module, rds, name)
        return found["DBInstanceStatus"] if found else "absent"

    def status_of_snapshot():
        found = read_snapshot(module, rds, name)
        return found["Status"] if found else "absent"

    def wait_snapshot(step, real):
        wait_for("snapshot %s" % name, status_of_snapshot, lambda s: s == "available",
                 lambda s: s in ("failed", "absent", "error"))
        times["restore_point"] = iso(read_snapshot(module, rds, name)["SnapshotCreateTime"])

    def wait_restorable(step, real):
        after = parse_time(step["after"]) if step.get("after") else None

        def latest():
            found = read_instance(module, rds, p["source"])
            moment = (found or {}).get("LatestRestorableTime")
            return iso(moment) if moment else "none"
        point = wait_for("latest restorable time of %s" % p["source"], latest,
                         lambda s: s != "none" and (after is None or parse_time(s) > after))
        times["restore_point"] = point

    def restore(step, real):
        point = parse_time(times["restore_point"]) if p["restore_from"] == "point_in_time" else None
        kwargs = restore_request(p, observed["source"], point)
        method = ("restore_db_instance_from_db_snapshot" if p["restore_from"] == "snapshot"
                  else "restore_db_instance_to_point_in_time")
        made = [a for a in plan.actions if a.startswith("create snapshot")]
        aws_call(module, rds, "restore DB instance %s" % name, method, done=made, **kwargs)
        times["t0"] = time.time()

    def wait_available(step, real):
        wait_for("drill instance %s" % name, status_of_instance, lambda s: s == "available",
                 lambda s: s in FAILED_STATES or s in ("absent", "deleting"))
        times["t1"] = time.time()

    def delete_instance(step, real):
        start = time.time()
        for delay in poll_delays():
            try:
                rds.delete_db_instance(aws_retry=True, **step["kwargs"])
                return None
            except AWS_ERRORS as e:
                code = error_code(e)
                if code in ("DBInstanceNotFound", "DBInstanceNotFoundFault"):
                    return None
                # an instance still creating (a restore that timed out) cannot be deleted yet: wait for it
                if code != "InvalidDBInstanceState" or time.time() - start + delay > p["wait_timeout"]:
                    module.fail_json_aws(e, msg="Could not delete drill instance %s" % name,
                                         actions_done=plan.actions)
            time.sleep(delay)

    def wait_deleted(step, real):
        wait_for("deletion of drill instance %s" % name, status_of_instance, lambda s: s == "absent")

    def delete_snapshot(step, real):
        wait_for("snapshot %s before its deletion" % name, status_of_snapshot,
                 lambda s: s in ("available", "failed", "absent"))
        try:
            rds.delete_db_snapshot(aws_retry=True, DBSnapshotIdentifier=name)
        except botocore.exceptions.ClientError as e:
            if error_code(e) not in ("DBSnapshotNotFound", "DBSnapshotNotFoundFault"):
                module.fail_json_aws(e, msg="Could not delete drill snapshot %s" % name, actions_done=plan.actions)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg="Could not delete drill snapshot %s" % name, actions_done=plan.actions)

    apply(module, plan, {"rds": rds}, handlers={
        "wait_snapshot": wait_snapshot, "wait_restorable": wait_restorable, "restore": restore,
        "wait_available": wait_available, "delete_instance": delete_instance, "wait_deleted": wait_deleted,
        "delete_snapshot": delete_snapshot})

    if module.check_mode or not plan.steps:
        drill, snapshot = observed["drill"], observed["snapshot"]
    else:
        drill, snapshot = read_instance(module, rds, name), read_snapshot(module, rds, name)
    if p["state"] == "restored" and drill is not None and observed.get("source") and drill.get(
            "DBInstanceStatus") == "available":
        for difference in placement_differences(drill, observed["source"]):
            module.warn("drill instance %s: %s" % (name, difference))
    before = {"instance": instance_view(observed["drill"], name), "snapshot": snapshot_view(observed["snapshot"], name)}
    after = {"instance": instance_view(drill, name), "snapshot": snapshot_view(snapshot, name)}
    if module.check_mode:
        after = dict(before)
        if p["state"] == "absent":
            after = {"instance": instance_view(None, name),
                     "snapshot": before["snapshot"] if p["keep_snapshot"] else snapshot_view(None, name)}
        elif observed["drill"] is None:
            after = {"instance": {"identifier": name, "status": "(restored)"},
                     "snapshot": before["snapshot"] if p["restore_from"] == "point_in_time" or observed["snapshot"]
                     else {"identifier": name, "status": "(new)"}}
    age = None
    if times["restore_point"] and times["t0"]:
        age = round(times["t0"] - parse_time(times["restore_point"]).timestamp(), 3)
    finish(module, plan, diff={"before": before, "after": after} if module._diff else None,
           instance=after["instance"], snapshot=after["snapshot"], restore_point=times["restore_point"],
           restore_point_age_seconds=age, t0=times["t0"], t1=times["t1"], waited=waited)


if __name__ == "__main__":
    main()
