"""s3_replication against the moto server over HTTP: check mode makes nothing, one run makes the DR buckets
(versioned, DR key, public access blocked, TLS only, tagged), the replication role with its least-privilege policy and
the replication of both sources (all read back from moto), a second run writes nothing, bad input and a DR region equal
to the source region stop before any call, an unversioned source is refused before any write.

moto neither replicates objects nor reports SourceSelectionCriteria/DeleteMarkerReplication back: the module names
those two fields as not verified (the one tolerated gap, unit-tested in tests/unit/test_backup_replication.py)."""

import json

import pytest
from conftest import aws_client as client
from conftest import module
from test_backup_plan import RestRecorder

ACCOUNT = "123456789012"
CONTENT, STATIC = "directfanz-sandbox-content-%s" % ACCOUNT, "directfanz-sandbox-static-%s" % ACCOUNT
PAIRS = [{"source": CONTENT, "destination": CONTENT + "-us-west-2"},
         {"source": STATIC, "destination": STATIC + "-us-west-2"}]


@pytest.fixture()
def rest_recorder(fresh):
    proxy = RestRecorder(fresh["aws_endpoint_url"])
    yield proxy
    proxy.close()


def built_sources(sandbox, versioned=True):
    """What the data and edge phases leave: the content bucket under the data key, the static bucket SSE-S3."""
    kms, kms_dr = client(sandbox, "kms"), client(sandbox, "kms", "us-west-2")
    data = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/directfanz-sandbox-data", TargetKeyId=data["KeyId"])
    dr = kms_dr.create_key()["KeyMetadata"]
    kms_dr.enable_key_rotation(KeyId=dr["KeyId"])
    kms_dr.create_alias(AliasName="alias/directfanz-sandbox-dr", TargetKeyId=dr["KeyId"])
    s3 = client(sandbox, "s3")
    for name, encryption in ((CONTENT, {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/directfanz-sandbox-data"}),
                             (STATIC, {"SSEAlgorithm": "AES256"})):
        s3.create_bucket(Bucket=name)
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": encryption, "BucketKeyEnabled": True}]})
    return data["Arn"], dr["Arn"]


def run(sandbox, *flags, via=None, **overrides):
    endpoint = via.url if via else sandbox["aws_endpoint_url"]
    params = dict({"region": "us-east-1", "endpoint_url": endpoint, "access_key": "testing",
                   "secret_key": sandbox["aws_secret_key"], "buckets": PAIRS, "dr_region": "us-west-2",
                   "dr_kms_key": "alias/directfanz-sandbox-dr", "role_name": "directfanz-sandbox-s3-replication",
                   "tags": {"project": "directfanz"}}, **overrides)
    return module("s3_replication", params, *flags, env={"AWS_ENDPOINT_URL": endpoint})


def dr_buckets(sandbox):
    listed = client(sandbox, "s3", "us-west-2").list_buckets()["Buckets"]
    return sorted(b["Name"] for b in listed if b["Name"].endswith("-us-west-2"))


def test_check_mode_plans_everything_and_makes_nothing(fresh, rest_recorder):
    built_sources(fresh)
    rc, out, result = run(fresh, "--check", "--diff", via=rest_recorder)
    assert rc == 0 and result["changed"], out
    assert "create bucket %s-us-west-2 in us-west-2" % CONTENT in result["actions"]
    assert "create role directfanz-sandbox-s3-replication (trusted by s3.amazonaws.com)" in result["actions"]
    assert result["diff"]["after"]["role"]["name"] == "directfanz-sandbox-s3-replication"
    assert rest_recorder.requests and rest_recorder.writes() == [], rest_recorder.requests
    assert dr_buckets(fresh) == []
    assert client(fresh, "iam").list_roles()["Roles"] == [] or all(
        r["RoleName"] != "directfanz-sandbox-s3-replication" for r in client(fresh, "iam").list_roles()["Roles"])


def test_one_run_makes_the_replicas_and_the_role_and_a_second_writes_nothing(fresh, rest_recorder):
    data_key, dr_key = built_sources(fresh)
    rc, out, result = run(fresh)
    assert rc == 0 and result["changed"], out
    assert dr_buckets(fresh) == sorted(p["destination"] for p in PAIRS)
    s3w = client(fresh, "s3", "us-west-2")
    for pair in PAIRS:
        name = pair["destination"]
        assert s3w.get_bucket_location(Bucket=name)["LocationConstraint"] == "us-west-2"
        assert s3w.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
        rule = s3w.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": dr_key}
        assert rule["BucketKeyEnabled"] is True
        assert s3w.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
        [deny] = json.loads(s3w.get_bucket_policy(Bucket=name)["Policy"])["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert {t["Key"]: t["Value"] for t in s3w.get_bucket_tagging(Bucket=name)["TagSet"]} == {
            "project": "directfanz", "managed-by": "directfanz.launch"}
        config = client(fresh, "s3").get_bucket_replication(Bucket=pair["source"])["ReplicationConfiguration"]
        assert config["Role"] == "arn:aws:iam::%s:role/directfanz-sandbox-s3-replication" % ACCOUNT
        [replicated] = config["Rules"]
        assert replicated["Status"] == "Enabled" and replicated["Destination"] == {
            "Bucket": "arn:aws:s3:::" + name, "EncryptionConfiguration": {"ReplicaKmsKeyID": dr_key}}

    iam = client(fresh, "iam")
    trust = iam.get_role(RoleName="directfanz-sandbox-s3-replication")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}]
    policy = iam.get_role_policy(RoleName="directfanz-sandbox-s3-replication", PolicyName="s3-replication")["PolicyDocument"]
    resources = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    assert resources == {
        "SourceBuckets": ["arn:aws:s3:::" + CONTENT, "arn:aws:s3:::" + STATIC],
        "SourceVersions": ["arn:aws:s3:::%s/*" % CONTENT, "arn:aws:s3:::%s/*" % STATIC],
        "WriteReplicas": ["arn:aws:s3:::%s-us-west-2/*" % CONTENT, "arn:aws:s3:::%s-us-west-2/*" % STATIC],
        "DecryptSources": [data_key],  # the alias the bucket names, resolved; the static bucket is SSE-S3
        "EncryptReplicas": [dr_key]}

    rc, out, second = run(fresh, "--diff", via=rest_recorder)
    assert rc == 0 and second["changed"] is False and second["actions"] == [], out
    assert rest_recorder.requests and rest_recorder.writes() == [], rest_recorder.requests
    assert sum("were not verified" in w or "so they were not verified" in w for w in second["warnings"]) == 2


def test_a_dr_region_equal_to_the_source_is_refused_before_any_call(fresh, rest_recorder):
    rc, out, result = run(fresh, via=rest_recorder, dr_region="us-east-1")
    assert rc != 0 and "dr_region us-east-1 is the source region" in result["msg"], out
    assert rest_recorder.requests == []


def test_bad_input_is_refused_before_any_call(fresh, rest_recorder):
    rc, out, result = run(fresh, via=rest_recorder, role_name="bad role", buckets=[{"source": "A", "destination": "A"}])
    assert rc != 0 and "role_name 'bad role' is not valid" in result["msg"] and "source and destination are both A" in \
        result["msg"], out
    assert rest_recorder.requests == []


def test_an_unversioned_source_is_refused_before_any_write(fresh, rest_recorder):
    built_sources(fresh, versioned=False)
    rc, out, result = run(fresh, via=rest_recorder)
    assert rc != 0 and "source bucket %s is not versioned (never enabled)" % CONTENT in result["msg"], out
    assert rest_recorder.requests and rest_recorder.writes() == []
    assert dr_buckets(fresh) == []
