#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rds_drill_data
short_description: Write the restore drill's sentinel row into a PostgreSQL instance, or check a restored copy
version_added: 0.3.0
description:
  - The restore drill's SQL half (requirement 7.4), over psycopg, as the instance's master user with the password
    RDS manages in Secrets Manager (read inside the module, never returned or logged).
  - It resolves the instance's endpoint name itself (through O(resolvers), or the system resolver) and connects
    with libpq C(host=<endpoint name> hostaddr=<address> sslmode=verify-full) against O(ca_file), so the server's
    certificate is checked against the real endpoint name.
  - O(mode=sentinel) writes one row C((id, written_at)) into the table C(public.launch_drill) (made when absent) of
    the live database; a second run with the same O(sentinel_id) writes nothing.
  - O(mode=check) only reads - the sentinel row, the session's TLS as C(pg_stat_ssl) sees it, and exact row counts
    of the O(largest_tables) largest user tables (and of O(required_tables)), compared with O(compare_instance)
    where given - and fails, with the whole report, when the sentinel is missing, the session is not encrypted or a
    required table is missing.
  - Production - RDS endpoint names resolve publicly to the instance's private addresses, so the controller must run
    inside the VPC (or reach it over a VPN) and be admitted by the instance's security group on its port.
author: DirectFanz platform team (@directfanz)
requirements:
  - psycopg >= 3.1 (psycopg[binary] brings libpq)
  - dnspython when O(resolvers) is not empty
options:
  instance:
    description: Identifier of the DB instance to connect to.
    type: str
    required: true
  mode:
    description: C(sentinel) writes the sentinel row; C(check) reads and checks (never writes).
    type: str
    choices: [sentinel, check]
    required: true
  sentinel_id:
    description: The sentinel row's id (the drill's name); letters, digits, C(.), C(_), C(:), C(-), at most 128.
    type: str
    required: true
  database:
    description: Database to connect to; the instance's C(DBName) (or C(postgres)) when not given.
    type: str
  ca_file:
    description: PEM file of the CA bundle the server certificate must chain to (RDS's regional bundle).
    type: path
    required: true
  resolvers:
    description: DNS servers (C(ip) or C(ip:port)) that resolve the endpoint name; empty - the system resolver.
    type: list
    elements: str
    default: []
  connect_timeout:
    description: Seconds to keep trying to resolve and connect (a new instance can lag its C(available) status).
    type: int
    default: 300
  largest_tables:
    description: How many of the largest user tables to count (0 - none).
    type: int
    default: 5
  required_tables:
    description: Tables (C(schema.table) or C(table) in C(public)) that must be in the restored copy.
    type: list
    elements: str
    default: []
  compare_instance:
    description: With O(mode=check), a DB instance (the live one) whose counts of the same tables are reported beside.
    type: str
  statement_timeout:
    description: Seconds each count may run.
    type: int
    default: 300
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: O(mode=sentinel) connects and reads whether the row is there, and writes nothing; O(mode=check)
      only reads and runs as usual.
  diff_mode:
    support: none
    description: Nothing it writes has a before and after worth showing (one sentinel row, reported in RV(actions)).
"""

EXAMPLES = r"""
- name: Write the sentinel row into the live database
  directfanz.launch.rds_drill_data:
    instance: directfanz-production-db
    mode: sentinel
    sentinel_id: directfanz-production-db-drill-20261201154415
    ca_file: files/rds-ca-bundle.pem

- name: Check the restored copy
  directfanz.launch.rds_drill_data:
    instance: directfanz-production-db-drill-20261201154415
    mode: check
    sentinel_id: directfanz-production-db-drill-20261201154415
    ca_file: files/rds-ca-bundle.pem
    compare_instance: directfanz-production-db
    required_tables: [users, payments]
"""

RETURN = r"""
actions:
  description: What was done (in check mode, what would be done).
  returned: always
  type: list
  elements: str
endpoint:
  description: The endpoint name connected to, its resolved address and port.
  returned: always
  type: dict
written_at:
  description: The sentinel row's C(written_at) (ISO 8601) - written now, or found (null in check mode before it is written).
  returned: when mode=sentinel
  type: str
sentinel:
  description: With O(mode=check), C({id, found, written_at}).
  returned: when mode=check
  type: dict
tls:
  description: The session's C(pg_stat_ssl) row - C(ssl), C(version), C(cipher), C(bits).
  returned: when a connection was made
  type: dict
tables:
  description:
    - With O(mode=check), one row per counted table - C(table), C(restored_rows), C(live_rows), C(difference),
      C(note) - the largest first, then the required ones.
  returned: when mode=check
  type: list
  elements: dict
largest:
  description: The largest tables of the copy with their total size in bytes and pg_stat's row estimate.
  returned: when mode=check
  type: list
  elements: dict
t2:
  description: Epoch seconds when the checks were done.
  returned: when mode=check
  type: float
problems:
  description: Why the copy failed its check (the module then fails).
  returned: when mode=check
  type: list
  elements: str
"""

import json
import os
import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils import drill_sql
from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import parse_server
from ansible_collections.directfanz.launch.plugins.module_utils.plan import (
    Plan, apply, aws_call, aws_read, finish, refuse, retrying_client)


def input_problems(p):
    problems = []
    if not drill_sql.SENTINEL_ID.match(p["sentinel_id"] or ""):
        problems.append("sentinel_id %r is not accepted; accepted: 1-128 letters, digits, '.', '_', ':', '-'"
                        % p["sentinel_id"])
    if not p["ca_file"] or not os.path.isfile(p["ca_file"]):
        problems.append("ca_file %r is not a file; accepted: the PEM CA bundle of RDS's region (sandbox: the"
                        " sandbox CA)" % p["ca_file"])
    else:
        with open(p["ca_file"], "rb") as handle:
            if b"-----BEGIN CERTIFICATE-----" not in handle.read():
                problems.append("ca_file %s holds no PEM certificate" % p["ca_file"])
    for server in p["resolvers"]:
        try:
            parse_server(server)
        except ValueError as exc:
            problems.append("resolvers: %s" % exc)
    for key, low, high in (("connect_timeout", 1, 7200), ("largest_tables", 0, 100), ("statement_timeout", 1, 86400)):
        if not low <= p[key] <= high:
            problems.append("%s %s is out of range; accepted: %d-%d" % (key, p[key], low, high))
    for table in p["required_tables"]:
        if not drill_sql.TABLE_NAME.match(table):
            problems.append("required table %r is not accepted; accepted: table or schema.table in lower case" % table)
    if p["mode"] == "sentinel" and (p["required_tables"] or p["compare_instance"]):
        problems.append("required_tables and compare_instance apply to mode=check only")
    return problems


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            instance=dict(type="str", required=True),
            mode=dict(type="str", choices=["sentinel", "check"], required=True),
            sentinel_id=dict(type="str", required=True),
            database=dict(type="str"),
            ca_file=dict(type="path", required=True),
            resolvers=dict(type="list", elements="str", default=[]),
            connect_timeout=dict(type="int", default=300),
            largest_tables=dict(type="int", default=5),
            required_tables=dict(type="list", elements="str", default=[]),
            compare_instance=dict(type="str"),
            statement_timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if not drill_sql.HAS_PSYCOPG:
        problems.append("psycopg is not installed for %s (pip install 'psycopg[binary]'): %s"
                        % (module._name, drill_sql.PSYCOPG_IMPORT_ERROR))
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="rds_drill_data refused the input: %s" % "; ".join(problems), problems=problems)

    rds = retrying_client(module, "rds")
    secrets = retrying_client(module, "secretsmanager")

    def target(identifier):
        answer = aws_read(module, rds, "describe DB instance %s" % identifier, "describe_db_instances",
                          missing=("DBInstanceNotFound", "DBInstanceNotFoundFault"), DBInstanceIdentifier=identifier)
        found = (answer or {}).get("DBInstances") or []
        if not found:
            module.fail_json(msg="no DB instance %s (nothing was written)" % identifier)
        instance = found[0]
        endpoint = instance.get("Endpoint") or {}
        secret_arn = (instance.get("MasterUserSecret") or {}).get("SecretArn")
        if not endpoint.get("Address"):
            module.fail_json(msg="DB instance %s has no endpoint yet (status %s); wait until it is available"
                             % (identifier, instance.get("DBInstanceStatus")))
        if not secret_arn:
            module.fail_json(msg="DB instance %s has no master password managed by RDS in Secrets Manager; the drill"
                             " connects only with that secret" % identifier)
        return {"identifier": identifier, "address": endpoint["Address"], "port": endpoint.get("Port") or 5432,
                "user": instance["MasterUsername"], "secret_arn": secret_arn,
                "database": p["database"] or instance.get("DBName") or "postgres"}

    def password_of(info):
        value = aws_call(module, secrets, "read the master secret of DB instance %s" % info["identifier"],
                         "get_secret_value", SecretId=info["secret_arn"])
        try:
            password = json.loads(value["SecretString"])["password"]
        except (KeyError, TypeError, ValueError):
            module.fail_json(msg="the master secret of DB instance %s holds no JSON password" % info["identifier"])
        module.no_log_values.add(password)
        return password

    def open_connection(info):
        password = password_of(info)
        try:
            conn, address, attempts = drill_sql.connect(info["address"], info["port"], info["database"], info["user"],
                                                        password, p["ca_file"], p["resolvers"], p["connect_timeout"])
        except RuntimeError as exc:
            module.fail_json(msg="could not reach DB instance %s over verified TLS: %s"
                             % (info["identifier"], drill_sql.scrub(exc, password)))
        return conn, {"name": info["address"], "address": address, "port": info["port"], "attempts": attempts}

    info = target(p["instance"])
    plan = Plan()
    if p["mode"] == "sentinel":
        conn, endpoint = open_connection(info)
        written = {}

        def write(step, real):
            written["at"], dummy = drill_sql.write_sentinel(conn, p["sentinel_id"])
        try:
            tls = drill_sql.tls_of(conn)
            written["at"] = drill_sql.read_sentinel(conn, p["sentinel_id"])
            if written["at"] is None:
                plan.add("write_sentinel", "write sentinel row %s into %s of %s" % (
                    p["sentinel_id"], drill_sql.SENTINEL_TABLE, p["instance"]))
            refuse(module, "rds_drill_data %s" % p["instance"], plan)
            apply(module, plan, handlers={"write_sentinel": write})
        finally:
            conn.close()
        finish(module, plan, sentinel_id=p["sentinel_id"], endpoint=endpoint, tls=tls,
               written_at=written["at"].isoformat() if written["at"] else None)

    conn, endpoint = open_connection(info)
    try:
        tls = drill_sql.tls_of(conn)
        sentinel_at = drill_sql.read_sentinel(conn, p["sentinel_id"])
        largest = drill_sql.largest_tables(conn, p["largest_tables"]) if p["largest_tables"] else []
        names = [t["table"] for t in largest]
        names += [t if "." in t else "public." + t for t in p["required_tables"]
                  if (t if "." in t else "public." + t) not in names]
        counts, errors = drill_sql.count_rows(conn, names, p["statement_timeout"])
    finally:
        conn.close()
    t2 = time.time()
    live, live_errors = None, None
    if p["compare_instance"]:
        live_conn, dummy = open_connection(target(p["compare_instance"]))
        try:
            live, live_errors = drill_sql.count_rows(live_conn, names, p["statement_timeout"])
        finally:
            live_conn.close()
    required = [t if "." in t else "public." + t for t in p["required_tables"]]
    problems = drill_sql.check_problems(p["sentinel_id"], sentinel_at, tls, required, counts)
    report = dict(endpoint=endpoint, tls=tls, t2=t2, largest=largest, problems=problems,
                  sentinel={"id": p["sentinel_id"], "found": sentinel_at is not None,
                            "written_at": sentinel_at.isoformat() if sentinel_at else None},
                  tables=drill_sql.compare_counts(counts, live, errors, live_errors))
    if problems:
        module.fail_json(msg="the restored copy %s failed its check: %s" % (p["instance"], "; ".join(problems)),
                         changed=False, actions=[], **report)
    finish(module, plan, **report)


if __name__ == "__main__":
    main()
