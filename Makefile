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

.PHONY: constraints help system-deps venv sandbox sandbox-up sandbox-down test unit integration molecule lint sanity docs bench clean

help:
	@echo "make sandbox       rehearse the launch against local stand-ins (moto, Hostinger simulator, DNS)"
	@echo "make sandbox-up    start the stand-ins and leave them running (.sandbox/env); make sandbox-down stops them"
	@echo "make test          install what is needed into .venv and run every test layer"
	@echo "make docs          the plugins' documentation, linted with antsibull-docs and rendered into .cache/docs/"
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

# Up, then the one-command launch (playbooks/launch.yml: the site phases, the restore drill, validate before the switch
# through the new zone's own servers with its GO gate, the cutover, validate after it through the DNS world's resolvers,
# the announcement, the final report), each stage's time, a short summary ending with the report's verdict and path,
# down - down also when a run fails. The simulator dates its zone history a day back, also for the snapshots it takes
# during the run (`age --ahead`): the rehearsal's stand-in for the hour a lowered TTL needs before the switch. Without
# the DNS world (root and the Debian packages installed here when root) there is no switch to rehearse: the site
# phases, the drill and the validate phase run, and the summary says why the cutover did not.
SANDBOX_PLAY = $(BIN)/ansible-playbook -i inventories/sandbox --vault-password-file sandbox/seed/vault-password.txt
sandbox: venv
	@-bash tools/install_system_deps.sh
	@$(BIN)/python -m sandbox.manage up
	@set -o pipefail; rc=0; rm -rf .sandbox/reports; \
	  if grep -q '"block"' .sandbox/endpoints.json; then \
	    $(BIN)/python -m sandbox.manage age 86400 --ahead; \
	    ANSIBLE_CALLBACKS_ENABLED=directfanz.launch.stage_times $(SANDBOX_PLAY) playbooks/launch.yml \
	      | tee .sandbox/launch.log || rc=$$?; \
	  else \
	    echo "sandbox: no DNS world (root and nsd/unbound needed): no cutover to rehearse; site, drill, validate only"; \
	    $(SANDBOX_PLAY) site.yml --skip-tags validate | tee .sandbox/launch.log || rc=$$?; \
	    if [ $$rc -eq 0 ]; then $(SANDBOX_PLAY) playbooks/restore_drill.yml | tee -a .sandbox/launch.log || rc=$$?; fi; \
	    if [ $$rc -eq 0 ]; then \
	      $(SANDBOX_PLAY) site.yml --tags validate -e launch_validate_gate=true | tee -a .sandbox/launch.log || rc=$$?; fi; \
	  fi; \
	  $(BIN)/python -m tools.summary .sandbox/launch.log --report .sandbox/reports/directfanz.io || true; \
	  $(BIN)/python -m sandbox.manage down; exit $$rc

# The plugins' documentation: the filters' doc files written from their code, everything linted with antsibull-docs,
# the collection rendered as RST into .cache/docs/ (tools/docs.sh).
docs: venv
	bash tools/docs.sh

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
