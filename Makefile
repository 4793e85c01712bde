# Run `make help` for the list of targets.
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help run install test test-deps lint migrate-check bench bench-ratelimit chaos clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

install: $(PY) ## Install the gateway into .venv
	$(VENV)/bin/pip install -q --disable-pip-version-check -e .

run: install ## Start API + worker + beat on embedded defaults (SQLite, filesystem broker)
	$(VENV)/bin/gateway dev

test-deps: ## Install PostgreSQL, Redis (OS packages, if missing) and the test extras
	./scripts/install-test-deps.sh

test: test-deps ## Install what the tests need, then run the whole suite
	$(PY) -m pytest tests -q -p no:cacheprovider

lint: ## ruff on everything, mypy on the domain package
	$(VENV)/bin/ruff check api worker shared tests bench web
	$(VENV)/bin/mypy shared --ignore-missing-imports

bench: ## Measure API, worker, webhook and scale figures on loopback (< 10 min; var/bench/)
	$(PY) -m bench.run

bench-ratelimit: ## What the Redis rate limiter costs POST /payments (limiter off vs on; ~1 min)
	$(PY) -m bench.ratelimit_cost

chaos: ## Inject faults (worker/web kill -9, Redis stop, PostgreSQL restart) while payments flow
	$(PY) -m bench.chaos

clean: ## Remove local state (var/: SQLite database, broker folder, bench output)
	rm -rf var
