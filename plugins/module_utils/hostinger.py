# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calls to Hostinger's API through the official ``hostinger-api`` SDK, with our own error handling.

Why not the SDK's own: its urllib3 pool retries connection errors silently and it raises one generic
exception for every status. We switch its retries off and use its ``*_without_preload_content`` calls,
so each answer comes back raw and we decide: 401 -> the token was rejected; 422 -> the API's field
errors; 429 -> wait ``Retry-After`` while the total stays within ``max_wait``, else fail naming the wait;
5xx, timeouts and refused connections -> retried with backoff, then fail. Raw JSON also keeps fields the
SDK's models drop (ns3/ns4 of a domain's name servers).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import random
import time

from ansible.module_utils.basic import env_fallback, missing_required_lib


def _load_sdk_parts():
    """Import only the SDK parts we call.

    The package's ``__init__`` (and those of its ``api``/``models`` subpackages) import every API and model
    of Hostinger's whole product range: 2.9 s per module run, measured, against 0.5 s for the parts we use.
    Empty package objects stand in for those three ``__init__``s so the submodules import on their own.
    We only read raw JSON (``*_without_preload_content``), never the SDK's by-name model lookup, which the
    empty ``models`` package would not serve. If anything goes wrong the whole SDK is imported normally.
    """
    import importlib.util
    import sys
    import types

    if "hostinger_api" not in sys.modules:
        spec = importlib.util.find_spec("hostinger_api")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("No module named 'hostinger_api'")
        root = list(spec.submodule_search_locations)[0]
        stubs = (("hostinger_api", root), ("hostinger_api.api", root + "/api"),
                 ("hostinger_api.models", root + "/models"))
        for name, path in stubs:
            package = types.ModuleType(name)
            package.__path__ = [path]
            sys.modules[name] = package
        try:
            return _import_parts()
        except Exception:
            for name in [m for m in sys.modules if m == "hostinger_api" or m.startswith("hostinger_api.")]:
                sys.modules.pop(name, None)
    import hostinger_api  # noqa: F401 - the ordinary, slow import
    return _import_parts()


def _import_parts():
    from hostinger_api.api.dns_snapshot_api import DNSSnapshotApi
    from hostinger_api.api.dns_zone_api import DNSZoneApi
    from hostinger_api.api.domains_portfolio_api import DomainsPortfolioApi
    from hostinger_api.api_client import ApiClient
    from hostinger_api.configuration import Configuration
    from hostinger_api.exceptions import ApiException
    from hostinger_api.models.dnsv1_zone_update_request import DNSV1ZoneUpdateRequest
    from hostinger_api.models.domains_v1_portfolio_update_nameservers_request import (
        DomainsV1PortfolioUpdateNameserversRequest)
    return {"ApiClient": ApiClient, "Configuration": Configuration, "ApiException": ApiException,
            "DNSZoneApi": DNSZoneApi, "DNSSnapshotApi": DNSSnapshotApi, "DomainsPortfolioApi": DomainsPortfolioApi,
            "NameserversRequest": DomainsV1PortfolioUpdateNameserversRequest,
            "ZoneUpdateRequest": DNSV1ZoneUpdateRequest}


try:
    SDK = _load_sdk_parts()
    HAS_HOSTINGER_SDK = True
    SDK_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module with missing_required_lib
    SDK = {}
    HAS_HOSTINGER_SDK = False
    SDK_IMPORT_ERROR = exc

PUBLIC_API_URL = "https://developers.hostinger.com"

HOSTINGER_ARGSPEC = dict(
    api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["HOSTINGER_API_TOKEN"])),
    api_url=dict(type="str"),
    rate_limit_max_wait=dict(type="int", default=60),
    request_timeout=dict(type="float", default=20),
    retries=dict(type="int", default=4),
)


class HostingerError(Exception):
    """A failed Hostinger call, with what the API said and what to do."""

    def __init__(self, message, status=None, correlation_id=None, errors=None):
        super(HostingerError, self).__init__(message)
        self.status = status
        self.correlation_id = correlation_id
        self.errors = errors

    def result(self):
        out = {"status": self.status, "correlation_id": self.correlation_id}
        if self.errors:
            out["errors"] = self.errors
        return out


def api_url_from(params):
    return (params.get("api_url") or os.environ.get("HOSTINGER_API_URL") or PUBLIC_API_URL).rstrip("/")


def client_for(module, no_token="no Hostinger API token: set api_token or HOSTINGER_API_TOKEN"):
    """The client for a module's HOSTINGER_ARGSPEC options; fails the module, before any request, without the SDK or
    a token (``no_token`` says what else the module accepts)."""
    p = module.params
    if not HAS_HOSTINGER_SDK:
        module.fail_json(msg=missing_required_lib("hostinger-api"), exception=str(SDK_IMPORT_ERROR))
    if not p["api_token"]:
        module.fail_json(msg=no_token)
    return HostingerClient(api_url_from(p), p["api_token"], p["request_timeout"], p["rate_limit_max_wait"],
                           p["retries"])


class HostingerClient:
    """One configured SDK client plus the retry policy above."""

    def __init__(self, api_url, api_token, timeout=20.0, max_wait=60, retries=4, sleep=time.sleep):
        if not api_token:
            raise HostingerError("no Hostinger API token: set api_token or HOSTINGER_API_TOKEN (hPanel ->"
                                 " Account -> API), or supply the records from a file instead")
        config = SDK["Configuration"](host=api_url, access_token=api_token, retries=0)
        self.api = SDK["ApiClient"](config)
        self.api_url = api_url
        self.timeout = timeout
        self.max_wait = max_wait
        self.retries = retries
        self.sleep = sleep
        self.waited = 0.0

    def _once(self, call, what):
        try:
            resp = call(_request_timeout=self.timeout)
        except SDK["ApiException"] as exc:  # the SDK's wrapper for TLS and similar transport errors
            return None, "transport error: %s" % (exc.reason or exc)
        except Exception as exc:  # urllib3 timeouts, refused connections (retries are off, so they surface)
            return None, "%s: %s" % (type(exc).__name__, exc)
        return resp, None

    def request(self, call, what):
        """Run ``call`` (an SDK ``*_without_preload_content`` partial) and return the parsed JSON body."""
        attempt = 0
        while True:
            attempt += 1
            resp, transport_error = self._once(call, what)
            if resp is not None and 200 <= resp.status < 300:
                data = resp.data
                return json.loads(data) if data else {}
            if resp is not None:
                body = _json_or_text(resp.data)
                message = body.get("message") if isinstance(body, dict) else None
                corr = body.get("correlation_id") if isinstance(body, dict) else None
                if resp.status == 401:
                    raise HostingerError("Hostinger rejected the API token while trying to %s (401: %s). Create"
                                         " a new token in hPanel -> Account -> API and set api_token /"
                                         " HOSTINGER_API_TOKEN." % (what, message), 401, corr)
                if resp.status == 422:
                    errors = body.get("errors") if isinstance(body, dict) else None
                    detail = "; ".join("%s: %s" % (k, " ".join(map(str, v))) for k, v in sorted((errors or {}).items()))
                    raise HostingerError("Hostinger refused to %s (422: %s%s)" % (what, message,
                                         " - " + detail if detail else ""), 422, corr, errors)
                if resp.status == 429:
                    wait = _retry_after(resp.headers.get("Retry-After"))
                    if wait is None or self.waited + wait > self.max_wait:
                        raise HostingerError("Hostinger rate-limited the request to %s (429) and asks to wait %s"
                                             " s, more than rate_limit_max_wait (%s s, %.0f s already waited)."
                                             " Try again later or raise rate_limit_max_wait."
                                             % (what, resp.headers.get("Retry-After", "an unknown number of"),
                                                self.max_wait, self.waited), 429, corr)
                    self.waited += wait
                    self.sleep(wait)
                    attempt -= 1  # a rate-limit wait is not a failed attempt
                    continue
                if resp.status < 500 and resp.status != 408:
                    raise HostingerError("Hostinger could not %s (%s: %s)" % (what, resp.status, message or body),
                                         resp.status, corr)
                problem = "HTTP %s: %s" % (resp.status, message or body)
            else:
                problem = transport_error
            if attempt > self.retries:
                raise HostingerError("Hostinger API at %s failed to %s after %d attempts (last: %s)"
                                     % (self.api_url, what, attempt, problem),
                                     resp.status if resp is not None else None)
            delay = min(2 ** (attempt - 1), 8) * (0.5 + random.random() / 2)
            self.sleep(delay)

    # -- the calls the collection makes --------------------------------------------------------------
    def zone(self, domain):
        api = SDK["DNSZoneApi"](self.api)
        return self.request(lambda **kw: api.get_dns_records_v1_without_preload_content(domain, **kw),
                            "read the DNS zone of %s" % domain)

    def snapshots(self, domain):
        """The zone's snapshots, ``[{id, reason, created_at}]`` (Hostinger takes one before each change)."""
        api = SDK["DNSSnapshotApi"](self.api)
        return self.request(lambda **kw: api.get_dns_snapshot_list_v1_without_preload_content(domain, **kw),
                            "list the DNS snapshots of %s" % domain)

    def snapshot(self, domain, snapshot_id):
        """One snapshot with the zone it held, ``{id, reason, created_at, snapshot: [zone records]}``."""
        api = SDK["DNSSnapshotApi"](self.api)
        return self.request(lambda **kw: api.get_dns_snapshot_v1_without_preload_content(domain, int(snapshot_id), **kw),
                            "read DNS snapshot %s of %s" % (snapshot_id, domain))

    def validate_zone(self, domain, body):
        """``POST .../validate``: Hostinger's verdict on a change body without making it (422 names the fields)."""
        request = SDK["ZoneUpdateRequest"].from_dict(body)
        api = SDK["DNSZoneApi"](self.api)
        return self.request(lambda **kw: api.validate_dns_records_v1_without_preload_content(domain, request, **kw),
                            "validate a change to the DNS zone of %s" % domain)

    def update_zone(self, domain, body):
        """``PUT /api/dns/v1/zones/{domain}`` with ``body`` (``{"overwrite", "zone": [...]}``)."""
        request = SDK["ZoneUpdateRequest"].from_dict(body)
        api = SDK["DNSZoneApi"](self.api)
        return self.request(lambda **kw: api.update_dns_records_v1_without_preload_content(domain, request, **kw),
                            "update the DNS zone of %s" % domain)

    def domain(self, domain):
        """The portfolio entry as raw JSON (``name_servers`` keeps ns3/ns4, which the SDK's model drops)."""
        api = SDK["DomainsPortfolioApi"](self.api)
        return self.request(lambda **kw: api.get_domain_details_v1_without_preload_content(domain, **kw),
                            "read the portfolio entry of %s" % domain)

    def set_nameservers(self, domain, nameservers):
        """PUT 2-4 name servers (ns1..ns4 in the given order)."""
        body = SDK["NameserversRequest"](**dict(("ns%d" % (i + 1), ns) for i, ns in enumerate(nameservers)))
        api = SDK["DomainsPortfolioApi"](self.api)
        return self.request(
            lambda **kw: api.update_domain_nameservers_v1_without_preload_content(domain, body, **kw),
            "set the name servers of %s" % domain)


def nameserver_list(name_servers):
    """ns1..ns4 of a portfolio entry's ``name_servers`` (a dict; some answers use a list), in order."""
    if isinstance(name_servers, dict):
        return [name_servers[k] for k in ("ns1", "ns2", "ns3", "ns4") if name_servers.get(k)]
    return [ns for ns in (name_servers or []) if ns]


def _json_or_text(data):
    try:
        return json.loads(data)
    except (TypeError, ValueError):
        return (data or b"").decode("utf-8", "replace")[:300] if isinstance(data, bytes) else data


def _retry_after(value):
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None
