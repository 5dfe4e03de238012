"""playbooks/rollback_service.yml in the sandbox (moto over HTTP): deploy revision 1, deploy revision 2 (another image
tag), roll back -> the service runs revision 1 with the circuit breaker still on and its desired count untouched; the
rollback run again changes nothing; a named revision; no confirmation, an unknown service or a revision that is not
ACTIVE are refused with nothing changed; and the site's ecs_service, given the inventory put back, keeps revision 1."""

from conftest import aws_client as client
from conftest import module, playbook
from test_ecs_service import specs, world

CLUSTER = "directfanz-sandbox"


def deploy(sandbox, w, version):
    services = specs(w, web_version=version)[:1]
    params = {"cluster": CLUSTER, "launch_name": CLUSTER, "services": services, "region": "us-east-1",
              "endpoint_url": sandbox["aws_endpoint_url"], "access_key": "testing",
              "secret_key": sandbox["aws_secret_key"]}
    rc, out, result = module("ecs_service", params, env={"AWS_ENDPOINT_URL": sandbox["aws_endpoint_url"]})
    assert rc == 0, out
    return result


def rollback(sandbox, *args):
    return playbook(sandbox, "-e", "ecs_services_wait=false", *args, playbook_file="playbooks/rollback_service.yml")


def web(sandbox):
    return client(sandbox, "ecs").describe_services(cluster=CLUSTER, services=["web"])["services"][0]


def built(sandbox):
    ecs = client(sandbox, "ecs")
    w = world(sandbox)
    ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["FARGATE"],
                       defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 2, "weight": 1}])
    deploy(sandbox, w, "1.0.0")
    second = deploy(sandbox, w, "1.0.1")
    assert second["services"]["web"]["task_definition_arn"].endswith("%s-web:2" % CLUSTER)
    ecs.update_service(cluster=CLUSTER, service="web", desiredCount=5)  # what auto-scaling set
    return w


def test_rollback_returns_to_the_previous_revision_and_is_idempotent(fresh, recorder):
    w = built(fresh)
    first = rollback(fresh, "-e", "launch_rollback_service=web")
    assert first.rc == 0 and first.changed == 1, first.out
    assert "return service web from %s-web:2 to %s-web:1" % (CLUSTER, CLUSTER) in first.out
    svc = web(fresh)
    assert svc["taskDefinition"].endswith("%s-web:1" % CLUSTER)
    assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert svc["desiredCount"] == 5 and svc["loadBalancers"][0]["targetGroupArn"] == w["tg"]

    again = rollback(fresh, "-e", "launch_rollback_service=web")
    assert again.rc == 0 and again.changed == 0, again.out
    assert "already there, nothing changed" in again.out
    assert web(fresh)["taskDefinition"].endswith("%s-web:1" % CLUSTER)

    # the inventory put back to 1.0.0: the site's module keeps revision 1 and registers nothing
    result = deploy(fresh, w, "1.0.0")
    assert result["changed"] is False and result["services"]["web"]["task_definition_arn"].endswith("-web:1"), result
    # a named revision: forward again to 2
    named = rollback(fresh, "-e", "launch_rollback_service=web", "-e", "rollback_revision=2")
    assert named.rc == 0 and named.changed == 1, named.out
    assert web(fresh)["taskDefinition"].endswith("%s-web:2" % CLUSTER)


REFUSALS = [
    ((), "Name it to confirm"),
    (("-e", "launch_rollback_service=api"), "Name it to confirm"),
    (("-e", "launch_rollback_service=web", "-e", "rollback_revision=7"),
     "revision 7 of %s-web is not ACTIVE; accepted: 1, 2" % CLUSTER),
]


def test_rollback_refuses_without_confirmation_or_with_a_bad_revision(fresh):
    built(fresh)
    for args, message in REFUSALS:
        result = rollback(fresh, *args)
        assert result.rc != 0 and message in result.out, result.out
        assert web(fresh)["taskDefinition"].endswith("%s-web:2" % CLUSTER)
