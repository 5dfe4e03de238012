"""launch_facts against the moto server: kms_aliases - the operations key's ARN per region (what the log groups need),
nothing for a region without it or a key that is disabled or pending deletion, the same in check mode, read-only, and a
name that is not an alias refused before any call; zone_name - the public zone's id, delegation set and routed names."""

from conftest import aws_client, module

ALIAS = "alias/d-operations"


def facts(sandbox, *flags, via=None, **args):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"kms_aliases": [ALIAS], "kms_regions": ["us-east-1", "eu-west-1"], "region": "eu-west-1",
                   "endpoint_url": endpoint, "access_key": "testing", "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("launch_facts", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def make_key(sandbox, region, alias=ALIAS):
    kms = aws_client(sandbox, "kms", region)
    key = kms.create_key(Description="operations")["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return key


def test_the_key_arn_per_region_where_it_exists_read_only(fresh, recorder):
    key = make_key(fresh, "eu-west-1")
    for flags in ((), ("--check",)):
        rc, out, found = facts(fresh, *flags, via=recorder)
        assert rc == 0 and found["changed"] is False, out
        assert found["kms_keys"] == {"us-east-1": {}, "eu-west-1": {ALIAS: key["Arn"]}}
    assert recorder.writes() == [] and recorder.calls.count("DescribeKey") == 4, recorder.calls
    rc, out, found = facts(fresh, kms_regions=None)  # default: the module's region
    assert found["kms_keys"] == {"eu-west-1": {ALIAS: key["Arn"]}}, out


def test_a_disabled_or_deleted_key_counts_as_missing(fresh):
    aws_client(fresh, "kms", "us-east-1").disable_key(KeyId=make_key(fresh, "us-east-1")["KeyId"])
    aws_client(fresh, "kms", "eu-west-1").schedule_key_deletion(KeyId=make_key(fresh, "eu-west-1")["KeyId"],
                                                                PendingWindowInDays=7)
    rc, out, found = facts(fresh)
    assert rc == 0 and found["kms_keys"] == {"us-east-1": {}, "eu-west-1": {}}, out


def test_without_kms_aliases_nothing_is_read(fresh, recorder):
    rc, out, found = facts(fresh, via=recorder, kms_aliases=[])
    assert rc == 0 and found["kms_keys"] == {} and recorder.calls == [], out


def test_a_name_that_is_not_an_alias_is_refused_before_any_call(fresh, recorder):
    rc, out, found = facts(fresh, via=recorder, kms_aliases=["d-operations"])
    assert rc != 0 and "kms_aliases 'd-operations' not accepted; accepted: alias names such as" in found["msg"], out
    assert recorder.calls == []


def test_the_zone_its_delegation_set_and_the_routed_names_read_only(fresh, recorder):
    r53 = aws_client(fresh, "route53")
    public = r53.create_hosted_zone(Name="example.com", CallerReference="public")
    r53.create_hosted_zone(Name="example.com", CallerReference="private", VPC={"VPCRegion": "eu-west-1", "VPCId": "vpc-1"},
                           HostedZoneConfig={"PrivateZone": True})
    zone_id = public["HostedZone"]["Id"].split("/")[-1]
    alias = {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d1.cloudfront.net.", "EvaluateTargetHealth": False}
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": name, "Type": kind, "AliasTarget": alias}}
        for name, kind in (("example.com.", "A"), ("example.com.", "AAAA"), ("API.example.com.", "A"))] + [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "mail.example.com.", "Type": "A", "TTL": 300,
                                                   "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
    for flags in ((), ("--check",)):
        rc, out, found = facts(fresh, *flags, via=recorder, kms_aliases=[], zone_name="Example.com.")
        assert rc == 0 and found["changed"] is False, out
        zone = found["zone"]
        assert zone["id"] == zone_id and zone["name"] == "example.com."
        assert zone["name_servers"] == sorted(n.lower() for n in public["DelegationSet"]["NameServers"])
        assert zone["routed_names"] == ["api.example.com.", "example.com."]  # not the plain A, not the private zone
    # Route 53's REST calls are "?" to the recorder: every one a GET
    assert recorder.calls and recorder.any_writes() == [], recorder.exchanges
    rc, out, found = facts(fresh, kms_aliases=[], zone_name="example.org")
    assert rc == 0 and found["zone"] == {}, out


def test_a_zone_name_that_is_not_a_domain_is_refused_before_any_call(fresh, recorder):
    rc, out, found = facts(fresh, via=recorder, kms_aliases=[], zone_name="not a domain")
    assert rc != 0 and "zone_name 'not a domain' is not accepted: it needs at least two labels" in found["msg"], out
    assert recorder.calls == []
