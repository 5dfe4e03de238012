"""The pure rules behind the validate checks' verdicts, on plain data (the modules are run on servers in
tests/integration/test_validate_checks.py)."""

import hashlib
import hmac
import json

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import validate_checks as C
from ansible_collections.directfanz.launch.plugins.module_utils import validate_net as N


def test_a_case_has_the_contract_shape_and_refuses_what_the_report_would_misfile():
    c = C.case("GET /x", "endpoints", "5.2", "x", "pass", measured=200)
    assert set(c) == {"id", "suite", "criterion", "name", "status", "measured", "threshold", "unit", "critical",
                      "message", "evidence"}
    assert c["message"] == "" and c["critical"] is False and c["evidence"] == {}
    assert C.case("a", "payments", "10.5", "a", "not_run")["message"] == "not_run"  # never an empty reason
    with pytest.raises(ValueError, match="suite 'web' is not one of"):
        C.case("a", "web", "5.2", "a", "pass")
    with pytest.raises(ValueError, match="criterion '5.6' is not one of"):
        C.case("a", "endpoints", "5.6", "a", "pass")
    with pytest.raises(ValueError, match="status 'ok' is not one of"):
        C.case("a", "endpoints", "5.2", "a", "ok")
    with pytest.raises(ValueError, match="unit 's'"):
        C.case("a", "endpoints", "5.2", "a", "pass", unit="s")


def test_ids_are_made_unique_and_secrets_redacted_at_any_depth():
    cases = [C.case("a", "endpoints", "5.2", "a", "pass"), C.case("a", "endpoints", "5.2", "a", "pass")]
    assert [c["id"] for c in C.unique_ids(cases)] == ["a", "a (2)"]
    value = {"k": ["Bearer sk_test_123", ("sk_test_123",)], "sk_test_123": 1, "n": 5}
    assert C.redact(value, ["sk_test_123", None]) == {"k": ["Bearer ********", ("********",)], "********": 1, "n": 5}
    assert "sk_test_123" not in json.dumps(C.redact(value, ["sk_test_123"]))


@pytest.mark.parametrize("values,p,expected", [
    ([1, 2, 3, 4], 50, 2.5), ([1, 2, 3, 4], 0, 1), ([1, 2, 3, 4], 100, 4), ([5], 95, 5),
    (list(range(1, 101)), 95, 95.05), (list(range(1, 101)), 99, 99.01), ([3, 1, 2], 50, 2),
])
def test_percentiles_interpolate_between_closest_ranks(values, p, expected):
    assert C.percentile(values, p) == pytest.approx(expected)


def test_percentile_edges():
    assert C.percentile([], 50) is None
    with pytest.raises(ValueError):
        C.percentile([1], 101)
    assert C.latency_summary([]) == {"p50_ms": None, "p95_ms": None, "p99_ms": None}


def test_the_latency_case_gates_p95_and_errors():
    fast = [10.0] * 96 + [150.0] * 4
    ok = C.latency_case("posts", fast, 0, 20)
    assert ok["status"] == "pass" and ok["measured"] == ok["evidence"]["p95_ms"] and ok["unit"] == "ms"
    assert ok["evidence"] == {"group": "posts", "requests": 100, "errors": 0, "rate": 20, "p50_ms": 10.0,
                              "p95_ms": 10.0, "p99_ms": 150.0}
    slow = C.latency_case("posts", [10.0] * 90 + [250.0] * 10, 0, 20)
    assert slow["status"] == "fail" and "p95 250.0 ms is not under 200 ms" in slow["message"]
    assert C.latency_case("posts", [199.9] * 10, 0, 20)["status"] == "pass"
    assert C.latency_case("posts", [200.0] * 10, 0, 20)["status"] == "fail"  # the gate is strictly under
    errors = C.latency_case("posts", [5.0] * 100, 2, 20, error_samples=["GET /posts answered HTTP 500"] * 2)
    assert errors["status"] == "fail" and "2 of 100 requests failed (GET /posts answered HTTP 500)" in errors["message"]
    assert C.latency_case("posts", [5.0] * 100, 1, 20)["status"] == "pass"  # 1 % is allowed
    assert C.latency_case("posts", [], 0, 20)["message"] == "no request was made"


def test_the_open_loop_schedule_is_fixed_rate():
    assert C.schedule(4, 1) == [0.0, 0.25, 0.5, 0.75]
    assert len(C.schedule(20, 2.5)) == 50


DOC = {
    "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "https://api.example.com/v1"}],
    "components": {"parameters": {"Id": {"name": "id", "in": "path", "required": True,
                                         "schema": {"type": "string", "example": "cr 1"}}}},
    "paths": {
        "/creators/{id}": {"parameters": [{"$ref": "#/components/parameters/Id"}],
                           "get": {"x-launch-group": "creators",
                                   "parameters": [{"name": "limit", "in": "query", "schema": {"default": 5}},
                                                  {"name": "debug", "in": "query", "example": True}]},
                           "delete": {"x-launch-group": "creators"}},
        "/feed": {"get": {"x-launch-group": "feed", "parameters": [
            {"name": "cursor", "in": "query", "required": True, "schema": {"type": "string"}}]}},
        "/health": {"head": {"x-launch-group": "health"}, "get": {}},
    },
}


def test_operations_merge_path_level_parameters_and_resolve_refs():
    ops = C.operations(DOC)
    assert [o["id"] for o in ops] == ["GET /creators/{id}", "DELETE /creators/{id}", "GET /feed", "GET /health",
                                      "HEAD /health"]
    assert [p["name"] for p in ops[0]["parameters"]] == ["limit", "debug", "id"]


def test_latency_groups_take_read_only_operations_with_their_examples():
    groups = C.latency_groups(DOC)
    assert {g: [o["id"] for o in ops] for g, ops in groups.items()} == {
        "creators": ["GET /creators/{id}"], "feed": ["GET /feed"], "health": ["HEAD /health"]}
    path, query = C.example_request(DOC, groups["creators"][0])
    assert path == "/creators/cr%201" and query == {"limit": 5, "debug": "true"}
    with pytest.raises(ValueError, match="GET /feed: required query parameter 'cursor' has no example"):
        C.example_request(DOC, groups["feed"][0])


def test_example_values_in_order_of_preference():
    assert C.example_value({}, {"example": 1, "schema": {"example": 2}}) == 1
    assert C.example_value({}, {"examples": {"a": {"value": "x"}}}) == "x"
    assert C.example_value({}, {"schema": {"enum": ["a", "b"]}}) == "a"
    assert C.example_value({}, {"schema": {"examples": [7]}}) == 7
    assert C.example_value({}, {"schema": {"type": "string"}}) is None


def test_documents_and_base_urls():
    assert C.parse_document(json.dumps(DOC), "f")["openapi"] == "3.0.3"
    assert C.parse_document("openapi: '3.1.0'\npaths: {}\n", "f")["openapi"] == "3.1.0"
    with pytest.raises(ValueError, match="is not an OpenAPI 3 document"):
        C.parse_document('{"swagger": "2.0"}', "f")
    with pytest.raises(ValueError, match="neither JSON nor YAML"):
        C.parse_document("{: [", "f")
    assert C.effective_base_url(None, DOC) == "https://api.example.com/v1"
    assert C.effective_base_url("http://api.example.com:8080", DOC) == "http://api.example.com:8080/v1"
    assert C.effective_base_url("http://h:1/api/", DOC) == "http://h:1/api"
    assert C.effective_base_url(None, {"servers": [{"url": "/v1"}]}) is None


def test_segment_durations_follow_rfc_8216_rounding():
    assert C.segment_duration_problems(6, [6.0, 6.4, 5.0]) == []
    assert C.segment_duration_problems(6, [6.5]) == ["segment 0 lasts 6.500 s, over the target duration 6 s"]
    assert C.segment_duration_problems(None, [1]) == ["the playlist has no EXT-X-TARGETDURATION"]


def test_segment_kinds_from_first_bytes():
    ts = b"\x47" + bytes(187) + b"\x47" + bytes(187)
    assert C.segment_kind(ts) == "ts"
    assert C.segment_kind(b"\x47" + bytes(187) + b"\x00" + bytes(187)) is None  # one sync byte is chance
    assert C.segment_kind(b"\x00\x00\x00\x18ftypiso6") == "fmp4"
    assert C.segment_kind(b"\x00\x00\x00\x10moof\x00\x00") == "fmp4"
    assert C.segment_kind(b"ID3\x04") == "id3"
    assert C.segment_kind(b"\xff\xf1\x50\x80") == "aac"
    assert C.segment_kind(b"<html>") is None and C.segment_kind(b"") is None


def test_the_live_sequence_must_advance():
    assert C.live_advance_problem(10, 11, 3) == ""
    assert "stayed at 10 over 3.0 s" in C.live_advance_problem(10, 10, 3)
    assert C.live_advance_problem(None, 3, 3) == "the live playlist has no media sequence"


def test_stripe_signatures_are_stripes_scheme():
    body = '{"id":"evt_1"}'
    header = C.stripe_signature(body, "whsec_abc", 1700000000)
    mac = hmac.new(b"whsec_abc", b"1700000000." + body.encode(), hashlib.sha256).hexdigest()
    assert header == "t=1700000000,v1=" + mac
    import stripe  # the SDK's own verification accepts it
    assert stripe.WebhookSignature.verify_header(body, header, "whsec_abc", tolerance=None)


def test_webhook_endpoint_rules():
    url = "https://example.com/api/webhooks/stripe"
    good = {"url": url, "status": "enabled", "enabled_events": ["a", "b"]}
    assert C.webhook_endpoint_problems(good, url, ["a", "b"]) == []
    assert C.webhook_endpoint_problems(dict(good, enabled_events=["*"]), url, ["z"]) == []
    assert C.webhook_endpoint_problems(dict(good, status="disabled", enabled_events=["a"]), url, ["a", "b"]) == [
        "it is disabled, not enabled", "it does not send b"]
    event = json.loads(C.probe_event("payment_intent.succeeded", "pi_1", 5))
    assert event["type"] == "payment_intent.succeeded" and event["data"]["object"]["object"] == "payment_intent"


@pytest.mark.parametrize("value,expected", [
    ("Hit from cloudfront", "hit"), ("RefreshHit from cloudfront", "hit"), ("Miss from cloudfront", "miss"),
    ("HIT", "hit"), ("STALE", "hit"), ("MISS", "miss"), ("EXPIRED", "miss"), ("BYPASS", "miss"),
    ("Error from cloudfront", "miss"), ("ExampleCache; hit", "hit"), ("ExampleCache; fwd=miss", "miss"),
    (None, None), ("", None), ("weird", None),
])
def test_cache_status_values(value, expected):
    assert C.cache_status(value) == expected


def test_hit_rate_counts_unknown_as_miss():
    assert C.hit_rate(["hit"] * 17 + ["miss"] * 2 + [None]) == 85.0
    assert C.hit_rate([]) is None


def test_phrases_and_email_domains():
    html = "<h1>Terms  of\nService</h1><p>We <b>protect</b> data.</p>"
    assert C.missing_phrases(html, ["terms of service", "We protect data", "cookies"]) == ["cookies"]
    assert C.email_domain("Support@Example.COM.") == "example.com"
    for bad in ("support", "a@b", "@x.com", "a b@x.com"):
        with pytest.raises(ValueError, match="is not an e-mail address"):
            C.email_domain(bad)


def test_net_input_rules():
    assert N.url_problem("https://api.example.com/x") == ""
    assert "is not an absolute http or https URL" in N.url_problem("api.example.com")
    assert "is not a URL" in N.url_problem("http://h:notaport/")
    assert N.url_problem("wss://ws.example.com/ws", ("ws", "wss")) == ""
    assert N.resolver_problems(["127.0.0.1", "127.0.0.1:5353", "[::1]:53"]) == []
    assert "is malformed" in N.resolver_problems(["resolver.example"])[0]


def test_address_literals_resolve_to_themselves_without_asking_anyone():
    resolver = N.NameResolver(["127.0.0.1:9"], timeout=0.1)  # a closed port: any query would time out
    assert resolver.resolve("127.0.0.1") == ["127.0.0.1"] and resolver.resolve("[::1]") == ["::1"]
    with pytest.raises(N.ResolutionError, match="could not resolve nothing.invalid through 127.0.0.1:9: .*timed out"):
        resolver.resolve("nothing.invalid")


def test_the_options_every_openapi_check_shares_are_refused_with_what_is_accepted(tmp_path):
    net = N
    doc = tmp_path / "openapi.json"
    doc.write_text("{}")
    good = {"openapi_file": str(doc), "openapi_url": None, "base_url": "https://api.example.com", "ca_file": None,
            "resolvers": ["127.0.0.1:53"]}
    assert net.document_problems(good) == []
    bad = dict(good, openapi_url="https://example.com/openapi.json", base_url="ftp://x", ca_file=str(tmp_path / "no"),
               resolvers=["not-an-address"])
    problems = net.document_problems(bad)
    assert problems[0] == "give exactly one of openapi_file, openapi_url"
    assert any(p.startswith("base_url ") and "http or https" in p for p in problems)
    assert any("ca_file" in p and "does not exist" in p for p in problems)
    assert any("not-an-address" in p and "accepted" in p for p in problems)
    assert net.document_problems(dict(good, openapi_file=None)) == ["give exactly one of openapi_file, openapi_url"]
