#!/usr/bin/env bash
# The benchmarks' command lines: --help prints usage and runs nothing (exit 0, fast), bad
# arguments exit 2 naming what was wrong. bench_cli_test.sh PLAN_BENCH CONNECTOR_BENCH JOURNAL_BENCH
set -uo pipefail
plan=$1 conn=$2 journal=$3 failures=0
expect() {  # expect CODE PATTERN CMD...
  local code=$1 pattern=$2; shift 2
  local out rc
  out=$(timeout 20 "$@" 2>&1); rc=$?
  if [[ $rc -ne $code ]] || ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (want $code), output: $out"; failures=$((failures + 1))
  else
    echo "ok: $* -> $code"
  fi
}
expect 0 "usage: opex_plan_bench" "$plan" --help
expect 2 "unknown shape ring" "$plan" --shapes ring
expect 2 "at least 2 steps" "$plan" --sizes 1
expect 2 "unknown argument --fast" "$plan" --fast
expect 2 "cannot read the configuration file" "$plan" --config /nonexistent/opex.yml
expect 0 "usage: opex_connector_bench" "$conn" --help
expect 2 "needs a positive number" "$conn" --calls x /tmp
expect 2 "must hold mcp-server-everything" "$conn" /nonexistent
expect 2 "unknown option --nope" "$conn" --nope
scripts="$(cd "$(dirname "$0")/../../tools/bench" && pwd)"
expect 0 "vs_n8n.sh — opexd and n8n side by side" "$scripts/vs_n8n.sh" --help
expect 2 "unknown option --nope" "$scripts/vs_n8n.sh" --nope
expect 2 "OPEXD must be an opexd binary" "$scripts/vs_n8n.sh"
expect 2 "'x' is not a number" "$scripts/vs_n8n.sh" --runs x /bin/true
expect 0 "opexd_throughput.sh — opexd's requests/s" "$scripts/opexd_throughput.sh" --help
expect 2 "unknown option --nope" "$scripts/opexd_throughput.sh" --nope
expect 0 "usage: opex_journal_bench" "$journal" --help
expect 2 "a batch must be a positive number, not 'x'" "$journal" --batches 8,x
expect 2 "--entries must be a positive number" "$journal" --entries 0
expect 2 "unknown argument --fast" "$journal" --fast
# The journal bench commits what it says: its rows are in the database it leaves in --dir.
dir=$(mktemp -d)
out=$(timeout 120 "$journal" --json --entries 400 --batches 1,64 --dir "$dir") || { echo "FAIL: journal --json run"; failures=$((failures + 1)); }
[[ $(grep -c '"bench":"journal"' <<<"$out") -eq 2 ]] || { echo "FAIL: want two journal lines in: $out"; failures=$((failures + 1)); }
while IFS= read -r line; do
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["entries"]==400 and d["entries_per_s"]>0 and d["bytes_per_entry"]>0, d' "$line" \
    || { echo "FAIL: bad journal line: $line"; failures=$((failures + 1)); }
done <<<"$out"
rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from journal").fetchone()[0])' "$dir/journal-64.db")
[[ $rows == 400 ]] || { echo "FAIL: journal-64.db holds $rows rows, not 400"; failures=$((failures + 1)); }
rm -rf "$dir"
# --json prints one JSON object per line
out=$(timeout 120 "$plan" --quick --json --shapes chain --sizes 10 --runs 3) || { echo "FAIL: --json run"; failures=$((failures + 1)); }
while IFS= read -r line; do
  python3 -c 'import json,sys; json.loads(sys.argv[1])' "$line" || { echo "FAIL: not JSON: $line"; failures=$((failures + 1)); }
done <<<"$out"
grep -q '"bench":"plan"' <<<"$out" || { echo "FAIL: no plan line in: $out"; failures=$((failures + 1)); }
exit $((failures > 0))
