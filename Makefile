# jupyterhub-zos: `make up` deploys the dev stack; `make test` runs every test.
SHELL := /bin/bash
STACK ?= dev
VENV := venv
PY := $(VENV)/bin/python
IMAGE_REQS := images/hub/requirements.txt images/gateway/requirements.txt images/notebook/requirements.txt

.PHONY: up preview destroy test lint policy-check import-env config-reference policy-reference bench

## The program's virtualenv (Pulumi.yaml points the CLI at ./venv).
$(VENV)/.installed: requirements.txt policies/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt -r policies/requirements.txt
	touch $@

## Test tools, and what the images ship, so tests run exactly that.
$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt policies/requirements.txt $(IMAGE_REQS)
	$(VENV)/bin/pip install -q -r requirements-dev.txt $(addprefix -r ,$(IMAGE_REQS))
	touch $@

## The policy pack (policies/) runs on every preview and up.
up: $(VENV)/.installed
	STACK=$(STACK) tools/pulumi.sh up --policy-pack policies $(if $(YES),--yes,)

preview: $(VENV)/.installed
	STACK=$(STACK) tools/pulumi.sh preview --diff --policy-pack policies

destroy: $(VENV)/.installed
	STACK=$(STACK) tools/pulumi.sh destroy

test: $(VENV)/.dev-installed lint
	$(PY) -m pytest

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## The policy pack on the program's mock graph, no Pulumi CLI, no cloud:
##   make policy-check [STACK=dev] [POLICY_CONFIG=file.json] [ARGS='--set K=V --secret K']
policy-check: $(VENV)/.installed
	$(PY) -m tools.policy_check --stack "$(STACK)" $(if $(POLICY_CONFIG),--policy-config "$(POLICY_CONFIG)",) $(ARGS)

## make import-env ENV=path/to/.env STACK=prod [USERLIST=path/to/userlist] [DRY_RUN=1]
import-env: $(VENV)/.installed
	@test -n "$(ENV)" || { echo "usage: make import-env ENV=path/to/.env STACK=name [USERLIST=file] [DRY_RUN=1]"; exit 2; }
	PATH="$$HOME/.pulumi/bin:$$PATH" $(PY) -m tools.import_env --env "$(ENV)" --stack "$(STACK)" \
		$(if $(USERLIST),--userlist "$(USERLIST)",) $(if $(DRY_RUN),--dry-run,)

## Regenerate the config reference (docs/reference/config.md) from Pulumi.yaml.
config-reference: $(VENV)/.installed
	$(PY) -m tools.config_reference --write

## Regenerate docs/reference/policies.md from the policy pack (policies/).
policy-reference: $(VENV)/.installed
	$(PY) -m tools.policy_reference --write

## Benchmarks: writes bench/results.json and docs/benchmarks.md; exit 1 if a target is missed.
bench: $(VENV)/.dev-installed
	$(PY) -m bench.run
