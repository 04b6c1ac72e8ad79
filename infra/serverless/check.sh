#!/usr/bin/env bash
# Packages serverless.yml offline with the Serverless Framework v3 pinned in this directory
# (package.json + package-lock.json; v4 needs a login even to package), with placeholder
# parameters and no AWS credentials, and prints the path of the CloudFormation template it
# generated. It proves that serverless.yml is valid (configValidationMode: error), that every
# variable resolves, and that the artifacts are where it says.
#
# Usage:
#   bash infra/serverless/check.sh            package the repo's serverless.yml with the
#                                             real zips (make functions first) into .serverless/
#   bash infra/serverless/check.sh --placeholder DIR
#                                             package a copy in DIR with placeholder zips (what
#                                             the Go test in functions/ does: no cross build)
#   (or: make deploy-check)
#
# npm ci installs into infra/serverless/node_modules (gitignored) when it is missing or older
# than the lock file; it is fast once npm's cache holds the packages.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"

placeholder=""
if [[ "${1:-}" == "--placeholder" ]]; then
	placeholder="${2:?--placeholder needs a directory}"
	shift 2
fi

command -v node >/dev/null && command -v npm >/dev/null || {
	echo "serverless check: node and npm are needed (Node 18 or later)" >&2
	exit 1
}

sls="$here/node_modules/.bin/serverless"
stamp="$here/node_modules/.package-lock.json"
if [[ ! -x "$sls" || ! -f "$stamp" || "$here/package-lock.json" -nt "$stamp" ]]; then
	echo "serverless check: npm ci (serverless@3, pinned in infra/serverless/package-lock.json)..." >&2
	start=$SECONDS
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
	echo "serverless check: npm ci took $((SECONDS - start))s" >&2
fi

if [[ -n "$placeholder" ]]; then
	mkdir -p "$placeholder/bin"
	cp "$repo_root/serverless.yml" "$placeholder/"
	for f in "$repo_root"/functions/*/main.go; do
		n="$(basename "$(dirname "$f")")"
		tmp="$(mktemp -d)"
		printf '#!/bin/sh\necho placeholder >&2\nexit 1\n' >"$tmp/bootstrap"
		chmod 0755 "$tmp/bootstrap"
		(cd "$tmp" && zip -q -X "$placeholder/bin/$n.zip" bootstrap)
		rm -rf "$tmp"
	done
	service_dir="$placeholder"
else
	service_dir="$repo_root"
	for f in "$repo_root"/functions/*/main.go; do
		n="$(basename "$(dirname "$f")")"
		[[ -f "$repo_root/bin/$n.zip" ]] || {
			echo "serverless check: bin/$n.zip is missing: run make functions first" >&2
			exit 1
		}
	done
fi

# Placeholder parameters: any syntactically valid values do to package.
params=(
	--param="vpcId=vpc-0123456789abcdef0"
	--param="subnetIds=subnet-0123456789abcdef0,subnet-0123456789abcdef1"
	--param="chainId=1337"
	--param="tokenAddress=0x1111111111111111111111111111111111111111"
	--param="governorAddress=0x2222222222222222222222222222222222222222"
	--param="timelockAddress=0x3333333333333333333333333333333333333333"
	--param="registryAddress=0x4444444444444444444444444444444444444444"
	--param="startBlock=1"
	--param="ethRpcUrl=https://rpc.example.org"
	--param="ipfsApiUrls=http://kubo-a.internal:5001,http://kubo-b.internal:5001"
	--param="corsOrigins=https://app.example.org"
)

cd "$service_dir"
# No credentials, no telemetry, no update checks: packaging needs none of them.
env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	AWS_SDK_LOAD_CONFIG=0 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_DEPRECATION_DISABLE='*' \
	SLS_INTERACTIVE_SETUP_DISABLE=1 CI=1 \
	"$sls" package --stage check "${params[@]}" "$@" >&2
template="$service_dir/.serverless/cloudformation-template-update-stack.json"
[[ -f "$template" ]] || {
	echo "serverless check: no $template was generated" >&2
	exit 1
}
echo "$template"
