# Two commands on a fresh clone: `make demo` (the main job) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MEPHISTO_STAMP := $(VENV)/.installed-mephisto
# The oldest SQLAlchemy taskdb supports, read from pyproject.toml: the suite runs on it too.
OLDEST := .venv-oldest
OLDEST_SQLALCHEMY := $(shell sed -n 's/.*"SQLAlchemy>=\([0-9.]*\),.*/\1/p' pyproject.toml)

.PHONY: demo test test-oldest lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Only the suite needs Mephisto (its own tests run on taskdb), and the torch it pulls in.
$(MEPHISTO_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,mephisto]'
	touch $(MEPHISTO_STAMP)

# Brings both embedded stores to head through Alembic, then runs the end-to-end demo.
demo: $(STAMP)
	$(BIN)/taskdb demo

# Lint, type-check, then the whole suite (server engines run when they can be reached;
# Mephisto's own database tests run against taskdb.integrations.mephisto on every engine);
# line coverage of src/taskdb must stay at 95% or more.
test: $(MEPHISTO_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n auto --cov=src/taskdb --cov-report=term --cov-fail-under=95 $(PYTEST_ARGS)

$(OLDEST)/.installed: pyproject.toml
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/pip install --quiet --upgrade pip
	$(OLDEST)/bin/pip install --quiet -e '.[test,mephisto]' 'SQLAlchemy==$(OLDEST_SQLALCHEMY)'
	touch $@

# The suite on that SQLAlchemy (its soak test shortened); lint and types run in `make test`.
test-oldest: $(OLDEST)/.installed
	$(OLDEST)/bin/python -c 'import sqlalchemy; print("SQLAlchemy", sqlalchemy.__version__)'
	TASKDB_SOAK_SECONDS=10 $(OLDEST)/bin/pytest -n auto $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(OLDEST) .pytest_cache .mypy_cache .ruff_cache .hypothesis
