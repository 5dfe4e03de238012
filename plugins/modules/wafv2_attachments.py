#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wafv2_attachments
short_description: Make a WAFv2 web ACL's logging configuration and its resource associations what the task says
version_added: 0.2.0
description:
  - In one call, sends a WAFv2 web ACL's logs to one destination with the given headers redacted (or deletes its
    logging configuration), and associates the web ACL with the listed regional resources (Application Load
    Balancers, API Gateway stages, ...).
  - community.aws.wafv2_web_acl manages the web ACL itself; nothing in amazon.aws or community.aws manages its
    logging configuration, and community.aws.wafv2_resources lists the associated resources first
    (ListResourcesForWebACL), a call not every endpoint offers.
  - Every input is checked before the first AWS call; all problems are reported together, each with what is
    accepted. Then everything is read, the plan is made, and a conflict (a listed resource protected by another
    web ACL) fails the task before anything is changed.
  - The client always works in the region of O(web_acl_arn), whatever O(region) says - for a global
    (CloudFront) web ACL that is C(us-east-1).
  - Only the listed resources are looked at (GetWebACLForResource, one per resource). The module never lists
    what else the web ACL protects, so it cannot remove associations it is not told about and offers no purge;
    detach a resource with C(aws wafv2 disassociate-web-acl) or by deleting it.
  - When logging is enabled, the parts of an existing logging configuration this module does not manage (its
    logging filter, redacted fields other than single headers, log type and scope) are kept.
author: DirectFanz platform team (@directfanz)
options:
  web_acl_arn:
    description:
      - ARN of the web ACL, C(arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>), or
        C(arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>) for a CloudFront web ACL.
    type: str
    required: true
  log_destination_arns:
    description:
      - Where the web ACL's logs go; WAF takes exactly one destination, so give one ARN, or none to leave the
        logging configuration as it is (with O(logging=true)).
      - Accepted, each named C(aws-waf-logs-...) as WAF requires - a CloudWatch Logs group in the web ACL's
        region, C(arn:aws:logs:<region>:<account>:log-group:aws-waf-logs-<name>) (a trailing C(:*) is removed);
        a Firehose stream in the web ACL's region,
        C(arn:aws:firehose:<region>:<account>:deliverystream/aws-waf-logs-<name>); an S3 bucket,
        C(arn:aws:s3:::aws-waf-logs-<name>).
    type: list
    elements: str
    default: []
  logging:
    description:
      - C(true) logs to the destination in O(log_destination_arns) (nothing is done to logging when that is empty);
        C(false) deletes the web ACL's logging configuration, and then O(log_destination_arns) must be empty.
    type: bool
    default: true
  redacted_headers:
    description:
      - Request headers whose values WAF replaces with C(REDACTED) in the logs, compared case-insensitively.
        Applied only when logging to a destination.
    type: list
    elements: str
    default: [authorization, cookie]
  resource_arns:
    description:
      - Resources to associate with the web ACL, in its region - Application Load Balancers, API Gateway REST API
        stages, AppSync GraphQL APIs, Cognito user pools, App Runner services, Verified Access instances or
        Amplify apps. Resources associated with the web ACL but not listed are left alone.
      - Only for a regional web ACL. A CloudFront distribution takes a global web ACL through its own
        C(WebACLId) (for example the C(web_acl_id) of community.aws.cloudfront_distribution), never through
        this call.
    type: list
    elements: str
    default: []
  replace_other_associations:
    description:
      - A listed resource protected by another web ACL is moved to this one only when C(true) (it is
        disassociated from the other web ACL, then associated with this one - unprotected for that moment).
        When C(false), such a resource fails the task, naming the resource and the other web ACL, before anything
        is changed.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Reads the web ACL, its logging configuration and the listed resources' web ACLs, and reports the
      planned RV(actions); changes nothing.
  diff_mode:
    support: full
    description: Shows the logging destinations, the redacted headers and the listed resources' web ACLs before
      and after.
"""

EXAMPLES = r"""
- name: Log the regional web ACL to its log group and protect the load balancer with it
  directfanz.launch.wafv2_attachments:
    web_acl_arn: "{{ regional_acl.arn }}"
    log_destination_arns: ["{{ waf_log_group.log_group_arn }}"]
    redacted_headers: [authorization, cookie, x-api-key]
    resource_arns: ["{{ alb.load_balancer_arn }}"]

- name: Log the CloudFront web ACL (the client works in us-east-1, the ARN's region)
  directfanz.launch.wafv2_attachments:
    web_acl_arn: arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/a1b2c3d4-5678-90ab-cdef-111122223333
    log_destination_arns: [arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-edge]

- name: Move the load balancer from the old web ACL to the new one
  directfanz.launch.wafv2_attachments:
    web_acl_arn: "{{ new_acl.arn }}"
    resource_arns: ["{{ alb.load_balancer_arn }}"]
    replace_other_associations: true

- name: Stop logging
  directfanz.launch.wafv2_attachments:
    web_acl_arn: "{{ regional_acl.arn }}"
    logging: false
"""

RETURN = r"""
web_acl_arn:
  description: ARN of the web ACL.
  returned: always
  type: str
  sample: arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/app/a1b2c3d4-5678-90ab-cdef-111122223333
logging:
  description: The web ACL's logging after the run (in check mode, what it would be).
  returned: always
  type: dict
  contains:
    destinations:
      description: The log destination ARNs; empty when the web ACL does not log.
      type: list
      elements: str
      sample: [arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-app]
    redacted_headers:
      description: The redacted headers, lower case and sorted.
      type: list
      elements: str
      sample: [authorization, cookie]
associations:
  description: The listed resources, which are associated with this web ACL after the run (in check mode, would
    be). Other resources the web ACL protects are not looked at, so they are not listed.
  returned: always
  type: list
  elements: str
actions:
  description: What was done (in check mode, what would be done), one sentence each; empty when nothing changes.
  returned: always
  type: list
  elements: str
  sample: ["enable logging to arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-app",
           "associate arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/app/50dc6c495c0c9188"]
"""

import re

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan, apply, finish, refuse, retrying_client

PREFIX = "aws-waf-logs-"
ACL_ARN = re.compile(r"^arn:(?P<partition>aws[-a-z]*):wafv2:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):(?P<account>\d{12}):"
                     r"(?P<scope>global|regional)/webacl/(?P<name>[\w-]{1,128})/(?P<id>[0-9a-f-]{1,36})$")
ACL_ACCEPTED = ("arn:aws:wafv2:<region>:<12-digit account>:regional/webacl/<name>/<id>, or"
                " arn:aws:wafv2:us-east-1:<12-digit account>:global/webacl/<name>/<id> for CloudFront")
DESTINATIONS = {
    "logs": re.compile(r"^arn:(?P<partition>aws[-a-z]*):logs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                       r"log-group:(?P<name>[\w./#-]{1,512})$"),
    "firehose": re.compile(r"^arn:(?P<partition>aws[-a-z]*):firehose:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                           r"deliverystream/(?P<name>[\w.-]{1,64})$"),
    "s3": re.compile(r"^arn:(?P<partition>aws[-a-z]*):s3:::(?P<name>[a-z0-9.-]{3,63})$"),
}
KINDS = {"logs": "CloudWatch Logs group", "firehose": "Firehose stream", "s3": "S3 bucket"}
DESTINATION_ACCEPTED = ("a CloudWatch Logs group arn:aws:logs:{region}:<account>:log-group:aws-waf-logs-<name>,"
                        " a Firehose stream arn:aws:firehose:{region}:<account>:deliverystream/aws-waf-logs-<name>"
                        " or an S3 bucket arn:aws:s3:::aws-waf-logs-<name>")
RESOURCE_ARN = re.compile(r"^arn:(?P<partition>aws[-a-z]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
                          r"(?P<account>\d{12})?:(?P<rest>.+)$")
RESOURCES = [  # (service, the rest of the ARN) of what AssociateWebACL protects
    ("elasticloadbalancing", re.compile(r"^loadbalancer/app/[^/]+/[^/]+$")),
    ("apigateway", re.compile(r"^/restapis/[^/]+/stages/[^/]+$")),
    ("appsync", re.compile(r"^apis/[^/]+$")),
    ("cognito-idp", re.compile(r"^userpool/[^/]+$")),
    ("apprunner", re.compile(r"^service/[^/]+/[^/]+$")),
    ("ec2", re.compile(r"^verified-access-instance/[^/]+$")),
    ("amplify", re.compile(r"^apps/[^/]+$")),
]
RESOURCE_ACCEPTED = ("ARNs in {region} of an Application Load Balancer (...:loadbalancer/app/<name>/<id>), an API"
                     " Gateway REST API stage (...::/restapis/<id>/stages/<stage>), an AppSync GraphQL API, a Cognito"
                     " user pool, an App Runner service, a Verified Access instance or an Amplify app")
HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
MAX_REDACTED = 100
KEPT_KEYS = ("LoggingFilter", "LogType", "LogScope")  # parts of a logging configuration we keep as they are
MISSING = "missing"  # GetWebACLForResource's answer for a resource WAF does not know


def parse_acl_arn(arn):
    """The parts of a web ACL ARN (partition, region, account, scope, name, id), or None."""
    match = ACL_ARN.match(arn or "")
    return match.groupdict() if match else None


def normalise_destination(arn):
    """A log group ARN as WAF keeps it: without the ``:*`` that CloudWatch Logs puts on its ARNs."""
    arn = (arn or "").strip()
    if ":logs:" in arn and arn.endswith(":*"):
        arn = arn[:-2]
    return arn


def destination_problem(arn, acl):
    """Why WAF would refuse this (normalised) log destination for this web ACL, or None."""
    region = acl["region"] if acl else "<web ACL region>"
    accepted = "accepted: " + DESTINATION_ACCEPTED.format(region=region)
    for kind, pattern in DESTINATIONS.items():
        match = pattern.match(arn)
        if not match:
            continue
        found = match.groupdict()
        if not found["name"].startswith(PREFIX) or found["name"] == PREFIX:
            return ("log destination %s: the %s name %s does not start with %s (WAF logs only to destinations named"
                    " %s<name>); %s" % (arn, KINDS[kind], found["name"], PREFIX, PREFIX, accepted))
        if acl and found["partition"] != acl["partition"]:
            return "log destination %s is in partition %s, the web ACL in %s; %s" % (
                arn, found["partition"], acl["partition"], accepted)
        if acl and kind != "s3" and found["region"] != acl["region"]:
            return "log destination %s is in %s, but a %s must be in the web ACL's region; %s" % (
                arn, found["region"], KINDS[kind], accepted)
        return None
    return "log destination %r is not a log group, Firehose stream or S3 bucket ARN; %s" % (arn, accepted)


def resource_problem(arn, acl):
    """Why AssociateWebACL would refuse this resource for this (regional) web ACL, or None."""
    accepted = "accepted: " + RESOURCE_ACCEPTED.format(region=acl["region"] if acl else "the web ACL's region")
    match = RESOURCE_ARN.match(arn or "")
    if not match or not any(match["service"] == service and pattern.match(match["rest"])
                            for service, pattern in RESOURCES):
        return "resource %r cannot be protected by a regional web ACL; %s" % (arn, accepted)
    if acl and (match["partition"], match["region"]) != (acl["partition"], acl["region"]):
        return "resource %s is in %s, the web ACL in %s; a web ACL protects resources of its own region; %s" % (
            arn, match["region"], acl["region"], accepted)
    return None


def normalise_headers(names):
    """Header names as compared and sent: lower case, each once, sorted."""
    return sorted(set(n.strip().lower() for n in names))


def validate(params):
    """Check every input before any AWS call. Returns (wanted, problems): what the task asks for, normalised, and
    every problem found, each saying what is accepted."""
    problems = []
    acl = parse_acl_arn(params["web_acl_arn"])
    if acl is None:
        problems.append("web_acl_arn %r is not a WAFv2 web ACL ARN; accepted: %s" % (params["web_acl_arn"], ACL_ACCEPTED))
    elif acl["scope"] == "global" and acl["partition"] == "aws" and acl["region"] != "us-east-1":
        problems.append("web_acl_arn %s is a global (CloudFront) web ACL in %s, but those live in us-east-1;"
                        " accepted: %s" % (params["web_acl_arn"], acl["region"], ACL_ACCEPTED))
        acl = None

    destinations = [normalise_destination(a) for a in params["log_destination_arns"]]
    if len(destinations) > 1:
        problems.append("log_destination_arns has %d entries, but WAF logs to exactly one destination; accepted: one"
                        " ARN, or none to leave the logging configuration as it is" % len(destinations))
    for arn in destinations:
        problem = destination_problem(arn, acl)
        if problem:
            problems.append(problem)
    if not params["logging"] and destinations:
        problems.append("logging=false deletes the web ACL's logging configuration, so log_destination_arns must be"
                        " empty; accepted: logging=false without destinations, or logging=true with one")

    bad = [n for n in params["redacted_headers"] if not HEADER.match((n or "").strip())]
    if bad:
        problems.append("redacted_headers %s: not header names; accepted: 1 to 64 letters, digits and"
                        " !#$%%&'*+-.^_`|~ each" % ", ".join(repr(n) for n in bad))
    headers = normalise_headers(n for n in params["redacted_headers"] if n)
    if len(headers) > MAX_REDACTED:
        problems.append("redacted_headers has %d names; accepted: at most %d (WAF's limit of redacted fields)"
                        % (len(headers), MAX_REDACTED))

    resources = list(dict.fromkeys(a.strip() for a in params["resource_arns"]))
    if resources and acl and acl["scope"] == "global":
        problems.append("resource_arns cannot be used with the global (CloudFront) web ACL %s: a CloudFront"
                        " distribution takes it through its WebACLId (web_acl_id of the distribution), not through"
                        " AssociateWebACL; accepted: resource_arns only with a regional web ACL"
                        % params["web_acl_arn"])
    elif resources:
        problems.extend(p for p in (resource_problem(a, acl) for a in resources) if p)

    wanted = {"web_acl_arn": params["web_acl_arn"], "acl": acl, "logging": params["logging"],
              "destinations": destinations[:1], "redacted_headers": headers, "resources": resources,
              "replace": params["replace_other_associations"]}
    return wanted, problems


def logging_state(config):
    """The managed part of a logging configuration (None: the web ACL does not log)."""
    if not config:
        return None
    fields = config.get("RedactedFields") or []
    return {"destinations": [normalise_destination(a) for a in config.get("LogDestinationConfigs", [])],
            "redacted_headers": normalise_headers(f["SingleHeader"]["Name"] for f in fields if "SingleHeader" in f),
            "firewall_manager": bool(config.get("ManagedByFirewallManager")),
            "other_fields": [f for f in fields if "SingleHeader" not in f],
            "kept": {k: config[k] for k in KEPT_KEYS if k in config}}


def logging_request(wanted, current):
    """The LoggingConfiguration to put: ours, plus what we do not manage of the current one."""
    fields = [{"SingleHeader": {"Name": n}} for n in wanted["redacted_headers"]]
    fields += current["other_fields"] if current else []
    request = {"ResourceArn": wanted["web_acl_arn"], "LogDestinationConfigs": list(wanted["destinations"])}
    if fields:
        request["RedactedFields"] = fields
    request.update(current["kept"] if current else {})
    return request


def plan_attachments(wanted, current, associations):
    """What to change, from what the task wants and what is: ``current`` from logging_state, ``associations``
    the web ACL ARN (or None) of each listed resource. Returns the plan (a put or delete of the logging
    configuration, then an associate or a move per resource; problems for what must fail before changing
    anything) and the diff."""
    acl_arn = wanted["web_acl_arn"]
    plan = Plan()
    before_logging = {"logging": current["destinations"] if current else [],
                      "redacted_headers": current["redacted_headers"] if current else []}
    after_logging = dict(before_logging)
    texts = []
    if wanted["logging"] and wanted["destinations"]:
        after_logging = {"logging": list(wanted["destinations"]), "redacted_headers": list(wanted["redacted_headers"])}
        destination = wanted["destinations"][0]
        if current is None:
            texts.append("enable logging to %s, redacting headers: %s"
                         % (destination, ", ".join(wanted["redacted_headers"]) or "none"))
        else:
            if current["destinations"] != wanted["destinations"]:
                texts.append("change the logging destination from %s to %s"
                             % (", ".join(current["destinations"]) or "none", destination))
            if current["redacted_headers"] != wanted["redacted_headers"]:
                texts.append("redact headers %s instead of %s" % (", ".join(wanted["redacted_headers"]) or "none",
                                                                  ", ".join(current["redacted_headers"]) or "none"))
        if texts:
            plan.call("wafv2", "put_logging_configuration", texts, "put the logging configuration of %s" % acl_arn,
                      LoggingConfiguration=logging_request(wanted, current))
    elif not wanted["logging"] and current is not None:
        after_logging = {"logging": [], "redacted_headers": []}
        texts.append("disable logging to %s" % (", ".join(current["destinations"]) or "no destination"))
        plan.call("wafv2", "delete_logging_configuration", texts, "delete the logging configuration of %s" % acl_arn,
                  ResourceArn=acl_arn)
    if texts and current and current["firewall_manager"]:
        plan.problems.append("the logging configuration of %s is managed by AWS Firewall Manager (%s); change it in"
                             " the Firewall Manager policy instead" % (acl_arn, "; ".join(texts)))

    for resource in wanted["resources"]:
        other = associations.get(resource)
        if other == acl_arn:
            continue
        if other is None:
            plan.call("wafv2", "associate_web_acl", "associate %s" % resource,
                      "associate %s with %s" % (resource, acl_arn), WebACLArn=acl_arn, ResourceArn=resource)
        elif wanted["replace"]:
            plan.add("move", "associate %s (moving it from %s)" % (resource, other), resource=resource, other=other)
        else:
            plan.problems.append("resource %s is associated with another web ACL, %s; set replace_other_associations:"
                                 " true to move it to %s" % (resource, other, acl_arn))

    before = dict(before_logging, associations={r: associations.get(r) for r in wanted["resources"]})
    after = dict(after_logging, associations={r: acl_arn for r in wanted["resources"]})
    return plan, {"before": before, "after": after}


def error_code(e):
    return e.response.get("Error", {}).get("Code", "") if isinstance(e, botocore.exceptions.ClientError) else ""


def read_web_acl(module, waf, wanted):
    acl = wanted["acl"]
    try:
        waf.get_web_acl(Name=acl["name"], Id=acl["id"], Scope="CLOUDFRONT" if acl["scope"] == "global" else "REGIONAL",
                        aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        if error_code(e) == "WAFNonexistentItemException":
            module.fail_json(msg="web ACL %s does not exist in %s; create it first (community.aws.wafv2_web_acl)"
                                 % (wanted["web_acl_arn"], acl["region"]))
        module.fail_json_aws(e, msg="Could not read web ACL %s" % wanted["web_acl_arn"])


def read_logging(module, waf, acl_arn):
    try:
        return waf.get_logging_configuration(ResourceArn=acl_arn, aws_retry=True)["LoggingConfiguration"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        if error_code(e) == "WAFNonexistentItemException":
            return None  # the web ACL exists (read_web_acl), so it has no logging configuration
        module.fail_json_aws(e, msg="Could not read the logging configuration of %s" % acl_arn)


def read_association(module, waf, resource):
    """The ARN of the web ACL protecting the resource (None: none), or MISSING."""
    try:
        return waf.get_web_acl_for_resource(ResourceArn=resource, aws_retry=True).get("WebACL", {}).get("ARN")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        if error_code(e) == "WAFNonexistentItemException":
            return MISSING
        module.fail_json_aws(e, msg="Could not read the web ACL of %s" % resource)


def associate(module, waf, acl_arn, resource, moved_from=None):
    try:
        waf.associate_web_acl(WebACLArn=acl_arn, ResourceArn=resource, aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        note = (" (it was just disassociated from %s, so no web ACL protects it now: run the task again)" % moved_from
                if moved_from else "")
        module.fail_json_aws(e, msg="Could not associate %s with %s%s" % (resource, acl_arn, note))


def disassociate(module, waf, resource, other):
    try:
        waf.disassociate_web_acl(ResourceArn=resource, aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not disassociate %s from %s" % (resource, other))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            web_acl_arn=dict(type="str", required=True),
            log_destination_arns=dict(type="list", elements="str", default=[]),
            logging=dict(type="bool", default=True),
            redacted_headers=dict(type="list", elements="str", default=["authorization", "cookie"]),
            resource_arns=dict(type="list", elements="str", default=[]),
            replace_other_associations=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    wanted, problems = validate(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems), problems=problems)
    acl_arn = wanted["web_acl_arn"]
    waf = retrying_client(module, "wafv2", extra_codes=["WAFUnavailableEntityException"], retries=8, max_delay=20,
                          region=wanted["acl"]["region"])

    read_web_acl(module, waf, wanted)
    current = logging_state(read_logging(module, waf, acl_arn))
    associations = {r: read_association(module, waf, r) for r in wanted["resources"]}
    missing = [r for r, other in associations.items() if other == MISSING]
    plan, diff = plan_attachments(wanted, current, {r: other for r, other in associations.items() if other != MISSING})
    plan.problems[:0] = ["resource %s does not exist in %s (or WAF cannot protect it); accepted: %s"
                         % (r, wanted["acl"]["region"], RESOURCE_ACCEPTED.format(region=wanted["acl"]["region"]))
                         for r in missing]
    refuse(module, "wafv2_attachments %s" % acl_arn, plan)

    def move(step, real):
        # AssociateWebACL is not documented to replace another web ACL's association (and moto does not), so the
        # other one is removed first.
        disassociate(module, waf, step["resource"], step["other"])
        associate(module, waf, acl_arn, step["resource"], moved_from=step["other"])

    apply(module, plan, {"wafv2": waf}, handlers={"move": move})
    after = diff["after"]
    finish(module, plan, diff, web_acl_arn=acl_arn, associations=list(wanted["resources"]),
           logging={"destinations": after["logging"], "redacted_headers": after["redacted_headers"]})


if __name__ == "__main__":
    main()
