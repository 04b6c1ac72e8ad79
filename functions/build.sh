#!/usr/bin/env bash
# Builds the Lambda functions (functions/<name>/main.go) as AWS runs them on provided.al2023:
# a static "bootstrap" (CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags "-s -w").
#
#   bin/<name>/bootstrap       linux/arm64 (serverless.yml's architecture)
#   bin/<name>.zip             that bootstrap, zipped for deployment (serverless.yml's artifacts)
#   bin/host/<name>/bootstrap  linux/<this machine's arch>, for aws-lambda-rie and "modeldao dev"
#
# The zips are reproducible (fixed timestamps, no extra attributes), so an unchanged function
# zips to the same bytes and CloudFormation does not redeploy it. Prints the sizes.
#
# Usage: bash functions/build.sh [name...]   (or: make functions)   default: every function
# Environment: GOARCH_DEPLOY (default arm64), HOST_ONLY=1 skips the deployment build.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

if [[ $# -gt 0 ]]; then
	names=("$@")
else
	names=()
	for d in functions/*/main.go; do
		names+=("$(basename "$(dirname "$d")")")
	done
fi
for n in "${names[@]}"; do
	[[ -f "functions/$n/main.go" ]] || { echo "functions: no function named $n (functions/$n/main.go)" >&2; exit 2; }
done
command -v zip >/dev/null || { echo "functions: zip not found: apt-get install -y zip" >&2; exit 1; }

deploy_arch="${GOARCH_DEPLOY:-arm64}"
host_arch="$(go env GOHOSTARCH)"
flags=(-tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w")

# build <goarch> <outdir>: one go command for all the functions, so shared packages are
# compiled once.
build() {
	local arch="$1" out="$2" start=$SECONDS pkgs=() n
	for n in "${names[@]}"; do pkgs+=("./functions/$n"); done
	local tmp
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' RETURN
	if ! GOOS=linux GOARCH="$arch" CGO_ENABLED=0 go build "${flags[@]}" -o "$tmp/" "${pkgs[@]}"; then
		echo "functions: build for linux/$arch failed" >&2
		return 1
	fi
	for n in "${names[@]}"; do
		mkdir -p "$out/$n"
		mv -f "$tmp/$n" "$out/$n/bootstrap"
	done
	echo "functions: built ${names[*]} for linux/$arch into $out/<name>/bootstrap in $((SECONDS - start))s"
}

size() { stat -c %s "$1"; }
human() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }

if [[ "${HOST_ONLY:-}" != 1 ]]; then
	build "$deploy_arch" bin
	echo
	printf '%-10s %14s %14s   %s\n' function bootstrap zip "zip file"
	for n in "${names[@]}"; do
		dir="bin/$n"
		touch -d '2000-01-01 00:00:00 UTC' "$dir/bootstrap"
		chmod 0755 "$dir/bootstrap"
		rm -f "bin/$n.zip"
		(cd "$dir" && TZ=UTC zip -q -X -9 "../$n.zip" bootstrap)
		b=$(size "$dir/bootstrap") z=$(size "bin/$n.zip")
		printf '%-10s %14s %14s   %s\n' "$n" "$(human "$b")" "$(human "$z")" "bin/$n.zip"
		if ((z > 50 * 1048576)); then
			echo "functions: bin/$n.zip is larger than Lambda's 50 MB limit for direct upload" >&2
			exit 1
		elif ((z > 15 * 1048576)); then
			echo "functions: warning: bin/$n.zip is above the 15 MB target (cold starts grow with it)" >&2
		fi
	done
	echo
fi
build "$host_arch" bin/host
