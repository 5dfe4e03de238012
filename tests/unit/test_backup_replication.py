"""s3_replication's pure parts: the input checks (DR region equal to the source region refused), the least-privilege
policy of the replication role (exactly the buckets and keys), the planner on plain dicts, and the one place a gap of
the endpoint is tolerated (moto drops SourceSelectionCriteria and DeleteMarkerReplication on GetBucketReplication)."""

import copy
import json

from ansible_collections.directfanz.launch.plugins.modules import s3_replication as M

ACCOUNT = "123456789012"
SRC_KEY = "arn:aws:kms:us-east-1:%s:key/src" % ACCOUNT
DR_KEY = "arn:aws:kms:us-west-2:%s:key/dr" % ACCOUNT
CTX = {"partition": "aws", "account": ACCOUNT, "region": "us-east-1", "dr_region": "us-west-2", "dr_key_arn": DR_KEY,
       "role_arn": "arn:aws:iam::%s:role/launch-s3-replication" % ACCOUNT}
KMS_ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                    "KMSMasterKeyID": "alias/launch-data"},
                             "BucketKeyEnabled": True}]}
S3_ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def params(**overrides):
    p = {"buckets": [{"source": "launch-content", "destination": "launch-content-us-west-2"},
                     {"source": "launch-static", "destination": "launch-static-us-west-2"}],
         "dr_region": "us-west-2", "dr_kms_key": "alias/launch-dr", "role_name": "launch-s3-replication",
         "delete_marker_replication": True, "tags": {"project": "directfanz"}}
    p.update(overrides)
    return p


def empty():
    return {"dr_key": {"Arn": DR_KEY, "KeyState": "Enabled"}, "role": None, "destinations": {
        "launch-content-us-west-2": None, "launch-static-us-west-2": None}, "sources": {
        "launch-content": {"Region": "us-east-1", "Versioning": "Enabled", "Encryption": KMS_ENCRYPTION,
                           "KeyArn": SRC_KEY, "Replication": None},
        "launch-static": {"Region": "us-east-1", "Versioning": "Enabled", "Encryption": S3_ENCRYPTION, "KeyArn": None,
                          "Replication": None}}}


def built(p=None):
    """What the reads return once the plan for ``p`` was applied (as AWS answers it)."""
    p = p or params()
    observed = empty()
    for pair in p["buckets"]:
        observed["destinations"][pair["destination"]] = {
            "Region": "us-west-2", "Versioning": "Enabled", "KeyArn": DR_KEY, "PublicAccessBlock": dict(M.PUBLIC_BLOCK),
            "Encryption": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                             "KMSMasterKeyID": DR_KEY},
                                      "BucketKeyEnabled": True}]},
            "Policy": json.dumps(M.tls_policy(CTX, pair["destination"])), "Tags": M.desired_tags(p["tags"])}
        rules = [M.replication_rule(p, CTX, pair)]
        observed["sources"][pair["source"]]["Replication"] = {"Role": CTX["role_arn"], "Rules": rules}
    observed["role"] = {"AssumeRolePolicyDocument": M.trust_policy(), "Policy": M.role_policy(p, CTX, [SRC_KEY])}
    return observed


def test_dr_region_equal_to_the_source_region_is_refused():
    assert M.input_problems(params(dr_region="us-east-1"), "us-east-1") == [
        "dr_region us-east-1 is the source region; accepted: another region (a replica in the same region does not"
        " survive the loss of the region)"]


def test_bad_pairs_are_named():
    p = params(buckets=[{"source": "Bad_Name", "destination": "x-dr"}, {"source": "same", "destination": "same"}])
    problems = M.input_problems(p, "us-east-1")
    assert any(x.startswith("buckets[0].source 'Bad_Name' is not a bucket name") for x in problems)
    assert "buckets[1]: source and destination are both same; accepted: two buckets" in problems
    assert "buckets name same more than once; accepted: each bucket once" in problems
    assert M.input_problems(params(buckets=[]), "us-east-1") == ["buckets is empty; accepted: at least one {source,"
                                                                 " destination}"]


def test_the_role_policy_names_exactly_the_buckets_and_keys():
    policy = M.role_policy(params(), CTX, [SRC_KEY])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert sorted(by_sid) == ["DecryptSources", "EncryptReplicas", "SourceBuckets", "SourceVersions", "WriteReplicas"]
    assert by_sid["SourceBuckets"]["Resource"] == ["arn:aws:s3:::launch-content", "arn:aws:s3:::launch-static"]
    assert by_sid["SourceVersions"]["Resource"] == ["arn:aws:s3:::launch-content/*", "arn:aws:s3:::launch-static/*"]
    assert by_sid["WriteReplicas"]["Resource"] == ["arn:aws:s3:::launch-content-us-west-2/*",
                                                   "arn:aws:s3:::launch-static-us-west-2/*"]
    assert by_sid["DecryptSources"]["Resource"] == [SRC_KEY] and by_sid["DecryptSources"]["Action"] == ["kms:Decrypt"]
    assert by_sid["DecryptSources"]["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert by_sid["EncryptReplicas"]["Resource"] == [DR_KEY]
    assert by_sid["EncryptReplicas"]["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-west-2.amazonaws.com"}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and "*" not in statement["Resource"]
        assert not any(a.endswith(":*") for a in statement["Action"])


def test_an_sse_s3_source_needs_no_decrypt_statement():
    policy = M.role_policy(params(buckets=[params()["buckets"][1]]), CTX, [])
    assert [s["Sid"] for s in policy["Statement"]] == ["SourceBuckets", "SourceVersions", "WriteReplicas",
                                                       "EncryptReplicas"]


def test_an_empty_dr_region_gets_the_buckets_the_role_and_the_replication():
    plan = M.plan_replication(params(), empty(), CTX)
    assert not plan.problems
    ops = [(s.get("service"), s["op"]) for s in plan.steps]
    per_bucket = [("s3_dr", "create_bucket"), ("s3_dr", "put_bucket_versioning"), ("s3_dr", "put_bucket_encryption"),
                  ("s3_dr", "put_public_access_block"), ("s3_dr", "put_bucket_policy"), ("s3_dr", "put_bucket_tagging")]
    assert ops == per_bucket * 2 + [("iam", "create_role"), ("iam", "put_role_policy"), (None, "put_replication"),
                                    (None, "put_replication")]
    assert plan.steps[0]["kwargs"] == {"Bucket": "launch-content-us-west-2", "ObjectOwnership": "BucketOwnerEnforced",
                                       "CreateBucketConfiguration": {"LocationConstraint": "us-west-2"}}
    encryption = plan.steps[2]["kwargs"]["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption == {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": DR_KEY},
                          "BucketKeyEnabled": True}
    tls = json.loads(plan.steps[4]["kwargs"]["Policy"])["Statement"][0]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    written = json.loads(plan.steps[13]["kwargs"]["PolicyDocument"])
    assert written == M.role_policy(params(), CTX, [SRC_KEY])  # the content bucket's key, resolved; static is SSE-S3
    rule = plan.steps[14]["ReplicationConfiguration"]["Rules"][0]
    assert plan.steps[14]["ReplicationConfiguration"]["Role"] == CTX["role_arn"]
    assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    assert rule["Destination"] == {"Bucket": "arn:aws:s3:::launch-content-us-west-2",
                                   "EncryptionConfiguration": {"ReplicaKmsKeyID": DR_KEY}}
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}


def test_what_exists_as_wanted_plans_nothing():
    plan = M.plan_replication(params(), built(), CTX)
    assert plan.steps == [] and not plan.warnings


def test_policies_compare_as_data_not_text():
    observed = built()
    role = observed["role"]
    role["Policy"] = json.loads(json.dumps(role["Policy"]))
    for statement in role["Policy"]["Statement"]:
        statement["Resource"] = list(reversed(statement["Resource"]))
    for pair in params()["buckets"]:
        destination = observed["destinations"][pair["destination"]]
        doc = json.loads(destination["Policy"])
        doc["Statement"][0]["Action"] = ["s3:*"]
        destination["Policy"] = json.dumps(doc, indent=2)
    assert M.plan_replication(params(), observed, CTX).steps == []


def test_a_widened_role_policy_is_put_back():
    observed = built()
    observed["role"]["Policy"]["Statement"][0]["Resource"] = ["arn:aws:s3:::*"]
    plan = M.plan_replication(params(), observed, CTX)
    assert plan.actions == ["update the replication policy of role launch-s3-replication"]


def test_delete_markers_off_is_one_replication_update():
    plan = M.plan_replication(params(delete_marker_replication=False), built(), CTX)
    assert plan.actions == [
        "replicate launch-content to launch-content-us-west-2 (DeleteMarkerReplication Enabled -> Disabled)",
        "replicate launch-static to launch-static-us-west-2 (DeleteMarkerReplication Enabled -> Disabled)"]


def test_an_answer_that_drops_fields_is_tolerated_in_one_place_with_a_warning():
    observed = built()
    for source in observed["sources"].values():
        rule = source["Replication"]["Rules"][0]
        del rule["SourceSelectionCriteria"]  # what moto answers
        rule["DeleteMarkerReplication"] = {"Status": "Disabled"}
    assert M.drops_fields(observed["sources"]["launch-content"]["Replication"]["Rules"][0])
    plan = M.plan_replication(params(), observed, CTX)
    assert plan.steps == []
    assert plan.warnings[0] == ("replication rule dr-launch-content-us-west-2: the endpoint does not report"
                                " DeleteMarkerReplication and SseKmsEncryptedObjects (moto drops them on"
                                " GetBucketReplication), so they were not verified")
    # an AWS answer (SourceSelectionCriteria present) is compared in full
    assert not M.drops_fields(M.replication_rule(params(), CTX, params()["buckets"][0]))


def test_a_rule_for_another_destination_is_replaced():
    observed = built()
    other = copy.deepcopy(observed["sources"]["launch-static"]["Replication"])
    other["Rules"][0]["ID"] = "someone-else"
    observed["sources"]["launch-static"]["Replication"] = other
    plan = M.plan_replication(params(), observed, CTX)
    assert plan.actions == ["replicate launch-static to launch-static-us-west-2 (rules someone-else ->"
                            " dr-launch-static-us-west-2)"]


def test_sources_missing_unversioned_or_elsewhere_and_destinations_elsewhere_are_refused():
    observed = empty()
    observed["sources"]["launch-content"]["Versioning"] = "Suspended"
    observed["sources"]["launch-static"] = None
    observed["destinations"]["launch-content-us-west-2"] = {"Region": "eu-west-1"}
    plan = M.plan_replication(params(), observed, CTX)
    assert plan.steps == []
    assert plan.problems == [
        "source bucket launch-content is not versioned (Suspended); S3 replicates only versioned buckets",
        "destination bucket launch-content-us-west-2 exists in eu-west-1, not us-west-2; accepted: a bucket in dr_region"
        " (or a new name)",
        "source bucket launch-static does not exist; run the phase that makes it first"]


def test_a_missing_dr_key_is_refused():
    observed = empty()
    observed["dr_key"] = None
    assert M.plan_replication(params(), observed, CTX).problems == [
        "dr_kms_key alias/launch-dr was not found in us-west-2; accepted: an existing symmetric key of that region"]
