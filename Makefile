# phoneprovider — `make run` to serve the dashboard with a worker, `make test` to test.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run serve test lint format bench migrate clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

# Web on http://$(HOST):$(PORT)/ plus a real Celery worker (with the sweeper's beat).
# DATABASE_URL / REDIS_URL are used when set; else SQLite and a file broker under var/.
run: migrate
	@$(PY) manage.py ensure_admin
	@# Whichever of the two stops first (or Ctrl-C) takes the other one down with it.
	@trap 'kill $$(jobs -p) 2>/dev/null; wait' EXIT; trap 'exit 130' INT TERM; \
	$(VENV)/bin/celery -A phoneprovider worker --beat --loglevel=INFO --concurrency=$${WORKER_CONCURRENCY:-2} & \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT) & \
	wait -n

# Production mode without Docker: gunicorn, Celery worker(s) and beat as supervised processes
# (bin/serve, the same commands docker-compose.yml runs), DEBUG off, static files collected, on
# DATABASE_URL / REDIS_URL. A process that dies is restarted; Ctrl-C stops them all. README: "make serve".
serve: install
	@HOST=$(HOST) PORT=$(PORT) exec $(PY) bin/serve

# Tests keep their database and file broker apart from `make run`'s (var/test).
test: install
	VAR_DIR=$${VAR_DIR:-$(CURDIR)/var/test} $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Figures are printed; nothing is asserted. The delivery bench uses DATABASE_URL / REDIS_URL when
# set (PostgreSQL and Redis give the meaningful figures), else SQLite and the file broker.
bench: install
	$(PY) bench/runtime_bench.py
	$(PY) bench/delivery_bench.py

clean:
	rm -rf $(VENV) var
