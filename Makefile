# Two entry points, both self-installing into .venv: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Until the training demo lands, the main job generates a synthetic MA-52 set, validates it,
# draws a contact sheet and lists the models.
demo: $(STAMP)
	$(VENV)/bin/microaction synth runs/demo/data --clips-per-class 4 --size 112 --frames 32
	$(VENV)/bin/microaction check runs/demo/data -q
	$(VENV)/bin/microaction contact-sheet runs/demo/data --out runs/demo/contact_sheet.png
	$(VENV)/bin/microaction models

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs
