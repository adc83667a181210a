#!/usr/bin/env bash
# opexd_throughput.sh — opexd's requests/s and latency under wrk, for one or two builds side by
# side in one run (alternated, each on a fresh database): POST /webhook/proxy-exec with the
# spec's TASK_CREATE tool_call through auth, schemas, policies, executor, local store and
# journal, committed before the answer.
#
#   tools/bench/opexd_throughput.sh [--duration S] [--connections N] [--runs R] [--ids] OPEXD [OPEXD2]
#
#   --duration S      seconds per measurement (default 10)
#   --connections N   wrk connections (default 16; 2 wrk threads)
#   --runs R          measurements per build, alternated (default 2)
#   --ids             every request carries its own X-Request-ID (an idempotency key claimed)
#   -h, --help        this text
#
# Prints one line per measurement and a JSON line per build: {"binary", "rps": [..],
# "p50_ms": [..], "p99_ms": [..], "db_bytes_per_request": [..]} (the data directory's files
# after a clean stop over the requests they hold). Needs wrk (tools/scripts/install-deps.sh installs it).
# tools/bench/README.md says how the published figures were taken.
set -euo pipefail
duration=10 connections=16 runs=2 ids=0 bins=()
usage() { sed -n '2,18p' "$0"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --ids) ids=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "opexd_throughput: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) bins+=("$1"); shift ;;
  esac
done
[[ ${#bins[@]} -ge 1 ]] || { usage >&2; exit 2; }
command -v wrk >/dev/null || { echo "opexd_throughput: wrk not found (tools/scripts/install-deps.sh installs it)" >&2; exit 2; }
work=$(mktemp -d)
printf 'server:\n  rate_limit: {requests_per_minute: 0}\n' > "$work/no-rate-limit.yml"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"Réviser l\\'architecture Prolex","priority":"high"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "bench-key"
local ids = $ids
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  if ids == 1 then
    local t = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
    local id = string.gsub(t, "[xy]", function(c)
      local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
      return string.format("%x", v)
    end)
    wrk.headers["X-Request-ID"] = id
  end
  return wrk.format()
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\\n", summary.requests / (summary.duration / 1e6),
           latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
           summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA

measure() {  # binary label -> "rps p50 p99 requests errors"
  local bin=$1 data=$work/data-$RANDOM
  mkdir -p "$data"
  # One key on one route: the default rate limit (100 per minute) is lifted for the bench.
  # A build older than server.rate_limit refuses that key (and has no limit): it starts without.
  local args=(--config "$work/no-rate-limit.yml") pid port=""
  for attempt in 1 2; do
    OPEX_DATA_DIR=$data OPEX_API_KEYS=bench-key "$bin" --port 0 "${args[@]}" > "$work/opexd.out" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
      port=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' "$work/opexd.out")
      [[ -n $port ]] && break
      kill -0 $pid 2>/dev/null || break
      sleep 0.05
    done
    [[ -n $port ]] && break
    args=()
  done
  [[ -n $port ]] || { echo "opexd_throughput: $bin did not start: $(cat "$work/opexd.out")" >&2; exit 1; }
  wrk -t2 -c"$connections" -d2s -s "$work/post.lua" "http://127.0.0.1:$port/webhook/proxy-exec" > /dev/null  # warm-up
  wrk -t2 -c"$connections" -d"${duration}s" -s "$work/post.lua" "http://127.0.0.1:$port/webhook/proxy-exec" \
    | sed -n 's/^RESULT //p'
  kill -TERM $pid
  wait $pid || true
  # Database per request: every file of the data directory after a clean stop (the WAL is
  # checkpointed into the database), over the requests it holds (warm-up included).
  local bytes count
  bytes=$(find "$data" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  count=$(sqlite3 "$data/opex.db" "SELECT count(*) FROM requests" 2>/dev/null || echo 0)
  echo " $( [[ $count -gt 0 ]] && echo $((bytes / count)) || echo 0)"
  rm -rf "$data"
}

declare -A rps p50 p99 dbr
for run in $(seq 1 "$runs"); do
  for i in "${!bins[@]}"; do
    read -r r a b n e db < <(measure "${bins[$i]}" | tr '\n' ' '; echo)
    echo "run $run  ${bins[$i]}: $r req/s, p50 $a ms, p99 $b ms ($n requests, $e errors, $connections connections," \
      "$db bytes of database per request)"
    rps[$i]+="${rps[$i]:+,}$r" p50[$i]+="${p50[$i]:+,}$a" p99[$i]+="${p99[$i]:+,}$b" dbr[$i]+="${dbr[$i]:+,}$db"
  done
done
for i in "${!bins[@]}"; do
  echo "{\"binary\":\"${bins[$i]}\",\"connections\":$connections,\"duration_s\":$duration,\"ids\":$ids,\"rps\":[${rps[$i]}],\"p50_ms\":[${p50[$i]}],\"p99_ms\":[${p99[$i]}],\"db_bytes_per_request\":[${dbr[$i]}]}"
done
