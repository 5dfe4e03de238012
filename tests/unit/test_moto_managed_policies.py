"""sandbox/moto_server.py makes moto's AWS managed policies once per account and partition and gives every IAM backend
after that copies: each must hold what moto itself makes, in objects of its own."""

import pytest
from moto.iam.models import IAMBackend

from sandbox import moto_server


def shape(policy):
    """What a policy is, less its random id: every attribute, its versions' too."""
    fields = {k: v for k, v in vars(policy).items() if k not in ("id", "versions")}
    fields["versions"] = [dict(vars(version)) for version in policy.versions]
    return fields


@pytest.fixture()
def backend(monkeypatch):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    return IAMBackend("aws", "123456789012")


def test_the_policies_are_the_ones_moto_makes(backend):
    again = IAMBackend("aws", "123456789012")  # made from the copies now
    theirs = moto_server.MOTO_AWS_MANAGED_POLICIES(again)
    assert len(again.aws_managed_policies) == len(theirs) > 1000
    assert [shape(p) for p in again.aws_managed_policies] == [shape(p) for p in theirs]
    assert set(again.managed_policies) == {p.arn for p in theirs}
    # the one the launch attaches, as the RDS role asks for it
    arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    assert again.get_policy(arn).arn == arn
    # an AWS managed policy keeps its id, as on AWS (moto would draw a new one)
    assert again.get_policy(arn).id == backend.get_policy(arn).id


def test_each_backend_gets_objects_of_its_own(backend):
    other = IAMBackend("aws", "123456789012")
    mine, theirs = backend.aws_managed_policies[0], other.aws_managed_policies[0]
    assert mine is not theirs and mine.arn == theirs.arn
    mine.attachment_count += 1
    mine.tags["k"] = {"Key": "k", "Value": "v"}
    mine.versions[0].is_default = False
    mine.versions.append(mine.versions[0])
    assert theirs.attachment_count == 0 and theirs.tags == {}
    assert len(theirs.versions) == 1 and theirs.versions[0].is_default is True
    assert IAMBackend("aws", "123456789012").aws_managed_policies[0].attachment_count == 0


def test_another_partition_has_its_own_arns(backend):
    china = IAMBackend("aws-cn", "123456789012")
    assert china.aws_managed_policies[0].arn.startswith("arn:aws-cn:iam::aws:policy/")


def test_without_the_setting_there_are_none_as_in_moto(backend, monkeypatch):
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES")
    assert IAMBackend("aws", "123456789012").aws_managed_policies == []
