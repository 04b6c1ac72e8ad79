# ModelDAO. Two commands get you going: `make dev` (the whole stack locally) and
# `make test` (everything the CI runs). Each installs what it needs on a fresh machine.
SHELL := /bin/bash
GO ?= go
GOTEST_FLAGS ?= -timeout 40m

.PHONY: test vet deps tools contracts generate bench dev functions deploy-check clean

## deps: Debian packages the tests run for real (redis-server, redis-cli, chromium for the
## GraphiQL browser test), and wrk, the load generator of make bench.
deps:
	@missing=""; \
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (apt-get)"; \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing) || \
		{ echo "could not install$$missing: run 'sudo apt-get install -y$$missing'"; exit 1; }; \
	fi

## tools: kubo (ipfs) and the AWS Lambda runtime interface emulator, built into .bin/, and
## Foundry's anvil (a second EVM node for the indexer's exactness tests) from npm, pinned.
tools:
	@bash infra/tools/build.sh

## test: vet and test everything, against real redis-server, kubo and the Lambda emulator.
test: deps tools
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "not gofmt-formatted:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) test $(GOTEST_FLAGS) ./...

## dev: the whole stack locally (dev chain on :8545, redis-server, kubo, indexer, pinner,
## GraphQL + GraphiQL on :8080) with demo data. Ctrl-C stops it cleanly.
dev: deps tools
	@$(GO) build -o bin/modeldao ./cmd/modeldao
	@exec bin/modeldao dev $(DEV_FLAGS)

## bench: the benchmarks behind BENCHMARKS.md (real redis-server, kubo, dev chain). The
## 1,000,000-event backfill is opt-in: `make bench MODELDAO_BENCH_1M=1`.
bench: deps tools
	# backfill at 100k and 400k events with the default configuration; 1M too with MODELDAO_BENCH_1M=1
	MODELDAO_BENCH_1M=$(MODELDAO_BENCH_1M) $(GO) test ./indexer -run '^$$' -bench Backfill -benchtime 1x -timeout 90m
	$(GO) test ./graphql -run '^$$' -bench FrontendQueries -benchtime 30000x -timeout 30m
	$(GO) test ./graphql -run '^$$' -bench Load -benchtime 1x -timeout 30m
	$(GO) test ./pinning -run '^$$' -bench . -benchtime 3x -timeout 30m
	$(GO) test ./functions/ -run '^$$' -bench 'API|ZipSize' -benchtime 20x -timeout 30m
	# the indexer function's long backfill under the emulator: function RSS across invocations
	# (1M events in invocations of 3 s of work: a dozen of them)
	MODELDAO_BENCH_LAMBDA_EVENTS=1000000 MODELDAO_BENCH_LAMBDA_TIMEOUT=8s $(GO) test ./functions/ -run '^$$' -bench IndexerBackfill -benchtime 1x -timeout 40m

## generate: regenerate the GraphQL server code (gqlgen, then graphql/internal/execrewrite)
## after editing graphql/schema.graphqls.
generate:
	$(GO) generate ./graphql/...

## functions: build the Lambda functions (bin/<name>.zip for linux/arm64, bin/host/<name>/bootstrap) and print their sizes.
functions:
	@bash functions/build.sh

## deploy-check: package serverless.yml offline with Serverless v3 against the real zips (no AWS account needed).
deploy-check: functions
	@bash infra/serverless/check.sh

## contracts: recompile the Solidity sources (needs Node) and regenerate the Go bindings.
contracts:
	cd contracts && npm ci --no-audit --no-fund && node compile.js
	$(GO) run ./contracts/bindgen

clean:
	rm -rf bin .bin
