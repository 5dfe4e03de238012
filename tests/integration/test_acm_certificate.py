"""acm_certificate against the moto server: check mode requests nothing, one request then found again, the
shared validation CNAME written once and really in the zone, names outside the zone refused first."""

from conftest import aws_client, module, route53


def acm(sandbox):
    return aws_client(sandbox, "acm")


def cert(sandbox, *flags, **args):
    params = dict({"domain_name": "*.directfanz.io", "subject_alternative_names": ["directfanz.io"],
                   "region": "us-east-1", "endpoint_url": sandbox["aws_endpoint_url"], "access_key": "testing",
                   "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("acm_certificate", params, *flags, env={"AWS_ENDPOINT_URL": sandbox["aws_endpoint_url"]})


def zone(sandbox):
    return route53(sandbox).create_hosted_zone(Name="directfanz.io", CallerReference="acm-test")["HostedZone"][
        "Id"].split("/")[-1]


def certificates(sandbox):
    return acm(sandbox).list_certificates()["CertificateSummaryList"]


def test_request_once_validate_through_the_zone_then_find_it_again(fresh):
    zone_id = zone(fresh)
    rc, out, result = cert(fresh, "--check", hosted_zone_id=zone_id)
    assert rc == 0 and result["changed"] is True and certificates(fresh) == [], out

    rc, out, first = cert(fresh, hosted_zone_id=zone_id)
    assert rc == 0 and first["changed"] is True, out
    assert first["status"] == "PENDING_VALIDATION" and first["arn"].startswith("arn:aws:acm:us-east-1:")
    assert len(first["validation_records"]) == 1  # the wildcard and the apex share one CNAME
    record = first["validation_records"][0]
    rrsets = route53(fresh).list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    written = [r for r in rrsets if r["Name"] == record["name"] and r["Type"] == "CNAME"]
    assert written and written[0]["ResourceRecords"] == [{"Value": record["value"]}]

    rc, out, second = cert(fresh, hosted_zone_id=zone_id)
    assert rc == 0 and second["changed"] is False and second["arn"] == first["arn"], out
    assert len(certificates(fresh)) == 1

    rc, out, absent = cert(fresh, state="absent")
    assert rc == 0 and absent["changed"] is True and certificates(fresh) == []


def test_a_name_outside_the_zone_is_refused_before_any_request(fresh):
    zone_id = zone(fresh)
    rc, out, result = cert(fresh, subject_alternative_names=["directfanz.io", "api.example.org"], hosted_zone_id=zone_id)
    assert rc != 0 and "api.example.org not in the hosted zone directfanz.io." in out, out
    assert certificates(fresh) == []


def test_wait_is_bounded_and_says_what_to_do(fresh):
    rc, out, result = cert(fresh, wait=True, wait_timeout=1)
    assert rc != 0 and "is still PENDING_VALIDATION after 1 s" in out and result["arn"], out
