"""controller/configuration.yml validated offline, without a controller: rendered as controller/apply.yml renders it,
every entry checked against the argument spec of the awx.awx module that applies it (the modules' own specs, read
from awx.awx 24.6.1 as ansible 12 ships it), and every reference in it - playbooks, inventory files, credentials,
templates, workflow nodes - found where it points."""

import importlib
import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "controller" / "configuration.yml"
APPLY = ROOT / "controller" / "apply.yml"
# infra.aap_configuration's list names -> the awx.awx module each entry is given to
MODULES = {"controller_organizations": "organization", "controller_credential_types": "credential_type",
           "controller_credentials": "credential", "controller_execution_environments": "execution_environment",
           "controller_projects": "project", "controller_inventories": "inventory",
           "controller_inventory_sources": "inventory_source", "controller_templates": "job_template",
           "controller_workflows": "workflow_job_template"}


def trusted(value):
    """``value`` with every string trusted as a template, as a vars file in a playbook is."""
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return trust_as_template(value) if isinstance(value, str) else value


def rendered():
    """The file as apply.yml's vars_files gives it to the tasks: loaded, then templated with its own variables."""
    data = trusted(yaml.safe_load(CONFIG.read_text()))
    return json.loads(json.dumps(Templar(loader=DataLoader(), variables=data).template(data)))  # plain types


class Captured(Exception):
    pass


def argument_spec(module_name):
    """The argument spec an awx.awx module builds in main(), captured at its ControllerAPIModule(...) call."""
    from ansible_collections.awx.awx.plugins.module_utils import controller_api

    seen = {}
    original = controller_api.ControllerAPIModule.__init__

    def capture(self, argument_spec=None, **kwargs):
        seen["spec"] = argument_spec
        raise Captured()

    controller_api.ControllerAPIModule.__init__ = capture
    try:
        module = importlib.import_module("ansible_collections.awx.awx.plugins.modules." + module_name)
        with pytest.raises(Captured):
            module.main()
    finally:
        controller_api.ControllerAPIModule.__init__ = original
    # the auth options every module takes (controller_host, ...), which the environment supplies
    spec = dict(seen["spec"])
    spec.update(controller_api.ControllerModule.AUTH_ARGSPEC)
    return spec


@pytest.fixture(scope="module")
def config():
    return rendered()


def test_awx_collection_is_the_one_ansible_12_ships():
    from ansible_collections.awx import awx

    manifest = json.loads((Path(list(awx.__path__)[0]) / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == "24.6.1"


@pytest.mark.parametrize("key, module_name", sorted(MODULES.items()))
def test_every_entry_is_valid_for_its_awx_module(config, key, module_name):
    assert config[key], "%s is empty" % key
    spec = argument_spec(module_name)
    validator = ArgumentSpecValidator(spec)
    for entry in config[key]:
        result = validator.validate(dict(entry))
        assert not result.error_messages, (key, entry.get("name"), result.error_messages)
        assert not re.search(r"{{|{%", json.dumps(entry).replace("{{ token }}", "").replace(
            "{{ vault_password }}", "").replace("{{ tower.filename }}", "")), ("unrendered template", entry)


def test_the_check_fails_an_unknown_option_and_a_wrong_choice():
    validator = ArgumentSpecValidator(argument_spec("job_template"))
    result = validator.validate({"name": "x", "playbook": "site.yml", "job_type": "deploy", "no_such_option": 1})
    text = " ".join(result.error_messages)
    assert "no_such_option" in text and "job_type" in text, text


def test_apply_yml_applies_every_list_with_its_module_in_dependency_order(config):
    [play] = yaml.safe_load(APPLY.read_text())
    assert play["vars_files"] == ["configuration.yml"]
    applied = []
    for task in play["tasks"]:
        module = next(k for k in task if k.startswith("awx.awx."))
        listed = re.fullmatch(r"{{ (\w+) }}", task["loop"]).group(1)
        assert task[module] == "{{ item }}"
        applied.append((listed, module.split(".")[-1]))
    assert applied == list(MODULES.items())


def names(config, key):
    return {e["name"] for e in config[key]}


def test_every_reference_points_at_something_that_exists(config):
    orgs, projects = names(config, "controller_organizations"), names(config, "controller_projects")
    inventories, ees = names(config, "controller_inventories"), names(config, "controller_execution_environments")
    credentials = names(config, "controller_credentials")
    builtin_types = {"Amazon Web Services"}
    types = names(config, "controller_credential_types") | builtin_types
    for c in config["controller_credentials"]:
        assert c["credential_type"] in types and c["organization"] in orgs, c["name"]
    for source in config["controller_inventory_sources"]:
        assert source["inventory"] in inventories and source["source_project"] in projects
        assert (ROOT / source["source_path"]).is_file(), source["source_path"]
    for t in config["controller_templates"]:
        assert (ROOT / t["playbook"]).is_file(), (t["name"], t["playbook"])
        assert yaml.safe_load((ROOT / t["playbook"]).read_text()), t["playbook"]
        assert t["project"] in projects and t["inventory"] in inventories and t["execution_environment"] in ees
        assert set(t["credentials"]) <= credentials, t["name"]
    for p in config["controller_projects"]:
        assert p["default_environment"] in ees and p["organization"] in orgs


def test_the_workflow_gates_the_switch_behind_validation_and_an_approval(config):
    templates = {t["name"]: t for t in config["controller_templates"]}
    [workflow] = config["controller_workflows"]
    nodes = {n["identifier"]: n for n in workflow["workflow_nodes"]}
    for node in nodes.values():
        ujt = node["unified_job_template"]
        assert ujt["type"] in ("job_template", "workflow_approval"), node
        if ujt["type"] == "job_template":
            assert ujt["name"] in templates, ujt["name"]
        for kind, targets in (node.get("related") or {}).items():
            assert kind in ("success_nodes", "failure_nodes", "always_nodes"), kind
            assert all(t["identifier"] in nodes for t in targets), (node["identifier"], targets)

    def successor(identifier):
        [nxt] = nodes[identifier]["related"]["success_nodes"]
        return nxt["identifier"]

    # the only path to the cutover: build -> drill -> validate (gated) -> approval -> cutover -> validate after
    chain, at = ["build"], "build"
    while nodes[at].get("related", {}).get("success_nodes"):
        at = successor(at)
        chain.append(at)
    assert chain == ["build", "restore-drill", "validate-pre", "approve-cutover", "cutover", "validate-post"]
    parents_of_cutover = [i for i, n in nodes.items() if any(t["identifier"] == "cutover" for ts in (
        n.get("related") or {}).values() for t in ts)]
    assert parents_of_cutover == ["approve-cutover"]
    assert nodes["approve-cutover"]["unified_job_template"]["timeout"] > 0
    pre = templates[nodes["validate-pre"]["unified_job_template"]["name"]]
    assert pre["job_tags"] == "validate"
    assert pre["extra_vars"] == {"launch_validate_stage": "pre", "launch_validate_gate": True}
    post = templates[nodes["validate-post"]["unified_job_template"]["name"]]
    assert post["extra_vars"]["launch_validate_stage"] == "post"
    assert nodes["validate-post"]["related"]["failure_nodes"] == [{"identifier": "rollback"}]
    assert nodes["rollback"]["extra_data"] == {"launch_rollback_confirm": "directfanz.io"}
    # the workflow's survey asks the confirmation and the waivers, the variables the playbooks read
    asked = {q["variable"]: q for q in workflow["survey_spec"]["spec"]}
    assert asked["launch_cutover_confirm"]["required"] is True and "launch_waivers_yaml" in asked
    assert asked["launch_cutover_ttl_wait"]["default"] == "false"  # an early switch refuses unless someone says wait
    cutover = (ROOT / "playbooks" / "cutover.yml").read_text()
    assert "launch_cutover_confirm" in cutover and "launch_cutover_ttl_wait" in cutover
    # the cutover job outlives the playbook's own longest waits (the TTL, then the propagation)
    job = templates[nodes["cutover"]["unified_job_template"]["name"]]
    vars_ = yaml.safe_load(cutover)[0]["vars"]
    assert "default(3600)" in vars_["cutover_ttl_max_wait"] and "default(7200)" in vars_["cutover_wait_timeout"]
    assert job["timeout"] > 3600 + 7200
    assert "launch_waivers_yaml" in (ROOT / "roles" / "validate" / "defaults" / "main.yml").read_text()


def test_credential_types_inject_what_the_launch_reads(config):
    types = {t["name"]: t for t in config["controller_credential_types"]}
    hostinger = types["Hostinger API token"]
    assert hostinger["injectors"]["extra_vars"] == {"launch_hostinger_api_token": "{{ token }}"}
    assert hostinger["inputs"]["fields"][0]["secret"] is True
    vault = types["DirectFanz secrets vault password"]
    assert vault["injectors"]["env"] == {"ANSIBLE_VAULT_PASSWORD_FILE": "{{ tower.filename }}"}
    assert vault["injectors"]["file"] == {"template": "{{ vault_password }}"}
    # what production reads: the token variable (inventories/production) and the vault password file (ansible)
    assert "launch_hostinger_api_token" in (ROOT / "inventories/production/group_vars/all/main.yml").read_text()


def test_no_secret_is_committed(config):
    for c in config["controller_credentials"]:
        assert c["inputs"] == {}, c["name"]  # given at apply time (docs/awx.md)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
