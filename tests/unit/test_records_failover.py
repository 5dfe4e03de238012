"""Failover pairs in the record rules: a pair is two sets of one name and type told apart by their set identifier;
a plain alias gives way to its pair (and back) in one change only when asked; a broken pair is refused before any
call; a second plan of what is there is empty; the compare between two reads of the same pair is equal."""

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import records as R

ZONE = "example.com"
ALB = {"hosted_zone_id": "Z35SXDOTRQ7X7K", "dns_name": "my-alb-1.us-east-1.elb.amazonaws.com"}
CDN = {"hosted_zone_id": "Z2FDTNDATAQYW2", "dns_name": "d2maint.cloudfront.net"}
CHECK = "1b2c3d4e-0000-4000-8000-123456789abc"


def pair(health_check_id=None):
    primary = {"name": "api", "type": "A", "set_identifier": "api-live", "failover": "PRIMARY",
               "alias": dict(ALB, evaluate_target_health=True)}
    if health_check_id:
        primary["health_check_id"] = health_check_id
    secondary = {"name": "api", "type": "A", "set_identifier": "api-maintenance", "failover": "SECONDARY",
                 "alias": dict(CDN, evaluate_target_health=False)}
    return [R.normalize_record(primary, ZONE), R.normalize_record(secondary, ZONE)]


def as_route53_holds_it(records):
    """What ListResourceRecordSets answers for ``records``, read back into the canonical form."""
    return [R.from_rrset(R.to_rrset(r), ZONE) for r in records]


def plain_alias():
    return R.normalize_record({"name": "api", "type": "A", "alias": dict(ALB, evaluate_target_health=True)}, ZONE)


def test_the_canonical_form_carries_the_routing_fields_and_the_api_shape_has_them():
    primary, secondary = pair(CHECK)
    assert (primary["set_identifier"], primary["failover"], primary["health_check_id"]) == ("api-live", "PRIMARY",
                                                                                            CHECK)
    rrset = R.to_rrset(primary)
    assert rrset["SetIdentifier"] == "api-live" and rrset["Failover"] == "PRIMARY" and rrset["HealthCheckId"] == CHECK
    assert rrset["AliasTarget"]["EvaluateTargetHealth"] is True
    assert "HealthCheckId" not in R.to_rrset(secondary)
    assert R.ident(primary) != R.ident(secondary) and R.key(primary) == R.key(secondary)
    assert R.describe(primary).endswith("[failover PRIMARY api-live health check %s]" % CHECK)


def test_a_plain_alias_gives_way_to_its_pair_in_one_change_only_when_asked():
    existing = as_route53_holds_it([plain_alias()])
    with pytest.raises(R.RecordError, match="replace_conflicting"):
        R.plan_changes(pair(), existing)
    changes, unchanged = R.plan_changes(pair(), existing, displace=True)
    assert [(c["action"], c["record"].get("failover")) for c in changes] == [
        ("DELETE", None), ("CREATE", "PRIMARY"), ("CREATE", "SECONDARY")]
    [batch] = R.split_batches(changes)
    assert [(c["action"], c["record"].get("set_identifier")) for c in batch] == [
        ("DELETE", None), ("CREATE", "api-live"), ("CREATE", "api-maintenance")]
    assert unchanged == []


def test_a_pair_that_is_there_plans_nothing_and_a_changed_set_is_one_upsert():
    existing = as_route53_holds_it(pair())
    changes, unchanged = R.plan_changes(pair(), existing, displace=True)
    assert changes == [] and len(unchanged) == 2
    changes, unused = R.plan_changes(pair(CHECK), existing, displace=True)
    assert [(c["action"], c["record"]["set_identifier"], c["record"].get("health_check_id")) for c in changes] == [
        ("UPSERT", "api-live", CHECK)]


def test_the_pair_gives_way_to_a_plain_alias_again_when_asked():
    existing = as_route53_holds_it(pair())
    with pytest.raises(R.RecordError, match="replace_conflicting"):
        R.plan_changes([plain_alias()], existing)
    changes, unused = R.plan_changes([plain_alias()], existing, displace=True)
    assert sorted((c["action"], c["record"].get("set_identifier", "")) for c in changes) == [
        ("CREATE", ""), ("DELETE", "api-live"), ("DELETE", "api-maintenance")]


def test_a_renamed_set_identifier_replaces_the_old_set_of_the_same_role():
    existing = as_route53_holds_it(pair())
    renamed = pair()
    renamed[0] = dict(renamed[0], set_identifier="api-alb")
    changes, unused = R.plan_changes(renamed, existing, displace=True)
    assert sorted((c["action"], c["record"]["set_identifier"]) for c in changes) == [
        ("CREATE", "api-alb"), ("DELETE", "api-live")]
    # listing only the PRIMARY leaves the SECONDARY alone
    changes, unused = R.plan_changes(pair()[:1], existing, displace=True)
    assert changes == []


@pytest.mark.parametrize("records,message", [
    (lambda: pair()[1:], "exactly one PRIMARY|one PRIMARY"),
    (lambda: [pair()[0], dict(pair()[0], set_identifier="other")], "one PRIMARY"),
    (lambda: [pair()[0], dict(pair()[1], set_identifier="api-live")], "must differ"),
    (lambda: pair() + [plain_alias()], "both as a simple set and as a failover set"),
])
def test_a_broken_pair_is_refused_before_any_read(records, message):
    with pytest.raises(R.RecordError, match=message):
        R.check_failover_pairs(records())
    with pytest.raises(R.RecordError, match=message):
        R.plan_changes(records(), [], displace=True)


@pytest.mark.parametrize("record,message", [
    ({"failover": "PRIMARY"}, "needs a set_identifier"),
    ({"set_identifier": "x"}, "failover None is not accepted"),
    ({"set_identifier": "x", "failover": "TERTIARY"}, "accepted: PRIMARY or SECONDARY"),
    ({"health_check_id": CHECK}, "only accepted on a failover set"),
    ({"set_identifier": "x", "failover": "PRIMARY", "health_check_id": "api"}, "not a Route 53 health check id"),
    ({"set_identifier": "x" * 129, "failover": "PRIMARY"}, "longer than 128"),
])
def test_bad_failover_fields_say_what_is_accepted(record, message):
    with pytest.raises(R.RecordError, match=message):
        R.normalize_record(dict({"name": "api", "type": "A", "alias": dict(ALB)}, **record), ZONE)


def test_a_cloudfront_target_cannot_evaluate_its_health():
    with pytest.raises(R.RecordError, match="CloudFront alias"):
        R.normalize_record({"name": "api", "type": "A", "set_identifier": "m", "failover": "SECONDARY",
                            "alias": dict(CDN, evaluate_target_health=True)}, ZONE)


def test_weighted_sets_are_read_as_another_policy_and_never_replaced():
    weighted = R.from_rrset({"Name": "api.example.com.", "Type": "A", "SetIdentifier": "blue", "Weight": 10,
                             "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": ALB["dns_name"],
                                             "EvaluateTargetHealth": False}}, ZONE)
    assert weighted["routing"] == ["Weight"] and "failover" not in weighted
    with pytest.raises(R.RecordError, match="routing policy this module does not manage"):
        R.plan_changes(pair(), [weighted], displace=True)


def test_an_import_still_leaves_a_name_routed_by_a_pair_alone():
    imported = [{"name": "api.example.com.", "type": "A", "ttl": 300, "values": ["203.0.113.10"]}]
    kept, left_out = R.keep_aliases(imported, as_route53_holds_it(pair()))
    assert kept == [] and left_out == imported
