"""A private sandbox for the integration tests (its own state directory, free ports), reset between tests,
and helpers that run ansible-playbook as a user would and read the recap."""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

from sandbox.aws_proxy import AwsProxy

_FILE_SECONDS: dict = {}


def pytest_runtest_logreport(report):
    """Seconds per test file (setup, call and teardown): printed at the end, for tools/run_tests.py's shard weights."""
    name = report.nodeid.split("::")[0].rsplit("/", 1)[-1]
    _FILE_SECONDS[name] = _FILE_SECONDS.get(name, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if _FILE_SECONDS:
        terminalreporter.write_line("seconds per file: " + json.dumps(
            dict((k, round(v)) for k, v in sorted(_FILE_SECONDS.items(), key=lambda kv: -kv[1]))))


CLOSED = "http://127.0.0.1:9"  # a closed loopback port: a module that calls it fails to connect
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("sandbox")
    env = dict(os.environ, LAUNCH_SANDBOX_DIR=str(state_dir), PYTHONPATH=str(ROOT))
    up = subprocess.run([sys.executable, "-m", "sandbox.manage", "up"], check=False, cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    info = json.loads((state_dir / "endpoints.json").read_text())
    info["dir"] = str(state_dir)
    info["env"] = env
    yield info
    subprocess.run([sys.executable, "-m", "sandbox.manage", "down"], check=False, cwd=ROOT, env=env, timeout=60)


def post(url, body=None, method="POST"):
    req = urllib.request.Request(url, method=method, data=json.dumps(body or {}).encode(),
                                 headers={"Content-Type": "application/json"})
    # a reset of a moto holding a whole site takes seconds, more on a loaded machine
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


# Whether moto holds the site that site_without_operations built (cleared by every reset through reset()).
_SITE = {"built": False}
# The whole launch that whole_launch built: its first run, while no test has reset the sandbox since.
_LAUNCH: dict = {}


def reset(sandbox):
    """Empty moto, the simulator back at its seed, no faults."""
    post(sandbox["aws_endpoint_url"] + "/moto-api/reset")
    post(sandbox["hostinger_api_url"] + "/__sim/reset")
    _SITE["built"] = False
    _LAUNCH.clear()


@pytest.fixture()
def fresh(sandbox):
    """Empty moto, the simulator back at its seed, no faults."""
    reset(sandbox)
    return sandbox


@pytest.fixture()
def site_without_operations(sandbox):
    """Every phase of site.yml but operations, built once and shared by the operations roles' tests that follow one
    another (tools/run_tests.py keeps their files together, in SITE_FILES order) until a test resets the sandbox: each
    of those roles adds only its own resources (alarms, backups, the security baseline) to what the other phases
    built, so one build serves them all where each used to make its own (a site build is ~1.5 minutes)."""
    if not _SITE["built"]:
        reset(sandbox)
        site = playbook(sandbox, "--skip-tags", "operations,validate")
        assert site.rc == 0 and site.failed == 0, site.out[-3000:]
        _SITE["built"] = True
    return sandbox


@pytest.fixture()
def whole_launch(sandbox):
    """The whole launch (site.yml but the validate phase) built from an empty sandbox once, and its first run, shared
    by the tests that need it until one resets the sandbox: test_site_phases.py's build and second run, then
    test_validate_phase.py, then test_cutover.py's plain run and handoff (tools/run_tests.py keeps the three files in
    one shard, in that order). Each used to build its own - four builds of ~2.5 minutes, three of them repeats."""
    if not _LAUNCH:
        reset(sandbox)
        first = playbook(sandbox, "--skip-tags", "validate")
        assert first.rc == 0 and first.failed == 0, first.out[-6000:]
        _LAUNCH["first"] = first
    return _LAUNCH["first"]


def route53(sandbox):
    return boto3.client("route53", region_name="us-east-1", endpoint_url=sandbox["aws_endpoint_url"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def record_sets(sandbox):
    client = route53(sandbox)
    # the launch's public zone; the compute phase's Cloud Map namespace has a private zone of its own beside it
    zones = [z for z in client.list_hosted_zones()["HostedZones"] if not z.get("Config", {}).get("PrivateZone")]
    assert len(zones) == 1, zones
    return zones[0], client.list_resource_record_sets(HostedZoneId=zones[0]["Id"])["ResourceRecordSets"]


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        m = re.search(r"launch_controller\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", self.out)
        self.ok, self.changed, self.unreachable, self.failed = map(int, m.groups()) if m else (None,) * 4


SANDBOX_VAULT_PASSWORD = ROOT / "sandbox" / "seed" / "vault-password.txt"


def playbook(sandbox, *args, inventory="inventories/sandbox", env=None, playbook_file="site.yml", vault=None,
             timeout=600):
    """ansible-playbook as a user runs it; site.yml gets the sandbox's vault password (its config phase decrypts the
    example secrets file) unless ``vault`` is False or the arguments give one."""
    if vault is None:
        vault = playbook_file == "site.yml"
    if vault and "--vault-password-file" not in args and "--ask-vault-pass" not in args:
        args = ("--vault-password-file", str(SANDBOX_VAULT_PASSWORD), *args)
    run_env = dict(sandbox["env"], ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0")
    for key in [k for k in run_env if k.startswith("AWS_") or k.startswith("HOSTINGER_")]:
        run_env.pop(key)  # the inventory must carry everything, as for a user who did not source .sandbox/env
    run_env.update(env or {})
    proc = subprocess.run([str(BIN / "ansible-playbook"), playbook_file, "-i", inventory, *args], check=False, cwd=ROOT,
                          env=run_env, capture_output=True, text=True, timeout=timeout)
    return Run(proc)


def module(name, args, *flags, env=None):
    """Run one of our modules ad hoc, as `ansible localhost -m directfanz.launch.NAME`; returns (rc, output,
    the module's result). AWS points at a closed port unless ``env`` says otherwise."""
    run_env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   AWS_ENDPOINT_URL=CLOSED, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    run_env.pop("HOSTINGER_API_TOKEN", None)
    run_env.update(env or {})
    proc = subprocess.run([str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, *flags,
                           "-m", "directfanz.launch." + name, "-a", json.dumps(args)],
                          check=False, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=120)
    try:
        # an action plugin's progress lines come before the callback's JSON document
        document = proc.stdout[proc.stdout.index("{\n"):] if "{\n" in proc.stdout else proc.stdout
        result = json.loads(document)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        result = {}
    return proc.returncode, proc.stdout + proc.stderr, result


def aws_client(sandbox, service, region="us-east-1"):
    return boto3.client(service, region_name=region, endpoint_url=sandbox["aws_endpoint_url"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def aws_module(sandbox, name, args, *flags):
    """One of our AWS modules, ad hoc, against the sandbox's moto (region us-east-1 unless ``args`` says)."""
    params = dict({"region": "us-east-1", "endpoint_url": sandbox["aws_endpoint_url"], "access_key": "testing",
                   "secret_key": sandbox["aws_secret_key"]}, **args)
    return module(name, params, *flags, env={"AWS_ENDPOINT_URL": sandbox["aws_endpoint_url"]})


def distribution_config(reference, comment):
    """The smallest CloudFront distribution configuration moto accepts: one custom origin, the default behaviour."""
    return {"CallerReference": reference, "Comment": comment, "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "origin.example.com",
                                                  "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                         "OriginProtocolPolicy": "https-only"}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https",
                                     "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}


class Recorder(AwsProxy):
    """A loopback proxy in front of moto that notes the name of every AWS operation passing through, so a test
    can say which calls a run made. (debug_botocore_endpoint_logs cannot: it only parses https:// endpoints.)"""


@pytest.fixture()
def recorder(fresh):
    proxy = Recorder(fresh["aws_endpoint_url"])
    yield proxy
    proxy.close()
