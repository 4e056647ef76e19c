# The two commands: `make run` serves the product, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run run-tls test lint format lock

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Installs come from the locks only (every package pinned, with its hashes):
# requirements.txt is what production runs; development adds requirements-dev.txt.
$(VENV)/.run-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt -r requirements-dev.txt
	touch $@ $(VENV)/.run-installed

# The offline country and network data analytics uses (scripts/geo.sh; needs npm, optional).
GEO_DB := $(or $(VAR_DIR),var)/geo/country.mmdb
$(GEO_DB): geo/package-lock.json
	bash scripts/geo.sh || echo "continuing without country data"

run: $(VENV)/.run-installed $(GEO_DB)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py serve

# The same behind the TLS edge (Caddy with its own local CA): README "Trying HTTPS locally".
run-tls: $(VENV)/.run-installed
	bash scripts/run-tls.sh

test: $(VENV)/.dev-installed
	bash scripts/test.sh

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Regenerate both locks from requirements.in and requirements-dev.in (after
# changing a version there); for every platform, with hashes.
LOCK := $(VENV)/bin/uv pip compile --quiet --universal --generate-hashes --python-version 3.11
lock: $(VENV)/.dev-installed
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -o requirements-dev.txt

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Fault injection (issue #9): Redis, the Celery worker, PostgreSQL and a gateway worker
# fail in turn under load, on servers of its own; README "Fault injection".
.PHONY: bench bench-edge
bench: $(VENV)/.run-installed
	bash scripts/bench.sh

# Only the TLS edge's benchmark (bench/edge.py; README "The TLS edge's cost").
bench-edge: $(VENV)/.run-installed
	BENCH=edge bash scripts/bench.sh

.PHONY: faults
faults: $(VENV)/.run-installed
	$(PY) bench/faults.py
