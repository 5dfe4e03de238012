"""iam_policy_problems: our rule (no `*`/`svc:*` actions, no `*` resources outside the documented resource-less
allowlist, no unconditioned `*` principal), parliament's findings with its community auditors, what each policy kind
ignores, and the accepted findings (named action, named kind)."""

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.directfanz.launch.plugins.filter.iam_lint import (
    RESOURCELESS, iam_policies_problems, iam_policy_problems)


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="arn:aws:s3:::bucket/*", **extra):
    return dict({"Effect": "Allow", "Action": action, "Resource": resource}, **extra)


def test_a_narrow_policy_has_no_problem():
    assert iam_policy_problems(doc(allow(["s3:GetObject", "s3:PutObject"]))) == []


@pytest.mark.parametrize("statement, fragment", [
    (allow("*", "*"), "allows * - every action of every service"),
    (allow("s3:*"), "allows s3:* - every action of the service"),
    (allow("s3:GetObject", "*"), "allows s3:GetObject on every resource"),
    (allow(["ecr:GetAuthorizationToken", "ecr:BatchGetImage"], "*"), "allows ecr:BatchGetImage on every resource"),
    ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}, "allows NotAction"),
    ({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b"}, "allows NotResource"),
])
def test_our_rule_names_the_statement_and_what_is_accepted(statement, fragment):
    problems = iam_policy_problems(doc(dict(statement, Sid="Broad")), name="role r policy p")
    assert any(p.startswith("role r policy p statement Broad: ") and fragment in p for p in problems), problems
    assert all("accepted" in p for p in problems if "statement Broad" in p)


def test_resourceless_actions_may_have_every_resource_and_each_says_why():
    assert iam_policy_problems(doc(allow("ecr:GetAuthorizationToken", "*"))) == []
    assert iam_policy_problems(doc(allow("sts:GetCallerIdentity", "*"))) == []
    assert all(len(reason) > 20 for reason in RESOURCELESS.values())


def test_deny_statements_only_narrow():
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert iam_policy_problems(doc(deny, dict(allow("s3:GetObject"), Principal={"Service": "cloudfront.amazonaws.com"})),
                               kind="resource") == []


def test_parliament_findings_come_through():
    problems = iam_policy_problems(doc(allow("s3:GetObjectz")))
    assert any("parliament UNKNOWN_ACTION" in p for p in problems), problems
    escalation = iam_policy_problems(doc(allow("iam:CreateAccessKey", "arn:aws:iam::123456789012:user/x")))
    assert any("parliament PRIVILEGE_ESCALATION" in p for p in escalation), escalation


def test_the_registry_token_is_accepted_for_execution_roles_only():
    assert iam_policy_problems(doc(allow("ecr:GetAuthorizationToken", "*")), kind="identity") == []
    # the same action with another exposure still reports the other one
    problems = iam_policy_problems(doc(allow(["ecr:GetAuthorizationToken", "iam:CreateAccessKey"],
                                             "arn:aws:iam::123456789012:user/x")))
    assert any("CREDENTIALS_EXPOSURE" in p and "iam:createaccesskey" in p and "ecr:" not in p for p in problems), problems


def test_key_policies_may_name_star_for_the_key_but_not_every_action():
    root = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Resource": "*"}
    assert iam_policy_problems(doc(dict(root, Action=["kms:DescribeKey", "kms:EnableKeyRotation"])), kind="key") == []
    problems = iam_policy_problems(doc(dict(root, Action="kms:*", Sid="Enable IAM User Permissions")), kind="key")
    assert any("allows kms:* - every action" in p for p in problems)
    # outside a key policy, Resource "*" is every resource
    assert iam_policy_problems(doc(dict(root, Action=["kms:DescribeKey"])), kind="resource") != []


def test_an_unconditioned_star_principal_is_a_problem_and_a_conditioned_one_is_not():
    everyone = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish",
                "Resource": "arn:aws:sns:us-east-1:123456789012:t"}
    assert any("every principal" in p for p in iam_policy_problems(doc(everyone), kind="resource"))
    conditioned = dict(everyone, Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}})
    assert iam_policy_problems(doc(conditioned), kind="resource") == []


def test_trust_policies_have_no_resource():
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})
    assert iam_policy_problems(trust, kind="trust") == []
    assert any("MALFORMED" in p for p in iam_policy_problems(trust, kind="identity"))


def test_text_documents_and_lists_of_documents():
    text = json.dumps(doc(allow("s3:*")))
    assert iam_policy_problems(text) != []
    assert iam_policy_problems("{not json", name="p")[0].startswith("p: not JSON")
    assert iam_policy_problems({"Version": "2012-10-17"}, name="p") == [
        "p: not a policy document (a mapping with Statement)"]
    found = iam_policies_problems([{"name": "a", "kind": "identity", "document": doc(allow("s3:GetObject"))},
                                   {"name": "b", "kind": "identity", "document": doc(allow("s3:*"))}])
    assert found and all(p.startswith("b ") or p.startswith("b: ") for p in found)


def test_an_unknown_kind_is_refused_with_the_accepted_ones():
    with pytest.raises(AnsibleFilterError, match="accepted: identity, trust, resource, key"):
        iam_policy_problems(doc(allow("s3:GetObject")), kind="bucket")


# ---------------------------------------------------------------------------------------------------------------
# The data key's policy (module_utils/kms_policy.py, filter data_key_policy)

def test_the_data_key_policy_is_clean_and_names_its_uses():
    from ansible_collections.directfanz.launch.plugins.filter.data import data_key_policy
    policy = data_key_policy("123456789012", "eu-west-1")
    assert iam_policy_problems(policy, "key", "alias/df-data") == []
    by_sid = dict((s["Sid"], s) for s in policy["Statement"])
    assert set(by_sid) == {"KeyAdministration", "UseThroughTheDataServices", "GrantsForTheServicesResources"}
    admin = by_sid["KeyAdministration"]["Action"]
    assert "kms:*" not in admin and not [a for a in admin if a in ("kms:Decrypt", "kms:Encrypt", "kms:CreateGrant")]
    use = by_sid["UseThroughTheDataServices"]["Condition"]["StringEquals"]
    assert use["kms:ViaService"] == ["elasticache.eu-west-1.amazonaws.com", "rds.eu-west-1.amazonaws.com",
                                     "s3.eu-west-1.amazonaws.com", "secretsmanager.eu-west-1.amazonaws.com"]
    assert use["kms:CallerAccount"] == "123456789012"
    assert by_sid["GrantsForTheServicesResources"]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


@pytest.mark.parametrize("account, region, message", [
    ("", "eu-west-1", "12-digit AWS account id"), ("12345", "eu-west-1", "12-digit AWS account id"),
    ("123456789012", "", "the key's region"), ("123456789012", "Europe", "the key's region")])
def test_the_data_key_policy_refuses_what_it_cannot_name(account, region, message):
    from ansible_collections.directfanz.launch.plugins.filter.data import data_key_policy
    with pytest.raises(AnsibleFilterError, match=message):
        data_key_policy(account, region)


def test_a_grant_statement_without_grant_is_for_aws_resource_is_a_finding():
    from ansible_collections.directfanz.launch.plugins.filter.data import data_key_policy
    policy = data_key_policy("123456789012", "eu-west-1")
    del policy["Statement"][2]["Condition"]["Bool"]
    problems = iam_policy_problems(policy, "key", "alias/df-data")
    assert problems == ["alias/df-data statement GrantsForTheServicesResources: allows kms:CreateGrant without the"
                        " condition kms:GrantIsForAWSResource = true (anyone allowed could grant themselves use of the"
                        " key); accepted: that condition, so only AWS services make grants for their own resources"]
