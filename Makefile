# The two Quick start commands: `make demo` and `make test`.
# Everything installs into ./.venv from this repository's own files; `make test` also installs,
# once, what the tests need beyond Python (npm lockfiles, and Debian's chromium, PostgreSQL server
# and Java: tools/system-packages.sh).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kinlink-installed
# npm lockfiles: GOV.UK Frontend for the pages; the tests' OpenID provider and Compose schema.
FRONTEND := gateway/web/frontend/node_modules/.package-lock.json
TEST_NPM := tests/gateway/oidc/node_modules/.package-lock.json \
            tests/deploy/node_modules/.package-lock.json

.PHONY: demo test test-at check lint install system-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# npm writes node_modules/.package-lock.json on every install: newer than the lockfile means done.
%/node_modules/.package-lock.json: %/package-lock.json
	npm ci --prefix $* --no-audit --no-fund

install: $(STAMP) $(FRONTEND)

system-packages:
	bash tools/system-packages.sh

demo: install
	$(BIN)/kinlink demo $(ARGS)

# What CI runs besides the tests: lint, the layer contract and the type checker.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: install $(TEST_NPM) system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite as if this machine's clock said AT: no test may depend on today's date. Only the
# wall clock moves (tools/clock-shift), as when a machine's clock is set; time keeps running.
AT ?= 2027-06-15 10:00:00
test-at: install $(TEST_NPM) system-packages
	tools/clock-shift/run "$(AT)" $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: check
