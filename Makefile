# Tasks for the site. `make help` lists them; CI runs the very same targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The notes' environment (torch 2.3): only the snippets run in it, inside the sandbox (hooks/exec_isolated.py).
NOTES_VENV := .venv-notes
NOTES_STAMP := $(NOTES_VENV)/.installed
export NO_MKDOCS_2_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

# Locked, hashed requirements (README.md, 依赖与锁定): each environment is a hashed lock of PyPI packages
# plus a lock of its PyTorch packages, which come from one index only, never mixed with another. By default
# that is PyPI (the only index some machines reach; its Linux wheels are CUDA builds: pytorch-*-pypi.txt);
# with PYTORCH_INDEX_URL set (the GitHub workflows set PyTorch's CPU index) it is that index (pytorch-*-cpu.txt).
PYTORCH_INDEX_URL ?=
# What `make setup` puts into .venv: dev (build, tests and lint: the default) or current (only what the build
# needs: the Pages workflow).
LOCK ?= dev
pytorch_lock = requirements/pytorch-$(1)-$(if $(PYTORCH_INDEX_URL),cpu,pypi).txt

# $(call install,VENV,LOCK,ENVIRONMENT): create VENV, install LOCK (hashes required), then the ENVIRONMENT's
# PyTorch packages from their index; `pip check` proves the two parts fit together.
define install
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --require-hashes --no-deps -r $(2)
	$(1)/bin/python -m pip install --quiet --no-deps $(if $(PYTORCH_INDEX_URL),--index-url $(PYTORCH_INDEX_URL)) \
		-r $(call pytorch_lock,$(3))
	$(1)/bin/python -m pip check
	touch $(1)/.installed
endef

$(STAMP): requirements/$(LOCK).txt $(call pytorch_lock,current)
	$(call install,$(VENV),requirements/$(LOCK).txt,current)

$(NOTES_STAMP): requirements/notes.txt $(call pytorch_lock,notes)
	$(call install,$(NOTES_VENV),requirements/notes.txt,notes)

.PHONY: help
help: ## list the tasks
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: setup
setup: $(STAMP) $(NOTES_STAMP) ## create .venv and .venv-notes with the pinned packages (every other task does this first)

.PHONY: serve
serve: $(STAMP) $(NOTES_STAMP) ## set up, then serve the site at http://127.0.0.1:8000; an edit rebuilds only what it changed
	$(BIN)/mkdocs serve --dirty --dev-addr 127.0.0.1:8000

.PHONY: build
build: $(STAMP) $(NOTES_STAMP) ## strict build into site/ (written only when the whole build succeeds)
	@mkdir -p .cache
	flock .cache/build.lock $(MAKE) --no-print-directory build-locked

# Two builds in one checkout: the second waits for the first (flock), so neither removes the other's site.
.PHONY: build-locked
build-locked:
	rm -rf site.partial
	$(BIN)/mkdocs build --strict --site-dir site.partial
	rm -rf site && mv site.partial site

.PHONY: build-cold
build-cold: ## strict build with empty execution caches (every block and notebook runs again)
	rm -rf .cache/exec .cache/mkdocs-jupyter
	$(MAKE) build

.PHONY: test
test: $(STAMP) $(NOTES_STAMP) ## set up, then run the whole test suite
	$(BIN)/python -m pytest --numprocesses=auto --dist=loadfile

.PHONY: check
check: $(STAMP) ## before a pull request (about a minute): lint, strict build, and the tests of the pages you changed
	$(BIN)/python scripts/check.py

# uv writes the locks: the same resolution wherever it runs (Linux x86-64, CPython 3.11, the CI machines).
UV ?= $(BIN)/uv
LOCK_FLAGS := --quiet --generate-hashes --python-version 3.11.7 --python-platform x86_64-manylinux_2_28
PYPI_ONLY := --excludes requirements/exclude-cuda.txt --no-emit-package torch --no-emit-package torchvision

.PHONY: lock
lock: ## re-lock requirements/*.txt after editing requirements/*.in (PyPI; PYTORCH_INDEX_URL=… for the CPU locks)
	$(UV) pip compile $(LOCK_FLAGS) $(PYPI_ONLY) requirements/current.in -o requirements/current.txt
	$(UV) pip compile $(LOCK_FLAGS) $(PYPI_ONLY) requirements/dev.in -o requirements/dev.txt
	$(UV) pip compile $(LOCK_FLAGS) $(PYPI_ONLY) requirements/notes.in -o requirements/notes.txt
	$(UV) pip compile $(LOCK_FLAGS) -c requirements/current.txt requirements/pytorch-current.in \
		-o requirements/pytorch-current-pypi.txt
	$(UV) pip compile $(LOCK_FLAGS) -c requirements/notes.txt requirements/pytorch-notes.in \
		-o requirements/pytorch-notes-pypi.txt
	$(if $(PYTORCH_INDEX_URL),$(UV) pip compile $(LOCK_FLAGS) --no-deps --index-url $(PYTORCH_INDEX_URL) \
		requirements/pytorch-current.in -o requirements/pytorch-current-cpu.txt)
	$(if $(PYTORCH_INDEX_URL),$(UV) pip compile $(LOCK_FLAGS) --no-deps --index-url $(PYTORCH_INDEX_URL) \
		requirements/pytorch-notes.in -o requirements/pytorch-notes-cpu.txt)

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
offline: $(STAMP) $(NOTES_STAMP) ## strict build of the file:// variant into site-offline/ (open site-offline/index.html, search works)
	@mkdir -p .cache
	flock .cache/offline.lock sh -c 'rm -rf site-offline.partial && $(BIN)/mkdocs build --strict -f mkdocs-offline.yml --site-dir site-offline.partial && rm -rf site-offline && mv site-offline.partial site-offline'

.PHONY: bench
bench: $(STAMP) $(NOTES_STAMP) ## build-speed benchmark: cold, warm, prose edit, snippet edit and the pieces, with ratios
	$(BIN)/python scripts/bench.py

.PHONY: versions
versions: $(STAMP) ## every snippet file on each torch minor release since the notes' (temporary venvs, ~1 h): which outputs change where
	$(BIN)/python scripts/versions.py

tools/lighthouse/node_modules/.package-lock.json: tools/lighthouse/package.json tools/lighthouse/package-lock.json
	npm ci --prefix tools/lighthouse --no-audit --no-fund

.PHONY: lighthouse
lighthouse: build tools/lighthouse/node_modules/.package-lock.json ## Lighthouse (performance, accessibility) on the built site, offline, in chromium
	$(BIN)/python scripts/lighthouse.py
