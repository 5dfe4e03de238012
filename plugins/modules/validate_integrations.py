#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: validate_integrations
short_description: Prove the platform's integrations work - e-mail, S3, the database through the pooler, Redis
version_added: 0.4.0
description:
  - Requirement 4.5. Cases (docs/validate.md), suite C(integrations), criterion C(4.5) - Stripe is validate_payments'.
  - The e-mail provider (SendGrid's v3 API) - the key is valid and may send (C(GET /v3/scopes) has C(mail.send)), and
    the sending domain is authenticated (C(GET /v3/whitelabel/domains) says C(valid)) with every DNS record it asks for
    present in the zone, looked up through O(resolvers) (before the cutover, the new zone's own servers).
  - S3 - a probe object written to the content bucket, read back byte for byte and deleted (not in check mode).
  - The database through the pooler and Redis - the app's readiness endpoint O(health_url) (the app runs inside the
    VPC, where they are; the controller usually is not), each of its C(checks) C(ok).
author: DirectFanz platform team (@directfanz)
options:
  domain:
    description: The sending domain (the launch's domain).
    type: str
    required: true
  email_api_base:
    description: The e-mail provider's API.
    type: str
    default: https://api.sendgrid.com
  email_api_key:
    description: The provider's API key (the app's C(SENDGRID_API_KEY)). Unset - the e-mail cases fail, naming it.
    type: str
  api_resolvers:
    description: Resolvers for the provider's API host (empty - the system's; the new zone's servers do not recurse).
    type: list
    elements: str
    default: []
  resolvers:
    description: Resolvers for the platform's names and the zone's records (address or address:port).
    type: list
    elements: str
    default: []
  ca_file:
    description: CA bundle for the platform's TLS (empty - the system store).
    type: str
  health_url:
    description: The app's readiness endpoint, answering C({checks - {database, redis} - {status}}).
    type: str
    required: true
  content_bucket:
    description: The content bucket the probe object goes to. Unset - the S3 case fails, naming it.
    type: str
  probe_prefix:
    description: The key prefix of the probe object (kept short-lived - deleted at once).
    type: str
    default: launch-validate/
  timeout:
    description: Seconds per request.
    type: int
    default: 10
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads as usual; the S3 probe (a write) is C(not_run).
  diff_mode:
    support: none
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Prove e-mail, S3, the database through the pooler and Redis
  directfanz.launch.validate_integrations:
    domain: example.com
    email_api_key: "{{ sendgrid_key }}"
    health_url: https://api.example.com/health/deep
    content_bucket: example-content-123456789012
  no_log: true
"""

RETURN = r"""
cases:
  description: One case per integration (docs/validate.md).
  returned: always
  type: list
  elements: dict
"""

import uuid

try:
    import dns.exception
except ImportError:  # dnsquery (below) needs dnspython too; the collection's requirements.txt brings it
    pass

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils import validate_net as net
from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import make_resolver
from ansible_collections.directfanz.launch.plugins.module_utils.plan import AWS_ERRORS, retrying_client
from ansible_collections.directfanz.launch.plugins.module_utils.validate_checks import case, redact, truncate


def integration(cid, name, ok, message="", evidence=None, status=None):
    return case(cid, "integrations", "4.5", name, status or ("pass" if ok else "fail"), message=message,
                evidence=evidence)


def record_value(rtype, rdata):
    """An answer as the provider writes the record's data: a CNAME's or MX's target host (lower case, no final dot, no
    preference), a TXT's strings joined."""
    if rtype == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if rtype == "MX":
        return rdata.exchange.to_text().rstrip(".").lower()
    return rdata.to_text().rstrip(".").lower()


def email_cases(p, api, zone_dns):
    """The provider's key and the domain's authentication, with its records looked up in the zone."""
    if not p["email_api_key"]:
        return [integration("email key", "The e-mail provider's API key may send", False,
                            "no e-mail API key (the app's SENDGRID_API_KEY secret) was given")]
    headers = {"Authorization": "Bearer %s" % p["email_api_key"]}
    base = p["email_api_base"].rstrip("/")
    out = []
    try:
        answer = net.retrying(lambda: api.get(base + "/v3/scopes", headers=headers, timeout=p["timeout"]))
        scopes = answer.json().get("scopes", []) if answer.status_code == 200 else []
        out.append(integration("email key", "The e-mail provider's API key may send", "mail.send" in scopes,
                               "GET /v3/scopes answered %s; scopes %s" % (answer.status_code, scopes[:10]),
                               {"status": answer.status_code, "mail.send": "mail.send" in scopes}))
        answer = net.retrying(lambda: api.get(base + "/v3/whitelabel/domains", headers=headers, timeout=p["timeout"]))
        domains = answer.json() if answer.status_code == 200 else []
    except Exception as exc:  # noqa: BLE001 - any failure to reach the provider is the case's failure
        return out + [integration("email provider", "The e-mail provider answers", False, net.error_text(exc))]
    ours = [d for d in domains if isinstance(d, dict) and str(d.get("domain", "")).lower() == p["domain"]]
    if not ours:
        out.append(integration("email domain", "The sending domain %s is authenticated" % p["domain"], False,
                               "the provider lists no authenticated domain %s" % p["domain"],
                               {"domains": [d.get("domain") for d in domains if isinstance(d, dict)][:10]}))
        return out
    entry = ours[0]
    missing, found = [], []
    for key, record in sorted((entry.get("dns") or {}).items()):
        host, rtype, data = record.get("host", ""), str(record.get("type", "")).upper(), record.get("data", "")
        try:
            answers = zone_dns.resolve(host, rtype, raise_on_no_answer=False)
            have = [record_value(rtype, a) for a in (answers.rrset or [])]
        except (dns.exception.DNSException, ValueError) as exc:
            have = ["(%s)" % type(exc).__name__]
        want = data.rstrip(".").lower() if rtype in ("CNAME", "MX") else data
        present = want in have
        if rtype == "TXT" and data.startswith("v=spf1"):
            # an SPF record the provider asks for is met by the domain's one SPF record including what it names
            needed = [t for t in data.split() if t.startswith(("include:", "a:", "ip4:", "ip6:"))]
            present = any(v.startswith("v=spf1") and all(t in v.split() for t in needed) for v in have)
        (found if present else missing).append("%s %s %s" % (key, rtype, host))
    ok = bool(entry.get("valid")) and not missing and bool(found)
    out.append(integration("email domain", "The sending domain %s is authenticated, its DKIM records in the zone"
                           % p["domain"], ok, "valid %s; records missing from the zone: %s"
                           % (entry.get("valid"), ", ".join(missing) or "none"),
                           {"valid": entry.get("valid"), "found": found, "missing": missing}))
    return out


def health_cases(p, platform):
    try:
        answer = platform.get(p["health_url"], timeout=p["timeout"])
        body = answer.json()
    except Exception as exc:  # noqa: BLE001 - unreachable or not JSON: both cases fail with the reason
        text = net.error_text(exc)
        return [integration(c, title, False, "%s: %s" % (p["health_url"], text)) for c, title in (
            ("database via pooler", "The app reaches the database through PgBouncer"),
            ("redis", "The app reaches Redis"))]
    checks = body.get("checks") or {}
    out = []
    for key, cid, title in (("database", "database via pooler", "The app reaches the database through PgBouncer"),
                            ("redis", "redis", "The app reaches Redis")):
        check = checks.get(key) or {}
        ok = check.get("status") == "ok"
        out.append(integration(cid, title, ok, "%s answered %s; %s: %s" % (
            p["health_url"], answer.status_code, key, truncate(str(check.get("error") or check.get("status")))),
            {"url": p["health_url"], "status": answer.status_code, key: {
                k: check.get(k) for k in ("status", "latency_ms", "target")}}))
    return out


def s3_case(module, p):
    title = "A probe object is written to, read from and deleted from the content bucket"
    if not p["content_bucket"]:
        return integration("s3 probe", title, False, "no content bucket was given")
    if module.check_mode:
        return integration("s3 probe", title, False, "check mode", status="not_run")
    s3 = retrying_client(module, "s3")
    key = "%sprobe-%s" % (p["probe_prefix"], uuid.uuid4().hex)
    body = uuid.uuid4().bytes * 4
    steps = []
    try:
        s3.put_object(aws_retry=True, Bucket=p["content_bucket"], Key=key, Body=body)
        steps.append("put")
        got = s3.get_object(aws_retry=True, Bucket=p["content_bucket"], Key=key)["Body"].read()
        steps.append("get")
        same = got == body
    except AWS_ERRORS as exc:
        return integration("s3 probe", title, False, "%s of s3://%s/%s failed: %s" % (
            "put" if not steps else "get", p["content_bucket"], key, exc), {"steps": steps})
    finally:
        if steps:
            try:
                s3.delete_object(aws_retry=True, Bucket=p["content_bucket"], Key=key)
                steps.append("delete")
            except AWS_ERRORS as exc:
                steps.append("delete failed: %s" % exc)
    ok = same and steps[-1] == "delete"
    return integration("s3 probe", title, ok, "read back %s, steps %s" % ("equal" if same else "DIFFERENT", steps),
                       {"bucket": p["content_bucket"], "key": key, "steps": steps, "bytes": len(body)})


def main():
    module = AnsibleAWSModule(argument_spec=dict(
        domain=dict(type="str", required=True),
        email_api_base=dict(type="str", default="https://api.sendgrid.com"),
        email_api_key=dict(type="str", no_log=True),
        api_resolvers=dict(type="list", elements="str", default=[]),
        resolvers=dict(type="list", elements="str", default=[]),
        ca_file=dict(type="str"),
        health_url=dict(type="str", required=True),
        content_bucket=dict(type="str"),
        probe_prefix=dict(type="str", default="launch-validate/"),
        timeout=dict(type="int", default=10),
    ), supports_check_mode=True)
    p = module.params
    p["domain"] = p["domain"].lower().rstrip(".")
    problems = net.resolver_problems(p["resolvers"]) + net.resolver_problems(p["api_resolvers"])
    for option in ("email_api_base", "health_url"):
        problem = net.url_problem(p[option])
        if problem:
            problems.append("%s: %s" % (option, problem))
    if not 1 <= p["timeout"] <= 120:
        problems.append("timeout must be 1-120 seconds (got %s)" % p["timeout"])
    if problems:
        module.fail_json(msg="validate_integrations: " + "; ".join(problems) + ". Nothing was called.")
    api = net.session(net.NameResolver(p["api_resolvers"]))
    platform = net.session(net.NameResolver(p["resolvers"]), ca_file=p["ca_file"] or None)
    zone_dns = make_resolver(p["resolvers"], timeout=3.0)
    cases = email_cases(p, api, zone_dns) + health_cases(p, platform) + [s3_case(module, p)]
    secrets = [p["email_api_key"]] if p["email_api_key"] else []
    module.exit_json(changed=False, cases=redact(cases, secrets))


if __name__ == "__main__":
    main()
