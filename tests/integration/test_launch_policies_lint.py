"""Every policy the launch writes, linted (requirement 9.3): site.yml builds the sandbox, then each IAM role's trust
and inline policies, each bucket policy, each customer-managed key policy, each topic policy and each secret's resource
policy is read back from moto - the documents exactly as the roles rendered and wrote them - and checked with
iam_policy_problems (parliament with its community auditors, plus our rule). The security baseline's own policies
must be clean, and so must every other phase's: the last findings (the data key's default kms:* policy, the alerts
topic's permission management) are fixed, and a new one fails this test. The compute filters' documents are also
checked as rendered with and without the data key's ARN (the fallback to "*" is a finding)."""

import json

from conftest import aws_client as client
from test_security_baseline_role import NAME

from ansible_collections.directfanz.launch.plugins.filter import compute
from ansible_collections.directfanz.launch.plugins.filter.iam_lint import iam_policy_problems
from ansible_collections.directfanz.launch.plugins.modules import security_baseline

ACCOUNT = "123456789012"


def launch_policies(sandbox):
    """(name, kind, document) of every policy the launch wrote, read back."""
    out = []
    iam = client(sandbox, "iam")
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        out.append(("role %s trust" % name, "trust", role["AssumeRolePolicyDocument"]))
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            out.append(("role %s policy %s" % (name, policy), "identity",
                        iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]))
    s3 = client(sandbox, "s3")
    for bucket in s3.list_buckets()["Buckets"]:
        try:
            out.append(("bucket %s" % bucket["Name"], "resource", s3.get_bucket_policy(Bucket=bucket["Name"])["Policy"]))
        except s3.exceptions.ClientError:
            pass  # no policy
    kms = client(sandbox, "kms")
    aliases = dict((a.get("TargetKeyId"), a["AliasName"]) for a in kms.list_aliases()["Aliases"])
    for key in kms.list_keys()["Keys"]:
        if kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"].get("KeyManager") != "CUSTOMER":
            continue
        out.append(("key %s" % aliases.get(key["KeyId"], key["KeyId"]), "key",
                    kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]))
    sns = client(sandbox, "sns")
    for topic in sns.list_topics()["Topics"]:
        out.append(("topic %s" % topic["TopicArn"].split(":")[-1], "resource",
                    sns.get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"]["Policy"]))
    sm = client(sandbox, "secretsmanager")
    for secret in sm.list_secrets()["SecretList"]:
        policy = sm.get_resource_policy(SecretId=secret["ARN"]).get("ResourcePolicy")
        if policy:
            out.append(("secret %s" % secret["Name"], "resource", policy))
    return out


def test_every_policy_the_launch_writes_is_linted_and_passes(site_without_operations):
    # every phase but operations, plus what the security baseline's tests (run just before) added to it
    built = site_without_operations
    policies = launch_policies(built)
    roles = sorted(set(n.split()[1] for n, unused_kind, unused_document in policies if n.startswith("role ")))
    assert "%s-rds-monitoring" % NAME in roles and "%s-web-execution" % NAME in roles and len(roles) >= 10, roles
    # the RDS monitoring role's only permissions are AWS's managed AmazonRDSEnhancedMonitoringRole: not ours to lint
    managed = client(built, "iam").list_attached_role_policies(RoleName="%s-rds-monitoring" % NAME)["AttachedPolicies"]
    assert [p["PolicyName"] for p in managed] == ["AmazonRDSEnhancedMonitoringRole"]
    findings = sorted(p for name, kind, document in policies for p in iam_policy_problems(document, kind, name))
    assert findings == []
    keys = dict((n, json.loads(d)) for n, kind, d in policies if kind == "key")
    assert [s["Sid"] for s in keys["key alias/%s-data" % NAME]["Statement"]] == [
        "KeyAdministration", "UseThroughTheDataServices", "GrantsForTheServicesResources"]


def test_the_security_baselines_own_policies_are_clean_as_written():
    n = security_baseline.names({"name": NAME}, ACCOUNT, "us-east-1")
    for written in security_baseline.policies(n):
        assert iam_policy_problems(written["document"], written["kind"], written["name"]) == []


def test_the_execution_policy_is_clean_once_it_is_given_the_data_key():
    key = "arn:aws:kms:us-east-1:%s:key/1111aaaa-2222-3333-4444-555566667777" % ACCOUNT
    secret = "arn:aws:secretsmanager:us-east-1:%s:secret:%s/app/JWT_SECRET-a1B2c3" % (ACCOUNT, NAME)
    repository = "arn:aws:ecr:us-east-1:%s:repository/%s/web" % (ACCOUNT, NAME)
    with_key = compute.execution_policy({"JWT_SECRET": secret}, "us-east-1", ACCOUNT, "/%s/web" % NAME, repository, key)
    assert iam_policy_problems(with_key, "identity") == []
    without = compute.execution_policy({"JWT_SECRET": secret}, "us-east-1", ACCOUNT, "/%s/web" % NAME, repository)
    assert any("statement Decrypt: allows kms:Decrypt on every resource" in p for p in iam_policy_problems(without))
    task = compute.task_policy({"content_prefix": "uploads/"}, "us-east-1", "arn:aws:s3:::%s-content" % NAME)
    assert any("statement ContentKey" in p for p in iam_policy_problems(json.loads(json.dumps(task))))
