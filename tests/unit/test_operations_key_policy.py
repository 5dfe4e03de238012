"""The operations key's policy (module_utils/kms_policy.py, filter operations_key_policy): who may use the key, for
what, under which condition - and that the linter the launch runs before writing a policy finds nothing in it."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.directfanz.launch.plugins.filter import data
from ansible_collections.directfanz.launch.plugins.filter.iam_lint import iam_policy_problems
from ansible_collections.directfanz.launch.plugins.module_utils import kms_policy as K

ACCOUNT = "123456789012"


def statements(policy):
    return {s["Sid"]: s for s in policy["Statement"]}


def test_it_passes_the_launch_linter_with_no_finding():
    for region in ("us-east-1", "eu-west-1"):
        assert iam_policy_problems(K.operations_key_policy(ACCOUNT, region, "directfanz"), "key", "operations") == []


def test_administration_is_by_name_and_nobody_gets_kms_star():
    policy = K.operations_key_policy(ACCOUNT, "eu-west-1", "directfanz")
    admin = statements(policy)["KeyAdministration"]
    assert admin == K.admin_statement(ACCOUNT)
    for s in policy["Statement"]:
        assert "kms:*" not in s["Action"] and "kms:CreateGrant" not in s["Action"]


def test_cloudwatch_logs_of_the_region_uses_it_only_for_the_launch_groups():
    logs = statements(K.operations_key_policy(ACCOUNT, "eu-west-1", "directfanz"))["CloudWatchLogsForTheLaunchGroups"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Action"] == K.LOGS_ACTIONS and "kms:DescribeKey" not in logs["Action"]
    assert logs["Condition"] == {"StringLike": {"kms:EncryptionContext:aws:logs:arn": [
        "arn:aws:logs:eu-west-1:%s:log-group:/directfanz/*" % ACCOUNT,
        "arn:aws:logs:eu-west-1:%s:log-group:aws-waf-logs-directfanz-*" % ACCOUNT]}}


def test_other_log_group_patterns_and_none():
    policy = K.operations_key_policy(ACCOUNT, "us-east-1", "x", "aws-cn", log_group_patterns=["/aws/vpc/flow-logs/x"])
    assert statements(policy)["CloudWatchLogsForTheLaunchGroups"]["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:logs:arn": ["arn:aws-cn:logs:us-east-1:%s:log-group:/aws/vpc/flow-logs/x" % ACCOUNT]}
    assert "CloudWatchLogsForTheLaunchGroups" not in statements(K.operations_key_policy(ACCOUNT, "us-east-1", "x",
                                                                                        log_group_patterns=[]))


def test_publishers_use_it_only_for_the_launch_topics_and_cloudwatch_only_for_this_account():
    s = statements(K.operations_key_policy(ACCOUNT, "us-east-1", "directfanz"))
    topics = "arn:aws:sns:us-east-1:%s:directfanz-*" % ACCOUNT
    alarms, services = s["AlarmsPublishToTheLaunchTopics"], s["ServicesPublishToTheLaunchTopics"]
    assert alarms["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                   "StringLike": {"kms:EncryptionContext:aws:sns:topicArn": topics}}
    # EventBridge's requests carry no aws:SourceAccount (SNS documents it): a condition on it would drop every event
    assert services["Principal"] == {"Service": ["backup.amazonaws.com", "budgets.amazonaws.com",
                                                 "costalerts.amazonaws.com", "events.amazonaws.com"]}
    assert services["Condition"] == {"StringLike": {"kms:EncryptionContext:aws:sns:topicArn": topics}}
    assert alarms["Action"] == services["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_the_account_uses_it_only_through_sns_in_the_region():
    account = statements(K.operations_key_policy(ACCOUNT, "eu-west-1", "directfanz"))["AccountPublishesThroughSns"]
    assert account["Principal"] == {"AWS": "arn:aws:iam::%s:root" % ACCOUNT}
    assert account["Condition"] == {"StringEquals": {"kms:CallerAccount": ACCOUNT,
                                                     "kms:ViaService": "sns.eu-west-1.amazonaws.com"}}


def test_a_publisher_list_of_one_kind_leaves_out_the_other_statement():
    s = statements(K.operations_key_policy(ACCOUNT, "us-east-1", "d", publishers=["events.amazonaws.com"]))
    assert "AlarmsPublishToTheLaunchTopics" not in s and s["ServicesPublishToTheLaunchTopics"]["Principal"] == {
        "Service": ["events.amazonaws.com"]}


def test_the_filter_checks_its_input_and_gives_the_same_policy():
    assert data.operations_key_policy(int(ACCOUNT), "eu-west-1", "directfanz") == K.operations_key_policy(
        ACCOUNT, "eu-west-1", "directfanz")
    assert data.FilterModule().filters()["operations_key_policy"] is data.operations_key_policy


@pytest.mark.parametrize("args,message", [
    (("12345", "eu-west-1", "d"), "needs the 12-digit AWS account id, got '12345'"),
    ((ACCOUNT, "europe", "d"), "needs the key's region (for example eu-west-1), got 'europe'"),
    ((ACCOUNT, "eu-west-1", "Direct Fanz"), "needs the launch's name"),
])
def test_the_filter_refuses_bad_input(args, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        data.operations_key_policy(*args)
