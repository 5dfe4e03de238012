"""The ecs_services role (foundation + services) after the network role, through a small playbook against the
sandbox's moto: the IAM roles with least-privilege inline policies, the four services registered into the network
phase's target groups (web into web and api), the pooler on its Cloud Map name, auto-scaling for web/ws/stream; a
second run changes nothing, and so does `--tags compute` alone (the network found through launch_facts); --check on
an empty account makes nothing; a missing image stops the phase before any service is made."""

import json

from conftest import ROOT, playbook
from conftest import aws_client as client

ACCOUNT = "123456789012"
SECRET = "arn:aws:secretsmanager:us-east-1:%s:secret:directfanz-sandbox/app/NEXTAUTH_SECRET-a1B2c3" % ACCOUNT
JWT = "arn:aws:secretsmanager:us-east-1:%s:secret:directfanz-sandbox/app/JWT_SECRET-d4E5f6" % ACCOUNT
USERLIST = "arn:aws:secretsmanager:us-east-1:%s:secret:directfanz-sandbox/pgbouncer/userlist-g7H8i9" % ACCOUNT
PLAY = """
- name: Run the network and compute phases alone
  hosts: launch_controller
  gather_facts: false
  environment: "{{ launch_aws_environment | default({}) }}"
  vars_files:
    - %s/playbooks/vars/launch_defaults.yml
  module_defaults:
    group/amazon.aws.aws: "{{ launch_aws_module_defaults }}"
    group/directfanz.launch.aws: "{{ launch_aws_module_defaults }}"
  tasks:
    - name: Build the network
      ansible.builtin.import_role:
        name: directfanz.launch.network
      tags: [network]
    - name: Build the services
      ansible.builtin.import_role:
        name: directfanz.launch.ecs_services
      tags: [compute]
""" % ROOT
EXTRA = {
    "ecs_services_images": {"web": "public.ecr.aws/directfanz/web:1.0.0", "ws": "public.ecr.aws/directfanz/ws:1.0.0",
                            "stream": "public.ecr.aws/directfanz/stream:1.0.0",
                            "pgbouncer": "ghcr.io/cloudnative-pg/pgbouncer:1.24.0-7"},
    "ecs_services_wait": False,
    "ecs_services_secrets": {"web": {"NEXTAUTH_SECRET": SECRET + ":::v1", "JWT_SECRET": JWT}, "ws": {"JWT_SECRET": JWT},
                             "stream": {"JWT_SECRET": JWT}, "pgbouncer": {"PGBOUNCER_USERLIST": USERLIST}},
    "ecs_services_environment": {"NODE_ENV": "production", "NEXTAUTH_URL": "https://directfanz.io"},
    "ecs_services_content_bucket_arn": "arn:aws:s3:::directfanz-sandbox-content-%s" % ACCOUNT,
    "rds_pgbouncer_ini": "[pgbouncer]\\nlisten_port = 6432\\n",
    "rds_pgbouncer_server_ca": "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----",
    "rds_pgbouncer_start_script": "exec pgbouncer /run/pgbouncer/pgbouncer.ini",
}


def certificate(sandbox):
    """The load balancer's certificate (the certificates phase's), requested once per test."""
    acm = client(sandbox, "acm")
    found = acm.list_certificates()["CertificateSummaryList"]
    return found[0]["CertificateArn"] if found else acm.request_certificate(DomainName="*.directfanz.io")["CertificateArn"]


def operations_key(sandbox):
    """The operations key (the certificates phase's alias/<name>-operations), made once per test; its ARN."""
    kms = client(sandbox, "kms")
    for alias in kms.list_aliases()["Aliases"]:
        if alias["AliasName"] == "alias/directfanz-sandbox-operations":
            return kms.describe_key(KeyId=alias["AliasName"])["KeyMetadata"]["Arn"]
    key = kms.create_key(Description="operations")["KeyMetadata"]
    kms.create_alias(AliasName="alias/directfanz-sandbox-operations", TargetKeyId=key["KeyId"])
    return key["Arn"]


def run(sandbox, tmp_path, *args, extra=None):
    book = tmp_path / "compute.yml"
    book.write_text(PLAY)
    cert = "arn:aws:acm:us-east-1:%s:certificate/none" % ACCOUNT if "--check" in args else certificate(sandbox)
    values = dict(EXTRA, network_certificate_arn=cert, **(extra or {}))
    return playbook(sandbox, "-e", json.dumps(values), *args, playbook_file=str(book))


def test_the_phase_builds_everything_and_a_second_run_changes_nothing(fresh, tmp_path):
    key = operations_key(fresh)
    first = run(fresh, tmp_path)
    assert first.rc == 0 and first.failed == 0, first.out
    ecs, iam = client(fresh, "ecs"), client(fresh, "iam")
    services = {s["serviceName"]: s for s in ecs.describe_services(
        cluster="directfanz-sandbox", services=["web", "ws", "stream", "pgbouncer"])["services"]}
    assert sorted(services) == ["pgbouncer", "stream", "web", "ws"]
    found = client(fresh, "elbv2").describe_target_groups()["TargetGroups"]
    tgs = {t["TargetGroupArn"]: t["TargetGroupName"] for t in found}
    assert sorted((tgs[lb["targetGroupArn"]], lb["containerPort"]) for lb in services["web"]["loadBalancers"]) == [
        ("directfanz-sandbox-api", 3000), ("directfanz-sandbox-web", 3000)]
    assert [(tgs[lb["targetGroupArn"]], lb["containerPort"]) for lb in services["ws"]["loadBalancers"]] == [
        ("directfanz-sandbox-ws", 4001)]
    assert services["pgbouncer"]["loadBalancers"] == [] and len(services["pgbouncer"]["serviceRegistries"]) == 1
    for svc in services.values():
        network = svc["networkConfiguration"]["awsvpcConfiguration"]
        assert network["assignPublicIp"] == "DISABLED" and len(network["subnets"]) == 2
        assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    ns = client(fresh, "servicediscovery").list_namespaces()["Namespaces"]
    assert [n["Name"] for n in ns] == ["directfanz-sandbox.internal"]

    pooler = ecs.describe_task_definition(taskDefinition="directfanz-sandbox-pgbouncer")["taskDefinition"]
    c = pooler["containerDefinitions"][0]
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env["PGBOUNCER_CONFIG_DIR"] == "/run/pgbouncer" and env["PGBOUNCER_INI"].startswith("[pgbouncer]")
    assert "NODE_ENV" not in env  # the app environment is not the pooler's
    assert c["secrets"] == [{"name": "PGBOUNCER_USERLIST", "valueFrom": USERLIST}]
    assert c["command"] == ["/bin/sh", "-c", "exec pgbouncer /run/pgbouncer/pgbouncer.ini"]
    assert c["ulimits"] == [{"name": "nofile", "softLimit": 65535, "hardLimit": 65535}] and c["stopTimeout"] == 120
    assert c["mountPoints"][0]["containerPath"] == "/run/pgbouncer" and c["readonlyRootFilesystem"] is True
    assert pooler["executionRoleArn"] == "arn:aws:iam::%s:role/directfanz-sandbox-pgbouncer-execution" % ACCOUNT

    policy = iam.get_role_policy(RoleName="directfanz-sandbox-web-execution", PolicyName="web-execution")["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert sorted(statements["Secrets"]["Resource"]) == sorted([SECRET, JWT])  # its own secrets, not the versions
    assert statements["Decrypt"]["Condition"]["StringEquals"] == {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    ws = iam.get_role_policy(RoleName="directfanz-sandbox-ws-execution", PolicyName="ws-execution")["PolicyDocument"]
    assert [s["Resource"] for s in ws["Statement"] if s["Sid"] == "Secrets"] == [[JWT]]
    task = iam.get_role_policy(RoleName="directfanz-sandbox-web-task", PolicyName="web-task")["PolicyDocument"]
    assert {s["Sid"]: s["Resource"] for s in task["Statement"]}["ContentObjects"] == \
        "arn:aws:s3:::directfanz-sandbox-content-%s/uploads/*" % ACCOUNT
    assert iam.list_role_policies(RoleName="directfanz-sandbox-ws-task")["PolicyNames"] == []
    trust = iam.get_role(RoleName="directfanz-sandbox-web-task")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}

    targets = client(fresh, "application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert sorted((t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets) == [
        ("service/directfanz-sandbox/stream", 2, 4), ("service/directfanz-sandbox/web", 2, 10),
        ("service/directfanz-sandbox/ws", 2, 6)]

    # the services' log groups under the operations key (its ARN: CloudWatch Logs takes no alias)
    groups = {g["logGroupName"]: g for g in client(fresh, "logs").describe_log_groups(
        logGroupNamePrefix="/directfanz-sandbox/")["logGroups"]}
    assert {n: g.get("kmsKeyId") for n, g in groups.items()} == {
        "/directfanz-sandbox/%s" % s: key for s in ("pgbouncer", "stream", "web", "ws")}

    second = run(fresh, tmp_path)
    assert second.rc == 0 and second.changed == 0, second.out
    # the compute phase alone finds the network, the load balancer, its target groups and the key itself (launch_facts)
    alone = run(fresh, tmp_path, "--tags", "compute")
    assert alone.rc == 0 and alone.changed == 0, alone.out
    assert "Find the operations key, and the network, load balancer and target groups" in alone.out


def test_without_the_operations_key_the_services_are_not_made(fresh, tmp_path):
    result = run(fresh, tmp_path, "--tags", "compute")
    assert result.rc != 0, result.out
    assert "does not exist (or is not enabled) in us-east-1: run the certificates phase first" in " ".join(
        result.out.split())
    assert client(fresh, "ecs").list_services(cluster="directfanz-sandbox").get("serviceArns", []) == []
    assert client(fresh, "logs").describe_log_groups(logGroupNamePrefix="/directfanz-sandbox/")["logGroups"] == []


def test_check_mode_on_an_empty_account_makes_nothing(fresh, tmp_path):
    result = run(fresh, tmp_path, "--check")
    assert result.rc == 0 and result.failed == 0, result.out
    assert client(fresh, "ecs").list_clusters()["clusterArns"] == []
    assert client(fresh, "iam").list_roles()["Roles"] == []
    assert client(fresh, "logs").describe_log_groups()["logGroups"] == []


def test_a_missing_image_stops_the_phase_before_any_service(fresh, tmp_path):
    operations_key(fresh)  # the certificates phase ran: what stops the phase is the image
    images = dict(EXTRA["ecs_services_images"], stream="")
    result = run(fresh, tmp_path, extra={"ecs_services_images": images})
    assert result.rc != 0 and "no image for service stream" in result.out, result.out
    assert client(fresh, "ecs").list_task_definitions()["taskDefinitionArns"] == []
