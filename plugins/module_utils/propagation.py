# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The truth about a domain's delegation, asked of the servers themselves, concurrently (dnspython).

In order: (a) what every parent (TLD) server delegates to, asked without recursion, and whether it
publishes a DS; (b) whether every expected name server answers authoritatively for the zone and the
records; (c) what every resolver answers: ``new`` (matches the new servers), ``old``, ``mixed``,
``timeout``/``error`` (unreachable - not counted as old) or ``dnssec_failure`` (SERVFAIL that turns into
an answer with the CD bit set: a DS at the parent that the new, unsigned zone cannot satisfy).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from concurrent.futures import ThreadPoolExecutor

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
except ImportError:
    pass  # the module reports the missing library

from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import parse_server
from ansible_collections.directfanz.launch.plugins.module_utils.records import fqdn

# Public resolvers of different operators and regions: the default audience of the resolver check.
PUBLIC_RESOLVERS = [
    {"address": "1.1.1.1", "name": "Cloudflare"}, {"address": "1.0.0.1", "name": "Cloudflare (2)"},
    {"address": "8.8.8.8", "name": "Google"}, {"address": "8.8.4.4", "name": "Google (2)"},
    {"address": "9.9.9.9", "name": "Quad9"}, {"address": "149.112.112.112", "name": "Quad9 (2)"},
    {"address": "208.67.222.222", "name": "OpenDNS (Cisco)"}, {"address": "208.67.220.220", "name": "OpenDNS (2)"},
    {"address": "94.140.14.14", "name": "AdGuard (Cyprus)"}, {"address": "76.76.2.0", "name": "Control D (Canada)"},
    {"address": "185.228.168.9", "name": "CleanBrowsing"}, {"address": "84.200.69.80", "name": "DNS.WATCH (Germany)"},
    {"address": "4.2.2.1", "name": "Lumen/Level3 (US)"}, {"address": "156.154.70.1", "name": "UltraDNS (Vercara)"},
    {"address": "8.26.56.26", "name": "Comodo Secure DNS"}, {"address": "77.88.8.8", "name": "Yandex (Russia)"},
    {"address": "223.5.5.5", "name": "AliDNS (China)"}, {"address": "119.29.29.29", "name": "DNSPod (China)"},
    {"address": "168.126.63.1", "name": "KT (Korea)"}, {"address": "195.46.39.39", "name": "SafeDNS (Europe)"},
]

STATES = ("new", "old", "mixed", "timeout", "error", "dnssec_failure")


def input_problems(records, *server_lists):
    """What is wrong with the records ({name, type}) and server lists a DNS module was given; [] when fine."""
    problems = ["record %r needs name and type" % (r,) for r in records if not r.get("name") or not r.get("type")]
    for servers in server_lists:
        try:
            parse_servers(servers)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def canon_host(name):
    return name.strip().lower().rstrip(".")


class Asker:
    """Sends single queries with a bound; UDP first, TCP when truncated."""

    def __init__(self, timeout):
        self.timeout = timeout

    def ask(self, server, qname, rdtype, recurse, cd=False):
        """Returns ``{"rcode", "aa", "answer": {type: [values]}, "authority": ..., "additional": ...}`` or
        ``{"error": "timeout"|"..."}``."""
        query = dns.message.make_query(qname, rdtype, want_dnssec=cd)
        if not recurse:
            query.flags &= ~dns.flags.RD
        if cd:
            query.flags |= dns.flags.CD
        try:
            response = dns.query.udp(query, server["address"], timeout=self.timeout, port=server["port"],
                                     ignore_unexpected=True)
            if response.flags & dns.flags.TC:
                response = dns.query.tcp(query, server["address"], timeout=self.timeout, port=server["port"])
        except dns.exception.Timeout:
            return {"error": "timeout"}
        except (OSError, dns.exception.DNSException) as exc:
            return {"error": "%s: %s" % (exc.__class__.__name__, exc)}

        ttls = {}

        def sections(rrsets):
            out = {}
            for rrset in rrsets:
                key = "%s %s" % (rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype))
                out.setdefault(key, []).extend(sorted(r.to_text().lower() for r in rrset))
                ttls[key] = rrset.ttl
            return out

        return {"rcode": dns.rcode.to_text(response.rcode()), "aa": bool(response.flags & dns.flags.AA),
                "answer": sections(response.answer), "authority": sections(response.authority),
                "additional": sections(response.additional), "ttls": ttls}


def _answer_values(reply, qname, rdtype):
    """The values for qname/type in an answer, following one CNAME step as resolvers do; [] for NXDOMAIN."""
    values = reply.get("answer", {}).get("%s %s" % (qname, rdtype))
    if values is not None:
        return sorted(values)
    cname = reply.get("answer", {}).get("%s CNAME" % qname)
    if cname:
        return sorted(["CNAME " + v for v in cname] +
                      reply["answer"].get("%s %s" % (cname[0], rdtype), []))
    return []


def locate_servers(asker, pool, hosts, resolvers, addresses=None, glue=None):
    """``{host: server}`` for each name-server host that can be located: the address the user gave, else the
    parent's glue, else what the first answering resolver says (port 53). Unlocatable hosts are left out."""
    glue = glue or {}

    def address_of(host):
        if glue.get(host):
            return glue[host][0]
        for resolver in resolvers:
            values = asker.ask(resolver, host + ".", "A", True).get("answer", {}).get("%s. A" % host)
            if values:
                return values[0]
        return None

    given = dict((canon_host(k), parse_server(v)) for k, v in (addresses or {}).items())
    unknown = sorted(h for h in hosts if h not in given)
    found = dict(zip(unknown, pool.map(address_of, unknown)))  # noqa: B905 - same length by construction
    servers = {}
    for host in sorted(hosts):
        if host in given:
            servers[host] = dict(given[host], name=host)
        elif found.get(host):
            servers[host] = {"address": found[host], "port": 53, "name": host}
    return servers


def check(domain, expected, parents, resolvers, records, timeout, min_ratio, addresses=None, workers=64):
    """Run the three checks concurrently; returns the result dict the module reports."""
    started = time.monotonic()
    domain = domain.lower().rstrip(".") + "."
    expected_set = set(canon_host(n) for n in expected)
    asker = Asker(timeout)
    records = [{"name": fqdn(r.get("name"), domain), "type": r.get("type", "A").upper(), "value": r.get("value")}
               for r in records]
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        # (a) parents: NS referral and DS, without recursion, all at once
        parent_jobs = [(p, pool.submit(asker.ask, p, domain, "NS", False), pool.submit(asker.ask, p, domain, "DS", False))
                       for p in parents]
        parent_rows = []
        glue = {}
        for server, ns_job, ds_job in parent_jobs:
            ns_reply, ds_reply = ns_job.result(), ds_job.result()
            row = {"server": server["name"], "address": server["address"], "port": server["port"]}
            if "error" in ns_reply:
                row.update(error=ns_reply["error"], nameservers=[], ds_present=None)
            else:
                found = (ns_reply["authority"].get("%s NS" % domain) or ns_reply["answer"].get("%s NS" % domain) or [])
                row["nameservers"] = sorted(set(canon_host(n) for n in found))
                row["ns_ttl"] = ns_reply["ttls"].get("%s NS" % domain)
                row["ds_present"] = bool(ds_reply.get("answer", {}).get("%s DS" % domain))
                for key, values in ns_reply["additional"].items():
                    host, rtype = key.rsplit(" ", 1)
                    if rtype in ("A", "AAAA"):
                        glue.setdefault(canon_host(host), []).extend(values)
            parent_rows.append(row)
        answered = [r for r in parent_rows if "error" not in r]
        delegated = sorted(set(n for r in answered for n in r["nameservers"]))
        parent = {"servers": parent_rows, "nameservers": delegated,
                  "ns_ttl": max([r["ns_ttl"] for r in answered if r.get("ns_ttl") is not None] or [0]),
                  "ds_present": any(r["ds_present"] for r in answered),
                  "matches": bool(answered) and len(answered) == len(parent_rows)
                  and all(set(r["nameservers"]) == expected_set for r in answered)}

        # (b) the expected name servers: addresses (given, else parent glue, else a resolver), then AA answers
        servers = locate_servers(asker, pool, expected_set, resolvers, addresses, glue)
        questions = [(domain, "NS")] + [(r["name"], r["type"]) for r in records]
        auth_jobs = {}
        for host, server in servers.items():
            auth_jobs[host] = [(q, pool.submit(asker.ask, server, q[0], q[1], False)) for q in questions]
        authoritative, truth = [], {}
        for host in sorted(expected_set):
            server = servers.get(host)
            row = {"server": host, "address": server["address"] if server else None,
                   "port": server["port"] if server else None, "answers": {}}
            if not server:
                row.update(authoritative=False, error="no address found for %s" % host)
                authoritative.append(row)
                continue
            aa_all = True
            for (qname, rtype), job in auth_jobs[host]:
                reply = job.result()
                if "error" in reply:
                    row["error"] = reply["error"]
                    aa_all = False
                    continue
                aa_all = aa_all and reply["aa"] and reply["rcode"] in ("NOERROR", "NXDOMAIN")
                values = _answer_values(reply, qname, rtype)
                row["answers"]["%s %s" % (qname, rtype)] = values
                truth.setdefault("%s %s" % (qname, rtype), values)
            row["authoritative"] = aa_all
            row["nameservers"] = sorted(canon_host(n) for n in row["answers"].get("%s NS" % domain, []))
            authoritative.append(row)
        for r in records:  # a value given by the user is the truth for that record
            if r["value"] is not None:
                value = str(r["value"]).strip()
                if r["type"] == "TXT" and not value.startswith('"'):
                    value = '"%s"' % value
                truth["%s %s" % (r["name"], r["type"])] = [value.lower()]
        auth_ok = bool(authoritative) and all(a["authoritative"] for a in authoritative)

        # (c) resolvers: every question, recursive; SERVFAIL retried with CD to tell DNSSEC failures apart
        resolver_jobs = [(res, [(q, pool.submit(asker.ask, res, q[0], q[1], True)) for q in questions])
                         for res in resolvers]
        resolver_rows = []
        for res, jobs in resolver_jobs:
            row = {"server": res["name"], "address": res["address"], "port": res["port"], "answers": {}}
            matches, errors, servfails = [], [], []
            for (qname, rtype), job in jobs:
                reply = job.result()
                key = "%s %s" % (qname, rtype)
                if "error" in reply:
                    errors.append(reply["error"])
                    continue
                if reply["rcode"] == "SERVFAIL":
                    servfails.append((qname, rtype))
                    continue
                values = _answer_values(reply, qname, rtype)
                row["answers"][key] = values
                if rtype == "NS" and qname == domain:
                    matches.append(set(canon_host(v) for v in values) == expected_set)
                else:
                    matches.append(values == truth.get(key))
            if servfails:
                retried = [asker.ask(res, q, t, True, cd=True) for q, t in servfails]
                if any(r.get("rcode") == "NOERROR" for r in retried):
                    row["state"] = "dnssec_failure"
                    row["detail"] = "SERVFAIL, answered with the CD bit: validation fails (DS at the parent?)"
                else:
                    row["state"] = "error"
                    row["detail"] = "SERVFAIL"
            elif errors and not matches:
                row["state"] = "timeout" if all(e == "timeout" for e in errors) else "error"
                row["detail"] = errors[0]
            elif matches and all(matches) and not errors:
                row["state"] = "new"
            elif not any(matches):
                row["state"] = "old"
            else:
                row["state"] = "mixed"
            resolver_rows.append(row)
    finally:
        pool.shutdown(wait=True)

    counts = dict((s, sum(1 for r in resolver_rows if r["state"] == s)) for s in STATES)
    reachable = [r for r in resolver_rows if r["state"] not in ("timeout", "error")]
    ratio = (float(counts["new"]) / len(reachable)) if reachable else 0.0
    propagated = parent["matches"] and auth_ok and bool(reachable) and ratio >= min_ratio
    return {"propagated": propagated, "parent": parent, "authoritative": authoritative,
            "authoritative_ok": auth_ok, "resolvers": resolver_rows, "counts": counts,
            "ratio": round(ratio, 3), "elapsed": round(time.monotonic() - started, 3)}


def parse_servers(servers):
    return [parse_server(s) for s in servers]
