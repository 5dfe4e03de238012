"""Every phase of site.yml against the moto server, as a user runs them: --check on a fresh sandbox creates nothing,
the whole launch (certificates, network, edge with the maintenance page, data, compute, config, dns_records with
the api. failover pair), a second run that changes
nothing (and prints no secret at -vvv, neither ours nor the example secrets file's), and tagged runs of one phase on
their own."""

import json
from io import StringIO
from pathlib import Path

from ansible.parsing.vault import VaultLib, VaultSecret
from dotenv import dotenv_values

from conftest import ROOT, SANDBOX_VAULT_PASSWORD, playbook, record_sets
from conftest import aws_client as client

DOMAIN = "directfanz.io"
NAME = "directfanz-sandbox"


def example_secrets():
    """The values of the sandbox's example secrets file (every one must stay out of the output)."""
    vault = VaultLib([("default", VaultSecret(SANDBOX_VAULT_PASSWORD.read_bytes().strip()))])
    text = vault.decrypt((ROOT / "sandbox" / "seed" / "env.production.secrets.vault").read_bytes()).decode()
    return dict(dotenv_values(stream=StringIO(text), interpolate=False))


def everything(sandbox):
    """What the launch made, as AWS (moto) tells it."""
    acm = {region: boto_certs(sandbox, region) for region in ("us-east-1",)}
    elb = client(sandbox, "elbv2")
    cf = client(sandbox, "cloudfront")
    waf = client(sandbox, "wafv2")
    ec2 = client(sandbox, "ec2")
    return {
        "certificates": acm,
        "load_balancers": [lb["LoadBalancerName"] for lb in elb.describe_load_balancers()["LoadBalancers"]],
        "distributions": cf.list_distributions()["DistributionList"].get("Items", []),
        "web_acls": [a["Name"] for scope in ("CLOUDFRONT", "REGIONAL") for a in waf.list_web_acls(Scope=scope)[
            "WebACLs"]],
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")],
        "buckets": [b["Name"] for b in client(sandbox, "s3").list_buckets()["Buckets"]],
        "topics": client(sandbox, "sns").list_topics()["Topics"],
        "db_instances": client(sandbox, "rds").describe_db_instances()["DBInstances"],
        "replication_groups": client(sandbox, "elasticache").describe_replication_groups()["ReplicationGroups"],
        "secrets": client(sandbox, "secretsmanager").list_secrets()["SecretList"],
        "repositories": client(sandbox, "ecr").describe_repositories()["repositories"],
        "clusters": client(sandbox, "ecs").list_clusters()["clusterArns"],
        "task_definitions": client(sandbox, "ecs").list_task_definitions()["taskDefinitionArns"],
        "health_checks": client(sandbox, "route53").list_health_checks()["HealthChecks"],
        "budgets": client(sandbox, "budgets").describe_budgets(AccountId="123456789012").get("Budgets", []),
        "customer_keys": [a for a in client(sandbox, "kms").list_aliases()["Aliases"]
                          if not a["AliasName"].startswith("alias/aws/")],
    }


def boto_certs(sandbox, region):
    return [c["CertificateArn"] for c in client(sandbox, "acm").list_certificates()["CertificateSummaryList"]]


def test_check_mode_on_a_fresh_sandbox_creates_nothing(fresh):
    # the validate phase is test_validate_phase.py's (its modules' check mode: test_validate_modules.py)
    run = playbook(fresh, "--check", "--skip-tags", "validate")
    assert run.rc == 0 and run.failed == 0, run.out[-5000:]
    assert "create load balancer directfanz-sandbox-alb" in run.out  # the plan is reported
    made = everything(fresh)
    assert all(not v for v in made["certificates"].values()), made
    assert {k: v for k, v in made.items() if k != "certificates" and v} == {}, made


def test_the_edge_refuses_to_start_before_the_load_balancer_exists(fresh):
    assert playbook(fresh, "--tags", "dns_zone,certificates").rc == 0
    run = playbook(fresh, "--tags", "edge")
    assert run.rc != 0 and "Run those phases first" in run.out and "no load balancer" in run.out, run.out[-3000:]
    assert client(fresh, "cloudfront").list_distributions()["DistributionList"].get("Items", []) == []


def test_a_domain_without_a_zone_is_refused_before_any_certificate_request(fresh):
    assert playbook(fresh, "--tags", "dns_zone").rc == 0
    run = playbook(fresh, "--tags", "certificates", "-e", json.dumps({"acm_wildcard_domain": "example.org"}))
    assert run.rc != 0, run.out[-3000:]
    assert "hosted zone named example.org does not exist" in run.out
    assert client(fresh, "acm").list_certificates()["CertificateSummaryList"] == []


# last in the file: the tests above reset the sandbox, and the launch built here is shared with the files after
def test_the_launch_then_a_second_run_changes_nothing(sandbox, whole_launch):
    # every phase that builds, from an empty sandbox (conftest's whole_launch, which the validate and cutover tests
    # then use); the validate phase on what they built is test_validate_phase.py's (with its own -vvv grep)
    fresh, first = sandbox, whole_launch
    elb = client(fresh, "elbv2")
    lb = elb.describe_load_balancers(Names=["directfanz-sandbox-alb"])["LoadBalancers"][0]
    dists = client(fresh, "cloudfront").list_distributions()["DistributionList"]["Items"]
    [dist] = [d for d in dists if DOMAIN in (d["Aliases"].get("Items") or [])]
    [maintenance] = [d for d in dists if "api." + DOMAIN in (d["Aliases"].get("Items") or [])]
    zone, rrsets = record_sets(fresh)
    got = {(r["Name"], r["Type"]): r for r in rrsets if not r.get("SetIdentifier")}
    pairs = {(r["Name"], r["Type"], r["SetIdentifier"]): r for r in rrsets if r.get("SetIdentifier")}

    # certificates: issued, and the validation CNAME really is in the zone (moto issues without looking)
    acm = client(fresh, "acm")
    [summary] = acm.list_certificates()["CertificateSummaryList"]
    cert = acm.describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
    assert cert["Status"] == "ISSUED" and sorted(cert["SubjectAlternativeNames"]) == ["*." + DOMAIN, DOMAIN]
    record = cert["DomainValidationOptions"][0]["ResourceRecord"]
    assert got[(record["Name"], "CNAME")]["ResourceRecords"] == [{"Value": record["Value"]}]
    # the load balancer uses it, and routes every subdomain to its own target group
    listeners = {lis["Port"]: lis for lis in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert listeners[443]["Certificates"][0]["CertificateArn"] == cert["CertificateArn"]
    rules = [r for r in elb.describe_rules(ListenerArn=listeners[443]["ListenerArn"])["Rules"] if not r["IsDefault"]]
    hosts = sorted(c["HostHeaderConfig"]["Values"][0] for r in rules for c in r["Conditions"])
    assert hosts == ["api." + DOMAIN, "stream." + DOMAIN, "ws." + DOMAIN]
    # the regional web ACL guards the load balancer; both ACLs log
    waf = client(fresh, "wafv2")
    regional = waf.get_web_acl_for_resource(ResourceArn=lb["LoadBalancerArn"])["WebACL"]
    assert regional["Name"] == "directfanz-sandbox-regional"
    for scope in ("CLOUDFRONT", "REGIONAL"):
        for acl in waf.list_web_acls(Scope=scope)["WebACLs"]:
            logging = waf.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
            assert logging["LogDestinationConfigs"][0].split(":log-group:")[1].startswith("aws-waf-logs-")
    # the distribution: aliases, the certificate, the CLOUDFRONT web ACL
    config = client(fresh, "cloudfront").get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    assert sorted(config["Aliases"]["Items"]) == [DOMAIN, "www." + DOMAIN]
    assert config["ViewerCertificate"]["ACMCertificateArn"] == cert["CertificateArn"]
    assert ":global/webacl/directfanz-sandbox-cloudfront/" in config["WebACLId"]
    # the records: apex and www to CloudFront (the imported www CNAME gave way), subdomains to the load balancer
    for name in (DOMAIN + ".", "www.%s." % DOMAIN):
        assert got[(name, "A")]["AliasTarget"]["DNSName"].rstrip(".") == dist["DomainName"]
        assert (name, "AAAA") in got
    assert ("www.%s." % DOMAIN, "CNAME") not in got
    for sub in ("ws", "stream"):
        assert got[("%s.%s." % (sub, DOMAIN), "A")]["AliasTarget"]["DNSName"].rstrip(".").lower() == lb[
            "DNSName"].lower()
    # api. is a failover pair: the load balancer judged by its own target health, else the maintenance distribution
    # (moto does not evaluate health: the configuration is what is verified)
    assert ("api.%s." % DOMAIN, "A") not in got
    live, fallback = pairs[("api.%s." % DOMAIN, "A", "api-live")], pairs[("api.%s." % DOMAIN, "A", "api-maintenance")]
    assert live["Failover"] == "PRIMARY" and live["AliasTarget"]["EvaluateTargetHealth"] is True
    assert live["AliasTarget"]["DNSName"].rstrip(".").lower() == lb["DNSName"].lower() and "HealthCheckId" not in live
    assert fallback["Failover"] == "SECONDARY" and fallback["AliasTarget"]["DNSName"].rstrip(".") == maintenance[
        "DomainName"] and fallback["AliasTarget"]["HostedZoneId"] == "Z2FDTNDATAQYW2"
    # the maintenance page: every path of api. answers it with a 503; the live distribution serves it for the load
    # balancer's 502/503/504; the bucket is readable only by the two distributions, over TLS
    cf = client(fresh, "cloudfront")
    spare = cf.get_distribution_config(Id=maintenance["Id"])["DistributionConfig"]
    page = "/__maintenance/index.html"
    assert sorted((e["ErrorCode"], e["ResponsePagePath"], e["ResponseCode"], e["ErrorCachingMinTTL"])
                  for e in spare["CustomErrorResponses"]["Items"]) == [(c, page, "503", 10) for c in (400, 403, 404, 405)]
    assert spare["DefaultRootObject"] == "" and spare["ViewerCertificate"]["ACMCertificateArn"] == cert["CertificateArn"]
    assert [o["DomainName"] for o in spare["Origins"]["Items"]] == [
        "%s-maintenance-123456789012.s3.us-east-1.amazonaws.com" % NAME]
    errors = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]["CustomErrorResponses"]
    assert sorted((e["ErrorCode"], e["ResponsePagePath"], e["ResponseCode"]) for e in errors["Items"]) == [
        (c, page, "503") for c in (502, 503, 504)], errors
    s3 = client(fresh, "s3")
    bucket_name = "%s-maintenance-123456789012" % NAME
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket_name)["Policy"])
    assert sorted(policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"]) == sorted(
        [dist["ARN"], maintenance["ARN"]])
    assert s3.get_public_access_block(Bucket=bucket_name)["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"]
    assert any(s["Sid"] == "RefusePlainHttp" and s["Effect"] == "Deny" for s in policy["Statement"])
    # moto applies that Deny to every object request (its condition ignored): the page can only be listed now
    listed = s3.list_objects_v2(Bucket=bucket_name, Prefix="__maintenance/")["Contents"]
    assert [o["Key"] for o in listed] == [page[1:]] and listed[0]["Size"] > 200
    # the mail records were carried and stay
    assert (DOMAIN + ".", "MX") in got

    # data: the database (Multi-AZ, encrypted with the data key, managed master password), the cache, the bucket
    [db] = client(fresh, "rds").describe_db_instances()["DBInstances"]
    assert db["DBInstanceIdentifier"] == NAME + "-db" and db["MultiAZ"] and db["StorageEncrypted"], db
    assert db["MasterUserSecret"]["SecretArn"] and not db["PubliclyAccessible"] and db["DeletionProtection"]
    [group] = client(fresh, "elasticache").describe_replication_groups()["ReplicationGroups"]
    assert group["TransitEncryptionEnabled"] and group["AtRestEncryptionEnabled"] and group["AuthTokenEnabled"]
    bucket = "%s-content-123456789012" % NAME
    rule = client(fresh, "s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    # compute: the registries and the cluster
    repos = sorted(r["repositoryName"] for r in client(fresh, "ecr").describe_repositories()["repositories"])
    assert len(repos) >= 4 and all(r["imageTagMutability"] == "IMMUTABLE"
                                   for r in client(fresh, "ecr").describe_repositories()["repositories"]), repos
    ecs = client(fresh, "ecs")
    assert ecs.describe_clusters(clusters=[NAME])["clusters"][0]["status"] == "ACTIVE"
    # the services, each on its own pinned task definition; the pooler's carries the rendered config for this
    # database, the sandbox CA as RDS's bundle, and its auth file by the version secrets_manager composed
    services = {s["serviceName"]: s for s in ecs.describe_services(
        cluster=NAME, services=ecs.list_services(cluster=NAME)["serviceArns"])["services"]}
    assert sorted(services) == ["pgbouncer", "stream", "web", "ws"]
    assert all(s["status"] == "ACTIVE" and s["desiredCount"] == 2 for s in services.values()), services
    pooler = ecs.describe_task_definition(taskDefinition=services["pgbouncer"]["taskDefinition"])["taskDefinition"]
    [container] = pooler["containerDefinitions"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert "host=%s port=5432" % db["Endpoint"]["Address"] in env["PGBOUNCER_INI"]
    assert env["PGBOUNCER_SERVER_CA"].strip() == Path(fresh["ca_file"]).read_text().strip()
    # config: the owner's secrets and the composed URLs, through the pooler and to the cache's endpoint
    names = sorted(x["Name"] for x in client(fresh, "secretsmanager").list_secrets()["SecretList"])
    for key in list(example_secrets()) + ["DATABASE_URL", "DIRECT_URL", "REDIS_URL"]:
        assert "%s/app/%s" % (NAME, key) in names, (key, names)
    sm = client(fresh, "secretsmanager")
    url = sm.get_secret_value(SecretId="%s/app/DATABASE_URL" % NAME)["SecretString"]
    assert url.startswith("postgresql://") and "pgbouncer=true" in url and ":6432/" in url
    assert db["Endpoint"]["Address"] in sm.get_secret_value(SecretId="%s/app/DIRECT_URL" % NAME)["SecretString"]
    assert sm.get_secret_value(SecretId="%s/app/REDIS_URL" % NAME)["SecretString"].startswith("rediss://:")
    assert "connection_limit=10" in url  # the per-task pool the pooler's arithmetic counted
    # the pooler reads the auth file composed from the generated password, by its current version
    auth = sm.describe_secret(SecretId="%s/db/pgbouncer-auth" % NAME)
    current = [v for v, stages in auth["VersionIdsToStages"].items() if "AWSCURRENT" in stages][0]
    assert container["secrets"] == [{"name": "PGBOUNCER_USERLIST",
                                     "valueFrom": "%s:userlist::%s" % (auth["ARN"], current)}]
    userlist = json.loads(sm.get_secret_value(SecretId=auth["ARN"])["SecretString"])["userlist"]
    assert userlist.startswith('"directfanz_app" "SCRAM-SHA-256$4096:')
    # operations: a health check per name users reach, the month's budget with its three notifications
    r53 = client(fresh, "route53")
    hosts = sorted(c["HealthCheckConfig"]["FullyQualifiedDomainName"] for c in r53.list_health_checks()["HealthChecks"])
    assert hosts == sorted([DOMAIN, "api." + DOMAIN, "ws." + DOMAIN, "stream." + DOMAIN])
    [monthly] = client(fresh, "budgets").describe_budgets(AccountId="123456789012")["Budgets"]
    assert monthly["BudgetName"] == NAME + "-monthly" and float(monthly["BudgetLimit"]["Amount"]) == 150
    assert len(client(fresh, "budgets").describe_notifications_for_budget(
        AccountId="123456789012", BudgetName=NAME + "-monthly")["Notifications"]) == 3
    # the long creates were awaited together and their critical path printed
    assert "Report the critical path of the long creates" in first.out and "rds %s-db: started" % NAME in first.out

    second = playbook(fresh, "-vvv", "--skip-tags", "validate")
    assert second.rc == 0 and second.changed == 0, second.out[-6000:]
    assert fresh["aws_secret_key"] not in second.out and fresh["hostinger_api_token"] not in second.out
    generated = [sm.get_secret_value(SecretId=n)["SecretString"] for n in (
        "%s/db/app" % NAME, "%s/redis/auth-token" % NAME, "%s/app/DATABASE_URL" % NAME,
        "%s/db/pgbouncer-auth" % NAME)]
    leaked = [k for k, v in example_secrets().items() if len(v) >= 8 and v in second.out]
    leaked += [v[:6] + "..." for v in generated if v in second.out]
    assert leaked == [], leaked
    assert json.loads(generated[0])["password"] not in second.out
    assert json.loads(generated[3])["verifier"] not in second.out

    def by_set(sets):
        return {(r["Name"], r["Type"], r.get("SetIdentifier", "")): r for r in sets}

    assert by_set(record_sets(fresh)[1]) == by_set(rrsets)

    # each phase on its own finds what the others made
    for tag in ("dns_records", "data", "compute", "config", "operations"):
        alone = playbook(fresh, "--tags", tag)
        assert alone.rc == 0 and alone.changed == 0, (tag, alone.out[-4000:])
