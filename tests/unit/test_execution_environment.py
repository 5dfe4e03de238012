"""execution-environment.yml (ansible-builder 3, schema v3): `ansible-builder create` makes its build context (no
container runtime needed), and the context carries exactly what `make test` tests - ansible-core, ansible-runner, the
collections at the versions installed here, and every Python package the collection's plugins import."""

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    out = tmp_path_factory.mktemp("ee") / "context"
    run = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", str(out),
                          "--output-filename", "Containerfile"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def pins(text):
    return dict(re.match(r"^([A-Za-z0-9_.\[\]-]+)==(\S+)$", line).groups() for line in text.splitlines()
                if line.strip() and not line.startswith("#"))


def test_the_definition_is_schema_v3_and_pins_core_and_runner():
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    core = pins((ROOT / "requirements.txt").read_text())["ansible-core"]
    assert ee["dependencies"]["ansible_core"]["package_pip"] == "ansible-core==" + core
    assert re.fullmatch(r"ansible-runner==\d+\.\d+\.\d+", ee["dependencies"]["ansible_runner"]["package_pip"])


def test_the_context_installs_core_runner_collections_and_the_python_packages(context):
    containerfile = (context / "Containerfile").read_text()
    assert 'ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==' in containerfile
    assert "ansible-galaxy collection install" in containerfile and "FROM $EE_BASE_IMAGE" in containerfile
    assert (context / "_build" / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    import ansible_collections

    base = Path(list(ansible_collections.__path__)[-1])
    for entry in galaxy["collections"]:
        namespace, name = entry["name"].split(".")
        manifest = json.loads((base / namespace / name / "MANIFEST.json").read_text())
        assert entry["version"] == manifest["collection_info"]["version"], entry  # the version tested here


def test_every_third_party_import_of_the_plugins_is_a_pinned_requirement():
    """requirements.txt (the EE's Python dependencies, and production's) holds every distribution a plugin imports,
    pinned as constraints.txt pins the tested tree."""
    imported = set()
    for path in (ROOT / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names
                   and m not in ("ansible", "ansible_collections", "urlparse")}  # urlparse: Python 2's name
    providers = importlib.metadata.packages_distributions()
    required = {re.sub(r"\[.*\]", "", k).lower() for k in pins((ROOT / "requirements.txt").read_text())}
    tree = {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in pins((ROOT / "constraints.txt").read_text()).items()}
    # what requirements.txt's packages pull in counts as provided (requests via boto3's tree, yaml via ansible-core)
    closure, todo = set(), list(required)
    while todo:
        dist = todo.pop()
        if dist in closure:
            continue
        closure.add(dist)
        for text in importlib.metadata.requires(dist) or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):  # installed here, not an extra's
                todo.append(req.name.lower())

    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503

    provided = {norm(d) for d in closure}
    missing = {}
    for module in sorted(third_party):
        dists = {norm(d) for d in providers.get(module, [])}
        if not dists & provided:
            missing[module] = sorted(dists)
    assert missing == {}, missing
    for dist, version in pins((ROOT / "requirements.txt").read_text()).items():
        assert tree.get(norm(re.sub(r"\[.*\]", "", dist))) == version, dist
