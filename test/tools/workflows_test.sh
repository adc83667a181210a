#!/usr/bin/env bash
# The SystemJournal as an operator reads it (docs/operations.md, "Workflow metrics", "Plan
# graphs"): a mix of succeeding, failing and approval-waiting plans through opexd, then
# `opexctl stats` matches the counts computed by hand from the journal with sqlite3; a tenant's
# key sees only its own metrics; bad windows are named errors; a request's DAG is served as SVG
# by Graphviz with its failed and skipped steps, and `opexctl graph` prints DOT and Mermaid;
# `opexctl improve` proposes a TODO naming the failing tool with its evidence, and --apply
# creates it once through the guarded pipeline.
# Arguments: the build's tools folder.
set -euo pipefail
tools=$1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=ops-key:admin OPEX_BETA_KEYS=beta-key
fail() { echo "FAIL: $*" >&2; exit 1; }
cat > "$work/opex.yml" <<'YAML'
autonomy_level: 3
targets:
  mode: builtin
  overrides:
    BACKUP_RUN: {type: builtin, name: noop}
tenants:
  - {slug: beta, api_keys_env: OPEX_BETA_KEYS, autonomy_level: 3}
server:
  rate_limit: {requests_per_minute: 0}
YAML
. "$(dirname "$0")/opexd_lib.sh"
start_opexd --config "$work/opex.yml"
base=http://127.0.0.1:$port
mkdir -p "$work/client"
ctl() { OPEX_DATA_DIR=$work/client OPEX_SERVER=$base OPEX_API_KEY=${key:-ops-key} "$tools/opexctl" "$@"; }
post() {  # key path body -> status; the answer in $work/last.json
  curl -s -o "$work/last.json" -w '%{http_code}' -H "X-API-Key: $1" -H 'Content-Type: application/json' -d "$3" "$base$2"
}

# 1. The mix: three tasks, a plan whose step 2 fails (an unresolved template) and whose step 3
#    is skipped, a backup parked for approval, and a task of tenant beta.
task='{"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"Relancer le fournisseur"}}'
for _ in 1 2 3; do [[ $(post ops-key /webhook/proxy-exec "$task") == 200 ]] || fail "task: $(cat "$work/last.json")"; done
plan='{"type":"multi_tool_plan","plan":[
  {"step":1,"tool":"TASK_CREATE","payload":{"title":"Préparer la revue"}},
  {"step":2,"tool":"DOC_CREATE_NOTE","depends_on":[1],"payload":{"title":"Notes","content":"{{ step_1.result.nope }}"}},
  {"step":3,"tool":"TASK_CREATE","depends_on":[2],"payload":{"title":"Suivi"}}]}'
[[ $(post ops-key /webhook/proxy-exec "$plan") == 200 ]] || fail "plan: $(cat "$work/last.json")"
failing=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["request_id"])' "$work/last.json")
grep -q '"status":"partial"' "$work/last.json" || fail "the plan should be partial: $(cat "$work/last.json")"
[[ $(post ops-key /webhook/proxy-exec '{"type":"tool_call","tool":"BACKUP_RUN","payload":{"target":"db"}}') == 202 ]] \
  || fail "BACKUP_RUN should wait for approval: $(cat "$work/last.json")"
[[ $(post beta-key /webhook/proxy-exec "$task") == 200 ]] || fail "beta's task: $(cat "$work/last.json")"

# 2. opexctl stats against the journal, counted by hand: executions, successes, failures and
#    skips per tool, from the step outcome entries.
ctl stats --json > "$work/stats.json" || fail "stats: exit $?"
sqlite3 "$OPEX_DATA_DIR/opex.db" "SELECT tool_used, COUNT(*), SUM(json_extract(entry, '\$.tags[1]') = 'succeeded'),
  SUM(json_extract(entry, '\$.tags[1]') IN ('failed', 'timed_out')), SUM(json_extract(entry, '\$.tags[1]') = 'skipped')
  FROM journal WHERE agent = 'opex' AND tool_used IS NOT NULL AND json_extract(entry, '\$.tags[0]') = 'step'
  GROUP BY tool_used ORDER BY tool_used" > "$work/by-hand.txt"
python3 - "$work/stats.json" "$work/by-hand.txt" <<'PY' || fail "stats and the journal disagree"
import json, sys
stats = json.load(open(sys.argv[1]))
rows = {r["tool"]: r for r in stats["workflows"]}
hand = {}
for line in open(sys.argv[2]):
    tool, n, ok, failed, skipped = line.strip().split("|")
    hand[tool] = (int(n), int(ok), int(failed), int(skipped))
got = {t: (r["executions"], r["succeeded"], r["failed"], r["skipped"]) for t, r in rows.items()}
assert got == hand, (got, hand)
assert hand["TASK_CREATE"] == (6, 5, 0, 1), hand          # 3 + plan's 1 + beta's 1 succeeded, 1 skipped
assert hand["DOC_CREATE_NOTE"] == (1, 0, 1, 0), hand
assert "BACKUP_RUN" not in hand, hand                      # parked: no outcome yet
t = rows["TASK_CREATE"]
assert abs(t["success_rate"] - 5 / 6) < 1e-9 and abs(t["skipped_rate"] - 1 / 6) < 1e-9, t
assert t["latency_ms"]["p50"] is not None and t["latency_ms"]["p99"] >= t["latency_ms"]["p50"], t
assert stats["total"]["executions"] == 7 and len(stats["per_day"]) == 1, stats
PY
table=$(ctl stats) || fail "stats (table): exit $?"
[[ $table == *"TASK_CREATE"*"83.3%"* && $table == *total* ]] || fail "the stats table: $table"

# 3. A tenant's key reads its own tenant only; another tenant is refused; bad windows are named.
key=beta-key ctl stats --json > "$work/beta.json" || fail "beta's stats: exit $?"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["tenant"]=="beta" and m["total"]["executions"]==1, m' \
  "$work/beta.json" || fail "beta sees more than its own: $(cat "$work/beta.json")"
code=$(curl -s -o "$work/denied.json" -w '%{http_code}' -H 'X-API-Key: beta-key' "$base/v1/metrics/workflows?tenant=default")
[[ $code == 403 ]] && grep -q '"error_code":"PERMISSION_DENIED"' "$work/denied.json" || fail "beta reading default: $code $(cat "$work/denied.json")"
code=$(curl -s -o "$work/bad.json" -w '%{http_code}' -H 'X-API-Key: ops-key' "$base/v1/metrics/workflows?since=yesterday")
[[ $code == 400 ]] || fail "since=yesterday: $code"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert e["error_code"]=="VALIDATION_ERROR" and e["details"]["parameter"]=="since" and e["timestamp"] and "request_id" in e, e' \
  "$work/bad.json" || fail "the bad window's error: $(cat "$work/bad.json")"
rc=0; ctl stats --group-by status 2> "$work/err.txt" || rc=$?
[[ $rc == 2 ]] && grep -q "group_by" "$work/err.txt" || fail "--group-by status: rc $rc $(cat "$work/err.txt")"

# 4. The failing plan's DAG as SVG (Graphviz) and DOT from opexd, Mermaid from opexctl.
ctype=$(curl -s -o "$work/graph.svg" -w '%{content_type}' -H 'X-API-Key: ops-key' "$base/v1/requests/$failing/graph.svg")
[[ $ctype == image/svg+xml* ]] || fail "graph.svg Content-Type: $ctype $(head -c 300 "$work/graph.svg")"
python3 - "$work/graph.svg" <<'PY' || fail "the SVG: $(head -c 2000 "$work/graph.svg")"
import sys, xml.etree.ElementTree as ET
svg = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
nodes = {g.get("id"): g for g in svg.iter(ns + "g") if (g.get("id") or "").startswith("step-")}
assert sorted(nodes) == ["step-1", "step-2", "step-3"], sorted(nodes)
text = lambda g: " ".join(t.text or "" for t in g.iter(ns + "text"))
assert "succeeded" in text(nodes["step-1"]), text(nodes["step-1"])
assert "failed" in text(nodes["step-2"]) and "TEMPLATE_UNRESOLVED" in text(nodes["step-2"]), text(nodes["step-2"])
assert "skipped" in text(nodes["step-3"]) and "DEPENDENCY_FAILED" in text(nodes["step-3"]), text(nodes["step-3"])
assert len([g for g in svg.iter(ns + "g") if g.get("class") == "edge"]) == 2
PY
dot=$(curl -s -H 'X-API-Key: ops-key' "$base/v1/requests/$failing/graph.dot")
[[ $dot == "digraph plan {"* && $dot == *"s1 -> s2;"* && $dot == *"s2 -> s3;"* ]] || fail "graph.dot: $dot"
mermaid=$(ctl graph "$failing" --format mermaid) || fail "graph --format mermaid: exit $?"
[[ $mermaid == *"flowchart LR"* && $mermaid == *'s2["2. DOC_CREATE_NOTE<br/>failed'*":::failed"* && $mermaid == *"s2 --> s3"* ]] \
  || fail "mermaid: $mermaid"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-API-Key: beta-key' "$base/v1/requests/$failing/graph.svg")
[[ $code == 404 ]] || fail "beta reading default's graph: $code"
rc=0; ctl graph 0190f5c0-0000-7000-8000-000000000000 2>/dev/null || rc=$?
[[ $rc == 4 ]] || fail "an unknown request's graph should exit 4, got $rc"
[[ -z $(ls -A "$work/client") ]] || fail "opexctl wrote to its own data folder: $(ls -A "$work/client")"

# 5. Improvement proposals from the journal: the failing tool with its error code and request,
#    then --apply creates the TODO through the guarded pipeline, once a day; the configuration
#    is never touched. --apply needs the database's lock: opexd is stopped first.
kill -TERM "$opexd_pid"; wait "$opexd_pid" 2>/dev/null || true
config_before=$(sha256sum < "$work/opex.yml")
local_ctl() { "$tools/opexctl" --config "$work/opex.yml" "$@"; }
local_ctl improve --min-executions 1 --json > "$work/proposals.json" || fail "improve: exit $?"
python3 - "$work/proposals.json" "$failing" <<'PY' || fail "improve: $(cat "$work/proposals.json")"
import json, sys
proposals = json.load(open(sys.argv[1]))["proposals"]
errors = [p for p in proposals if p["kind"] == "recurrent_error"]
assert [p["subject"] for p in errors] == ["DOC_CREATE_NOTE"], proposals
e = errors[0]["evidence"]
assert e["error_code"] == "TEMPLATE_UNRESOLVED" and e["failed"] == 1 and sys.argv[2] in e["request_ids"], e
todo = errors[0]["todo"]
assert todo["tool"] == "TODO_CREATE" and "DOC_CREATE_NOTE" in todo["payload"]["title"], todo
assert sys.argv[2] in todo["payload"]["notes"], todo
PY
human=$(local_ctl improve --min-executions 1) || fail "improve (text): exit $?"
[[ $human == *"recurrent_error  Investigate DOC_CREATE_NOTE"* ]] || fail "improve's text: $human"
local_ctl improve --min-executions 1 --apply --json > "$work/applied.json" || fail "improve --apply: exit $? $(cat "$work/applied.json")"
local_ctl improve --min-executions 1 --apply --json > "$work/again.json" || fail "improve --apply again: exit $?"
python3 - "$work/applied.json" "$work/again.json" <<'PY' || fail "apply: $(cat "$work/applied.json") / $(cat "$work/again.json")"
import json, sys
first = json.load(open(sys.argv[1]))["applied"]
again = json.load(open(sys.argv[2]))["applied"]
assert first and all(a["status"] == "succeeded" and not a["replayed"] for a in first), first
assert [a["request_id"] for a in again] == [a["request_id"] for a in first] and all(a["replayed"] for a in again), again
PY
todos=$(sqlite3 "$OPEX_DATA_DIR/opex.db" "SELECT COUNT(*) FROM journal WHERE agent = 'opex' AND tool_used = 'TODO_CREATE'
  AND json_extract(entry, '\$.tags[0]') = 'step' AND status = 'success'")
[[ $todos == $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["applied"]))' "$work/applied.json") ]] \
  || fail "TODO_CREATE steps in the journal: $todos"
[[ $(sha256sum < "$work/opex.yml") == "$config_before" ]] || fail "improve changed the configuration"
echo "workflows: ok"
