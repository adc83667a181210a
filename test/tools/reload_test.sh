#!/usr/bin/env bash
# kill -HUP, as an operator reloads opexd (docs/operations.md, "Reload"): while a client sends
# requests without pause, a changed autonomy level takes effect (a high-risk plan that parked
# for approval is now refused), a new tenant's keys are accepted, a broken file is refused with
# a logged error and changes nothing, and not one of the client's requests fails.
# Arguments: the build's tools folder.
set -euo pipefail
tools=$1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=reload-key OPEX_BETA_KEYS=beta-key
fail() { echo "FAIL: $*" >&2; exit 1; }
config() {  # config LEVEL [EXTRA YAML]
  cat > "$work/opex.yml" <<YAML
autonomy_level: $1
targets:
  mode: builtin
  overrides:
    BACKUP_RUN: {type: builtin, name: noop}
server:
  rate_limit: {requests_per_minute: 0}
${2:-}
YAML
}
config 3
. "$(dirname "$0")/opexd_lib.sh"
start_opexd --config "$work/opex.yml"
base=http://127.0.0.1:$port
post() {  # post KEY PATH BODY -> prints the HTTP status
  curl -s -o "$work/last.json" -w '%{http_code}' -H "X-API-Key: $1" -H 'Content-Type: application/json' -d "$3" "$base$2"
}
backup='{"type":"multi_tool_plan","plan":[{"step":1,"tool":"BACKUP_RUN","payload":{}}]}'
task='{"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"reload"}}'
reloads() { grep -c "\"event\":\"$1\"" "$work/opexd.out" || true; }
wait_for() {  # wait_for EVENT COUNT
  for _ in $(seq 1 100); do [[ $(reloads "$1") -ge $2 ]] && return 0; sleep 0.05; done
  fail "no $1 in the log: $(tail -3 "$work/opexd.out")"
}

# A client that never pauses: one line per answer in client.out, every one must be 200.
python3 - "$base" "$work/client.out" "$work/stop" <<'PY' &
import os, sys, urllib.request
base, out, stop = sys.argv[1:]
with open(out, "w", buffering=1) as log:
    while not os.path.exists(stop):
        req = urllib.request.Request(base + "/webhook/proxy-exec", method="POST",
            data=b'{"type":"tool_call","tool":"LOG_APPEND","payload":{"message":"load"}}',
            headers={"X-API-Key": "reload-key", "Content-Type": "application/json"})
        try:
            code = urllib.request.urlopen(req, timeout=30).status
        except urllib.error.HTTPError as e:
            code = e.code
        except Exception as e:
            code = type(e).__name__
        print(code, file=log)
PY
client=$!
answers() { if [[ -e $work/client.out ]]; then wc -l < "$work/client.out"; else echo 0; fi; }
more_answers() {  # waits for 5 more answers than now
  local want=$(( $(answers) + 5 ))
  for _ in $(seq 1 200); do [[ $(answers) -ge $want ]] && return 0; sleep 0.05; done
  fail "the client got no answers: $(cat "$work/client.out" 2>/dev/null)"
}
more_answers

[[ $(post reload-key /webhook/proxy-exec "$backup") == 202 ]] || fail "level 3: BACKUP_RUN should park (202): $(cat "$work/last.json")"
[[ $(post beta-key /webhook/proxy-exec "$task") == 401 ]] || fail "beta's key should not be known yet"

# Level 1 and a tenant beta whose keys are in OPEX_BETA_KEYS.
config 1 "tenants:
  - {slug: beta, api_keys_env: OPEX_BETA_KEYS, autonomy_level: 3}"
kill -HUP "$opexd_pid"
wait_for server.keys_reloaded 1
more_answers
code=$(post reload-key /webhook/proxy-exec "$backup")
[[ $code == 403 || $code == 422 ]] || fail "level 1: BACKUP_RUN should be refused, got $code: $(cat "$work/last.json")"
[[ $(post beta-key /webhook/proxy-exec "$task") == 200 ]] || fail "beta's key after the reload: $(cat "$work/last.json")"
grep -q '"status":"succeeded"' "$work/last.json" || fail "beta's task: $(cat "$work/last.json")"

# A broken file: logged, refused, the level stays 1.
echo "autonomy_level: 9" > "$work/opex.yml"
kill -HUP "$opexd_pid"
wait_for config.reload_failed 1
more_answers
grep '"event":"config.reload_failed"' "$work/opexd.out" > "$work/failed.log" || true
grep -q "autonomy_level" "$work/failed.log" || fail "the error does not name the key"
code=$(post reload-key /webhook/proxy-exec "$backup")
[[ $code == 403 || $code == 422 ]] || fail "after a refused reload, level 1 should stay: got $code"
[[ $(post beta-key /webhook/proxy-exec "$task") == 200 ]] || fail "after a refused reload, beta's key should stay"

touch "$work/stop"
wait "$client"
others=$(grep -vc '^200$' "$work/client.out" || true)
[[ $others == 0 ]] || fail "the client got answers other than 200: $(sort "$work/client.out" | uniq -c)"
kill -0 "$opexd_pid" || fail "opexd died"
echo "reload: ok ($(answers) answers, all 200)"
