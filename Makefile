# jupyterhub-zos: `make up` deploys the dev stack; `make test` runs every test.
SHELL := /bin/bash
STACK ?= dev
# pytest-xdist workers for make test: most tests wait on servers they start, so more
# workers than cores pays; the Docker engine's tests run on one worker in any case.
TEST_WORKERS ?= 3
VENV := venv
PY := $(VENV)/bin/python
IMAGE_REQS := images/hub/requirements.txt images/gateway/requirements.txt images/notebook/requirements.txt

.PHONY: help up preview destroy where status backup restore test lint policy-check import-env zos-admin-script config-reference policy-reference bench

## Every target, with what it does (the `## ` line above each).
help:
	@awk '/^## /{doc=doc (doc?" ":"") substr($$0,4); next} /^[a-z][a-z-]*:/{split($$1,t,":"); if(doc!="") printf "  make %-17s %s\n", t[1], doc; doc=""; next} {doc=""}' $(MAKEFILE_LIST)

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

## Deploy stack STACK (default dev) with the policy pack; YES=1 skips the confirmation.
up: $(VENV)/.installed
	STACK=$(STACK) tools/pulumi.sh up --policy-pack policies $(if $(YES),--yes,)

## Show what `make up` would change (diff and policy violations).
preview: $(VENV)/.installed
	STACK=$(STACK) tools/pulumi.sh preview --diff --policy-pack policies

## Remove the deployment (the hub's data volume is kept).
destroy: $(VENV)/.installed
	STACK=$(STACK) tools/pulumi.sh destroy

## Where the stack's state and passphrase are (changes nothing).
where:
	@STACK=$(STACK) tools/pulumi.sh --where

# The day-2 commands read the stack's outputs and docker:host through the Pulumi CLI with
# make up's set-up (a stack that does not exist exits 2, none is made); OUTPUTS=file.json
# (the outputs as JSON) reads them from a file instead.
DAY2 = $(if $(OUTPUTS),,STACK=$(STACK) tools/pulumi.sh --run )$(PY) -m
DAY2_ARGS = --stack "$(STACK)" $(if $(OUTPUTS),--outputs "$(OUTPUTS)",)

## The stack at a glance: hub health and version, running servers, certificate expiries,
## gateway, data volume; exit 1 if unhealthy. [JSON=1] [WARN_DAYS=30] [OUTPUTS=file.json]
status: $(VENV)/.installed
	@$(DAY2) tools.status $(DAY2_ARGS) $(if $(JSON),--json,) $(if $(WARN_DAYS),--warn-days "$(WARN_DAYS)",)

## Back up the hub's database (a consistent sqlite copy), its data volume and every user's
## volume to TO=folder (new; made 0700: it holds secrets) with a manifest. [OUTPUTS=file.json]
backup: $(VENV)/.installed
	@test -n "$(TO)" || { echo "usage: make backup TO=folder [STACK=dev]"; exit 2; }
	$(DAY2) tools.backup backup $(DAY2_ARGS) --to "$(TO)"

## Restore FROM=folder into a fresh deployment of the same stack (the hub is stopped
## meanwhile); refused, with nothing changed, if it does not fit. [OVERWRITE=1] [OUTPUTS=]
restore: $(VENV)/.installed
	@test -n "$(FROM)" || { echo "usage: make restore FROM=folder [STACK=dev] [OVERWRITE=1]"; exit 2; }
	$(DAY2) tools.backup restore $(DAY2_ARGS) --from "$(FROM)" $(if $(OVERWRITE),--overwrite,)

## Run every test (and the linters).
test: $(VENV)/.dev-installed lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

## ruff check and ruff format --check.
lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## The policy pack on the program's mock graph, no cloud: [STACK=dev] [POLICY_CONFIG=file.json]
## [ARGS='--set K=V --secret K'] [DECRYPT=1: the stack's secrets from the Pulumi CLI].
policy-check: $(VENV)/.installed
	$(if $(DECRYPT),STACK=$(STACK) tools/pulumi.sh --run ,)$(PY) -m tools.policy_check --stack "$(STACK)" \
		$(if $(POLICY_CONFIG),--policy-config "$(POLICY_CONFIG)",) $(if $(DECRYPT),--decrypt,) $(ARGS)

## Migrate a seed: SEED=folder (.env, userlist, secrets/) or ENV= USERLIST= HUB_CERT= HUB_KEY=
## [HUB_HOSTNAME=] [P12_PASSWORD_FILE=] STACK=name [DRY_RUN=1: print everything, set nothing].
import-env: $(VENV)/.installed
	@test -n "$(SEED)$(ENV)" || { echo "usage: make import-env SEED=seed-folder STACK=name [DRY_RUN=1]"; \
		echo "   or: make import-env ENV=.env [USERLIST=userlist] [HUB_CERT=crt HUB_KEY=key] [HUB_HOSTNAME=host] STACK=name"; exit 2; }
	$(if $(DRY_RUN),@STACK=$(STACK) tools/pulumi.sh --where | sed 's/^/would write to /',)
	$(if $(DRY_RUN),,STACK=$(STACK) tools/pulumi.sh --run-init )$(PY) -m tools.import_env --stack "$(STACK)" \
		$(if $(SEED),--seed "$(SEED)",) $(if $(ENV),--env "$(ENV)",) $(if $(USERLIST),--userlist "$(USERLIST)",) \
		$(if $(HUB_CERT),--hub-cert "$(HUB_CERT)",) $(if $(HUB_KEY),--hub-key "$(HUB_KEY)",) \
		$(if $(HUB_HOSTNAME),--hostname "$(HUB_HOSTNAME)",) $(if $(DRY_RUN),--dry-run,) \
		$(if $(P12_PASSWORD_FILE),--p12-password-file "$(P12_PASSWORD_FILE)",)

## ZOS_RACF_MODE=admin: write the security administrator's RACF and AT-TLS script for
## STACK=name [OUT=file] (no secret in it; read from Pulumi.<stack>.yaml, nothing deployed).
zos-admin-script: $(VENV)/.installed
	$(PY) -m tools.zos_admin_script --stack "$(STACK)" $(if $(OUT),--out "$(OUT)",)

## Regenerate the config reference (docs/reference/config.md) from Pulumi.yaml.
config-reference: $(VENV)/.installed
	$(PY) -m tools.config_reference --write

## Regenerate docs/reference/policies.md from the policy pack (policies/).
policy-reference: $(VENV)/.installed
	$(PY) -m tools.policy_reference --write

## Benchmarks: writes bench/results.json and docs/benchmarks.md; exit 1 if a target is missed.
bench: $(VENV)/.dev-installed
	$(PY) -m bench.run
