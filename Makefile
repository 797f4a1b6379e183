# Two entry points, both self-installing into .venv: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install clean mutate mutate-layers mutmut browser

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

# Mutation testing of the core modules with mutmut; not part of `make test`. `make mutate`:
# metrics, labels, scores, sampling, optimiser groups (config: pyproject.toml). `make
# mutate-layers`: models/layers.py (shift, SE, TIN, TAM) against the model-layer tests, in a
# copy of the tree under build/ (config: benchmarks/mutmut_layers.toml). One single-threaded
# worker per core. Details: `$(VENV)/bin/mutmut results` in the folder the run used.
MUTMUT := OMP_NUM_THREADS=1 $(abspath $(VENV))/bin/mutmut
COUNT_RESULTS := awk -F': ' '{print $$2}' | sort | uniq -c

mutmut: $(STAMP)
	$(PY) -m pip install --quiet 'mutmut==3.8.1'

mutate: mutmut
	rm -rf mutants
	$(MUTMUT) run --max-children 2 || true
	$(MUTMUT) results --all true | $(COUNT_RESULTS)

mutate-layers: mutmut
	rm -rf build/mutate-layers && mkdir -p build/mutate-layers
	git ls-files | tar -cf - -T - | tar -xf - -C build/mutate-layers
	cp benchmarks/mutmut_layers.toml build/mutate-layers/pyproject.toml
	cd build/mutate-layers && { $(MUTMUT) run --max-children 2 || true; } && \
	  $(MUTMUT) results --all true | $(COUNT_RESULTS)
