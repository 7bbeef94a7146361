# The commands a newcomer needs; .ci/run uses the same `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# Every install comes from the lock files (exact versions, hashes checked): `make lock` refreshes
# them from pyproject.toml, `make upgrade` moves every pin to the newest release and tests it.
LOCK := requirements/dev.txt
COMPILE = $(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --quiet

.PHONY: install test lint typecheck demo bench lock upgrade clean

$(VENV)/.installed: $(LOCK) pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@# Bytecode ahead of time: every CLI run would otherwise compile the project's modules again.
	$(PY) -m compileall -q core celery_ext rollout trunks producer jobs trunkctl worker pbxsim api
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Tests mostly wait (on PBX latencies, worker start-ups): four processes, even on two cores.
TEST_PROCESSES ?= 4

test: lint typecheck
	$(BIN)/pytest -q -n $(TEST_PROCESSES)

demo: install
	$(BIN)/trunkctl demo

bench: install
	$(PY) bench/validate.py

lock: install
	$(COMPILE) -o requirements/main.txt
	$(COMPILE) --extra dev -o requirements/dev.txt

# A deliberate upgrade of every pin (what a Dependabot pull request would be): the new lock
# files must pass the whole suite before they are committed.
upgrade: install
	$(COMPILE) --upgrade -o requirements/main.txt
	$(COMPILE) --upgrade --extra dev -o requirements/dev.txt
	rm -f $(VENV)/.installed
	$(MAKE) test

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
