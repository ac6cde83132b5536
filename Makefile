# The project's front door. Every target creates .venv/ on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := layers/access_sync/requirements.txt
# sam build needs a python3.12 on PATH (the Lambda runtime): pyenv's if there is one, else a working python3.12.
PY312_DIR := $(shell for p in $$(ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null) $$(command -v python3.12); do \
	"$$p" -c "" 2>/dev/null && dirname "$$p" && break; done)
# The layer-contents test (tests/infra/) runs `sam build` too and looks here first.
export PY312_DIR

.PHONY: venv test lint typecheck unit integration infra demo bench soak build validate clean browser lock local-aws

venv: $(STAMP)

# The library's dependencies exactly as locked (hash-checked), then the development tools around them.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	grep -E '^[a-z]' $(LOCK) | sed 's/ *\\$$//' > $(VENV)/locked.txt
	$(BIN)/pip install --quiet -e '.[dev]' -c $(VENV)/locked.txt
	touch $(STAMP)

# Moto and the simulators where env.json expects them, for `sam local invoke` (README); BIND=<address> to listen
# elsewhere than loopback (on Linux, the Docker bridge).
local-aws: $(STAMP)
	$(BIN)/python -m access_sync_dev.sam_local $(if $(BIND),--bind $(BIND))

# Pins the library's dependencies (with hashes) after a change to pyproject.toml's [project.dependencies].
lock: $(STAMP)
	$(BIN)/python -m access_sync_dev.layer_lock

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy layers/access_sync/access_sync simulators devtools functions benchmarks tests

test: lint typecheck browser
	$(BIN)/pytest

# The browser tests (tests/browser/) drive Debian's Chromium, never a browser Playwright downloads: install it
# with apt when it is missing. Where that cannot be done, those tests fail and say how to install it.
browser:
	@command -v chromium >/dev/null || { echo "installing chromium for the browser tests (apt-get)"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  { $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium >/dev/null; } || \
	  echo "could not install chromium; the browser tests will fail until it is installed"; }

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

infra: $(STAMP)
	$(BIN)/pytest tests/infra

demo: $(STAMP)
	$(BIN)/access-sync demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# Thousands of provisioning requests with faults and duplicate deliveries: 0 lost, 0 duplicated, 1 outcome each.
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak

validate: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/sam validate --lint

build: $(STAMP)
	@test -n "$(PY312_DIR)" || { echo "sam build needs python3.12 on PATH (e.g. pyenv install 3.12)"; exit 1; }
	PATH="$(PY312_DIR):$(abspath $(BIN)):$$PATH" $(BIN)/sam build

clean:
	rm -rf $(VENV) .aws-sam access-sync-data .mypy_cache .ruff_cache
