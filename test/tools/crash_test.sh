#!/usr/bin/env bash
# Crash test (docs/durability.md): 8 clients post TASK_CREATE tool_calls, each with its own
# X-Request-ID, to opexd; opexd is killed with kill -9 at a random moment and restarted on the
# same database, CYCLES times. Then it counts, from the database itself: every request answered
# 200 has its final state committed, its journal entries, and exactly one task; no request,
# answered or not, created more than one task; no request is left running.
# Arguments: the build's tools folder, the source folder, [cycles (default 10)].
set -euo pipefail
tools=$1 src=$2 cycles=${3:-10}
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=crash-key
db=$work/data/opex.db items=$work/data/opex-items.db
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v sqlite3 >/dev/null || fail "sqlite3 is needed (tools/scripts/install-deps.sh installs it)"

. "$(dirname "$0")/opexd_lib.sh"
# Eight clients on one key far exceed the default 100 requests per minute: no rate limit here.
printf 'server:\n  rate_limit: {requests_per_minute: 0}\n' > "$work/opex.yml"

client() {  # posts until the stop file exists; logs "request_id http_code" per answer
  local n=$1 cycle=$2
  while [[ ! -f $work/stop.$cycle ]]; do
    local id; id=$(cat /proc/sys/kernel/random/uuid)
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-API-Key: crash-key" \
             -H 'Content-Type: application/json' -H "X-Request-ID: $id" \
             -d "{\"type\":\"tool_call\",\"tool\":\"TASK_CREATE\",\"payload\":{\"title\":\"crash $n\"}}" \
             "http://127.0.0.1:$port/webhook/proxy-exec" || true)
    echo "$id $code" >> "$work/answers.$n"
  done
}

for cycle in $(seq 1 "$cycles"); do
  start_opexd --config "$work/opex.yml"
  for n in 1 2 3 4 5 6 7 8; do client $n "$cycle" & done
  sleep "0.$((RANDOM % 8 + 4))"
  kill -9 $opexd_pid
  wait $opexd_pid 2>/dev/null || true
  touch "$work/stop.$cycle"
  wait $(jobs -p) 2>/dev/null || true
done

# A last start resumes what the last kill interrupted; then a clean stop.
start_opexd --config "$work/opex.yml"
for _ in $(seq 1 200); do
  running=$(sqlite3 "$db" "SELECT COUNT(*) FROM requests WHERE status = 'running'")
  [[ $running == 0 ]] && break
  sleep 0.1
done
kill -TERM $opexd_pid
wait $opexd_pid || fail "opexd did not stop cleanly"

cat "$work"/answers.* > "$work/answers"
answered=$(awk '$2 == 200' "$work/answers" | wc -l)
sent=$(wc -l < "$work/answers")
(( answered > 100 )) || fail "only $answered requests were answered 200"
awk '$2 == 200 {print $1}' "$work/answers" | sort > "$work/ok_ids"
sqlite3 "$db" "SELECT id FROM requests WHERE status = 'succeeded'" | sort > "$work/committed_ids"
missing=$(comm -23 "$work/ok_ids" "$work/committed_ids" | wc -l)
sqlite3 "$db" "SELECT request_id FROM journal GROUP BY request_id HAVING COUNT(*) >= 3" | sort > "$work/journaled_ids"
unjournaled=$(comm -23 "$work/ok_ids" "$work/journaled_ids" | wc -l)
sqlite3 "$items" "SELECT request_id FROM tasks GROUP BY request_id HAVING COUNT(*) = 1" | sort > "$work/one_task_ids"
without_task=$(comm -23 "$work/ok_ids" "$work/one_task_ids" | wc -l)
duplicated=$(sqlite3 "$items" "SELECT COUNT(*) FROM (SELECT request_id FROM tasks GROUP BY request_id HAVING COUNT(*) > 1)")
still_running=$(sqlite3 "$db" "SELECT COUNT(*) FROM requests WHERE status = 'running'")
tasks=$(sqlite3 "$items" "SELECT COUNT(*) FROM tasks")
echo "crash test: $cycles kill -9 cycles, $sent requests sent, $answered answered 200," \
     "$(wc -l < "$work/committed_ids") committed as succeeded, $tasks tasks;" \
     "answered but not committed $missing, without journal entries $unjournaled, without exactly one task" \
     "$without_task, requests with duplicated tasks $duplicated, still running $still_running"
(( missing == 0 )) || fail "$missing requests answered 200 have no committed final state"
(( unjournaled == 0 )) || fail "$unjournaled requests answered 200 have fewer than 3 journal entries"
(( without_task == 0 )) || fail "$without_task requests answered 200 do not have exactly one task"
(( duplicated == 0 )) || fail "$duplicated requests created more than one task"
(( still_running == 0 )) || fail "$still_running requests are still running after the last restart"
echo "crash test: passed"
