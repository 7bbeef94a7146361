# The commands a newcomer needs; .ci/run uses the same `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: install test lint typecheck demo bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# Bytecode ahead of time: with PYTHONDONTWRITEBYTECODE set, every CLI run would otherwise
	@# compile the project's modules again (30 ms of each submit). Python recompiles stale ones.
	$(PY) -m compileall -q trunks producer jobs trunkctl worker pbxsim
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q

demo: install
	@echo "not yet: 'trunkctl demo' arrives with the setup issue; see README.md, 'Try it by hand'."

bench: install
	$(PY) bench/validate.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
