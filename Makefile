# Every target creates .venv itself on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test bench serve record typecheck redis-server clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

# The Redis cache tests run against a real redis-server started by the test session.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server from the OS packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

demo: $(STAMP)
	$(VENV)/bin/kaizen demo

# Type checks first: the three packages ship py.typed, so their hints are part of the API.
test: $(STAMP) redis-server
	$(PY) -m mypy
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m benchmarks

serve: $(STAMP)
	$(VENV)/bin/kaizen serve --host 127.0.0.1 --port 8000

# Re-record the VCR cassettes from a real `kaizen serve` and the local vendor stand-ins.
record: $(STAMP) redis-server
	$(PY) -m pytest --record-mode=rewrite

typecheck: $(STAMP)
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
