# LeadTrack: `make run` to try it, `make test` to check it. Nothing else to install by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml package.json package-lock.json | cksum | cut -d' ' -f1)
VENDOR := leadtrack/static/vendor

.PHONY: run test bench bench-full bench-alerts bench-assign bench-deadlines install assets browser lint format clean

run: install assets
	$(BIN)/leadtrack db upgrade
	$(BIN)/leadtrack seed-demo
	@echo ""
	@echo "  LeadTrack is starting at http://127.0.0.1:5000  (web, worker and scheduler; Ctrl-C stops them all)"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" HOST=127.0.0.1 $(BIN)/honcho start --port 5000 -f Procfile

test: install assets browser
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/list_bench.py --postgres-leads 100000 --sqlite-leads 50000 --runs 15
	$(BIN)/python bench/export_bench.py --n 100000
	$(BIN)/python bench/intake_bench.py --requests 1000

# The issue's sizes: a million leads on PostgreSQL (about 15 minutes on 2 cores).
bench-full: install
	$(BIN)/python bench/list_bench.py --postgres-leads 1000000 --sqlite-leads 200000
	$(BIN)/python bench/export_bench.py --n 1000000 --postgres
	$(BIN)/python bench/intake_bench.py --rounds 2
	$(BIN)/python bench/alerts.py

# Alert delivery: 1,000 e-mails by 2 RQ workers to a loopback SMTP server (about 7 minutes).
bench-alerts: install
	$(BIN)/python bench/alerts.py

# Assignment rules: the decision per lead with 50 rules and 200 users, intake with rules on vs
# off and with the proposed fixes, on SQLite then PostgreSQL (about 4 minutes).
bench-assign: install
	$(BIN)/python bench/assign.py --proposed
	$(BIN)/python bench/assign.py --postgres --proposed

# Response deadlines: 10,000 leads due in the same 60 s, escalated by 2 RQ workers and the
# sweep, with and without Redis flushed (PostgreSQL and Redis db 9 on 127.0.0.1). About 20
# minutes on 2 cores: intake of 2 x 10,000 leads takes ~10 of them.
bench-deadlines: install
	$(BIN)/python bench/deadlines.py

install: $(STAMP)

$(STAMP):
	bash scripts/ensure-system.sh python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

assets: $(VENDOR)/htmx.min.js

$(VENDOR)/htmx.min.js: package.json package-lock.json
	bash scripts/ensure-system.sh npm
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-sse/dist/sse.min.js \
	   node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/

browser:
	bash scripts/ensure-system.sh chromium

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache
