# phoneprovider — `make run` to serve the dashboard with a worker, `make test` to test.
SHELL := /bin/bash
# The newest of Python 3.13, 3.12 and 3.11 that runs here (a pyenv shim without that version
# installed does not count); PYTHON=... picks another.
PYTHON ?= $(firstword $(foreach p,python3.13 python3.12 python3.11,$(if $(shell $(p) -c "" 2>/dev/null && echo ok),$(p))) python3.11)
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

# Web on http://$(HOST):$(PORT)/ plus a real Celery worker and Celery beat (the sweeper's clock)
# as separate processes. DATABASE_URL / REDIS_URL are used when set; else SQLite and a file broker
# under var/. Beat is restarted whenever it dies (a dead beat would stop the sweeper silently);
# /healthz turns red when the last sweep is older than three intervals.
run: migrate
	@$(PY) manage.py ensure_admin
	@# Web or worker stopping (or Ctrl-C) takes everything down with it.
	@trap 'kill $$(jobs -p) 2>/dev/null; wait' EXIT; trap 'exit 130' INT TERM; \
	$(VENV)/bin/celery -A phoneprovider worker --loglevel=INFO --concurrency=$${WORKER_CONCURRENCY:-2} & \
	( trap 'kill $$beat 2>/dev/null; exit 0' TERM INT; while :; do \
	    $(VENV)/bin/celery -A phoneprovider beat --loglevel=INFO \
	      --schedule=$${VAR_DIR:-var}/celerybeat-schedule & beat=$$!; wait $$beat; \
	    echo "make run: beat exited (status $$?); restarting it in 1 s" >&2; sleep 1; \
	  done ) & \
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

# Figures are printed; nothing is asserted. The delivery bench runs `make serve` (bin/serve) on
# DATABASE_URL / REDIS_URL (skipped without them): 10,000-message bursts through the single and
# batch APIs, paced latency at 50 and 200 msg/s, CPU by process, Node's figure and `uptime` load.
# The purge bench uses them when set, else SQLite; it prints the rate at which 100,000 expired
# messages are purged. The routing bench prints what choosing a message's rule costs at 100 rules.
# The charts bench (PostgreSQL only) times the Messages charts' queries over 1,000,000 messages.
bench: install
	$(PY) bench/runtime_bench.py
	$(PY) bench/delivery_bench.py
	$(PY) bench/purge_bench.py
	$(PY) bench/routing_bench.py
	$(PY) bench/charts_bench.py

clean:
	rm -rf $(VENV) var
