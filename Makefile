# Zvonar: every target installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test bench serve clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/zvonar demo

test: install
	$(BIN)/pytest

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

serve: install
	$(BIN)/zvonar serve

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
