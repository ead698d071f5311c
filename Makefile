# Every target creates .venv on first use; nothing is installed outside it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8001
ZGCWATCH_DB ?= data/zgcwatch.db
export ZGCWATCH_DB

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

serve: $(STAMP)
	$(BIN)/python -m store init
	$(BIN)/datasette serve "$(ZGCWATCH_DB)" --host 127.0.0.1 --port $(PORT) \
		--metadata store/metadata.yml --setting sql_time_limit_ms 3000

bench: $(STAMP)
	$(BIN)/python -m benchmarks.crawl
	$(BIN)/python -m benchmarks.dedup
	$(BIN)/python -m benchmarks.daemon

clean:
	rm -rf $(VENV) build *.egg-info
