# QueueCast — every target sets up what it needs by itself on a fresh machine.
#   make run    set up, then run the whole system on its embedded defaults (dev mode)
#   make test   set up (Python, npm and, as root, Debian packages), then lint, type-check and test
#   make bench  set up, then run the benchmarks in bench/

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages the tests use: a real browser, a reference MQTT broker, offline speech,
# a PostgreSQL server (the API supports it as well as SQLite), and for the replicated deployment
# (make run-cluster and its tests) a load balancer and Mosquitto's command-line clients.
DEBIAN_PACKAGES := chromium mosquitto mosquitto-clients espeak-ng postgresql nginx-light

.PHONY: run run-cluster test lint typecheck pytest pytest-postgres bench setup system-deps npm-deps clean

run: setup
	QUEUECAST_ENV=dev $(PY) -m publisher_api

# PostgreSQL, Mosquitto, 3 API replicas and nginx on this box (state in var/cluster); Ctrl-C stops all.
# Other ports or counts: make run-cluster CLUSTER_ARGS="--http-port 9000 --replicas 2" (see --help).
CLUSTER_ARGS ?=
run-cluster: setup system-deps
	QUEUECAST_ENV=$${QUEUECAST_ENV:-dev} $(PY) deploy/cluster/run.py --var var/cluster $(CLUSTER_ARGS)

test: setup system-deps lint typecheck pytest pytest-postgres

setup: $(STAMP) npm-deps

$(STAMP): requirements.txt requirements-agent.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

npm-deps: node_modules/.package-lock.json

# --ignore-scripts: our browser packages are plain files; swagger-ui-dist's dependency
# @scarf/scarf would otherwise report the install to its vendor from a postinstall script.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error --ignore-scripts

# Installs the Debian packages when we are root and one is missing; otherwise says what to install
# (the tests that need a missing one are skipped with that reason, never silently passed).
system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else echo "not root: please install$$missing (tests needing them will be skipped)"; fi; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

pytest: $(STAMP)
	$(PY) -m pytest

# The store and writer tests again, on a throwaway PostgreSQL server (the outbox and replica
# tests run on PostgreSQL in the main run already). Deselected: the tests of these files that use
# no database (start-up refusals, two of them starting the API), which the main run ran as is.
PG_SAME_ON_ANY_DATABASE := tests/api/test_store.py::test_outside_dev_the_dev_secret_is_refused \
	tests/api/test_stats_and_start_up.py::test_production_refuses_the_dev_secret_with_a_clear_message \
	tests/api/test_stats_and_start_up.py::test_production_refuses_a_database_where_dev_logins_work
pytest-postgres: $(STAMP)
	$(PY) -m pytest --database=postgresql tests/api/test_store.py tests/api/test_changes.py \
		tests/api/test_expiry.py tests/api/test_stats_and_start_up.py \
		$(addprefix --deselect ,$(PG_SAME_ON_ANY_DATABASE))

bench: setup system-deps
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache test-output
