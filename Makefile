# Every target installs what it needs into .venv (and node_modules for the CDK CLI) by itself.
#   make demo    the notifier on an embedded demo repository: no AWS account, no Slack workspace
#   make test    lint, type-check, the whole pytest suite, and an offline `cdk synth`
#   make synth   the CloudFormation template, offline, into cdk.out/
#   make bench   benchmarks: ratios measured side by side in one run
#   make golden  rewrite the golden payloads under tests/golden/ (Slack and Mattermost) after an
#                intended rendering change; only files whose payload changed are rewritten (review the diff)
#   make dashboard-picture  docs/img/dashboard.png: the CloudWatch dashboard's layout, drawn from the
#                synthesized template in headless Chromium (no AWS; see docs/operations.md)
#   make slack-manifest URL=...  the Slack app manifest for the chat front door (docs/chat.md)
#   make aws-models  rewrite handler/aws/data/ (botocore's data cut down to the calls the function
#                makes) after changing the pinned botocore or handler/aws/models.py's OPERATIONS

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

# Node.js comes from package.json (the `node` package pins a supported release and fetches its
# binary from the npm registry), so the machine's own Node may be any version, or older: the
# pinned one is first on PATH for the CDK CLI and for jsii, which `import aws_cdk` starts from
# pytest (tests/test_stack.py) as well as from `cdk synth`.
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
# No calls home: CDK notices, version checks and telemetry are all switched off.
export CDK_DISABLE_CLI_TELEMETRY := 1
export CDK_DISABLE_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test lint typecheck pytest synth bench golden aws-models clean slack-manifest

$(VENV)/.runtime-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	$(NODE_BIN)/node --version
	touch $@

demo: $(VENV)/.runtime-installed
	$(BIN)/python -m handler --demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed node_modules/.installed
	$(BIN)/python -m pytest

test: lint typecheck pytest synth

synth: $(VENV)/.dev-installed node_modules/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" $(NODE_BIN)/cdk synth --quiet --no-notices > /dev/null
	@echo "template written to cdk.out/CodeCommitSlackNotifier.template.json"

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

golden: $(VENV)/.dev-installed
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py tests/test_pull_request_golden.py tests/test_thread_golden.py \
		tests/test_pipeline_golden.py tests/test_gitlab_golden.py -q

# make slack-manifest URL=<the stack's ChatRequestUrl output>: slack-manifest.json for "Create New
# App > From a manifest" (docs/chat.md). The stack's SlackAppManifest output holds the same document.
slack-manifest: $(VENV)/.runtime-installed
	$(BIN)/python -m cdk.slack_manifest "$(URL)"

aws-models: $(VENV)/.runtime-installed
	$(BIN)/python -m handler.aws.trim

# make screenshots: docs/img/**/*.png, every golden (pushes, pull requests, the Slack-app thread) drawn
# as Slack lays it out and, for Mattermost's goldens, as Mattermost does with its own Markdown parser
# (@mattermost/commonmark, from node_modules), in headless Chromium (installed with apt-get when
# missing and run as root). Not part of `make test`; docs/messages.md lists every picture.
.PHONY: screenshots
screenshots: $(VENV)/.dev-installed node_modules/.installed
	@command -v chromium > /dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
			apt-get update -qq && apt-get install -y -qq chromium fonts-noto-color-emoji fonts-wqy-microhei; \
		else \
			echo "make screenshots needs Chromium: sudo apt-get install -y chromium fonts-noto-color-emoji"; \
			exit 2; \
		fi; }
	$(PYTHON) docs/screenshots.py --chromium "$$(command -v chromium)"

# make dashboard-picture: docs/img/dashboard.png from cdk.out/ (make synth), in headless Chromium
# (installed as for make screenshots). Not part of `make test`.
.PHONY: dashboard-picture
dashboard-picture: synth
	@command -v chromium > /dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
			apt-get update -qq && apt-get install -y -qq chromium; \
		else \
			echo "make dashboard-picture needs Chromium: sudo apt-get install -y chromium"; \
			exit 2; \
		fi; }
	$(PYTHON) docs/dashboard.py --chromium "$$(command -v chromium)"

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
