# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data phase's pure shaping: PgBouncer pool arithmetic, its pgbouncer.ini and auth file, the SCRAM verifier.

Production and the tests render the pooler's configuration through these same functions; only the inputs
(endpoints, ports, paths) differ. Nothing here does I/O, so every number and every line is unit-testable,
and the real-PgBouncer tests (tests/integration/test_pgbouncer.py) run exactly the text rendered here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.directfanz.launch.plugins.module_utils import kms_policy, scram

DOCUMENTATION = r"""
name: pgbouncer_pools
short_description: Size PgBouncer's pools from the RDS instance class and the services' task counts
version_added: 0.5.0
description:
  - Estimates RDS PostgreSQL's default C(max_connections) (C(LEAST(DBInstanceClassMemory/9531392, 5000))) for
    the instance class, subtracts the connections kept for others, divides the rest among the pooler tasks that
    can run at once (a deployment at 200% doubles them) and bounds each pool by what the clients can use.
  - Returns the numbers and the arithmetic as text lines; fails when the arithmetic cannot fit.
options:
  _input:
    description: >-
      Sizing settings - instance_class, max_connections (0 = estimate from the class), reserved (name ->
      connections), pooler_tasks, pooler_deployment_max_percent, client_services (name -> {max_tasks}),
      client_connections_per_task, client_deployment_max_percent, reserve_fraction, min_pool_size,
      admin_client_margin, file_descriptor_limit.
    type: dict
    required: true
"""

# Nominal memory (GiB) of the RDS instance classes PostgreSQL 16 runs on that the launch may choose.
# Sizes follow the family's pattern: burstable t3/t4g 1..32 GiB, general purpose m* 4 GiB per vCPU,
# memory optimised r* 8 GiB per vCPU (large = 2 vCPU).
_SIZES_GENERAL = {"large": 8, "xlarge": 16, "2xlarge": 32, "4xlarge": 64, "8xlarge": 128, "12xlarge": 192,
                  "16xlarge": 256}
_SIZES_MEMORY = dict((size, gib * 2) for size, gib in _SIZES_GENERAL.items())
_SIZES_BURSTABLE = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}


def _family(sizes, extra=None):
    table = dict(sizes)
    table.update(extra or {})
    return table


INSTANCE_MEMORY_GIB = {}
for _name, _sizes in (
        ("t3", _SIZES_BURSTABLE), ("t4g", _SIZES_BURSTABLE),
        ("m5", _family(_SIZES_GENERAL, {"24xlarge": 384})),
        ("m6g", _SIZES_GENERAL), ("m7g", _SIZES_GENERAL),
        ("m6i", _family(_SIZES_GENERAL, {"24xlarge": 384, "32xlarge": 512})),
        ("r5", _family(_SIZES_MEMORY, {"24xlarge": 768})),
        ("r6g", _SIZES_MEMORY), ("r7g", _SIZES_MEMORY),
        ("r6i", _family(_SIZES_MEMORY, {"24xlarge": 768, "32xlarge": 1024}))):
    for _size, _gib in _sizes.items():
        INSTANCE_MEMORY_GIB["db.%s.%s" % (_name, _size)] = _gib

GIB = 1024 ** 3
MIB = 1024 ** 2
# DBInstanceClassMemory is the class's memory less what the OS and RDS's own processes keep. AWS does not
# publish it; published `SHOW max_connections` readings (t2.small 198, t2.medium 413, t2.large/m4.large 856,
# r4.large 1660, t3.micro about 81) put it 12% below nominal at 2 GiB and 3.4% below at 15.25 GiB. We model it
# as 98% of nominal less 300 MiB, which lands 1-5% BELOW every reading and never above it: an estimate that
# errs low leaves connections unused, one that errs high would let the pooler ask for connections RDS refuses.
# The parameter group's explicit max_connections, when the launch sets one, replaces the estimate.
CLASS_MEMORY_FRACTION = 0.98
CLASS_MEMORY_OVERHEAD = 300 * MIB
MAX_CONNECTIONS_DIVISOR = 9531392
MAX_CONNECTIONS_CAP = 5000

DEFAULT_RESERVED = {
    # RDS's default: slots only superusers (RDS's own rdsadmin) may use, counted inside max_connections
    "superuser_reserved_connections": 3,
    # rdsadmin's monitoring sessions outside the reserved slots (our assumption; RDS does not document a figure)
    "rdsadmin": 2,
    # the one-off ECS task that runs migrations and the app-role SQL, straight to RDS (not through the pooler)
    "migrations": 4,
    # a metrics agent or exporter that connects directly
    "monitoring": 2,
    # people with psql on the master user during an incident
    "operators": 3,
}

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
_LISTEN = re.compile(r"^(\*|[0-9.]+|[0-9a-fA-F:]+)\Z")
_PATH = re.compile(r"^/[A-Za-z0-9_./-]*\Z")
_VERSION = re.compile(r"^(\d+)\.(\d+)(\.\d+)?\Z")
_SCRAM = scram.VERIFIER


def _fail(message):
    raise AnsibleFilterError(message)


def _int(settings, key, default, minimum=0):
    value = settings.get(key, default)
    if value is None:
        value = default
    try:
        number = int(value)
    except (TypeError, ValueError):
        _fail("%s must be a whole number, got %r" % (key, value))
    if number < minimum:
        _fail("%s must be at least %d, got %d" % (key, minimum, number))
    return number


def rds_instance_memory_gib(instance_class):
    """Nominal memory of an RDS instance class; unknown classes are refused with the known ones listed."""
    if instance_class not in INSTANCE_MEMORY_GIB:
        families = sorted(set(name.split(".")[1] for name in INSTANCE_MEMORY_GIB))
        _fail("unknown RDS instance class %r: known classes are db.<family>.<size> with family one of %s (for "
              "example db.t4g.medium, db.m7g.large, db.r7g.xlarge); for another class set max_connections "
              "explicitly" % (instance_class, ", ".join(families)))
    return INSTANCE_MEMORY_GIB[instance_class]


def default_max_connections(instance_class):
    """RDS PostgreSQL's default max_connections for an instance class: LEAST(DBInstanceClassMemory/9531392, 5000),
    estimated from the class's memory (an unknown class is refused, naming the known families)."""
    return rds_default_max_connections(instance_class)[0]


def rds_default_max_connections(instance_class):
    """(max_connections, lines): RDS PostgreSQL's default LEAST(DBInstanceClassMemory/9531392, 5000), estimated."""
    gib = rds_instance_memory_gib(instance_class)
    nominal = gib * GIB
    class_memory = int(nominal * CLASS_MEMORY_FRACTION) - CLASS_MEMORY_OVERHEAD
    value = min(class_memory // MAX_CONNECTIONS_DIVISOR, MAX_CONNECTIONS_CAP)
    lines = [
        "instance class %s: %d GiB nominal; DBInstanceClassMemory estimated as %.2f x %d - %d = %d bytes"
        % (instance_class, gib, CLASS_MEMORY_FRACTION, nominal, CLASS_MEMORY_OVERHEAD, class_memory),
        "max_connections = LEAST(%d / %d, %d) = %d (RDS default, estimated)"
        % (class_memory, MAX_CONNECTIONS_DIVISOR, MAX_CONNECTIONS_CAP, value),
    ]
    return value, lines


def pgbouncer_pools(settings):
    """Pool sizes per pooler task, and the arithmetic that led to them, or a refusal that says what does not fit.

    Why the peak counts: ECS replaces pooler tasks by starting the new ones before stopping the old ones
    (maximum percent 200), so for a while twice the tasks hold server connections; sizing for the steady count
    would exhaust max_connections during every deployment. Every pooler task must also accept every client:
    when one zone's task dies, all clients reconnect to the other.
    """
    if not isinstance(settings, dict):
        _fail("pgbouncer_pools expects a dict of sizing settings, got %s" % type(settings).__name__)
    lines = []
    explicit = _int(settings, "max_connections", 0)
    if explicit:
        max_connections = explicit
        lines.append("max_connections = %d (set explicitly in the parameter group)" % explicit)
    else:
        instance_class = settings.get("instance_class")
        if not instance_class:
            _fail("pgbouncer_pools needs instance_class (for example db.t4g.medium) or an explicit max_connections")
        max_connections, class_lines = rds_default_max_connections(str(instance_class))
        lines.extend(class_lines)

    reserved = settings.get("reserved")
    if reserved is None:
        reserved = DEFAULT_RESERVED
    if not isinstance(reserved, dict):
        _fail("reserved must map a purpose to a number of connections, got %r" % (reserved,))
    reserved = dict((str(k), _int(reserved, k, 0)) for k in reserved)
    reserved_total = sum(reserved.values())
    lines.append("reserved: %s = %d" % (" + ".join("%s %d" % kv for kv in sorted(reserved.items())) or "none",
                                        reserved_total))
    available = max_connections - reserved_total
    lines.append("left for the pooler: %d - %d = %d" % (max_connections, reserved_total, available))
    if available <= 0:
        _fail("the reserved connections (%d) use all of max_connections (%d): choose a larger instance class, raise "
              "max_connections or reserve less" % (reserved_total, max_connections))

    tasks = _int(settings, "pooler_tasks", 2, minimum=1)
    percent = _int(settings, "pooler_deployment_max_percent", 200, minimum=100)
    peak_tasks = -(-tasks * percent // 100)
    lines.append("pooler tasks at once: %d running, up to %d%% during a deployment = %d" % (tasks, percent, peak_tasks))
    per_task = available // peak_tasks
    lines.append("server connections per pooler task: floor(%d / %d) = %d" % (available, peak_tasks, per_task))

    services = settings.get("client_services") or {}
    if not isinstance(services, dict) or not services:
        _fail("client_services must name the services that connect through the pooler with their max_tasks "
              "(the top of their auto-scaling range), for example {web: {max_tasks: 10}}")
    per_client_task = _int(settings, "client_connections_per_task", 10, minimum=1)
    client_terms = []
    clients = 0
    for name in sorted(services):
        spec = services[name]
        if not isinstance(spec, dict):
            _fail("client_services.%s must be a dict with max_tasks, got %r" % (name, spec))
        max_tasks = _int(spec, "max_tasks", 0, minimum=1)
        connections = _int(spec, "connections_per_task", per_client_task, minimum=1)
        clients += max_tasks * connections
        client_terms.append("%s %d x %d" % (name, max_tasks, connections))
    client_percent = _int(settings, "client_deployment_max_percent", 200, minimum=100)
    clients_peak = -(-clients * client_percent // 100)
    lines.append("client connections: %s = %d; up to %d%% while they deploy = %d"
                 % (" + ".join(client_terms), clients, client_percent, clients_peak))

    cap = min(per_task, clients_peak)
    if cap < per_task:
        lines.append("server connections a pooler task may open: min(%d, %d clients) = %d (no more than the clients "
                     "can use)" % (per_task, clients_peak, cap))
    fraction = float(settings.get("reserve_fraction", 0.2))
    if not 0 <= fraction < 1:
        _fail("reserve_fraction must be at least 0 and below 1, got %r" % fraction)
    reserve = max(1, int(cap * fraction)) if fraction else 0
    default_pool = cap - reserve
    lines.append("default_pool_size = %d - reserve_pool_size %d = %d; max_db_connections = %d"
                 % (cap, reserve, default_pool, cap))
    min_pool = _int(settings, "min_pool_size", 5, minimum=1)
    if default_pool < min_pool:
        _fail("the pools do not fit: %d connections left for the pooler over %d pooler tasks at a deployment's peak "
              "give %d per task, %d after the reserve - below the minimum pool of %d. Choose a larger instance "
              "class, set max_connections, reserve less, or lower pooler_deployment_max_percent"
              % (available, peak_tasks, per_task, default_pool, min_pool))

    margin = _int(settings, "admin_client_margin", 10)
    max_client_conn = clients_peak + margin
    lines.append("max_client_conn = %d clients + %d for the stats console and health checks = %d (each pooler task "
                 "must take every client when the other zone's task is gone)" % (clients_peak, margin, max_client_conn))
    fd_limit = _int(settings, "file_descriptor_limit", 65535, minimum=64)
    fds = max_client_conn + cap + 32
    lines.append("file descriptors: %d clients + %d servers + 32 = %d of the task's nofile limit %d"
                 % (max_client_conn, cap, fds, fd_limit))
    if fds > fd_limit:
        _fail("max_client_conn %d and %d server connections need %d file descriptors, above the task's nofile limit "
              "%d: raise the task definition's nofile ulimit (file_descriptor_limit) or lower the clients"
              % (max_client_conn, cap, fds, fd_limit))
    role_limit = cap * peak_tasks
    lines.append("app role CONNECTION LIMIT = %d per task x %d tasks = %d (PostgreSQL itself holds the pooler to "
                 "its share)" % (cap, peak_tasks, role_limit))
    return {
        "max_connections": max_connections,
        "reserved": reserved_total,
        "available": available,
        "peak_pooler_tasks": peak_tasks,
        "max_db_connections": cap,
        "default_pool_size": default_pool,
        "reserve_pool_size": reserve,
        "max_client_conn": max_client_conn,
        "client_connections": clients_peak,
        "client_connections_per_task": per_client_task,
        "app_role_connection_limit": role_limit,
        "lines": lines,
    }


def scram_sha256_verifier(password, salt, iterations=4096):
    """PostgreSQL's stored SCRAM-SHA-256 secret for a password (module_utils/scram.py computes it; the module
    secrets_manager uses the same code for the pooler's auth-file secret)."""
    try:
        return scram.verifier(password, salt, iterations)
    except ValueError as err:
        _fail(str(err))


def _verifier_of(user):
    if user.get("scram_verifier"):
        verifier = str(user["scram_verifier"])
        if not _SCRAM.match(verifier):
            _fail("the SCRAM verifier for %s is not of the form SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:"
                  "<ServerKey>" % user.get("name"))
        return verifier
    if not user.get("password") or not user.get("scram_salt"):
        _fail("auth file user %s needs password and scram_salt (or a precomputed scram_verifier)" % user.get("name"))
    return scram_sha256_verifier(user["password"], user["scram_salt"], user.get("scram_iterations", 4096))


def pgbouncer_userlist(users):
    """The auth file: one `"name" "SCRAM-SHA-256$..."` line per user - verifiers only, never a password.

    There is no auth_user/auth_query: measured on PgBouncer 1.18, when auth_user's own entry is a SCRAM secret
    clients hang until query_wait_timeout. With every login checked against this file and passed through to
    PostgreSQL with the same verifier, no PgBouncer-side database credential exists at all.
    """
    if not isinstance(users, list) or not users:
        _fail("pgbouncer_userlist expects a non-empty list of {name, password, scram_salt} or {name, scram_verifier}")
    lines = []
    seen = set()
    for user in users:
        name = str(user.get("name", ""))
        if not _NAME.match(name):
            _fail("auth file user name %r must be lower-case letters, digits and _ (max 63, not starting with a "
                  "digit)" % name)
        if name in seen:
            _fail("auth file user %s is listed twice" % name)
        seen.add(name)
        lines.append('"%s" "%s"' % (name, _verifier_of(user)))
    return "\n".join(lines) + "\n"


def _version_tuple(version):
    match = _VERSION.match(str(version))
    if not match:
        _fail("pgbouncer_version must look like 1.18 or 1.24.1, got %r" % (version,))
    return int(match.group(1)), int(match.group(2))


def _bool(value):
    return "1" if value in (True, 1, "1", "true", "yes", "on") else "0"


def pgbouncer_ini(settings, pools):
    """pgbouncer.ini text for the pooler: transaction pooling, SCRAM, TLS on both sides, the computed pools.

    settings carries what differs between production and the tests (listen address and port, the RDS host,
    port and database, config_dir where the start script writes the auth file, the CA bundle and the client TLS
    pair) plus timeouts; pools is pgbouncer_pools' result. Keys whose meaning changed across versions are not
    used, so the same text runs on Debian's 1.18 in the tests and on the production image's newer release.
    """
    if not isinstance(settings, dict) or not isinstance(pools, dict):
        _fail("pgbouncer_ini expects (settings dict, pools dict)")
    for key in ("server_host", "database"):
        if not settings.get(key):
            _fail("pgbouncer_ini needs %s" % key)
    host = str(settings["server_host"])
    if not _HOST.match(host):
        _fail("server_host %r must be a DNS name or IPv4 address" % host)
    database = str(settings["database"])
    if not _NAME.match(database):
        _fail("database %r must be lower-case letters, digits and _" % database)
    server_database = str(settings.get("server_database") or database)
    if not _NAME.match(server_database):
        _fail("server_database %r must be lower-case letters, digits and _" % server_database)
    listen_addr = str(settings.get("listen_addr", "0.0.0.0"))
    if not _LISTEN.match(listen_addr):
        _fail("listen_addr %r must be *, an IPv4 or an IPv6 address" % listen_addr)
    config_dir = str(settings.get("config_dir", "/run/pgbouncer"))
    if not _PATH.match(config_dir) or config_dir.endswith("/"):
        _fail("config_dir %r must be an absolute path without a trailing / (letters, digits, _ . - /)" % config_dir)
    version = _version_tuple(settings.get("pgbouncer_version", "1.18"))
    prepared = _int(settings, "max_prepared_statements", 0)
    if prepared and version < (1, 21):
        _fail("max_prepared_statements needs PgBouncer 1.21 or later (pgbouncer_version is %s); keep it 0 and "
              "have clients use unnamed statements (Prisma pgbouncer=true, psycopg prepare_threshold=None)"
              % settings.get("pgbouncer_version"))
    stats_users = [str(u) for u in settings.get("stats_users") or []]
    for user in stats_users:
        if not _NAME.match(user):
            _fail("stats user %r must be lower-case letters, digits and _" % user)
    ignore = [str(p) for p in settings.get("ignore_startup_parameters", ["extra_float_digits"])]
    for param in ignore:
        if not _NAME.match(param):
            _fail("ignore_startup_parameters entry %r is not a parameter name" % param)
    for key in ("default_pool_size", "reserve_pool_size", "max_db_connections", "max_client_conn"):
        if key not in pools:
            _fail("pools lacks %s: pass the result of pgbouncer_pools" % key)

    def path(name):
        return "%s/%s" % (config_dir, name)

    out = [
        "; Rendered by directfanz.launch (filter pgbouncer_ini) - the text production runs and the tests run.",
        "; Pools: see the role's arithmetic (rds_pgbouncer_pools.lines).",
        "[databases]",
        # no user/password: each login is the client's own, passed through to PostgreSQL with SCRAM
        "%s = host=%s port=%d dbname=%s" % (database, host, _int(settings, "server_port", 5432, 1), server_database),
        "",
        "[pgbouncer]",
        "listen_addr = %s" % listen_addr,
        "listen_port = %d" % _int(settings, "listen_port", 6432, 1),
        # TCP only: a read-only root filesystem has no socket directory, and nothing local needs one
        "unix_socket_dir =",
        "pidfile =",
        "logfile =",
        "syslog = 0",
        "",
        "auth_type = scram-sha-256",
        "auth_file = %s" % path("userlist.txt"),
        "admin_users =",
        "stats_users = %s" % ", ".join(stats_users),
        "",
        "pool_mode = transaction",
        # server_reset_query is not sent in transaction mode; clients must not leave session state behind
        "server_reset_query =",
        "max_client_conn = %d" % int(pools["max_client_conn"]),
        "default_pool_size = %d" % int(pools["default_pool_size"]),
        "min_pool_size = 0",
        "reserve_pool_size = %d" % int(pools["reserve_pool_size"]),
        "reserve_pool_timeout = %d" % _int(settings, "reserve_pool_timeout", 3),
        "max_db_connections = %d" % int(pools["max_db_connections"]),
        "max_user_connections = %d" % int(pools["max_db_connections"]),
        "ignore_startup_parameters = %s" % ",".join(ignore),
    ]
    if prepared:
        out.append("max_prepared_statements = %d" % prepared)
    out += [
        "",
        "server_tls_sslmode = verify-full",
        "server_tls_ca_file = %s" % path("server-ca.pem"),
        "server_tls_protocols = tlsv1.2,tlsv1.3",
        "client_tls_sslmode = require",
        "client_tls_key_file = %s" % path("client-tls.key"),
        "client_tls_cert_file = %s" % path("client-tls.crt"),
        "client_tls_protocols = tlsv1.2,tlsv1.3",
        "",
        "query_wait_timeout = %d" % _int(settings, "query_wait_timeout", 30),
        "server_connect_timeout = %d" % _int(settings, "server_connect_timeout", 15, 1),
        "server_login_retry = %d" % _int(settings, "server_login_retry", 15),
        "server_idle_timeout = %d" % _int(settings, "server_idle_timeout", 600),
        "server_lifetime = %d" % _int(settings, "server_lifetime", 3600),
        "idle_transaction_timeout = %d" % _int(settings, "idle_transaction_timeout", 0),
        "client_login_timeout = %d" % _int(settings, "client_login_timeout", 60),
        # a Multi-AZ failover moves the RDS endpoint's DNS name: do not trust a resolved address for long
        "dns_max_ttl = %d" % _int(settings, "dns_max_ttl", 5),
        "tcp_keepalive = 1",
        "",
        "log_connections = %s" % _bool(settings.get("log_connections", False)),
        "log_disconnections = %s" % _bool(settings.get("log_disconnections", False)),
        "log_pooler_errors = 1",
        "stats_period = %d" % _int(settings, "stats_period", 60, 1),
        "application_name_add_host = 0",
    ]
    return "\n".join(out) + "\n"


def pgbouncer_auth_template(app_user):
    """The pooler's auth-file secret as a secrets_manager template: JSON with ``userlist`` (the auth file, one line
    for the application role) and ``verifier`` (that role's SCRAM secret, which its one-off task sets as the role's
    password), both from the placeholder ``${verifier}`` that secrets_manager fills with the SCRAM verifier of the
    generated password. One verifier in both places is what lets PgBouncer pass the client's login through."""
    user = str(app_user or "")
    if not _NAME.match(user):
        _fail("the auth file's user %r must be lower-case letters, digits and _ (max 63, not starting with a digit)"
              % user)
    return json.dumps({"userlist": '"%s" "${verifier}"\n' % user, "verifier": "${verifier}"}, sort_keys=True)


def data_key_policy(account, region, partition="aws"):
    """The data key's policy (module_utils/kms_policy.py): administration by name, use only through RDS,
    ElastiCache, Secrets Manager and S3 in the key's region - instead of KMS's default ``kms:*`` for the account."""
    account = str(account or "")
    if not re.match(r"^[0-9]{12}$", account):
        raise AnsibleFilterError("data_key_policy needs the 12-digit AWS account id, got %r (preflight reads it with"
                                 " STS; set launch_aws_account_id)" % account)
    if not re.match(r"^[a-z]{2}(-[a-z]+)+-[0-9]$", str(region or "")):
        raise AnsibleFilterError("data_key_policy needs the key's region (for example eu-west-1), got %r" % region)
    return kms_policy.data_key_policy(account, region, partition)


def operations_key_policy(account, region, name, partition="aws", log_group_patterns=None, publishers=None):
    """The operations key's policy (module_utils/kms_policy.py): administration by name, CloudWatch Logs for the
    launch's log groups, the alert publishers and the account (through SNS) for the launch's topics - the key of the
    administrators' topic and of the log groups in one region (docs/security-baseline.md, "The operations key")."""
    account = str(account or "")
    if not re.match(r"^[0-9]{12}$", account):
        raise AnsibleFilterError("operations_key_policy needs the 12-digit AWS account id, got %r (preflight reads it"
                                 " with STS; set launch_aws_account_id)" % account)
    if not re.match(r"^[a-z]{2}(-[a-z]+)+-[0-9]$", str(region or "")):
        raise AnsibleFilterError("operations_key_policy needs the key's region (for example eu-west-1), got %r" % region)
    if not re.match(r"^[a-z0-9][a-z0-9-]{0,62}$", str(name or "")):
        raise AnsibleFilterError("operations_key_policy needs the launch's name (lower-case letters, digits and"
                                 " hyphens, such as directfanz), got %r" % name)
    return kms_policy.operations_key_policy(account, region, name, partition, log_group_patterns,
                                            kms_policy.ALERT_PUBLISHERS if publishers is None else publishers)


class FilterModule(object):
    def filters(self):
        return {
            "pgbouncer_pools": pgbouncer_pools,
            "pgbouncer_ini": pgbouncer_ini,
            "pgbouncer_userlist": pgbouncer_userlist,
            "pgbouncer_auth_template": pgbouncer_auth_template,
            "scram_sha256_verifier": scram_sha256_verifier,
            "rds_default_max_connections": default_max_connections,
            "data_key_policy": data_key_policy,
            "operations_key_policy": operations_key_policy,
        }
