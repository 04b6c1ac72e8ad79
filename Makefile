# ModelDAO. Two commands get you going: `make dev` (the whole stack locally) and
# `make test` (everything the CI runs). Each installs what it needs on a fresh machine.
SHELL := /bin/bash
GO ?= go
GOTEST_FLAGS ?= -timeout 40m

.PHONY: test vet deps tools contracts bench dev functions clean

## deps: Debian packages the tests run for real (redis-server, redis-cli).
deps:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null || \
		{ echo "installing redis-server (apt-get)"; \
		  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server) || \
		  { echo "could not install redis-server: run 'sudo apt-get install -y redis-server'"; exit 1; }; }

## tools: kubo (ipfs) and the AWS Lambda runtime interface emulator, built into .bin/.
tools:
	@bash infra/tools/build.sh

## test: vet and test everything, against real redis-server, kubo and the Lambda emulator.
test: deps tools
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "not gofmt-formatted:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) test $(GOTEST_FLAGS) ./...

## contracts: recompile the Solidity sources (needs Node) and regenerate the Go bindings.
contracts:
	cd contracts && npm ci --no-audit --no-fund && node compile.js
	$(GO) run ./contracts/bindgen

clean:
	rm -rf bin .bin
