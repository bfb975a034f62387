# Two commands on a fresh clone: `make demo` (the main job) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MEPHISTO_STAMP := $(VENV)/.installed-mephisto

.PHONY: demo test lint bench clean

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

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
