# The README's two commands: `make demo` and `make test`. Each creates .venv when missing and installs
# the project with everything it needs, so a fresh clone on a new machine needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean browser java

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

# The browser tests need Chromium (Debian's package; it fetches nothing at run time).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing Chromium for the browser tests (apt-get, needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The Spark tests need a Java runtime (Spark 4 runs on Java 17+): Debian's package when missing.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing a Java runtime for the Spark tests (apt-get, needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }

$(VENV)/.spark: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,spark,spark-connect]'
	@touch $@

# pytest exits 5 when it collected no test: that is a failure to test, not a pass.
test: lint browser java $(VENV)/.spark
	$(BIN)/python -m pytest; code=$$?; \
	  if [ $$code -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$code

bench: $(STAMP)
	$(BIN)/python bench/ingest.py --memory-events 20000000
	$(BIN)/python bench/detect.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
