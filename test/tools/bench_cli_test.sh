#!/usr/bin/env bash
# The benchmarks' command lines: --help prints usage and runs nothing (exit 0, fast), bad
# arguments exit 2 naming what was wrong. bench_cli_test.sh PLAN_BENCH CONNECTOR_BENCH
set -uo pipefail
plan=$1 conn=$2 failures=0
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
expect 0 "usage: opex_connector_bench" "$conn" --help
expect 2 "needs a positive number" "$conn" --calls x /tmp
expect 2 "must hold mcp-server-everything" "$conn" /nonexistent
expect 2 "unknown option --nope" "$conn" --nope
# --json prints one JSON object per line
out=$(timeout 120 "$plan" --quick --json --shapes chain --sizes 10 --runs 3) || { echo "FAIL: --json run"; failures=$((failures + 1)); }
while IFS= read -r line; do
  python3 -c 'import json,sys; json.loads(sys.argv[1])' "$line" || { echo "FAIL: not JSON: $line"; failures=$((failures + 1)); }
done <<<"$out"
grep -q '"bench":"plan"' <<<"$out" || { echo "FAIL: no plan line in: $out"; failures=$((failures + 1)); }
exit $((failures > 0))
