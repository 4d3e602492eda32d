# The README's two commands: `make demo` and `make test`. Each creates .venv when missing and installs
# the project with everything it needs, so a fresh clone on a new machine needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tiewatch demo --out tiewatch-demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

# pytest exits 5 when it collected no test: that is a failure to test, not a pass.
test: lint
	$(BIN)/python -m pytest; code=$$?; \
	  if [ $$code -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$code

bench: $(STAMP)
	$(BIN)/python bench/ingest.py --memory-events 20000000
	$(BIN)/python bench/detect.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
