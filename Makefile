# One-command set-up on a fresh machine with only python3.
# torch goes in first from the pinned CPU wheel so pip never resolves a CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast snapshot-update bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev,h5]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/mase-tui

test: $(STAMP)
	$(BIN)/python -m pytest tests

snapshot-update: $(STAMP)
	$(BIN)/python -m pytest tests/snapshots --snapshot-update

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check core mase_tui tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
