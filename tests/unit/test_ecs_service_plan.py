"""ecs_service's pure parts on plain dicts: image pinning, Fargate sizes, secret-looking environment (never echoing the
value), the canonical comparison of task definitions against what ECS answers (with every default it adds), which
revision a service should run, the service plan (create with the desired count, update only what differs and never
the desired count), and the rollout verdict a wait reads (a circuit-breaker rollback is a failure)."""

import copy

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import ecs as E
from ansible_collections.directfanz.launch.plugins.modules import ecs_service as M

ACCOUNT = "123456789012"
TG = "arn:aws:elasticloadbalancing:us-east-1:%s:targetgroup/directfanz-web/0123abcd" % ACCOUNT
SECRET = "arn:aws:secretsmanager:us-east-1:%s:secret:directfanz/app/NEXTAUTH_SECRET-a1B2c3" % ACCOUNT
CLUSTER = {"clusterName": "directfanz", "status": "ACTIVE",
           "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "base": 2, "weight": 1}]}


def service(**over):
    s = {"name": "web", "image": "public.ecr.aws/directfanz/web:1.0.0", "cpu": 512, "memory": 1024,
         "cpu_architecture": "X86_64", "container_port": 3000, "command": None,
         "health_check": {"command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5, "retries": 3, "start_period": 60},
         "log_group": "/directfanz/web", "log_retention": 30, "log_stream_prefix": None, "readonly_root_filesystem": True,
         "user": "1000", "environment": {"NODE_ENV": "production"}, "environment_safe_keys": [],
         "secrets": {"NEXTAUTH_SECRET": SECRET}, "config_version": "v1",
         "execution_role_arn": "arn:aws:iam::%s:role/x-exec" % ACCOUNT, "task_role_arn": "arn:aws:iam::%s:role/x" % ACCOUNT,
         "ulimits": [], "stop_timeout": 30, "volumes": [{"name": "tmp", "container_path": "/tmp"}], "desired_count": 2,
         "subnets": ["subnet-b", "subnet-a"], "security_groups": ["sg-1"], "assign_public_ip": False,
         "capacity_provider_strategy": None, "load_balancers": [{"target_group_arn": TG, "container_port": None}],
         "health_check_grace_period": 60, "discovery": None, "enable_execute_command": False,
         "minimum_healthy_percent": 100, "maximum_percent": 200}
    s.update(over)
    return s


def params(*services, **over):
    p = {"cluster": "directfanz", "launch_name": "directfanz", "allow_latest": False, "vpc_id": "vpc-1",
         "log_kms_key_arn": None, "tags": {"project": "directfanz"}, "wait": False, "wait_timeout": 60, "wait_delay": 1,
         "services": list(services) or [service()]}
    p.update(over)
    return p


def empty():
    return {"cluster": copy.deepcopy(CLUSTER), "services": {}, "task_definitions": {}, "log_groups": {},
            "namespaces": {}, "discovery_services": {}}


def as_ecs_answers(kwargs, revision=1):
    """A RegisterTaskDefinition request as DescribeTaskDefinition answers it: every default ECS adds."""
    td = copy.deepcopy(kwargs)
    td.pop("tags", None)
    for c in td["containerDefinitions"]:
        c.setdefault("cpu", 0)
        c.setdefault("environment", [])
        c.setdefault("mountPoints", [])
        c.setdefault("volumesFrom", [])
        c.setdefault("systemControls", [])
        for pm in c.get("portMappings") or []:
            pm["hostPort"] = pm["containerPort"]
        c["environment"] = list(reversed(c["environment"]))
    td.update({"taskDefinitionArn": "arn:aws:ecs:us-east-1:%s:task-definition/%s:%d" % (ACCOUNT, td["family"], revision),
               "revision": revision, "status": "ACTIVE", "compatibilities": ["EC2", "FARGATE"],
               "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"}],
               "placementConstraints": [], "registeredAt": "2026-01-01T00:00:00Z", "registeredBy": "arn:aws:iam::x"})
    td["volumes"] = [dict(v, host={}) for v in td.get("volumes") or []]
    return td


def in_place(p):
    """What ECS answers once ``p`` is applied (with its defaults, lists in another order)."""
    observed = empty()
    for s in p["services"]:
        td = as_ecs_answers(M.task_definition(p, s, "us-east-1"))
        observed["task_definitions"][s["name"]] = {"latest": td, "current": td}
        wanted = M.wanted_service(p, s, CLUSTER, td["taskDefinitionArn"], None)
        svc = {"serviceName": s["name"],
               "serviceArn": "arn:aws:ecs:us-east-1:%s:service/directfanz/%s" % (ACCOUNT, s["name"]),
               "status": "ACTIVE", "desiredCount": 7, "launchType": "EC2",
               "taskDefinition": td["taskDefinitionArn"],
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": list(reversed(s["subnets"])),
                                                                "securityGroups": s["security_groups"],
                                                                "assignPublicIp": "DISABLED"}},
               "loadBalancers": wanted["loadBalancers"], "serviceRegistries": [],
               "deploymentConfiguration": dict(wanted["deploymentConfiguration"], alarms={"enable": False}),
               "healthCheckGracePeriodSeconds": 60, "propagateTags": "SERVICE",
               "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 2}],
               "tags": [{"key": "project", "value": "directfanz"}, {"key": "managed-by", "value": "directfanz.launch"}]}
        observed["services"][s["name"]] = svc
        observed["log_groups"][s["log_group"]] = {"logGroupName": s["log_group"], "retentionInDays": s["log_retention"]}
    return observed


# --- input ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("image, ok", [
    ("public.ecr.aws/directfanz/web:1.0.0", True),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/directfanz/web:2026.01.02-abc", True),
    ("ghcr.io/cloudnative-pg/pgbouncer@sha256:" + "a" * 64, True),
    ("localhost:5000/web:1", True),
    ("public.ecr.aws/directfanz/web:latest", False),
    ("public.ecr.aws/directfanz/web", False),
    ("Web:1", False),
    ("web@sha256:short", False),
])
def test_images_must_be_pinned(image, ok):
    assert (M.image_problem(image, False) is None) is ok
    if image.endswith(":latest") or image.endswith("/web"):
        assert M.image_problem(image, True) is None


@pytest.mark.parametrize("cpu, memory, ok", [
    (256, 512, True), (256, 2048, True), (256, 3072, False), (512, 4096, True), (512, 5120, False),
    (1024, 8192, True), (2048, 16384, True), (4096, 30720, True), (4096, 31744, False), (8192, 20480, True),
    (8192, 18432, False), (16384, 122880, True), (300, 1024, False),
])
def test_fargate_sizes(cpu, memory, ok):
    assert (M.size_problem(cpu, memory) is None) is ok


def test_secret_looking_environment_is_refused_naming_the_key_not_the_value():
    s = service(environment={"STRIPE_SECRET_KEY": "sk_live_abcdefabcdefabcdef", "API_TOKEN": "t0k3n-value",
                             "REDIS": "rediss://:p4ssw0rd-value@cache:6379", "STRIPE": "sk_test_zzzzzzzzzzzz",
                             "PUBLIC_KEY_URL": "https://example.com/jwks", "NODE_ENV": "production"},
                environment_safe_keys=["PUBLIC_KEY_URL"])
    problems = M.input_problems(params(s))
    text = "; ".join(problems)
    assert "environment STRIPE_SECRET_KEY looks like a secret (its name)" in text
    assert "environment API_TOKEN looks like a secret (its name)" in text
    assert "the value of environment REDIS looks like a URL with a password" in text
    assert "the value of environment STRIPE looks like a Stripe key" in text
    assert "PUBLIC_KEY_URL" not in text and "NODE_ENV" not in text
    for value in ("sk_live_abcdefabcdefabcdef", "t0k3n-value", "p4ssw0rd-value", "sk_test_zzzzzzzzzzzz"):
        assert value not in text


def test_every_problem_is_named_at_once():
    s = service(image="web:latest", cpu=256, memory=4096, user="root", stop_timeout=500, log_retention=31,
                secrets={"X": "not-an-arn"}, execution_role_arn="role", subnets=[])
    text = "; ".join(M.input_problems(params(s, service(name="web"))))
    for part in ("is tagged latest", "memory 4096 does not go with cpu 256", "runs as root", "stop_timeout 500",
                 "log_retention 31", "secret X is not an ARN", "execution_role_arn 'role'", "subnets is empty",
                 "service 'web' is listed twice"):
        assert part in text, part


def test_placeholders_are_accepted_in_check_mode_only():
    s = service(load_balancers=[{"target_group_arn": "(new target group directfanz-web)", "container_port": None}])
    assert M.input_problems(params(s), check_mode=True) == []
    assert any("is not a target group ARN" in x for x in M.input_problems(params(s)))


# --- task definitions -------------------------------------------------------------------------------------------

def test_the_registered_definition_with_ecs_defaults_is_not_a_difference():
    p = params()
    kwargs = M.task_definition(p, p["services"][0], "us-east-1")
    assert M.canonical_task(as_ecs_answers(kwargs)) == M.canonical_task(kwargs)


def test_an_empty_account_plans_everything_in_order():
    pooler = service(name="pgbouncer", container_port=6432, load_balancers=[], log_group="/directfanz/pgbouncer",
                     discovery={"namespace": "directfanz.internal", "name": None, "ttl": 10})
    p = params(service(), pooler)
    plan = M.plan_services(p, empty(), {"region": "us-east-1"})
    assert [s["op"] for s in plan.steps] == [
        "create_log_group", "put_retention_policy", "register_task_definition", "create_ecs_service",
        "create_log_group", "put_retention_policy", "create_namespace", "create_service", "register_task_definition",
        "create_ecs_service"]
    web = plan.steps[3]["kwargs"]
    assert web["desiredCount"] == 2 and web["taskDefinition"] == "(new revision of directfanz-web)"
    assert web["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "base": 2, "weight": 1}]
    assert "launchType" not in web
    assert web["deploymentConfiguration"] == {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                              "maximumPercent": 200, "minimumHealthyPercent": 100}
    assert web["healthCheckGracePeriodSeconds"] == 60 and web["enableExecuteCommand"] is False
    assert web["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}
    assert web["loadBalancers"] == [{"targetGroupArn": TG, "containerName": "web", "containerPort": 3000}]
    sd = plan.steps[7]["kwargs"]
    assert sd["NamespaceId"] == "(new namespace directfanz.internal)"
    pooler_svc = plan.steps[9]["kwargs"]
    assert pooler_svc["serviceRegistries"] == [{"registryArn": "(new discovery pgbouncer)"}]
    assert "healthCheckGracePeriodSeconds" not in pooler_svc and "loadBalancers" not in pooler_svc
    container = plan.steps[2]["kwargs"]["containerDefinitions"][0]
    assert container["dockerLabels"] == {"LAUNCH_CONFIG_VERSION": "v1"}
    assert container["readonlyRootFilesystem"] is True and container["user"] == "1000"


def test_nothing_to_do_once_in_place_and_the_desired_count_is_left_alone():
    p = params()
    plan = M.plan_services(p, in_place(p), {"region": "us-east-1"})
    assert plan.steps == [] and plan.problems == []


@pytest.mark.parametrize("change, text", [
    ({"config_version": "v2"}, "dockerLabels"),
    ({"image": "public.ecr.aws/directfanz/web:1.0.1"}, "image"),
    ({"secrets": {"NEXTAUTH_SECRET": SECRET + ":::version-2"}}, "secrets"),
    ({"memory": 2048}, "memory"),
])
def test_a_changed_definition_is_one_revision_and_one_update(change, text):
    p = params()
    observed = in_place(p)
    p2 = params(service(**change))
    plan = M.plan_services(p2, observed, {"region": "us-east-1"})
    assert [s["op"] for s in plan.steps] == ["register_task_definition", "update_ecs_service"]
    assert text in plan.actions[0]
    assert plan.steps[1]["fields"] == ["taskDefinition"]
    assert "desiredCount" not in plan.steps[1]["kwargs"]


def test_the_revision_the_service_runs_is_kept_when_it_is_the_wanted_one():
    """After a rollback to revision 1 with the inventory put back, nothing is registered or updated, although
    revision 2 is the family's latest."""
    p = params()
    observed = in_place(p)
    newer = as_ecs_answers(M.task_definition(params(service(image="public.ecr.aws/directfanz/web:1.0.1")),
                                             service(image="public.ecr.aws/directfanz/web:1.0.1"), "us-east-1"), 2)
    observed["task_definitions"]["web"]["latest"] = newer
    plan = M.plan_services(p, observed, {"region": "us-east-1"})
    assert plan.steps == []


def test_the_latest_revision_is_used_rather_than_registering_a_copy():
    p = params()
    observed = in_place(p)
    older = as_ecs_answers(M.task_definition(params(service(config_version="v0")), service(config_version="v0"),
                                             "us-east-1"), 1)
    latest = observed["task_definitions"]["web"]["latest"]
    latest["taskDefinitionArn"] = latest["taskDefinitionArn"][:-1] + "2"
    observed["task_definitions"]["web"]["current"] = older
    observed["services"]["web"]["taskDefinition"] = older["taskDefinitionArn"]
    plan = M.plan_services(p, observed, {"region": "us-east-1"})
    assert [s["op"] for s in plan.steps] == ["update_ecs_service"]
    assert plan.steps[0]["kwargs"]["taskDefinition"].endswith(":2")


def test_service_drift_is_one_update_of_those_fields_only():
    p = params()
    observed = in_place(p)
    svc = observed["services"]["web"]
    svc["enableExecuteCommand"] = True
    svc["deploymentConfiguration"]["deploymentCircuitBreaker"]["rollback"] = False
    svc["capacityProviderStrategy"] = None
    plan = M.plan_services(p, observed, {"region": "us-east-1"})
    assert [s["op"] for s in plan.steps] == ["update_ecs_service"]
    kwargs = plan.steps[0]["kwargs"]
    assert sorted(k for k in kwargs if k not in ("cluster", "service")) == [
        "capacityProviderStrategy", "deploymentConfiguration", "enableExecuteCommand", "forceNewDeployment"]


def test_a_missing_cluster_is_refused_except_in_check_mode():
    observed = empty()
    observed["cluster"] = None
    assert "run the foundation" in M.plan_services(params(), observed, {"region": "us-east-1"}).problems[0]
    plan = M.plan_services(params(), observed, {"region": "us-east-1", "check_mode": True})
    assert plan.problems == [] and plan.warnings


def test_a_new_namespace_needs_a_vpc():
    pooler = service(name="pgbouncer", load_balancers=[], discovery={"namespace": "x.internal", "name": None, "ttl": 10})
    plan = M.plan_services(params(pooler, vpc_id=None), empty(), {"region": "us-east-1"})
    assert "vpc_id is not given" in plan.problems[0]


# --- rollouts ---------------------------------------------------------------------------------------------------

TD1 = "arn:aws:ecs:us-east-1:%s:task-definition/directfanz-web:1" % ACCOUNT
TD2 = "arn:aws:ecs:us-east-1:%s:task-definition/directfanz-web:2" % ACCOUNT


def test_rollout_verdicts():
    ours = {"id": "d2", "status": "PRIMARY", "taskDefinition": TD2, "rolloutState": "IN_PROGRESS", "runningCount": 1,
            "desiredCount": 2}
    svc = {"taskDefinition": TD2, "deployments": [ours]}
    assert E.rollout_verdict(svc, "d2", TD2) == ("waiting", "IN_PROGRESS: 1 of 2 tasks running")
    assert E.rollout_verdict({"taskDefinition": TD2, "deployments": [dict(ours, rolloutState="COMPLETED")]},
                             "d2", TD2)[0] == "done"
    rolled = {"taskDefinition": TD1, "deployments": [
        {"id": "d3", "status": "PRIMARY", "taskDefinition": TD1, "rolloutState": "IN_PROGRESS"},
        dict(ours, status="ACTIVE", rolloutState="FAILED",
             rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.")]}
    verdict, why = E.rollout_verdict(rolled, "d2", TD2)
    assert verdict == "failed" and "circuit breaker" in why and "rolled back to %s" % TD1 in why
    gone = {"taskDefinition": TD1, "deployments": [{"id": "d3", "status": "PRIMARY", "taskDefinition": TD1,
                                                    "rolloutState": "COMPLETED"}]}
    assert E.rollout_verdict(gone, "d2", TD2)[0] == "failed"
    assert E.rollout_verdict(None, "d2", TD2)[0] == "failed"


def test_check_mode_accepts_the_placeholders_secrets_manager_answers_and_nothing_else_does():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:directfanz/app/JWT_SECRET-AbCdEf"
    assert M.secret_ref_ok(arn + ":::v-1", False) and M.secret_ref_ok(arn + ":::v-1", True)
    for placeholder in ("(new secret directfanz/app/JWT_SECRET):::(new version)", arn + ":::(new version)"):
        assert M.secret_ref_ok(placeholder, True) is True
        assert M.secret_ref_ok(placeholder, False) is False  # a real run never writes a placeholder
    for bad in ("", "JWT_SECRET", "(new secret x) extra", "arn:aws:s3:::bucket"):
        assert M.secret_ref_ok(bad, True) is False
