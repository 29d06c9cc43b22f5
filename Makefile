# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SAMPLES := data/samples

.PHONY: install demo test bench bench-dask samples clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Audit the committed sample world and write the reports to out/demo/.
demo: $(STAMP)
	$(BIN)/linkage audit --residents $(SAMPLES)/residents.csv --bank $(SAMPLES)/bank.csv \
	    --insurance $(SAMPLES)/insurance.csv --out out/demo
	$(BIN)/linkage evaluate --truth $(SAMPLES)/truth.csv --findings out/demo/findings.csv
	@echo "report: out/demo/report.html"

## Run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

## Benchmarks (not tests): throughput figures printed as a table (each audit size run 3 times, median shown).
bench: $(STAMP)
	$(BIN)/python bench/run.py

## The dask engine on a 10,000,000-resident world of Parquet parts: 2 workers, 5 GiB each
## (RESIDENTS=1000000 for a smaller run).
RESIDENTS ?= 10000000
bench-dask: $(STAMP)
	$(BIN)/python bench/dask_run.py --residents $(RESIDENTS)

## Regenerate the committed sample world (fixed seed: output is identical).
samples: $(STAMP)
	$(BIN)/linkage generate --out $(SAMPLES) --households 120 --seed 42 --rate-scale 20

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
