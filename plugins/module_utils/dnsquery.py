# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS server addresses as users write them, and resolution through chosen servers (dnspython).

A server is ``"IP"``, ``"IP:PORT"``, ``"[IPv6]:PORT"`` or ``{"address", "port", "name"}``: production names
public resolvers, the sandbox and the tests name loopback servers on free ports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

try:
    import dns.exception
    import dns.nameserver
    import dns.resolver
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError as exc:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = exc


def parse_server(server):
    """``{"address", "port", "name"}`` from any accepted spelling; ValueError says what is accepted."""
    accepted = "accepted: 'IP', 'IP:PORT', '[IPv6]:PORT' or {address, port, name}"
    if isinstance(server, dict):
        address, port, name = server.get("address"), server.get("port", 53), server.get("name")
    else:
        text = str(server).strip()
        port = 53
        if text.startswith("["):
            address, dummy, rest = text[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError("DNS server %r is malformed; %s" % (server, accepted))
                port = rest[1:]
        elif text.count(":") == 1:
            address, port = text.split(":")
        else:
            address = text
        name = None
    try:
        ip = ipaddress.ip_address(str(address))
        port = int(port)
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError("DNS server %r is malformed; %s" % (server, accepted))
    label = "%s:%d" % (ip, port) if ip.version == 4 else "[%s]:%d" % (ip, port)
    return {"address": str(ip), "port": port, "name": name or label}


def is_loopback_server(server):
    return ipaddress.ip_address(parse_server(server)["address"]).is_loopback


def make_resolver(servers, timeout=2.0):
    """A recursive-query resolver using ``servers``; the system's configuration when ``servers`` is empty."""
    if not servers:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(s["address"], s["port"])
                                for s in (parse_server(x) for x in servers)]
    resolver.timeout = timeout
    resolver.lifetime = timeout * 2
    return resolver


def resolve_addresses(resolver, names):
    """{name: {"A": [...], "AAAA": [...]}} or {name: {"error": "..."}} for each name."""
    out = {}
    for name in names:
        entry = {}
        errors = []
        for rtype in ("A", "AAAA"):
            try:
                answer = resolver.resolve(name, rtype)
                entry[rtype] = sorted(r.to_text() for r in answer)
            except dns.resolver.NoAnswer:
                entry[rtype] = []
            except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
                errors.append("%s: %s" % (rtype, exc.__class__.__name__))
        if errors and not (entry.get("A") or entry.get("AAAA")):
            entry = {"error": ", ".join(errors)}
        out[name] = entry
    return out
