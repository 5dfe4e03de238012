"""load_balancer's planning: inputs refused with what is accepted, rules and listeners compared by what matters."""

from ansible_collections.directfanz.launch.plugins.modules import load_balancer as M


def tg(name, **over):
    return dict({"name": name, "port": 3000, "protocol": "HTTP", "health_check_path": "/health",
                 "health_check_matcher": "200-399", "deregistration_delay": 30, "stickiness": False,
                 "stickiness_duration": 86400}, **over)


def params(**over):
    p = {"name": "site-alb", "subnets": ["s-1", "s-2"], "security_groups": ["sg-1"], "vpc_id": "vpc-1",
         "certificate_arn": "arn:aws:acm:us-east-1:1:certificate/x", "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
         "idle_timeout": 3600, "deletion_protection": True, "target_groups": [tg("web"), tg("ws", stickiness=True)],
         "default_target_group": "web", "host_rules": [{"hosts": ["ws.example.com"], "target_group": "ws"}]}
    p.update(over)
    return p


def test_good_input_passes():
    assert M.input_problems(params(), check_mode=False) == []


def test_bad_input_is_refused_with_what_is_accepted():
    problems = "; ".join(M.input_problems(params(
        name="-bad-", subnets=["s-1"], ssl_policy="ELBSecurityPolicy-2016-08", idle_timeout=5000,
        certificate_arn="", host_rules=[{"hosts": ["a.example.com"], "target_group": "missing"}]), check_mode=False))
    assert "1-32 letters, digits and hyphens" in problems
    assert "at least two availability zones" in problems
    assert "may allow TLS below 1.2" in problems and "ELBSecurityPolicy-TLS13-1-2-" in problems
    assert "idle_timeout 5000 is not 1-4000" in problems
    assert "certificate_arn is empty" in problems
    assert "target group 'missing' is used by a rule but not listed" in problems
    # before the certificates phase has run, check mode may plan without a certificate
    assert M.input_problems(params(certificate_arn=""), check_mode=True) == []


def test_stickiness_attributes_only_when_sticky():
    assert M.tg_attributes(tg("web")) == {"deregistration_delay.timeout_seconds": "30", "stickiness.enabled": "false"}
    sticky = M.tg_attributes(tg("ws", stickiness=True, stickiness_duration=600))
    assert sticky["stickiness.type"] == "lb_cookie" and sticky["stickiness.lb_cookie.duration_seconds"] == "600"
    assert M.attribute_changes(sticky, dict(sticky, **{"stickiness.enabled": "false", "other": "x"})) == {
        "stickiness.enabled": "true"}


def rule(arn, priority, hosts, target, default=False):
    return {"RuleArn": arn, "Priority": "default" if default else str(priority), "IsDefault": default,
            "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": hosts}}],
            "Actions": [{"Type": "forward", "TargetGroupArn": target}]}


def test_rules_are_created_updated_and_extra_ones_deleted():
    current = [rule("r-default", 0, [], "tg-web", default=True), rule("r10", 10, ["API.example.com"], "tg-api"),
               rule("r20", 20, ["ws.example.com"], "tg-old"), rule("r90", 90, ["old.example.com"], "tg-web")]
    wanted = [(10, ["api.example.com"], "tg-api"), (20, ["ws.example.com"], "tg-ws"),
              (30, ["stream.example.com"], "tg-stream")]
    create, modify, delete = M.rule_plan(wanted, current)
    assert create == [(30, ["stream.example.com"], "tg-stream")]
    assert modify == [("r20", 20, ["ws.example.com"], "tg-ws")]
    assert delete == [("r90", 90)]
    assert M.rule_plan(wanted[:1], current[:2]) == ([], [], [])


def test_listener_shape_sees_policy_certificate_and_redirect():
    https = {"Protocol": "HTTPS", "SslPolicy": "p", "Certificates": [{"CertificateArn": "c"}],
             "DefaultActions": [{"Type": "forward", "TargetGroupArn": "tg"}]}
    assert M.listener_shape(https) == {"Protocol": "HTTPS", "Type": "forward", "TargetGroupArn": "tg",
                                       "SslPolicy": "p", "Certificate": "c"}
    http = {"Protocol": "HTTP", "DefaultActions": [{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]}
    assert M.listener_shape(http)["Redirect"] == ("HTTPS", "443", "HTTP_301")


EMPTY = {"lb": None, "tgs": {}, "tg_attributes": {}, "lb_attributes": {}, "listeners": {}, "rules": [], "owners": {}}


def test_an_empty_account_is_planned_in_order_with_placeholders():
    plan, diff, tg_arns, listener_arns = M.plan_load_balancer(dict(params(), tags={}), EMPTY)
    ops = [step["op"] for step in plan.steps]
    assert ops == ["create_target_group", "modify_target_group_attributes", "create_target_group",
                   "modify_target_group_attributes", "create_load_balancer", "modify_load_balancer_attributes",
                   "create_listener", "create_listener", "create_rule"]
    assert tg_arns == {"web": "(new target group web)", "ws": "(new target group ws)"}
    listener = plan.steps[6]["kwargs"]
    assert listener["LoadBalancerArn"] == "(new load balancer site-alb)"
    assert listener["DefaultActions"][0]["TargetGroupArn"] == "(new target group web)"
    assert plan.steps[-1]["kwargs"]["ListenerArn"] == listener_arns["443"] == "(new listener 443 of site-alb)"
    # a new one gets every managed attribute, so nothing rests on a guess at AWS's (or moto's) defaults
    assert "routing.http2.enabled=true" in plan.steps[5]["texts"][0] and diff["before"]["attributes"] == {}


def test_a_resource_we_did_not_make_refuses_the_whole_change():
    state = dict(EMPTY, tgs={"ws": {"TargetGroupArn": "arn:tg/ws", "Port": 3000, "Protocol": "HTTP",
                                    "TargetType": "ip", "VpcId": "vpc-1"}},
                 tg_attributes={"ws": {}}, owners={"arn:tg/ws": {"owner": "someone"}})
    plan = M.plan_load_balancer(dict(params(), tags={}), state)[0]
    assert plan.steps == [] and len(plan.problems) == 1 and "never adopted" in plan.problems[0]
