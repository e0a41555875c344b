# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test bench lint lock migrate superuser services clean compose-check

# The virtualenv is rebuilt whenever the lock files change.
$(VENV)/.installed: requirements/base.lock requirements/dev.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	touch $@

venv: $(VENV)/.installed

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput

## Run web + Celery worker + beat in the foreground (Ctrl-C stops all three).
run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/honcho start --no-prefix -f Procfile 2>&1 || [ $$? -eq 130 ]

## The whole test suite against a real PostgreSQL, Redis and Celery worker.
test: $(VENV)/.installed
	scripts/ensure-services.sh
	scripts/ensure-debian-tool.sh $${CHROMIUM_PATH:-/usr/bin/chromium} chromium "the browser tests"
	scripts/ensure-debian-tool.sh docker-compose docker-compose "the docker-compose.yml check"
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

## Benchmarks (docs/performance.md); bench/intake's load generator is wrk, installed from Debian when missing.
bench: $(VENV)/.installed
	scripts/ensure-services.sh
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "wrk is missing: installing the Debian package wrk"; \
	    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; \
	  else \
	    echo "wrk is missing: install the Debian package 'wrk' (apt-get install wrk, as root); bench/intake needs it"; \
	  fi; }
	$(BIN)/python -m bench.run_all

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Re-pin the dependencies after editing requirements/*.in.
lock:
	$(BIN)/pip install --quiet uv
	cd requirements && ../$(BIN)/uv pip compile --python-version 3.11 --generate-hashes base.in -o base.lock
	cd requirements && ../$(BIN)/uv pip compile --python-version 3.11 --generate-hashes dev.in -o dev.lock

compose-check:
	docker-compose config -q

clean:
	rm -rf $(VENV) var .pytest_cache
