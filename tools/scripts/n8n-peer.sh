#!/usr/bin/env bash
# n8n-peer.sh — a real n8n for opex's n8n connector tests, on loopback only.
#
#   n8n-peer.sh install                 npm ci of test/peers/n8n (n8n 1.123.81) into $OPEX_N8N_HOME
#                                       (default ~/.cache/opex/n8n-1.123.81); quick when already there
#   n8n-peer.sh start DATA [PORT]       start n8n with its data in DATA on 127.0.0.1:PORT (default: a free
#                                       port), wait until it is ready, create the owner and a public-API
#                                       key; writes DATA/url, DATA/api_key, DATA/owner_email,
#                                       DATA/owner_password, DATA/n8n.pid, DATA/n8n.log
#   n8n-peer.sh stop DATA               stop the n8n started with DATA
#   n8n-peer.sh status DATA             running or not
#
# n8n needs minutes and ~1.8 GB to install: the tests that use it carry the CTest label `n8n`.
# Owner credentials are test-only values for a loopback instance; they and the API key are
# written with mode 600 and referenced by opex as file:DATA/..., never copied into a
# configuration.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/npm-peer-lib.sh"

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../test/peers/n8n" && pwd)"
home="${OPEX_N8N_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/opex/n8n-1.123.81}"
owner_email="owner@opex.test"
owner_password="OpexPeer2026"   # n8n wants 8+ characters, a digit and an upper-case letter
browser_id="opex-n8n-peer"      # n8n binds its auth cookie to this header's value

die() { echo "n8n-peer: $*" >&2; exit 1; }
json_get() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=eval("(o)=>o"+process.argv[1])(JSON.parse(s));process.stdout.write(typeof v==="string"?v:JSON.stringify(v));})' "$1"; }

cmd_install() {
  command -v npm >/dev/null || die "npm not found (tools/scripts/install-deps.sh installs it)"
  mkdir -p "$home"
  if [ -x "$home/node_modules/.bin/n8n" ] && cmp -s "$src/package-lock.json" "$home/package-lock.json" \
     && [ -f "$home/node_modules/isolated-vm/out/isolated_vm.node" ]; then
    echo "n8n-peer: n8n $("$home/node_modules/.bin/n8n" --version 2>/dev/null | tail -1) already installed in $home"
    return 0
  fi
  local t0=$SECONDS
  echo "n8n-peer: installing n8n into $home (a few minutes)"
  npm_peer_ci n8n-peer "$src" "$home" SCARF_ANALYTICS=false PUPPETEER_SKIP_DOWNLOAD=1 JOBS=2 || exit 1
  [ -f "$home/node_modules/isolated-vm/out/isolated_vm.node" ] \
    || die "the native addon isolated-vm was not built (log: $home/install.log)"
  [ -f "$home/node_modules/sqlite3/build/Release/node_sqlite3.node" ] \
    || die "the native addon sqlite3 was not built (log: $home/install.log)"
  echo "n8n-peer: installed n8n $("$home/node_modules/.bin/n8n" --version 2>/dev/null | tail -1) in $((SECONDS - t0)) s"
}

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'; }

alive() { [ -f "$1/n8n.pid" ] && kill -0 "$(cat "$1/n8n.pid")" 2>/dev/null; }

cmd_start() {
  local data="${1:?usage: n8n-peer.sh start DATA [PORT]}" port="${2:-}"
  [ -x "$home/node_modules/.bin/n8n" ] || die "n8n is not installed: run '$0 install'"
  mkdir -p "$data"; data="$(cd "$data" && pwd)"
  (umask 077; echo "$owner_email" > "$data/owner_email"; echo "$owner_password" > "$data/owner_password")
  if alive "$data"; then echo "n8n-peer: already running on $(cat "$data/url")"; return 0; fi
  [ -n "$port" ] || port=$(free_port)
  local base="http://127.0.0.1:$port"
  : > "$data/n8n.log"
  (
    export N8N_USER_FOLDER="$data" N8N_HOST=127.0.0.1 N8N_LISTEN_ADDRESS=127.0.0.1 N8N_PORT="$port" \
      N8N_PROTOCOL=http WEBHOOK_URL="$base/" N8N_EDITOR_BASE_URL="$base/" \
      N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1 N8N_WORKER_SERVER_ADDRESS=127.0.0.1 \
      N8N_RUNNERS_BROKER_PORT="$(free_port)" N8N_RUNNERS_ENABLED=false \
      DB_TYPE=sqlite DB_SQLITE_POOL_SIZE=2 N8N_EXPRESSION_ENGINE=legacy \
      N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false N8N_TEMPLATES_ENABLED=false \
      N8N_PERSONALIZATION_ENABLED=false N8N_DYNAMIC_BANNERS_ENABLED=false N8N_HIRING_BANNER_ENABLED=false \
      N8N_LICENSE_AUTO_RENEW_ENABLED=false N8N_AI_ENABLED=false N8N_MCP_BUILDER_ENABLED=false \
      N8N_SECURE_COOKIE=false N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=true N8N_BLOCK_ENV_ACCESS_IN_NODE=true \
      N8N_GIT_NODE_DISABLE_BARE_REPOS=true NODE_ENV=production N8N_LOG_LEVEL=info N8N_LOG_OUTPUT=console
    exec setsid "$home/node_modules/.bin/n8n" start >> "$data/n8n.log" 2>&1 < /dev/null
  ) &
  echo $! > "$data/n8n.pid"
  echo "$base" > "$data/url"
  local t0=$SECONDS
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz/readiness")" = 200 ] \
        && grep -q "Editor is now accessible" "$data/n8n.log"; do
    alive "$data" || { tail -30 "$data/n8n.log" >&2; die "n8n exited while starting"; }
    [ $((SECONDS - t0)) -lt 180 ] || die "n8n not ready after 180 s (log: $data/n8n.log)"
    sleep 0.5
  done
  local cookies="$data/cookies.txt"
  rest() { curl -sS -b "$cookies" -c "$cookies" -H "browser-id: $browser_id" -H 'Content-Type: application/json' \
                -X "$1" "$base$2" "${@:3}"; }
  rest POST /rest/owner/setup -o /dev/null \
    -d "{\"email\":\"$owner_email\",\"firstName\":\"Opex\",\"lastName\":\"Tests\",\"password\":\"$owner_password\"}" || true
  [ "$(rest POST /rest/login -o /dev/null -w '%{http_code}' \
        -d "{\"emailOrLdapLoginId\":\"$owner_email\",\"password\":\"$owner_password\"}")" = 200 ] \
    || die "cannot log in as the owner"
  local key_ok=""
  if [ -s "$data/api_key" ]; then
    key_ok=$(curl -s -o /dev/null -w '%{http_code}' -H "X-N8N-API-KEY: $(cat "$data/api_key")" "$base/api/v1/workflows?limit=1")
  fi
  if [ "$key_ok" != 200 ]; then
    local scopes
    scopes=$(rest GET /rest/api-keys/scopes | json_get '.data')
    (umask 077; rest POST /rest/api-keys -d "{\"label\":\"opex-tests-$(date +%s)\",\"scopes\":$scopes,\"expiresAt\":null}" \
       | json_get '.data.rawApiKey' > "$data/api_key")
  fi
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-N8N-API-KEY: $(cat "$data/api_key")" "$base/api/v1/workflows?limit=1")" = 200 ] \
    || die "the public-API key does not work"
  echo "n8n-peer: n8n ready on $base in $((SECONDS - t0)) s (data $data)"
}

cmd_stop() {
  local data="${1:?usage: n8n-peer.sh stop DATA}"
  alive "$data" || { echo "n8n-peer: not running"; rm -f "$data/n8n.pid"; return 0; }
  local pid; pid=$(cat "$data/n8n.pid")
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$data/n8n.pid"
  echo "n8n-peer: stopped"
}

cmd_status() {
  local data="${1:?usage: n8n-peer.sh status DATA}"
  if alive "$data"; then echo "running on $(cat "$data/url") (pid $(cat "$data/n8n.pid"))"; else echo "not running"; return 1; fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
