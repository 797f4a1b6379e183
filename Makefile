# Two entry points, both self-installing into .venv: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install clean mutate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/microaction demo --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs

# Mutation testing of the core modules (layers, metrics, labels, scores, sampling, optimiser
# groups) with mutmut; not part of `make test`. Results: `$(VENV)/bin/mutmut results`.
mutate: $(STAMP)
	$(PY) -m pip install --quiet 'mutmut==3.8.1'
	rm -rf mutants
	$(VENV)/bin/mutmut run || true
	$(VENV)/bin/mutmut results --all true | awk -F': ' '{print $$2}' | sort | uniq -c
