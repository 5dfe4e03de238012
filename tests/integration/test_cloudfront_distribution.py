"""cloudfront_distribution against the moto server: check mode makes nothing, a second run sends no update (the
server's own defaults are not differences), an alias held by another distribution is refused with nothing made."""

from conftest import module
from conftest import aws_client as client
from conftest import aws_module as aws

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def distribution(sandbox, **over):
    cert = client(sandbox, "acm").request_certificate(DomainName="*.example.com", SubjectAlternativeNames=[
        "example.com"], ValidationMethod="DNS")["CertificateArn"]
    return dict({
        "name": "site", "aliases": ["example.com", "www.example.com"], "certificate_arn": cert, "wait_timeout": 60,
        "origins": [{"id": "static", "type": "s3", "domain_name": "site-static.s3.us-east-1.amazonaws.com"},
                    {"id": "app", "domain_name": "site-alb-1.us-east-1.elb.amazonaws.com", "read_timeout": 60}],
        "default_behavior": {"origin_id": "app", "cache_policy_id": CACHING_DISABLED, "compress": False,
                             "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]},
        "behaviors": [{"path_pattern": "/static/*", "origin_id": "static", "cache_policy_id": CACHING_OPTIMIZED}]},
        **over)


def test_check_then_create_then_nothing_then_one_change_then_delete(fresh):
    cf = client(fresh, "cloudfront")
    args = distribution(fresh)
    rc, out, check = aws(fresh, "cloudfront_distribution", args, "--check")
    assert rc == 0 and check["changed"] is True and check["id"] == "", out
    assert cf.list_distributions()["DistributionList"].get("Items", []) == []
    assert cf.list_origin_access_controls()["OriginAccessControlList"].get("Items", []) == []

    rc, out, first = aws(fresh, "cloudfront_distribution", args)
    assert rc == 0 and first["changed"] is True and first["status"] == "Deployed", out
    config = cf.get_distribution_config(Id=first["id"])["DistributionConfig"]
    assert config["HttpVersion"] == "http2and3" and config["PriceClass"] == "PriceClass_All"
    assert sorted(config["Aliases"]["Items"]) == ["example.com", "www.example.com"]
    assert config["ViewerCertificate"]["ACMCertificateArn"] == args["certificate_arn"]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["CacheBehaviors"]["Items"][0]["Compress"] is True
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == CACHING_DISABLED
    oacs = cf.list_origin_access_controls()["OriginAccessControlList"]["Items"]
    assert [o["Name"] for o in oacs] == ["site-s3"] and first["origin_access_control_id"] == oacs[0]["Id"]
    assert first["hosted_zone_id"] == "Z2FDTNDATAQYW2" and first["domain_name"].endswith(".cloudfront.net")

    rc, out, second = aws(fresh, "cloudfront_distribution", args)
    assert rc == 0 and second["changed"] is False and second["changes"] == [], out

    args["price_class"] = "PriceClass_100"
    rc, out, third = aws(fresh, "cloudfront_distribution", args, "--check", "--diff")
    assert rc == 0 and third["changes"] == ["PriceClass"], out
    assert cf.get_distribution_config(Id=first["id"])["DistributionConfig"]["PriceClass"] == "PriceClass_All"
    rc, out, fourth = aws(fresh, "cloudfront_distribution", args)
    assert rc == 0 and fourth["changes"] == ["PriceClass"], out
    assert cf.get_distribution_config(Id=first["id"])["DistributionConfig"]["PriceClass"] == "PriceClass_100"

    rc, out, gone = aws(fresh, "cloudfront_distribution", dict(args, state="absent"))
    assert rc == 0 and gone["changed"] is True, out
    assert cf.list_distributions()["DistributionList"].get("Items", []) == []


def test_an_alias_used_by_another_distribution_is_refused_and_nothing_is_made(fresh):
    cf = client(fresh, "cloudfront")
    args = distribution(fresh)
    other = {"CallerReference": "someone-else", "Comment": "not ours", "Enabled": True,
             "Aliases": {"Quantity": 1, "Items": ["www.example.com"]},
             "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "origin.example.net",
                                                   "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                          "OriginProtocolPolicy": "https-only"}}]},
             "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all",
                                      "CachePolicyId": CACHING_DISABLED}}
    theirs = cf.create_distribution(DistributionConfig=other)["Distribution"]
    rc, out, result = aws(fresh, "cloudfront_distribution", args)
    assert rc != 0, out
    assert "alias www.example.com is already used by distribution %s" % theirs["Id"] in out, out
    assert "nothing was changed" in out
    assert [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]] == [theirs["Id"]]


def test_bad_input_is_refused_before_any_call():
    # no sandbox needed: the module must fail before it reaches AWS (which is a closed port here)
    rc, out, result = module("cloudfront_distribution", {
        "name": "site", "aliases": ["example.com"], "certificate_arn": "arn:aws:acm:eu-west-1:1:certificate/x",
        "region": "us-east-1", "origins": [{"id": "app", "domain_name": "lb.example.net"}],
        "default_behavior": {"origin_id": "missing", "cache_policy_id": CACHING_DISABLED}})
    assert rc != 0 and "not an ACM certificate in us-east-1" in out and "targets origin 'missing'" in out, out
    assert "Could not" not in out


def test_error_responses_check_create_nothing_then_one_change(fresh):
    cf = client(fresh, "cloudfront")
    page = "/__maintenance/index.html"
    errors = [{"error_code": c, "response_page_path": page, "response_code": 503, "caching_min_ttl": 10}
              for c in (504, 502, 503)]
    args = distribution(fresh, error_responses=errors)
    rc, out, check = aws(fresh, "cloudfront_distribution", args, "--check")
    assert rc == 0 and check["changed"] is True and cf.list_distributions()["DistributionList"].get("Items", []) == []
    rc, out, first = aws(fresh, "cloudfront_distribution", args)
    assert rc == 0 and first["changed"] is True, out
    got = cf.get_distribution_config(Id=first["id"])["DistributionConfig"]["CustomErrorResponses"]
    assert [(e["ErrorCode"], e["ResponsePagePath"], e["ResponseCode"], e["ErrorCachingMinTTL"]) for e in got[
        "Items"]] == [(c, page, "503", 10) for c in (502, 503, 504)]
    rc, out, second = aws(fresh, "cloudfront_distribution", args)
    assert rc == 0 and second["changed"] is False, out
    # not given: left as it is
    rc, out, other = aws(fresh, "cloudfront_distribution", dict((k, v) for k, v in args.items() if k != "error_responses"))
    assert rc == 0 and other["changed"] is False, out
    rc, out, third = aws(fresh, "cloudfront_distribution", dict(args, error_responses=errors[:2]))
    assert rc == 0 and third["changes"] == ["CustomErrorResponses"], out
    assert len(cf.get_distribution_config(Id=first["id"])["DistributionConfig"]["CustomErrorResponses"]["Items"]) == 2


def test_bad_error_responses_are_refused_before_any_call():
    rc, out, result = module("cloudfront_distribution", {
        "name": "site", "origins": [{"id": "app", "domain_name": "lb.example.com"}],
        "default_behavior": {"origin_id": "app", "cache_policy_id": CACHING_DISABLED},
        "error_responses": [{"error_code": 302}, {"error_code": 503, "response_page_path": "/m.html"}]})
    assert rc != 0, out
    assert "error_code 302 is not accepted" in result["msg"] and "give response_page_path and response_code" in result[
        "msg"]
