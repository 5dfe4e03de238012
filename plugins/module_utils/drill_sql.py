# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore drill's SQL half: reaching an RDS endpoint by its own name over verified TLS, the sentinel row, and
what a restored copy is checked for.

Why ``host=<endpoint name> hostaddr=<address>``: libpq then checks the server certificate against the endpoint's
name (sslmode=verify-full) while connecting to an address we resolved ourselves - through the servers the inventory
names (the sandbox's stand-in answers for its endpoint names) or the system resolver (production: RDS endpoint names
resolve publicly to private addresses, so the controller must be inside the VPC or reach it over a VPN).

The comparison of row counts is pure (unit-tested): a restored copy holds the data of its restore point, so the live
database having more rows is expected, fewer is worth a look, a table missing from the copy is a failure when the
inventory requires it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket
import time

try:
    import psycopg
    from psycopg import sql
    HAS_PSYCOPG = True
    PSYCOPG_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module with what to install
    HAS_PSYCOPG = False
    PSYCOPG_IMPORT_ERROR = exc

from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import HAS_DNSPYTHON, make_resolver

SENTINEL_TABLE = "launch_drill"
FATAL_CONNECT_ERRORS = ("certificate", "pg_hba.conf", "does not exist", "ssl error")
SENTINEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
TABLE_NAME = re.compile(r"^([a-z_][a-z0-9_$]*\.)?[a-z_][a-z0-9_$]*$")

CREATE_SENTINEL = ("CREATE TABLE IF NOT EXISTS public.launch_drill ("
                   "id text PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())")
INSERT_SENTINEL = ("INSERT INTO public.launch_drill (id) VALUES (%s) ON CONFLICT (id) DO NOTHING "
                   "RETURNING written_at")
READ_SENTINEL = "SELECT written_at FROM public.launch_drill WHERE id = %s"
TLS_OF_THIS_SESSION = ("SELECT ssl, version, cipher, bits FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
# The largest user tables by their total size (heap, indexes, TOAST); pg_stat's estimate is returned beside the exact
# count, since a copy made from a snapshot keeps no statistics until ANALYZE runs.
LARGEST_TABLES = ("SELECT n.nspname, c.relname, pg_total_relation_size(c.oid), COALESCE(s.n_live_tup, 0) "
                  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
                  "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
                  "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%' "
                  "ORDER BY 3 DESC, 1, 2 LIMIT %s")


def split_table(name):
    schema, dot, table = name.rpartition(".")
    return (schema or "public", table)


def resolve(name, resolvers, timeout=2.0):
    """The endpoint's IPv4/IPv6 address through ``resolvers`` ("ip:port" list) or the system resolver."""
    if resolvers:
        if not HAS_DNSPYTHON:
            raise RuntimeError("dnspython is needed to resolve through restore_drill_resolvers (pip install dnspython)")
        resolver = make_resolver(resolvers, timeout)
        for rtype in ("A", "AAAA"):
            try:
                answer = resolver.resolve(name, rtype)
            except Exception:  # NXDOMAIN, NoAnswer, timeout: try the next type, then report
                continue
            addresses = sorted(r.to_text() for r in answer)
            if addresses:
                return addresses[0]
        raise LookupError("%s does not resolve through %s" % (name, ", ".join(resolvers)))
    try:
        infos = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise LookupError("%s does not resolve through the system resolver (%s)" % (name, exc))
    infos.sort(key=lambda i: 0 if i[0] == socket.AF_INET else 1)
    return infos[0][4][0]


def scrub(text, secret):
    """An error text with the password cut out, whatever the library put in it."""
    text = str(text)
    return text.replace(secret, "********") if secret else text


def connect(endpoint, port, dbname, user, password, ca_file, resolvers, timeout, application="directfanz-restore-drill"):
    """A connection over TLS verified against ``endpoint``'s name, retried until ``timeout`` seconds have passed
    (a new instance's name and listener can lag its "available" status). Returns (connection, address, attempts)."""
    deadline = time.time() + timeout
    attempts, last = 0, None
    while True:
        attempts += 1
        try:
            address = resolve(endpoint, resolvers)
            conn = psycopg.connect(host=endpoint, hostaddr=address, port=int(port), dbname=dbname, user=user,
                                   password=password, sslmode="verify-full", sslrootcert=ca_file,
                                   connect_timeout=10, application_name=application, autocommit=True)
            return conn, address, attempts
        except (LookupError, psycopg.OperationalError) as exc:
            last = scrub(exc, password).strip()
            # a certificate that does not verify, or a server that refuses us, will not change its mind: say so
            if any(text in last.lower() for text in FATAL_CONNECT_ERRORS):
                raise RuntimeError(last)
        if time.time() >= deadline:
            raise RuntimeError("could not connect to %s:%s within %d s (%d attempts): %s"
                               % (endpoint, port, timeout, attempts, last))
        time.sleep(min(2.0, max(0.2, deadline - time.time())))


def write_sentinel(conn, sentinel_id):
    """(written_at, changed): the drill's row, written once."""
    with conn.cursor() as cur:
        cur.execute(CREATE_SENTINEL)
        cur.execute(INSERT_SENTINEL, (sentinel_id,))
        row = cur.fetchone()
        if row is not None:
            return row[0], True
        cur.execute(READ_SENTINEL, (sentinel_id,))
        return cur.fetchone()[0], False


def read_sentinel(conn, sentinel_id):
    with conn.cursor() as cur:
        try:
            cur.execute(READ_SENTINEL, (sentinel_id,))
        except psycopg.errors.UndefinedTable:
            return None
        row = cur.fetchone()
        return row[0] if row else None


def tls_of(conn):
    with conn.cursor() as cur:
        cur.execute(TLS_OF_THIS_SESSION)
        row = cur.fetchone()
    return {"ssl": bool(row[0]), "version": row[1], "cipher": row[2], "bits": row[3]} if row else {"ssl": False}


def largest_tables(conn, limit):
    with conn.cursor() as cur:
        cur.execute(LARGEST_TABLES, (int(limit),))
        return [{"table": "%s.%s" % (r[0], r[1]), "bytes": int(r[2]), "estimated_rows": int(r[3])}
                for r in cur.fetchall()]


def count_rows(conn, tables, statement_timeout):
    """{table: exact row count, or None with the reason in ``errors``}; a table that is missing or not readable is
    reported, not fatal (the master user of RDS is no superuser)."""
    counts, errors = {}, {}
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('statement_timeout', %s, false)", ("%ds" % int(statement_timeout),))
        for name in tables:
            schema, table = split_table(name)
            try:
                cur.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema),
                                                                         sql.Identifier(table)))
                counts[name] = int(cur.fetchone()[0])
            except psycopg.Error as exc:
                counts[name] = None
                errors[name] = (exc.diag.message_primary or str(exc)).strip()
    return counts, errors


def compare_counts(restored, live, restored_errors=None, live_errors=None):
    """One row per table of the restored copy: its count, the live one, and what the difference means."""
    rows = []
    for table in restored:
        row = {"table": table, "restored_rows": restored[table], "live_rows": (live or {}).get(table)}
        if restored[table] is None:
            row["note"] = "not counted in the copy: %s" % (restored_errors or {}).get(table, "unknown error")
        elif live is None:
            row["note"] = "live not compared"
        elif row["live_rows"] is None:
            row["note"] = "not counted live: %s" % (live_errors or {}).get(table, "unknown error")
        else:
            delta = row["live_rows"] - row["restored_rows"]
            row["difference"] = delta
            row["note"] = ("same" if delta == 0 else
                           "live has %d more (written after the restore point)" % delta if delta > 0 else
                           "live has %d fewer (deleted after the restore point)" % -delta)
        rows.append(row)
    return rows


def check_problems(sentinel_id, sentinel_at, tls, required, counts):
    """Why a restored copy fails the drill: no sentinel, no TLS, a required table absent from it."""
    problems = []
    if sentinel_at is None:
        problems.append("the sentinel row %s is not in %s of the restored copy" % (sentinel_id, SENTINEL_TABLE))
    if not tls.get("ssl"):
        problems.append("pg_stat_ssl says this session is not encrypted")
    for table in required:
        if counts.get(table) is None:
            problems.append("required table %s is not in the restored copy (or not readable)" % table)
    return problems
