# directfanz.launch - the two commands: `make sandbox` (rehearse the launch locally) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONPATH := $(CURDIR)
COLLECTION_LINK := .cache/collections/ansible_collections/directfanz/launch

.PHONY: constraints help system-deps venv sandbox sandbox-up sandbox-down test unit integration molecule lint sanity bench clean

help:
	@echo "make sandbox       rehearse the launch against local stand-ins (moto, Hostinger simulator, DNS)"
	@echo "make sandbox-up    start the stand-ins and leave them running (.sandbox/env); make sandbox-down stops them"
	@echo "make test          install what is needed into .venv and run every test layer"
	@echo "make bench         benchmarks (figures printed beside their anchors)"

$(VENV)/.installed: requirements.txt requirements-test.txt constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# constraints.txt is the whole resolved tree (`make constraints`): installing it without resolution
	@# takes under 2 minutes here, against about 15 for resolving requirements-test.txt again.
	$(BIN)/python -m pip install -q --no-deps -r constraints.txt
	$(BIN)/python -m pip check
	touch $@

# Re-resolve the pinned tree after changing requirements*.txt.
constraints:
	rm -rf .cache/resolve && $(PY) -m venv .cache/resolve
	.cache/resolve/bin/pip install -q -r requirements-test.txt
	.cache/resolve/bin/pip freeze --exclude-editable > constraints.txt

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

venv: $(VENV)/.installed $(COLLECTION_LINK)

sandbox-up: venv
	$(BIN)/python -m sandbox.manage up

sandbox-down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m sandbox.manage down; else $(PY) -m sandbox.manage down; fi

# Up, the whole site run, the restore drill (7.4's evidence), the validate phase and its launch report (GO / NO-GO,
# through the new zone's own servers, before the switch), the cutover rehearsal (when the DNS world runs and the verdict
# is GO; the simulator's zone history dated a day earlier first, standing in for the wait a lowered TTL needs), a
# short summary ending with the report's verdict and path, down - down also when a run fails. The DNS world and the
# stand-in edge need root (ports 53/443 on loopback) and the Debian packages installed here when root.
SANDBOX_PLAY = $(BIN)/ansible-playbook -i inventories/sandbox --vault-password-file sandbox/seed/vault-password.txt
sandbox: venv
	@-bash tools/install_system_deps.sh
	@$(BIN)/python -m sandbox.manage up
	@set -o pipefail; rc=0; rm -rf .sandbox/reports; \
	  $(SANDBOX_PLAY) site.yml --skip-tags validate | tee .sandbox/site.log || rc=$$?; \
	  if [ $$rc -eq 0 ]; then $(SANDBOX_PLAY) playbooks/restore_drill.yml | tee .sandbox/restore_drill.log || rc=$$?; fi; \
	  if [ $$rc -eq 0 ]; then \
	    $(SANDBOX_PLAY) site.yml --tags validate -e launch_validate_gate=true | tee .sandbox/validate.log || rc=$$?; fi; \
	  if [ $$rc -eq 0 ] && grep -q '"block"' .sandbox/endpoints.json; then \
	    $(BIN)/python -m sandbox.manage age 86400; \
	    $(SANDBOX_PLAY) playbooks/cutover.yml | tee .sandbox/cutover.log || rc=$$?; \
	  fi; \
	  $(BIN)/python -m tools.summary .sandbox/site.log .sandbox/restore_drill.log .sandbox/validate.log \
	    .sandbox/cutover.log --report .sandbox/reports/directfanz.io || true; \
	  $(BIN)/python -m sandbox.manage down; exit $$rc

# Debian packages the DNS tests use (nsd, unbound, dnsutils, ldnsutils), installed when running as root.
system-deps:
	bash tools/install_system_deps.sh

test: venv system-deps
	$(BIN)/python -m tools.run_tests

unit: venv
	$(BIN)/python -m pytest -q tests/unit

bench: venv system-deps
	$(BIN)/python -m tools.bench

clean: sandbox-down
	rm -rf .cache .pytest_cache tests/output
