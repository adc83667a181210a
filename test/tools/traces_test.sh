#!/usr/bin/env bash
# opexd's spans as an operator collects them (docs/operations.md, "Traces"): opexd exports over
# OTLP/HTTP to a loopback receiver that decodes every body with OpenTelemetry's own OTLP
# definitions (test/tools/otlp_receiver.js). A Kimmy request sent with a client's traceparent,
# the same request's payload planned by Prolex, and a plan of MCP calls (the reference
# `everything` server) each give one trace, with the GenAI span names, the client's trace id and
# parent, the MCP method on the connector calls, and the masked arguments the config asks for.
# Arguments: the build's tools folder, the MCP peers' node_modules folder, the source folder.
set -euo pipefail
tools=$1 modules=$2 src=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=trace-key PATH="$modules/.bin:$PATH"
fail() { echo "FAIL: $*" >&2; exit 1; }
H=(-H "X-API-Key: trace-key" -H 'Content-Type: application/json')
cd "$work"

node "$here/otlp_receiver.js" "$modules" "$work/spans.jsonl" "$work/otlp.port" > "$work/receiver.out" 2>&1 &
receiver=$!
for _ in $(seq 1 100); do [[ -s $work/otlp.port ]] && break; sleep 0.05; done
[[ -s $work/otlp.port ]] || fail "the OTLP receiver did not start: $(cat "$work/receiver.out")"

cat > "$work/opex.yml" <<YAML
extra_catalogues: [$src/examples/mcp/tools-mcp.yml]
mcp:
  servers:
    everything: {command: mcp-server-everything, args: [stdio]}
server:
  rate_limit: {requests_per_minute: 0}
tracing:
  endpoint: http://127.0.0.1:$(cat "$work/otlp.port")/v1/traces
  service_name: opexd-trace-test
  flush_interval_ms: 100
  capture_content: true
YAML
. "$here/opexd_lib.sh"
start_opexd --config "$work/opex.yml"
base=http://127.0.0.1:$port

client_trace=4bf92f3577b34da6a3ce929d0e0e4736 client_span=00f067aa0ba902b7
curl -s -D "$work/kimmy.headers" -o "$work/kimmy.json" "${H[@]}" \
  -H "traceparent: 00-$client_trace-$client_span-01" \
  -d '{"text":"Créer une tâche pour réviser l architecture Prolex avant vendredi"}' "$base/webhook/kimmy-intake"
grep -qi "^traceparent: 00-$client_trace-" "$work/kimmy.headers" || fail "the answer does not carry the client's trace"
python3 - "$work/kimmy.json" > "$work/prolex.json" <<'PY'
import json, sys, uuid
k = json.load(open(sys.argv[1]))["kimmy"]
k["request_id"] = str(uuid.uuid4())
print(json.dumps(k))
PY
code=$(curl -s -o "$work/prolex.out" -w '%{http_code}' "${H[@]}" -d @"$work/prolex.json" "$base/webhook/prolex-intake")
[[ $code == 200 ]] || fail "prolex-intake answered $code: $(cat "$work/prolex.out")"
plan='{"type":"multi_tool_plan","plan":[{"step":1,"tool":"MCP_GET_SUM","payload":{"a":2,"b":3}},
      {"step":2,"tool":"MCP_ECHO","depends_on":[1],"payload":{"message":"{{ step_1.result.text }} api_key=sk-live-0123456789abcdef"}}]}'
code=$(curl -s -o "$work/mcp.out" -w '%{http_code}' "${H[@]}" -d "$plan" "$base/webhook/proxy-exec")
[[ $code == 200 ]] || fail "the MCP plan answered $code: $(cat "$work/mcp.out")"

# SIGTERM drains: the last spans are sent before opexd exits.
kill -TERM "$opexd_pid"
wait "$opexd_pid" || fail "opexd exited $? on SIGTERM: $(tail -5 "$work/opexd.out")"
[[ ! -s $work/spans.jsonl.errors ]] || fail "the receiver refused an export: $(cat "$work/spans.jsonl.errors")"
[[ -s $work/spans.jsonl ]] || fail "no span reached the receiver: $(tail -5 "$work/opexd.out")"

python3 - "$work/spans.jsonl" "$client_trace" "$client_span" <<'PY' || fail "spans: $(cat "$work/spans.jsonl")"
import json, sys, collections
spans = [json.loads(l) for l in open(sys.argv[1])]
client_trace, client_span = sys.argv[2], sys.argv[3]
traces = collections.defaultdict(list)
for s in spans:
    traces[s["traceId"]].append(s)
assert len(traces) == 3, f"{len(traces)} traces, expected one per request"
assert all(s["resource"]["service.name"] == "opexd-trace-test" for s in spans)
roots = {}
for tid, ss in traces.items():
    ids = {s["spanId"] for s in ss}
    assert len(ids) == len(ss), f"duplicate span ids in {tid}"
    top = [s for s in ss if s["parentSpanId"] not in ids]
    assert len(top) == 1 and top[0]["name"] == "invoke_agent opex" and top[0]["kind"] == 2, top
    roots[tid] = (top[0], {s["name"]: s for s in ss})
root, kimmy = roots[client_trace]
assert root["parentSpanId"] == client_span, root
assert {"invoke_agent kimmy", "invoke_agent proxy_master", "execute_tool TASK_CREATE"} <= set(kimmy), sorted(kimmy)
task = kimmy["execute_tool TASK_CREATE"]
assert task["attributes"]["gen_ai.tool.name"] == "TASK_CREATE" and task["attributes"]["gen_ai.operation.name"] == "execute_tool"
assert task["attributes"]["gen_ai.tool.call.id"].endswith(":1"), task
assert task["parentSpanId"] == root["spanId"]
assert kimmy["invoke_agent kimmy"]["attributes"]["gen_ai.agent.name"] == "kimmy"
prolex = [names for tid, (r, names) in roots.items() if tid != client_trace and "invoke_agent prolex" in names]
assert len(prolex) == 1 and prolex[0]["invoke_agent opex"]["parentSpanId"] == "", "no trace of the prolex-intake request"
assert "invoke_agent kimmy" not in prolex[0] and "execute_tool TASK_CREATE" in prolex[0], sorted(prolex[0])
mcp = next(names for tid, (r, names) in roots.items() if "execute_tool MCP_ECHO" in names)
for tool, call in (("MCP_GET_SUM", "tools/call get-sum"), ("MCP_ECHO", "tools/call echo")):
    assert call in mcp, sorted(mcp)
    assert mcp[call]["kind"] == 3 and mcp[call]["attributes"]["mcp.method.name"] == "tools/call"
    assert mcp[call]["parentSpanId"] == mcp["execute_tool " + tool]["spanId"]
args = mcp["execute_tool MCP_ECHO"]["attributes"]["gen_ai.tool.call.arguments"]
assert "The sum of 2 and 3 is 5" in args and "sk-live-0123456789abcdef" not in args, args
assert "Echo:" in mcp["execute_tool MCP_ECHO"]["attributes"]["gen_ai.tool.call.result"]
assert all(s["status"]["code"] == 0 for s in spans), [s for s in spans if s["status"]["code"]]
PY
echo "traces: ok"
