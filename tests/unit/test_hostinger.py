"""The Hostinger client's error policy and the simulator's fidelity to the official SDK, over real HTTP
on loopback (the simulator runs in a thread; sleeps are recorded, not slept)."""

import json
import sys
import time
import urllib.request

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils.hostinger import HostingerClient, HostingerError
from conftest import SIM_DOMAIN, SIM_TOKEN

TOKEN = SIM_TOKEN
DOMAIN = SIM_DOMAIN


def admin(url, path, method="POST", body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body or {}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read() or b"null")


def client(url, **kw):
    sleeps = []
    c = HostingerClient(url, kw.pop("token", TOKEN), timeout=kw.pop("timeout", 5), sleep=sleeps.append, **kw)
    return c, sleeps


def test_simulator_answers_parse_with_the_official_sdk(sim):
    # module_utils.hostinger loads only the SDK parts it calls; this test wants the whole package, models
    # and deserialisation included, so it imports it afresh.
    for name in [m for m in sys.modules if m == "hostinger_api" or m.startswith("hostinger_api.")]:
        del sys.modules[name]
    import hostinger_api
    from hostinger_api.api.dns_snapshot_api import DNSSnapshotApi
    from hostinger_api.api.dns_zone_api import DNSZoneApi
    from hostinger_api.api.domains_portfolio_api import DomainsPortfolioApi
    from hostinger_api.models.domains_v1_portfolio_update_nameservers_request import (
        DomainsV1PortfolioUpdateNameserversRequest)

    api = hostinger_api.ApiClient(hostinger_api.Configuration(host=sim, access_token=TOKEN))
    zone = DNSZoneApi(api).get_dns_records_v1(DOMAIN)
    types = {r.type for r in zone}
    assert {"A", "CNAME", "MX", "TXT", "CAA", "SRV", "ALIAS", "NS", "SOA"} <= types
    domain = DomainsPortfolioApi(api).get_domain_details_v1(DOMAIN)
    assert domain.status == "active" and domain.name_servers.ns1 == "ns1.dns-parking.com"
    assert DNSSnapshotApi(api).get_dns_snapshot_list_v1(DOMAIN)[0].id == 1
    DomainsPortfolioApi(api).update_domain_nameservers_v1(
        DOMAIN, DomainsV1PortfolioUpdateNameserversRequest(ns1="ns-1.awsdns-01.org", ns2="ns-2.awsdns-02.net",
                                                           ns3="ns-3.awsdns-03.com"))
    raw = client(sim)[0].domain(DOMAIN)
    # The SDK's model drops ns3/ns4; the raw JSON keeps them.
    assert raw["name_servers"] == {"ns1": "ns-1.awsdns-01.org", "ns2": "ns-2.awsdns-02.net", "ns3": "ns-3.awsdns-03.com"}


def test_put_nameservers_validates_like_the_api(sim):
    req = urllib.request.Request(sim + "/api/domains/v1/portfolio/%s/nameservers" % DOMAIN, method="PUT",
                                 data=json.dumps({"ns1": "not a host"}).encode(),
                                 headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    body = json.loads(err.value.read())
    assert err.value.code == 422 and set(body["errors"]) == {"ns1", "ns2"} and body["correlation_id"]


def test_zone_is_read_and_the_request_logged(sim):
    c = client(sim)[0]
    zone = c.zone(DOMAIN)
    assert any(r["type"] == "ALIAS" for r in zone)
    last = admin(sim, "/__sim/requests", "GET")[-1]
    assert (last["method"], last["path"], last["status"]) == ("GET", "/api/dns/v1/zones/" + DOMAIN, 200)


def test_401_says_the_token_was_rejected(sim):
    c, sleeps = client(sim, token="wrong")
    with pytest.raises(HostingerError, match="rejected the API token") as err:
        c.zone(DOMAIN)
    assert err.value.status == 401 and sleeps == []


def test_422_shows_the_field_errors(sim):
    admin(sim, "/__sim/faults", body={"match": "/zones/", "method": "GET", "status": 422,
                                      "errors": {"domain": ["The domain is invalid."]}})
    with pytest.raises(HostingerError, match="domain: The domain is invalid") as err:
        client(sim)[0].zone(DOMAIN)
    assert err.value.errors == {"domain": ["The domain is invalid."]}


def test_429_within_the_bound_waits_retry_after_then_succeeds(sim):
    admin(sim, "/__sim/faults", body={"match": "/zones/", "status": 429, "retry_after": 7, "times": 2, "method": "GET"})
    c, sleeps = client(sim, max_wait=20)
    assert c.zone(DOMAIN)
    assert sleeps == [7.0, 7.0]


def test_429_beyond_the_bound_fails_naming_the_wait(sim):
    admin(sim, "/__sim/faults", body={"match": "/zones/", "status": 429, "retry_after": 120, "method": "GET"})
    c, sleeps = client(sim, max_wait=60)
    with pytest.raises(HostingerError, match="wait 120 s, more than rate_limit_max_wait"):
        c.zone(DOMAIN)
    assert sleeps == []


def test_5xx_is_retried_with_backoff_then_succeeds_or_fails(sim):
    admin(sim, "/__sim/faults", body={"match": "/zones/", "status": 503, "times": 2, "method": "GET"})
    c, sleeps = client(sim, retries=4)
    assert c.zone(DOMAIN)
    # jittered exponential backoff: attempt 1 waits 0.5-1 s, attempt 2 waits 1-2 s
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2
    admin(sim, "/__sim/faults", body={"match": "/zones/", "status": 500, "times": 10, "method": "GET"})
    c, sleeps = client(sim, retries=2)
    with pytest.raises(HostingerError, match="after 3 attempts .*HTTP 500"):
        c.zone(DOMAIN)
    assert len(sleeps) == 2


def test_a_slow_answer_times_out_and_is_retried(sim):
    admin(sim, "/__sim/faults", body={"match": "/zones/", "delay": 1.5, "times": 1, "method": "GET"})
    c, sleeps = client(sim, timeout=0.5, retries=1)
    start = time.monotonic()
    assert c.zone(DOMAIN)
    assert len(sleeps) == 1 and time.monotonic() - start < 5


def test_unreachable_api_fails_after_retries():
    c, sleeps = client("http://127.0.0.1:9", retries=1)
    with pytest.raises(HostingerError, match="failed to read the DNS zone .* after 2 attempts"):
        c.zone(DOMAIN)


def test_no_token_is_refused_before_any_request():
    with pytest.raises(HostingerError, match="no Hostinger API token"):
        HostingerClient("http://127.0.0.1:9", "")
