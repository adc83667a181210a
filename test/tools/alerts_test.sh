#!/usr/bin/env bash
# opex's own alerts as an operator meets them (docs/operations.md, "Alerts"): with the default
# rules, breaking a target (WEB_SEARCH answers 500) makes its error-rate alert fire once and,
# once repaired and the failures diluted, resolve once; each transition reaches a webhook
# receiver once, signed (the receiver checks the HMAC with Python's hmac, not opex's code);
# `opexctl alerts` shows the states, a read-only key may list but not evaluate, and a restarted
# opexd finds the states where they were and sends nothing again.
# Arguments: the build's tools folder.
set -euo pipefail
tools=$1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=ops-key:admin,viewer-key:read OPEX_ALERT_SECRET=alert-signing-secret
fail() { echo "FAIL: $*" >&2; exit 1; }

# The target and the alert receiver: one Python server. /search fails while $work/broken
# exists; /alerts checks X-Opex-Signature and logs one JSON line per notification.
python3 - "$work" <<'PY' > "$work/peer.out" 2>&1 &
import hashlib, hmac, http.server, json, os, sys
work = sys.argv[1]
class Peer(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/search":
            status = 500 if os.path.exists(work + "/broken") else 200
        else:
            ts = self.headers.get("X-Opex-Timestamp", "")
            want = "sha256=" + hmac.new(b"alert-signing-secret", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(want, self.headers.get("X-Opex-Signature", ""))
            with open(work + "/alerts.jsonl", "a") as log:
                log.write(json.dumps({"signed": ok, "key": self.headers.get("Idempotency-Key"), "body": json.loads(body)}) + "\n")
            status = 204 if ok else 401
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Peer)
print("port", server.server_address[1], flush=True)
server.serve_forever()
PY
for _ in $(seq 1 100); do peer=$(sed -nE 's/^port ([0-9]+)$/\1/p' "$work/peer.out"); [[ -n $peer ]] && break; sleep 0.05; done
[[ -n $peer ]] || fail "the peer did not start: $(cat "$work/peer.out")"

cat > "$work/opex.yml" <<YAML
autonomy_level: 3
targets:
  mode: builtin
  overrides:
    WEB_SEARCH: {type: webhook, url: "http://127.0.0.1:$peer/search"}
execution:
  retry: {maximum_attempts: 1}
circuit_breaker:
  enabled: false
server:
  rate_limit: {requests_per_minute: 0}
alerts:
  evaluation_interval_ms: 0
  targets:
    - {name: ops, type: webhook, url: "http://127.0.0.1:$peer/alerts", secret_env: OPEX_ALERT_SECRET}
YAML
. "$(dirname "$0")/opexd_lib.sh"
start_opexd --config "$work/opex.yml"
base=http://127.0.0.1:$port
mkdir -p "$work/client"
ctl() { OPEX_DATA_DIR=$work/client OPEX_SERVER=$base OPEX_API_KEY=${key:-ops-key} "$tools/opexctl" "$@"; }
search() {  # n: n WEB_SEARCH calls
  for _ in $(seq 1 "$1"); do
    curl -s -o /dev/null -H 'X-API-Key: ops-key' -H 'Content-Type: application/json' \
      -d '{"type":"tool_call","tool":"WEB_SEARCH","payload":{"query":"opex"}}' "$base/webhook/proxy-exec"
  done
}
sent() { [[ -f $work/alerts.jsonl ]] && wc -l < "$work/alerts.jsonl" || echo 0; }

# 1. Four failures are below the default minimum count (5): nothing fires.
touch "$work/broken"
search 4
ctl alerts --evaluate --json > "$work/eval.json" || fail "evaluate: $(cat "$work/eval.json")"
[[ $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["transitions"]))' "$work/eval.json") == 0 ]] \
  || fail "4 failures should not page: $(cat "$work/eval.json")"

# 2. Two more: workflow_error_rate fires for WEB_SEARCH, delivered once, signed.
search 2
ctl alerts --evaluate > "$work/eval.txt" || fail "evaluate: $(cat "$work/eval.txt")"
grep -Eq '^workflow_error_rate +WEB_SEARCH +firing +100.0%' "$work/eval.txt" || fail "not firing: $(cat "$work/eval.txt")"
[[ $(sent) == 1 ]] || fail "one notification expected, got $(sent)"
python3 - "$work/alerts.jsonl" <<'PY' || fail "the firing notification: $(cat "$work/alerts.jsonl")"
import json, sys
n = [json.loads(l) for l in open(sys.argv[1])][0]
assert n["signed"], "the signature does not verify"
assert n["body"]["to"] == "firing" and n["body"]["alert"]["subject"] == "WEB_SEARCH", n
assert n["key"] == n["body"]["transition_id"], "Idempotency-Key is not the transition id"
assert n["body"]["alert"]["count"] == 6 and n["body"]["rule"]["min_count"] == 5, n
PY

# 3. Still broken, evaluated again: nothing is sent twice.
search 1
ctl alerts --evaluate > /dev/null
[[ $(sent) == 1 ]] || fail "a firing alert was sent again"

# 4. Repaired: 70 successes bring the rate to 7/77 (under 10 %): resolved, once.
rm "$work/broken"
search 70
ctl alerts --evaluate --json > "$work/eval.json"
python3 - "$work/eval.json" <<'PY' || fail "not resolved: $(cat "$work/eval.json")"
import json, sys
t = json.load(open(sys.argv[1]))["transitions"]
assert len(t) == 1 and t[0]["to"] == "resolved" and t[0]["from"] == "firing", t
PY
ctl alerts --evaluate > /dev/null
[[ $(sent) == 2 ]] || fail "fire once and resolve once: $(sent) notifications"
[[ $(tail -1 "$work/alerts.jsonl" | python3 -c 'import json,sys; n=json.load(sys.stdin); print(n["signed"], n["body"]["to"])') == "True resolved" ]] \
  || fail "the resolution: $(tail -1 "$work/alerts.jsonl")"

# 5. The table, a read-only key, and the journal.
ctl alerts > "$work/list.txt"
grep -Eq '^workflow_error_rate +WEB_SEARCH +resolved' "$work/list.txt" || fail "opexctl alerts: $(cat "$work/list.txt")"
key=viewer-key ctl alerts > /dev/null || fail "a read-only key should list the alerts"
set +e; key=viewer-key ctl alerts --evaluate > "$work/denied.txt" 2>&1; rc=$?; set -e
[[ $rc == 2 ]] && grep -q PERMISSION_DENIED "$work/denied.txt" || fail "a read-only key evaluated (rc $rc): $(cat "$work/denied.txt")"
[[ $(curl -s -o /dev/null -w '%{http_code}' -H 'X-API-Key: ops-key' "$base/v1/alerts?x=1") == 400 ]] \
  || fail "an unknown parameter should be 400"
journal=$(curl -s -H 'X-API-Key: ops-key' "$base/v1/journal?agent=system&limit=100")
[[ $(python3 -c 'import json,sys
e=[x for x in json.loads(sys.argv[1])["entries"] if x["action_type"]=="alert"]
print(sorted(x["tags"][1] for x in e))' "$journal") == "['delivery', 'delivery', 'firing', 'resolved']" ]] \
  || fail "the journal's alert entries: $journal"

# 6. A restart finds the states where they were and sends nothing again.
kill -TERM $opexd_pid; wait $opexd_pid || true
start_opexd --config "$work/opex.yml"
base=http://127.0.0.1:$port
ctl alerts > "$work/list.txt"
grep -Eq '^workflow_error_rate +WEB_SEARCH +resolved' "$work/list.txt" || fail "after the restart: $(cat "$work/list.txt")"
ctl alerts --evaluate > /dev/null
[[ $(sent) == 2 ]] || fail "the restart sent a notification again"
echo "alerts: ok"
