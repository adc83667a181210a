# npm-peer-lib.sh — sourced by the scripts that install the test peers (install-mcp-peers.sh,
# n8n-peer.sh). One function, npm_peer_ci, that installs a test/peers/<name> folder with `npm ci`
# from the repository's own package.json, package-lock.json and .npmrc, independently of the
# user's ~/.npmrc and npm cache, and says clearly what failed.
#
#   npm_peer_ci TAG SRC DEST [ENV=VALUE ...]
#     TAG   the caller's name, prefixed to every message
#     SRC   the folder holding package.json, package-lock.json and .npmrc (copied into DEST)
#     DEST  the install folder; its npm log is DEST/install.log
#     ENV   extra environment for npm (e.g. JOBS=2)
#   Returns 0, or 1 after printing one line naming the cause (lock file out of sync, registry
#   unreachable or package missing, native build failed, other) and the log's last lines.
#   docs/testing.md ("Test peers") documents the lock-file rules.

npm_peer_ci() {
  local tag="$1" src="$2" dest="$3"; shift 3
  command -v npm >/dev/null || { echo "$tag: npm not found (tools/scripts/install-deps.sh installs it)" >&2; return 1; }
  mkdir -p "$dest"; dest="$(cd "$dest" && pwd)"
  cp "$src/package.json" "$src/package-lock.json" "$dest/"
  [ -f "$src/.npmrc" ] && cp "$src/.npmrc" "$dest/.npmrc"
  local extra=()
  # Native addons (n8n's isolated-vm and sqlite3) build against the installed Node.js headers
  # rather than headers node-gyp would download from nodejs.org, which a closed network refuses.
  local headers=/usr/include/node/node_version.h
  if [ -f "$headers" ]; then
    local major; major=$(sed -n 's/^#define NODE_MAJOR_VERSION \([0-9]*\)/\1/p' "$headers")
    if [ "$major" = "$(node -p 'process.versions.node.split(".")[0]')" ]; then
      extra+=(npm_config_nodedir=/usr)
    fi
  fi
  local log="$dest/install.log"
  if ( cd "$dest" && env "${extra[@]}" "$@" npm_config_update_notifier=false \
         npm ci --no-audit --no-fund --loglevel=error > "$log" 2>&1 ); then
    return 0
  fi
  local cause
  if grep -q "can only install packages when your package.json and package-lock.json" "$log"; then
    cause="the lock file $src/package-lock.json does not match $src/package.json for npm $(npm --version) (node $(node --version)); regenerate it: cd $src && npm install --package-lock-only, then check with npm ci --dry-run in a copy"
  elif grep -Eq "ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|E404|E403|ETARGET|EINTEGRITY|request to .* failed" "$log"; then
    cause="the npm registry $(npm config get registry) was unreachable or refused a package ($(grep -Eom1 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|E404|E403|ETARGET|EINTEGRITY' "$log" || echo network error))"
  elif grep -Eq "gyp ERR|node-gyp|command failed" "$log"; then
    local pkg; pkg=$(grep -Eom1 'npm error path [^ ]*node_modules/[^ ]*' "$log" | sed 's|.*node_modules/||')
    cause="a native build failed${pkg:+ ($pkg)}: needs build-essential, python3 and the Node.js headers"
  else
    cause="npm ci failed"
  fi
  tail -30 "$log" >&2
  echo "$tag: $cause (full log: $log)" >&2
  return 1
}
