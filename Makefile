# `make demo` and `make test` work on a fresh machine with only Python installed.
# The venv uses a Python 3.12+ that actually runs (several test peers need it), found via
# pyenv where present, else python3.13 / python3.12 / python3.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

define find_python
for v in 3.12 3.13; do \
  if command -v pyenv >/dev/null 2>&1; then \
    p=$$(pyenv versions --bare 2>/dev/null | grep -E "^$$v(\.[0-9]+)?$$" | sort -V | tail -1); \
    if [ -n "$$p" ] && PYENV_VERSION=$$p pyenv exec python$$v -c 'import sys' >/dev/null 2>&1; then \
      echo "$$(PYENV_VERSION=$$p pyenv which python$$v)"; exit 0; fi; fi; \
  if command -v python$$v >/dev/null 2>&1 && python$$v -c 'import sys' >/dev/null 2>&1; then echo python$$v; exit 0; fi; \
done; echo python3
endef

.PHONY: demo test docs bench lint venv

$(VENV)/.created:
	@PYBIN=$$( $(find_python) ); echo "creating $(VENV) with $$PYBIN ($$($$PYBIN --version))"; \
	$$PYBIN -m venv $(VENV) && $(PY) -m pip install -q --upgrade pip && touch $@

# constraints.txt pins the versions the suite is tested with (pip's resolver otherwise may
# backtrack into ancient, unbuildable releases); regenerate with `pip freeze` after upgrades.
$(VENV)/.installed-base: $(VENV)/.created pyproject.toml constraints.txt
	$(PY) -m pip install -q -c constraints.txt -e ".[dask,cli]"
	@touch $@

$(VENV)/.installed-test: $(VENV)/.created pyproject.toml constraints.txt tests/azurite/package-lock.json
	$(PY) -m pip install -q -c constraints.txt -e ".[test,docs]"
	@# Azurite (Azure Storage emulator, pinned in tests/azurite/package-lock.json) for the az:// tests; skipped without npm
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/azurite --no-audit --no-fund --loglevel=error \
	  || echo "Azurite could not be installed: tests/store/test_obstore_azure.py will be skipped"; fi
	@touch $@ $(VENV)/.installed-base

venv: $(VENV)/.installed-test

demo: $(VENV)/.installed-base
	$(PY) -m zarrconv.demo demo-data

test: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 --dist loadgroup -q tests

docs: $(VENV)/.installed-test
	$(PY) -m mkdocs build --strict

bench: $(VENV)/.installed-test
	$(PY) benchmarks/run.py

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
