#!/usr/bin/env bash
# Installs the Debian packages, builds everything (libraries, tools, examples, tests) and runs
# the whole test suite. The reference files are read in place from OPEX_REFERENCE_DIR
# (default ../shared/reference/prolex-v4, next to this repository).
set -euo pipefail
cd "$(dirname "$0")/../.."
./tools/scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo ${OPEX_REFERENCE_DIR:+-DOPEX_REFERENCE_DIR="$OPEX_REFERENCE_DIR"}
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
