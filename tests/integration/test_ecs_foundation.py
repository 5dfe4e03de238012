"""ecs_foundation against the moto server over HTTP, through the recording proxy: check mode on an empty account plans
and makes nothing, a first run makes the repositories, policies, registry scanning and cluster and moto's read-back
shows every setting, a second run makes no write call, drift is corrected with only the calls it needs, an encryption
change is refused before any write, bad input makes no call at all. moto never refuses enhanced scanning; the
account that cannot have it is a canned error answered by a proxy in front of moto (see Refusing)."""

import json

from conftest import aws_client as client
from conftest import module

from sandbox.aws_proxy import AwsProxy

ACCOUNT = "123456789012"
SERVICES = ["web", "ws", "stream", "pgbouncer"]
NAMES = ["directfanz/%s" % s for s in SERVICES]


def foundation(sandbox, *flags, via=None, **args):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"services": SERVICES, "repository_prefix": "directfanz", "cluster_name": "directfanz",
                   "keep_tagged_images": 30, "untagged_expiry_days": 7, "enhanced_scanning": True,
                   "allow_spot": True, "spot_weight": 3, "execute_command": True,
                   "execute_command_log_group": "/directfanz/ecs-exec", "tags": {"project": "directfanz"},
                   "region": "us-east-1", "endpoint_url": endpoint, "access_key": "testing",
                   "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("ecs_foundation", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def nothing_exists(sandbox):
    ecr, ecs = client(sandbox, "ecr"), client(sandbox, "ecs")
    return (ecr.describe_repositories()["repositories"] == []
            and ecr.get_registry_scanning_configuration()["scanningConfiguration"]["scanType"] == "BASIC"
            and ecs.list_clusters()["clusterArns"] == [])


def test_check_mode_on_an_empty_account_plans_everything_and_makes_nothing(fresh, recorder):
    rc, out, result = foundation(fresh, "--check", "--diff", via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == [
        text for name in NAMES
        for text in ("create repository %s" % name, "set the lifecycle policy of repository %s" % name)] + [
        "set the registry's scanning to ENHANCED, scan on push for * (was BASIC)", "create cluster directfanz"]
    assert result["repositories"]["web"] == {
        "name": "directfanz/web", "arn": "arn:aws:ecr:us-east-1:%s:repository/directfanz/web" % ACCOUNT,
        "uri": "%s.dkr.ecr.us-east-1.amazonaws.com/directfanz/web" % ACCOUNT}
    assert result["cluster_arn"] == "arn:aws:ecs:us-east-1:%s:cluster/directfanz" % ACCOUNT
    assert result["registry_scan_type"] == "ENHANCED"
    assert result["diff"]["before"]["cluster"] is None
    assert result["diff"]["after"]["cluster"]["container_insights"] == "enabled"
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert nothing_exists(fresh)


def test_first_run_makes_everything_and_the_second_writes_nothing(fresh, recorder):
    rc, out, first = foundation(fresh, "--diff")
    assert rc == 0 and first["changed"] is True and len(first["actions"]) == 10, out
    ecr, ecs = client(fresh, "ecr"), client(fresh, "ecs")

    repositories = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    assert sorted(repositories) == sorted(NAMES)
    for service, name in zip(SERVICES, NAMES, strict=True):
        repo = repositories[name]
        assert repo["imageTagMutability"] == "IMMUTABLE"
        assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
        # AWS-managed key: moto invents a key ARN where AWS names the aws/ecr key; either way KMS with a key
        assert repo["encryptionConfiguration"]["encryptionType"] == "KMS" and repo["encryptionConfiguration"]["kmsKey"]
        assert first["repositories"][service] == {"name": name, "arn": repo["repositoryArn"], "uri": repo["repositoryUri"]}
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])
        assert [r["selection"] for r in policy["rules"]] == [
            {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
            {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan", "countNumber": 30}]
        assert all(r["action"] == {"type": "expire"} for r in policy["rules"])
        tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]}
        assert tags == {"project": "directfanz", "managed-by": "directfanz.launch"}
    scanning = ecr.get_registry_scanning_configuration()["scanningConfiguration"]
    assert scanning == {"scanType": "ENHANCED", "rules": [
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]}

    cluster = ecs.describe_clusters(clusters=["directfanz"], include=["SETTINGS", "CONFIGURATIONS", "TAGS"])["clusters"][0]
    assert first["cluster_arn"] == cluster["clusterArn"] and first["cluster_name"] == "directfanz"
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert sorted(cluster["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert sorted(cluster["defaultCapacityProviderStrategy"], key=lambda s: s["capacityProvider"]) == [
        {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3}]
    assert cluster["configuration"] == {"executeCommandConfiguration": {
        "logging": "OVERRIDE", "logConfiguration": {"cloudWatchLogGroupName": "/directfanz/ecs-exec",
                                                    "cloudWatchEncryptionEnabled": False}}}
    assert {t["key"]: t["value"] for t in cluster["tags"]} == {"project": "directfanz", "managed-by": "directfanz.launch"}

    rc, out, second = foundation(fresh, "--diff", via=recorder)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recorder.calls and recorder.writes() == [], recorder.calls
    # one registry read, one paged repository listing, a policy and tags per repository, one cluster read
    assert len(recorder.calls) == 3 + 2 * len(SERVICES), recorder.calls
    assert second["diff"]["before"] == second["diff"]["after"]
    assert second["repositories"] == first["repositories"] and second["cluster_arn"] == first["cluster_arn"]

    rc, out, checked = foundation(fresh, "--check")
    assert rc == 0 and checked["changed"] is False, out


def test_drift_is_corrected_with_only_the_calls_it_needs(fresh, recorder):
    rc, out, unused = foundation(fresh)
    assert rc == 0, out
    ecr, ecs = client(fresh, "ecr"), client(fresh, "ecs")
    ecr.put_image_tag_mutability(repositoryName="directfanz/ws", imageTagMutability="MUTABLE")
    ecr.delete_lifecycle_policy(repositoryName="directfanz/stream")
    ecs.update_cluster(cluster="directfanz", settings=[{"name": "containerInsights", "value": "disabled"}])

    rc, out, result = foundation(fresh, via=recorder, allow_spot=False)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == [
        "set the tags of repository directfanz/ws IMMUTABLE (was MUTABLE)",
        "set the lifecycle policy of repository directfanz/stream",
        "update cluster directfanz (containerInsights disabled -> enabled)",
        "set the capacity providers of cluster directfanz to FARGATE (FARGATE base 2 weight 1)"]
    assert recorder.writes() == ["PutImageTagMutability", "PutLifecyclePolicy", "UpdateCluster",
                                 "PutClusterCapacityProviders"], recorder.calls
    cluster = ecs.describe_clusters(clusters=["directfanz"], include=["SETTINGS"])["clusters"][0]
    assert cluster["capacityProviders"] == ["FARGATE"] and cluster["settings"][0]["value"] == "enabled"

    rc, out, again = foundation(fresh, allow_spot=False)
    assert rc == 0 and again["changed"] is False, out


def test_an_encryption_change_is_refused_before_any_write(fresh, recorder):
    ecr = client(fresh, "ecr")
    ecr.create_repository(repositoryName="directfanz/ws")  # AES256, as ECR's default
    rc, out, result = foundation(fresh, via=recorder)
    assert rc != 0, out
    assert "repository directfanz/ws is encrypted with AES256, the task asks for KMS" in out
    assert "(nothing was changed)" in out
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["directfanz/ws"]


def test_a_key_named_by_alias_is_found_through_kms(fresh, recorder):
    kms = client(fresh, "kms")
    key = kms.create_key(Description="launch")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/directfanz-launch", TargetKeyId=key)
    client(fresh, "ecr").create_repository(repositoryName="directfanz/web",
                                           encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key})
    rc, out, result = foundation(fresh, via=recorder, services=["web", "ws"], kms_key="alias/directfanz-launch")
    assert rc == 0, out
    assert "DescribeKey" in recorder.calls
    assert "create repository directfanz/web" not in result["actions"]
    ws = client(fresh, "ecr").describe_repositories(repositoryNames=["directfanz/ws"])["repositories"][0]
    assert ws["encryptionConfiguration"]["encryptionType"] == "KMS"
    rc, out, result = foundation(fresh, services=["web"], kms_key="arn:aws:kms:us-east-1:%s:key/other" % ACCOUNT)
    assert rc != 0 and "is encrypted with KMS key %s, the task asks for" % key in out, out


def test_bad_input_makes_no_call(fresh, recorder):
    rc, out, result = foundation(fresh, via=recorder, services=["Web", "ws", "ws"], keep_tagged_images=0,
                                 untagged_expiry_days=0, spot_weight=0, cluster_name="direct fanz",
                                 execute_command_log_group=None)
    assert rc != 0 and recorder.calls == [], out
    for message in ("ecs_foundation refused the input",
                    "repository name 'directfanz/Web' (service 'Web') is not valid; accepted: 2-256 characters",
                    "service 'ws' is listed twice", "keep_tagged_images 0 is not accepted",
                    "untagged_expiry_days 0 is not accepted", "spot_weight 0 is not accepted; accepted: a whole number",
                    "cluster_name 'direct fanz' is not valid", "execute_command_log_group is missing"):
        assert message in out, message
    assert len(result["problems"]) == 7
    assert nothing_exists(fresh)


class Refusing(AwsProxy):
    """A proxy in front of moto that answers PutRegistryScanningConfiguration with a canned refusal - what an account
    where Amazon Inspector cannot be enabled gets (the code and wording are our assumption; moto accepts ENHANCED
    always) - and passes everything else through, noting each operation."""

    def canned(self, method, path, name, body):
        if name != "PutRegistryScanningConfiguration":
            return None
        data = json.dumps({"__type": "ValidationException", "message": "Amazon Inspector is not available for this"
                           " account; enhanced scanning cannot be enabled"}).encode()
        return 400, [("Content-Type", "application/x-amz-json-1.1")], data


def test_an_account_without_inspector_keeps_basic_scanning_with_a_warning(fresh):
    proxy = Refusing(fresh["aws_endpoint_url"])
    try:
        rc, out, result = foundation(fresh, via=proxy, services=["web"])
        assert rc == 0, out
        assert "PutRegistryScanningConfiguration" in proxy.calls
        assert "enhanced scanning was not enabled: AWS answered ValidationException" in out
        assert "Set enhanced_scanning: false for this account to stop asking" in out
        assert result["registry_scan_type"] == "BASIC"
        assert not any("ENHANCED" in action for action in result["actions"])
        assert result["actions"][0] == "create repository directfanz/web" and result["changed"] is True
        assert client(fresh, "ecr").get_registry_scanning_configuration()["scanningConfiguration"]["scanType"] == "BASIC"
        assert client(fresh, "ecs").list_clusters()["clusterArns"], "the steps after the refusal still ran"

        rc, out, again = foundation(fresh, via=proxy, services=["web"])
        assert rc == 0 and again["changed"] is False and again["actions"] == [], out

        proxy.calls.clear()
        rc, out, off = foundation(fresh, via=proxy, services=["web"], enhanced_scanning=False)
        assert rc == 0 and off["changed"] is False and "PutRegistryScanningConfiguration" not in proxy.calls, out
        assert "enhanced scanning was not enabled" not in out
    finally:
        proxy.close()
