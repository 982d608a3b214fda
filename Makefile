# Quick start: `make demo` and `make test`; each sets itself up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint chromium screenshots bench serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/paybot demo

lint: setup
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy

# Browser tests drive Debian's Chromium: installed here when missing and apt is usable as root;
# anywhere else they are skipped with the reason, and the build goes on.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "chromium could not be installed: the browser tests will be skipped"; \
	  else echo "no /usr/bin/chromium and no apt as root: the browser tests will be skipped"; fi; }

test: lint chromium
	$(BIN)/pytest -q

# The pictures in README.md: the browser test, saving its screenshots to docs/screenshots.
screenshots: setup chromium
	-@[ "$$(id -u)" != 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji >/dev/null 2>&1
	PAYBOT_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser

bench: setup
	$(BIN)/python bench/run.py

serve: setup
	$(BIN)/paybot serve

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache paybot.db* demo-data
