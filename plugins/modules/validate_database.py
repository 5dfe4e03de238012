#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: validate_database
short_description: The database's average query time from pg_stat_statements, through the pooler (requirement 8.2)
version_added: 0.4.0
description:
  - Connects as the application does - C(DATABASE_URL), through PgBouncer, over TLS - and reads
    C(pg_stat_statements) in the application's database (the launch's parameter group preloads it and the application
    role task creates it). The average is the total execution time over the calls, gate O(threshold_ms).
  - One case (docs/validate.md), suite C(performance), criterion C(8.2); no statement recorded yet is C(not_run).
  - The pooler is inside the VPC - run the phase where it is reachable (an AWX execution node in the VPC, or over a
    VPN); unreachable is a failing case naming the address tried. The sandbox reaches it on loopback.
author: DirectFanz platform team (@directfanz)
options:
  database_url:
    description:
      - The application's C(DATABASE_URL) (C(postgresql://user:password@host:port/db?...)); its Prisma-only parameters
        (C(pgbouncer), C(connection_limit), C(pool_timeout)...) are dropped before connecting.
    type: str
    required: true
  resolvers:
    description: Resolvers for the pooler's name (address or address:port; empty - the system's, as inside the VPC).
    type: list
    elements: str
    default: []
  ca_file:
    description:
      - CA bundle to verify the pooler's certificate against (C(verify-full)); empty - the URL's C(sslmode) (the launch
        writes C(require), since the pooler's certificate is its own, as the app sees it).
    type: str
  threshold_ms:
    description: The average query time the gate allows.
    type: float
    default: 50
  timeout:
    description: Seconds to connect.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Read the average query time through the pooler
  directfanz.launch.validate_database:
    database_url: "{{ database_url }}"
  no_log: true
"""

RETURN = r"""
cases:
  description: The 8.2 case (docs/validate.md).
  returned: always
  type: list
  elements: dict
"""

try:
    from urllib.parse import parse_qsl, unquote, urlsplit
except ImportError:  # pragma: no cover
    pass

try:
    import psycopg
    HAS_PSYCOPG = True
except ImportError:
    HAS_PSYCOPG = False

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.directfanz.launch.plugins.module_utils import validate_net as net
from ansible_collections.directfanz.launch.plugins.module_utils.validate_checks import case, redact

# libpq's own connection parameters that may come in the URL's query; the rest (Prisma's) are dropped
LIBPQ = ("sslmode", "sslrootcert", "application_name", "options", "target_session_attrs")
QUERY = """SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(total_exec_time), 0)::float8, count(*)::int
             FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"""
TITLE = "The database's average query time stays under the gate"


def connection_args(url, address, ca_file, timeout):
    """libpq keywords from the URL: ``host`` stays the name (TLS verifies it), ``hostaddr`` is the resolved address."""
    parts = urlsplit(url)
    query = dict((k, v) for k, v in parse_qsl(parts.query) if k in LIBPQ)
    args = {"host": parts.hostname, "hostaddr": address, "port": parts.port or 5432,
            "user": unquote(parts.username or ""), "password": unquote(parts.password or ""),
            "dbname": unquote(parts.path.lstrip("/")) or "postgres", "connect_timeout": timeout,
            "sslmode": query.pop("sslmode", "require")}
    if ca_file:
        args.update(sslmode="verify-full", sslrootcert=ca_file)
    args.update((k, v) for k, v in query.items() if k != "sslrootcert")
    return args


def main():
    module = AnsibleModule(argument_spec=dict(
        database_url=dict(type="str", required=True, no_log=True),
        resolvers=dict(type="list", elements="str", default=[]),
        ca_file=dict(type="str"),
        threshold_ms=dict(type="float", default=50),
        timeout=dict(type="int", default=10),
    ), supports_check_mode=True)
    p = module.params
    if not HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg"))
    problems = net.resolver_problems(p["resolvers"])
    parts = urlsplit(p["database_url"] or "")
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        problems.append("database_url must be postgresql://user:password@host:port/database (its value is not shown)")
    if p["threshold_ms"] <= 0 or not 1 <= p["timeout"] <= 120:
        problems.append("threshold_ms must be above 0 and timeout 1-120 seconds")
    if problems:
        module.fail_json(msg="validate_database: " + "; ".join(problems) + ". Nothing was called.")
    secrets = [unquote(parts.password or ""), p["database_url"]]
    where = "%s:%s" % (parts.hostname, parts.port or 5432)
    try:
        address = net.NameResolver(p["resolvers"]).first(parts.hostname)
        with psycopg.connect(autocommit=True, prepare_threshold=None,
                             **connection_args(p["database_url"], address, p["ca_file"], p["timeout"])) as conn:
            calls, total, statements = conn.execute(QUERY).fetchone()
            server = conn.info.parameter_status("server_version")
    except (net.ResolutionError, psycopg.Error, OSError) as exc:
        message = "could not read pg_stat_statements through %s: %s (run the validate phase where the pooler is " \
                  "reachable - inside the VPC)" % (where, net.error_text(exc))
        result = case("avg query time", "performance", "8.2", TITLE, "fail", threshold=p["threshold_ms"], unit="ms",
                      message=message, evidence={"pooler": where})
        module.exit_json(changed=False, cases=[redact(result, secrets)])
    evidence = {"pooler": where, "address": address, "calls": calls, "statements": statements,
                "total_ms": round(total, 1), "server_version": server}
    if not calls:
        result = case("avg query time", "performance", "8.2", TITLE, "not_run", threshold=p["threshold_ms"], unit="ms",
                      message="pg_stat_statements has recorded no statement yet", evidence=evidence)
    else:
        average = round(total / calls, 3)
        result = case("avg query time", "performance", "8.2", TITLE,
                      "pass" if average < p["threshold_ms"] else "fail", measured=average,
                      threshold=p["threshold_ms"], unit="ms", evidence=evidence,
                      message="average %.3f ms over %d calls (gate %g ms)" % (average, calls, p["threshold_ms"]))
    module.exit_json(changed=False, cases=[redact(result, secrets)])


if __name__ == "__main__":
    main()
