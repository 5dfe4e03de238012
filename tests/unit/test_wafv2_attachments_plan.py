"""wafv2_attachments without AWS: every input problem found before any call and said with what is accepted, and
the plan (nothing when all is right, a conflict for a resource of another web ACL, headers compared
case-insensitively, the log group's `:*` dropped)."""

from ansible_collections.directfanz.launch.plugins.modules import wafv2_attachments as M

ACL = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/app/a1b2c3d4-5678-90ab-cdef-111122223333"
OTHER = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/old/99999999-5678-90ab-cdef-111122223333"
GLOBAL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/a1b2c3d4-5678-90ab-cdef-111122223333"
GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-app"
ALB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188"
STAGE = "arn:aws:apigateway:eu-west-1::/restapis/a1b2c3/stages/prod"


def params(**over):
    base = {"web_acl_arn": ACL, "log_destination_arns": [GROUP], "logging": True,
            "redacted_headers": ["authorization", "cookie"], "resource_arns": [ALB], "replace_other_associations": False}
    base.update(over)
    return base


def problems(**over):
    return M.validate(params(**over))[1]


def only(**over):
    found = problems(**over)
    assert len(found) == 1, found
    return found[0]


def test_good_inputs_have_no_problem_and_are_normalised():
    headers = ["Cookie", "AUTHORIZATION", "cookie"]
    wanted, found = M.validate(params(log_destination_arns=[GROUP + ":*"], redacted_headers=headers,
                                      resource_arns=[ALB, STAGE, ALB]))
    assert found == []
    assert wanted["destinations"] == [GROUP]
    assert wanted["redacted_headers"] == ["authorization", "cookie"]
    assert wanted["resources"] == [ALB, STAGE]
    assert wanted["acl"]["region"] == "eu-west-1" and wanted["acl"]["scope"] == "regional"
    for destination in ["arn:aws:firehose:eu-west-1:123456789012:deliverystream/aws-waf-logs-app",
                        "arn:aws:s3:::aws-waf-logs-app-bucket"]:
        assert problems(log_destination_arns=[destination]) == []
    assert problems(web_acl_arn=GLOBAL, log_destination_arns=[GROUP.replace("eu-west-1", "us-east-1")],
                    resource_arns=[]) == []


def test_a_web_acl_arn_that_is_not_one_says_what_is_accepted():
    message = only(web_acl_arn="arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/x/a1b2", resource_arns=[],
                   log_destination_arns=[])
    assert "is not a WAFv2 web ACL ARN" in message and "regional/webacl/<name>/<id>" in message
    assert "global/webacl" in message
    global_elsewhere = only(web_acl_arn=GLOBAL.replace("us-east-1", "eu-west-1"), resource_arns=[],
                            log_destination_arns=[])
    assert "global (CloudFront) web ACL in eu-west-1" in global_elsewhere and "us-east-1" in global_elsewhere


def test_more_than_one_destination_is_refused():
    message = only(log_destination_arns=[GROUP, GROUP.replace("-app", "-api")])
    assert "has 2 entries" in message and "exactly one destination" in message


def test_destination_names_must_start_with_the_waf_prefix():
    for arn, kind in [("arn:aws:logs:eu-west-1:123456789012:log-group:/waf/app", "CloudWatch Logs group"),
                      ("arn:aws:firehose:eu-west-1:123456789012:deliverystream/app-logs", "Firehose stream"),
                      ("arn:aws:s3:::app-logs", "S3 bucket"),
                      ("arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-", "CloudWatch Logs group")]:
        message = only(log_destination_arns=[arn])
        assert "the %s name" % kind in message and "does not start with aws-waf-logs-" in message, message
        assert "arn:aws:logs:eu-west-1:<account>:log-group:aws-waf-logs-<name>" in message
        assert "arn:aws:s3:::aws-waf-logs-<name>" in message


def test_destinations_must_be_destinations_in_the_web_acls_region():
    message = only(log_destination_arns=["arn:aws:sns:eu-west-1:123456789012:aws-waf-logs-app"])
    assert "is not a log group, Firehose stream or S3 bucket ARN" in message
    message = only(log_destination_arns=[GROUP.replace("eu-west-1", "us-east-1")])
    assert "is in us-east-1, but a CloudWatch Logs group must be in the web ACL's region" in message
    message = only(log_destination_arns=[GROUP.replace("arn:aws:", "arn:aws-cn:")])
    assert "partition aws-cn" in message


def test_logging_false_with_a_destination_is_refused():
    message = only(logging=False)
    assert "logging=false deletes" in message and "log_destination_arns must be empty" in message
    assert problems(logging=False, log_destination_arns=[]) == []


def test_bad_header_names_are_refused():
    message = only(redacted_headers=["authorization", "bad header", "x" * 65, ""])
    assert "'bad header'" in message and "''" in message and "not header names" in message
    assert "1 to 64 letters, digits" in message
    message = only(redacted_headers=["x-h%d" % i for i in range(101)])
    assert "has 101 names" in message and "at most 100" in message


def test_resources_with_a_global_web_acl_are_refused_with_the_reason():
    message = only(web_acl_arn=GLOBAL, log_destination_arns=[], resource_arns=[ALB])
    assert "resource_arns cannot be used with the global (CloudFront) web ACL" in message
    assert "WebACLId" in message and "only with a regional web ACL" in message


def test_resources_must_be_protectable_and_in_the_web_acls_region():
    nlb = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/web/50dc6c495c0c9188"
    message = only(resource_arns=[nlb])
    assert "cannot be protected by a regional web ACL" in message and "Application Load Balancer" in message
    message = only(resource_arns=[ALB.replace("eu-west-1", "us-east-1")])
    assert "is in us-east-1, the web ACL in eu-west-1" in message


def test_all_problems_are_reported_together():
    found = problems(web_acl_arn="nope", log_destination_arns=["arn:aws:s3:::logs"], redacted_headers=["a b"],
                     resource_arns=["nope"])
    assert len(found) == 4, found


def state(destinations=(GROUP,), headers=("authorization", "cookie"), **config):
    return M.logging_state(dict({"ResourceArn": ACL, "LogDestinationConfigs": list(destinations),
                                 "RedactedFields": [{"SingleHeader": {"Name": h}} for h in headers],
                                 "ManagedByFirewallManager": False}, **config))


def wanted(**over):
    return M.validate(params(**over))[0]


def plan(wanted, current, associations):
    """plan_attachments' plan and diff read back as what each test looks at."""
    steps, diff = M.plan_attachments(wanted, current, associations)
    put = [s["kwargs"]["LoggingConfiguration"] for s in steps.steps if s["op"] == "put_logging_configuration"]
    return {"actions": steps.actions, "conflicts": steps.problems, "put": put[0] if put else None,
            "delete": any(s["op"] == "delete_logging_configuration" for s in steps.steps),
            "associate": [s["kwargs"]["ResourceArn"] for s in steps.steps if s["op"] == "associate_web_acl"],
            "move": [(s["resource"], s["other"]) for s in steps.steps if s["op"] == "move"],
            "before": diff["before"], "after": diff["after"]}


def test_nothing_to_do_when_everything_is_right():
    changes = plan(wanted(), state(), {ALB: ACL})
    assert changes["actions"] == [] and changes["conflicts"] == []
    assert changes["put"] is None and not changes["delete"] and changes["associate"] == [] and changes["move"] == []
    assert changes["before"] == changes["after"] == {"logging": [GROUP], "redacted_headers": ["authorization", "cookie"],
                                                     "associations": {ALB: ACL}}


def test_headers_compare_case_insensitively_and_the_log_groups_star_is_ignored():
    current = state(destinations=[GROUP + ":*"], headers=["Cookie", "Authorization"])
    assert plan(wanted(redacted_headers=["COOKIE", "authorization"]), current, {ALB: ACL})["actions"] == []
    changes = plan(wanted(log_destination_arns=[GROUP + ":*"], redacted_headers=["cookie"]), current, {ALB: ACL})
    assert changes["actions"] == ["redact headers cookie instead of authorization, cookie"]
    assert changes["put"]["LogDestinationConfigs"] == [GROUP]
    assert changes["put"]["RedactedFields"] == [{"SingleHeader": {"Name": "cookie"}}]


def test_a_new_logging_configuration_and_association():
    changes = plan(wanted(), None, {ALB: None})
    assert changes["actions"] == ["enable logging to %s, redacting headers: authorization, cookie" % GROUP,
                                  "associate %s" % ALB]
    assert changes["put"] == {"ResourceArn": ACL, "LogDestinationConfigs": [GROUP],
                              "RedactedFields": [{"SingleHeader": {"Name": "authorization"}},
                                                 {"SingleHeader": {"Name": "cookie"}}]}
    assert changes["associate"] == [ALB]
    assert changes["before"] == {"logging": [], "redacted_headers": [], "associations": {ALB: None}}


def test_what_we_do_not_manage_of_a_logging_configuration_is_kept():
    query = {"QueryString": {}}
    log_filter = {"DefaultBehavior": "KEEP", "Filters": []}
    current = M.logging_state({"ResourceArn": ACL, "LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-old"],
                               "RedactedFields": [{"SingleHeader": {"Name": "Cookie"}}, query,
                                                  {"SingleHeader": {"Name": "authorization"}}],
                               "LoggingFilter": log_filter})
    changes = plan(wanted(), current, {ALB: ACL})
    assert changes["actions"] == ["change the logging destination from arn:aws:s3:::aws-waf-logs-old to %s" % GROUP]
    assert changes["put"]["LoggingFilter"] == log_filter and query in changes["put"]["RedactedFields"]


def test_a_resource_of_another_web_acl_is_a_conflict_unless_replace():
    changes = plan(wanted(), state(), {ALB: OTHER})
    assert changes["conflicts"] == ["resource %s is associated with another web ACL, %s; set"
                                    " replace_other_associations: true to move it to %s" % (ALB, OTHER, ACL)]
    changes = plan(wanted(replace_other_associations=True), state(), {ALB: OTHER})
    assert changes["conflicts"] == [] and changes["move"] == [(ALB, OTHER)]
    assert changes["actions"] == ["associate %s (moving it from %s)" % (ALB, OTHER)]
    assert changes["before"]["associations"] == {ALB: OTHER} and changes["after"]["associations"] == {ALB: ACL}


def test_logging_false_deletes_and_no_destination_leaves_logging_alone():
    changes = plan(wanted(logging=False, log_destination_arns=[], resource_arns=[]), state(), {})
    assert changes["delete"] and changes["actions"] == ["disable logging to %s" % GROUP]
    assert changes["after"] == {"logging": [], "redacted_headers": [], "associations": {}}
    assert plan(wanted(logging=False, log_destination_arns=[], resource_arns=[]), None, {})["actions"] == []
    untouched = plan(wanted(log_destination_arns=[], redacted_headers=["x-other"], resource_arns=[]), state(), {})
    assert untouched["actions"] == [] and untouched["after"]["redacted_headers"] == ["authorization", "cookie"]


def test_firewall_manager_logging_is_not_changed():
    changes = plan(wanted(redacted_headers=["cookie"]), state(ManagedByFirewallManager=True), {ALB: ACL})
    assert len(changes["conflicts"]) == 1 and "managed by AWS Firewall Manager" in changes["conflicts"][0]
    assert plan(wanted(), state(ManagedByFirewallManager=True), {ALB: ACL})["conflicts"] == []
