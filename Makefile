# `make run`: the whole vault on a local AWS emulator. `make test`: the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test check bench monitoring-figures clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: install
	$(BIN)/python scripts/run_local.py

test: install
	sh scripts/ensure_chromium.sh  # the browser tests need Debian's Chromium
	$(BIN)/python -m pytest

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=check API_KEY_PEPPER=check AUDIT_HMAC_KEY=check $(BIN)/mypy tokens vaultsite monitoring
	# The CloudFormation templates (infra/cfn, regions in .cfnlintrc), offline:
	# cfn-lint, the roles stack matches infra/iam, and our policy rules.
	$(BIN)/cfn-lint
	$(BIN)/python infra/cfn_roles.py --check
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_infra_rules.py

bench: install
	$(BIN)/python bench/vault_bench.py

# Re-measure the anomaly detector and record the figures in docs/monitoring.md.
monitoring-figures: install
	$(BIN)/python bench/monitoring_bench.py --write

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-output
