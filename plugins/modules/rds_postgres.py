#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rds_postgres
short_description: A PostgreSQL RDS instance with its subnet group and parameter group, planned and applied in one call
version_added: 0.3.0
description:
  - Keeps, in one invocation, a DB subnet group of the given (private) subnets, a DB parameter group of our own
    (family C(postgres<major>), named C(<identifier>-postgres<major>)) holding exactly the listed parameters, and a
    PostgreSQL DB instance - Multi-AZ, encrypted with a customer-managed KMS key, its master password kept by RDS in
    Secrets Manager (C(ManageMasterUserPassword); Ansible never sees it), automated backups, copy tags to snapshots,
    deletion protection, Performance Insights, enhanced monitoring, log exports to CloudWatch, never publicly
    accessible.
  - Compares only what the task sets, after normalising (KMS keys, aliases included, resolved to key ARNs with
    C(kms:DescribeKey); windows lower-case; lists as sets; pending modifications counted as made), so a second
    run with the same input makes no write call.
  - Changes AWS cannot make in place (engine, engine version downgrade, storage encryption or its KMS key, master
    user name, initial database name, smaller storage, another subnet group) are refused before any write. Changes
    AWS makes with downtime (engine major version, instance class of a single-AZ instance, storage type downgrade)
    are refused unless listed in O(allow_disruptive). Changes AWS applies in the maintenance window wait for it
    unless O(apply_immediately); they are returned in RV(pending).
  - The instance class and the engine version are checked against AWS's catalogue
    (C(DescribeOrderableDBInstanceOptions), C(DescribeDBEngineVersions)) before any write when the instance is
    created or they change; what does not exist is refused with the accepted values listed. An endpoint without a
    catalogue for PostgreSQL (moto) is reported in a warning and RV(catalogue) and the values are checked for shape
    only.
  - Static parameters (for example C(shared_preload_libraries)) are applied at the next reboot; the module never
    reboots the instance, it returns their names in RV(pending_reboot).
  - Deletion is not part of this module; the policy is deletion protection on, and a final snapshot
    (C(FinalDBSnapshotIdentifier)) whenever the instance is deleted by hand.
author: DirectFanz platform team (@directfanz)
options:
  identifier:
    description:
      - The DB instance identifier, 1-63 letters, digits or hyphens, starting with a letter, without two consecutive
        hyphens or a trailing one (AWS keeps it in lower case).
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the subnet group, the parameter group and the instance.
      - C(available) changes nothing - it reads the instance and waits (up to O(wait_timeout)) until it is available,
        then returns its endpoint. The launch starts the long creates with O(wait=false) and waits for them together
        later with this state. In check mode it only reports the current status.
    type: str
    choices: [present, available]
    default: present
  engine_version:
    description:
      - PostgreSQL version as C(<major>.<minor>), for example C(16.4). Required with O(state=present).
      - An instance that AWS upgraded to a newer minor version of the same major (automatic minor version upgrades)
        is not a difference.
    type: str
  instance_class:
    description: The instance class, C(db.<family>.<size>), for example C(db.m6g.large). Required with O(state=present).
    type: str
  allocated_storage:
    description:
      - Storage in GiB (20-65536; 100-65536 for io1/io2). Required with O(state=present).
      - Storage autoscaling may have grown the instance beyond it; a larger instance is not a difference (RDS cannot
        shrink storage).
    type: int
  max_allocated_storage:
    description: The storage autoscaling ceiling in GiB, larger than O(allocated_storage); not set means not compared.
    type: int
  storage_type:
    description: The storage type.
    type: str
    choices: [gp2, gp3, io1, io2, standard]
    default: gp3
  iops:
    description: Provisioned IOPS (io1/io2, or gp3 from 400 GiB); not set means not compared.
    type: int
  storage_throughput:
    description: gp3 storage throughput in MiB/s (from 400 GiB); not set means not compared.
    type: int
  multi_az:
    description: A standby in another availability zone.
    type: bool
    default: true
  kms_key_id:
    description:
      - The KMS key that encrypts the storage - a key id, key ARN, alias name (C(alias/...)) or alias ARN. Storage is
        always encrypted. Required with O(state=present).
    type: str
  master_username:
    description: The master user's name (cannot be changed after creation).
    type: str
    default: postgres
  master_user_secret_kms_key_id:
    description:
      - The KMS key of the Secrets Manager secret RDS keeps the master password in; not set means the account's
        default key C(aws/secretsmanager). Used when the instance is created (a difference later is a warning).
    type: str
  db_name:
    description: The database created with the instance (cannot be changed after creation); not set means none.
    type: str
  backup_retention:
    description: Days automated backups are kept (1-35).
    type: int
    default: 30
  backup_window:
    description: Daily backup window in UTC, C(hh24:mi-hh24:mi), at least 30 minutes, not overlapping O(maintenance_window).
    type: str
    default: "03:00-03:30"
  maintenance_window:
    description: Weekly maintenance window in UTC, C(ddd:hh24:mi-ddd:hh24:mi), at least 30 minutes.
    type: str
    default: "sun:04:00-sun:04:30"
  copy_tags_to_snapshot:
    description: Copy the instance's tags to its snapshots.
    type: bool
    default: true
  deletion_protection:
    description: Refuse deletion of the instance until this is turned off.
    type: bool
    default: true
  auto_minor_version_upgrade:
    description: Let AWS apply minor version upgrades in the maintenance window.
    type: bool
    default: true
  performance_insights:
    description: Performance Insights on.
    type: bool
    default: true
  performance_insights_kms_key_id:
    description:
      - The KMS key of the Performance Insights data; defaults to O(kms_key_id). AWS cannot change it once set (a
        difference is a warning).
    type: str
  performance_insights_retention:
    description: Days Performance Insights data is kept - 7 (free), or a multiple of 31 up to 713, or 731.
    type: int
    default: 7
  monitoring_interval:
    description: Enhanced monitoring interval in seconds - 0 (off), 1, 5, 10, 15, 30 or 60.
    type: int
    default: 60
  monitoring_role_arn:
    description: The IAM role RDS publishes enhanced monitoring metrics with; required when O(monitoring_interval) is not 0.
    type: str
  cloudwatch_logs_exports:
    description: Logs exported to CloudWatch Logs.
    type: list
    elements: str
    default: [postgresql, upgrade]
  subnet_ids:
    description:
      - The subnets of the DB subnet group (private ones, in at least two availability zones). Required with
        O(state=present).
    type: list
    elements: str
  subnet_group_name:
    description: Name of the DB subnet group; defaults to O(identifier).
    type: str
  vpc_security_group_ids:
    description: The security groups of the instance (compared as a set). Required with O(state=present).
    type: list
    elements: str
  parameter_group_name:
    description: Name of the DB parameter group; defaults to C(<identifier>-postgres<major>).
    type: str
  parameters:
    description:
      - Parameters of the parameter group, name to value (booleans become C(1)/C(0)). Only these are compared;
        others keep the engine default. For example C(rds.force_ssl=1), C(shared_preload_libraries=pg_stat_statements).
    type: dict
    default: {}
  tags:
    description:
      - Tags on the instance and the two groups (C(managed-by=directfanz.launch) is added; tags not listed are kept).
    type: dict
    default: {}
  apply_immediately:
    description:
      - Make the changes AWS would otherwise keep for the maintenance window now (some of them restart or fail over
        the instance). Without it they are returned in RV(pending).
    type: bool
    default: false
  allow_disruptive:
    description:
      - Kinds of change with downtime the module may make. C(engine_major_version) (an upgrade, with a parameter
        group of the new family), C(instance_class) (of an instance that is not Multi-AZ; with Multi-AZ the class
        changes through a failover and needs no permission), C(storage_type) (a downgrade, such as gp3 to gp2).
    type: list
    elements: str
    choices: [engine_major_version, instance_class, storage_type]
    default: []
  wait:
    description:
      - Wait until the instance is available after creating or changing it. The launch passes C(false) and waits later
        with O(state=available), so that the long creates of a run overlap.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the instance to be available (a Multi-AZ create takes 10-20 minutes).
    type: int
    default: 2400
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and returns the planned RV(actions) and C(changed); creates, changes and waits for nothing,
        also on an empty account (a KMS key that does not exist yet is then reported in a warning).
  diff_mode:
    support: full
    description: Returns the compared settings of the instance, the subnet group and the parameters, before and after.
"""

EXAMPLES = r"""
- name: Start the PostgreSQL instance (the create is only started)
  directfanz.launch.rds_postgres:
    identifier: directfanz-db
    engine_version: "16.4"
    instance_class: db.m6g.large
    allocated_storage: 100
    max_allocated_storage: 500
    kms_key_id: alias/directfanz-rds
    master_user_secret_kms_key_id: alias/directfanz-rds
    monitoring_role_arn: arn:aws:iam::123456789012:role/directfanz-rds-monitoring
    subnet_ids: [subnet-0a1b2c3d4e5f67890, subnet-0f1e2d3c4b5a69870]
    vpc_security_group_ids: [sg-0a1b2c3d4e5f67890]
    parameters:
      rds.force_ssl: 1
      shared_preload_libraries: pg_stat_statements
      pg_stat_statements.track: all
      log_min_duration_statement: 500
    tags:
      project: directfanz
    wait: false
  register: db

- name: Later, wait for it together with the other long creates
  directfanz.launch.rds_postgres:
    identifier: directfanz-db
    state: available
    wait_timeout: 2400
  register: db_ready
"""

RETURN = r"""
identifier:
  description: The instance identifier (lower case).
  returned: always
  type: str
  sample: directfanz-db
arn:
  description: ARN of the instance (a placeholder in check mode before it exists).
  returned: always
  type: str
status:
  description:
    - The instance status after the run (C(absent) in check mode before it exists, C(creating) after a create without
      wait on AWS).
  returned: always
  type: str
  sample: available
endpoint:
  description: Address of the instance, empty until AWS has assigned it.
  returned: always
  type: str
  sample: directfanz-db.abcdefghij.us-east-1.rds.amazonaws.com
port:
  description: Port of the instance.
  returned: always
  type: int
  sample: 5432
master_user_secret_arn:
  description: ARN of the Secrets Manager secret holding the master credentials (the secret's value is never read).
  returned: always
  type: str
kms_key_arn:
  description: ARN of the storage key (the input as given in check mode while the key does not exist).
  returned: always
  type: str
parameter_group:
  description: Name of the instance's parameter group.
  returned: always
  type: str
subnet_group:
  description: Name of the DB subnet group.
  returned: always
  type: str
pending:
  description: Changes AWS keeps for the maintenance window (made earlier or now), one line each.
  returned: always
  type: list
  elements: str
pending_reboot:
  description: Static parameters that take effect at the next reboot of the instance.
  returned: always
  type: list
  elements: str
catalogue:
  description:
    - C(checked) (class and version found in AWS's catalogue), C(unchanged) (not asked, they did not change) or
      C(unavailable) (the endpoint has no catalogue for PostgreSQL; shape checks only).
  returned: always
  type: str
waited:
  description: Seconds spent waiting for the instance, and the statuses seen.
  returned: always
  type: dict
actions:
  description: What was done (in check mode, what would be done), one line each.
  returned: always
  type: list
  elements: str
  sample: ["create db subnet group directfanz-db", "create db instance directfanz-db (postgres 16.4, db.m6g.large)"]
"""

import re
import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.directfanz.launch.plugins.module_utils.plan import (Plan, apply, aws_call, aws_pages, aws_read,
                                                                             finish, refuse,
                                                                             retrying_client)

ENGINE = "postgres"
MANAGED_TAG = ("managed-by", "directfanz.launch")
IDENTIFIER_RE = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}(?<!-)$")
IDENTIFIER_ACCEPTED = "1-63 letters, digits or hyphens, starting with a letter, no '--', not ending with '-'"
PARAMETER_GROUP_RE = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)$")
SUBNET_GROUP_RE = re.compile(r"^[a-zA-Z0-9 ._-]{1,255}$")
CLASS_RE = re.compile(r"^db\.[a-z][a-z0-9-]*\.[a-z0-9]+$")
VERSION_RE = re.compile(r"^(\d+)\.(\d+)$")
BACKUP_WINDOW_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
MAINTENANCE_WINDOW_RE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-"
                                   r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
KMS_RE = re.compile(r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)"
                    r"|(mrk-)?[0-9a-fA-F-]{32,40}|alias/[A-Za-z0-9/_-]+)$")
KMS_ACCEPTED = "a key id, a key ARN, an alias name (alias/...) or an alias ARN"
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
GROUP_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")
PARAMETER_RE = re.compile(r"^[A-Za-z0-9_.]+$")
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
LOG_EXPORTS = ("postgresql", "upgrade", "iam-db-auth-error")
STORAGE_ORDER = ["standard", "gp2", "gp3", "io1", "io2"]  # a move to the left is a downgrade
MIN_MAJOR = 11

# PostgreSQL's postmaster-context settings: RDS lists them as ApplyType static, so they take ApplyMethod
# pending-reboot (AWS rejects "immediate" for them). An existing group's own answer (ApplyType) takes precedence.
STATIC_PARAMETERS = frozenset([
    "autovacuum_max_workers", "huge_pages", "max_connections", "max_files_per_process", "max_locks_per_transaction",
    "max_logical_replication_workers", "max_pred_locks_per_transaction", "max_prepared_transactions",
    "max_replication_slots", "max_wal_senders", "max_worker_processes", "old_snapshot_threshold",
    "pg_stat_statements.max", "rds.logical_replication", "shared_buffers", "shared_preload_libraries",
    "superuser_reserved_connections", "track_activity_query_size", "track_commit_timestamp", "wal_buffers",
    "wal_level", "rds.force_admin_logging_level", "rds.enable_pgactive", "cron.database_name",
])

READY = ("available", "storage-optimization")
MODIFIABLE = READY + ("backing-up",)
FAILED = ("failed", "incompatible-network", "incompatible-option-group", "incompatible-parameters",
          "incompatible-restore", "inaccessible-encryption-credentials",
          "inaccessible-encryption-credentials-recoverable", "insufficient-capacity", "restore-error", "storage-full",
          "stopped", "stopping", "deleting", "deleted")

# What ApplyImmediately decides (AWS keeps these for the maintenance window without it); everything else that this
# module changes AWS applies at once whatever ApplyImmediately says.
WINDOW_SETTINGS = ("instance_class", "allocated_storage", "storage_type", "iops", "storage_throughput", "engine_version",
                   "multi_az", "manage_master_password")
# setting -> the PendingModifiedValues field that holds it while it waits for the window
PENDING_FIELDS = {"instance_class": "DBInstanceClass", "allocated_storage": "AllocatedStorage",
                  "storage_type": "StorageType", "iops": "Iops", "storage_throughput": "StorageThroughput",
                  "engine_version": "EngineVersion", "multi_az": "MultiAZ", "backup_retention": "BackupRetentionPeriod"}


# ---------------------------------------------------------------------------------------------------------------
# Input checks (no API call)

def window_minutes(text):
    """A maintenance window as (start, end) minutes of the week (end may wrap past the week's end)."""
    m = MAINTENANCE_WINDOW_RE.match(text)
    start = DAYS.index(m.group(1)) * 1440 + int(m.group(2)) * 60 + int(m.group(3))
    end = DAYS.index(m.group(4)) * 1440 + int(m.group(5)) * 60 + int(m.group(6))
    return start, end if end > start else end + 7 * 1440


def backup_minutes(text):
    m = BACKUP_WINDOW_RE.match(text)
    start = int(m.group(1)) * 60 + int(m.group(2))
    end = int(m.group(3)) * 60 + int(m.group(4))
    return start, end if end > start else end + 1440


def windows_overlap(backup, maintenance):
    """True when the daily backup window meets the weekly maintenance window on any day."""
    m_start, m_end = window_minutes(maintenance)
    b_start, b_end = backup_minutes(backup)
    for day in range(-1, 8):
        s, e = day * 1440 + b_start, day * 1440 + b_end
        if s < m_end and m_start < e:
            return True
    return False


def parameter_value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return ",".join(part.strip() for part in str(value).split(",")) if isinstance(value, str) else str(value)


def input_problems(p):
    """Every problem with the input at once, each saying what is accepted; no API call."""
    problems = []
    if not IDENTIFIER_RE.match(p["identifier"] or ""):
        problems.append("identifier %r is not valid; accepted: %s" % (p["identifier"], IDENTIFIER_ACCEPTED))
    if p["wait_timeout"] < 0:
        problems.append("wait_timeout %d is negative; accepted: seconds, 0 or more" % p["wait_timeout"])
    if p["state"] != "present":
        return problems
    for key in ("engine_version", "instance_class", "allocated_storage", "kms_key_id", "subnet_ids",
                "vpc_security_group_ids"):
        if p.get(key) in (None, "", []):
            problems.append("%s is missing; it is required with state=present" % key)
    version = p.get("engine_version")
    if version:
        m = VERSION_RE.match(version)
        if not m or int(m.group(1)) < MIN_MAJOR:
            problems.append("engine_version %r is not valid; accepted: a PostgreSQL version <major>.<minor> with major"
                            " %d or later, such as 16.4" % (version, MIN_MAJOR))
    if p.get("instance_class") and not CLASS_RE.match(p["instance_class"]):
        problems.append("instance_class %r is not valid; accepted: db.<family>.<size>, such as db.m6g.large or"
                        " db.r7g.xlarge" % p["instance_class"])
    storage = p.get("allocated_storage")
    low = 100 if p["storage_type"] in ("io1", "io2") else 20
    if storage is not None and not low <= storage <= 65536:
        problems.append("allocated_storage %d GiB is out of range; accepted: %d-65536 for %s"
                        % (storage, low, p["storage_type"]))
    ceiling = p.get("max_allocated_storage")
    if ceiling is not None and storage is not None and not storage < ceiling <= 65536:
        problems.append("max_allocated_storage %d GiB is not valid; accepted: more than allocated_storage (%d) and at"
                        " most 65536" % (ceiling, storage))
    if p["storage_type"] in ("io1", "io2") and not p.get("iops"):
        problems.append("storage_type %s needs iops; accepted: the provisioned IOPS, such as 3000" % p["storage_type"])
    if p.get("storage_throughput") and p["storage_type"] != "gp3":
        problems.append("storage_throughput is only for gp3 storage (storage_type is %s)" % p["storage_type"])
    for key in ("kms_key_id", "master_user_secret_kms_key_id", "performance_insights_kms_key_id"):
        if p.get(key) and not KMS_RE.match(p[key]):
            problems.append("%s %r is not valid; accepted: %s" % (key, p[key], KMS_ACCEPTED))
    if not 1 <= p["backup_retention"] <= 35:
        problems.append("backup_retention %d is out of range; accepted: 1-35 days" % p["backup_retention"])
    backup_ok = BACKUP_WINDOW_RE.match(p["backup_window"] or "")
    maintenance_ok = MAINTENANCE_WINDOW_RE.match((p["maintenance_window"] or "").lower())
    if not backup_ok:
        problems.append("backup_window %r is not valid; accepted: hh24:mi-hh24:mi in UTC, such as 03:00-03:30"
                        % p["backup_window"])
    elif backup_minutes(p["backup_window"])[1] - backup_minutes(p["backup_window"])[0] < 30:
        problems.append("backup_window %s is shorter than 30 minutes; accepted: at least 30 minutes" % p["backup_window"])
    if not maintenance_ok:
        problems.append("maintenance_window %r is not valid; accepted: ddd:hh24:mi-ddd:hh24:mi in UTC, such as"
                        " sun:04:00-sun:04:30" % p["maintenance_window"])
    else:
        start, end = window_minutes(p["maintenance_window"].lower())
        if end - start < 30:
            problems.append("maintenance_window %s is shorter than 30 minutes; accepted: at least 30 minutes"
                            % p["maintenance_window"])
    if backup_ok and maintenance_ok and windows_overlap(p["backup_window"], p["maintenance_window"].lower()):
        problems.append("backup_window %s overlaps maintenance_window %s; accepted: windows that do not meet"
                        % (p["backup_window"], p["maintenance_window"]))
    retention = p["performance_insights_retention"]
    if p["performance_insights"] and not (retention in (7, 731) or (retention % 31 == 0 and 31 <= retention <= 713)):
        problems.append("performance_insights_retention %d is not accepted; accepted: 7, a multiple of 31 up to 713,"
                        " or 731" % retention)
    if p["monitoring_interval"] not in MONITORING_INTERVALS:
        problems.append("monitoring_interval %d is not accepted; accepted: %s"
                        % (p["monitoring_interval"], ", ".join(str(i) for i in MONITORING_INTERVALS)))
    if p["monitoring_interval"] and not p.get("monitoring_role_arn"):
        problems.append("monitoring_role_arn is missing; it is required when monitoring_interval is not 0")
    if p.get("monitoring_role_arn") and not ROLE_ARN_RE.match(p["monitoring_role_arn"]):
        problems.append("monitoring_role_arn %r is not valid; accepted: an IAM role ARN, arn:aws:iam::<account>:role/<name>"
                        % p["monitoring_role_arn"])
    unknown = [x for x in p["cloudwatch_logs_exports"] if x not in LOG_EXPORTS]
    if unknown:
        problems.append("cloudwatch_logs_exports %s not accepted; accepted: %s"
                        % (", ".join(unknown), ", ".join(LOG_EXPORTS)))
    subnets = p.get("subnet_ids") or []
    bad = [s for s in subnets if not SUBNET_RE.match(s or "")]
    if bad:
        problems.append("subnet_ids %s are not subnet ids; accepted: subnet-<hex>" % ", ".join(repr(s) for s in bad))
    elif subnets and len(set(subnets)) < 2:
        problems.append("subnet_ids has %d distinct subnet; accepted: at least two (in two availability zones)"
                        % len(set(subnets)))
    bad = [g for g in p.get("vpc_security_group_ids") or [] if not GROUP_RE.match(g or "")]
    if bad:
        problems.append("vpc_security_group_ids %s are not security group ids; accepted: sg-<hex>"
                        % ", ".join(repr(g) for g in bad))
    if p.get("subnet_group_name") and not SUBNET_GROUP_RE.match(p["subnet_group_name"]):
        problems.append("subnet_group_name %r is not valid; accepted: 1-255 letters, digits, spaces, '.', '_' or '-'"
                        % p["subnet_group_name"])
    if p.get("parameter_group_name") and not PARAMETER_GROUP_RE.match(p["parameter_group_name"]):
        problems.append("parameter_group_name %r is not valid; accepted: 1-255 letters, digits or hyphens, starting"
                        " with a letter, no '--', not ending with '-'" % p["parameter_group_name"])
    if p.get("master_username") and not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,62}$", p["master_username"]):
        problems.append("master_username %r is not valid; accepted: 1-63 letters, digits or '_', starting with a letter"
                        % p["master_username"])
    if p.get("db_name") and not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,62}$", p["db_name"]):
        problems.append("db_name %r is not valid; accepted: 1-63 letters, digits or '_', starting with a letter"
                        % p["db_name"])
    for name, value in sorted((p.get("parameters") or {}).items()):
        if not PARAMETER_RE.match(name):
            problems.append("parameter %r is not a parameter name; accepted: letters, digits, '_' and '.'" % name)
        if value is None or isinstance(value, (dict, list)):
            problems.append("parameter %s has value %r; accepted: a string, number or boolean" % (name, value))
    return problems


# ---------------------------------------------------------------------------------------------------------------
# What the task asks for, normalised

def major_of(version):
    return int(version.split(".")[0])


def family_of(version):
    return "%s%d" % (ENGINE, major_of(version))


def desired_tags(p):
    tags = dict((str(k), str(v)) for k, v in (p.get("tags") or {}).items())
    tags[MANAGED_TAG[0]] = MANAGED_TAG[1]
    return tags


def names_of(p):
    identifier = p["identifier"].lower()
    return {"identifier": identifier,
            "subnet_group": (p.get("subnet_group_name") or identifier).lower(),
            "parameter_group": (p.get("parameter_group_name")
                                or "%s-%s" % (identifier, family_of(p["engine_version"]))).lower()}


def desired_settings(p, keys):
    """The instance settings the task sets, in the shape `observed_settings` reads them; ``keys`` maps each KMS key
    text to its ARN."""
    names = names_of(p)
    want = {
        "engine": ENGINE,
        "engine_version": p["engine_version"],
        "instance_class": p["instance_class"],
        "allocated_storage": p["allocated_storage"],
        "storage_type": p["storage_type"],
        "multi_az": p["multi_az"],
        "storage_encrypted": True,
        "kms_key": keys.get(p["kms_key_id"], p["kms_key_id"]),
        "master_username": p["master_username"],
        "manage_master_password": True,
        "backup_retention": p["backup_retention"],
        "backup_window": p["backup_window"],
        "maintenance_window": p["maintenance_window"].lower(),
        "copy_tags_to_snapshot": p["copy_tags_to_snapshot"],
        "deletion_protection": p["deletion_protection"],
        "auto_minor_version_upgrade": p["auto_minor_version_upgrade"],
        "performance_insights": p["performance_insights"],
        "monitoring_interval": p["monitoring_interval"],
        "cloudwatch_logs_exports": sorted(set(p["cloudwatch_logs_exports"])),
        "publicly_accessible": False,
        "security_groups": sorted(set(p["vpc_security_group_ids"])),
        "subnet_group": names["subnet_group"],
        "parameter_group": names["parameter_group"],
    }
    for key, option in (("max_allocated_storage", "max_allocated_storage"), ("iops", "iops"),
                        ("storage_throughput", "storage_throughput"), ("db_name", "db_name")):
        if p.get(option) is not None:
            want[key] = p[option]
    if p["performance_insights"]:
        pi_key = p.get("performance_insights_kms_key_id") or p["kms_key_id"]
        want["performance_insights_kms_key"] = keys.get(pi_key, pi_key)
        want["performance_insights_retention"] = p["performance_insights_retention"]
    if p["monitoring_interval"]:
        want["monitoring_role_arn"] = p["monitoring_role_arn"]
    if p.get("master_user_secret_kms_key_id"):
        key = p["master_user_secret_kms_key_id"]
        want["master_user_secret_kms_key"] = keys.get(key, key)
    return want


def observed_settings(instance, keys):
    """The instance as `desired_settings` says it, with the changes waiting for the maintenance window counted as
    made. A field the answer lacks entirely is left out (see `endpoint_gaps`)."""
    pending = instance.get("PendingModifiedValues") or {}
    secret = instance.get("MasterUserSecret") or {}
    seen = {
        "engine": instance.get("Engine"),
        "engine_version": instance.get("EngineVersion"),
        "instance_class": instance.get("DBInstanceClass"),
        "allocated_storage": instance.get("AllocatedStorage"),
        "storage_type": instance.get("StorageType"),
        "multi_az": bool(instance.get("MultiAZ")),
        "storage_encrypted": bool(instance.get("StorageEncrypted")),
        "kms_key": keys.get(instance.get("KmsKeyId"), instance.get("KmsKeyId")),
        "master_username": instance.get("MasterUsername"),
        "manage_master_password": bool(secret.get("SecretArn")),
        "backup_retention": instance.get("BackupRetentionPeriod"),
        "backup_window": instance.get("PreferredBackupWindow"),
        "maintenance_window": (instance.get("PreferredMaintenanceWindow") or "").lower(),
        "copy_tags_to_snapshot": bool(instance.get("CopyTagsToSnapshot")),
        "deletion_protection": bool(instance.get("DeletionProtection")),
        "auto_minor_version_upgrade": bool(instance.get("AutoMinorVersionUpgrade")),
        "monitoring_interval": instance.get("MonitoringInterval") or 0,
        "monitoring_role_arn": instance.get("MonitoringRoleArn"),
        "cloudwatch_logs_exports": sorted(instance.get("EnabledCloudwatchLogsExports") or []),
        "publicly_accessible": bool(instance.get("PubliclyAccessible")),
        "security_groups": sorted(g["VpcSecurityGroupId"] for g in instance.get("VpcSecurityGroups") or []
                                  if g.get("Status") in (None, "active", "adding")),
        "subnet_group": ((instance.get("DBSubnetGroup") or {}).get("DBSubnetGroupName") or "").lower(),
        "parameter_group": ((instance.get("DBParameterGroups") or [{}])[0].get("DBParameterGroupName") or "").lower(),
        "max_allocated_storage": instance.get("MaxAllocatedStorage"),
        "iops": instance.get("Iops"),
        "storage_throughput": instance.get("StorageThroughput"),
        "db_name": instance.get("DBName"),
        "master_user_secret_kms_key": keys.get(secret.get("KmsKeyId"), secret.get("KmsKeyId")),
    }
    if "PerformanceInsightsEnabled" in instance:
        seen["performance_insights"] = bool(instance["PerformanceInsightsEnabled"])
        seen["performance_insights_kms_key"] = keys.get(instance.get("PerformanceInsightsKMSKeyId"),
                                                        instance.get("PerformanceInsightsKMSKeyId"))
        seen["performance_insights_retention"] = instance.get("PerformanceInsightsRetentionPeriod")
    for setting, field in PENDING_FIELDS.items():
        if pending.get(field) is not None:
            seen[setting] = pending[field]
    logs = pending.get("PendingCloudwatchLogsExports") or {}
    if logs:
        current = set(seen["cloudwatch_logs_exports"]) | set(logs.get("LogTypesToEnable") or [])
        seen["cloudwatch_logs_exports"] = sorted(current - set(logs.get("LogTypesToDisable") or []))
    return seen


def endpoint_gaps(instance):
    """The one place a gap of the endpoint is tolerated: AWS always answers PerformanceInsightsEnabled (false when
    off); moto 5 neither stores nor returns any Performance Insights field. Without the field the settings cannot be
    compared, so they are not planned (that would change every run) and the run says so in a warning."""
    if instance is not None and "PerformanceInsightsEnabled" not in instance:
        return ["db instance %s: the endpoint does not report PerformanceInsightsEnabled (moto does not implement"
                " Performance Insights); its Performance Insights settings were sent at creation but cannot be"
                " compared" % instance.get("DBInstanceIdentifier")]
    return []


# ---------------------------------------------------------------------------------------------------------------
# Planning (pure: plain dicts in, a Plan out)

MODIFY_ARGS = {"instance_class": "DBInstanceClass", "allocated_storage": "AllocatedStorage",
               "max_allocated_storage": "MaxAllocatedStorage", "storage_type": "StorageType", "iops": "Iops",
               "storage_throughput": "StorageThroughput", "multi_az": "MultiAZ",
               "backup_retention": "BackupRetentionPeriod", "backup_window": "PreferredBackupWindow",
               "maintenance_window": "PreferredMaintenanceWindow", "copy_tags_to_snapshot": "CopyTagsToSnapshot",
               "deletion_protection": "DeletionProtection", "auto_minor_version_upgrade": "AutoMinorVersionUpgrade",
               "publicly_accessible": "PubliclyAccessible", "security_groups": "VpcSecurityGroupIds",
               "parameter_group": "DBParameterGroupName"}
# Compared after the instance exists, but AWS cannot change them in place: refused, with what to do instead.
IMPOSSIBLE = {
    "engine": "the engine cannot be changed; make a new instance",
    "storage_encrypted": "encryption cannot be turned on in place; copy a snapshot with encryption and restore it",
    "kms_key": "the storage KMS key cannot be changed in place; copy a snapshot with the new key and restore it",
    "master_username": "the master user name cannot be changed; make a new instance",
    "db_name": "the initial database name cannot be changed (create the database with SQL instead)",
    "subnet_group": "this module does not move an instance to another subnet group; do it by hand or keep the name",
}


def version_key(version):
    return tuple(int(x) for x in re.findall(r"\d+", version or "0"))


def show(value):
    if isinstance(value, list):
        return "[%s]" % ", ".join(str(v) for v in value)
    return str(value)


def plan_subnet_group(p, observed, plan, names):
    group = observed.get("subnet_group")
    subnets = sorted(set(p["subnet_ids"]))
    description = "PostgreSQL %s: private subnets" % names["identifier"]
    if group is None:
        text = "create db subnet group %s (%s)" % (names["subnet_group"], ", ".join(subnets))
        plan.call("rds", "create_db_subnet_group", text,
                  "Could not create db subnet group %s" % names["subnet_group"], DBSubnetGroupName=names["subnet_group"],
                  DBSubnetGroupDescription=description, SubnetIds=subnets, Tags=tag_list(desired_tags(p)))
        return
    have = sorted(s["SubnetIdentifier"] for s in group.get("Subnets") or [])
    if have != subnets:
        plan.call("rds", "modify_db_subnet_group", "set the subnets of db subnet group %s: %s -> %s"
                  % (names["subnet_group"], ", ".join(have), ", ".join(subnets)),
                  "Could not modify db subnet group %s" % names["subnet_group"],
                  DBSubnetGroupName=names["subnet_group"], DBSubnetGroupDescription=group.get(
                      "DBSubnetGroupDescription") or description, SubnetIds=subnets)
    plan_tags(p, plan, "db subnet group %s" % names["subnet_group"], group.get("DBSubnetGroupArn"),
              observed.get("subnet_group_tags") or {})


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def plan_tags(p, plan, what, arn, have):
    missing = dict((k, v) for k, v in desired_tags(p).items() if have.get(k) != v)
    if missing and arn:
        text = "tag %s: %s" % (what, ", ".join("%s=%s" % kv for kv in sorted(missing.items())))
        plan.call("rds", "add_tags_to_resource", text,
                  "Could not tag %s" % what, ResourceName=arn, Tags=tag_list(missing))


def wanted_parameters(p):
    return dict((name, parameter_value(value)) for name, value in (p.get("parameters") or {}).items())


def is_static(name, existing):
    found = existing.get(name) or {}
    if found.get("ApplyType"):
        return found["ApplyType"] == "static"
    return name in STATIC_PARAMETERS


def plan_parameter_group(p, observed, plan, names):
    """Creates the group when missing, sets the listed parameters that differ (20 a call, the API's limit) and returns
    the names of the static ones it changes on a group an instance already uses (they wait for a reboot)."""
    group = observed.get("parameter_group")
    family = family_of(p["engine_version"])
    existing = observed.get("parameters") or {}
    if group is None:
        text = "create db parameter group %s (%s)" % (names["parameter_group"], family)
        plan.call("rds", "create_db_parameter_group", text,
                  "Could not create db parameter group %s" % names["parameter_group"],
                  DBParameterGroupName=names["parameter_group"], DBParameterGroupFamily=family,
                  Description="PostgreSQL %s: parameters set by directfanz.launch" % names["identifier"],
                  Tags=tag_list(desired_tags(p)))
        existing = {}
    elif (group.get("DBParameterGroupFamily") or "").lower() != family:
        plan.problems.append("db parameter group %s has family %s, but engine version %s needs %s; give another"
                             " parameter_group_name (or leave it to the default, <identifier>-%s)"
                             % (names["parameter_group"], group.get("DBParameterGroupFamily"), p["engine_version"],
                                family, family))
        return []
    changes = []
    for name, value in sorted(wanted_parameters(p).items()):
        have = (existing.get(name) or {}).get("ParameterValue")
        if have is None or parameter_value(have) != value:
            changes.append((name, have, value, is_static(name, existing)))
    for start in range(0, len(changes), 20):
        batch = changes[start:start + 20]
        plan.call("rds", "modify_db_parameter_group",
                  ["set %s = %s in db parameter group %s%s" % (n, v, names["parameter_group"],
                                                               " (was %s)" % h if h is not None else "")
                   for n, h, v, _static in batch],
                  "Could not set parameters of db parameter group %s" % names["parameter_group"],
                  DBParameterGroupName=names["parameter_group"],
                  Parameters=[{"ParameterName": n, "ParameterValue": v,
                               "ApplyMethod": "pending-reboot" if static else "immediate"}
                              for n, _have, v, static in batch])
    if group is not None:
        plan_tags(p, plan, "db parameter group %s" % names["parameter_group"], group.get("DBParameterGroupArn"),
                  observed.get("parameter_group_tags") or {})
    return [change[0] for change in changes if change[3]]


def create_kwargs(p, want, names):
    kwargs = dict(
        DBInstanceIdentifier=names["identifier"], Engine=ENGINE, EngineVersion=want["engine_version"],
        DBInstanceClass=want["instance_class"], AllocatedStorage=want["allocated_storage"],
        StorageType=want["storage_type"], MultiAZ=want["multi_az"], StorageEncrypted=True, KmsKeyId=p["kms_key_id"],
        MasterUsername=want["master_username"], ManageMasterUserPassword=True,
        BackupRetentionPeriod=want["backup_retention"], PreferredBackupWindow=want["backup_window"],
        PreferredMaintenanceWindow=want["maintenance_window"], CopyTagsToSnapshot=want["copy_tags_to_snapshot"],
        DeletionProtection=want["deletion_protection"], AutoMinorVersionUpgrade=want["auto_minor_version_upgrade"],
        EnablePerformanceInsights=want["performance_insights"], MonitoringInterval=want["monitoring_interval"],
        EnableCloudwatchLogsExports=want["cloudwatch_logs_exports"], PubliclyAccessible=False,
        VpcSecurityGroupIds=want["security_groups"], DBSubnetGroupName=names["subnet_group"],
        DBParameterGroupName=names["parameter_group"], Tags=tag_list(desired_tags(p)))
    if p.get("master_user_secret_kms_key_id"):
        kwargs["MasterUserSecretKmsKeyId"] = p["master_user_secret_kms_key_id"]
    if want["performance_insights"]:
        kwargs["PerformanceInsightsKMSKeyId"] = p.get("performance_insights_kms_key_id") or p["kms_key_id"]
        kwargs["PerformanceInsightsRetentionPeriod"] = want["performance_insights_retention"]
    if want["monitoring_interval"]:
        kwargs["MonitoringRoleArn"] = want["monitoring_role_arn"]
    for key, arg in (("max_allocated_storage", "MaxAllocatedStorage"), ("iops", "Iops"),
                     ("storage_throughput", "StorageThroughput"), ("db_name", "DBName")):
        if key in want:
            kwargs[arg] = want[key]
    return kwargs


def compare_version(want, have, allow, plan, label):
    """None when nothing is to do, else ``(kind, text)`` with kind ``window`` or ``major``; refusals go to problems."""
    if have is None or want == have or have.startswith(want + "."):
        return None
    if major_of(want) == major_of(have):
        if version_key(want) < version_key(have):
            plan.warnings.append("%s runs %s, newer than engine_version %s (an automatic minor version upgrade);"
                                 " kept" % (label, have, want))
            return None
        return ("window", "engine_version %s -> %s" % (have, want))
    if major_of(want) < major_of(have):
        plan.problems.append("%s runs PostgreSQL %s; engine_version %s is a downgrade, which RDS cannot make (restore a"
                             " snapshot into a new instance of the older version instead)" % (label, have, want))
        return None
    if "engine_major_version" not in allow:
        plan.problems.append("%s: engine_version %s -> %s is a major version upgrade - RDS takes the instance offline"
                             " while it upgrades (both zones of a Multi-AZ instance at once); add engine_major_version"
                             " to allow_disruptive to make it" % (label, have, want))
        return None
    return ("major", "engine_version %s -> %s (major version upgrade)" % (have, want))


def plan_instance(p, observed, plan, names, want, static_changed):
    """The create or the one modify call of the instance, and what waits for the window."""
    instance = observed.get("instance")
    label = "db instance %s" % names["identifier"]
    pending = []
    if instance is None:
        plan.ids["arn"] = plan.call("rds", "create_db_instance", "create %s (postgres %s, %s, %d GiB %s%s)" % (
            label, want["engine_version"], want["instance_class"], want["allocated_storage"], want["storage_type"],
            ", Multi-AZ" if want["multi_az"] else ""), "Could not create %s" % label, out="db instance " +
            names["identifier"], pick=["DBInstance", "DBInstanceArn"], **create_kwargs(p, want, names))
        return pending
    plan.ids["arn"] = instance.get("DBInstanceArn")
    have = observed_settings(instance, observed.get("keys") or {})
    allow = set(p["allow_disruptive"])
    for warning in endpoint_gaps(instance):
        plan.warnings.append(warning)
    for key, reason in IMPOSSIBLE.items():
        if key in want and have.get(key) not in (None, "") and have.get(key) != want[key]:
            plan.problems.append("%s: %s is %s, the task asks for %s - %s" % (label, key, show(have[key]), show(want[key]),
                                                                              reason))
    if want.get("performance_insights_kms_key") and have.get("performance_insights_kms_key") and \
            have["performance_insights_kms_key"] != want["performance_insights_kms_key"]:
        plan.warnings.append("%s: Performance Insights keeps its KMS key %s (AWS cannot change it once set), not %s"
                             % (label, have["performance_insights_kms_key"], want["performance_insights_kms_key"]))
    if want.get("master_user_secret_kms_key") and have.get("master_user_secret_kms_key") and \
            have["master_user_secret_kms_key"] != want["master_user_secret_kms_key"]:
        plan.warnings.append("%s: the master user secret stays encrypted with %s (set at creation), not %s"
                             % (label, have["master_user_secret_kms_key"], want["master_user_secret_kms_key"]))

    kwargs, texts, window = {}, [], []
    version = compare_version(want["engine_version"], have.get("engine_version"), allow, plan, label)
    if version:
        kwargs["EngineVersion"] = want["engine_version"]
        if version[0] == "major":
            kwargs["AllowMajorVersionUpgrade"] = True
        window.append(version[1])
    for key in ("instance_class", "allocated_storage", "max_allocated_storage", "storage_type", "iops",
                "storage_throughput", "multi_az", "backup_retention", "backup_window", "maintenance_window",
                "copy_tags_to_snapshot", "deletion_protection", "auto_minor_version_upgrade", "publicly_accessible",
                "security_groups", "parameter_group"):
        if key not in want or have.get(key) == want[key]:
            continue
        text = "%s %s -> %s" % (key, show(have.get(key)), show(want[key]))
        if key == "allocated_storage" and have.get(key) is not None and have[key] > want[key]:
            continue  # autoscaling grew it (or it was made larger); RDS cannot shrink storage
        if key == "max_allocated_storage" and have.get(key) is None and have.get("allocated_storage", 0) >= want[key]:
            continue  # autoscaling reached the ceiling: AWS reports no ceiling once allocated equals it
        if key == "instance_class" and not (have["multi_az"] and want["multi_az"]) and "instance_class" not in allow:
            plan.problems.append("%s: instance_class %s -> %s on an instance that is not Multi-AZ takes it offline while"
                                 " the class changes; add instance_class to allow_disruptive to make it"
                                 % (label, have.get(key), want[key]))
            continue
        if key == "storage_type" and have.get(key) in STORAGE_ORDER and \
                STORAGE_ORDER.index(want[key]) < STORAGE_ORDER.index(have[key]) and "storage_type" not in allow:
            plan.problems.append("%s: storage_type %s -> %s is a downgrade (slower storage, hours of storage"
                                 " optimisation, no other storage change for 6 hours); add storage_type to"
                                 " allow_disruptive to make it" % (label, have[key], want[key]))
            continue
        kwargs[MODIFY_ARGS[key]] = want[key]
        if key in WINDOW_SETTINGS or (key == "backup_retention" and not have.get(key)):
            window.append(text)
        else:
            texts.append(text)
    if version and version[0] == "major" and "DBParameterGroupName" not in kwargs and \
            have.get("parameter_group") != want["parameter_group"]:
        kwargs["DBParameterGroupName"] = want["parameter_group"]
    if not have["manage_master_password"]:
        kwargs["ManageMasterUserPassword"] = True
        if p.get("master_user_secret_kms_key_id"):
            kwargs["MasterUserSecretKmsKeyId"] = p["master_user_secret_kms_key_id"]
        window.append("manage_master_password false -> true")
    if "performance_insights" in have:  # see endpoint_gaps
        turn_on = want["performance_insights"] and not have["performance_insights"]
        if want["performance_insights"] != have["performance_insights"]:
            kwargs["EnablePerformanceInsights"] = want["performance_insights"]
            texts.append("performance_insights %s -> %s" % (have["performance_insights"], want["performance_insights"]))
        if want["performance_insights"] and (turn_on or have.get("performance_insights_retention")
                                             != want["performance_insights_retention"]):
            kwargs["EnablePerformanceInsights"] = True
            kwargs["PerformanceInsightsRetentionPeriod"] = want["performance_insights_retention"]
            if turn_on:
                kwargs["PerformanceInsightsKMSKeyId"] = p.get("performance_insights_kms_key_id") or p["kms_key_id"]
            else:
                texts.append("performance_insights_retention %s -> %s" % (have.get("performance_insights_retention"),
                                                                          want["performance_insights_retention"]))
    if have["monitoring_interval"] != want["monitoring_interval"] or \
            (want["monitoring_interval"] and have.get("monitoring_role_arn") != want.get("monitoring_role_arn")):
        kwargs["MonitoringInterval"] = want["monitoring_interval"]
        if want["monitoring_interval"]:
            kwargs["MonitoringRoleArn"] = want["monitoring_role_arn"]
        texts.append("monitoring %ss %s -> %ss %s" % (have["monitoring_interval"], have.get("monitoring_role_arn") or "",
                                                      want["monitoring_interval"], want.get("monitoring_role_arn") or ""))
    enable = sorted(set(want["cloudwatch_logs_exports"]) - set(have["cloudwatch_logs_exports"]))
    disable = sorted(set(have["cloudwatch_logs_exports"]) - set(want["cloudwatch_logs_exports"]))
    if enable or disable:
        kwargs["CloudwatchLogsExportConfiguration"] = {"EnableLogTypes": enable, "DisableLogTypes": disable}
        texts.append("cloudwatch_logs_exports %s -> %s" % (show(have["cloudwatch_logs_exports"]),
                                                           show(want["cloudwatch_logs_exports"])))

    when = "applied now" if p["apply_immediately"] else "at the maintenance window %s" % want["maintenance_window"]
    if kwargs:
        if instance.get("DBInstanceStatus") not in MODIFIABLE:
            plan.problems.append("%s is %s; AWS changes an instance once it is available - wait for it (state=available)"
                                 " and run again" % (label, instance.get("DBInstanceStatus")))
        lines = ["modify %s: %s" % (label, t) for t in texts] + ["modify %s: %s (%s)" % (label, t, when) for t in window]
        plan.call("rds", "modify_db_instance", lines, "Could not modify %s" % label,
                  DBInstanceIdentifier=names["identifier"], ApplyImmediately=p["apply_immediately"], **kwargs)
        if not p["apply_immediately"]:
            pending.extend(window)
    for setting, field in sorted(PENDING_FIELDS.items()):
        value = (instance.get("PendingModifiedValues") or {}).get(field)
        if value is not None and not any(line.startswith(setting + " ") for line in pending):
            pending.append("%s -> %s (waiting for the maintenance window %s)" % (setting, value,
                                                                                 have["maintenance_window"]))
    plan_tags(p, plan, label, instance.get("DBInstanceArn"),
              dict((t["Key"], t["Value"]) for t in instance.get("TagList") or []))
    return pending


def plan_postgres(p, observed):
    """Every step that makes the subnet group, the parameter group and the instance what the task says, in the
    order they can run. Returns the plan and what it learnt: pending modifications and reboot-pending parameters."""
    plan = Plan()
    names = names_of(p)
    keys = observed.get("keys") or {}
    want = desired_settings(p, keys)
    plan.problems.extend(observed.get("catalogue_problems") or [])
    plan.warnings.extend(observed.get("catalogue_warnings") or [])
    plan.warnings.extend(observed.get("key_warnings") or [])
    plan.problems.extend(observed.get("key_problems") or [])
    plan_subnet_group(p, observed, plan, names)
    static_changed = plan_parameter_group(p, observed, plan, names)
    pending = plan_instance(p, observed, plan, names, want, static_changed)
    instance = observed.get("instance")
    reboot = []
    if instance is not None:
        groups = instance.get("DBParameterGroups") or [{}]
        in_use = (groups[0].get("DBParameterGroupName") or "").lower() == names["parameter_group"]
        reboot = sorted(set(static_changed if in_use else []))
        if groups[0].get("ParameterApplyStatus") == "pending-reboot" and not reboot:
            reboot = ["(parameter group %s: pending-reboot)" % groups[0].get("DBParameterGroupName")]
        if want["parameter_group"] != (groups[0].get("DBParameterGroupName") or "").lower():
            reboot = sorted(set(reboot) | set(n for n in wanted_parameters(p) if is_static(n, {})))
    if reboot:
        plan.warnings.append("db instance %s: %s take effect at its next reboot (this module never reboots it; reboot"
                             " it in a quiet hour)" % (names["identifier"], ", ".join(reboot)))
    if p["wait"]:
        plan.add("wait_available", None, identifier=names["identifier"], timeout=p["wait_timeout"])
    return plan, {"pending": pending, "pending_reboot": reboot, "names": names, "want": want}


def diff_view(p, observed, want, names):
    """Compact before/after: the compared instance settings, the subnets and the listed parameters."""
    after = {"instance": dict((k, v) for k, v in want.items()), "subnets": sorted(set(p["subnet_ids"])),
             "parameters": wanted_parameters(p)}
    before = {}
    if observed.get("instance") is not None:
        have = observed_settings(observed["instance"], observed.get("keys") or {})
        before["instance"] = dict((k, have.get(k)) for k in want)
    if observed.get("subnet_group") is not None:
        before["subnets"] = sorted(s["SubnetIdentifier"] for s in observed["subnet_group"].get("Subnets") or [])
    if observed.get("parameter_group") is not None:
        existing = observed.get("parameters") or {}
        before["parameters"] = dict((n, parameter_value(existing[n]["ParameterValue"])) for n in after["parameters"]
                                    if (existing.get(n) or {}).get("ParameterValue") is not None)
    return {"before": before, "after": after}


# ---------------------------------------------------------------------------------------------------------------
# The catalogue (AWS's list of what can be ordered)

def catalogue_check(ask, version, instance_class, storage_type, multi_az, performance_insights, monitoring):
    """(status, problems, warnings) for the class and version, from AWS's catalogue. ``ask(method, **kwargs)`` makes
    one read call and returns its answer (paged calls pass ``Marker``).

    This is the one place a gap of the endpoint is tolerated for the catalogue: AWS lists hundreds of orderable
    PostgreSQL options, so an endpoint that lists none at all (moto 5 implements the call for Aurora and Neptune only,
    and not DescribeDBEngineVersions) has no catalogue; then the class and version are checked for their shape only,
    and the run says so."""
    rows = ask("describe_orderable_db_instance_options", Engine=ENGINE, EngineVersion=version,
               DBInstanceClass=instance_class, Vpc=True).get("OrderableDBInstanceOptions") or []
    if rows:
        problems = []
        types = sorted(set(r.get("StorageType") for r in rows if r.get("StorageType")))
        usable = [r for r in rows if r.get("StorageType") == storage_type]
        if types and not usable:
            problems.append("instance_class %s with PostgreSQL %s does not offer storage_type %s; accepted: %s"
                            % (instance_class, version, storage_type, ", ".join(types)))
        row = (usable or rows)[0]
        if multi_az and row.get("MultiAZCapable") is False:
            problems.append("instance_class %s with PostgreSQL %s cannot be Multi-AZ" % (instance_class, version))
        if performance_insights and row.get("SupportsPerformanceInsights") is False:
            problems.append("instance_class %s with PostgreSQL %s does not support Performance Insights; choose a"
                            " larger class or turn performance_insights off" % (instance_class, version))
        if monitoring and row.get("SupportsEnhancedMonitoring") is False:
            problems.append("instance_class %s with PostgreSQL %s does not support enhanced monitoring"
                            % (instance_class, version))
        return "checked", problems, []
    probe = ask("describe_orderable_db_instance_options", Engine=ENGINE, Vpc=True,
                MaxRecords=20).get("OrderableDBInstanceOptions") or []
    if not probe:
        return "unavailable", [], ["the endpoint lists no orderable PostgreSQL instance options (moto does not"
                                   " implement AWS's catalogue for postgres), so instance_class %s and engine_version"
                                   " %s were checked for their shape only" % (instance_class, version)]
    known = ask("describe_db_engine_versions", Engine=ENGINE, EngineVersion=version).get("DBEngineVersions") or []
    if not known:
        versions, marker = [], None
        while True:
            kwargs = {"Engine": ENGINE}
            if marker:
                kwargs["Marker"] = marker
            page = ask("describe_db_engine_versions", **kwargs)
            versions += [v["EngineVersion"] for v in page.get("DBEngineVersions") or []]
            marker = page.get("Marker")
            if not marker:
                break
        versions = sorted(set(versions), key=version_key)
        return "checked", ["engine_version %s does not exist for PostgreSQL on RDS in this region; accepted: %s"
                           % (version, ", ".join(versions))], []
    classes, marker = set(), None
    while True:
        kwargs = {"Engine": ENGINE, "EngineVersion": version, "Vpc": True, "MaxRecords": 1000}
        if marker:
            kwargs["Marker"] = marker
        page = ask("describe_orderable_db_instance_options", **kwargs)
        classes.update(r["DBInstanceClass"] for r in page.get("OrderableDBInstanceOptions") or [])
        marker = page.get("Marker")
        if not marker:
            break
    return "checked", ["instance_class %s is not offered for PostgreSQL %s in this region; accepted: %s"
                       % (instance_class, version, ", ".join(sorted(classes)))], []


# ---------------------------------------------------------------------------------------------------------------
# Waiting

class WaitFailed(Exception):
    pass


def wait_available(describe, identifier, timeout, interval=15.0, first=2.0, sleep=time.sleep, clock=time.monotonic):
    """Polls ``describe()`` (the instance, or None) until its status is available; returns (instance, statuses seen,
    seconds waited). Raises WaitFailed on a status the instance does not leave by itself or after ``timeout``.
    The pause between reads starts at ``first`` seconds and grows by half up to ``interval``: a modify that is done in
    seconds is not waited on for a quarter of a minute, and a 20-minute create costs a read every 15 s."""
    start = clock()
    seen = []
    pause = first
    while True:
        instance = describe()
        status = instance.get("DBInstanceStatus") if instance else "absent"
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in READY:
            return instance, seen, round(clock() - start, 1)
        if status in FAILED or status == "absent":
            raise WaitFailed("db instance %s is %s (statuses seen: %s); it will not become available by itself"
                             % (identifier, status, " -> ".join(seen)))
        left = timeout - (clock() - start)
        if left <= 0:
            raise WaitFailed("db instance %s is still %s after %d s (statuses seen: %s); run again later with"
                             " state=available (nothing is lost) or raise wait_timeout"
                             % (identifier, status, timeout, " -> ".join(seen)))
        sleep(min(pause, interval, left))
        pause = min(pause * 1.5, interval)


# ---------------------------------------------------------------------------------------------------------------
# Reading (one invocation does every read)

def read_instance(module, rds, identifier):
    answer = aws_read(module, rds, "read db instance %s" % identifier, "describe_db_instances",
                      missing=("DBInstanceNotFound", "DBInstanceNotFoundFault"), DBInstanceIdentifier=identifier)
    return (answer or {}).get("DBInstances", [None])[0] if answer else None


def read_tags(module, rds, what, arn):
    if not arn:
        return {}
    answer = aws_call(module, rds, "read the tags of %s" % what, "list_tags_for_resource", ResourceName=arn)
    return dict((t["Key"], t["Value"]) for t in answer.get("TagList") or [])


def resolve_keys(module, kms, texts, observed_texts):
    """key text -> key ARN for every KMS key the task names or the instance reports, with warnings (check mode: a key
    that does not exist yet) and problems (a real run: it does not exist)."""
    keys, warnings, problems = {}, [], []
    for text in sorted(set(t for t in list(texts) + list(observed_texts) if t)):
        answer = aws_read(module, kms, "describe kms key %s" % text, "describe_key",
                          missing=("NotFoundException",), KeyId=text)
        if answer is not None:
            keys[text] = answer["KeyMetadata"]["Arn"]
        elif text in texts:
            if module.check_mode:
                warnings.append("kms key %s does not exist yet (check mode: an earlier task would make it)" % text)
            else:
                problems.append("kms key %s does not exist in %s; accepted: %s of an existing key"
                                % (text, module.region, KMS_ACCEPTED))
    return keys, warnings, problems


def read_state(module, clients, p, names):
    rds = clients["rds"]
    observed = {"instance": read_instance(module, rds, names["identifier"])}
    group = aws_read(module, rds, "read db subnet group %s" % names["subnet_group"], "describe_db_subnet_groups",
                     missing=("DBSubnetGroupNotFoundFault",), DBSubnetGroupName=names["subnet_group"])
    observed["subnet_group"] = group["DBSubnetGroups"][0] if group and group.get("DBSubnetGroups") else None
    if observed["subnet_group"]:
        observed["subnet_group_tags"] = read_tags(module, rds, "db subnet group %s" % names["subnet_group"],
                                                  observed["subnet_group"].get("DBSubnetGroupArn"))
    group = aws_read(module, rds, "read db parameter group %s" % names["parameter_group"],
                     "describe_db_parameter_groups", missing=("DBParameterGroupNotFound",),
                     DBParameterGroupName=names["parameter_group"])
    observed["parameter_group"] = group["DBParameterGroups"][0] if group and group.get("DBParameterGroups") else None
    if observed["parameter_group"]:
        found = aws_pages(module, rds, "read the parameters of db parameter group %s" % names["parameter_group"],
                          "describe_db_parameters", "Parameters", token="Marker",
                          DBParameterGroupName=names["parameter_group"], Source="user")
        observed["parameters"] = dict((x["ParameterName"], x) for x in found)
        observed["parameter_group_tags"] = read_tags(module, rds, "db parameter group %s" % names["parameter_group"],
                                                     observed["parameter_group"].get("DBParameterGroupArn"))
    instance = observed["instance"] or {}
    texts = [p["kms_key_id"], p.get("performance_insights_kms_key_id"), p.get("master_user_secret_kms_key_id")]
    reported = [instance.get("KmsKeyId"), instance.get("PerformanceInsightsKMSKeyId"),
                (instance.get("MasterUserSecret") or {}).get("KmsKeyId")]
    keys, warnings, problems = resolve_keys(module, clients["kms"], [t for t in texts if t], reported)
    observed.update(keys=keys, key_warnings=warnings, key_problems=problems)

    observed["catalogue"] = "unchanged"
    if not instance or instance.get("DBInstanceClass") != p["instance_class"] or \
            not (instance.get("EngineVersion") == p["engine_version"]
                 or (instance.get("EngineVersion") or "").startswith(p["engine_version"] + ".")):
        def ask(method, **kwargs):
            return aws_call(module, rds, "read AWS's catalogue (%s)" % method, method, **kwargs)
        status, cat_problems, cat_warnings = catalogue_check(
            ask, p["engine_version"], p["instance_class"], p["storage_type"], p["multi_az"], p["performance_insights"],
            bool(p["monitoring_interval"]))
        observed.update(catalogue=status, catalogue_problems=cat_problems, catalogue_warnings=cat_warnings)
    return observed


def outputs(instance, names, plan, real, keys, p, extra):
    instance = instance or {}
    endpoint = instance.get("Endpoint") or {}
    return dict(
        identifier=names["identifier"],
        arn=real(plan.ids.get("arn") or instance.get("DBInstanceArn") or ""),
        status=instance.get("DBInstanceStatus") or "absent",
        endpoint=endpoint.get("Address") or "",
        port=endpoint.get("Port") or instance.get("DbInstancePort") or 5432,
        master_user_secret_arn=(instance.get("MasterUserSecret") or {}).get("SecretArn") or "",
        kms_key_arn=(keys.get(p.get("kms_key_id") or "") or keys.get(instance.get("KmsKeyId") or "")
                     or instance.get("KmsKeyId") or p.get("kms_key_id") or ""),
        parameter_group=names["parameter_group"],
        subnet_group=names["subnet_group"],
        **extra)


def run_available(module, rds, p):
    """state=available: read, then wait (not in check mode); writes nothing."""
    identifier = p["identifier"].lower()
    names = {"identifier": identifier, "subnet_group": "", "parameter_group": ""}
    instance = read_instance(module, rds, identifier)
    waited = {"seconds": 0, "statuses": []}
    if instance is None and module.check_mode:
        module.warn("db instance %s does not exist (check mode: the create was only planned)" % identifier)
    elif instance is None:
        module.fail_json(msg="db instance %s does not exist; run with state=present first" % identifier)
    elif not module.check_mode:
        try:
            instance, seen, seconds = wait_available(lambda: read_instance(module, rds, identifier), identifier,
                                                     p["wait_timeout"])
        except WaitFailed as e:
            module.fail_json(msg=str(e))
        waited = {"seconds": seconds, "statuses": seen}
    if instance:
        groups = instance.get("DBParameterGroups") or [{}]
        names.update(subnet_group=(instance.get("DBSubnetGroup") or {}).get("DBSubnetGroupName", ""),
                     parameter_group=groups[0].get("DBParameterGroupName", ""))
    # AWS reports the key's ARN; an endpoint that reports the key as it was given (moto keeps an alias) is resolved, so
    # kms_key_arn is an ARN either way (IAM policies name keys by ARN)
    stored_key = (instance or {}).get("KmsKeyId") or ""
    keys = {}
    if stored_key and (not stored_key.startswith("arn:") or ":alias/" in stored_key):
        keys = resolve_keys(module, retrying_client(module, "kms"), [], [stored_key])[0]
    plan = Plan()
    reboot = [] if not instance or groups[0].get("ParameterApplyStatus") != "pending-reboot" else [
        "(parameter group %s: pending-reboot)" % groups[0].get("DBParameterGroupName")]
    finish(module, plan, **outputs(instance, names, plan, lambda v: v, keys, p, dict(
        pending=[], pending_reboot=reboot, catalogue="unchanged", waited=waited)))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            identifier=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "available"], default="present"),
            engine_version=dict(type="str"),
            instance_class=dict(type="str"),
            allocated_storage=dict(type="int"),
            max_allocated_storage=dict(type="int"),
            storage_type=dict(type="str", choices=["gp2", "gp3", "io1", "io2", "standard"], default="gp3"),
            iops=dict(type="int"),
            storage_throughput=dict(type="int"),
            multi_az=dict(type="bool", default=True),
            kms_key_id=dict(type="str"),
            master_username=dict(type="str", default="postgres"),
            master_user_secret_kms_key_id=dict(type="str"),
            db_name=dict(type="str"),
            backup_retention=dict(type="int", default=30),
            backup_window=dict(type="str", default="03:00-03:30"),
            maintenance_window=dict(type="str", default="sun:04:00-sun:04:30"),
            copy_tags_to_snapshot=dict(type="bool", default=True),
            deletion_protection=dict(type="bool", default=True),
            auto_minor_version_upgrade=dict(type="bool", default=True),
            performance_insights=dict(type="bool", default=True),
            performance_insights_kms_key_id=dict(type="str"),
            performance_insights_retention=dict(type="int", default=7),
            monitoring_interval=dict(type="int", default=60),
            monitoring_role_arn=dict(type="str"),
            cloudwatch_logs_exports=dict(type="list", elements="str", default=["postgresql", "upgrade"]),
            subnet_ids=dict(type="list", elements="str"),
            subnet_group_name=dict(type="str"),
            vpc_security_group_ids=dict(type="list", elements="str"),
            parameter_group_name=dict(type="str"),
            parameters=dict(type="dict", default={}),
            tags=dict(type="dict", default={}),
            apply_immediately=dict(type="bool", default=False),
            allow_disruptive=dict(type="list", elements="str", default=[],
                                  choices=["engine_major_version", "instance_class", "storage_type"]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=2400),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="rds_postgres %s refused the input: %s (no AWS call was made)"
                             % (p["identifier"], "; ".join(problems)), problems=problems)

    rds = retrying_client(module, "rds")
    if p["state"] == "available":
        run_available(module, rds, p)
        return
    clients = {"rds": rds, "kms": retrying_client(module, "kms")}
    names = names_of(p)
    observed = read_state(module, clients, p, names)
    plan, info = plan_postgres(p, observed)
    refuse(module, "rds_postgres %s" % names["identifier"], plan)

    waited = {"seconds": 0, "statuses": []}

    def wait_step(step, real):
        try:
            instance, seen, seconds = wait_available(lambda: read_instance(module, rds, step["identifier"]),
                                                     step["identifier"], step["timeout"])
        except WaitFailed as e:
            module.fail_json(msg=str(e), actions_done=plan.actions)
        waited.update(seconds=seconds, statuses=seen)
        return instance

    real = apply(module, plan, clients, handlers={"wait_available": wait_step})
    instance = observed["instance"]
    if plan.changed and not module.check_mode:
        instance = read_instance(module, rds, names["identifier"]) or instance
    finish(module, plan, diff=diff_view(p, observed, info["want"], names),
           **outputs(instance, names, plan, real, observed["keys"], p, dict(
               pending=info["pending"], pending_reboot=info["pending_reboot"], catalogue=observed["catalogue"],
               waited=waited)))


if __name__ == "__main__":
    main()
