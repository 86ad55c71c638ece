# VaultCore — the two commands a newcomer needs are `make run` and `make test`.
# Everything else here is a convenience for developers and operators.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test lint format migrate worker beat image-check shell db-stop clean bench bench-smoke bench-compare schemathesis

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=/path/to/python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime-installed

run: $(VENV)/.runtime-installed ## serve the API at http://127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL is set)
	@export DEBUG=$${DEBUG:-True}; \
	$(PY) manage.py migrate --noinput && \
	$(PY) manage.py bootstrap_superuser --if-configured && \
	$(PY) manage.py seed_demo && \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.dev-installed ## run the whole test suite (embedded PostgreSQL unless DATABASE_URL is set)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed ## ruff (lint + format check), mypy and the import layers (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: $(VENV)/.dev-installed ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrate: $(VENV)/.runtime-installed ## apply database migrations
	DEBUG=$${DEBUG:-True} $(PY) manage.py migrate --noinput

# Like `make run`: development (DEBUG on) unless DEBUG is set, so no production secret is needed.
worker: $(VENV)/.runtime-installed ## run a Celery worker for the default and webhooks queues (needs REDIS_URL; DEBUG on unless set)
	DEBUG=$${DEBUG:-True} $(VENV)/bin/celery -A vaultcore worker -Q celery,webhooks --loglevel=INFO

beat: $(VENV)/.runtime-installed ## run Celery beat (needs REDIS_URL; DEBUG on unless set, like run)
	@mkdir -p .vaultcore
	DEBUG=$${DEBUG:-True} $(VENV)/bin/celery -A vaultcore beat --loglevel=INFO --schedule .vaultcore/celerybeat-schedule

image-check: ## the Docker image's build and runtime steps without Docker: fresh venv, DEBUG off, live checks
	$(PYTHON) .ci/image_runtime_check.py

shell: $(VENV)/.runtime-installed ## Django shell
	DEBUG=$${DEBUG:-True} $(PY) manage.py shell

bench: $(VENV)/.dev-installed ## benchmarks: raw SQL ceiling, service and HTTP level, zero-loss check (bench/README.md)
	$(PY) -m bench $(BENCH_ARGS)

bench-smoke: $(VENV)/.dev-installed ## the benchmarks with tiny counts, a few seconds (CI)
	$(PY) -m bench --smoke --output bench/results/smoke.json $(BENCH_ARGS)

bench-compare: $(VENV)/.dev-installed ## HTTP x32 of this checkout against commit BASE, interleaved (BASE=<commit>)
	@[ -n "$(BASE)" ] || { echo "usage: make bench-compare BASE=<commit>"; exit 2; }
	$(PY) -m bench.compare $(BASE) $(BENCH_ARGS)

schemathesis: $(VENV)/.dev-installed ## fuzz a live server against /api/schema/ and /graphql/: fails on any 5xx or schema drift (a few minutes)
	$(PY) .ci/schemathesis.py

db-stop: ## stop the embedded PostgreSQL server
	-@[ -f .vaultcore/pgdata/postmaster.pid ] && $(PY) -c 'import pgserver, pathlib; pgserver.get_server(pathlib.Path(".vaultcore/pgdata"), cleanup_mode="stop")' && echo "embedded PostgreSQL stopped"

clean: db-stop ## remove the virtual environment and the embedded database
	rm -rf $(VENV) .vaultcore .pytest_cache .mypy_cache .ruff_cache
