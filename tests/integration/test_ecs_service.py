"""ecs_service against the moto server over HTTP, through the recording proxy: check mode on an empty cluster plans and
makes nothing; a first run makes the log groups, the Cloud Map name, the task definitions and the services, and moto's
read-back shows every setting (including what moto drops on CreateService and the module corrected); a second run makes
no write call; a desired count auto-scaling changed is never reset; a changed config_version is exactly one
RegisterTaskDefinition and one UpdateService; bad input (latest, untagged, bad sizes, secret-looking environment) is
refused before any call. moto never starts a task, so a deployment's rollout (COMPLETED, or FAILED after a circuit-breaker
rollback) is a canned answer: a proxy in front of moto rewrites DescribeServices (see Rollouts)."""

import json

import pytest

from conftest import aws_client as client
from conftest import module
from sandbox.aws_proxy import AwsProxy

ACCOUNT = "123456789012"
CLUSTER = "directfanz"
SECRET = "arn:aws:secretsmanager:us-east-1:%s:secret:directfanz/app/NEXTAUTH_SECRET-a1B2c3" % ACCOUNT
USERLIST = "arn:aws:secretsmanager:us-east-1:%s:secret:directfanz/pgbouncer/userlist-Zz9Yy8" % ACCOUNT
# What moto drops on CreateService (measured; see docs/compute.md). enableExecuteCommand is dropped too, but a dropped
# false reads as false - test_ecs_exec_asked_for_is_corrected_after_create shows a dropped true.
DROPPED = ["deploymentConfiguration", "healthCheckGracePeriodSeconds", "capacityProviderStrategy"]


def world(sandbox):
    """A VPC with two private subnets, the app and db security groups, the web target group and the cluster (with
    the foundation's default strategy)."""
    ec2, elb, ecs = client(sandbox, "ec2"), client(sandbox, "elbv2"), client(sandbox, "ecs")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for cidr, zone in (("10.40.128.0/20", "us-east-1a"), ("10.40.144.0/20", "us-east-1b"))]
    app = ec2.create_security_group(GroupName="directfanz-app", Description="app", VpcId=vpc)["GroupId"]
    db = ec2.create_security_group(GroupName="directfanz-db", Description="db", VpcId=vpc)["GroupId"]
    tg = elb.create_target_group(Name="directfanz-web", Protocol="HTTP", Port=3000, VpcId=vpc,
                                 TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["FARGATE"],
                       defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 2, "weight": 1}])
    return {"vpc": vpc, "subnets": subnets, "app": app, "db": db, "tg": tg}


def role(name):
    return "arn:aws:iam::%s:role/directfanz-%s" % (ACCOUNT, name)


def specs(w, web_version="1.0.0", config_version="v1"):
    web = {"name": "web", "image": "public.ecr.aws/directfanz/web:%s" % web_version, "cpu": 512, "memory": 1024,
           "container_port": 3000, "log_group": "/directfanz/web", "log_retention": 30, "user": "1000",
           "health_check": {"command": ["CMD-SHELL", "wget -qO- http://127.0.0.1:3000/health || exit 1"]},
           "volumes": [{"name": "tmp", "container_path": "/tmp"}],
           "environment": {"NODE_ENV": "production", "NEXTAUTH_URL": "https://directfanz.io"},
           "secrets": {"NEXTAUTH_SECRET": SECRET}, "config_version": config_version,
           "execution_role_arn": role("web-execution"), "task_role_arn": role("web-task"),
           "subnets": w["subnets"], "security_groups": [w["app"]], "load_balancers": [{"target_group_arn": w["tg"]}]}
    pooler = {"name": "pgbouncer", "image": "ghcr.io/cloudnative-pg/pgbouncer:1.24.0-7", "cpu": 256, "memory": 512,
              "container_port": 6432, "log_group": "/directfanz/pgbouncer", "log_retention": 30, "user": "998",
              "command": ["/bin/sh", "-c", "exec pgbouncer-start"],
              "health_check": {"command": ["CMD-SHELL", "pg_isready -q -h 127.0.0.1 -p 6432 || exit 1"]},
              "volumes": [{"name": "config", "container_path": "/run/pgbouncer"}],
              "environment": {"PGBOUNCER_CONFIG_DIR": "/run/pgbouncer", "PGBOUNCER_INI": "[pgbouncer]\nlisten_port = 6432"},
              "secrets": {"PGBOUNCER_USERLIST": USERLIST}, "ulimits": [{"name": "nofile", "soft": 65535, "hard": 65535}],
              "stop_timeout": 120, "execution_role_arn": role("pgbouncer-execution"),
              "task_role_arn": role("pgbouncer-task"), "subnets": w["subnets"], "security_groups": [w["db"]],
              "discovery": {"namespace": "directfanz.internal", "ttl": 10}}
    return [web, pooler]


def run(sandbox, w, *flags, via=None, services=None, **args):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"cluster": CLUSTER, "launch_name": "directfanz", "vpc_id": w["vpc"],
                   "services": services if services is not None else specs(w), "tags": {"project": "directfanz"},
                   "region": "us-east-1", "endpoint_url": endpoint, "access_key": "testing",
                   "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("ecs_service", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def service(sandbox, name):
    return client(sandbox, "ecs").describe_services(cluster=CLUSTER, services=[name], include=["TAGS"])["services"][0]


def test_check_mode_plans_everything_and_makes_nothing(fresh, recorder):
    w = world(fresh)
    rc, out, result = run(fresh, w, "--check", "--diff", via=recorder)
    assert rc == 0 and result["changed"] is True, out
    assert result["actions"] == [
        "create log group /directfanz/web", "keep log group /directfanz/web for 30 days",
        "register task definition directfanz-web (image web:1.0.0)",
        "create service web (2 tasks, target groups directfanz-web)",
        "create log group /directfanz/pgbouncer", "keep log group /directfanz/pgbouncer for 30 days",
        "create Cloud Map private DNS namespace directfanz.internal",
        "create Cloud Map service pgbouncer.directfanz.internal (A, TTL 10)",
        "register task definition directfanz-pgbouncer (image pgbouncer:1.24.0-7)",
        "create service pgbouncer (2 tasks, no load balancer)"]
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert result["diff"]["before"]["web"] == {"task_definition": None, "service": None}
    assert result["diff"]["after"]["web"]["service"]["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True, "rollback": True}
    ecs = client(fresh, "ecs")
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []
    assert ecs.list_services(cluster=CLUSTER)["serviceArns"] == []
    assert client(fresh, "logs").describe_log_groups()["logGroups"] == []
    assert client(fresh, "servicediscovery").list_namespaces()["Namespaces"] == []


def test_first_run_reads_back_every_setting_and_the_second_writes_nothing(fresh, recorder):
    w = world(fresh)
    rc, out, first = run(fresh, w, via=recorder)
    assert rc == 0 and first["changed"] is True, out
    # moto drops these on CreateService; the module read them back, set them with one UpdateService and said so
    assert sorted(first["corrected"]["web"]) == sorted(DROPPED)
    assert sorted(first["corrected"]["pgbouncer"]) == sorted(["deploymentConfiguration", "capacityProviderStrategy"])
    assert "ECS did not keep" in out
    # (Cloud Map's CreateService has the same operation name as ECS's)
    assert recorder.writes() == [
        "CreateLogGroup", "PutRetentionPolicy", "RegisterTaskDefinition", "CreateService", "UpdateService",
        "CreateLogGroup", "PutRetentionPolicy", "CreatePrivateDnsNamespace", "CreateService", "RegisterTaskDefinition",
        "CreateService", "UpdateService"], recorder.calls

    ecs = client(fresh, "ecs")
    td = ecs.describe_task_definition(taskDefinition="directfanz-web", include=["TAGS"])
    c = td["taskDefinition"]["containerDefinitions"][0]
    assert td["taskDefinition"]["cpu"] == "512" and td["taskDefinition"]["memory"] == "1024"
    assert td["taskDefinition"]["requiresCompatibilities"] == ["FARGATE"] and td["taskDefinition"]["networkMode"] == "awsvpc"
    assert td["taskDefinition"]["executionRoleArn"] == role("web-execution")
    assert td["taskDefinition"]["taskRoleArn"] == role("web-task")
    assert c["image"] == "public.ecr.aws/directfanz/web:1.0.0" and c["user"] == "1000"
    assert c["readonlyRootFilesystem"] is True
    assert c["portMappings"] == [{"containerPort": 3000, "protocol": "tcp"}]
    assert c["healthCheck"]["command"] == ["CMD-SHELL", "wget -qO- http://127.0.0.1:3000/health || exit 1"]
    assert c["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": "/directfanz/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}
    assert c["secrets"] == [{"name": "NEXTAUTH_SECRET", "valueFrom": SECRET}]
    assert {e["name"] for e in c["environment"]} == {"NODE_ENV", "NEXTAUTH_URL"}
    assert c["dockerLabels"] == {"LAUNCH_CONFIG_VERSION": "v1"}
    assert c["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert {t["key"]: t["value"] for t in td["tags"]} == {"project": "directfanz", "managed-by": "directfanz.launch"}
    pooler = ecs.describe_task_definition(taskDefinition="directfanz-pgbouncer")["taskDefinition"]["containerDefinitions"][0]
    assert pooler["ulimits"] == [{"name": "nofile", "softLimit": 65535, "hardLimit": 65535}]
    assert pooler["stopTimeout"] == 120 and pooler["user"] == "998"
    assert pooler["command"] == ["/bin/sh", "-c", "exec pgbouncer-start"]

    web = service(fresh, "web")
    assert web["taskDefinition"] == first["services"]["web"]["task_definition_arn"]
    assert web["desiredCount"] == 2
    assert web["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": sorted(w["subnets"]), "securityGroups": [w["app"]], "assignPublicIp": "DISABLED"}
    assert web["loadBalancers"] == [{"targetGroupArn": w["tg"], "containerName": "web", "containerPort": 3000}]
    assert web["deploymentConfiguration"] == {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                              "maximumPercent": 200, "minimumHealthyPercent": 100}
    assert web["healthCheckGracePeriodSeconds"] == 60 and not web.get("enableExecuteCommand")  # moto omits a false
    assert web["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 2}]
    assert web["propagateTags"] == "SERVICE"
    assert {t["key"]: t["value"] for t in web["tags"]} == {"project": "directfanz", "managed-by": "directfanz.launch"}
    pgb = service(fresh, "pgbouncer")
    sd = client(fresh, "servicediscovery")
    ns = sd.list_namespaces()["Namespaces"]
    assert [n["Name"] for n in ns] == ["directfanz.internal"] and ns[0]["Type"] == "DNS_PRIVATE"
    registry = sd.list_services()["Services"]
    assert [(s["Name"], s["DnsConfig"]["DnsRecords"]) for s in registry] == [("pgbouncer", [{"Type": "A", "TTL": 10}])]
    assert pgb["serviceRegistries"] == [{"registryArn": registry[0]["Arn"]}] and pgb["loadBalancers"] == []
    groups = {g["logGroupName"]: g.get("retentionInDays") for g in client(fresh, "logs").describe_log_groups()["logGroups"]}
    assert groups == {"/directfanz/web": 30, "/directfanz/pgbouncer": 30}

    recorder.calls.clear()
    rc, out, second = run(fresh, w, "--diff", via=recorder)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert recorder.calls and recorder.writes() == [], recorder.calls
    assert second["diff"]["before"] == second["diff"]["after"]
    assert second["services"]["web"]["registered"] is False
    assert second["services"]["web"]["task_definition_arn"] == first["services"]["web"]["task_definition_arn"]
    rc, out, checked = run(fresh, w, "--check")
    assert rc == 0 and checked["changed"] is False, out


def test_a_desired_count_set_by_autoscaling_is_never_reset(fresh, recorder):
    w = world(fresh)
    rc, out, unused = run(fresh, w)
    assert rc == 0, out
    client(fresh, "ecs").update_service(cluster=CLUSTER, service="web", desiredCount=7)  # "auto-scaling" did it
    rc, out, result = run(fresh, w, via=recorder)
    assert rc == 0 and result["changed"] is False, out
    assert "UpdateService" not in recorder.calls and recorder.writes() == [], recorder.calls
    assert service(fresh, "web")["desiredCount"] == 7


def test_a_changed_config_version_is_one_revision_and_one_update(fresh, recorder):
    w = world(fresh)
    rc, out, first = run(fresh, w)
    assert rc == 0, out
    rc, out, result = run(fresh, w, via=recorder, services=specs(w, config_version="v2"))
    assert rc == 0 and result["changed"] is True, out
    assert recorder.writes() == ["RegisterTaskDefinition", "UpdateService"], recorder.calls
    assert result["actions"] == ["register a new revision of task definition directfanz-web (dockerLabels)",
                                 "update service web (taskDefinition)"]
    assert result["services"]["web"]["task_definition_arn"].endswith("directfanz-web:2")
    assert service(fresh, "web")["taskDefinition"].endswith("directfanz-web:2")
    assert result["corrected"] == {}
    rc, out, again = run(fresh, w, via=recorder, services=specs(w, config_version="v2"))
    assert rc == 0 and again["changed"] is False, out


def test_ecs_exec_asked_for_is_corrected_after_create(fresh, recorder):
    w = world(fresh)
    services = specs(w)[:1]
    services[0]["enable_execute_command"] = True
    rc, out, result = run(fresh, w, via=recorder, services=services)
    assert rc == 0, out
    assert "enableExecuteCommand" in result["corrected"]["web"]
    assert service(fresh, "web")["enableExecuteCommand"] is True
    rc, out, again = run(fresh, w, services=services)
    assert rc == 0 and again["changed"] is False, out


def test_drift_of_a_service_setting_is_corrected_alone(fresh, recorder):
    w = world(fresh)
    rc, out, unused = run(fresh, w)
    assert rc == 0, out
    client(fresh, "ecs").update_service(cluster=CLUSTER, service="web", enableExecuteCommand=True,
                                        healthCheckGracePeriodSeconds=5)
    rc, out, result = run(fresh, w, via=recorder)
    assert rc == 0, out
    assert result["actions"] == ["update service web (healthCheckGracePeriodSeconds, enableExecuteCommand)"]
    assert recorder.writes() == ["UpdateService"]
    web = service(fresh, "web")
    assert web["enableExecuteCommand"] is False and web["healthCheckGracePeriodSeconds"] == 60


@pytest.mark.parametrize("change, message", [
    ({"image": "public.ecr.aws/directfanz/web:latest"}, "is tagged latest"),
    ({"image": "public.ecr.aws/directfanz/web"}, "has no tag, which means latest"),
    ({"cpu": 256, "memory": 4096},
     "memory 4096 does not go with cpu 256 on Fargate; accepted with cpu 256: 512, 1024 or 2048"),
    ({"cpu": 300}, "cpu 300 is not a Fargate size"),
    ({"environment": {"STRIPE_SECRET_KEY": "x"}}, "environment STRIPE_SECRET_KEY looks like a secret (its name)"),
    ({"environment": {"DATABASE_URL": "postgresql://app:hunter2hunter2@db:5432/app"}},
     "the value of environment DATABASE_URL looks like a URL with a password"),
    ({"user": "root"}, "runs as root"),
])
def test_bad_input_is_refused_before_any_call(fresh, recorder, change, message):
    w = {"vpc": "vpc-1", "subnets": ["subnet-1"], "app": "sg-1", "db": "sg-2",
         "tg": "arn:aws:elasticloadbalancing:us-east-1:%s:targetgroup/directfanz-web/0123abcd" % ACCOUNT}
    services = specs(w)
    services[0].update(change)
    rc, out, result = run(fresh, w, via=recorder, services=services)
    assert rc != 0 and message in out, out
    assert recorder.calls == []
    assert "hunter2hunter2" not in json.dumps(result.get("msg", "")) and "hunter2hunter2" not in (result.get("msg") or "")


def test_a_log_key_that_is_not_a_key_arn_of_the_region_is_refused_before_any_call(fresh, recorder):
    w = {"vpc": "vpc-1", "subnets": ["subnet-1"], "app": "sg-1", "db": "sg-2",
         "tg": "arn:aws:elasticloadbalancing:us-east-1:%s:targetgroup/directfanz-web/0123abcd" % ACCOUNT}
    for key, message in (("alias/directfanz-operations", "is not accepted; accepted: a KMS key ARN such as"),
                         ("arn:aws:kms:eu-west-1:%s:key/1234abcd-12ab-34cd-56ef-1234567890ab" % ACCOUNT,
                          "is a key of eu-west-1; accepted: a key of the log group's region us-east-1")):
        rc, out, result = run(fresh, w, via=recorder, log_kms_key_arn=key)
        assert rc != 0 and message in result.get("msg", ""), out
    assert recorder.calls == []


def test_latest_is_accepted_only_when_allowed(fresh, recorder):
    w = world(fresh)
    services = specs(w)
    services[0]["image"] = "public.ecr.aws/directfanz/web:latest"
    rc, out, result = run(fresh, w, "--check", via=recorder, services=services, allow_latest=True)
    assert rc == 0 and result["changed"] is True, out


# ---------------------------------------------------------------------------------------------------------------
# Rollouts: moto's deployments stay IN_PROGRESS (it never starts a task), so the rollout states are canned answers


class Rollout(AwsProxy):
    """Rewrites every deployment in DescribeServices answers: ours (PRIMARY) gets ``state``; with ``rolled_back`` the
    circuit breaker's answer is imitated - ours FAILED, and a new PRIMARY deployment of revision 1."""

    def __init__(self, upstream, state, rolled_back=False):
        self.state, self.rolled_back = state, rolled_back
        super().__init__(upstream)

    def answer(self, method, path, name, body, status, data):
        if name != "DescribeServices" or status >= 300:
            return data
        doc = json.loads(data)
        for svc in doc.get("services") or []:
            for d in svc.get("deployments") or []:
                d["rolloutState"] = self.state
                if self.rolled_back:
                    d["status"] = "ACTIVE"
                    d["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
            if self.rolled_back:
                first = svc["taskDefinition"].rsplit(":", 1)[0] + ":1"
                svc["deployments"].insert(0, {"id": "ecs-svc/rollback", "status": "PRIMARY", "taskDefinition": first,
                                              "rolloutState": "IN_PROGRESS", "desiredCount": 2, "runningCount": 0})
                svc["taskDefinition"] = first
        return json.dumps(doc).encode()


def test_wait_succeeds_when_the_rollout_completes(fresh):
    w = world(fresh)
    rc, out, unused = run(fresh, w)
    assert rc == 0, out
    proxy = Rollout(fresh["aws_endpoint_url"], "COMPLETED")
    try:
        rc, out, result = run(fresh, w, via=proxy, services=specs(w, web_version="1.0.1"), wait=True, wait_delay=1,
                              wait_timeout=20)
    finally:
        proxy.close()
    assert rc == 0 and result["changed"] is True, out
    assert result["services"]["web"]["deployment_id"]


def test_wait_fails_when_the_circuit_breaker_rolled_back(fresh):
    w = world(fresh)
    rc, out, unused = run(fresh, w)
    assert rc == 0, out
    proxy = Rollout(fresh["aws_endpoint_url"], "FAILED", rolled_back=True)
    try:
        rc, out, result = run(fresh, w, via=proxy, services=specs(w, web_version="1.0.1"), wait=True, wait_delay=1,
                              wait_timeout=20)
    finally:
        proxy.close()
    assert rc != 0, out
    assert "service web: the deployment of" in out and "circuit breaker" in out, out
    assert "rolled back to arn:aws:ecs:us-east-1:%s:task-definition/directfanz-web:1" % ACCOUNT in out


def test_wait_times_out_naming_the_services_in_progress(fresh):
    w = world(fresh)
    rc, out, unused = run(fresh, w)
    assert rc == 0, out
    rc, out, result = run(fresh, w, services=specs(w, web_version="1.0.1"), wait=True, wait_delay=1, wait_timeout=2)
    assert rc != 0 and "the deployments of web are still in progress after 2 s" in out, out
