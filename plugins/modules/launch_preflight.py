#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: launch_preflight
short_description: Check a launch's inputs, endpoints and AWS identity before anything is changed
version_added: 0.1.0
description:
  - Validates the launch's inputs (domain, region, subdomains, DNS server addresses) before any API call
    and reports every problem at once.
  - Guards the environment. A C(sandbox) run must point every endpoint at loopback (the AWS endpoint of
    the module, the E(AWS_ENDPOINT_URL) every other AWS client uses, the Hostinger API, the DNS servers)
    and must not carry real-looking AWS keys. A C(production) run must not carry endpoint overrides.
  - Then asks STS who the credentials are and, when O(aws_account_id) is set, refuses another account.
  - Changes nothing.
author: DirectFanz platform team (@directfanz)
options:
  environment:
    description: Which environment the inventory describes.
    type: str
    required: true
    choices: [sandbox, production]
  domain:
    description: The domain being launched.
    type: str
    required: true
  subdomains:
    description: Subdomains the platform serves, relative to O(domain) (C(api), C(ws), C(stream)).
    type: list
    elements: str
    default: []
  aws_account_id:
    description: When set, the AWS account the credentials must belong to (12 digits).
    type: str
  hostinger_api_url:
    description: The Hostinger API base URL the run will use (empty means the public API).
    type: str
    default: ""
  dns_servers:
    description: DNS servers the run will query (C(IP), C(IP:PORT), C([IPv6]:PORT) or C({address, port, name})).
    type: list
    elements: raw
    default: []
  admin_emails:
    description: The administrators' addresses that alerts go to; each must look like an e-mail address.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
"""

EXAMPLES = r"""
- name: Check inputs, endpoints and the AWS account before the launch
  directfanz.launch.launch_preflight:
    environment: production
    domain: example.com
    subdomains: [api, ws, stream]
    aws_account_id: "123456789012"
"""

RETURN = r"""
account_id:
  description: The AWS account of the credentials.
  returned: success
  type: str
arn:
  description: The identity (ARN) of the credentials.
  returned: success
  type: str
domain:
  description: The domain, lower-case without trailing dot.
  returned: success
  type: str
checks:
  description: Each check that passed, in words.
  returned: success
  type: list
  elements: str
"""

import os
import re

try:
    import boto3
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.directfanz.launch.plugins.module_utils.dnsquery import is_loopback_server, parse_server
from ansible_collections.directfanz.launch.plugins.module_utils.hostinger import PUBLIC_API_URL
from ansible_collections.directfanz.launch.plugins.module_utils.validation import (
    EMAIL, domain_problem, is_loopback_host, region_problem, subdomain_problem, url_host)

REAL_KEY = re.compile(r"^(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}$")


def input_problems(p):
    problems = []
    problem = domain_problem(p["domain"])
    if problem:
        problems.append("domain %r: %s" % (p["domain"], problem))
    regions = boto3.session.Session().get_available_regions("ec2")
    problem = region_problem(p["region"], regions)
    if problem:
        problems.append(problem)
    for sub in p["subdomains"]:
        problem = subdomain_problem(sub)
        if problem:
            problems.append(problem)
    if len(set(s.lower() for s in p["subdomains"])) != len(p["subdomains"]):
        problems.append("subdomains %s list a name twice" % p["subdomains"])
    if p["aws_account_id"] and not re.match(r"^\d{12}$", p["aws_account_id"]):
        problems.append("aws_account_id %r is not a 12-digit AWS account id" % p["aws_account_id"])
    for server in p["dns_servers"]:
        try:
            parse_server(server)
        except ValueError as exc:
            problems.append(str(exc))
    for address in p["admin_emails"]:
        if not EMAIL.match(address):
            problems.append("admin e-mail address %r is not an address like ops@example.com" % address)
    return problems


def endpoint_env():
    return dict((k, v) for k, v in os.environ.items() if k == "AWS_ENDPOINT_URL" or k.startswith("AWS_ENDPOINT_URL_"))


def sandbox_problems(p):
    problems = []
    if not p["endpoint_url"]:
        problems.append("no AWS endpoint is set: the sandbox is not running or the inventory does not point at it"
                        " (run `make sandbox-up`, or `make sandbox`)")
    elif not is_loopback_host(url_host(p["endpoint_url"])):
        problems.append("the AWS endpoint %s is not on loopback; a sandbox only talks to its local moto server"
                        % p["endpoint_url"])
    env = endpoint_env()
    if "AWS_ENDPOINT_URL" not in env:
        problems.append("AWS_ENDPOINT_URL is not set in the environment, so an AWS client outside our module"
                        " groups could reach real AWS; set it to the sandbox's moto URL")
    for name, url in sorted(env.items()):
        if not is_loopback_host(url_host(url)):
            problems.append("%s=%s is not on loopback" % (name, url))
    if not p["hostinger_api_url"] or not is_loopback_host(url_host(p["hostinger_api_url"])):
        problems.append("the Hostinger API URL %r is not the loopback simulator"
                        % (p["hostinger_api_url"] or PUBLIC_API_URL))
    for server in p["dns_servers"]:
        try:
            if not is_loopback_server(server):
                problems.append("DNS server %s is not on loopback" % (server,))
        except ValueError:
            pass  # reported with the inputs
    for key in (p["access_key"], os.environ.get("AWS_ACCESS_KEY_ID")):
        if key and REAL_KEY.match(key):
            problems.append("a real-looking AWS access key (%s...) is configured; the sandbox uses dummy"
                            " credentials only" % key[:4])
    if p["profile"] or os.environ.get("AWS_PROFILE"):
        problems.append("an AWS profile is configured; the sandbox uses dummy credentials only")
    return problems


def production_problems(p):
    problems = []
    if p["endpoint_url"]:
        problems.append("an AWS endpoint override (%s) is set for production; remove launch_aws_endpoint_url"
                        % p["endpoint_url"])
    for name, url in sorted(endpoint_env().items()):
        problems.append("%s=%s is set in the environment; production must use AWS's own endpoints" % (name, url))
    if p["hostinger_api_url"] and p["hostinger_api_url"].rstrip("/") != PUBLIC_API_URL:
        problems.append("the Hostinger API URL is overridden (%s); production uses %s"
                        % (p["hostinger_api_url"], PUBLIC_API_URL))
    return problems


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            environment=dict(type="str", required=True, choices=["sandbox", "production"]),
            domain=dict(type="str", required=True),
            subdomains=dict(type="list", elements="str", default=[]),
            aws_account_id=dict(type="str"),
            hostinger_api_url=dict(type="str", default=""),
            dns_servers=dict(type="list", elements="raw", default=[]),
            admin_emails=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = input_problems(p)
    guard = sandbox_problems(p) if p["environment"] == "sandbox" else production_problems(p)
    if problems or guard:
        module.fail_json(msg="preflight refused the run (%s): %s" % (p["environment"], "; ".join(problems + guard)),
                         problems=problems + guard)

    checks = ["domain, region, subdomains and DNS server addresses are valid",
              "every endpoint is on loopback with dummy credentials" if p["environment"] == "sandbox"
              else "no endpoint overrides: AWS and Hostinger are reached at their public endpoints"]
    sts = module.client("sts", retry_decorator=AWSRetry.jittered_backoff())
    try:
        identity = sts.get_caller_identity(aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not verify the AWS credentials with STS GetCallerIdentity")
    if p["aws_account_id"] and identity["Account"] != p["aws_account_id"]:
        module.fail_json(msg="the AWS credentials belong to account %s, not %s (aws_account_id); refusing to"
                             " launch into the wrong account" % (identity["Account"], p["aws_account_id"]),
                         account_id=identity["Account"])
    checks.append("AWS credentials are valid for account %s (%s)" % (identity["Account"], identity["Arn"]))
    module.exit_json(changed=False, account_id=identity["Account"], arn=identity["Arn"],
                     domain=p["domain"].lower().rstrip("."), region=p["region"], environment=p["environment"],
                     checks=checks)


if __name__ == "__main__":
    main()
