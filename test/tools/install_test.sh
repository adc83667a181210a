#!/usr/bin/env bash
# Installs opex into a temporary prefix and builds examples/embed against it with
# find_package(opex), as a service embedding the engine would. Arguments: build dir, source dir.
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/examples/embed" -B "$work/embed" -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" >/dev/null
cmake --build "$work/embed" -j2 >/dev/null
OPEX_DATA_DIR="$work/data" "$work/embed/embed_example" "$work/data/embed.db"
echo "find_package(opex): ok"
