# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by modules and preflight: each returns None when fine, else what is wrong and
what is accepted, so a bad input stops a run before any API call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

try:
    from urllib.parse import urlparse
except ImportError:  # pragma: no cover - Python 2 is not supported, but sanity imports it
    from urlparse import urlparse

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# An address SNS will take for an e-mail subscription: something@domain.tld (no spaces).
EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")


def domain_problem(domain):
    """None for a registrable-looking domain name (LDH labels, a letters-only or xn-- TLD, <= 253)."""
    if not isinstance(domain, str) or not domain:
        return "it is empty; accepted: a domain such as example.com"
    name = domain.lower().rstrip(".")
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        return "it has non-ASCII characters; give the IDNA (punycode, xn--...) form"
    if len(name) > 253:
        return "it is longer than 253 characters"
    labels = name.split(".")
    if len(labels) < 2:
        return "it needs at least two labels, such as example.com"
    for label in labels:
        if not _LABEL.match(label):
            return ("label %r is not valid: 1-63 letters, digits or hyphens, not starting or ending with a hyphen"
                    % label)
    tld = labels[-1]
    if not (tld.isalpha() or tld.startswith("xn--")):
        return "top-level domain %r is not valid: letters only (or an xn-- IDN)" % tld
    return None


def subdomain_problem(label):
    """None for a relative name under the domain (``api`` or ``eu.api``), not an FQDN and not the apex."""
    if not isinstance(label, str) or not label or label in ("@", "*"):
        return "subdomain %r is not valid; accepted: a relative name such as api or eu.api" % (label,)
    if label.endswith("."):
        return "subdomain %r must be relative to the domain (api, not api.example.com.)" % label
    for part in label.lower().split("."):
        if not _LABEL.match(part):
            return "subdomain %r: label %r is not valid (1-63 letters, digits or hyphens)" % (label, part)
    return None


def region_problem(region, known=None):
    """None for an AWS region name; with ``known`` (a list), only those."""
    if not isinstance(region, str) or not _REGION.match(region):
        return "region %r is not an AWS region name such as us-east-1 or eu-west-2" % (region,)
    if known and region not in known:
        return "region %r is not one of the regions this AWS SDK knows: %s" % (region, ", ".join(sorted(known)))
    return None


def url_host(url):
    return (urlparse(url).hostname or "").lower()


def is_loopback_host(host):
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
