# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Name resolution for the validate phase: every name through the chosen resolvers, the connection to the
address they give, SNI and Host left as the name.

Why: before the cutover the new stack is reachable only through the new zone's own servers (the world still
resolves the old one), after it through public resolvers, and in the sandbox through its DNS world. The
system resolver knows none of that, so each client library gets an adapter that asks `NameResolver` instead:

- requests (and so schemathesis' transport, the Stripe calls, the web probes): `session()` mounts
  `ResolvingAdapter`, whose urllib3 connections dial the resolved address;
- http.client / urllib: `ResolvingHTTPConnection`, `ResolvingHTTPSConnection`, `opener()`;
- aiohttp: `AiohttpResolver` (an ``aiohttp.abc.AbstractResolver``) for the load client;
- websockets: `open_socket()` gives the connected socket its synchronous client takes as ``sock``.

TLS is verified against ``ca_file`` (the system store when it is empty), for the name, never the address.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import ipaddress
import os
import random
import socket
import ssl
import threading
import time
import urllib.request
from urllib.parse import urlsplit

from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import parse_server

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    HAS_DNSPYTHON = True
except ImportError:
    HAS_DNSPYTHON = False

try:
    import requests
    import requests.adapters
    import urllib3.connection
    import urllib3.connectionpool
    import urllib3.exceptions
    import urllib3.util.connection
    HAS_REQUESTS = True
except ImportError:
    HAS_REQUESTS = False

try:
    import aiohttp.abc
    _AIOHTTP_BASE = aiohttp.abc.AbstractResolver
    HAS_AIOHTTP = True
except ImportError:
    _AIOHTTP_BASE = object
    HAS_AIOHTTP = False

MAX_CNAME_HOPS = 8


class ResolutionError(Exception):
    """A name the resolvers could not turn into an address; the message names the name and the resolvers."""


def resolver_problems(resolvers):
    """What is wrong with a ``resolvers`` option (empty list: none)."""
    problems = []
    for server in resolvers or []:
        try:
            parse_server(server)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def url_problem(url, schemes=("http", "https")):
    """Why ``url`` is not an absolute URL with one of ``schemes`` and a host ('' when it is)."""
    try:
        parts = urlsplit(str(url))
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        return "%r is not a URL (%s)" % (url, exc)
    if parts.scheme not in schemes or not parts.hostname:
        return "%r is not an absolute %s URL with a host" % (url, " or ".join(schemes))
    return ""


class NameResolver:
    """A and AAAA through ``resolvers`` ("address" or "address:port"), following CNAME chains, cached for the
    module's run. No resolvers: the system's resolution (getaddrinfo). An address literal resolves to itself."""

    def __init__(self, resolvers=None, timeout=3.0):
        self.servers = [parse_server(s) for s in (resolvers or [])]
        self.timeout = float(timeout)
        self._cache = {}
        self._failed = {}
        self._lock = threading.Lock()
        self.log = []  # (name, [addresses], [cname chain]) for the evidence

    def describe(self):
        return ", ".join(s["name"] for s in self.servers) or "the system resolver"

    def resolve(self, name):
        """Every address of ``name`` (IPv4 first); ResolutionError when there is none."""
        host = str(name).strip("[]").rstrip(".").lower()
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        with self._lock:
            if host in self._failed:
                raise ResolutionError(self._failed[host])
            if host in self._cache:
                return list(self._cache[host])
        try:
            if not self.servers:
                addresses, chain = self._system(host), []
            else:
                addresses, chain = self._dns(host)
        except ResolutionError as exc:
            # remembered for the module's run: a name that does not resolve fails each later request at once instead
            # of waiting out the resolvers again (a burst of thousands of requests would take minutes)
            with self._lock:
                self._failed[host] = str(exc)
                self.log.append({"name": host, "addresses": [], "error": str(exc)})
            raise
        with self._lock:
            self._cache[host] = addresses
            self.log.append({"name": host, "addresses": addresses, "cnames": chain})
        return list(addresses)

    def first(self, name):
        return self.resolve(name)[0]

    def _system(self, host):
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ResolutionError("could not resolve %s through the system resolver: %s" % (host, exc))
        out = []
        for family in (socket.AF_INET, socket.AF_INET6):
            for info in infos:
                if info[0] == family and info[4][0] not in out:
                    out.append(info[4][0])
        return out

    def _ask(self, qname, rdtype):
        """One recursive query, tried on each resolver in turn; the first real answer wins."""
        errors = []
        for server in self.servers:
            query = dns.message.make_query(qname, rdtype)
            query.flags |= dns.flags.RD
            try:
                reply = dns.query.udp(query, server["address"], port=server["port"], timeout=self.timeout)
                if reply.flags & dns.flags.TC:
                    reply = dns.query.tcp(query, server["address"], port=server["port"], timeout=self.timeout)
            except dns.exception.Timeout:
                errors.append("%s timed out after %s s" % (server["name"], self.timeout))
                continue
            except (OSError, dns.exception.DNSException) as exc:
                errors.append("%s: %s" % (server["name"], exc))
                continue
            rcode = reply.rcode()
            if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return reply, errors
            errors.append("%s answered %s" % (server["name"], dns.rcode.to_text(rcode)))
        return None, errors

    def _dns(self, host):
        if not HAS_DNSPYTHON:
            raise ResolutionError("resolving through given resolvers needs dnspython")
        addresses, chain = [], []
        errors = []
        for rdtype in ("A", "AAAA"):
            qname = dns.name.from_text(host)
            for _hop in range(MAX_CNAME_HOPS):
                reply, errs = self._ask(qname, rdtype)
                errors += errs
                if reply is None:
                    break
                found, target = [], None
                for rrset in reply.answer:
                    if rrset.name != qname and rrset.name not in [dns.name.from_text(c) for c in chain]:
                        continue
                    if rrset.rdtype == dns.rdatatype.CNAME:
                        target = rrset[0].target
                    elif rrset.rdtype == dns.rdatatype.from_text(rdtype):
                        found += [r.to_text() for r in rrset]
                if found:
                    addresses += [a for a in found if a not in addresses]
                    break
                if target is None:
                    if reply.rcode() == dns.rcode.NXDOMAIN:
                        errors.append("%s does not exist (NXDOMAIN)" % qname.to_text().rstrip("."))
                    break  # NODATA / NXDOMAIN
                if target.to_text() not in chain:
                    chain.append(target.to_text())
                qname = target  # a CNAME whose target the resolver did not include: ask for the target
        if not addresses:
            detail = "; ".join(dict.fromkeys(errors)) or "no A or AAAA record"
            raise ResolutionError("could not resolve %s through %s: %s" % (host, self.describe(), detail))
        return addresses, chain


def tls_context(ca_file=None):
    """A verifying client context: ``ca_file`` when given, else the system store."""
    context = ssl.create_default_context(cafile=ca_file or None)
    return context


def open_socket(resolver, host, port, timeout, use_tls=False, ca_file=None):
    """A TCP socket to the first resolved address of ``host`` that accepts, TLS-wrapped for ``host`` when
    ``use_tls`` (SNI and certificate name = ``host``)."""
    errors = []
    for address in resolver.resolve(host):
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            errors.append("%s:%s: %s" % (address, port, exc))
            continue
        if use_tls:
            try:
                sock = tls_context(ca_file).wrap_socket(sock, server_hostname=host)
            except (OSError, ssl.SSLError):
                sock.close()
                raise
        return sock
    raise OSError("could not connect to %s port %s: %s" % (host, port, "; ".join(errors)))


class ResolvingHTTPConnection(http.client.HTTPConnection):
    """http.client's connection to the resolved address; Host stays the name."""

    def __init__(self, host, port=None, resolver=None, **kwargs):
        super().__init__(host, port, **kwargs)
        self.resolver = resolver or NameResolver()

    def connect(self):
        self.sock = open_socket(self.resolver, self.host, self.port, self.timeout)


class ResolvingHTTPSConnection(http.client.HTTPSConnection):
    """http.client's TLS connection to the resolved address, SNI and verification for the name."""

    def __init__(self, host, port=None, resolver=None, ca_file=None, **kwargs):
        kwargs.setdefault("context", tls_context(ca_file))
        super().__init__(host, port, **kwargs)
        self.resolver = resolver or NameResolver()

    def connect(self):
        raw = open_socket(self.resolver, self.host, self.port, self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, resolver):
        super().__init__()
        self.resolver = resolver

    def http_open(self, req):
        return self.do_open(lambda host, **kw: ResolvingHTTPConnection(host, resolver=self.resolver, **kw), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, resolver, ca_file):
        super().__init__(context=tls_context(ca_file))
        self.resolver, self.ca_file = resolver, ca_file

    def https_open(self, req):
        return self.do_open(lambda host, **kw: ResolvingHTTPSConnection(
            host, resolver=self.resolver, ca_file=self.ca_file, **kw), req)


def opener(resolver, ca_file=None):
    """A urllib opener whose http(s) connections go through ``resolver``."""
    return urllib.request.build_opener(_HTTPHandler(resolver), _HTTPSHandler(resolver, ca_file))


if HAS_REQUESTS:
    class _Dialing:
        """Mixed into urllib3's connections: dial the resolved address; ``host`` (Host header, SNI, certificate
        name) stays the name."""

        launch_resolver = None

        def _new_conn(self):
            try:
                addresses = self.launch_resolver.resolve(self.host)
            except ResolutionError as exc:
                raise urllib3.exceptions.NameResolutionError(self.host, self, socket.gaierror(str(exc)))
            last = None
            for address in addresses:
                try:
                    return urllib3.util.connection.create_connection(
                        (address, self.port), self.timeout, source_address=self.source_address,
                        socket_options=self.socket_options)
                except socket.timeout as exc:
                    last = urllib3.exceptions.ConnectTimeoutError(
                        self, "Connection to %s (%s) timed out. (connect timeout=%s)" % (self.host, address,
                                                                                         self.timeout))
                    last.__cause__ = exc
                except OSError as exc:
                    last = urllib3.exceptions.NewConnectionError(
                        self, "Failed to establish a new connection to %s (%s): %s" % (self.host, address, exc))
            raise last

    def _pool_classes(resolver):
        http_conn = type("LaunchHTTPConnection", (_Dialing, urllib3.connection.HTTPConnection),
                         {"launch_resolver": resolver})
        https_conn = type("LaunchHTTPSConnection", (_Dialing, urllib3.connection.HTTPSConnection),
                          {"launch_resolver": resolver})
        http_pool = type("LaunchHTTPPool", (urllib3.connectionpool.HTTPConnectionPool,),
                         {"ConnectionCls": http_conn})
        https_pool = type("LaunchHTTPSPool", (urllib3.connectionpool.HTTPSConnectionPool,),
                          {"ConnectionCls": https_conn})
        return {"http": http_pool, "https": https_pool}

    class ResolvingAdapter(requests.adapters.HTTPAdapter):
        """A requests adapter whose pools dial what ``resolver`` answers (schemathesis sends through it)."""

        def __init__(self, resolver, **kwargs):
            self.launch_resolver = resolver
            super().__init__(**kwargs)

        def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
            super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
            self.poolmanager.pool_classes_by_scheme = _pool_classes(self.launch_resolver)

    def session(resolver, ca_file=None, pool_size=10):
        """A requests session resolving through ``resolver`` and verifying against ``ca_file``."""
        s = requests.Session()
        adapter = ResolvingAdapter(resolver, pool_connections=pool_size, pool_maxsize=pool_size)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        s.verify = ca_file or True
        s.trust_env = False  # no proxy from the environment: the point is to reach the resolved address
        return s


class AiohttpResolver(_AIOHTTP_BASE):
    """aiohttp's resolver interface over `NameResolver` (the DNS query runs in a thread, once per name)."""

    def __init__(self, resolver):
        self.resolver = resolver

    async def resolve(self, host, port=0, family=socket.AF_INET):
        import asyncio
        addresses = await asyncio.get_running_loop().run_in_executor(None, self.resolver.resolve, host)
        out = []
        for address in addresses:
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            if family not in (socket.AF_UNSPEC, fam) and family != 0:
                continue
            out.append({"hostname": host, "host": address, "port": port, "family": fam, "proto": 0,
                        "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV})
        if not out:
            raise OSError("no address of family %s for %s" % (family, host))
        return out

    async def close(self):
        return None


def aiohttp_connector(resolver, ca_file=None, limit=100):
    """An aiohttp connector resolving through ``resolver``, verifying TLS against ``ca_file``."""
    return aiohttp.TCPConnector(resolver=AiohttpResolver(resolver), ssl=tls_context(ca_file), limit=limit,
                                family=socket.AF_UNSPEC, use_dns_cache=True)


def error_text(exc):
    """A requests/urllib3 failure as one short sentence (the innermost reason, not urllib3's pool repr)."""
    seen = set()
    reason = exc
    while reason is not None and id(reason) not in seen:
        seen.add(id(reason))
        inner = getattr(reason, "reason", None) or (reason.args[0] if getattr(reason, "args", None) and
                                                    isinstance(reason.args[0], BaseException) else None)
        if inner is None:
            break
        reason = inner
    text = str(reason)
    if ": " in text and text.startswith(("LaunchHTTP", "HTTPConnection", "HTTPSConnection")):
        text = text.split(": ", 1)[1]
    return text


def retrying(call, attempts=4, delay=0.5, retry_status=(429, 500, 502, 503, 504)):
    """``call()`` (a requests call) again on 429/5xx and connection errors, backing off; for reading
    configuration only - a measurement takes the first answer as it is."""
    last = None
    for attempt in range(attempts):
        try:
            response = call()
        except requests.exceptions.ConnectionError as exc:
            last = exc
        else:
            if response.status_code not in retry_status:
                return response
            last = response
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.isdigit():
                time.sleep(min(float(retry_after), 10))
                continue
        if attempt < attempts - 1:
            time.sleep(delay * (2 ** attempt) * random.uniform(0.5, 1.5))  # jittered, so retries do not align
    if isinstance(last, Exception):
        raise last
    return last


def document_problems(p):
    """What is wrong with the options every OpenAPI-driven check shares (``openapi_file`` / ``openapi_url``,
    ``base_url``, ``ca_file``, ``resolvers``), each a sentence saying what is accepted."""
    problems = []
    if bool(p["openapi_file"]) == bool(p["openapi_url"]):
        problems.append("give exactly one of openapi_file, openapi_url")
    if p["openapi_file"] and not os.path.isfile(p["openapi_file"]):
        problems.append("openapi_file %s does not exist" % p["openapi_file"])
    for key in ("openapi_url", "base_url"):
        if p[key]:
            bad = url_problem(p[key])
            if bad:
                problems.append("%s %s" % (key, bad))
    if p["ca_file"] and not os.path.isfile(p["ca_file"]):
        problems.append("ca_file %s does not exist" % p["ca_file"])
    return problems + resolver_problems(p["resolvers"])


def load_document(module, session, openapi_file, openapi_url, timeout):
    """The OpenAPI document from the file, or fetched through ``session`` (429/5xx retried: this is reading
    configuration); fails the module with what went wrong."""
    from ansible_collections.directfanz.launch.plugins.module_utils.validate_checks import parse_document
    if openapi_file:
        with open(openapi_file, encoding="utf-8") as f:
            text, where = f.read(), openapi_file
    else:
        where = openapi_url
        try:
            response = retrying(lambda: session.get(where, timeout=timeout))
        except ResolutionError as exc:
            module.fail_json(msg="Could not fetch the OpenAPI document: %s" % exc)
        except requests.exceptions.Timeout:
            module.fail_json(msg="Could not fetch the OpenAPI document %s: timed out after %s s" % (where, timeout))
        except requests.exceptions.RequestException as exc:
            module.fail_json(msg="Could not fetch the OpenAPI document %s: %s" % (where, exc))
        if response.status_code != 200:
            module.fail_json(msg="Could not fetch the OpenAPI document %s: HTTP %s" % (where, response.status_code))
        text = response.text
    try:
        return parse_document(text, where)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
