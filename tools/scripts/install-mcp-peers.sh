#!/usr/bin/env bash
# Installs the MCP reference servers the tests run against (test/peers/mcp/package.json, pinned
# by its package-lock.json) into DEST (default build/mcp-peers) with npm. Fast when DEST already
# holds that exact tree. Prints the folder of the servers' executables.
set -euo pipefail
. "$(dirname "$0")/npm-peer-lib.sh"
src="$(cd "$(dirname "$0")/../../test/peers/mcp" && pwd)"
dest="${1:-$(dirname "$0")/../../build/mcp-peers}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
command -v npm >/dev/null || { echo "install-mcp-peers: npm not found (tools/scripts/install-deps.sh installs it)" >&2; exit 1; }
if [ -f "$dest/node_modules/.package-lock.json" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json" \
   && [ -x "$dest/node_modules/.bin/mcp-server-everything" ]; then
  echo "$dest/node_modules/.bin"
  exit 0
fi
npm_peer_ci install-mcp-peers "$src" "$dest" || exit 1
for bin in mcp-server-everything mcp-server-filesystem mcp-server-memory; do
  [ -x "$dest/node_modules/.bin/$bin" ] || { echo "install-mcp-peers: $bin missing after npm ci" >&2; exit 1; }
done
echo "$dest/node_modules/.bin"
