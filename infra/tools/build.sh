#!/usr/bin/env bash
# Builds the external binaries ModelDAO's tests and "modeldao dev" run
# (kubo's ipfs and aws-lambda-rie) into <repo>/.bin/, from the versions
# pinned in this directory's go.mod, and installs Foundry's anvil (a second
# real EVM node for the indexer's exactness tests) from npm, pinned by
# anvil/package-lock.json, linked as .bin/anvil. A binary that is already
# present is left alone, so running this again is fast. FORCE=1 rebuilds all.
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

# anvil: npm ci of the pinned lock file into .bin/npm/anvil (next to the other
# tools, not in the source tree, since .bin may be shared by several checkouts),
# then .bin/anvil points at the platform package's binary. npm 11 skips the
# package's postinstall script; the platform binary works without it.
anvil_version="1.7.1"
install_anvil() {
	local out="$bin_dir/anvil" prefix="$bin_dir/npm/anvil"
	if [[ "${FORCE:-}" != 1 && -x "$out" ]] && "$out" --version 2>/dev/null | grep -q "$anvil_version"; then
		echo "tools: $out is present"
		return 0
	fi
	command -v npm >/dev/null || {
		echo "tools: npm is needed to install anvil (apt-get install -y nodejs npm, Node 20 or later)" >&2
		return 1
	}
	local platform
	case "$(uname -s)-$(uname -m)" in
	Linux-x86_64) platform=linux-amd64 ;;
	Linux-aarch64 | Linux-arm64) platform=linux-arm64 ;;
	Darwin-x86_64) platform=darwin-amd64 ;;
	Darwin-arm64) platform=darwin-arm64 ;;
	*)
		echo "tools: no anvil package for $(uname -s)-$(uname -m)" >&2
		return 1
		;;
	esac
	echo "tools: installing anvil $anvil_version from npm into $prefix..."
	local start=$SECONDS
	mkdir -p "$prefix"
	cp "$tools_dir/anvil/package.json" "$tools_dir/anvil/package-lock.json" "$prefix/"
	# Run inside the prefix: "npm ci --prefix DIR" does not match DIR's lock file (npm 11).
	local cmd=(npm ci --no-audit --no-fund --loglevel=error)
	local log
	if ! log="$(cd "$prefix" && "${cmd[@]}" 2>&1)"; then
		echo "$log" | tail -n 20 >&2
		echo "tools: installing anvil failed; the command was: (cd $prefix && ${cmd[*]})" >&2
		return 1
	fi
	local target="$prefix/node_modules/@foundry-rs/anvil-$platform/bin/anvil"
	if [[ ! -x "$target" ]]; then
		echo "tools: npm installed no executable at $target (command: cd $prefix && ${cmd[*]})" >&2
		return 1
	fi
	# A relative link, so that .bin stays valid wherever it is reached from.
	ln -sfn "npm/anvil/node_modules/@foundry-rs/anvil-$platform/bin/anvil" "$out.tmp.$$" && mv -f "$out.tmp.$$" "$out"
	if ! "$out" --version | grep -q "$anvil_version"; then
		echo "tools: $out --version does not report $anvil_version" >&2
		return 1
	fi
	echo "tools: installed $out ($("$out" --version | head -1)) in $((SECONDS - start))s"
}
install_anvil
