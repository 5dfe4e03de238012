"""The shared plan/apply shape: placeholders become real ids as steps run, check mode makes no call, a failure
names the actions already done, and the result carries the actions lines."""

import pytest

from ansible_collections.directfanz.launch.plugins.module_utils import plan as P


class Stop(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.warnings = []
        self.result = None

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **kwargs):
        self.result = dict(kwargs, failed=True)
        raise Stop()

    def fail_json_aws(self, e, msg=None, **kwargs):
        self.fail_json(msg="%s: %s" % (msg, e), **kwargs)

    def exit_json(self, **kwargs):
        self.result = kwargs


class FakeClient:
    def __init__(self, fail_on=None):
        self.calls = []
        self.fail_on = fail_on

    def __getattr__(self, method):
        def call(aws_retry=False, **kwargs):
            assert aws_retry is True  # every call goes through the retry decorator
            self.calls.append((method, kwargs))
            if method == self.fail_on:
                import botocore.exceptions
                raise botocore.exceptions.ClientError({"Error": {"Code": "Boom", "Message": "no"}}, method)
            return {"Thing": {"Id": "id-%d" % len(self.calls)}}
        return call


def two_steps():
    plan = P.Plan()
    made = plan.call("svc", "create_thing", "create thing a", "create thing a", out="thing a", pick=("Thing", "Id"),
                     Name="a")
    plan.call("svc", "tag_thing", ["tag thing a"], "Could not tag thing a", Id=made, Tags=[{"Key": "k", "Value": made}])
    return plan, made


def test_placeholders_become_the_ids_the_calls_returned():
    plan, made = two_steps()
    assert made == "(new thing a)" and plan.actions == ["create thing a", "tag thing a"] and plan.changed
    client = FakeClient()
    real = P.apply(FakeModule(), plan, {"svc": client})
    assert client.calls == [("create_thing", {"Name": "a"}),
                            ("tag_thing", {"Id": "id-1", "Tags": [{"Key": "k", "Value": "id-1"}]})]
    assert real({"a": [made]}) == {"a": ["id-1"]}


def test_check_mode_makes_no_call_and_reports_the_placeholders():
    plan, made = two_steps()
    client = FakeClient()
    real = P.apply(FakeModule(check_mode=True), plan, {"svc": client})
    assert client.calls == [] and real(made) == "(new thing a)"


def test_a_failed_step_names_what_was_already_done():
    plan, unused = two_steps()
    module = FakeModule()
    with pytest.raises(Stop):
        P.apply(module, plan, {"svc": FakeClient(fail_on="tag_thing")})
    assert module.result["msg"].startswith("Could not tag thing a: ") and module.result["actions_done"] == ["create thing a"]


def test_handlers_run_named_steps():
    plan = P.Plan()
    out = plan.add("wait_things", None, out="wait")
    seen = []
    real = P.apply(FakeModule(), plan, handlers={"wait_things": lambda step, real: seen.append(step) or "ready"})
    assert plan.actions == [] and not plan.changed and len(seen) == 1 and real(out) == "ready"


def test_problems_refuse_before_any_write_and_warnings_pass_on():
    plan = P.Plan()
    plan.problems.append("x cannot change in place")
    module = FakeModule()
    with pytest.raises(Stop):
        P.refuse(module, "thing a", plan)
    assert module.result["msg"] == "thing a: x cannot change in place (nothing was changed)"
    ok = P.Plan()
    ok.warnings.append("heads up")
    module = FakeModule()
    P.refuse(module, "thing a", ok)
    assert module.warnings == ["heads up"]


def test_finish_reports_changed_actions_and_diff():
    plan, unused = two_steps()
    module = FakeModule()
    P.finish(module, plan, {"before": {}, "after": {"a": 1}}, id="x")
    assert module.result == {"changed": True, "actions": ["create thing a", "tag thing a"],
                             "diff": {"before": {}, "after": {"a": 1}}, "id": "x"}
