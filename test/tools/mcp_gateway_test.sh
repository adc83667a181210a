#!/usr/bin/env bash
# opex as an MCP server (docs/mcp-gateway.md) driven by MCP clients from the test peers: the
# official TypeScript SDK's client (mcp_gateway_test.mjs), three ways: Streamable HTTP at opexd's /mcp,
# `opexctl mcp serve --server` (stdio relayed to opexd) and `opexctl mcp serve` (stdio, its own
# engine), then the MCP Inspector's CLI over HTTP and stdio. A loopback webhook (Python) stands in for WEB_SEARCH: `slow` queries take 3 s (the
# cancellation check), `paced` ones 0.3 s (the progress check: the SDK drops a progress that
# reaches it in the same read as the answer). Arguments: the build's tools folder, the peers'
# node_modules, opex_fake_mcp.
set -euo pipefail
tools=$1 modules=$2 fake_mcp=$3
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -d $modules/@modelcontextprotocol/sdk ]] || fail "the MCP SDK is missing from $modules (tools/scripts/install-mcp-peers.sh)"

python3 - "$work/search.port" <<'PY' &
import http.server, json, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if b"slow" in body:
            time.sleep(3)
        elif b"paced" in body:  # the progress check: its answer comes after the progress, not in the same read
            time.sleep(0.3)
        out = json.dumps({"results": [{"title": "opex", "url": "https://example.org/opex"}]}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_port)); import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
for _ in $(seq 1 100); do [[ -s $work/search.port ]] && break; sleep 0.05; done
search=http://127.0.0.1:$(cat "$work/search.port")/search

cat > "$work/opex.yml" <<YAML
autonomy_level: 2
targets:
  mode: builtin
  overrides:
    WEB_SEARCH: {type: webhook, url: "$search"}
    RESTORE_BACKUP: {type: builtin, name: noop}
    N8N_WORKFLOW_PROMOTE: {type: builtin, name: noop}
tenants:
  - {slug: beta, api_keys_env: OPEX_BETA_KEYS, allowed_tools: [TASK_CREATE, LOG_APPEND]}
server:
  rate_limit: {requests_per_minute: 0}
YAML
export OPEX_API_KEYS=ops-key:all,viewer-key:read OPEX_BETA_KEYS=beta-key
. "$(dirname "$0")/opexd_lib.sh"
OPEX_DATA_DIR=$work/data start_opexd --config "$work/opex.yml"
base=http://127.0.0.1:$port
export OPEX_API_KEY=ops-key

run() {  # mode: the client's test of one transport
  node "$(dirname "$0")/mcp_gateway_test.mjs" "$modules" "$1" "$tools" "$work/opex.yml" "$base" "$work/$1-data" "$opexd_pid" \
    || fail "MCP gateway over $1 (opexd log: $(tail -n 20 "$work/opexd.out"))"
}
run http
run bridge
run stdio

# The MCP Inspector in CLI mode (@modelcontextprotocol/inspector-cli) over HTTP and over stdio.
# It looks for its package.json relative to the working folder, so it runs from its own build folder.
inspector() {
  (cd "$modules/@modelcontextprotocol/inspector-cli/build" && node cli.js --cli "$@") 2> "$work/inspector.err"
}
inspector "$base/mcp" --transport http --header "X-API-Key: ops-key" --method tools/list > "$work/insp-list.json" \
  || fail "inspector tools/list: $(cat "$work/inspector.err")"
python3 - "$work/insp-list.json" <<'PY' || fail "the inspector's tools/list over HTTP"
import json, sys
names = [t["name"] for t in json.load(open(sys.argv[1]))["tools"]]
assert "TASK_CREATE" in names and "query_logs" in names and "GIT_CLONE" not in names, names
PY
inspector "$base/mcp" --transport http --header "X-API-Key: ops-key" --method tools/call --tool-name TASK_CREATE \
  --tool-arg "title=Créée par l'inspecteur" > "$work/insp-call.json" || fail "inspector tools/call: $(cat "$work/inspector.err")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not r.get("isError") and r["structuredContent"]["status"] == "created", r' \
  "$work/insp-call.json" || fail "the inspector's TASK_CREATE over HTTP: $(cat "$work/insp-call.json")"
cat > "$work/mcp.json" <<JSON
{"mcpServers": {"opex": {"command": "$tools/opexctl", "args": ["mcp", "serve", "--config", "$work/opex.yml"],
                         "env": {"OPEX_DATA_DIR": "$work/inspector-data"}}}}
JSON
inspector --config "$work/mcp.json" --server opex --method tools/call --tool-name GIT_CLONE \
  --tool-arg repo_url=https://github.com/acme/app.git > "$work/insp-stdio.json" || fail "inspector over stdio: $(cat "$work/inspector.err")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["isError"] and r["structuredContent"]["error_code"] == "PERMISSION_DENIED", r' \
  "$work/insp-stdio.json" || fail "the inspector's GIT_CLONE over stdio: $(cat "$work/insp-stdio.json")"

# Aggregation: the reference `everything` server re-exposed through opex (stdio, the Inspector
# as client), its tools pinned at first sight; then another server under the same name (the
# fake, whose echo has another description) is refused until an operator approves the digest.
agg() {  # COMMAND ARGS_YAML: opex.yml exposing the server `peer`
  cat > "$work/agg.yml" <<YAML
autonomy_level: 2
targets: {mode: builtin}
mcp:
  servers:
    peer: {command: "$1", args: $2, expose: {risk_level: low}}
YAML
  cat > "$work/agg.json" <<JSON
{"mcpServers": {"opex": {"command": "$tools/opexctl", "args": ["mcp", "serve", "--config", "$work/agg.yml"],
                         "env": {"OPEX_DATA_DIR": "$work/agg-data"}}}}
JSON
}
pick() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
agg "$modules/.bin/mcp-server-everything" "[stdio]"
inspector --config "$work/agg.json" --server opex --method tools/list > "$work/agg-list.json" || fail "aggregated list: $(cat "$work/inspector.err")"
[[ $(pick "$work/agg-list.json" '[t["description"] for t in r["tools"] if t["name"] == "peer__echo"][0].startswith("[opex: via the MCP server peer")') == True ]] \
  || fail "everything's echo is not listed as peer__echo: $(head -c 600 "$work/agg-list.json")"
inspector --config "$work/agg.json" --server opex --method tools/call --tool-name peer__echo --tool-arg message=bonjour \
  > "$work/agg-call.json" || fail "aggregated call: $(cat "$work/inspector.err")"
[[ $(pick "$work/agg-call.json" '"bonjour" in r["content"][0]["text"] and not r.get("isError")') == True ]] \
  || fail "peer__echo through opex: $(cat "$work/agg-call.json")"
OPEX_DATA_DIR=$work/agg-data "$tools/opexctl" mcp pins --json > "$work/pins.json"
[[ $(pick "$work/pins.json" '[p["state"] for p in r["pins"] if p["tool"] == "echo"][0]') == pinned ]] || fail "echo is not pinned: $(cat "$work/pins.json")"
agg "$fake_mcp" "[]"  # the same name, another definition of echo
inspector --config "$work/agg.json" --server opex --method tools/list > "$work/agg-list2.json" || fail "list after the change"
[[ $(pick "$work/agg-list2.json" '"peer__echo" in [t["name"] for t in r["tools"]]') == False ]] || fail "a changed echo is still listed"
inspector --config "$work/agg.json" --server opex --method tools/call --tool-name peer__echo --tool-arg message=bonjour \
  > "$work/agg-refused.json" || true
[[ $(pick "$work/agg-refused.json" 'r["structuredContent"]["error_code"]') == TOOL_DEFINITION_CHANGED ]] \
  || fail "the changed echo is not refused: $(cat "$work/agg-refused.json")"
digest=$(pick "$work/agg-refused.json" 'r["structuredContent"]["details"]["current_digest"]')
rc=0; OPEX_DATA_DIR=$work/agg-data "$tools/opexctl" mcp pins --approve peer echo 0000 > /dev/null 2>&1 || rc=$?
[[ $rc -eq 4 ]] || fail "approving a digest that is not the changed one: exit $rc, not 4 (CONFLICT)"
OPEX_DATA_DIR=$work/agg-data "$tools/opexctl" mcp pins --approve peer echo "$digest" --by alice > /dev/null || fail "approve the digest"
inspector --config "$work/agg.json" --server opex --method tools/call --tool-name peer__echo --tool-arg message=bonjour \
  > "$work/agg-call2.json" || fail "call after approval"
[[ $(pick "$work/agg-call2.json" 'r["content"][0]["text"]') == *"fake: bonjour"* ]] || fail "the approved echo: $(cat "$work/agg-call2.json")"

# What the journal holds: MCP calls are journaled with source mcp and the client's name.
OPEX_DATA_DIR=$work/data "$tools/opexctl" journal --json > "$work/journal.json"
python3 - "$work/journal.json" <<'PY' || fail "the journal does not name MCP as the source"
import json, sys
entries = json.load(open(sys.argv[1]))["entries"]
mcp = [e for e in entries if e.get("metadata", {}).get("source") == "mcp"]
assert any(e.get("tool_used") == "TASK_CREATE" for e in mcp), "no TASK_CREATE from mcp"
clients = {e["metadata"].get("client", "") for e in mcp}
assert any(c.startswith("opex-gateway-test/") for c in clients) and all(clients), clients
PY
echo "mcp gateway: ok"
