"""Each module rejects bad input before any API call. The endpoints point at a closed loopback port: a
message about the input, not "could not connect", proves nothing was asked of any server."""

import pytest
from conftest import CLOSED, module

AWS = {"endpoint_url": CLOSED, "access_key": "testing", "secret_key": "testing", "region": "us-east-1"}


@pytest.mark.parametrize("records,message", [
    ([{"name": "x", "type": "FOO", "ttl": 60, "values": ["1"]}], "type 'FOO' is not accepted; accepted types: A, AAAA"),
    ([{"name": "x", "type": "A", "ttl": 60, "values": ["192.0.2.1"]},
      {"name": "X.example.com.", "type": "A", "ttl": 60, "values": ["192.0.2.2"]}], "listed twice"),
    ([{"name": "x", "type": "A", "ttl": 60, "values": ["192.0.2.1"],
       "alias": {"hosted_zone_id": "Z1", "dns_name": "a.example.net"}}], "either alias or ttl+values"),
    ([{"name": "x", "type": "TXT", "ttl": 60, "values": ["a" * 4001]}], "4000-character limit"),
    ([{"name": "x", "type": "A", "values": ["192.0.2.1"]}], "ttl None must be a number"),
])
def test_route53_records_rejects_bad_records_before_any_call(records, message):
    rc, out = module("route53_records", dict(AWS, zone="example.com", records=records))[:2]
    assert rc != 0 and message in out, out
    assert "Could not connect" not in out


def test_route53_records_rejects_a_bad_zone_name():
    rc, out = module("route53_records", dict(AWS, zone="not a domain", records=[]))[:2]
    assert rc != 0 and "zone 'not a domain' is not valid" in out and "Could not connect" not in out


def test_hostinger_dns_info_rejects_bad_input_before_any_call():
    token = "dummy-token-for-input-tests"
    rc, out = module("hostinger_dns_info", {"domain": "example.com", "api_url": CLOSED, "api_token": token,
                                            "resolvers": ["127.0.0.1:notaport"]})[:2]
    assert rc != 0 and "is malformed; accepted: 'IP', 'IP:PORT'" in out and "failed to read" not in out
    rc, out = module("hostinger_dns_info", {"domain": "-bad-.com", "api_url": CLOSED, "api_token": token})[:2]
    assert rc != 0 and "domain '-bad-.com' is not valid" in out
    rc, out = module("hostinger_dns_info", {"domain": "example.com", "api_url": CLOSED})[:2]
    assert rc != 0 and "no Hostinger API token" in out and "records_file" in out


def test_preflight_reports_every_bad_input_at_once_before_any_call():
    rc, out = module("launch_preflight", dict(AWS, environment="sandbox", domain="exa mple.com", region="mars-1",
                                              subdomains=["api", "api.example.com."], aws_account_id="12",
                                              hostinger_api_url="https://developers.hostinger.com",
                                              dns_servers=["8.8.8.8"]))[:2]
    assert rc != 0, out
    for message in ("label 'exa mple' is not valid", "region 'mars-1' is not an AWS region",
                    "must be relative to the domain", "not a 12-digit AWS account id",
                    "is not the loopback simulator", "DNS server 8.8.8.8 is not on loopback"):
        assert message in out, message
    assert "Could not verify the AWS credentials" not in out
