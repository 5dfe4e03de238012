# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure data shaping for the launch's roles: from the inventory's short settings to module arguments, and from
module results to the lines a person reads. Kept here rather than in Jinja loops inside YAML: ansible-core 2.19
renders a multi-statement template as a string, and a loop is easier to test as a function."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.directfanz.launch.plugins.module_utils.ecs import image_problem

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")

CERT_FIELDS = ("arn", "status", "renewal_eligibility", "not_after", "in_use_by", "validation_records")


def certificate_results(requested, waited=None):
    """Region -> certificate, from a looped acm_certificate request and the (possibly skipped) looped wait."""
    waited = (waited or {}).get("results") or []
    out = {}
    for i, first in enumerate(requested.get("results") or []):
        later = waited[i] if i < len(waited) else {"skipped": True}
        cert = first if later.get("skipped") else later
        out[first["item"]] = dict((k, cert.get(k, [] if k in ("in_use_by", "validation_records") else ""))
                                  for k in CERT_FIELDS)
    return out


def validation_record_sets(requested, ttl):
    """The distinct ACM validation CNAMEs of a looped acm_certificate request, as hostinger_dns_records sets
    (``{name, type, ttl, values}``): one per name - the wildcard and the apex share one, and so do the regions of one
    account. Empty when nothing was requested yet (check mode on a fresh account)."""
    sets = {}
    for result in (requested or {}).get("results") or []:
        for record in result.get("validation_records") or []:
            name = record["name"].lower().rstrip(".") + "."
            value = record["value"].lower().rstrip(".") + "."
            if name in sets and sets[name]["values"] != [value]:
                raise ValueError("ACM gave two validation values for %s: %s and %s" % (
                    name, sets[name]["values"][0], value))
            sets[name] = {"name": name, "type": record.get("type") or "CNAME", "ttl": int(ttl), "values": [value]}
    return [sets[name] for name in sorted(sets)]


def certificate_report(certificates, alerts, emails):
    """The certificates phase's closing lines: per region the wildcard certificate's status, names and expiry, whether
    its expiry alert is in place, and which administrators have not confirmed their SNS subscription yet."""
    lines = []
    for region in sorted(certificates):
        cert = certificates[region]
        expires = ", expires %s" % cert["not_after"] if cert["not_after"] else ""
        status = cert["status"] or "would be requested"
        lines.append("%s: %s, renewal %s%s, %s" % (region, status, cert["renewal_eligibility"] or "n/a", expires,
                                                   cert["arn"] or "-"))
    lines.append("ACM renews a certificate by itself only while it is in use and its validation CNAME stays in the"
                 " zone: INELIGIBLE is expected until the network and edge phases use it")
    for result in (alerts or {}).get("results") or []:
        pending = result.get("pending_confirmation") or []
        waiting = " (awaiting confirmation: %s)" % ", ".join(pending) if pending else ""
        topic = result.get("topic_arn", "?")
        lines.append("%s alerts: %s -> %s%s" % (result.get("item"), topic, ", ".join(emails), waiting))
    return lines


def target_groups(services, prefix):
    """``{web: {port: 3000, ...}}`` -> load_balancer target groups named ``<prefix>-<service>``."""
    return [dict(settings, name="%s-%s" % (prefix, service)) for service, settings in services.items()]


def host_rules(services, prefix, domain):
    """Each service answers at ``<service>.<domain>`` through its own target group."""
    return [{"hosts": ["%s.%s" % (service, domain)], "target_group": "%s-%s" % (prefix, service)}
            for service in services]


def waf_rules(managed_groups, rate_limit, window=300):
    """wafv2_web_acl rules: the AWS managed groups in priority order, then a per-IP rate limit that blocks: more than
    ``rate_limit`` requests in ``window`` seconds (60, 120, 300 or 600; 300 is AWS's default and is not sent)."""
    if int(window) not in (60, 120, 300, 600):
        raise AnsibleFilterError("waf_rules: the rate rule's window %s must be 60, 120, 300 or 600 seconds" % window)
    rate = {"limit": int(rate_limit), "aggregate_key_type": "IP"}
    if int(window) != 300:
        rate["evaluation_window_sec"] = int(window)

    def visibility(name):
        return {"sampled_requests_enabled": True, "cloud_watch_metrics_enabled": True, "metric_name": name}

    rules = [{"name": group, "priority": i, "override_action": {"none": {}}, "visibility_config": visibility(group),
              "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}}}
             for i, group in enumerate(managed_groups)]
    rules.append({"name": "rate-limit-per-ip", "priority": len(managed_groups), "action": {"block": {}},
                  "visibility_config": visibility("rate-limit-per-ip"),
                  "statement": {"rate_based_statement": rate}})
    return rules


def static_behaviors(paths, origin_id, cache_policy_id, response_headers_policy_id=""):
    """The distribution's cache behaviours for the static paths: one per path pattern, to the static origin, under the
    caching policy (and the response headers policy when given), compressed."""
    return [{"path_pattern": path, "origin_id": origin_id, "cache_policy_id": cache_policy_id, "compress": True,
             "response_headers_policy_id": response_headers_policy_id} for path in paths]


def alias_records(domain, edge_names, edge_target, lb_names, lb_target, ipv6=True):
    """Alias records: ``edge_names`` ('' is the apex) to CloudFront (A, and AAAA with ``ipv6``), ``lb_names`` to
    the load balancer (A). Targets are ``{hosted_zone_id, dns_name}``."""
    apex = domain.lower().rstrip(".") + "."
    out = []
    for label in edge_names:
        for rtype in ("A", "AAAA") if ipv6 else ("A",):
            out.append({"name": "%s.%s" % (label, apex) if label else apex, "type": rtype,
                        "alias": dict(edge_target, evaluate_target_health=False)})
    for label in lb_names:
        out.append({"name": "%s.%s" % (label, apex), "type": "A", "alias": dict(lb_target, evaluate_target_health=True)})
    return out


def comparable_records(record_sets, routed):
    """The cutover's "no record lost" list: every served name and type except NS/SOA and the address records
    (A, AAAA, CNAME, ALIAS) at names the launch routes itself (``routed``, absolute)."""
    routed = set(n.lower() for n in routed)
    out = []
    for rs in record_sets:
        if not rs.get("values") or rs["type"] in ("NS", "SOA"):
            continue
        if rs["name"].lower() in routed and rs["type"] in ("A", "AAAA", "CNAME", "ALIAS"):
            continue
        out.append({"name": rs["name"], "type": rs["type"]})
    return out


def continuity_questions(record_sets, routed):
    """What the cutover's continuity probe asks every resolver every second: the mail records (every MX and TXT set:
    SPF at the apex, DKIM under _domainkey, DMARC at _dmarc) and the address of every name the launch routes."""
    out, seen = [], set()
    for rs in record_sets or []:
        if rs.get("values") and rs["type"] in ("MX", "TXT"):
            seen.add((rs["name"].lower(), rs["type"]))
    for name in routed or []:
        seen.add((name.lower(), "A"))
    for name, rtype in sorted(seen):
        out.append({"name": name, "type": rtype})
    return out


def by_kind(resources):
    """long_creates' resources as kind -> id -> the resource, so a role reads
    ``long_creates_ready.rds['<id>'].endpoint``."""
    out = {"rds": {}, "redis": {}, "cloudfront": {}}
    for r in resources or []:
        out.setdefault(r["kind"], {})[r["id"]] = r
    return out


def platform_input_problems(settings):
    """What the platform phases would refuse late, found before any change (preflight): every service's image pinned
    (a tag that is not latest, or a digest; the pooler's and the one-off task's by digest in production) and RDS's CA
    bundle present, the month's budget above 0. ``settings``: environment, images (service -> reference), services
    (the names that need one), digest_only (names that must be pinned by digest in production), ca_file,
    ca_file_exists, monthly_budget and dr_region/region (checked when given)."""
    problems = []
    production = settings.get("environment") == "production"
    images = dict(settings.get("images") or {})
    for name in settings.get("services") or []:
        image = images.get(name) or ""
        where = "the image of %s (%s)" % (name, settings.get("image_vars", {}).get(name, "ecs_services_images.%s" % name))
        if not image:
            problems.append("%s is not set; accepted: <repository>:<tag> (not latest) or <repository>@sha256:<digest>"
                            % where)
            continue
        problem = image_problem(image, False)
        if problem:
            problems.append("%s: %s" % (where, problem))
        elif production and name in (settings.get("digest_only") or []) and not DIGEST.search(image):
            problems.append("%s: %r is pinned by tag; accepted in production: <repository>@sha256:<64 hex digits>"
                            % (where, image))
    if settings.get("dr_region") is not None and settings.get("dr_region") in ("", settings.get("region")):
        problems.append("launch_dr_region %r is not accepted; accepted: a region other than the launch's own (%s), where "
                        "backups are copied and the buckets replicated"
                        % (settings.get("dr_region"), settings.get("region")))
    if "monthly_budget" in settings:
        try:
            budget = float(settings["monthly_budget"])
        except (TypeError, ValueError):
            budget = 0.0
        if budget <= 0:
            problems.append("launch_monthly_budget %r is not accepted; accepted: the month's cost limit in USD, above 0"
                            % (settings["monthly_budget"],))
    if not settings.get("ca_file"):
        problems.append("rds_pgbouncer_server_ca_file is not set; accepted: the path of RDS's CA bundle for the region "
                        "(https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem)")
    elif not settings.get("ca_file_exists"):
        problems.append("rds_pgbouncer_server_ca_file %s does not exist; download RDS's CA bundle for the region "
                        "(https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem) there"
                        % settings["ca_file"])
    return problems


class FilterModule(object):
    def filters(self):
        return {
            "platform_input_problems": platform_input_problems,
            "certificate_results": certificate_results, "certificate_report": certificate_report,
            "validation_record_sets": validation_record_sets,
            "target_groups": target_groups, "host_rules": host_rules, "waf_rules": waf_rules,
            "static_behaviors": static_behaviors, "alias_records": alias_records,
            "comparable_records": comparable_records, "continuity_questions": continuity_questions,
            "by_kind": by_kind}
