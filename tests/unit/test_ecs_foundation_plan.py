"""ecs_foundation's pure parts on plain dicts: input checks (repository and cluster names, lifecycle numbers, weights,
ECS Exec), and the plan - everything on an empty account, nothing once in place (with the answers AWS and moto
reshape: policy text re-formatted, strategy order, an omitted base), lifecycle drift, an encryption change refused,
spot on and off, and the registry's enhanced scanning (whose refusal by Inspector is a canned answer in
tests/integration/test_ecs_foundation.py)."""

import copy
import json

import pytest

from ansible_collections.directfanz.launch.plugins.modules import ecs_foundation as M

ACCOUNT = "123456789012"
CTX = {"account": ACCOUNT, "partition": "aws", "region": "us-east-1", "dns_suffix": "amazonaws.com",
       "cluster_arn": "arn:aws:ecs:us-east-1:%s:cluster/directfanz" % ACCOUNT}
SERVICES = ["web", "ws", "stream", "pgbouncer"]


def params(**over):
    p = {"services": list(SERVICES), "repository_prefix": "directfanz", "scan_on_push": True, "immutable_tags": True,
         "kms_key": None, "keep_tagged_images": 30, "untagged_expiry_days": 7, "enhanced_scanning": False,
         "enhanced_scanning_filters": ["*"], "cluster_name": "directfanz", "container_insights": "enabled",
         "fargate_base": 2, "fargate_weight": 1, "allow_spot": False, "spot_weight": 1, "execute_command": False,
         "execute_command_log_group": None, "execute_command_log_encryption": False, "execute_command_kms_key": None,
         "tags": {"project": "directfanz"}, "state": "present"}
    p.update(over)
    return p


def empty():
    return {"repositories": {}, "lifecycle": {}, "repository_tags": {}, "kms_key_arn": None, "registry_id": ACCOUNT,
            "registry_scanning": {"scanType": "BASIC", "rules": []}, "cluster": None}


def in_place(p):
    """What AWS answers once ``p`` has been applied - reshaped the way the services reshape it: the lifecycle policy
    text re-formatted with its keys in another order, the strategy in another order, FARGATE_SPOT's base omitted
    (moto), settings and tags as lists."""
    observed = empty()
    for service in p["services"]:
        name = M.repository_name(p, service)
        observed["repositories"][name] = {
            "repositoryName": name, "repositoryArn": "arn:aws:ecr:us-east-1:%s:repository/%s" % (ACCOUNT, name),
            "repositoryUri": "%s.dkr.ecr.us-east-1.amazonaws.com/%s" % (ACCOUNT, name),
            "imageTagMutability": "IMMUTABLE" if p["immutable_tags"] else "MUTABLE",
            "imageScanningConfiguration": {"scanOnPush": p["scan_on_push"]},
            "encryptionConfiguration": {"encryptionType": "KMS",
                                        "kmsKey": "arn:aws:kms:us-east-1:%s:key/1111-aws-ecr" % ACCOUNT}}
        rules = [dict(reversed(list(rule.items()))) for rule in M.lifecycle_policy(p)["rules"]]
        observed["lifecycle"][name] = json.dumps({"rules": rules}, indent=4)
        observed["repository_tags"][name] = dict(M.desired_tags(p["tags"]), **{"cost-centre": "platform"})
    strategy = [dict(s) for s in reversed(M.strategy(p))]
    for item in strategy:
        if item["capacityProvider"] == "FARGATE_SPOT":
            item.pop("base")
    observed["cluster"] = {
        "clusterArn": CTX["cluster_arn"], "clusterName": p["cluster_name"], "status": "ACTIVE",
        "settings": [{"name": "containerInsights", "value": p["container_insights"]}],
        "capacityProviders": list(reversed(M.capacity_providers(p))), "defaultCapacityProviderStrategy": strategy,
        "tags": [{"key": k, "value": v} for k, v in M.desired_tags(p["tags"]).items()] + [{"key": "x", "value": "y"}]}
    if M.exec_configuration(p):
        observed["cluster"]["configuration"] = M.exec_configuration(p)
    if p["enhanced_scanning"]:
        observed["registry_scanning"] = {"scanType": "ENHANCED", "rules": M.scanning_rules(p)}
    return observed


def ops(plan):
    return [step["op"] for step in plan.steps]


# --- input ----------------------------------------------------------------------------------------------------

def test_the_launch_input_is_accepted():
    assert M.input_problems(params()) == []
    assert M.input_problems(params(repository_prefix="", services=["web", "api-gateway", "a.b_c"])) == []
    assert M.input_problems(params(allow_spot=True, spot_weight=1000, fargate_weight=0, fargate_base=0,
                                   execute_command=True, execute_command_log_group="/directfanz/ecs-exec",
                                   kms_key="alias/directfanz", enhanced_scanning=True,
                                   enhanced_scanning_filters=["directfanz/*"])) == []


@pytest.mark.parametrize("over, message", [
    ({"services": ["Web"]}, "repository name 'directfanz/Web' (service 'Web') is not valid; accepted: 2-256"),
    ({"services": ["web--x"]}, "repository name 'directfanz/web--x'"),
    ({"services": ["-web"]}, "repository name 'directfanz/-web'"),
    ({"services": ["w"], "repository_prefix": ""}, "repository name 'w'"),
    ({"services": ["x" * 250]}, "is not valid; accepted: 2-256 characters"),
    ({"services": ["web", "web"]}, "service 'web' is listed twice"),
    ({"services": []}, "services is empty"),
    ({"keep_tagged_images": 0}, "keep_tagged_images 0 is not accepted; accepted: a whole number from 1 to 10000"),
    ({"untagged_expiry_days": -1}, "untagged_expiry_days -1 is not accepted; accepted: a whole number from 1"),
    ({"allow_spot": True, "spot_weight": 0}, "spot_weight 0 is not accepted; accepted: a whole number from 1 to 1000"),
    ({"allow_spot": True, "spot_weight": 1001}, "spot_weight 1001 is not accepted"),
    ({"fargate_weight": 0}, "fargate_weight 0 is not accepted; accepted: a whole number from 1 to 1000 (0 only with"),
    ({"fargate_base": 100001}, "fargate_base 100001 is not accepted; accepted: a whole number from 0 to 100000"),
    ({"cluster_name": "direct fanz"}, "cluster_name 'direct fanz' is not valid; accepted: 1-255 letters, digits"),
    ({"cluster_name": "x" * 256}, "cluster_name"),
    ({"execute_command": True}, "execute_command_log_group is missing; it is required with execute_command: true"),
    ({"execute_command": True, "execute_command_log_group": "bad group"}, "execute_command_log_group 'bad group'"),
    ({"kms_key": "my key"}, "kms_key 'my key' is not a KMS key; accepted: a key id, key ARN, alias/<name>"),
    ({"enhanced_scanning": True, "enhanced_scanning_filters": ["Web*"]}, "enhanced_scanning_filters entry 'Web*'"),
    ({"tags": {"aws:x": "y"}}, "tag key 'aws:x' is not accepted"),
])
def test_bad_input_says_what_is_accepted(over, message):
    problems = M.input_problems(params(**over))
    assert any(message in problem for problem in problems), problems


def test_spot_weight_is_not_checked_without_spot():
    assert M.input_problems(params(allow_spot=False, spot_weight=0)) == []


def test_every_problem_is_named_at_once():
    problems = M.input_problems(params(services=["Web", "ws", "ws"], keep_tagged_images=0, cluster_name="a b",
                                       allow_spot=True, spot_weight=0))
    assert len(problems) == 5, problems


# --- plans ----------------------------------------------------------------------------------------------------

def test_an_empty_account_plans_everything():
    p = params(allow_spot=True, spot_weight=3, execute_command=True, execute_command_log_group="/directfanz/exec",
               enhanced_scanning=True)
    plan = M.plan_foundation(p, empty(), CTX)
    assert plan.problems == [] and plan.changed
    assert ops(plan) == ["create_repository", "put_lifecycle_policy"] * 4 + ["put_registry_scanning", "create_cluster"]
    create = plan.steps[0]["kwargs"]
    assert create == {"repositoryName": "directfanz/web", "imageTagMutability": "IMMUTABLE",
                      "imageScanningConfiguration": {"scanOnPush": True},
                      "encryptionConfiguration": {"encryptionType": "KMS"},
                      "tags": [{"Key": "managed-by", "Value": "directfanz.launch"},
                               {"Key": "project", "Value": "directfanz"}]}
    policy = json.loads(plan.steps[1]["kwargs"]["lifecyclePolicyText"])
    assert policy["rules"][0]["selection"] == {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                               "countUnit": "days", "countNumber": 7}
    assert policy["rules"][1]["selection"] == {"tagStatus": "tagged", "tagPatternList": ["*"],
                                               "countType": "imageCountMoreThan", "countNumber": 30}
    registry = plan.steps[8]
    assert registry["scanType"] == "ENHANCED"
    assert registry["rules"] == [{"scanFrequency": "SCAN_ON_PUSH",
                                  "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]
    cluster = plan.steps[9]["kwargs"]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert cluster["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert cluster["defaultCapacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "base": 2, "weight": 1},
                                                          {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3}]
    assert cluster["configuration"] == {"executeCommandConfiguration": {
        "logging": "OVERRIDE", "logConfiguration": {"cloudWatchLogGroupName": "/directfanz/exec",
                                                    "cloudWatchEncryptionEnabled": False}}}
    assert plan.actions[:2] == ["create repository directfanz/web", "set the lifecycle policy of repository directfanz/web"]
    assert plan.actions[-1] == "create cluster directfanz"


def test_a_given_kms_key_goes_into_the_create_and_exec_is_not_configured_unless_asked():
    plan = M.plan_foundation(params(kms_key="alias/directfanz"), empty(), CTX)
    assert plan.steps[0]["kwargs"]["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": "alias/directfanz"}
    cluster = plan.steps[-1]["kwargs"]
    assert "configuration" not in cluster
    assert cluster["capacityProviders"] == ["FARGATE"]
    assert cluster["defaultCapacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "base": 2, "weight": 1}]


@pytest.mark.parametrize("over", [
    {}, {"allow_spot": True, "spot_weight": 4}, {"execute_command": True, "execute_command_log_group": "/x/exec"},
    {"enhanced_scanning": True, "enhanced_scanning_filters": ["directfanz/*", "other"]},
    {"container_insights": "enhanced", "immutable_tags": False, "scan_on_push": False},
])
def test_nothing_to_do_once_in_place(over):
    p = params(**over)
    plan = M.plan_foundation(p, in_place(p), CTX)
    assert plan.steps == [] and not plan.changed and plan.problems == [], plan.actions


def test_tags_set_by_others_are_kept_and_a_changed_value_is_written():
    p = params()
    observed = in_place(p)
    observed["repository_tags"]["directfanz/ws"]["project"] = "old"
    observed["cluster"]["tags"] = [{"key": "x", "value": "y"}]
    plan = M.plan_foundation(p, observed, CTX)
    assert ops(plan) == ["tag_resource", "tag_resource"]
    assert plan.steps[0]["kwargs"] == {"resourceArn": "arn:aws:ecr:us-east-1:%s:repository/directfanz/ws" % ACCOUNT,
                                       "tags": [{"Key": "project", "Value": "directfanz"}]}
    assert plan.steps[1]["kwargs"]["tags"] == [{"key": "managed-by", "value": "directfanz.launch"},
                                               {"key": "project", "value": "directfanz"}]


def test_lifecycle_drift_rewrites_only_that_policy():
    p = params()
    observed = in_place(p)
    drifted = M.lifecycle_policy(p)
    drifted["rules"][1]["selection"]["countNumber"] = 100
    observed["lifecycle"]["directfanz/stream"] = json.dumps(drifted)
    observed["lifecycle"]["directfanz/ws"] = None  # someone deleted it
    plan = M.plan_foundation(p, observed, CTX)
    assert plan.actions == ["set the lifecycle policy of repository directfanz/ws",
                            "update the lifecycle policy of repository directfanz/stream"]
    assert json.loads(plan.steps[1]["kwargs"]["lifecyclePolicyText"]) == M.lifecycle_policy(p)


def test_new_lifecycle_numbers_update_every_policy():
    p = params()
    plan = M.plan_foundation(params(keep_tagged_images=10), in_place(p), CTX)
    assert ops(plan) == ["put_lifecycle_policy"] * 4


def test_mutability_and_scan_on_push_drift():
    p = params()
    observed = in_place(p)
    observed["repositories"]["directfanz/web"]["imageTagMutability"] = "MUTABLE"
    observed["repositories"]["directfanz/web"]["imageScanningConfiguration"] = {"scanOnPush": False}
    plan = M.plan_foundation(p, observed, CTX)
    assert plan.actions == ["set the tags of repository directfanz/web IMMUTABLE (was MUTABLE)",
                            "turn scan on push on for repository directfanz/web"]
    assert plan.steps[0]["kwargs"] == {"repositoryName": "directfanz/web", "imageTagMutability": "IMMUTABLE"}


def test_an_encryption_change_is_refused_naming_the_repository():
    p = params()
    observed = in_place(p)
    observed["repositories"]["directfanz/ws"]["encryptionConfiguration"] = {"encryptionType": "AES256"}
    plan = M.plan_foundation(p, observed, CTX)
    assert len(plan.problems) == 1
    assert plan.problems[0].startswith("repository directfanz/ws is encrypted with AES256, the task asks for KMS; "
                                       "ECR cannot change a repository's encryption - delete the repository")


def test_another_kms_key_is_refused_and_the_same_key_by_alias_or_id_is_not():
    key = "arn:aws:kms:us-east-1:%s:key/1111-aws-ecr" % ACCOUNT
    observed = in_place(params())
    plan = M.plan_foundation(params(kms_key="arn:aws:kms:us-east-1:%s:key/2222" % ACCOUNT), observed, CTX)
    assert len(plan.problems) == 4 and "encrypted with KMS key %s, the task asks for" % key in plan.problems[0]
    assert M.plan_foundation(params(kms_key=key), observed, CTX).problems == []
    assert M.plan_foundation(params(kms_key="1111-aws-ecr"), observed, CTX).problems == []
    resolved = dict(observed, kms_key_arn=key)
    assert M.plan_foundation(params(kms_key="alias/ours"), resolved, CTX).problems == []
    assert len(M.plan_foundation(params(kms_key="alias/ours"), observed, CTX).problems) == 4


def test_spot_on_then_off():
    off = params()
    on = params(allow_spot=True, spot_weight=3)
    plan = M.plan_foundation(on, in_place(off), CTX)
    assert ops(plan) == ["put_cluster_capacity_providers"]
    assert plan.steps[0]["kwargs"] == {"cluster": "directfanz", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                                       "defaultCapacityProviderStrategy": [
                                           {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
                                           {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3}]}
    assert plan.actions == ["set the capacity providers of cluster directfanz to FARGATE, FARGATE_SPOT "
                            "(FARGATE base 2 weight 1, FARGATE_SPOT base 0 weight 3)"]
    plan = M.plan_foundation(off, in_place(on), CTX)
    assert plan.steps[0]["kwargs"]["capacityProviders"] == ["FARGATE"]
    assert plan.steps[0]["kwargs"]["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "base": 2, "weight": 1}]
    reweighted = M.plan_foundation(params(allow_spot=True, spot_weight=5), in_place(on), CTX)
    assert ops(reweighted) == ["put_cluster_capacity_providers"]


def test_insights_and_exec_change_in_one_update():
    p = params(container_insights="enhanced", execute_command=True, execute_command_log_group="/x/exec",
               execute_command_kms_key="alias/exec")
    plan = M.plan_foundation(p, in_place(params()), CTX)
    assert ops(plan) == ["update_cluster"]
    assert plan.actions == ["update cluster directfanz (containerInsights enabled -> enhanced, ECS Exec logging to /x/exec)"]
    assert plan.steps[0]["kwargs"]["configuration"]["executeCommandConfiguration"]["kmsKeyId"] == "alias/exec"


def test_exec_off_leaves_a_configuration_alone():
    observed = in_place(params(execute_command=True, execute_command_log_group="/x/exec"))
    assert M.plan_foundation(params(), observed, CTX).steps == []


def test_an_inactive_cluster_counts_as_missing_and_enhanced_scanning_off_leaves_the_registry():
    observed = in_place(params())
    observed["cluster"] = None  # read_state drops INACTIVE clusters
    observed["registry_scanning"] = {"scanType": "ENHANCED", "rules": []}
    plan = M.plan_foundation(params(), observed, CTX)
    assert ops(plan) == ["create_cluster"]


def test_enhanced_scanning_rules_that_differ_are_replaced():
    p = params(enhanced_scanning=True)
    observed = in_place(p)
    observed["registry_scanning"]["rules"] = [{"scanFrequency": "CONTINUOUS_SCAN",
                                               "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]
    plan = M.plan_foundation(p, observed, CTX)
    assert ops(plan) == ["put_registry_scanning"]
    assert plan.actions == ["set the registry's scanning to ENHANCED, scan on push for * (was ENHANCED)"]


def test_outputs_are_computed_before_anything_exists():
    repositories = M.outputs(params(), empty(), CTX)
    assert repositories["web"] == {"name": "directfanz/web",
                                   "arn": "arn:aws:ecr:us-east-1:%s:repository/directfanz/web" % ACCOUNT,
                                   "uri": "%s.dkr.ecr.us-east-1.amazonaws.com/directfanz/web" % ACCOUNT}
    assert sorted(repositories) == sorted(SERVICES)


def test_the_diff_after_a_create_equals_the_before_of_the_next_run():
    p = params(allow_spot=True, spot_weight=2, enhanced_scanning=True)
    after = M.after_view(p, empty(), "ENHANCED")
    again = copy.deepcopy(in_place(p))
    for name in again["repository_tags"]:
        again["repository_tags"][name].pop("cost-centre")
        again["repositories"][name]["encryptionConfiguration"] = {"encryptionType": "KMS", "kmsKey": None}
    again["cluster"]["tags"] = [t for t in again["cluster"]["tags"] if t["key"] != "x"]
    assert M.before_view(p, again) == after


def test_canonical_json_ignores_formatting_and_key_order():
    assert M.canonical_json('{"b": 1,\n "a": [1, 2]}') == M.canonical_json({"a": [1, 2], "b": 1})
    assert M.canonical_json('{"a": [2, 1]}') != M.canonical_json({"a": [1, 2]})


def test_strategy_normalisation_reads_an_omitted_base_as_zero():
    assert M.normal_strategy([{"capacityProvider": "FARGATE_SPOT", "weight": 3},
                              {"capacityProvider": "FARGATE", "base": 2, "weight": 1}]) == [
        {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3}]
