"""alert_topic against the moto server: check mode creates nothing, one run makes the topic, subscriptions, policy,
rule, target and alarm, a second run writes nothing, changes are planned and made one by one, bad input stops
before any call, state=absent removes what it lists. moto confirms e-mail subscriptions at once, so the pending
case is a unit test (tests/unit/test_alert_topic.py)."""

import json

from conftest import aws_client as client
from conftest import module

EMAILS = ["ops@directfanz.io", "oncall@directfanz.io"]
PATTERN = {"source": ["aws.acm"], "detail-type": ["ACM Certificate Approaching Expiration"]}


def alarm(name="days-to-expiry", **fields):
    return dict({"name": name, "description": "renewal is stuck", "namespace": "AWS/CertificateManager",
                 "metric_name": "DaysToExpiry", "dimensions": {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x"},
                 "statistic": "Minimum", "period": 86400, "threshold": 30, "comparison": "LessThanThreshold"}, **fields)


def rule(name="acm-events"):
    return {"name": name, "description": "ACM expiry events", "event_pattern": PATTERN}


def alert(sandbox, *flags, region="us-east-1", via=None, **args):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"name": "directfanz-alerts", "emails": EMAILS, "tags": {"project": "directfanz"},
                   "event_rules": [rule()], "alarms": [alarm()], "region": region, "endpoint_url": endpoint,
                   "access_key": "testing", "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("alert_topic", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def nothing_exists(sandbox, region="us-east-1"):
    return (client(sandbox, "sns", region).list_topics()["Topics"] == []
            and client(sandbox, "events", region).list_rules()["Rules"] == []
            and client(sandbox, "cloudwatch", region).describe_alarms()["MetricAlarms"] == [])


def emails_of(sandbox, topic_arn, region="us-east-1"):
    subs = client(sandbox, "sns", region).list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    return sorted(s["Endpoint"] for s in subs if s["Protocol"] == "email")


def test_check_mode_on_an_empty_account_plans_everything_and_creates_nothing(fresh, recorder):
    rc, out, result = alert(fresh, "--check", "--diff", via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == ["create topic directfanz-alerts", "subscribe ops@directfanz.io",
                                 "subscribe oncall@directfanz.io", "create rule acm-events",
                                 "send rule acm-events to topic directfanz-alerts", "create alarm days-to-expiry"]
    assert result["topic_arn"] == "arn:aws:sns:us-east-1:123456789012:directfanz-alerts"
    assert result["pending_confirmation"] == sorted(EMAILS)
    assert result["diff"]["before"] == {} and sorted(result["diff"]["after"]["subscriptions"]) == sorted(EMAILS)
    assert recorder.calls and recorder.writes() == [] and nothing_exists(fresh), recorder.calls


def test_first_run_creates_everything_and_the_second_writes_nothing(fresh, recorder):
    rc, out, first = alert(fresh)
    assert rc == 0 and first["changed"] is True and len(first["actions"]) == 6, out
    arn = first["topic_arn"]
    sns, events, cloudwatch = client(fresh, "sns"), client(fresh, "events"), client(fresh, "cloudwatch")

    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [arn]
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"project": "directfanz", "managed-by": "directfanz.launch"}
    assert emails_of(fresh, arn) == sorted(EMAILS)
    assert sorted(s["endpoint"] for s in first["subscriptions"]) == sorted(EMAILS)
    assert first["pending_confirmation"] == []  # moto confirms e-mail subscriptions at once

    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    publish = [s for s in policy["Statement"] if "events.amazonaws.com" in s["Principal"].get("Service", [])]
    assert len(publish) == 1 and publish[0]["Effect"] == "Allow" and publish[0]["Action"] == "sns:Publish"
    assert publish[0]["Resource"] == arn
    assert publish[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert "cloudwatch.amazonaws.com" in publish[0]["Principal"]["Service"]

    described = events.describe_rule(Name="acm-events")
    assert described["State"] == "ENABLED" and json.loads(described["EventPattern"]) == PATTERN
    assert events.list_targets_by_rule(Rule="acm-events")["Targets"] == [{"Id": "alert-topic", "Arn": arn}]
    assert first["rules"] == [{"name": "acm-events", "arn": described["Arn"]}]

    alarms = cloudwatch.describe_alarms(AlarmNames=["days-to-expiry"])["MetricAlarms"]
    assert len(alarms) == 1 and alarms[0]["AlarmActions"] == [arn] and alarms[0]["OKActions"] == [arn]
    assert alarms[0]["Threshold"] == 30.0 and alarms[0]["Statistic"] == "Minimum"
    assert first["alarms"] == [{"name": "days-to-expiry", "arn": alarms[0]["AlarmArn"]}]

    rc, out, second = alert(fresh, "--diff", via=recorder)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert second["diff"]["before"] == second["diff"]["after"]
    assert second["topic_arn"] == arn and second["subscriptions"] == first["subscriptions"]

    rc, out, checked = alert(fresh, "--check")
    assert rc == 0 and checked["changed"] is False and checked["actions"] == [], out


def test_a_new_threshold_updates_only_that_alarm(fresh, recorder):
    alarms = [alarm(), alarm("other-alarm", threshold=5)]
    rc, out, result = alert(fresh, alarms=alarms)
    assert rc == 0, out
    cloudwatch = client(fresh, "cloudwatch")
    before = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}

    changed = [alarm(threshold=20), alarm("other-alarm", threshold=5.0)]
    rc, out, planned = alert(fresh, "--check", alarms=changed)
    assert rc == 0 and planned["actions"] == ["update alarm days-to-expiry (threshold 30.0 -> 20.0)"], out
    assert cloudwatch.describe_alarms(AlarmNames=["days-to-expiry"])["MetricAlarms"][0]["Threshold"] == 30.0

    rc, out, result = alert(fresh, alarms=changed, via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == ["update alarm days-to-expiry (threshold 30.0 -> 20.0)"]
    assert recorder.writes() == ["PutMetricAlarm"], recorder.calls
    after = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert after["days-to-expiry"]["Threshold"] == 20.0
    assert after["other-alarm"] == before["other-alarm"]

    rc, out, again = alert(fresh, alarms=changed)
    assert rc == 0 and again["changed"] is False, out


def test_removing_an_address_unsubscribes_it_unless_purge_is_off(fresh):
    rc, out, result = alert(fresh)
    assert rc == 0, out
    arn = result["topic_arn"]

    rc, out, kept = alert(fresh, emails=["ops@directfanz.io"], purge_subscriptions=False)
    assert rc == 0 and kept["changed"] is False and emails_of(fresh, arn) == sorted(EMAILS), out

    rc, out, result = alert(fresh, emails=["OPS@directfanz.io"])
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == ["unsubscribe oncall@directfanz.io"]
    assert emails_of(fresh, arn) == ["ops@directfanz.io"]
    assert [s["endpoint"] for s in result["subscriptions"]] == ["ops@directfanz.io"]


def test_bad_input_fails_before_any_call(fresh, recorder):
    rc, out, result = alert(fresh, via=recorder, name="alerts.fifo", emails=["ops@directfanz.io", "not-an-address"],
                            event_rules=[rule("bad name!"), rule("bad name!")],
                            alarms=[alarm(statistic="p99", period=90, evaluation_periods=0, comparison="Below")])
    assert rc != 0 and recorder.calls == [], out
    for message in ("alert_topic refused the input", "topic name 'alerts.fifo' is not valid",
                    "e-mail address 'not-an-address' is not an address like ops@example.com",
                    "rule name 'bad name!' is not valid; accepted: 1-64 letters, digits, '.', '-' or '_'",
                    "event rule 'bad name!' is listed twice",
                    "statistic 'p99' is not accepted; accepted: Minimum, Maximum, Average, Sum, SampleCount",
                    "comparison 'Below' is not accepted", "period 90 is not accepted",
                    "evaluation_periods 0 is not accepted"):
        assert message in out, message
    assert len(result["problems"]) == 9  # the bad rule name counts once per listing
    assert nothing_exists(fresh)


def test_absent_removes_what_it_lists_and_unlisted_rules_are_left_alone(fresh):
    rc, out, result = alert(fresh, event_rules=[rule(), rule("older-rule")])
    assert rc == 0, out
    rc, out, result = alert(fresh)  # older-rule no longer listed
    assert rc == 0 and result["changed"] is False, out
    events = client(fresh, "events")
    assert events.list_targets_by_rule(Rule="older-rule")["Targets"] == [{"Id": "alert-topic",
                                                                          "Arn": result["topic_arn"]}]

    rc, out, planned = alert(fresh, "--check", state="absent")
    assert rc == 0 and planned["changed"] is True, out
    assert planned["actions"] == ["delete alarm days-to-expiry", "remove targets alert-topic from rule acm-events",
                                  "delete rule acm-events", "delete topic directfanz-alerts"]
    assert len(client(fresh, "sns").list_topics()["Topics"]) == 1

    rc, out, result = alert(fresh, "--diff", state="absent")
    assert rc == 0 and result["changed"] is True and result["actions"] == planned["actions"], out
    assert result["diff"]["after"] == {} and result["diff"]["before"]["topic"]["name"] == "directfanz-alerts"
    assert client(fresh, "sns").list_topics()["Topics"] == []
    assert client(fresh, "cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["older-rule"]

    rc, out, result = alert(fresh, state="absent")
    assert rc == 0 and result["changed"] is False and result["actions"] == [], out


def test_one_call_per_region_keeps_regions_apart(fresh):
    rc, out, planned = alert(fresh, "--check", region="eu-west-1")
    assert rc == 0 and planned["topic_arn"] == "arn:aws:sns:eu-west-1:123456789012:directfanz-alerts", out
    assert nothing_exists(fresh, "eu-west-1")

    rc, out, result = alert(fresh, region="eu-west-1")
    assert rc == 0 and result["changed"] is True and result["topic_arn"] == planned["topic_arn"], out
    assert result["rules"][0]["arn"].startswith("arn:aws:events:eu-west-1:")
    assert result["alarms"][0]["arn"].startswith("arn:aws:cloudwatch:eu-west-1:")
    assert client(fresh, "events", "eu-west-1").list_targets_by_rule(Rule="acm-events")["Targets"] == [
        {"Id": "alert-topic", "Arn": planned["topic_arn"]}]
    assert emails_of(fresh, planned["topic_arn"], "eu-west-1") == sorted(EMAILS)
    assert nothing_exists(fresh, "us-east-1")

    rc, out, again = alert(fresh, region="eu-west-1")
    assert rc == 0 and again["changed"] is False, out


def test_the_kms_key_is_planned_set_kept_and_left_alone_without_the_option(fresh, recorder):
    key = "alias/directfanz-operations"
    assert alert(fresh)[0] == 0  # an unencrypted topic, as the certificates phase left it before the key
    rc, out, checked = alert(fresh, "--check", "--diff", via=recorder, kms_master_key_id=key)
    assert rc == 0 and checked["actions"] == ["encrypt topic directfanz-alerts with %s (was none)" % key], out
    assert checked["diff"]["before"]["topic"]["kms_master_key_id"] == ""
    assert checked["diff"]["after"]["topic"]["kms_master_key_id"] == key
    assert recorder.writes() == [], recorder.calls
    sns = client(fresh, "sns")
    arn = checked["topic_arn"]
    assert "KmsMasterKeyId" not in sns.get_topic_attributes(TopicArn=arn)["Attributes"]

    rc, out, done = alert(fresh, kms_master_key_id=key)
    assert rc == 0 and done["changed"] is True, out
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["KmsMasterKeyId"] == key
    del recorder.calls[:]
    for args in ({"kms_master_key_id": key}, {}):  # the same key, then a role that keeps the topic without it
        rc, out, again = alert(fresh, via=recorder, **args)
        assert rc == 0 and again["changed"] is False, out
    assert recorder.writes() == [] and "GetTopicAttributes" in recorder.calls, recorder.calls
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["KmsMasterKeyId"] == key


def test_a_new_topic_is_created_encrypted(fresh):
    key = "arn:aws:kms:us-east-1:123456789012:alias/directfanz-operations"
    rc, out, result = alert(fresh, kms_master_key_id=key)
    assert rc == 0 and result["actions"][0] == "create topic directfanz-alerts encrypted with %s" % key, out
    attributes = client(fresh, "sns").get_topic_attributes(TopicArn=result["topic_arn"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == key


def test_a_key_that_is_not_an_alias_or_arn_fails_before_any_call(fresh, recorder):
    rc, out, result = alert(fresh, via=recorder, kms_master_key_id="1234abcd-12ab-34cd-56ef-1234567890ab")
    assert rc != 0 and "kms_master_key_id '1234abcd-12ab-34cd-56ef-1234567890ab' is not accepted; accepted: an alias" \
        in result.get("msg", out), out
    assert recorder.calls == [] and nothing_exists(fresh), recorder.calls
