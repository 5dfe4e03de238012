"""The launch filters that preflight uses (plugins/filter/launch.py)."""

from ansible_collections.directfanz.launch.plugins.filter.launch import platform_input_problems


def test_platform_inputs_are_refused_by_name_before_any_change():
    digest = "@sha256:" + "ab" * 32
    good = {"environment": "production", "services": ["web", "pgbouncer", "setup"], "digest_only": ["pgbouncer", "setup"],
            "images": {"web": "1.dkr.ecr.us-east-1.amazonaws.com/d/web:1.4.2",
                       "pgbouncer": "ghcr.io/cnpg/pgbouncer" + digest,
                       "setup": "docker.io/library/postgres" + digest},
            "image_vars": {"setup": "rds_pgbouncer_setup_image"}, "ca_file": "/x/rds.pem", "ca_file_exists": True}
    assert platform_input_problems(good) == []
    bad = dict(good, images={"web": "repo/web:latest", "pgbouncer": "ghcr.io/cnpg/pgbouncer:1.24.1"},
               ca_file_exists=False)
    problems = platform_input_problems(bad)
    assert problems[0].startswith("the image of web (ecs_services_images.web): image 'repo/web:latest' is tagged latest")
    assert "pinned by tag; accepted in production: <repository>@sha256:<64 hex digits>" in problems[1]
    assert problems[2].startswith("the image of setup (rds_pgbouncer_setup_image) is not set")
    assert "rds_pgbouncer_server_ca_file /x/rds.pem does not exist" in problems[3] and len(problems) == 4
    # outside production a pinned tag is enough for every image
    assert platform_input_problems(dict(bad, environment="sandbox", ca_file_exists=True,
                                        images=dict(good["images"], pgbouncer="ghcr.io/cnpg/pgbouncer:1.24.1"))) == []


def test_the_months_budget_must_be_set():
    settings = {"environment": "sandbox", "services": [], "ca_file": "/x", "ca_file_exists": True}
    assert platform_input_problems(dict(settings, monthly_budget="150")) == []
    for bad in (0, "", None, "-1"):
        assert platform_input_problems(dict(settings, monthly_budget=bad)) == [
            "launch_monthly_budget %r is not accepted; accepted: the month's cost limit in USD, above 0" % (bad,)]


def test_the_dr_region_must_differ_from_the_launchs():
    settings = {"environment": "sandbox", "services": [], "ca_file": "/x", "ca_file_exists": True, "region": "us-east-1"}
    assert platform_input_problems(dict(settings, dr_region="us-west-2")) == []
    assert platform_input_problems(dict(settings, dr_region="us-east-1"))[0].startswith(
        "launch_dr_region 'us-east-1' is not accepted; accepted: a region other than the launch's own (us-east-1)")


def test_the_validation_records_become_one_hostinger_set_per_name():
    from ansible_collections.directfanz.launch.plugins.filter.launch import validation_record_sets
    shared = {"name": "_a1.DirectFanz.io.", "type": "CNAME", "value": "_b2.acm-validations.aws."}
    requested = {"results": [
        {"item": "us-east-1", "validation_records": [shared, dict(shared, name="_a1.directfanz.io")]},
        {"item": "eu-west-1", "validation_records": [dict(shared, value="_B2.acm-validations.aws")]},
        {"item": "us-west-2", "validation_records": [{"name": "_c3.www.directfanz.io.", "type": "CNAME",
                                                      "value": "_d4.acm-validations.aws."}]}]}
    assert validation_record_sets(requested, 300) == [
        {"name": "_a1.directfanz.io.", "type": "CNAME", "ttl": 300, "values": ["_b2.acm-validations.aws."]},
        {"name": "_c3.www.directfanz.io.", "type": "CNAME", "ttl": 300, "values": ["_d4.acm-validations.aws."]}]
    # check mode on a fresh account: nothing requested, nothing to publish
    assert validation_record_sets({"results": [{"item": "us-east-1", "validation_records": []}]}, 300) == []
    assert validation_record_sets({}, 300) == []
    # one name with two values cannot be one CNAME: said, not guessed
    clash = {"results": [{"validation_records": [shared, dict(shared, value="_zz.acm-validations.aws.")]}]}
    try:
        validation_record_sets(clash, 300)
    except ValueError as exc:
        assert "two validation values for _a1.directfanz.io." in str(exc)
    else:
        raise AssertionError("a name with two values was accepted")
