"""cloudfront_distribution compares only what the task sets: the defaults CloudFront (and moto) fill in, and
the order it returns sets in, are not changes; a real difference is named."""

import copy

from ansible_collections.directfanz.launch.plugins.modules import cloudfront_distribution as M

BEHAVIOR = {"origin_request_policy_id": "", "response_headers_policy_id": "", "viewer_protocol_policy":
            "redirect-to-https", "allowed_methods": ["GET", "HEAD"], "compress": True}


def params(**over):
    p = {"name": "site", "aliases": ["www.example.com", "Example.com."], "enabled": True,
         "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc", "minimum_protocol_version":
         "TLSv1.2_2021", "http_version": "http2and3", "price_class": "PriceClass_All", "ipv6": True,
         "web_acl_id": "", "default_root_object": "", "wait_timeout": 60,
         "origins": [{"id": "static", "type": "s3", "domain_name": "b.s3.us-east-1.amazonaws.com", "origin_path": "",
                      "protocol_policy": "https-only", "read_timeout": 30, "keepalive_timeout": 5},
                     {"id": "app", "type": "custom", "domain_name": "lb-1.us-east-1.elb.amazonaws.com",
                      "origin_path": "", "protocol_policy": "https-only", "read_timeout": 60, "keepalive_timeout": 5}],
         "default_behavior": dict(BEHAVIOR, origin_id="app", cache_policy_id="disabled",
                                  allowed_methods=["POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"]),
         "behaviors": [dict(BEHAVIOR, path_pattern="/static/*", origin_id="static", cache_policy_id="optimized")]}
    p.update(over)
    return p


def as_the_service_returns_it(config):
    """What CloudFront/moto hand back: sets reordered, defaults added, OriginAccessControlId and S3OriginConfig
    dropped (moto), the default-certificate flag beside the ACM one."""
    out = copy.deepcopy(config)
    out["CallerReference"] = "ref"
    out["Aliases"]["Items"].reverse()
    out["Origins"]["Items"].reverse()
    for origin in out["Origins"]["Items"]:
        origin.pop("OriginAccessControlId", None)
        origin.pop("S3OriginConfig", None)
        origin.update(ConnectionAttempts=3, ConnectionTimeout=10, OriginShield={"Enabled": False},
                      CustomHeaders={"Quantity": 0})
    for b in [out["DefaultCacheBehavior"]] + out["CacheBehaviors"]["Items"]:
        b.update(ForwardedValues={"QueryString": False, "Cookies": {"Forward": "none"}}, MinTTL=0, DefaultTTL=0,
                 TrustedSigners={"Enabled": False, "Quantity": 0, "Items": []}, SmoothStreaming=False)
        b["AllowedMethods"]["Items"].reverse()
    out["ViewerCertificate"].update(CloudFrontDefaultCertificate=True, CertificateSource="acm")
    out.update(Restrictions={"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}}, Logging={"Enabled": False})
    return out


def test_server_defaults_and_order_are_not_changes():
    wanted = M.desired_config(params(), "oac-1")
    assert wanted["Aliases"]["Items"] == ["example.com", "www.example.com"]
    changes, before, after = M.differences(wanted, as_the_service_returns_it(wanted))
    assert changes == [] and before == after


def test_a_real_difference_is_named():
    wanted = M.desired_config(params(), "oac-1")
    current = as_the_service_returns_it(M.desired_config(params(price_class="PriceClass_100", web_acl_id=""), "oac-1"))
    current["DefaultCacheBehavior"]["Compress"] = False
    assert M.differences(wanted, current)[0] == ["DefaultCacheBehavior", "PriceClass"]
    fewer = as_the_service_returns_it(M.desired_config(params(behaviors=[]), "oac-1"))
    assert M.differences(wanted, fewer)[0] == ["CacheBehaviors"]


def test_an_update_replaces_managed_settings_whole_and_keeps_the_rest():
    wanted = M.desired_config(params(), "oac-1")
    current = as_the_service_returns_it(M.desired_config(params(price_class="PriceClass_100"), "oac-1"))
    update = M.merged(current, wanted)
    assert update["PriceClass"] == "PriceClass_All" and update["CallerReference"] == "ref"
    assert update["Logging"] == {"Enabled": False}  # not managed: kept
    assert "ForwardedValues" not in update["DefaultCacheBehavior"]  # never beside a CachePolicyId


def test_bad_input_is_named_with_what_is_accepted():
    p = params(certificate_arn="arn:aws:acm:eu-west-1:1:certificate/x",
               web_acl_id="arn:aws:wafv2:us-east-1:1:regional/webacl/a/b",
               behaviors=[dict(BEHAVIOR, path_pattern="/a/*", origin_id="nope", cache_policy_id="c")] * 2)
    p["origins"][1]["read_timeout"] = 90
    problems = M.input_problems(p)
    text = "; ".join(problems)
    assert "not an ACM certificate in us-east-1" in text
    assert "REGIONAL web ACL" in text and "CLOUDFRONT scope" in text
    assert "targets origin 'nope', which is not one of the origins (static, app)" in text
    assert "path patterns" in text and "read_timeout 90 is outside 1-60" in text
    assert "aliases need certificate_arn" in "; ".join(M.input_problems(params(certificate_arn=None)))


def test_an_empty_account_plans_the_access_control_the_distribution_and_the_wait():
    state = {"ours": None, "conflicts": [], "oac_id": "", "config": None, "etag": None}
    plan, changes, diff = M.plan_distribution(dict(params(), state="present", wait=True, tags={}), ["example.com"],
                                              state, "ref-1")
    assert [s["op"] for s in plan.steps] == ["create_origin_access_control", "create", "wait_deployed"]
    config = plan.steps[1]["config"]
    oac = plan.ids["oac"]
    assert oac == "(new origin access control site-s3)" and config["CallerReference"] == "ref-1"
    assert [o.get("OriginAccessControlId") for o in config["Origins"]["Items"] if o["Id"] == "static"] == [oac]
    assert plan.steps[1]["tags"]["managed-by"] == "directfanz.launch" and diff["before"] == {} and changes


def test_in_place_plans_nothing_and_a_conflict_or_absent_is_planned_without_a_write():
    wanted = M.desired_config(params(), "oac-1")
    ours = {"Id": "E1", "DomainName": "d1.cloudfront.net"}
    state = {"ours": ours, "conflicts": [], "oac_id": "oac-1", "config": as_the_service_returns_it(wanted), "etag": "e"}
    plan, changes, unused = M.plan_distribution(dict(params(), state="present", wait=True, tags={}), [], state, "ref")
    assert plan.steps == [] and changes == []
    other = {"Id": "E2", "DomainName": "d2.cloudfront.net"}
    plan = M.plan_distribution(dict(params(), state="present", wait=True, tags={}), [],
                               dict(state, ours=None, conflicts=[("example.com", other)]), "ref")[0]
    assert plan.steps == [] and "alias example.com is already used by distribution E2" in plan.problems[0]
    plan = M.plan_distribution(dict(params(), state="absent", wait=True, tags={}), [], state, "ref")[0]
    assert [s["op"] for s in plan.steps] == ["disable", "delete"]


ERRORS = [{"error_code": 503, "response_page_path": "/__maintenance/index.html", "response_code": 503,
           "caching_min_ttl": 10},
          {"error_code": 502, "response_page_path": "/__maintenance/index.html", "response_code": 503,
           "caching_min_ttl": 10}]


def test_error_responses_are_managed_only_when_given_and_compared_whatever_the_order():
    assert "CustomErrorResponses" not in M.desired_config(params(), "oac-1")
    wanted = M.desired_config(params(error_responses=ERRORS), "oac-1")
    assert [e["ErrorCode"] for e in wanted["CustomErrorResponses"]["Items"]] == [502, 503]
    assert wanted["CustomErrorResponses"]["Items"][0] == {"ErrorCode": 502, "ErrorCachingMinTTL": 10,
                                                          "ResponsePagePath": "/__maintenance/index.html",
                                                          "ResponseCode": "503"}
    current = as_the_service_returns_it(wanted)
    current["CustomErrorResponses"]["Items"].reverse()
    assert M.differences(wanted, current)[0] == []
    shorter = as_the_service_returns_it(M.desired_config(params(error_responses=ERRORS[:1]), "oac-1"))
    assert M.differences(wanted, shorter)[0] == ["CustomErrorResponses"]


def test_bad_error_responses_are_named_with_what_is_accepted():
    bad = [{"error_code": 302, "response_page_path": "", "response_code": None, "caching_min_ttl": 10},
           {"error_code": 503, "response_page_path": "maintenance.html", "response_code": 503, "caching_min_ttl": 10},
           {"error_code": 504, "response_page_path": "/m.html", "response_code": None, "caching_min_ttl": -1},
           {"error_code": 504, "response_page_path": "", "response_code": 201, "caching_min_ttl": 10}]
    problems = "; ".join(M.input_problems(params(error_responses=bad)))
    assert "error_code 302 is not accepted; accepted: 400, 403" in problems
    assert "response_page_path 'maintenance.html' must start with /" in problems
    assert "give response_page_path and response_code together" in problems
    assert "caching_min_ttl -1 is outside" in problems
    assert "response_code 201 is not accepted" in problems
    assert "list an error code twice" in problems
