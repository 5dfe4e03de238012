"""AWS calls of our Route 53 helpers are retried on throttling, PriorRequestNotComplete and 5xx codes, and a
persistent failure reaches the user as fail_json_aws naming the zone (a fake client; sleeps recorded)."""

import botocore.exceptions
import pytest
from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

from ansible_collections.directfanz.launch.plugins.module_utils import route53


def error(code):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, "ChangeResourceRecordSets")


class FakeRoute53:
    def __init__(self, failures):
        self.failures = list(failures)
        self.calls = 0

    def change_resource_record_sets(self, **kwargs):
        self.calls += 1
        if self.failures:
            raise error(self.failures.pop(0))
        return {"ChangeInfo": {"Id": "/change/C1", "Status": "PENDING"}}


class Failed(Exception):
    pass


class FakeModule:
    def fail_json_aws(self, exc, msg, **kwargs):
        raise Failed(msg, exc, kwargs)

    def fail_json(self, msg, **kwargs):
        raise Failed(msg, None, kwargs)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr(cloud.time, "sleep", slept.append)
    return slept


@pytest.mark.parametrize("code", ["Throttling", "PriorRequestNotComplete", "ServiceUnavailable", "InternalError"])
def test_transient_errors_are_retried_with_backoff(code, no_sleep):
    fake = FakeRoute53([code, code])
    conn = RetryingBotoClientWrapper(fake, route53.RETRY)
    assert route53.apply_batch(FakeModule(), conn, "Z1", [], "c") == "C1"
    assert fake.calls == 3 and len(no_sleep) == 2


def test_a_persistent_error_fails_naming_the_zone_and_what_was_applied(no_sleep):
    fake = FakeRoute53(["InvalidChangeBatch"])
    conn = RetryingBotoClientWrapper(fake, route53.RETRY)
    with pytest.raises(Failed) as failed:
        route53.apply_batch(FakeModule(), conn, "Z1", [{}], "c", applied=["C0"])
    msg, exc, extra = failed.value.args
    assert "Could not change 1 record set(s) in hosted zone Z1 (already applied in this run: changes C0)" == msg
    assert extra == {"applied_change_ids": ["C0"]} and fake.calls == 1 and no_sleep == []
