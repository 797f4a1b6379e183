# Two entry points, both self-installing into .venv: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install clean mutate browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/microaction demo --out runs/demo

# The web app's tests drive a real Chromium (Debian's package; Playwright cannot download one
# here). As root with apt-get it is installed when missing; otherwise those tests skip, loudly.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "warning: chromium is not installed; the browser tests will be skipped"; fi; }

test: $(STAMP) browser
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
