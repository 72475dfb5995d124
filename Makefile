# Two entry points: `make run` (a working node on the embedded default) and `make test`.
# Both bootstrap what they need (venv, pip, npm) and are idempotent: stamps skip work already done.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test deps lint format bench artifacts gas clean

# slither-analyzer pins web3 < 8 and the node runs on web3 8: the analyser gets a virtualenv of its own.
SLITHER_VENV := .venv-slither
SLITHER_STAMP := $(SLITHER_VENV)/.installed
SLITHER_VERSION := 0.11.6

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[node,dev]'
	@touch $@

# `npm install --no-save` rather than `npm ci`: the lock pins every version, but the registries reachable here
# serve only the linux-x64 build of Anvil's per-platform packages, and `npm ci` refuses a lock that lacks the
# others. --no-save installs exactly the locked versions and leaves the lock untouched.
$(NPM_STAMP): package.json package-lock.json
	npm install --no-save --no-audit --no-fund --loglevel=error
	@touch $@

# The verifier and registry pages are tested in headless Chromium, from Debian's package (playwright's own
# browser download would reach outside the package registries).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing: install Debian's chromium package to run the browser tests"; fi

$(SLITHER_STAMP):
	@test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet slither-analyzer==$(SLITHER_VERSION)
	@touch $@

# `credreg db backup` drives pg_dump for PostgreSQL, and its test restores with pg_restore / psql (Debian's client).
PG_DUMP := /usr/bin/pg_dump
$(PG_DUMP):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null; \
	else echo "pg_dump is missing: install Debian's postgresql-client package to back up PostgreSQL"; fi

# The PKCS#11 key backend is tested against a real SoftHSM2 token (Debian's softhsm2: softhsm2-util and the library).
SOFTHSM := /usr/lib/softhsm/libsofthsm2.so
$(SOFTHSM):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 >/dev/null; \
	else echo "softhsm2 is missing: install Debian's softhsm2 package to run the HSM tests"; fi

# The learner's PDF is read back in its tests as a person would: rendered with poppler's pdftoppm (and pdftotext),
# its QR code decoded with zbarimg.
PDFTOPPM := /usr/bin/pdftoppm
$(PDFTOPPM):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
	else echo "pdftoppm is missing: install Debian's poppler-utils package to test the learner's PDF"; fi

ZBARIMG := /usr/bin/zbarimg
$(ZBARIMG):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zbar-tools >/dev/null; \
	else echo "zbarimg is missing: install Debian's zbar-tools package to read the PDF's QR code in tests"; fi

deps: $(PY_STAMP) $(NPM_STAMP)

run: deps
	$(BIN)/credreg dev

# The gates: lint and format (ruff), types (mypy: strict on anchoring/), import direction (import-linter), and
# slither on the contracts (no high or medium finding left unexplained in docs/security.md).
lint: deps $(SLITHER_STAMP)
	$(BIN)/ruff check anchoring node api scripts tests
	$(BIN)/ruff format --check anchoring node api scripts tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/slither_check.py

format: deps
	$(BIN)/ruff check --fix anchoring node api scripts tests
	$(BIN)/ruff format anchoring node api scripts tests

test: deps $(CHROMIUM) $(PG_DUMP) $(SOFTHSM) $(PDFTOPPM) $(ZBARIMG) lint
	$(BIN)/python -m pytest -ra

# Benchmarks print figures and same-run baselines (see README, "Benchmarks"); they are not tests.
bench: deps $(WRK)
	$(BIN)/python scripts/bench_merkle.py
	$(BIN)/python scripts/bench_verify.py
	$(BIN)/python scripts/bench_ingest.py
	$(BIN)/python scripts/bench_serve.py
	$(BIN)/python scripts/bench_txsign.py

# The proof-serving benchmark drives the servers with wrk, from Debian's package.
WRK := /usr/bin/wrk
$(WRK):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else echo "wrk is missing: install Debian's wrk package to run scripts/bench_serve.py"; fi

# Rebuilds contracts/ with the npm solc (no compiler download) and refreshes the artifacts
# shipped inside the anchoring package.
artifacts: deps
	$(BIN)/python scripts/build_artifacts.py

gas: deps
	$(BIN)/python scripts/gas_report.py

clean:
	rm -rf $(VENV) $(SLITHER_VENV) node_modules cache hh-artifacts
