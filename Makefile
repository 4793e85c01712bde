# Run `make help` for the list of targets.
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
LINT_PATHS := api worker shared web tests bench migrations scripts

.PHONY: help run install dev-deps test test-deps lint gateway migrate-check bench bench-ratelimit chaos soak clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

install: $(PY) ## Install the gateway into .venv (the CLI is then .venv/bin/gateway)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e .

dev-deps: $(PY) ## Install the gateway with the dev extras (ruff, mypy) into .venv
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[dev]'

run: install ## Start API + workers + beat, supervised, on embedded defaults (SQLite under var/)
	$(VENV)/bin/gateway dev

gateway: install ## Run the operator CLI, e.g. make gateway ARGS='create-merchant --name Acme'
	$(VENV)/bin/gateway $(ARGS)

test-deps: ## Install PostgreSQL, Redis (OS packages, if missing) and the test and dev extras
	./scripts/install-test-deps.sh

test: test-deps ## Install what the tests need, then run the whole suite
	$(PY) -m pytest tests -q -p no:cacheprovider

lint: dev-deps ## ruff on everything (migrations too), mypy on the domain package
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/mypy shared --ignore-missing-imports

bench: ## Measure API, worker, webhook and scale figures on loopback (~15 min; var/bench/)
	$(PY) -m bench.run

bench-ratelimit: ## What the Redis rate limiter costs POST /payments (limiter off vs on; ~1 min)
	$(PY) -m bench.ratelimit_cost

chaos: ## Inject faults (worker/web kill -9, Redis stop, PostgreSQL restart) while payments flow
	$(PY) -m bench.chaos

soak: install ## `gateway dev` under light load for SOAK_MINUTES (30), killing a worker now and then
	$(PY) scripts/soak.py --minutes $${SOAK_MINUTES:-30}

clean: ## Remove local state (var/: SQLite database and broker, bench output)
	rm -rf var
