#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: launch_facts
short_description: Find what earlier launch phases made (certificate, load balancer, distribution), read-only
version_added: 0.2.0
description:
  - One read-only call that finds the resources a phase builds on, so a tagged run (C(--tags edge),
    C(--tags dns_records)) works without the phases before it, and so DNS records are made from the live
    resources rather than from hand-copied host names.
  - Whatever does not exist yet comes back empty (never an error), so check mode on an empty account can still
    plan; the role decides whether a missing resource is fatal.
  - Why not the amazon.aws C(*_info) modules - C(elb_application_lb_info) fails when the named load balancer
    does not exist, there is no info module for our certificates or distributions by tag, and three info tasks
    cost three module start-ups.
author: DirectFanz platform team (@directfanz)
options:
  certificate_domain:
    description:
      - Find our issued or pending wildcard certificate C(*.<domain>) + C(<domain>) in each of
        O(certificate_regions).
    type: str
  certificate_regions:
    description: Regions to look for the certificate in.
    type: list
    elements: str
    default: [us-east-1]
  load_balancer_name:
    description: Name of the Application Load Balancer to find (in O(load_balancer_region)).
    type: str
  load_balancer_region:
    description: Region of the load balancer; defaults to O(region).
    type: str
  distribution_name:
    description: The C(launch-distribution) tag of the CloudFront distribution to find.
    type: str
  network_name:
    description:
      - The C(launch-network) name of the VPC network (the network phase's C(vpc_network)) to find, in O(region) - its
        VPC, subnets and security groups.
    type: str
  kms_aliases:
    description:
      - KMS key aliases (C(alias/<name>)) to find in each of O(kms_regions) - for example the operations key the
        certificates phase makes, whose ARN the log groups need (CloudWatch Logs takes no alias).
      - Only a key that is enabled counts (one pending deletion or disabled is as good as missing).
    type: list
    elements: str
    default: []
  kms_regions:
    description: Regions to look for O(kms_aliases) in; defaults to O(region).
    type: list
    elements: str
  zone_name:
    description:
      - The public Route 53 hosted zone to find by its exact name - its id, its delegation set and the names the
        launch routes itself (alias A/AAAA sets), as the cutover and the pre-switch validation need them.
    type: str
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
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Find the certificate and the load balancer the edge builds on
  directfanz.launch.launch_facts:
    certificate_domain: example.com
    load_balancer_name: example-alb
  register: found

- name: Find the operations key's ARN in both certificate regions
  directfanz.launch.launch_facts:
    kms_aliases: [alias/example-operations]
    kms_regions: [us-east-1, eu-west-1]
  register: keys   # keys.kms_keys['eu-west-1']['alias/example-operations'] is the key ARN
"""

RETURN = r"""
certificates:
  description: Region to our certificate C({arn, status}); regions without one are absent.
  returned: always
  type: dict
load_balancer:
  description:
    - C({arn, dns_name, canonical_hosted_zone_id, target_group_arns}) of the load balancer, or empty;
      C(target_group_arns) maps the name of each target group its listeners forward to onto its ARN.
  returned: always
  type: dict
distribution:
  description: C({id, arn, domain_name, hosted_zone_id, status}) of the distribution, or empty.
  returned: always
  type: dict
network:
  description:
    - C({vpc_id, public_subnet_ids, private_subnet_ids, security_group_ids}) of the network (subnets in zone order,
      security groups by their short name such as C(db)), or empty when O(network_name) is not given or the VPC does
      not exist.
  returned: always
  type: dict
kms_keys:
  description:
    - Region to a dict of alias to key ARN, for the O(kms_aliases) found enabled there; an alias not found is absent,
      a region with none of them maps to C({}).
  returned: always
  type: dict
  sample: {"eu-west-1": {"alias/example-operations": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-..."}}
zone:
  description:
    - C({id, name, name_servers, routed_names}) of the public zone O(zone_name) - C(name_servers) its delegation set
      and C(routed_names) the names with alias A/AAAA sets (CloudFront, the load balancer), both lowercase and sorted,
      the names absolute (C(api.example.com.)); empty when O(zone_name) is not given or there is no such zone.
  returned: always
  type: dict
  sample: {"id": "Z0123456789ABCDEFGHIJ", "name": "example.com.", "routed_names": ["api.example.com.", "example.com."],
           "name_servers": ["ns-1.awsdns-01.org", "ns-2.awsdns-02.net"]}
"""

import re

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.directfanz.launch.plugins.module_utils import acm, cloudfront, route53
from ansible_collections.directfanz.launch.plugins.module_utils.validation import domain_problem

RETRY = AWSRetry.jittered_backoff(retries=8, delay=1, max_delay=20)
ALIAS = re.compile(r"^alias/[A-Za-z0-9/_-]{1,250}$")


def certificate(module, domain, region):
    conn = module.client("acm", region=region, retry_decorator=RETRY)
    domain = domain.lower().rstrip(".")
    ours = acm.find_ours(module, conn, acm.names_of("*." + domain, [domain]))
    usable = [c for c in ours if c["Status"] in ("ISSUED", "PENDING_VALIDATION")]
    if not usable:
        return None
    return {"arn": usable[0]["CertificateArn"], "status": usable[0]["Status"]}


def load_balancer(module, name, region):
    elb = module.client("elbv2", region=region, retry_decorator=RETRY)
    try:
        lb = elb.describe_load_balancers(Names=[name], aws_retry=True)["LoadBalancers"][0]
    except botocore.exceptions.ClientError as e:
        if e.response.get("Error", {}).get("Code") == "LoadBalancerNotFound":
            return {}
        module.fail_json_aws(e, msg="Could not read load balancer %s" % name)
    except botocore.exceptions.BotoCoreError as e:
        module.fail_json_aws(e, msg="Could not read load balancer %s" % name)
    try:
        groups = elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"], aws_retry=True)["TargetGroups"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not read the target groups of load balancer %s" % name)
    return {"arn": lb["LoadBalancerArn"], "dns_name": lb["DNSName"].lower(),
            "canonical_hosted_zone_id": lb["CanonicalHostedZoneId"],
            "target_group_arns": dict((g["TargetGroupName"], g["TargetGroupArn"]) for g in groups)}


def distribution(module, name):
    dists = cloudfront.Distributions(module)
    ours = cloudfront.find(dists, name, [])[0]
    if ours is None:
        return {}
    return {"id": ours["Id"], "arn": ours["ARN"], "domain_name": ours["DomainName"].lower(), "status": ours["Status"],
            "hosted_zone_id": cloudfront.CLOUDFRONT_ZONE_ID}


def network(module, name):
    """The VPC tagged as network ``name`` by vpc_network, its subnets (``<name>-public-<zone>``,
    ``<name>-private-<zone>``, in zone order) and its security groups (``<name>-<short>``, by short name)."""
    ec2 = module.client("ec2", retry_decorator=RETRY)
    ours = [{"Name": "tag:managed-by", "Values": ["directfanz.launch"]}, {"Name": "tag:launch-network", "Values": [name]}]

    def described(method, key, filters):
        items, kwargs = [], {"Filters": filters}
        try:
            while True:
                page = getattr(ec2, method)(aws_retry=True, **kwargs)
                items.extend(page.get(key) or [])
                if not page.get("NextToken"):
                    return items
                kwargs["NextToken"] = page["NextToken"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Could not read the %s of network %s" % (key, name))

    def tag_name(item):
        return dict((t["Key"], t["Value"]) for t in item.get("Tags") or []).get("Name", "")

    vpcs = described("describe_vpcs", "Vpcs", ours + [{"Name": "tag:Name", "Values": [name]}])
    if not vpcs:
        return {}
    vpc_id = vpcs[0]["VpcId"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    subnets = sorted(described("describe_subnets", "Subnets", in_vpc + ours), key=lambda s: s["AvailabilityZone"])
    groups = described("describe_security_groups", "SecurityGroups", in_vpc + ours)
    return {"vpc_id": vpc_id,
            "public_subnet_ids": [s["SubnetId"] for s in subnets if tag_name(s).startswith(name + "-public-")],
            "private_subnet_ids": [s["SubnetId"] for s in subnets if tag_name(s).startswith(name + "-private-")],
            "security_group_ids": dict((tag_name(g)[len(name) + 1:], g["GroupId"]) for g in groups
                                       if tag_name(g).startswith(name + "-"))}


def kms_keys(module, aliases, region):
    """alias -> key ARN of the enabled keys among ``aliases`` in ``region`` (DescribeKey takes the alias)."""
    kms = module.client("kms", region=region, retry_decorator=RETRY)
    out = {}
    for alias in aliases:
        try:
            meta = kms.describe_key(KeyId=alias, aws_retry=True)["KeyMetadata"]
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") == "NotFoundException":
                continue
            module.fail_json_aws(e, msg="Could not read key %s in %s" % (alias, region))
        except botocore.exceptions.BotoCoreError as e:
            module.fail_json_aws(e, msg="Could not read key %s in %s" % (alias, region))
        if meta.get("KeyState", "Enabled") == "Enabled":
            out[alias] = meta["Arn"]
    return out


def zone(module, name):
    """The public zone ``name``: its id, delegation set and the names the launch routes with alias A/AAAA sets."""
    conn = route53.client(module)
    found = route53.find_zone(module, conn, name=name)
    if not found:
        return {}
    zone_id = found["HostedZone"]["Id"].split("/")[-1]
    routed = set(r["Name"].lower() for r in route53.list_record_sets(module, conn, zone_id)
                 if r.get("AliasTarget") and r["Type"] in ("A", "AAAA"))
    return {"id": zone_id, "name": found["HostedZone"]["Name"].lower(),
            "name_servers": sorted(n.lower() for n in (found.get("DelegationSet") or {}).get("NameServers") or []),
            "routed_names": sorted(routed)}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            certificate_domain=dict(type="str"),
            certificate_regions=dict(type="list", elements="str", default=["us-east-1"]),
            load_balancer_name=dict(type="str"),
            load_balancer_region=dict(type="str"),
            distribution_name=dict(type="str"),
            network_name=dict(type="str"),
            kms_aliases=dict(type="list", elements="str", default=[], no_log=False),
            kms_regions=dict(type="list", elements="str"),
            zone_name=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    bad = [a for a in p["kms_aliases"] if not ALIAS.match(a or "")]
    if bad:
        module.fail_json(msg="launch_facts: kms_aliases %s not accepted; accepted: alias names such as"
                             " alias/directfanz-operations" % ", ".join(repr(a) for a in bad))
    if p["zone_name"] is not None and domain_problem(p["zone_name"]):
        module.fail_json(msg="launch_facts: zone_name %r is not accepted: %s" % (p["zone_name"],
                                                                                 domain_problem(p["zone_name"])))
    out = {"certificates": {}, "load_balancer": {}, "distribution": {}, "network": {}, "kms_keys": {}, "zone": {}}
    if p["certificate_domain"]:
        for region in p["certificate_regions"]:
            found = certificate(module, p["certificate_domain"], region)
            if found:
                out["certificates"][region] = found
    if p["load_balancer_name"]:
        out["load_balancer"] = load_balancer(module, p["load_balancer_name"], p["load_balancer_region"] or p["region"])
    if p["distribution_name"]:
        out["distribution"] = distribution(module, p["distribution_name"])
    if p["network_name"]:
        out["network"] = network(module, p["network_name"])
    if p["kms_aliases"]:
        for region in p["kms_regions"] or [p["region"]]:
            out["kms_keys"][region] = kms_keys(module, p["kms_aliases"], region)
    if p["zone_name"]:
        out["zone"] = zone(module, p["zone_name"])
    module.exit_json(changed=False, **out)


if __name__ == "__main__":
    main()
