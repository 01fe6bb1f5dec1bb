# Tasks for the site. `make help` lists them; CI runs the very same targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

.PHONY: help
help: ## list the tasks
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: setup
setup: $(STAMP) ## create .venv with the pinned packages (every other task does this first)

.PHONY: serve
serve: $(STAMP) ## set up, then serve the site at http://127.0.0.1:8000 with live reload
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

.PHONY: build
build: $(STAMP) ## strict build into site/ (written only when the whole build succeeds)
	rm -rf site.partial
	$(BIN)/mkdocs build --strict --site-dir site.partial
	rm -rf site && mv site.partial site

.PHONY: build-cold
build-cold: ## strict build with empty execution caches (every block and notebook runs again)
	rm -rf .cache/exec .cache/mkdocs-jupyter
	$(MAKE) build

.PHONY: test
test: $(STAMP) ## set up, then run the whole test suite
	$(BIN)/python -m pytest

.PHONY: clean
clean: ## remove the built site and the caches (keeps .venv)
	rm -rf site site.partial site-offline site-offline.partial .cache .pytest_cache

.PHONY: new-note
new-note: $(STAMP) ## new page + snippet + nav entry: SECTION=张量基础 AREA=tensor-basics NAME=my-note TITLE="标题"
	$(BIN)/python scripts/new_note.py --section "$$SECTION" --area "$$AREA" --name "$$NAME" --title "$$TITLE"

.PHONY: lint
lint: $(STAMP) ## run the checks of .pre-commit-config.yaml on every tracked file (whitespace is fixed in place)
	PRE_COMMIT_HOME=.cache/pre-commit $(BIN)/pre-commit run --all-files

.PHONY: offline
offline: $(STAMP) ## strict build of the file:// variant into site-offline/ (open site-offline/index.html, search works)
	rm -rf site-offline.partial
	$(BIN)/mkdocs build --strict -f mkdocs-offline.yml --site-dir site-offline.partial
	rm -rf site-offline && mv site-offline.partial site-offline

.PHONY: bench
bench: $(STAMP) ## build-speed benchmark: cold, warm, prose edit, snippet edit and the pieces, with ratios
	$(BIN)/python scripts/bench.py

.PHONY: versions
versions: $(STAMP) ## every snippet file on each torch minor release since the notes' (temporary venvs, ~1 h): which outputs change where
	$(BIN)/python scripts/versions.py

tools/lighthouse/node_modules/.package-lock.json: tools/lighthouse/package.json tools/lighthouse/package-lock.json
	npm ci --prefix tools/lighthouse --no-audit --no-fund

.PHONY: lighthouse
lighthouse: build tools/lighthouse/node_modules/.package-lock.json ## Lighthouse (performance, accessibility) on the built site, offline, in chromium
	$(BIN)/python scripts/lighthouse.py
