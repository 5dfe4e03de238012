#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cloudfront_distribution
short_description: A CloudFront distribution that compares only what the task sets
version_added: 0.2.0
description:
  - Creates or updates one CloudFront distribution, found again by the tags C(managed-by=directfanz.launch) and
    C(launch-distribution=<name>), and compares only the settings the task gives, after normalising the order
    of sets (aliases, methods, protocols, origins). A second run reports no change.
  - Why not community.aws.cloudfront_distribution - it compares its request with the whole configuration the
    service returns, so every default the service fills in (forwarded values, TTLs, trusted signers, origin
    timeouts, origin shield) is a difference and every run reports a change and sends an update; it also has no
    check mode.
  - Before any change it refuses an alias that another distribution of the account already holds, naming it; an
    alias held in another account (C(CNAMEAlreadyExists)) is reported the same way and nothing is left half-made.
  - Origins of O(origins[].type=s3) get an origin access control (C(<name>-s3), SigV4, always signing), made or
    reused here, so the bucket can refuse everything but this distribution.
  - An update merges the given settings into the current configuration; settings the task does not give
    (logging, restrictions, error pages unless O(error_responses) is given) stay as they are.
author: DirectFanz platform team (@directfanz)
options:
  name:
    description: Identifies the distribution (a tag) and is its comment.
    type: str
    required: true
  aliases:
    description: The distribution's alternate domain names.
    type: list
    elements: str
    default: []
  certificate_arn:
    description: ARN of an issued ACM certificate in us-east-1 covering every alias. Required with O(aliases).
    type: str
  minimum_protocol_version:
    description: Lowest TLS version offered to viewers.
    type: str
    default: TLSv1.2_2021
    choices: [TLSv1.2_2018, TLSv1.2_2019, TLSv1.2_2021, TLSv1.3_2025]
  http_version:
    description: HTTP versions offered to viewers.
    type: str
    default: http2and3
    choices: [http1.1, http2, http3, http2and3]
  price_class:
    description: Edge locations used; C(PriceClass_All) is every location.
    type: str
    default: PriceClass_All
    choices: [PriceClass_All, PriceClass_200, PriceClass_100]
  ipv6:
    description: Answer on IPv6 too.
    type: bool
    default: true
  web_acl_id:
    description: ARN of a WAFv2 web ACL in the CLOUDFRONT scope; empty for none.
    type: str
    default: ""
  default_root_object:
    description: Object served for the root URL; empty for none.
    type: str
    default: ""
  origins:
    description: The origins.
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description: Origin id, referred to by the behaviours.
        type: str
        required: true
      domain_name:
        description: The origin's host name (an S3 bucket's regional domain, a load balancer's DNS name).
        type: str
        required: true
      type:
        description: C(s3) for a bucket reached through an origin access control, C(custom) for an HTTP(S) origin.
        type: str
        choices: [s3, custom]
        default: custom
      origin_path:
        description: Path prefix added to requests to the origin.
        type: str
        default: ""
      protocol_policy:
        description: How CloudFront talks to a custom origin.
        type: str
        choices: [https-only, http-only, match-viewer]
        default: https-only
      read_timeout:
        description: Seconds a custom origin may take to answer (1-60; WebSocket frames are not bound by it).
        type: int
        default: 30
      keepalive_timeout:
        description: Seconds CloudFront keeps an idle connection to a custom origin (1-60).
        type: int
        default: 5
  default_behavior:
    description: The behaviour for paths no other behaviour matches.
    type: dict
    required: true
    suboptions:
      origin_id:
        description: Id of the origin requests go to.
        type: str
        required: true
      cache_policy_id:
        description: Cache policy id (for example the managed C(CachingOptimized) or C(CachingDisabled)).
        type: str
        required: true
      origin_request_policy_id:
        description: Origin request policy id; empty for none.
        type: str
        default: ""
      response_headers_policy_id:
        description: Response headers policy id (for example the managed C(SecurityHeadersPolicy)); empty for none.
        type: str
        default: ""
      viewer_protocol_policy:
        description: What a viewer's plain HTTP request gets.
        type: str
        choices: [redirect-to-https, https-only, allow-all]
        default: redirect-to-https
      allowed_methods:
        description: Methods passed on; C(GET), C(HEAD) (and C(OPTIONS)) are cached.
        type: list
        elements: str
        choices: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
        default: [GET, HEAD]
      compress:
        description: Compress what the cache policy allows.
        type: bool
        default: true
  behaviors:
    description: Path-specific behaviours, in precedence order.
    type: list
    elements: dict
    default: []
    suboptions:
      path_pattern:
        description: The path pattern, for example C(/static/*).
        type: str
        required: true
      origin_id:
        description: Id of the origin requests go to.
        type: str
        required: true
      cache_policy_id:
        description: Cache policy id.
        type: str
        required: true
      origin_request_policy_id:
        description: Origin request policy id; empty for none.
        type: str
        default: ""
      response_headers_policy_id:
        description: Response headers policy id; empty for none.
        type: str
        default: ""
      viewer_protocol_policy:
        description: What a viewer's plain HTTP request gets.
        type: str
        choices: [redirect-to-https, https-only, allow-all]
        default: redirect-to-https
      allowed_methods:
        description: Methods passed on.
        type: list
        elements: str
        choices: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
        default: [GET, HEAD]
      compress:
        description: Compress what the cache policy allows.
        type: bool
        default: true
  error_responses:
    description:
      - What viewers get instead of an error status (C(CustomErrorResponses)) - for example the maintenance page with
        a 503 when the load balancer answers 502/503/504 or cannot be reached, for every method (origin failover
        cannot serve writes, see docs/failover.md). Left as it is when not given; C([]) removes every custom error
        response.
    type: list
    elements: dict
    suboptions:
      error_code:
        description: The error status replaced (400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504).
        type: int
        required: true
      response_page_path:
        description: Path of the page served instead (matched by a behaviour like any request); empty for none.
        type: str
        default: ""
      response_code:
        description: Status sent with the page; required with O(error_responses[].response_page_path).
        type: int
      caching_min_ttl:
        description: Seconds CloudFront keeps the error before asking the origin again - short, so recovery shows soon.
        type: int
        default: 10
  enabled:
    description: Whether the distribution serves requests.
    type: bool
    default: true
  tags:
    description: Tags on a new distribution (the two identifying tags are always added).
    type: dict
    default: {}
  state:
    description: C(present) creates or updates; C(absent) disables, waits, then deletes ours.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait until the distribution is C(Deployed) after a change (never in check mode).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait; CloudFront deployments often take 5-15 minutes and sometimes longer.
    type: int
    default: 2400
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads the distribution and reports what would change; creates, updates and waits for nothing.
  diff_mode:
    support: full
    description: Shows the settings the task manages, as they are and as they would be.
"""

EXAMPLES = r"""
- name: The site's distribution
  directfanz.launch.cloudfront_distribution:
    name: example-production
    aliases: [example.com, www.example.com]
    certificate_arn: "{{ certificate_arn }}"
    web_acl_id: "{{ web_acl_arn }}"
    origins:
      - id: static
        type: s3
        domain_name: example-static.s3.us-east-1.amazonaws.com
      - id: app
        domain_name: "{{ alb_dns_name }}"
    default_behavior:
      origin_id: app
      cache_policy_id: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad  # CachingDisabled
      origin_request_policy_id: 216adef6-5c7f-47e4-b989-5492eafa07d3  # AllViewer
      allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
    behaviors:
      - path_pattern: /static/*
        origin_id: static
        cache_policy_id: 658327ea-f89d-4fab-a63d-7e88639e58f6  # CachingOptimized
"""

RETURN = r"""
id:
  description: Id of the distribution (empty in check mode before it exists).
  returned: always
  type: str
arn:
  description: ARN of the distribution.
  returned: always
  type: str
domain_name:
  description: The distribution's C(*.cloudfront.net) name, the target of alias records.
  returned: always
  type: str
hosted_zone_id:
  description: The Route 53 zone id of every CloudFront distribution, for alias records.
  returned: always
  type: str
status:
  description: C(Deployed) or C(InProgress).
  returned: always
  type: str
origin_access_control_id:
  description: Id of the origin access control used by the S3 origins, when there is one.
  returned: always
  type: str
changes:
  description: The top-level settings that differ (or would), by name.
  returned: always
  type: list
  elements: str
"""

import copy
import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.directfanz.launch.plugins.module_utils.cloudfront import (
    CLOUDFRONT_ZONE_ID, MANAGED_TAG, NAME_TAG, Distributions, find)
from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan, apply, finish, refuse

CACHED = ["GET", "HEAD", "OPTIONS"]
# The statuses CloudFront lets a custom error response replace (CustomErrorResponse.ErrorCode).
ERROR_CODES = (400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504)
# AWS always returns these; a server that leaves them out (moto drops both) cannot be compared on them.
SERVER_MAY_OMIT = ("OriginAccessControlId", "S3OriginConfig")


def items(values):
    return {"Quantity": len(values), "Items": list(values)}


def behavior_config(b, path_pattern=None):
    methods = sorted(set(b["allowed_methods"]) | {"GET", "HEAD"})
    cached = sorted(m for m in methods if m in CACHED)
    out = {"TargetOriginId": b["origin_id"], "ViewerProtocolPolicy": b["viewer_protocol_policy"],
           "AllowedMethods": dict(items(methods), CachedMethods=items(cached)),
           "Compress": b["compress"], "CachePolicyId": b["cache_policy_id"]}
    if b["origin_request_policy_id"]:
        out["OriginRequestPolicyId"] = b["origin_request_policy_id"]
    if b["response_headers_policy_id"]:
        out["ResponseHeadersPolicyId"] = b["response_headers_policy_id"]
    if path_pattern is not None:
        out = dict({"PathPattern": path_pattern}, **out)
    return out


def error_response(e):
    out = {"ErrorCode": e["error_code"], "ErrorCachingMinTTL": e["caching_min_ttl"]}
    if e["response_page_path"]:
        out.update(ResponsePagePath=e["response_page_path"], ResponseCode=str(e["response_code"]))
    return out


def origin_config(o, oac_id):
    out = {"Id": o["id"], "DomainName": o["domain_name"].lower().rstrip("."), "OriginPath": o["origin_path"]}
    if o["type"] == "s3":
        out["S3OriginConfig"] = {"OriginAccessIdentity": ""}
        out["OriginAccessControlId"] = oac_id
    else:
        out["CustomOriginConfig"] = {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": o["protocol_policy"],
                                     "OriginSslProtocols": items(["TLSv1.2"]),
                                     "OriginReadTimeout": o["read_timeout"],
                                     "OriginKeepaliveTimeout": o["keepalive_timeout"]}
    return out


def desired_config(p, oac_id):
    """The DistributionConfig settings the task manages (no CallerReference: that is set once, on create)."""
    config = {
        "Comment": "%s (managed by directfanz.launch)" % p["name"],
        "Enabled": p["enabled"],
        "Aliases": items(sorted(a.lower().rstrip(".") for a in p["aliases"])),
        "Origins": items(sorted((origin_config(o, oac_id) for o in p["origins"]), key=lambda o: o["Id"])),
        "DefaultCacheBehavior": behavior_config(p["default_behavior"]),
        "CacheBehaviors": items([behavior_config(b, b["path_pattern"]) for b in p["behaviors"]]),
        "PriceClass": p["price_class"],
        "HttpVersion": p["http_version"],
        "IsIPV6Enabled": p["ipv6"],
        "WebACLId": p["web_acl_id"],
        "DefaultRootObject": p["default_root_object"],
    }
    if p.get("error_responses") is not None:
        config["CustomErrorResponses"] = items([error_response(e) for e in sorted(p["error_responses"],
                                                                                  key=lambda e: e["error_code"])])
    if p["certificate_arn"]:
        config["ViewerCertificate"] = {"ACMCertificateArn": p["certificate_arn"], "SSLSupportMethod": "sni-only",
                                       "MinimumProtocolVersion": p["minimum_protocol_version"]}
    else:
        config["ViewerCertificate"] = {"CloudFrontDefaultCertificate": True}
    return config


def canonical(config):
    """Sets in a stable order, so the same settings compare equal whatever order the service returns."""
    config = copy.deepcopy(config)
    if isinstance(config.get("Aliases"), dict):
        config["Aliases"]["Items"] = sorted(config["Aliases"].get("Items") or [])
    if isinstance(config.get("Origins"), dict):
        config["Origins"]["Items"] = sorted(config["Origins"].get("Items") or [], key=lambda o: o.get("Id", ""))
        for origin in config["Origins"]["Items"]:
            protocols = origin.get("CustomOriginConfig", {}).get("OriginSslProtocols")
            if protocols:
                protocols["Items"] = sorted(protocols.get("Items") or [])
    if isinstance(config.get("CustomErrorResponses"), dict):
        config["CustomErrorResponses"]["Items"] = sorted(config["CustomErrorResponses"].get("Items") or [],
                                                         key=lambda e: e.get("ErrorCode", 0))
    behaviors = [config.get("DefaultCacheBehavior")] + list((config.get("CacheBehaviors") or {}).get("Items") or [])
    for b in behaviors:
        if isinstance(b, dict) and isinstance(b.get("AllowedMethods"), dict):
            methods = b["AllowedMethods"]
            methods["Items"] = sorted(methods.get("Items") or [])
            if isinstance(methods.get("CachedMethods"), dict):
                methods["CachedMethods"]["Items"] = sorted(methods["CachedMethods"].get("Items") or [])
    return config


def project(wanted, actual):
    """``actual`` cut down to the shape of ``wanted``: only what the task sets is compared."""
    if isinstance(wanted, dict):
        if not isinstance(actual, dict):
            return actual
        out = {}
        for key, value in wanted.items():
            if key not in actual and key in SERVER_MAY_OMIT:
                out[key] = value
            else:
                out[key] = project(value, actual.get(key))
        return out
    if isinstance(wanted, list):
        if not isinstance(actual, list) or len(actual) != len(wanted):
            return actual
        return [project(w, a) for w, a in zip(wanted, actual)]  # noqa: B905 - lengths checked above
    return actual


def differences(wanted, actual):
    """Top-level settings whose managed part differs, and the (before, after) of the managed part."""
    before = project(canonical(wanted), canonical(actual))
    after = canonical(wanted)
    return sorted(k for k in after if before.get(k) != after[k]), before, after


def merged(current, wanted):
    """The current configuration with each managed top-level setting replaced whole: a partial merge inside a
    behaviour could keep ForwardedValues beside a CachePolicyId, which CloudFront refuses."""
    out = copy.deepcopy(current)
    out.update(copy.deepcopy(wanted))
    return out


def input_problems(p, check_mode=False):
    problems = []
    ids = [o["id"] for o in p["origins"]]
    if len(set(ids)) != len(ids):
        problems.append("origin ids %s repeat one; each origin needs its own id" % ids)
    for o in p["origins"]:
        for key in ("read_timeout", "keepalive_timeout"):
            if not 1 <= o[key] <= 60:
                problems.append("origin %s: %s %d is outside 1-60 seconds" % (o["id"], key, o[key]))
    for b in [p["default_behavior"]] + p["behaviors"]:
        if b["origin_id"] not in ids:
            problems.append("behaviour %s targets origin %r, which is not one of the origins (%s)"
                            % (b.get("path_pattern", "default"), b["origin_id"], ", ".join(ids)))
    patterns = [b["path_pattern"] for b in p["behaviors"]]
    if len(set(patterns)) != len(patterns):
        problems.append("path patterns %s repeat one" % patterns)
    aliases = [a.lower().rstrip(".") for a in p["aliases"]]
    if len(set(aliases)) != len(aliases):
        problems.append("aliases %s list a name twice" % p["aliases"])
    # before the certificates phase has run, check mode may plan without the certificate
    if aliases and not p["certificate_arn"] and not check_mode:
        problems.append("aliases need certificate_arn: an issued ACM certificate in us-east-1 covering %s"
                        % ", ".join(aliases))
    arn = p["certificate_arn"] or ""
    if arn and not (arn.startswith("arn:aws") and ":acm:us-east-1:" in arn):
        problems.append("certificate_arn %s is not an ACM certificate in us-east-1; CloudFront takes only those" % arn)
    if ":regional/webacl/" in p["web_acl_id"]:
        problems.append("web_acl_id %s is a REGIONAL web ACL; CloudFront takes one in the CLOUDFRONT scope"
                        " (arn:aws:wafv2:us-east-1:ACCOUNT:global/webacl/...)" % p["web_acl_id"])
    codes = [e["error_code"] for e in p.get("error_responses") or []]
    if len(set(codes)) != len(codes):
        problems.append("error_responses list an error code twice: %s" % codes)
    for e in p.get("error_responses") or []:
        if e["error_code"] not in ERROR_CODES:
            problems.append("error_responses: error_code %s is not accepted; accepted: %s"
                            % (e["error_code"], ", ".join(str(c) for c in ERROR_CODES)))
        if e["response_page_path"] and not e["response_page_path"].startswith("/"):
            problems.append("error_responses %s: response_page_path %r must start with /"
                            % (e["error_code"], e["response_page_path"]))
        if bool(e["response_page_path"]) != (e["response_code"] is not None):
            problems.append("error_responses %s: give response_page_path and response_code together"
                            % e["error_code"])
        if e["response_code"] is not None and e["response_code"] not in (200,) + ERROR_CODES:
            problems.append("error_responses %s: response_code %s is not accepted; accepted: 200 or %s"
                            % (e["error_code"], e["response_code"], ", ".join(str(c) for c in ERROR_CODES)))
        if not 0 <= e["caching_min_ttl"] <= 31536000:
            problems.append("error_responses %s: caching_min_ttl %s is outside 0-31536000 seconds"
                            % (e["error_code"], e["caching_min_ttl"]))
    if p["wait_timeout"] < 1:
        problems.append("wait_timeout must be at least 1 second")
    return problems


def result_of(dist, oac_id, changes):
    return {"id": dist.get("Id", ""), "arn": dist.get("ARN", ""), "domain_name": dist.get("DomainName", ""),
            "status": dist.get("Status", ""), "hosted_zone_id": CLOUDFRONT_ZONE_ID,
            "origin_access_control_id": oac_id, "changes": changes}


def plan_distribution(p, aliases, state, caller_reference):
    """The plan from what was read (``state``: ``ours`` - our distribution's summary or None, ``conflicts`` -
    aliases held by distributions we did not make, ``oac_id`` - our origin access control's id or '', ``config``
    and ``etag`` of ours). Returns (plan, the changed settings, diff). Pure."""
    plan = Plan()
    ours = state["ours"]
    if p["state"] == "absent":
        if ours is not None:
            if state["config"]["Enabled"]:
                plan.add("disable", "disable distribution %s" % ours["Id"], id=ours["Id"])
            plan.add("delete", "delete distribution %s" % ours["Id"], id=ours["Id"])
        return plan, ["deleted"] if ours is not None else [], None
    if state["conflicts"]:
        plan.problems.append("%s; an alias can be on one distribution only: remove it there first"
                             % "; ".join("alias %s is already used by distribution %s (%s), which this collection did"
                                         " not make for %s" % (alias, other["Id"], other["DomainName"], p["name"])
                                         for alias, other in state["conflicts"]))
        return plan, [], None
    oac_id = state["oac_id"]
    if any(o["type"] == "s3" for o in p["origins"]) and not oac_id:
        name = "%s-s3" % p["name"]
        oac_id = plan.call("cloudfront", "create_origin_access_control", "create origin access control %s" % name,
                           "create origin access control %s" % name, out="origin access control " + name,
                           pick=("OriginAccessControl", "Id"), OriginAccessControlConfig={
                               "Name": name, "Description": "S3 origins of %s, signed by CloudFront (directfanz.launch)"
                               % name, "SigningProtocol": "sigv4", "SigningBehavior": "always",
                               "OriginAccessControlOriginType": "s3"})
        plan.ids["oac"] = oac_id
    wanted = desired_config(p, oac_id)
    if ours is None:
        tags = dict((k, str(v)) for k, v in p["tags"].items())
        tags.update({MANAGED_TAG[0]: MANAGED_TAG[1], NAME_TAG: p["name"]})
        changes = sorted(wanted)
        diff = {"before": {}, "after": canonical(wanted)}
        plan.add("create", "create the distribution for %s" % (", ".join(aliases) or p["name"]), out="distribution",
                 config=dict(wanted, CallerReference=caller_reference), tags=tags)
    else:
        changes, before, after = differences(wanted, state["config"])
        diff = {"before": before, "after": after}
        if changes:
            plan.add("update", "update distribution %s (%s)" % (ours["Id"], ", ".join(changes)), id=ours["Id"],
                     config=merged(state["config"], wanted), etag=state["etag"])
    if p["wait"] and changes:
        plan.add("wait_deployed", None, timeout=p["wait_timeout"])
    return plan, changes, diff


def main():
    behavior = dict(
        origin_id=dict(type="str", required=True),
        cache_policy_id=dict(type="str", required=True),
        origin_request_policy_id=dict(type="str", default=""),
        response_headers_policy_id=dict(type="str", default=""),
        viewer_protocol_policy=dict(type="str", default="redirect-to-https",
                                    choices=["redirect-to-https", "https-only", "allow-all"]),
        allowed_methods=dict(type="list", elements="str", default=["GET", "HEAD"],
                             choices=["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]),
        compress=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            aliases=dict(type="list", elements="str", default=[]),
            certificate_arn=dict(type="str"),
            minimum_protocol_version=dict(type="str", default="TLSv1.2_2021",
                                          choices=["TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.3_2025"]),
            http_version=dict(type="str", default="http2and3", choices=["http1.1", "http2", "http3", "http2and3"]),
            price_class=dict(type="str", default="PriceClass_All",
                             choices=["PriceClass_All", "PriceClass_200", "PriceClass_100"]),
            ipv6=dict(type="bool", default=True),
            web_acl_id=dict(type="str", default=""),
            default_root_object=dict(type="str", default=""),
            origins=dict(type="list", elements="dict", required=True, options=dict(
                id=dict(type="str", required=True),
                domain_name=dict(type="str", required=True),
                type=dict(type="str", choices=["s3", "custom"], default="custom"),
                origin_path=dict(type="str", default=""),
                protocol_policy=dict(type="str", choices=["https-only", "http-only", "match-viewer"],
                                     default="https-only"),
                read_timeout=dict(type="int", default=30),
                keepalive_timeout=dict(type="int", default=5),
            )),
            default_behavior=dict(type="dict", required=True, options=behavior),
            behaviors=dict(type="list", elements="dict", default=[],
                           options=dict(path_pattern=dict(type="str", required=True), **behavior)),
            error_responses=dict(type="list", elements="dict", options=dict(
                error_code=dict(type="int", required=True),
                response_page_path=dict(type="str", default=""),
                response_code=dict(type="int"),
                caching_min_ttl=dict(type="int", default=10),
            )),
            enabled=dict(type="bool", default=True),
            tags=dict(type="dict", default={}),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=2400),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p, module.check_mode)
    if problems:
        module.fail_json(msg="cloudfront_distribution %s: %s" % (p["name"], "; ".join(problems)), problems=problems)

    aliases = sorted(a.lower().rstrip(".") for a in p["aliases"])
    dists = Distributions(module)
    ours, conflicts = find(dists, p["name"], aliases)
    state = {"ours": ours, "conflicts": conflicts, "oac_id": "", "config": None, "etag": None}
    if p["state"] == "present" and any(o["type"] == "s3" for o in p["origins"]):
        state["oac_id"] = dists.find_origin_access_control("%s-s3" % p["name"])
    if ours is not None:
        state["config"], state["etag"] = dists.get_config(ours["Id"])
    plan, changes, diff = plan_distribution(p, aliases, state, "directfanz.launch-%s-%d"
                                            % (p["name"], int(time.time() * 1000)))
    refuse(module, "cloudfront_distribution %s" % p["name"], plan)

    outcome = {"dist": ours}

    def create(step, real):
        outcome["dist"] = dists.create(real(step["config"]), step["tags"], aliases)
        return outcome["dist"]["Id"]

    def update(step, real):
        outcome["dist"] = dists.update(step["id"], real(step["config"]), step["etag"], aliases)

    def disable(step, real):
        config, etag = dists.get_config(step["id"])
        config["Enabled"] = False
        dists.update(step["id"], config, etag, aliases)
        dists.wait_deployed(step["id"], p["wait_timeout"])

    def delete(step, real):
        dists.delete(step["id"], dists.get_config(step["id"])[1])

    def wait_deployed(step, real):
        outcome["dist"] = dists.wait_deployed(outcome["dist"]["Id"], step["timeout"])

    real = apply(module, plan, {"cloudfront": dists.cf}, handlers={
        "create": create, "update": update, "disable": disable, "delete": delete, "wait_deployed": wait_deployed})
    if p["state"] == "absent":
        finish(module, plan, **result_of(ours or {}, "", changes))
    dist = outcome["dist"] or {}
    if ours is not None and not changes:
        dist = dists.get(ours["Id"])  # its status now
    finish(module, plan, diff, **result_of(dist, real(plan.ids.get("oac", state["oac_id"])), changes))


if __name__ == "__main__":
    main()
