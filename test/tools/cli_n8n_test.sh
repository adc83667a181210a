#!/usr/bin/env bash
# n8n and MCP from the command line against the real peers (CTest label n8n): opexctl upserts
# and activates a webhook workflow in n8n, runs a plan whose steps call mcp-server-everything
# (get-sum, echo) and that n8n webhook, runs N8N_WORKFLOW_UPSERT -> TEST -> LIST, and sees the
# guardrails refuse a name without AUTO_PROLEX_. Arguments: the build's tools folder, the MCP
# servers' bin folder, the n8n peer's data folder, the source folder.
set -euo pipefail
tools=$1 peers_bin=$2 n8n=$3 src=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data PATH="$peers_bin:$PATH"
fail() { echo "FAIL: $*" >&2; exit 1; }
url=$(cat "$n8n/url")
id=$RANDOM$RANDOM

cat > "$work/tools-webhook.yml" <<YAML
- id: N8N_CLI_ECHO
  name: "n8n echo webhook (test)"
  description: "The webhook of the workflow this test creates."
  category: n8n_webhooks
  risk_level: low
  auto_allowed_levels: [1, 2, 3]
  target: {type: webhook, url: "$url/webhook/opex-cli-$id"}
YAML
cat > "$work/opex.yml" <<YAML
autonomy_level: 3
extra_catalogues: [$src/examples/mcp/tools-mcp.yml, tools-webhook.yml]
mcp:
  servers:
    everything: {command: mcp-server-everything, args: [stdio]}
n8n:
  session_dir: $n8n/sessions
  instances:
    sandbox:
      base_url: $url
      api_key: file:$n8n/api_key
      owner_email: file:$n8n/owner_email
      owner_password: file:$n8n/owner_password
execution:
  retry: {maximum_attempts: 1}
YAML

# 1. An active webhook workflow (no review: this test owns it), created through opex.
cat > "$work/echo-workflow.json" <<JSON
{"type":"tool_call","tool":"N8N_WORKFLOW_UPSERT","payload":{
  "workflow_name":"AUTO_PROLEX_cli_echo_$id","tags":["AUTO_PROLEX"],"review_required":false,"active":true,
  "spec":{"nodes":[
    {"id":"9c1e0000-0000-4000-8000-000000000001","name":"Webhook","type":"n8n-nodes-base.webhook","typeVersion":2,
     "position":[0,0],"webhookId":"9c1e0000-0000-4000-8000-0000$(printf '%08d' $((id % 100000000)))",
     "parameters":{"httpMethod":"POST","path":"opex-cli-$id","responseMode":"lastNode","options":{}}},
    {"id":"9c1e0000-0000-4000-8000-000000000002","name":"Answer","type":"n8n-nodes-base.set","typeVersion":3.4,
     "position":[220,0],"parameters":{"mode":"manual","includeOtherFields":false,"assignments":{"assignments":[
       {"id":"a1","name":"received","type":"string","value":"={{ \$json.body.message }}"},
       {"id":"a2","name":"via","type":"string","value":"n8n"}]},"options":{}}}],
  "connections":{"Webhook":{"main":[[{"node":"Answer","type":"main","index":0}]]}}}}}
JSON
created=$("$tools/opexctl" run "$work/echo-workflow.json" --config "$work/opex.yml" --json)
grep -q '"status":"created","active":true' <<<"$created" || fail "the echo workflow was not created active: $created"

# 2. MCP then n8n in one plan: get-sum -> echo -> the n8n webhook, results passed by templates.
cat > "$work/mcp-n8n.json" <<'JSON'
{"type":"multi_tool_plan","plan":[
  {"step":1,"tool":"MCP_GET_SUM","payload":{"a":2,"b":3}},
  {"step":2,"tool":"MCP_ECHO","depends_on":[1],"payload":{"message":"{{ step_1.result.text }}"}},
  {"step":3,"tool":"N8N_CLI_ECHO","depends_on":[2],"payload":{"message":"{{ step_2.result.text }}"}}]}
JSON
both=$("$tools/opexctl" run "$work/mcp-n8n.json" --config "$work/opex.yml" --json)
grep -q '"status":"succeeded","steps"' <<<"$both" || fail "the MCP + n8n plan failed: $both"
grep -q '"step":3,"tool":"N8N_CLI_ECHO","status":"succeeded","data":{"received":"Echo: The sum of 2 and 3 is 5.","via":"n8n"}' <<<"$both" \
  || fail "n8n did not receive the MCP result: $both"

# 3. UPSERT -> TEST -> LIST on the real n8n (the example plan).
plan=$("$tools/opexctl" run "$src/examples/plans/n8n_upsert_test_list.json" --config "$work/opex.yml" --json)
grep -q '"status":"succeeded","steps"' <<<"$plan" || fail "upsert -> test -> list failed: $plan"
grep -q '"test_status":"success"' <<<"$plan" || fail "the test did not pass: $plan"
grep -q '"name":"AUTO_PROLEX_ExampleGreeting"' <<<"$plan" || fail "LIST does not show the workflow: $plan"

# 4. The guardrails refuse a name without the AUTO_PROLEX_ prefix; n8n never hears of it.
sed "s/AUTO_PROLEX_ExampleGreeting/ExampleGreeting_$id/" "$src/examples/plans/n8n_upsert_test_list.json" > "$work/unprefixed.json"
set +e
refused=$("$tools/opexctl" run "$work/unprefixed.json" --config "$work/opex.yml" --json)
code=$?
set -e
[[ $code != 0 ]] || fail "an unprefixed upsert should fail"
grep -q '"error_code":"GUARDRAIL_VIOLATION"' <<<"$refused" || fail "no GUARDRAIL_VIOLATION: $refused"
listed=$(echo '{"type":"tool_call","tool":"N8N_LIST_WORKFLOWS","payload":{}}' > "$work/list.json"; \
         "$tools/opexctl" run "$work/list.json" --config "$work/opex.yml" --json)
grep -q "ExampleGreeting_$id" <<<"$listed" && fail "the refused workflow exists in n8n"
grep -q "AUTO_PROLEX_cli_echo_$id" <<<"$listed" || fail "LIST misses the echo workflow: $listed"
echo "cli n8n: ok"
