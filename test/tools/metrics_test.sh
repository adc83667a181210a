#!/usr/bin/env bash
# opexd's /metrics and access log as an operator uses them (docs/operations.md, "Metrics"): after a request that
# runs and one that is refused, the exposition passes Prometheus' own `promtool check metrics`
# and carries opex's series with their labels; then a real Prometheus server, started here on
# loopback, scrapes opexd and reports the target up with those series.
# Arguments: the build's tools folder.
set -euo pipefail
tools=$1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=metrics-key
fail() { echo "FAIL: $*" >&2; exit 1; }
H=(-H "X-API-Key: metrics-key" -H 'Content-Type: application/json')
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus: tools/scripts/install-deps.sh)"
command -v prometheus >/dev/null || fail "prometheus is missing (Debian package prometheus: tools/scripts/install-deps.sh)"

. "$(dirname "$0")/opexd_lib.sh"
start_opexd
base=http://127.0.0.1:$port

# 1. A request that runs (TASK_CREATE) and a plan that is refused (unknown tool, 404).
code=$(curl -s -o "$work/ok.json" -w '%{http_code}' "${H[@]}" -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' \
  -d '{"text":"Créer une tâche pour réviser l architecture Prolex avant vendredi"}' "$base/webhook/kimmy-intake")
[[ $code == 200 ]] || fail "kimmy-intake answered $code: $(cat "$work/ok.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" \
  -d '{"type":"tool_call","tool":"NO_SUCH_TOOL","payload":{}}' "$base/webhook/proxy-exec")
[[ $code == 404 ]] || fail "an unknown tool should answer 404, got $code"

# 2. The exposition: the media type Prometheus expects, promtool's checks, opex's series.
ctype=$(curl -s -o "$work/metrics.txt" -w '%{content_type}' "$base/metrics")
[[ $ctype == "text/plain; version=0.0.4"* ]] || fail "/metrics Content-Type is $ctype"
promtool check metrics < "$work/metrics.txt" || fail "promtool check metrics refused the exposition"
expect() { grep -qE "$1" "$work/metrics.txt" || fail "no series matching $1 in: $(grep -v '^#' "$work/metrics.txt")"; }
expect '^opex_requests_total\{entry="kimmy",status="succeeded",tenant="default",type="tool_call"\} 1$'
expect '^opex_requests_total\{entry="proxy",status="rejected",tenant="default",type="none"\} 1$'
expect '^opex_step_attempts_total\{outcome="succeeded",tool="TASK_CREATE"\} 1$'
expect '^opex_steps_total\{status="succeeded",tool="TASK_CREATE"\} 1$'
expect '^opex_step_duration_seconds_count\{tool="TASK_CREATE"\} 1$'
expect '^opex_request_duration_seconds_bucket\{entry="kimmy",le="\+Inf"\} 1$'
expect '^opex_journal_commit_seconds_count [1-9]'
expect '^opex_journal_batch_entries_sum [1-9]'
expect '^opex_http_requests_total\{code="200",method="POST",route="/webhook/kimmy-intake"\} 1$'
expect '^opex_http_requests_total\{code="404",method="POST",route="/webhook/proxy-exec"\} 1$'
expect '^opex_http_connections [0-9]'
expect '^opex_approvals_pending\{tenant="default"\} 0$'
expect '^# TYPE opex_http_request_duration_seconds histogram$'

# 2b. The access log (docs/operations.md, "Logs"): one JSON line per answer on stderr, with the
#     route, status, tenant and request id, and never the key.
python3 - "$work/opexd.out" <<'PY' || fail "access log: $(cat "$work/opexd.out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {(l["method"], l["route"], l["status"]): l for l in lines}
ok = by[("POST", "/webhook/kimmy-intake", 200)]
assert ok["tenant"] == "default" and len(ok["request_id"]) == 36 and ok["bytes"] > 0, ok
assert ok["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736", ok
assert len(by[("POST", "/webhook/proxy-exec", 404)]["trace_id"]) == 32
assert ok["level"] == "info" and ok["msg"] == "http" and ok["duration_ms"] > 0 and ok["time"].endswith("Z"), ok
assert by[("POST", "/webhook/proxy-exec", 404)]["path"] == "/webhook/proxy-exec"
assert ("GET", "/metrics", 200) in by
assert not any("metrics-key" in json.dumps(l) for l in lines), "the API key reached the log"
PY

# 3. A real Prometheus scrapes opexd every second; its API reports the target up and opex's
#    series. Prometheus picks a port from a free one found now.
prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: opexd
    static_configs: [{targets: ["127.0.0.1:$port"]}]
YAML
promtool check config "$work/prometheus.yml" >/dev/null || fail "promtool refused the test's prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" > "$work/prometheus.out" 2>&1 &
prom=http://127.0.0.1:$prom_port
query() { curl -s --max-time 2 --get --data-urlencode "query=$1" "$prom/api/v1/query" || true; }
up="" series=""
for _ in $(seq 1 300); do
  up=$(query 'up{job="opexd"}')
  series=$(query 'opex_requests_total{job="opexd",entry="kimmy",type="tool_call"}')
  if [[ $up == *'"value":['*',"1"]'* && $series == *'"status":"succeeded"'* ]]; then break; fi
  sleep 0.1
done
[[ $up == *'"value":['*',"1"]'* ]] || fail "Prometheus does not see opexd up: $up $(tail -5 "$work/prometheus.out")"
[[ $series == *'"status":"succeeded"'* ]] || fail "Prometheus has no opex_requests_total from opexd: $series"
targets=$(curl -s "$prom/api/v1/targets")
[[ $targets == *'"health":"up"'* ]] || fail "the opexd target is not healthy: $targets"
echo "metrics: promtool and a real Prometheus accept opexd's /metrics"
