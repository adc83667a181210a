#!/usr/bin/env bash
# vs_n8n.sh — opexd and n8n side by side on this machine, alternated in one run, as ratios:
# n8n 1.123.81 (tools/scripts/n8n-peer.sh, its defaults: executions saved in SQLite) answering a
# Webhook -> Set -> Respond to Webhook workflow, against opexd's POST /webhook/proxy-exec with a
# TASK_CREATE tool_call (auth, schemas, policies, executor, local store, journal, committed
# before the answer) and POST /webhook/kimmy-intake (Kimmy, Prolex, the Proxy Master and the same step).
# Then, with --overload S, opexd under S seconds of 256 connections: its RSS idle, at the end
# and after, against n8n's after its own runs, and how many requests it refused with 503.
#
#   tools/bench/vs_n8n.sh [--runs R] [--duration S] [--connections N] [--overload S] OPEXD
#
#   --runs R          measurements per target, alternated (default 2)
#   --duration S      seconds per measurement (default 10; each after a 2 s warm-up)
#   --connections N   wrk connections (default 16; 2 wrk threads)
#   --overload S      seconds of the overload phase (default 0: none; the issue's figure is 60)
#   -h, --help        this text
#
# Prints one line per measurement, then one JSON line: {"runs", "n8n": {"rps": [..],
# "p99_ms": [..]}, "opexd_task": {..}, "opexd_intake": {..}, "ratio_task", "ratio_intake",
# "rss_kib": {"n8n", "opexd_idle", "opexd_overload_end", "opexd_after"}, "overload_503"}.
# Needs wrk and Node.js (tools/scripts/install-deps.sh); installs n8n on first use (minutes).
# Exit codes: 0 done, 1 a peer failed, 2 bad arguments.
set -euo pipefail
runs=2 duration=10 connections=16 overload=0 opexd=""
usage() { awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --overload) overload=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "vs_n8n: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) [[ -z $opexd ]] || { echo "vs_n8n: one OPEXD, not also $1" >&2; exit 2; }; opexd=$1; shift ;;
  esac
done
[[ -n $opexd && -x $opexd ]] || { echo "vs_n8n: OPEXD must be an opexd binary" >&2; usage >&2; exit 2; }
for n in "$runs" "$duration" "$connections" "$overload"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "vs_n8n: '$n' is not a number" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "vs_n8n: wrk not found (tools/scripts/install-deps.sh installs it)" >&2; exit 2; }
peer="$(cd "$(dirname "$0")/../scripts" && pwd)/n8n-peer.sh"
work=$(mktemp -d)
opexd_pid=""
cleanup() {
  [[ -n $opexd_pid ]] && kill -TERM "$opexd_pid" 2>/dev/null || true
  "$peer" stop "$work/n8n" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- n8n: install, start, one active workflow ------------------------------------------------
"$peer" install > /dev/null || exit 1
"$peer" start "$work/n8n" > /dev/null || exit 1
n8n_url=$(cat "$work/n8n/url")
cat > "$work/workflow.json" <<'JSON'
{"name": "opex-bench-task-create",
 "nodes": [
  {"id": "a1", "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2, "position": [0, 0],
   "webhookId": "5b0c1f8e-8d9e-4c44-9a55-0a9f0e0b0001",
   "parameters": {"httpMethod": "POST", "path": "opex-bench", "responseMode": "responseNode", "options": {}}},
  {"id": "a2", "name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [220, 0],
   "parameters": {"assignments": {"assignments": [
     {"id": "b1", "name": "task_id", "value": "={{ $execution.id }}", "type": "string"},
     {"id": "b2", "name": "title", "value": "={{ $json.body.payload.title }}", "type": "string"},
     {"id": "b3", "name": "status", "value": "created", "type": "string"}]}, "options": {}}},
  {"id": "a3", "name": "Respond", "type": "n8n-nodes-base.respondToWebhook", "typeVersion": 1.1, "position": [440, 0],
   "parameters": {"respondWith": "firstIncomingItem", "options": {}}}],
 "connections": {"Webhook": {"main": [[{"node": "Set", "type": "main", "index": 0}]]},
                 "Set": {"main": [[{"node": "Respond", "type": "main", "index": 0}]]}},
 "settings": {"executionOrder": "v1"}}
JSON
api() { curl -sS -H "X-N8N-API-KEY: $(cat "$work/n8n/api_key")" -H 'Content-Type: application/json' "$@"; }
wf_id=$(api -X POST "$n8n_url/api/v1/workflows" --data @"$work/workflow.json" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);if(!o.id){console.error(s);process.exit(1)}console.log(o.id)})') \
  || { echo "vs_n8n: n8n refused the workflow" >&2; exit 1; }
api -X POST "$n8n_url/api/v1/workflows/$wf_id/activate" -o /dev/null
body='{"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"Réviser l'"'"'architecture Prolex","priority":"high"}}'
[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$body" \
      "$n8n_url/webhook/opex-bench") == 200 ]] || { echo "vs_n8n: n8n's webhook does not answer 200" >&2; exit 1; }

# --- opexd --------------------------------------------------------------------------------------
mkdir -p "$work/opex"
printf 'server:\n  rate_limit: {requests_per_minute: 0}\n' > "$work/no-rate-limit.yml"  # one key, one route
OPEX_DATA_DIR=$work/opex OPEX_API_KEYS=bench-key "$opexd" --port 0 --config "$work/no-rate-limit.yml" > "$work/opexd.out" 2>&1 &
opexd_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' "$work/opexd.out")
  [[ -n $port ]] && break
  sleep 0.05  # waiting for opexd to print its port
done
[[ -n $port ]] || { echo "vs_n8n: opexd did not start: $(cat "$work/opexd.out")" >&2; exit 1; }
opex_url="http://127.0.0.1:$port"

script() {  # script FILE BODY [API_KEY]
  local key_line=""
  [[ -n ${3:-} ]] && key_line="wrk.headers[\"X-API-Key\"] = \"$3\""
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.body = [==[$2]==]
wrk.headers["Content-Type"] = "application/json"
$key_line
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d %d\\n", summary.requests / (summary.duration / 1e6),
           latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
           summary.errors.connect + summary.errors.read + summary.errors.timeout, summary.errors.status))
end
LUA
}
script "$work/n8n.lua" "$body"
script "$work/task.lua" "$body" bench-key
script "$work/intake.lua" '{"text":"Créer une tâche pour réviser l'"'"'architecture Prolex avant vendredi"}' bench-key
declare -A url=([n8n]="$n8n_url/webhook/opex-bench" [opexd_task]="$opex_url/webhook/proxy-exec" [opexd_intake]="$opex_url/webhook/kimmy-intake")
declare -A rps p99
targets=(n8n opexd_task opexd_intake)
for t in "${targets[@]}"; do wrk -t2 -c"$connections" -d2s -s "$work/${t#opexd_}.lua" "${url[$t]}" > /dev/null; done  # warm-up
for run in $(seq 1 "$runs"); do
  for t in "${targets[@]}"; do
    read -r r a b n e s < <(wrk -t2 -c"$connections" -d"${duration}s" -s "$work/${t#opexd_}.lua" "${url[$t]}" | sed -n 's/^RESULT //p')
    echo "run $run  $t: $r req/s, p50 $a ms, p99 $b ms ($n requests, $e socket errors, $s non-2xx, $connections connections)"
    rps[$t]+="${rps[$t]:+,}$r" p99[$t]+="${p99[$t]:+,}$b"
  done
done

rss() {  # KiB of a process and its descendants
  local total=0 p
  for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    total=$((total + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
n8n_rss=$(rss "$(cat "$work/n8n/n8n.pid")")
sleep 2  # opexd settles: what it holds idle, not mid-request
idle_rss=$(rss "$opexd_pid") end_rss=0 after_rss=0 refused=0
if [[ $overload -gt 0 ]]; then
  read -r r a b n e refused < <(wrk -t2 -c256 -d"${overload}s" -s "$work/task.lua" "${url[opexd_task]}" | sed -n 's/^RESULT //p')
  end_rss=$(rss "$opexd_pid")
  echo "overload: ${overload} s at 256 connections: $r req/s answered 2xx or 503, $refused refused (503 OVERLOADED), p99 $b ms"
  sleep 5  # the backlog drains
  after_rss=$(rss "$opexd_pid")
fi
ratio() { python3 -c 'import sys; a=[float(x) for x in sys.argv[1].split(",")]; b=[float(x) for x in sys.argv[2].split(",")]; print(round(min(a)/max(b),1), round(max(a)/min(b),1))' "$1" "$2"; }
read -r task_lo task_hi < <(ratio "${rps[opexd_task]}" "${rps[n8n]}")
read -r intake_lo intake_hi < <(ratio "${rps[opexd_intake]}" "${rps[n8n]}")
echo "opexd TASK_CREATE / n8n: ${task_lo}-${task_hi}x; kimmy intake / n8n: ${intake_lo}-${intake_hi}x"
echo "RSS (KiB): n8n $n8n_rss; opexd idle $idle_rss, end of overload $end_rss, 5 s after $after_rss"
printf '{"runs":%d,"duration_s":%d,"connections":%d' "$runs" "$duration" "$connections"
for t in "${targets[@]}"; do printf ',"%s":{"rps":[%s],"p99_ms":[%s]}' "$t" "${rps[$t]}" "${p99[$t]}"; done
printf ',"ratio_task":[%s,%s],"ratio_intake":[%s,%s]' "$task_lo" "$task_hi" "$intake_lo" "$intake_hi"
printf ',"rss_kib":{"n8n":%d,"opexd_idle":%d,"opexd_overload_end":%d,"opexd_after":%d},"overload_s":%d,"overload_503":%d}\n' \
  "$n8n_rss" "$idle_rss" "$end_rss" "$after_rss" "$overload" "${refused:-0}"
