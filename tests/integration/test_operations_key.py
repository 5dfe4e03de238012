"""The operations key as the certificates phase keeps it (amazon.aws.kms_key with the operations_key_policy filter),
against the moto server: made with its alias, rotation on and the policy; a second run changes nothing; the policy read
back is the one the filter wrote and lints clean (parliament + our rule, kind "key")."""

import json
import subprocess
import sys

from conftest import BIN, ROOT, aws_client

from ansible_collections.directfanz.launch.plugins.filter.iam_lint import iam_policy_problems
from ansible_collections.directfanz.launch.plugins.module_utils.kms_policy import operations_key_policy

ACCOUNT = "123456789012"
ALIAS = "alias/directfanz-sandbox-operations"


def keep_key(sandbox, region, *flags):
    """amazon.aws.kms_key as roles/acm_wildcard calls it, the policy from the collection's filter."""
    args = {"alias": ALIAS, "description": "operations", "enable_key_rotation": True,
            "policy": "{{ '%s' | directfanz.launch.operations_key_policy('%s', 'directfanz-sandbox') | to_json }}"
                      % (ACCOUNT, region),
            "region": region, "endpoint_url": sandbox["aws_endpoint_url"], "access_key": "testing",
            "secret_key": sandbox["aws_secret_key"]}
    env = dict(sandbox["env"], ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               AWS_ENDPOINT_URL=sandbox["aws_endpoint_url"])
    proc = subprocess.run([str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, *flags,
                           "-m", "amazon.aws.kms_key", "-a", json.dumps(args)],
                          check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    document = proc.stdout[proc.stdout.index("{\n"):] if "{\n" in proc.stdout else "{}"
    try:
        result = json.loads(document)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        result = {}
    return proc.returncode, proc.stdout + proc.stderr, result


def test_the_key_is_made_once_with_its_policy_and_rotation(fresh):
    for region in ("us-east-1", "eu-west-1"):
        rc, out, first = keep_key(fresh, region)
        assert rc == 0 and first["changed"] is True, out
        rc, out, again = keep_key(fresh, region)
        assert rc == 0 and again["changed"] is False, out
        kms = aws_client(fresh, "kms", region)
        key_id = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"]
        assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
        policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
        assert policy == operations_key_policy(ACCOUNT, region, "directfanz-sandbox")
        assert iam_policy_problems(policy, "key", ALIAS) == []
