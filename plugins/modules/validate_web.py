#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: validate_web
short_description: The web-facing launch checks - WAF probes, legal pages, support channel, CDN cache hit rate
version_added: 0.7.0
description:
  - B(9.1, critical) - known-bad requests to O(waf_url) must be refused with 403 - an SQL injection, a cross-site
    scripting payload, a path traversal - and a burst of O(burst_requests) requests must meet a 403 before it ends
    (the rate rule). Run it last - a working rate rule may block this host for a while.
  - B(10.2) - O(terms_path) and O(privacy_path) under O(base_url) answer 200 with every phrase of O(terms_phrases)
    / O(privacy_phrases) (the owner's text).
  - B(10.3) - the domain of O(support_email) has MX records (through O(resolvers)) and O(support_url) answers 200.
  - B(8.1) - the cache hit rate over O(cache_requests) requests of O(static_paths), read from the edge's
    O(cache_header) (CloudFront's C(X-Cache) "Hit from cloudfront"; nginx's HIT/MISS), gate O(cache_hit_threshold)
    percent; with O(cloudwatch) CloudFront's own C(CacheHitRate) metric for O(distribution_id) instead (needs the
    distribution's additional metrics, see M(directfanz.launch.cloudfront_metrics)).
  - Names resolve through O(resolvers); connections go to the resolved address with SNI/Host = the name.
author: DirectFanz platform team (@directfanz)
options:
  base_url:
    description: The site, for example C(https://www.example.com).
    type: str
    required: true
  resolvers:
    description: DNS resolvers (C(IP), C(IP:PORT), C([IPv6]:PORT)); empty - the system's resolver.
    type: list
    elements: raw
    default: []
  ca_file:
    description: CA bundle TLS is verified against; default the system store.
    type: path
  waf_probes:
    description: Send the WAF probes (false - the WAF cases are C(not_run) "not rehearsed").
    type: bool
    default: true
  waf_url:
    description: Where the WAF probes go; default O(base_url) + C(/).
    type: str
  burst_requests:
    description: Requests of the rate burst (0 - no burst case).
    type: int
    default: 300
  burst_concurrency:
    description: Requests of the burst in flight at once (1-64).
    type: int
    default: 16
  terms_path:
    description: The Terms of Service page.
    type: str
    default: /terms
  privacy_path:
    description: The Privacy Policy page.
    type: str
    default: /privacy
  terms_phrases:
    description: Phrases the terms page must contain (case and spacing ignored).
    type: list
    elements: str
    default: []
  privacy_phrases:
    description: Phrases the privacy page must contain.
    type: list
    elements: str
    default: []
  support_email:
    description: The support address; its domain must have MX records. Unset - the 10.3 mail case is C(not_run).
    type: str
  support_url:
    description: The support page; default O(base_url) + C(/support).
    type: str
  static_paths:
    description: Static paths under O(base_url) whose cache status is counted; empty - the 8.1 case is C(not_run).
    type: list
    elements: str
    default: []
  cache_requests:
    description: Requests made of O(static_paths), round-robin (1-10000).
    type: int
    default: 100
  cache_header:
    description: The response header carrying the cache status.
    type: str
    default: X-Cache
  cache_hit_threshold:
    description: Cache hit rate (percent) to reach.
    type: float
    default: 85
  cloudwatch:
    description: Read CloudFront's C(CacheHitRate) metric (average over O(cloudwatch_minutes)) instead of counting.
    type: bool
    default: false
  distribution_id:
    description: The CloudFront distribution (required with O(cloudwatch)).
    type: str
  cloudwatch_minutes:
    description: Minutes of metric data averaged.
    type: int
    default: 60
  timeout:
    description: Seconds each request may take.
    type: float
    default: 10
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Read-only requests; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
notes:
  - Requires requests and dnspython; boto3 only with O(cloudwatch).
"""

EXAMPLES = r"""
- name: Probe the WAF, the legal pages, the support channel and the cache
  directfanz.launch.validate_web:
    base_url: https://www.example.com
    resolvers: "{{ launch_validate_resolvers }}"
    terms_phrases: ["Terms of Service"]
    privacy_phrases: ["Privacy Policy"]
    support_email: support@example.com
    static_paths: [/static/app.js, /static/app.css]
"""

RETURN = r"""
cases:
  description: C(waf sql injection), C(waf cross-site scripting), C(waf path traversal), C(waf rate burst) (security
    9.1, critical); C(terms page), C(privacy page) (business 10.2); C(support mail domain), C(support page)
    (business 10.3); C(cdn cache hit rate) (performance 8.1).
  returned: always
  type: list
  elements: dict
"""

import datetime
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.directfanz.launch.plugins.module_utils import validate_checks as C
from ansible_collections.directfanz.launch.plugins.module_utils import validate_net as N
from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import parse_server
from ansible_collections.directfanz.launch.plugins.module_utils.plan import aws_call, retrying_client

try:
    import dns.exception
    import dns.nameserver
    import dns.resolver
    import requests
except ImportError:
    pass  # reported by main

PROBES = (("waf sql injection", "an SQL injection probe is refused", {"id": "1' OR '1'='1' --"}),
          ("waf cross-site scripting", "a cross-site scripting probe is refused",
           {"q": "<script>alert(document.cookie)</script>"}),
          ("waf path traversal", "a path traversal probe is refused", {"file": "../../../../etc/passwd"}))


def get(session, url, timeout, **kwargs):
    """(response, '') or (None, why) - a measurement: no retry."""
    try:
        return session.get(url, timeout=timeout, allow_redirects=False, **kwargs), ""
    except N.ResolutionError as exc:
        return None, str(exc)
    except requests.exceptions.Timeout:
        return None, "timed out after %s s" % timeout
    except requests.exceptions.RequestException as exc:
        return None, N.error_text(exc)


def waf_cases(session, p, url):
    out = []
    for case_id, name, params in PROBES:
        response, problem = get(session, url, p["timeout"], params=params)
        evidence = {"url": url, "params": params}
        if response is None:
            out.append(C.case(case_id, "security", "9.1", name, "fail", critical=True, message=problem,
                              evidence=evidence))
            continue
        ok = response.status_code == 403
        out.append(C.case(case_id, "security", "9.1", name, "pass" if ok else "fail", critical=True,
                          measured=response.status_code, threshold=403,
                          evidence=dict(evidence, status=response.status_code),
                          message="" if ok else "answered HTTP %d, not 403: the WAF let it through"
                          % response.status_code))
    if p["burst_requests"]:
        out.append(burst_case(session, p, url))
    return out


def burst_case(session, p, url):
    """Send the burst until the first 403 (the rate rule) or its end."""
    statuses = []
    blocked_at = []
    started = time.monotonic()

    def one(i):
        if blocked_at:
            return None
        response, problem = get(session, url, p["timeout"])
        status = response.status_code if response is not None else problem
        if status == 403 and not blocked_at:
            blocked_at.append(i + 1)
        return status

    with ThreadPoolExecutor(max_workers=p["burst_concurrency"]) as pool:
        statuses = [s for s in pool.map(one, range(p["burst_requests"])) if s is not None]
    counts = {}
    for s in statuses:
        counts[str(s)] = counts.get(str(s), 0) + 1
    # when it ended: the next validation waits out the rule's window from then (the role's burst record)
    ended = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    evidence = {"url": url, "sent": len(statuses), "statuses": counts,
                "seconds": round(time.monotonic() - started, 2), "ended": ended}
    name = "a burst of %d requests meets the rate rule (403)" % p["burst_requests"]
    if blocked_at:
        evidence["blocked_after"] = blocked_at[0]
        return C.case("waf rate burst", "security", "9.1", name, "pass", critical=True, measured=blocked_at[0],
                      threshold=p["burst_requests"], evidence=evidence)
    return C.case("waf rate burst", "security", "9.1", name, "fail", critical=True, evidence=evidence,
                  message="no 403 in %d requests: no rate rule stopped the burst" % len(statuses))


def page_case(session, p, case_id, criterion, name, url, phrases):
    response, problem = get(session, url, p["timeout"])
    evidence = {"url": url}
    if response is None:
        return C.case(case_id, "business", criterion, name, "fail", message=problem, evidence=evidence)
    evidence["status"] = response.status_code
    if response.status_code != 200:
        return C.case(case_id, "business", criterion, name, "fail", measured=response.status_code, threshold=200,
                      message="%s answered HTTP %d" % (url, response.status_code), evidence=evidence)
    missing = C.missing_phrases(response.text, phrases)
    evidence.update(phrases=list(phrases), length=len(response.text))
    return C.case(case_id, "business", criterion, name, "fail" if missing else "pass", measured=200, threshold=200,
                  message="the page lacks the owner's text: %s" % ", ".join(repr(m) for m in missing),
                  evidence=evidence)


def mx_case(p):
    name = "the support address's domain receives mail (MX records)"
    try:
        domain = C.email_domain(p["support_email"])
    except ValueError as exc:
        return C.case("support mail domain", "business", "10.3", name, "fail", message=str(exc))
    resolver = dns.resolver.Resolver(configure=not p["resolvers"])
    if p["resolvers"]:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(s["address"], s["port"])
                                for s in (parse_server(x) for x in p["resolvers"])]
    resolver.lifetime = min(p["timeout"], 10)
    evidence = {"domain": domain}
    try:
        answer = resolver.resolve(domain, "MX")
        records = sorted(r.to_text() for r in answer)
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
        records = []
    except dns.exception.Timeout:
        return C.case("support mail domain", "business", "10.3", name, "fail", evidence=evidence,
                      message="could not ask for the MX records of %s: timed out after %s s"
                              % (domain, resolver.lifetime))
    except dns.resolver.NoNameservers as exc:
        return C.case("support mail domain", "business", "10.3", name, "fail", evidence=evidence,
                      message="could not ask for the MX records of %s: %s" % (domain, exc))
    evidence["mx"] = records
    return C.case("support mail domain", "business", "10.3", name, "pass" if records else "fail", evidence=evidence,
                  message="%s has no MX record: mail to %s bounces" % (domain, p["support_email"]))


def cache_case(session, p, base):
    name = "the CDN cache hit rate of the static paths is at least %g %%" % p["cache_hit_threshold"]
    statuses, samples = [], []
    for i in range(p["cache_requests"]):
        url = base + p["static_paths"][i % len(p["static_paths"])]
        response, problem = get(session, url, p["timeout"])
        if response is None:
            statuses.append(None)
            samples.append({"url": url, "error": problem})
            continue
        value = response.headers.get(p["cache_header"])
        statuses.append(C.cache_status(value) if response.status_code < 400 else None)
        if len(samples) < 5:
            samples.append({"url": url, "status": response.status_code, p["cache_header"]: value})
    rate = C.hit_rate(statuses)
    evidence = {"requests": len(statuses), "hits": statuses.count("hit"), "misses": statuses.count("miss"),
                "unknown": statuses.count(None), "header": p["cache_header"], "samples": samples}
    ok = rate is not None and rate >= p["cache_hit_threshold"]
    return C.case("cdn cache hit rate", "performance", "8.1", name, "pass" if ok else "fail", measured=rate,
                  threshold=p["cache_hit_threshold"], unit="%", evidence=evidence,
                  message="%s%% of %d requests were cache hits (%s header)" % (rate, len(statuses), p["cache_header"]))


def cloudwatch_case(module, p):
    name = "CloudFront's CacheHitRate of distribution %s is at least %g %%" % (p["distribution_id"],
                                                                               p["cache_hit_threshold"])
    client = retrying_client(module, "cloudwatch", region="us-east-1")
    end = datetime.datetime.now(datetime.timezone.utc)
    start = end - datetime.timedelta(minutes=p["cloudwatch_minutes"])
    answer = aws_call(module, client, "read the CacheHitRate of distribution %s" % p["distribution_id"],
                      "get_metric_statistics", Namespace="AWS/CloudFront", MetricName="CacheHitRate",
                      Dimensions=[{"Name": "DistributionId", "Value": p["distribution_id"]},
                                  {"Name": "Region", "Value": "Global"}],
                      StartTime=start, EndTime=end, Period=300, Statistics=["Average"])
    points = sorted(answer.get("Datapoints") or [], key=lambda d: d["Timestamp"])
    evidence = {"distribution_id": p["distribution_id"], "minutes": p["cloudwatch_minutes"], "datapoints": len(points)}
    if not points:
        return C.case("cdn cache hit rate", "performance", "8.1", name, "fail", threshold=p["cache_hit_threshold"],
                      unit="%", evidence=evidence, message="no CacheHitRate data in the last %d minutes (are the "
                      "distribution's additional metrics on?)" % p["cloudwatch_minutes"])
    rate = round(sum(d["Average"] for d in points) / len(points), 1)
    ok = rate >= p["cache_hit_threshold"]
    return C.case("cdn cache hit rate", "performance", "8.1", name, "pass" if ok else "fail", measured=rate,
                  threshold=p["cache_hit_threshold"], unit="%", evidence=evidence,
                  message="CloudFront reports a %s%% cache hit rate" % rate)


def input_problems(p):
    problems = []
    for key in ("base_url", "waf_url", "support_url"):
        if p[key] and N.url_problem(p[key]):
            problems.append("%s %s" % (key, N.url_problem(p[key])))
    if p["ca_file"]:
        import os
        if not os.path.isfile(p["ca_file"]):
            problems.append("ca_file %s does not exist" % p["ca_file"])
    problems += N.resolver_problems(p["resolvers"])
    for key in ("terms_path", "privacy_path"):
        if not p[key].startswith("/"):
            problems.append("%s %r must be a path starting with /" % (key, p[key]))
    problems += ["static path %r must start with /" % s for s in p["static_paths"] if not s.startswith("/")]
    if not 0 <= p["burst_requests"] <= 5000:
        problems.append("burst_requests %s must be between 0 and 5000" % p["burst_requests"])
    if not 1 <= p["burst_concurrency"] <= 64:
        problems.append("burst_concurrency %s must be between 1 and 64" % p["burst_concurrency"])
    if not 1 <= p["cache_requests"] <= 10000:
        problems.append("cache_requests %s must be between 1 and 10000" % p["cache_requests"])
    if not 0 <= p["cache_hit_threshold"] <= 100:
        problems.append("cache_hit_threshold %s must be a percentage 0-100" % p["cache_hit_threshold"])
    if p["cloudwatch"] and not p["distribution_id"]:
        problems.append("cloudwatch: true needs distribution_id")
    if p["support_email"]:
        try:
            C.email_domain(p["support_email"])
        except ValueError as exc:
            problems.append(str(exc))
    if not 0 < p["timeout"] <= 120:
        problems.append("timeout %s must be between 0 and 120 seconds" % p["timeout"])
    return problems


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            base_url=dict(type="str", required=True),
            resolvers=dict(type="list", elements="raw", default=[]),
            ca_file=dict(type="path"),
            waf_probes=dict(type="bool", default=True),
            waf_url=dict(type="str"),
            burst_requests=dict(type="int", default=300),
            burst_concurrency=dict(type="int", default=16),
            terms_path=dict(type="str", default="/terms"),
            privacy_path=dict(type="str", default="/privacy"),
            terms_phrases=dict(type="list", elements="str", default=[]),
            privacy_phrases=dict(type="list", elements="str", default=[]),
            support_email=dict(type="str"),
            support_url=dict(type="str"),
            static_paths=dict(type="list", elements="str", default=[]),
            cache_requests=dict(type="int", default=100),
            cache_header=dict(type="str", default="X-Cache"),
            cache_hit_threshold=dict(type="float", default=85),
            cloudwatch=dict(type="bool", default=False),
            distribution_id=dict(type="str"),
            cloudwatch_minutes=dict(type="int", default=60),
            timeout=dict(type="float", default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    if problems:
        module.fail_json(msg="; ".join(problems))
    if not N.HAS_REQUESTS or not N.HAS_DNSPYTHON:
        module.fail_json(msg="validate_web needs the requests and dnspython libraries on the host that runs it")
    base = p["base_url"].rstrip("/")
    session = N.session(N.NameResolver(p["resolvers"], timeout=min(p["timeout"], 5)), p["ca_file"],
                        pool_size=max(p["burst_concurrency"], 4))
    cases = []
    if p["waf_probes"]:
        cases += waf_cases(session, p, p["waf_url"] or base + "/")
    else:
        cases += [C.case(i, "security", "9.1", n, "not_run", critical=True, message="not rehearsed (waf_probes: false)")
                  for i, n, dummy in PROBES + (("waf rate burst", "a burst meets the rate rule", None),)]
    cases.append(page_case(session, p, "terms page", "10.2", "the Terms of Service page answers with the owner's "
                           "text", base + p["terms_path"], p["terms_phrases"]))
    cases.append(page_case(session, p, "privacy page", "10.2", "the Privacy Policy page answers with the owner's "
                           "text", base + p["privacy_path"], p["privacy_phrases"]))
    if p["support_email"]:
        cases.append(mx_case(p))
    else:
        cases.append(C.case("support mail domain", "business", "10.3", "the support address's domain receives mail",
                            "not_run", message="no support_email given"))
    cases.append(page_case(session, p, "support page", "10.3", "the support page answers",
                           p["support_url"] or base + "/support", []))
    if p["cloudwatch"]:
        cases.append(cloudwatch_case(module, p))
    elif p["static_paths"]:
        cases.append(cache_case(session, p, base))
    else:
        cases.append(C.case("cdn cache hit rate", "performance", "8.1", "the CDN cache hit rate", "not_run",
                            message="no static_paths given and cloudwatch is false"))
    host = urlsplit(base).hostname
    module.exit_json(changed=False, cases=cases, host=host)


if __name__ == "__main__":
    main()
