#!/usr/bin/env bash
# The status console (docs/operations.md, "Console") in Debian's chromium, driven by
# puppeteer-core from the test peers (console_test.mjs): succeeding, failing and
# approval-waiting plans through opexd, then the page shows them, a step is approved with its
# confirmation code and its request finishes, and a read-only key sees no decide button.
# Screenshots are kept in SHOTS. Arguments: the build's tools folder, the peers' node_modules,
# the screenshot folder.
set -euo pipefail
tools=$1 modules=$2 shots=$3
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=ops-key:admin,viewer-key:read
fail() { echo "FAIL: $*" >&2; exit 1; }
chromium=$(command -v chromium || true)
[[ -n $chromium ]] || fail "chromium is missing (Debian package chromium: tools/scripts/install-deps.sh)"
[[ -d $modules/puppeteer-core ]] || fail "puppeteer-core is missing from $modules (tools/scripts/install-mcp-peers.sh)"
cat > "$work/opex.yml" <<'YAML'
autonomy_level: 3
targets:
  mode: builtin
  overrides:
    BACKUP_RUN: {type: builtin, name: noop}
    N8N_WORKFLOW_UPSERT: {type: builtin, name: noop}
    N8N_WORKFLOW_TEST: {type: builtin, name: noop}
    N8N_WORKFLOW_PROMOTE: {type: builtin, name: noop}
server:
  rate_limit: {requests_per_minute: 0}
alerts:
  evaluation_interval_ms: 0
  rules:
    - {name: workflow_error_rate, kind: error_rate, threshold: 0.10, min_count: 1}
YAML
. "$(dirname "$0")/opexd_lib.sh"
start_opexd --config "$work/opex.yml"
base=http://127.0.0.1:$port
post() {  # path body -> status; the answer in $work/last.json
  curl -s -o "$work/last.json" -w '%{http_code}' -H 'X-API-Key: ops-key' -H 'Content-Type: application/json' -d "$2" "$base$1"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/last.json" "$1"; }

# A task that succeeds; a plan whose step 2 fails and step 3 is skipped.
[[ $(post /webhook/proxy-exec '{"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"Réviser l architecture"}}') == 200 ]] \
  || fail "task: $(cat "$work/last.json")"
[[ $(post /webhook/proxy-exec '{"type":"multi_tool_plan","plan":[
  {"step":1,"tool":"TASK_CREATE","payload":{"title":"Préparer la revue"}},
  {"step":2,"tool":"DOC_CREATE_NOTE","depends_on":[1],"payload":{"title":"Notes","content":"{{ step_1.result.nope }}"}},
  {"step":3,"tool":"TASK_CREATE","depends_on":[2],"payload":{"title":"Suivi"}}]}') == 200 ]] || fail "plan: $(cat "$work/last.json")"
failing=$(field request_id)
# A promotion, which needs a recorded test, an approved review, then opex's confirmation code.
wf='"workflow_name":"AUTO_PROLEX_Console"'
[[ $(post /webhook/proxy-exec "{\"type\":\"tool_call\",\"tool\":\"N8N_WORKFLOW_UPSERT\",\"payload\":{$wf,\"spec\":{\"nodes\":[]},\"tags\":[\"AUTO_PROLEX\",\"sandbox\"]}}") == 200 ]] \
  || fail "upsert: $(cat "$work/last.json")"
[[ $(post /webhook/proxy-exec "{\"type\":\"tool_call\",\"tool\":\"N8N_WORKFLOW_TEST\",\"payload\":{$wf,\"test_data\":{}}}") == 200 ]] \
  || fail "test: $(cat "$work/last.json")"
promote="{\"type\":\"tool_call\",\"tool\":\"N8N_WORKFLOW_PROMOTE\",\"payload\":{$wf}}"
post /webhook/proxy-exec "$promote" > /dev/null
review=$(curl -s -H 'X-API-Key: ops-key' "$base/v1/approvals?status=pending" | python3 -c 'import json,sys; print(json.load(sys.stdin)["approvals"][0]["id"])')
[[ $(post "/v1/approvals/$review" '{"decision":"approve"}') == 200 ]] || fail "review: $(cat "$work/last.json")"
[[ $(post /webhook/proxy-exec "$promote") == 202 ]] || fail "the promotion should wait for approval: $(cat "$work/last.json")"
parked=$(field request_id)
# The code is shown to the operator by opexctl approvals (never over the API).
OPEX_DATA_DIR=$work/data "$tools/opexctl" approvals --status pending --json > "$work/pending.json"
read -r approval code < <(python3 -c 'import json,sys
a=[x for x in json.load(open(sys.argv[1]))["approvals"] if x["request_id"]==sys.argv[2]][0]
print(a["id"], a["confirmation_code"])' "$work/pending.json" "$parked")
[[ -n $code ]] || fail "no confirmation code: $(cat "$work/pending.json")"
# One more pending approval for the read-only key to look at.
[[ $(post /webhook/proxy-exec '{"type":"tool_call","tool":"BACKUP_RUN","payload":{"target":"db"}}') == 202 ]] \
  || fail "backup: $(cat "$work/last.json")"

# The failed step makes DOC_CREATE_NOTE's error-rate alert fire (one run is enough here: min_count 1).
[[ $(post /v1/alerts/evaluate '{}') == 200 ]] || fail "alerts: $(cat "$work/last.json")"

rm -rf "$shots" && mkdir -p "$shots"
node "$(dirname "$0")/console_test.mjs" "$modules" "$base" "$chromium" "$shots" "$failing" "$parked" "$approval" "$code" \
  || fail "the console in chromium (screenshots in $shots)"
[[ $(curl -s -H 'X-API-Key: ops-key' "$base/v1/requests/$parked" | python3 -c 'import json,sys; print(json.load(sys.stdin)["request"]["status"])') == succeeded ]] \
  || fail "the approved request did not succeed"
ls "$shots"/*.png > /dev/null || fail "no screenshots"
