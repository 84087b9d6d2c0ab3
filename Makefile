# Every target installs what it needs into .venv (and node_modules for the CDK CLI) by itself.
#   make demo    the notifier on an embedded demo repository: no AWS account, no Slack workspace
#   make test    lint, type-check, the whole pytest suite, and an offline `cdk synth`
#   make synth   the CloudFormation template, offline, into cdk.out/
#   make bench   benchmarks: ratios measured side by side in one run
#   make golden  rewrite tests/golden/*.json after an intended rendering change (review the diff)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

# No calls home: jsii's Node banner, CDK notices and telemetry are all switched off.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := 1
export CDK_DISABLE_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test lint typecheck pytest synth bench golden clean

$(VENV)/.runtime-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(VENV)/.runtime-installed
	$(BIN)/python -m handler --demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed
	$(BIN)/python -m pytest

test: lint typecheck pytest synth

synth: $(VENV)/.dev-installed node_modules/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk synth --quiet --no-notices > /dev/null
	@echo "template written to cdk.out/CodeCommitSlackNotifier.template.json"

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

golden: $(VENV)/.dev-installed
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py tests/test_pull_request_golden.py -q

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
