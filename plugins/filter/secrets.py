# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The application's composed connection values (DATABASE_URL, DIRECT_URL, REDIS_URL, NEXTAUTH_URL).

Pure functions. A password or token may be given (it is percent-encoded, so ``@``, ``:``, ``/``, ``?``, ``#`` or
``%`` in a generated password cannot break the URL); when it is left out the URL carries the placeholder
``${password}`` (or ``${token}``) instead, which ``directfanz.launch.secrets_manager`` replaces with the
percent-encoded value of a secret it reads itself (``template`` + ``refs``). That is how the role composes URLs:
the database password and the Redis AUTH token never pass through the controller's templating.

Why the flavours: Prisma's query engine reads ``sslmode`` as ``disable``/``prefer``/``require`` only and silently
falls back to ``prefer`` for anything else (``verify-full`` included), and verifies the server certificate only
with ``sslaccept=strict`` and ``sslcert=<CA file>``. libpq-style clients (psql, node-postgres, the migration job if
it is not Prisma) understand ``sslmode=verify-full`` and ``sslrootcert``. So a direct URL is written for the
client that reads it, and asking Prisma for ``verify-full`` is an error here rather than a silent downgrade there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from urllib.parse import quote

from ansible.errors import AnsibleFilterError

PLACEHOLDER = "${%s}"
FLAVOURS = ("prisma", "libpq")
PRISMA_SSLMODES = ("disable", "prefer", "require")
LIBPQ_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST = re.compile(r"^(?=.{1,253}$)%s(\.%s)*$" % (LABEL, LABEL))
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")


def url_quote(value):
    """``value`` percent-encoded for the user-info or path part of a URL (only unreserved characters stay)."""
    return quote(str(value), safe="")


def _secret_part(value, placeholder):
    return PLACEHOLDER % placeholder if value is None or value == "" else url_quote(value)


def _host(host, what):
    host = str(host or "").strip().rstrip(".")
    if not HOST.match(host):
        raise AnsibleFilterError("%s: host %r is not a DNS name or address; accepted: for example "
                                 "pgbouncer.directfanz.internal" % (what, host))
    return host.lower()


def _port(port, what):
    try:
        number = int(port)
    except (TypeError, ValueError):
        number = 0
    if not 0 < number < 65536:
        raise AnsibleFilterError("%s: port %r is not a port; accepted: 1-65535" % (what, port))
    return number


def _name(value, what, field):
    if not NAME.match(str(value or "")):
        raise AnsibleFilterError("%s: %s %r is not a PostgreSQL identifier; accepted: a letter or '_', then up to 62 "
                                 "letters, digits, '_', '$' or '-'" % (what, field, value))
    return str(value)


def _query(params):
    return "&".join("%s=%s" % (quote(str(k), safe=""), quote(str(v), safe="/")) for k, v in params)


def _positive(value, what, field):
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise AnsibleFilterError("%s: %s %r is not accepted; accepted: a whole number of at least 1" % (what, field, value))
    return number


def database_url(host, database, user="app", password=None, port=6432, connection_limit=5, pool_timeout=10,
                 sslmode="require"):
    """DATABASE_URL for the app through PgBouncer in transaction mode.

    ``pgbouncer=true`` makes Prisma use unnamed prepared statements, which transaction pooling needs (with
    PgBouncer older than 1.21, or whenever ``max_prepared_statements`` is 0); ``connection_limit`` is the size of
    each app process's own pool towards PgBouncer; ``sslmode=require`` encrypts the hop to PgBouncer (Prisma
    cannot verify-full; see the module docstring)."""
    what = "database_url"
    if sslmode not in PRISMA_SSLMODES:
        raise AnsibleFilterError("%s: sslmode %r is not one Prisma reads (it would fall back to prefer); accepted: %s"
                                 % (what, sslmode, ", ".join(PRISMA_SSLMODES)))
    params = [("sslmode", sslmode), ("pgbouncer", "true"),
              ("connection_limit", _positive(connection_limit, what, "connection_limit")),
              ("pool_timeout", _positive(pool_timeout, what, "pool_timeout"))]
    return "postgresql://%s:%s@%s:%d/%s?%s" % (
        url_quote(_name(user, what, "user")), _secret_part(password, "password"), _host(host, what),
        _port(port, what), url_quote(_name(database, what, "database")), _query(params))


def direct_url(host, database, user="app", password=None, port=5432, flavour="prisma", ca_file=None,
               sslmode=None):
    """DIRECT_URL for migrations, straight to RDS, with the server certificate verified.

    ``flavour=prisma``: ``sslmode=require&sslaccept=strict&sslcert=<ca_file>`` (Prisma's way to verify);
    ``flavour=libpq``: ``sslmode=verify-full`` (and ``sslrootcert=<ca_file>`` when given)."""
    what = "direct_url"
    if flavour not in FLAVOURS:
        raise AnsibleFilterError("%s: flavour %r is not known; accepted: %s" % (what, flavour, ", ".join(FLAVOURS)))
    if flavour == "prisma":
        mode = sslmode or "require"
        if mode not in PRISMA_SSLMODES:
            raise AnsibleFilterError("%s: sslmode %r is not one Prisma reads (it would silently fall back to prefer); "
                                     "accepted with flavour=prisma: %s; Prisma verifies the certificate with "
                                     "ca_file (sslcert) and sslaccept=strict" % (what, mode, ", ".join(PRISMA_SSLMODES)))
        params = [("sslmode", mode)]
        if ca_file:
            params += [("sslcert", ca_file), ("sslaccept", "strict")]
    else:
        mode = sslmode or "verify-full"
        if mode not in LIBPQ_SSLMODES:
            raise AnsibleFilterError("%s: sslmode %r is not a libpq sslmode; accepted: %s"
                                     % (what, mode, ", ".join(LIBPQ_SSLMODES)))
        params = [("sslmode", mode)] + ([("sslrootcert", ca_file)] if ca_file else [])
    return "postgresql://%s:%s@%s:%d/%s?%s" % (
        url_quote(_name(user, what, "user")), _secret_part(password, "password"), _host(host, what),
        _port(port, what), url_quote(_name(database, what, "database")), _query(params))


def redis_url(host, token=None, port=6379, db=None):
    """REDIS_URL: ``rediss://`` (TLS, as the replication group has transit encryption on) with the AUTH token as
    the password and no user name (the default user of Redis AUTH)."""
    what = "redis_url"
    url = "rediss://:%s@%s:%d" % (_secret_part(token, "token"), _host(host, what), _port(port, what))
    if db is not None and db != "":
        try:
            number = int(db)
        except (TypeError, ValueError):
            number = -1
        if not 0 <= number <= 15:
            raise AnsibleFilterError("%s: db %r is not accepted; accepted: 0-15" % (what, db))
        url += "/%d" % number
    return url


def nextauth_url(domain):
    """NEXTAUTH_URL: the public origin, https and the apex, without a path or trailing slash."""
    text = str(domain or "").strip()
    if "://" in text or "/" in text:
        raise AnsibleFilterError("nextauth_url: %r is not a bare domain; accepted: for example directfanz.io" % text)
    return "https://%s" % _host(text, "nextauth_url")


def template_refs(url, secret, key=None, placeholder=None):
    """The ``refs`` entry for ``secrets_manager`` that fills the placeholder a URL carries: ``{name: {secret,
    key}}``. ``placeholder`` defaults to the one found in ``url`` (``password`` or ``token``)."""
    if placeholder is None:
        found = re.findall(r"\$\{([a-z_]+)\}", str(url))
        if len(found) != 1:
            raise AnsibleFilterError("template_refs: the URL carries %d placeholders; accepted: exactly one, such as "
                                     "${password}" % len(found))
        placeholder = found[0]
    ref = {"secret": secret, "encode": "url"}
    if key:
        ref["key"] = key
    return {placeholder: ref}


def composed_secrets(prefix, database=None, redis=None, flavour="prisma", connection_limit=5, pool_timeout=10):
    """The composed entries for ``secrets_manager`` (``template`` + ``refs``, the password or token read by the
    module from its own secret) and, for what cannot be composed yet, the reasons - so a config phase that runs
    before the data phase still writes the owner's secrets and says what it left out.

    ``database``: {pooler_host, pooler_port (6432), host (the RDS endpoint), port (5432), name, user (app),
    password_secret (name or ARN), password_key (the JSON key holding the password; none for a plain secret),
    ca_file}. ``redis``: {host, port (6379), token_secret, token_key}."""
    entries, skipped = [], []
    database = dict(database or {})
    redis = dict(redis or {})

    def entry(key, description, template, secret, json_key):
        return {"key": key, "name": prefix + key, "description": description, "template": template,
                "refs": template_refs(template, secret, json_key)}

    secret = database.get("password_secret")
    if not database:
        skipped.append("DATABASE_URL and DIRECT_URL: app_secrets_database is not set (the data phase provides the "
                       "pooler, the instance and the application role's password secret)")
    elif not secret:
        skipped.append("DATABASE_URL and DIRECT_URL: app_secrets_database.password_secret is not set")
    else:
        name, user = database.get("name") or "directfanz", database.get("user") or "app"
        if database.get("pooler_host"):
            entries.append(entry("DATABASE_URL", "the app's database URL through PgBouncer (transaction pooling)",
                                 database_url(database["pooler_host"], name, user, None,
                                              database.get("pooler_port") or 6432, connection_limit, pool_timeout),
                                 secret, database.get("password_key")))
        else:
            skipped.append("DATABASE_URL: app_secrets_database.pooler_host is not set (the PgBouncer service's name)")
        if database.get("host"):
            entries.append(entry("DIRECT_URL", "direct database URL for migrations (certificate verified)",
                                 direct_url(database["host"], name, user, None, database.get("port") or 5432, flavour,
                                            database.get("ca_file")),
                                 secret, database.get("password_key")))
        else:
            skipped.append("DIRECT_URL: app_secrets_database.host is not set (the RDS endpoint)")
    if not redis:
        skipped.append("REDIS_URL: app_secrets_redis is not set (the data phase provides the replication group's "
                       "endpoint and its AUTH token secret)")
    elif not redis.get("host") or not redis.get("token_secret"):
        skipped.append("REDIS_URL: app_secrets_redis needs host and token_secret")
    else:
        entries.append(entry("REDIS_URL", "Redis URL (TLS, AUTH token)",
                             redis_url(redis["host"], None, redis.get("port") or 6379), redis["token_secret"],
                             redis.get("token_key")))
    return {"entries": entries, "skipped": skipped}


def plain_environment(domain, region, content_bucket=None, extra=None):
    """What the services get as plain ``environment`` (none of it is secret, so none of it costs a secret)."""
    env = {"NEXTAUTH_URL": nextauth_url(domain), "AWS_REGION": str(region), "NODE_ENV": "production"}
    if content_bucket:
        env["CONTENT_BUCKET"] = str(content_bucket)
    env.update(dict((str(k), str(v)) for k, v in (extra or {}).items()))
    return env


def secret_key_refs(secret, keys):
    """ECS ``valueFrom`` strings for keys of a JSON secret, pinned to the version secrets_manager reported
    (``<arn>:<key>::<version-id>``): a new value is a new string, so the task definition that reads it changes."""
    if not isinstance(secret, dict) or not secret.get("arn") or not secret.get("version_id"):
        raise AnsibleFilterError("secret_key_refs: expects one of secrets_manager's results ({arn, version_id}), got %r"
                                 % (type(secret).__name__,))
    return dict((str(k), "%s:%s::%s" % (secret["arn"], k, secret["version_id"])) for k in keys)


class FilterModule(object):
    def filters(self):
        return {
            "database_url": database_url,
            "direct_url": direct_url,
            "redis_url": redis_url,
            "nextauth_url": nextauth_url,
            "url_quote": url_quote,
            "template_refs": template_refs,
            "composed_secrets": composed_secrets,
            "plain_environment": plain_environment,
            "secret_key_refs": secret_key_refs,
        }
