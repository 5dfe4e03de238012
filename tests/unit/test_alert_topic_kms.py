"""alert_topic's KMS key (kms_master_key_id): accepted forms, planned at create and on an existing topic, compared
as written, left alone when omitted (so the roles that keep the topic without it never undo it), and in the diff."""

import json

import pytest

from ansible_collections.directfanz.launch.plugins.modules import alert_topic as M
from test_alert_topic_plan import ARN, CTX, empty, in_place, params

KEY = "alias/directfanz-operations"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize("key", [KEY, KEY_ARN, "arn:aws:kms:eu-west-1:123456789012:alias/directfanz-operations",
                                 "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-" + "a" * 32])
def test_an_alias_or_a_key_or_alias_arn_is_accepted(key):
    assert M.input_problems(params(kms_master_key_id=key)) == []


@pytest.mark.parametrize("key", ["1234abcd-12ab-34cd-56ef-1234567890ab", "directfanz-operations", "",
                                 "arn:aws:kms:us-east-1:12345:key/x", "alias/has space", "arn:aws:sns:us-east-1:1:x"])
def test_anything_else_is_refused_saying_what_is_accepted(key):
    problems = M.input_problems(params(kms_master_key_id=key))
    assert problems == ["kms_master_key_id %r is not accepted; accepted: an alias such as alias/directfanz-operations,"
                        " or the ARN of a key or an alias (arn:aws:kms:<region>:<account>:key/<id>)" % key]


def test_a_new_topic_is_created_encrypted_in_the_same_call():
    plan, unused_ctx = M.plan_present(params(kms_master_key_id=KEY), empty(), CTX)
    create = plan.steps[0]
    assert create["op"] == "create_topic" and create["kwargs"]["Attributes"]["KmsMasterKeyId"] == KEY
    assert plan.actions[0] == "create topic alerts encrypted with %s" % KEY
    assert not [s for s in plan.steps if s["op"] == "set_topic_attributes"]


def test_an_unencrypted_topic_gets_the_key_and_nothing_else_changes():
    observed = in_place(params())
    plan, unused_ctx = M.plan_present(params(kms_master_key_id=KEY), observed, CTX)
    assert [(s["op"], s["kwargs"]) for s in plan.steps] == [
        ("set_topic_attributes", {"TopicArn": ARN, "AttributeName": "KmsMasterKeyId", "AttributeValue": KEY})]
    assert plan.actions == ["encrypt topic alerts with %s (was none)" % KEY]


def test_the_key_is_compared_as_written():
    observed = in_place(params())
    observed["topic"]["kms_master_key_id"] = KEY
    assert M.plan_present(params(kms_master_key_id=KEY), observed, CTX)[0].steps == []
    plan, unused_ctx = M.plan_present(params(kms_master_key_id=KEY_ARN), observed, CTX)
    assert plan.actions == ["encrypt topic alerts with %s (was %s)" % (KEY_ARN, KEY)]


def test_omitted_leaves_the_topics_encryption_alone():
    observed = in_place(params())
    observed["topic"]["kms_master_key_id"] = KEY
    plan, unused_ctx = M.plan_present(params(), observed, CTX)
    assert plan.steps == []
    create = M.plan_present(params(), empty(), CTX)[0].steps[0]
    assert "KmsMasterKeyId" not in create["kwargs"]["Attributes"]


def test_the_diff_shows_the_key_before_and_after():
    p = params(kms_master_key_id=KEY)
    observed = in_place(params())
    observed["topic"]["kms_master_key_id"] = ""
    plan, unused_ctx = M.plan_present(p, observed, CTX)
    before = M.state_view(p, observed["topic"], observed["subscriptions"], observed["rules"], observed["alarms"])
    after = M.planned_view(p, observed, CTX, plan)
    assert before["topic"]["kms_master_key_id"] == "" and after["topic"]["kms_master_key_id"] == KEY
    # without the option the diff keeps what the topic has
    observed["topic"]["kms_master_key_id"] = KEY
    assert M.planned_view(params(), observed, CTX, plan)["topic"]["kms_master_key_id"] == KEY
    assert json.loads(before["topic"]["policy"])["Version"] == "2012-10-17"
