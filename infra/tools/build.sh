#!/usr/bin/env bash
# Builds the external binaries ModelDAO's tests and "modeldao dev" run
# (kubo's ipfs and aws-lambda-rie) into <repo>/.bin/, from the versions
# pinned in this directory's go.mod. A binary that is already present is left
# alone, so running this again is fast. FORCE=1 rebuilds both.
#
# Usage: bash infra/tools/build.sh        (or: make tools)
set -euo pipefail

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$tools_dir/../.." && pwd)"
bin_dir="$repo_root/.bin"
mkdir -p "$bin_dir"

# name|package|wanted version (checked with "<bin> version" when not empty)
targets=(
	"ipfs|github.com/ipfs/kubo/cmd/ipfs|0.42.0"
	"aws-lambda-rie|github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie|"
)

build() {
	local name="$1" pkg="$2" out="$bin_dir/$1"
	local tmp="$out.tmp.$$"
	echo "tools: building $name from $pkg (see infra/tools/go.mod for the version)..."
	local start=$SECONDS
	# Build inside the tools module: its go.mod pins the versions, and kubo
	# cannot be built with "go install pkg@version" (its go.mod has replace
	# directives). Write to a temporary name first so an interrupted build
	# never leaves a broken binary behind.
	if ! (cd "$tools_dir" && go build -o "$tmp" "$pkg"); then
		rm -f "$tmp"
		echo "tools: building $name failed" >&2
		return 1
	fi
	mv -f "$tmp" "$out"
	echo "tools: built $out in $((SECONDS - start))s"
}

for t in "${targets[@]}"; do
	IFS='|' read -r name pkg version <<<"$t"
	out="$bin_dir/$name"
	if [[ "${FORCE:-}" != 1 && -x "$out" ]]; then
		if [[ -z "$version" ]] || "$out" version 2>/dev/null | grep -q "$version"; then
			echo "tools: $out is present"
			continue
		fi
		echo "tools: $out is not version $version, rebuilding"
	fi
	build "$name" "$pkg"
done
