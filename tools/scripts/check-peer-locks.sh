#!/usr/bin/env bash
# check-peer-locks.sh — checks that every test/peers/*/package-lock.json installs with this
# machine's npm: `npm ci --dry-run` in a temporary copy of the folder, with an empty npm cache
# and no user ~/.npmrc, as on a fresh machine. Exit 0 when all pass, 1 naming each that fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
status=0
for dir in "$root"/test/peers/*/; do
  name="$(basename "$dir")"
  [ -f "$dir/package-lock.json" ] || continue
  mkdir -p "$tmp/$name" "$tmp/home-$name"
  cp "$dir/package.json" "$dir/package-lock.json" "$tmp/$name/"
  [ -f "$dir/.npmrc" ] && cp "$dir/.npmrc" "$tmp/$name/"
  if ( cd "$tmp/$name" && HOME="$tmp/home-$name" npm_config_cache="$tmp/home-$name/.npm" \
         npm_config_update_notifier=false npm ci --dry-run --ignore-scripts --loglevel=error \
         > "$tmp/$name.log" 2>&1 ); then
    echo "check-peer-locks: test/peers/$name: the lock file installs with npm $(npm --version)"
  else
    grep -m5 "npm error" "$tmp/$name.log" >&2 || tail -5 "$tmp/$name.log" >&2
    echo "check-peer-locks: test/peers/$name: package-lock.json does not install with npm $(npm --version) (node $(node --version)); regenerate it: cd test/peers/$name && npm install --package-lock-only" >&2
    status=1
  fi
done
exit $status
