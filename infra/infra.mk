# The CDK app (infra/): synth, diff, deploy, destroy, its tests and the
# pinned cdk CLI. Included by the root Makefile, so paths are relative to
# the repository root. CONFIG is the organisation file.
#
#   make synth                      offline, no AWS credentials: cdk.out/
#   make diff | deploy | destroy    need AWS credentials; CDK_ARGS passes
#                                   flags on, e.g. CDK_ARGS='--require-approval never'
#   make deploy BOOTSTRAP=no        stop (with the command) instead of
#                                   bootstrapping a region that needs it
#   make cfn-lint                   cfn-lint on cdk.out, when it is installed

GO          ?= go
CONFIG      ?= ststack.example.yaml
CDK_VERSION := 2.1148.1
CDK_TOOLS   := .tools/cdk
CDK         := $(CURDIR)/$(CDK_TOOLS)/node_modules/.bin/cdk
CDK_STAMP   := $(CDK_TOOLS)/aws-cdk-$(CDK_VERSION).stamp
CDK_OUT     := $(CURDIR)/cdk.out
CDK_ARGS    ?=
# Quiet and offline: no end-of-life banner, no notices, no telemetry, no
# version reporting (cdk.json says the same for runs from infra/).
CDK_ENV     := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_CLI_TELEMETRY=true
CDK_CLI     := cd infra && $(CDK_ENV) $(CDK)
# Options every command takes; deploy and destroy also need --all (both
# stacks), which cdk diff refuses ("Unknown option(s): --all"): it compares
# every stack anyway.
CDK_FLAGS   := --app $(CDK_OUT) --no-notices --no-version-reporting

.PHONY: synth diff deploy destroy infra-test infra-lint cfn-lint cdk-cli

synth: lambdas ## synthesize the stacks of CONFIG into cdk.out (offline, no AWS credentials)
	rm -rf $(CDK_OUT)
	cd infra && $(CDK_ENV) CDK_OUTDIR=$(CDK_OUT) \
	  CDK_CONTEXT_JSON='{"config":"$(abspath $(CONFIG))","lambdas":"$(CURDIR)/build/lambda"}' \
	  $(GO) run .

diff: synth cdk-cli ## compare the synthesized stacks with what is deployed
	$(CDK_CLI) diff $(CDK_FLAGS) $(CDK_ARGS)

deploy: synth cdk-cli ## deploy both stacks (certificate in us-east-1 first), bootstrapping regions that need it
	$(CDK_ENV) bash infra/bootstrap.sh $(CDK_OUT) $(CDK)
	$(CDK_CLI) deploy $(CDK_FLAGS) --all $(CDK_ARGS)

destroy: synth cdk-cli ## delete the stacks; the report bucket, table and certificate are kept
	$(CDK_CLI) destroy $(CDK_FLAGS) --all $(CDK_ARGS)

infra-test: ## the CDK app's tests: assertions, cdk-nag, template snapshot
	cd infra && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(GO) test -count=1 ./...

infra-lint: tools ## go vet and staticcheck of the CDK app
	cd infra && $(GO) vet ./... && ../.tools/bin/staticcheck ./...

# W3005 (a DependsOn that a Ref or GetAtt already implies) is ignored: CDK
# itself makes every function depend on its role, which the function's
# GetAtt of the role implies anyway, and the stacks' own explicit
# dependencies document an order the code relies on; such a DependsOn
# changes nothing in what CloudFormation does.
CFN_LINT_IGNORE := W3005

cfn-lint: ## cfn-lint on the templates in cdk.out (make synth first), when cfn-lint is installed
	@if ! command -v cfn-lint >/dev/null 2>&1; then \
	  echo "cfn-lint: not installed (pip install cfn-lint); the templates in cdk.out were not linted"; \
	elif ! ls $(CDK_OUT)/*.template.json >/dev/null 2>&1; then \
	  echo "cfn-lint: no templates in cdk.out (make synth first); nothing linted"; \
	else \
	  echo "cfn-lint $$(cfn-lint --version 2>&1 | tr -dc '0-9.') on cdk.out/*.template.json"; \
	  cfn-lint --ignore-checks $(CFN_LINT_IGNORE) -- $(CDK_OUT)/*.template.json; \
	fi

cdk-cli: $(CDK_STAMP) ## install the pinned aws-cdk CLI into .tools/cdk

$(CDK_STAMP):
	mkdir -p $(CDK_TOOLS)
	[ -f $(CDK_TOOLS)/package.json ] || echo '{"private":true}' >$(CDK_TOOLS)/package.json
	npm install --prefix $(CDK_TOOLS) --no-audit --no-fund --loglevel=error aws-cdk@$(CDK_VERSION)
	rm -f $(CDK_TOOLS)/aws-cdk-*.stamp && touch $@
