"""log_groups against the moto server: check mode makes nothing, a run makes the groups with the key and their
retention, a second run writes nothing, an existing group without the key gets AssociateKmsKey, bad input (a key that
is not a key ARN) stops before any call.

moto 5.2.5 does not implement AssociateKmsKey (logs): the recorder below answers it as AWS does (an empty JSON
document) and shows the association in the DescribeLogGroups answers that follow - canned answers for what moto lacks,
nothing else changed."""

import json

from conftest import Recorder, aws_client, module

REGION = "eu-west-1"


class AssociatingAws(Recorder):
    """The recorder, answering AssociateKmsKey (which moto lacks) and adding the key to later DescribeLogGroups."""

    def __init__(self, upstream):
        self.associated = {}
        super().__init__(upstream)

    def canned(self, method, path, name, body):
        if name == "AssociateKmsKey":
            request = json.loads(body)
            self.associated[request["logGroupName"]] = request["kmsKeyId"]
            return 200, [("Content-Type", "application/x-amz-json-1.1")], b"{}"
        return None

    def answer(self, method, path, name, body, status, data):
        if name != "DescribeLogGroups" or status != 200:
            return data
        document = json.loads(data)
        for group in document.get("logGroups", []):
            if group["logGroupName"] in self.associated:
                group["kmsKeyId"] = self.associated[group["logGroupName"]]
        return json.dumps(document).encode()


def key_arn(sandbox):
    return aws_client(sandbox, "kms", REGION).create_key(Description="operations")["KeyMetadata"]["Arn"]


def run(sandbox, *flags, via=None, **args):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"groups": [{"name": "aws-waf-logs-d-regional", "retention_days": 90},
                              {"name": "/d/web", "retention_days": 30}],
                   "tags": {"project": "d"}, "region": REGION, "endpoint_url": endpoint, "access_key": "testing",
                   "secret_key": sandbox["aws_secret_key"]}, **args)
    return module("log_groups", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def groups(sandbox):
    return {g["logGroupName"]: g for g in aws_client(sandbox, "logs", REGION).describe_log_groups()["logGroups"]}


def test_check_then_create_with_the_key_then_nothing_to_do(fresh, recorder):
    key = key_arn(fresh)
    del recorder.calls[:]
    rc, out, checked = run(fresh, "--check", "--diff", via=recorder, kms_key_arn=key)
    assert rc == 0 and checked["changed"] is True, out
    assert checked["actions"] == ["create log group aws-waf-logs-d-regional encrypted with %s" % key,
                                  "keep log group aws-waf-logs-d-regional for 90 days",
                                  "create log group /d/web encrypted with %s" % key, "keep log group /d/web for 30 days"]
    assert checked["diff"]["before"] == {} and checked["diff"]["after"]["/d/web"]["kms_key_id"] == key
    assert checked["log_groups"][0]["arn"] == "arn:aws:logs:%s:123456789012:log-group:aws-waf-logs-d-regional" % REGION
    assert recorder.writes() == [] and groups(fresh) == {}, recorder.calls

    rc, out, first = run(fresh, kms_key_arn=key)
    assert rc == 0 and first["changed"] is True, out
    made = groups(fresh)
    assert {n: (g["kmsKeyId"], g["retentionInDays"]) for n, g in made.items()} == {
        "aws-waf-logs-d-regional": (key, 90), "/d/web": (key, 30)}
    tags = aws_client(fresh, "logs", REGION).list_tags_for_resource(resourceArn=first["log_groups"][1]["arn"])["tags"]
    assert tags == {"project": "d", "managed-by": "directfanz.launch"}

    del recorder.calls[:]
    rc, out, again = run(fresh, via=recorder, kms_key_arn=key)
    assert rc == 0 and again["changed"] is False and again["actions"] == [], out
    assert recorder.writes() == [] and "DescribeLogGroups" in recorder.calls, recorder.calls
    rc, out, without = run(fresh, via=recorder)  # no key given: the groups' key is left alone
    assert rc == 0 and without["changed"] is False and groups(fresh)["/d/web"]["kmsKeyId"] == key, out


def test_an_existing_group_without_the_key_is_associated_once(fresh):
    key = key_arn(fresh)
    logs = aws_client(fresh, "logs", REGION)
    logs.create_log_group(logGroupName="/d/web", tags={"project": "d", "managed-by": "directfanz.launch"})
    logs.put_retention_policy(logGroupName="/d/web", retentionInDays=30)
    proxy = AssociatingAws(fresh["aws_endpoint_url"])
    try:
        rc, out, first = run(fresh, via=proxy, kms_key_arn=key, groups=[{"name": "/d/web", "retention_days": 30}])
        assert rc == 0 and first["actions"] == ["encrypt log group /d/web with %s (was CloudWatch Logs' own key)"
                                                % key], out
        assert proxy.writes() == ["AssociateKmsKey"] and proxy.associated == {"/d/web": key}, proxy.calls
        del proxy.calls[:]
        rc, out, again = run(fresh, via=proxy, kms_key_arn=key, groups=[{"name": "/d/web", "retention_days": 30}])
        assert rc == 0 and again["changed"] is False and proxy.writes() == [], out
    finally:
        proxy.close()


def test_a_key_that_is_not_a_key_arn_fails_before_any_call(fresh, recorder):
    rc, out, result = run(fresh, via=recorder, kms_key_arn="alias/d-operations")
    assert rc != 0, out
    assert ("kms_key_arn 'alias/d-operations' is not accepted; accepted: a KMS key ARN such as"
            " arn:aws:kms:<region>:<account>:key/<key id> (CloudWatch Logs takes no alias)") in result["msg"]
    assert recorder.calls == [] and groups(fresh) == {}
