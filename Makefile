# ststack — see README.md. Every target works on a fresh clone: tools the
# tests need are installed project-locally into .tools/ by scripts/tools.sh.

SHELL        := bash
GO           ?= go
CONFIG       ?= ststack.example.yaml
ADDR         ?= 127.0.0.1:8443
DATA         ?= .ststack-data
LAMBDAS      := policy tlsrpt checker mailin reconciler
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
PKGS         := ./...
FUZZTIME     ?= 10s
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: all build ststack lambdas lambdas-amd64 tools test test-go run bench bench-go fuzz lint clean help

all: build

help: ## list the targets
	@grep -hE '^[a-z][a-zA-Z0-9_-]*:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

build: ststack lambdas ## build the CLI (bin/ststack) and every Lambda bootstrap (arm64)

ststack: ## build the CLI into bin/ststack
	$(GO) build -trimpath -o bin/ststack ./cmd/ststack

lambdas: ## build build/lambda/<fn>/bootstrap for linux/arm64
	@for fn in $(LAMBDAS); do \
	  if [ -f functions/$$fn/main.go ]; then \
	    GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o build/lambda/$$fn/bootstrap ./functions/$$fn || exit 1; \
	  else echo "lambdas: functions/$$fn is not there yet"; mkdir -p build/lambda/$$fn; fi; \
	done

lambdas-amd64: ## the same bootstraps for linux/amd64 (for the Runtime Interface Emulator on this machine)
	@for fn in $(LAMBDAS); do \
	  if [ -f functions/$$fn/main.go ]; then \
	    GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o build/lambda-amd64/$$fn/bootstrap ./functions/$$fn || exit 1; \
	  fi; \
	done

tools: ## install dynalite, the Lambda RIE and staticcheck into .tools/
	@bash scripts/tools.sh

test: tools test-go infra-test ## every test: Go packages (with the AWS stand-ins) and the CDK app

test-go: lambdas-amd64
	STSTACK_TOOLS=$(CURDIR)/.tools STSTACK_LAMBDA_DIR=$(CURDIR)/build/lambda-amd64 $(GO) test -count=1 $(PKGS)

run: ststack ## serve everything locally with the example organisation
	@bash scripts/run.sh bin/ststack $(CONFIG) $(ADDR) $(DATA)

bench: bench-table ## one table: each hot path against a baseline measured in the same run (docs/performance.md)

bench-go: ## every package's own benchmarks, with allocations
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

fuzz: ## run every fuzz target briefly (FUZZTIME each)
	@bash scripts/fuzz.sh $(FUZZTIME)

lint: tools ## go vet and staticcheck
	$(GO) vet $(PKGS)
	.tools/bin/staticcheck $(PKGS)

clean: ## remove build outputs (not .tools or data)
	rm -rf bin build cdk.out

include perf.mk

ifneq ($(wildcard infra/infra.mk),)
include infra/infra.mk
lint: infra-lint cfn-lint
else
.PHONY: infra-test synth diff deploy destroy
infra-test synth diff deploy destroy:
	@echo "$@: the CDK app (infra/) is not there yet"
endif
