# chengxin — the two commands on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export CHENGXIN_HOME ?= $(CURDIR)/.chengxin
# No telemetry, no network at run time.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true

DEMO_CITY := $(CHENGXIN_HOME)/city
DEMO_ENTERPRISES ?= 20000
DEMO_INDIVIDUALS ?= 50000
DEMO_MONTHS ?= 36
DEMO_SEED ?= 2026
DEMO_APP_PORT ?= 8501
DEMO_API_PORT ?= 8000

.PHONY: setup demo test docs screenshots benchmark clean

setup: $(VENV)/.installed

# The platform itself: what `make demo` needs.
$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --upgrade pip
	$(BIN)/pip install --quiet --quiet -c constraints.txt -e .
	@touch $@

# The test tools and Spark (the scale-out engine is tested for parity, not needed by the demo).
# openapi-python-client generates the API's client in the tests, as a bank's integration team
# would: a tool in a venv of its own (it pins typer below the CLI's own).
CLIENT_GENERATOR := $(VENV)/client-generator
$(VENV)/.installed-test: $(VENV)/.installed constraints-client-generator.txt
	$(BIN)/pip install --quiet --quiet -c constraints.txt -e ".[test,spark]"
	$(PYTHON) -m venv $(CLIENT_GENERATOR)
	$(CLIENT_GENERATOR)/bin/pip install --quiet --quiet -r constraints-client-generator.txt
	@touch $@

demo: setup
	@if [ ! -f "$(DEMO_CITY)/_truth/summary.json" ]; then \
		rm -rf "$(DEMO_CITY)"; \
		echo "$(BIN)/chengxin generate --out $(DEMO_CITY) --enterprises $(DEMO_ENTERPRISES) --individuals $(DEMO_INDIVIDUALS) --months $(DEMO_MONTHS) --end last --seed $(DEMO_SEED)"; \
		$(BIN)/chengxin generate --out "$(DEMO_CITY)" --enterprises $(DEMO_ENTERPRISES) \
			--individuals $(DEMO_INDIVIDUALS) --months $(DEMO_MONTHS) --end last --seed $(DEMO_SEED); \
	else echo "using the city already generated in $(DEMO_CITY)"; fi
	$(BIN)/chengxin ingest "$(DEMO_CITY)"
	$(BIN)/chengxin coverage --out "$(CHENGXIN_HOME)/published/coverage.csv"
	$(BIN)/chengxin features catalogue
	$(BIN)/chengxin features --as-of latest
	$(BIN)/chengxin train
	$(BIN)/chengxin promote
	$(BIN)/chengxin score --as-of latest
	$(BIN)/chengxin publish criteria
	$(BIN)/chengxin publish ratings
	$(BIN)/chengxin explain --all --as-of latest
	$(BIN)/chengxin warn --as-of latest --out "$(CHENGXIN_HOME)/published/alerts.csv"
	$(BIN)/chengxin supervise classify --as-of latest
	$(BIN)/chengxin supervise plan --month next --share 0.05 --seed $(DEMO_SEED) --out "$(CHENGXIN_HOME)/published/inspection-plan.csv"
	$(BIN)/chengxin publish dashboard
	@$(BIN)/chengxin keys issue --institution "示范银行 Demo Bank" --role lender --rate 6000
	@$(BIN)/python -c "from chengxin import reports; reports.fonts_found() or print('note: no CJK font for PDF credit reports: apt-get install fonts-noto-cjk (HTML reports need none)')"
	@mkdir -p "$(CHENGXIN_HOME)/logs"
	@echo "dashboard: http://127.0.0.1:$(DEMO_APP_PORT)   credit services API: http://127.0.0.1:$(DEMO_API_PORT) (docs: /docs; its log: $(CHENGXIN_HOME)/logs/api.log)"
	@$(BIN)/chengxin users
	$(BIN)/chengxin serve --port $(DEMO_API_PORT) > "$(CHENGXIN_HOME)/logs/api.log" 2>&1 & api=$$!; trap 'kill $$api 2>/dev/null' EXIT INT TERM; \
		$(BIN)/chengxin app --no-refresh --port $(DEMO_APP_PORT)

test: $(VENV)/.installed-test
	$(BIN)/pytest -q --nbmake tests notebooks

docs: setup
	$(BIN)/python -c 'from pathlib import Path; from chengxin import docs; changed = docs.refresh_docs(Path(".")); print("updated: " + ", ".join(map(str, changed)) if changed else "README and docs/ current")'

# The README's and docs/reports.md's pictures, from the workspace `make demo` built.
screenshots: $(VENV)/.installed-test
	$(BIN)/python docs/screenshots.py

# The public scorecard recipes the bring-your-own benchmark compares with, and the credit data they ship.
$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(BIN)/pip install --quiet --quiet -c constraints.txt -e ".[test,spark,bench]"
	@touch $@

benchmark: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/ingest_benchmark.py --keep
	$(BIN)/python benchmarks/features_benchmark.py --home benchmarks/work/home
	$(BIN)/python benchmarks/rating_benchmark.py --home benchmarks/work/home
	$(BIN)/python benchmarks/explain_benchmark.py --home benchmarks/work/home
	$(BIN)/python benchmarks/model_quality.py
	$(BIN)/python benchmarks/scorecard_selection.py
	$(BIN)/python benchmarks/warn_benchmark.py
	$(BIN)/python benchmarks/byo_benchmark.py
	$(BIN)/python benchmarks/dashboard_benchmark.py --home benchmarks/work/home

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
