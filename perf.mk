# perf.mk — performance and resilience (issue 9): included by the Makefile,
# and usable on its own:  make -f perf.mk bench-table
# See docs/performance.md for what each target measures and the numbers.

SHELL          := bash
GO             ?= go
PERF_DIR       ?= build/perf
# How long each benchmark runs (go test -benchtime).
BENCHTIME      ?= 1s
# Bounds of `make stress`.
STRESS_DURATION    ?= 20s
STRESS_REQUESTS    ?= 30000
STRESS_CONCURRENCY ?= 16
STRESS_DOMAINS     ?= 50

.PHONY: bench-table stress hostile perf-tools bench-overview

perf-tools:
	@bash scripts/tools.sh

bench-table: perf-tools ## one table: ststack against baselines, ratio and absolute figures
	@mkdir -p $(PERF_DIR)
	@set -o pipefail; \
	STSTACK_TOOLS=$(CURDIR)/.tools $(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) -timeout=30m -json ./bench/ \
	  | tee $(PERF_DIR)/bench.json | $(GO) run ./bench/cmd/benchtable

stress: ## ststack serve under a bounded mixed load: no errors, nothing lost or counted twice, memory flat
	@mkdir -p $(PERF_DIR)
	$(GO) build -trimpath -o $(PERF_DIR)/ststack ./cmd/ststack
	$(GO) run ./tools/stress --bin $(PERF_DIR)/ststack --duration $(STRESS_DURATION) \
	  --requests $(STRESS_REQUESTS) --concurrency $(STRESS_CONCURRENCY) --domains $(STRESS_DOMAINS)

hostile: perf-tools ## replay the hostile corpus (testdata/hostile) and hostile e-mails, inject store faults
	STSTACK_TOOLS=$(CURDIR)/.tools $(GO) test -count=1 -v -run 'TestServe|TestLambda|TestFaults|TestCorpus|TestMail' ./internal/hostile/

bench-overview: perf-tools ## the dashboard overview's reads at 1,000 domains against dynalite: read units and requests per view
	STSTACK_TOOLS=$(CURDIR)/.tools $(GO) test -run='^$$' -bench=Overview1000 -benchtime=2x -timeout=30m ./internal/store/awsstore/
