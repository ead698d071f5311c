# Every target creates .venv on first use; nothing is installed outside it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8001

.PHONY: install test lint demo run serve bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	$(BIN)/python -m tests.demo --port $(PORT)

run: $(STAMP)
	$(BIN)/python scheduler.py

# Datasette on the store named by ZGCWATCH_DB, 127.0.0.1 only (`python -m store serve --host` to open it up).
serve: $(STAMP)
	$(BIN)/python -m store serve --port $(PORT)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.crawl
	$(BIN)/python -m benchmarks.dedup
	$(BIN)/python -m benchmarks.daemon
	$(BIN)/python -m benchmarks.reprocess

clean:
	rm -rf $(VENV) build *.egg-info
