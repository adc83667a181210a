#!/usr/bin/env bash
# Command-line acceptance, as a new user would type it: opexctl ask/journal/validate/run
# (against a loopback webhook server) and opexd with curl. Arguments: the build's tools folder,
# the test support folder, the source folder.
set -euo pipefail
tools=$1 support=$2 src=$3
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. ask: the foundation request, dates fixed on Wednesday 2026-11-18.
out=$("$tools/opexctl" ask "Créer une tâche pour réviser l'architecture Prolex avant vendredi" --json --now 2026-11-18T09:00:00+01:00)
grep -q '"tool":"TASK_CREATE"' <<<"$out" || fail "ask did not plan TASK_CREATE: $out"
grep -q '"status":"created"' <<<"$out" || fail "task not created: $out"
grep -q '"due_date":"2026-11-20"' <<<"$out" || fail "due_date is not the coming Friday: $out"
id=$(sed -E 's/^\{"request_id":"([0-9a-f-]{36})".*/\1/' <<<"$out")
[[ ${#id} == 36 ]] || fail "no request id in: $out"

# 2. journal: kimmy, prolex, proxy and opex entries for that request.
journal=$("$tools/opexctl" journal --request-id "$id")
for agent in kimmy prolex proxy opex; do
  grep -qE "Z  $agent " <<<"$journal" || fail "no $agent entry in the journal: $journal"
done

# 3. validate: the example plans are valid, a broken one is not (exit 1, errors listed).
for plan in "$src"/examples/plans/*.json; do
  "$tools/opexctl" validate "$plan" >/dev/null || fail "$plan should be valid"
done
echo '{"type":"tool_call","tool":"lower_case"}' > "$work/bad.json"
if "$tools/opexctl" validate "$work/bad.json" 2>/dev/null; then fail "bad.json should be invalid"; fi
"$tools/opexctl" validate "$src/examples/opex.yml" >/dev/null || fail "examples/opex.yml should be valid"
"$tools/opexctl" validate "$src/examples/opexd-operations.yml" >/dev/null || fail "examples/opexd-operations.yml should be valid"
# A target its connector type refuses, and an unknown guard policy, are found by validate too.
printf 'targets:\n  overrides:\n    TASK_CREATE: {type: webhook, url: "ftp://x/y"}\n' > "$work/bad-target.yml"
rc=0; out=$("$tools/opexctl" validate "$work/bad-target.yml" 2>&1) || rc=$?
[[ $rc -eq 1 && $out == *"targets.overrides.TASK_CREATE"* ]] || fail "a webhook override with an ftp url should be invalid (rc $rc): $out"
printf -- '- id: X\n  category: core\n  target: {type: smtp, host: mail}\n' > "$work/bad-catalogue.yml"
rc=0; out=$("$tools/opexctl" validate "$work/bad-catalogue.yml" 2>&1) || rc=$?
[[ $rc -eq 1 && $out == *"unknown target type 'smtp'"* ]] || fail "a catalogue with an unknown target type should be invalid (rc $rc): $out"
printf 'guard:\n  step_policies: [autonomy, nope]\n' > "$work/bad-guard.yml"
rc=0; out=$("$tools/opexctl" validate "$work/bad-guard.yml" 2>&1) || rc=$?
[[ $rc -eq 1 && $out == *"unknown policy 'nope'"* ]] || fail "an unknown guard policy should be invalid (rc $rc): $out"

# 4. run: the N8N plan against a loopback webhook server; step 2 fails, 3-4 are skipped.
cat > "$work/script.json" <<'JSON'
{"/webhook/n8n-workflow-design": {"body": {"spec": {"name": "wf", "nodes": [{"name": "Webhook"}], "connections": {}}}},
 "/webhook/n8n-workflow-upsert": [{"status": 400, "body": {"error": "rejected"}}],
 "/webhook/n8n-workflow-test": {"body": {"test_status": "success"}},
 "/webhook/log-append": {"body": {"logged": true}}}
JSON
mkfifo "$work/stdin" "$work/stdout"
exec 3<>"$work/stdin" 4<>"$work/stdout"  # read-write ends: opening never blocks
"$support/opex_fake_webhook" "$work/script.json" "$work/requests.jsonl" <&3 >&4 &
read -r -t 20 -u 4 line || fail "fake webhook server did not start"
port=${line#port }
[[ -n $port ]] || fail "fake webhook server did not print its port: $line"
cat > "$work/opex.yml" <<YAML
autonomy_level: 3
targets:
  mode: webhook
  webhook_base_url: http://127.0.0.1:$port
YAML
set +e
run=$("$tools/opexctl" run "$src/examples/plans/n8n_design_upsert_test_log.json" --config "$work/opex.yml" --json)
code=$?
set -e
[[ $code == 1 ]] || fail "a partial plan should exit 1, got $code"
grep -q '"step":3,"tool":"N8N_WORKFLOW_TEST","status":"skipped"' <<<"$run" || fail "step 3 not skipped: $run"
grep -q 'dependency step 2 failed' <<<"$run" || fail "no skip reason: $run"
grep -q '"step":4,"tool":"LOG_APPEND","status":"skipped"' <<<"$run" || fail "step 4 not skipped: $run"
head -1 "$work/requests.jsonl" | grep -q n8n-workflow-design || fail "design was not called first"
sed -n 2p "$work/requests.jsonl" | grep -q '"body":"{\\"workflow_name\\":\\"AUTO_PROLEX_GithubIssueEmail_20251122\\",\\"spec\\":{\\"name\\":\\"wf\\"' \
  || fail "upsert did not receive the spec object: $(sed -n 2p "$work/requests.jsonl")"

# 5. A flaky target from the command line: a 503 then a 200 is retried (live progress shows
#    it); a dead target opens its breaker; the journal holds both.
cat > "$work/flaky-script.json" <<'JSON'
{"/webhook/web-search": [{"status": 503, "body": {"error": "busy"}}, {"body": {"summary": "ok", "results": []}}],
 "/webhook/doc-create-note": {"body": {"doc_id": "doc_1"}},
 "/webhook/log-append": {"body": {"logged": true}},
 "/webhook/healthcheck-run": {"status": 500, "body": {"error": "down"}}}
JSON
"$support/opex_fake_webhook" "$work/flaky-script.json" "$work/flaky.jsonl" <&3 >&4 &
read -r -t 20 -u 4 line || fail "second fake webhook server did not start"
fport=${line#port }
cat > "$work/flaky.yml" <<YAML
targets:
  mode: webhook
  webhook_base_url: http://127.0.0.1:$fport
execution:
  retry: {initial_interval_ms: 20}
circuit_breaker:
  minimum_number_of_calls: 2
  sliding_window_size: 2
YAML
flaky=$("$tools/opexctl" run "$src/examples/plans/search_note_log.json" --config "$work/flaky.yml" --json --progress 2>"$work/flaky.err")
grep -q '"status":"succeeded"' <<<"$flaky" || fail "flaky plan: $flaky"
grep -q '"step":1,"tool":"WEB_SEARCH","status":"succeeded".*"attempts":2' <<<"$flaky" || fail "WEB_SEARCH should take 2 attempts: $flaky"
grep -q 'retry in 20 ms' "$work/flaky.err" || fail "no live retry line: $(cat "$work/flaky.err")"
fid=$(sed -E 's/^\{"request_id":"([0-9a-f-]{36})".*/\1/' <<<"$flaky")
"$tools/opexctl" journal --request-id "$fid" --json --config "$work/flaky.yml" | grep -q '"retry_in_ms":20' || fail "no attempt entry in the journal"
cat > "$work/dead.json" <<'JSON'
{"type":"multi_tool_plan","plan":[{"step":1,"tool":"HEALTHCHECK_RUN","payload":{}},
 {"step":2,"tool":"HEALTHCHECK_RUN","payload":{},"depends_on":[1]}]}
JSON
set +e
dead=$("$tools/opexctl" run "$work/dead.json" --config "$work/flaky.yml" --json --progress 2>"$work/dead.err")
set -e
grep -q 'circuit breaker webhook:127.0.0.1' "$work/dead.err" || fail "no breaker line: $(cat "$work/dead.err")"
grep -q '"error_code":"CIRCUIT_OPEN"' <<<"$dead" || fail "no CIRCUIT_OPEN attempt: $dead"
did=$(sed -E 's/^\{"request_id":"([0-9a-f-]{36})".*/\1/' <<<"$dead")
"$tools/opexctl" journal --request-id "$did" --json --config "$work/flaky.yml" | grep -q '"circuit_breaker":"webhook:127.0.0.1' \
  || fail "no breaker transition in the journal"

# 6. Approvals from the command line: `run` parks the high-risk step (exit 3), `approvals`
#    lists it, `approve` in a new process resumes the plan from the database and finishes it.
cat > "$work/guard.yml" <<'YAML'
autonomy_level: 3
targets:
  mode: builtin
  overrides:
    BACKUP_RUN: {type: builtin, name: noop}
YAML
cat > "$work/backup.json" <<'JSON'
{"type":"multi_tool_plan","plan":[{"step":1,"tool":"LOG_APPEND","payload":{"message":"before"}},
 {"step":2,"tool":"BACKUP_RUN","payload":{}},
 {"step":3,"tool":"LOG_APPEND","payload":{"message":"after"},"depends_on":[2]}]}
JSON
set +e
parked=$("$tools/opexctl" run "$work/backup.json" --config "$work/guard.yml" --json)
code=$?
set -e
[[ $code == 3 ]] || fail "a parked plan should exit 3, got $code: $parked"
grep -q '"status":"awaiting_approval"' <<<"$parked" || fail "not awaiting approval: $parked"
list=$("$tools/opexctl" approvals --status pending --config "$work/guard.yml" --json)
aid=$(sed -nE 's/.*"approvals":\[\{"id":"([0-9a-f-]{36})".*/\1/p' <<<"$list")
[[ -n $aid ]] || fail "no pending approval: $list"
grep -q '"tool":"BACKUP_RUN"' <<<"$list" || fail "the approval is not BACKUP_RUN's: $list"
approved=$("$tools/opexctl" approve "$aid" --by ci --config "$work/guard.yml" --json)
grep -q '"status":"succeeded"' <<<"$approved" || fail "the resumed plan did not succeed: $approved"
grep -q '"step":3,"tool":"LOG_APPEND","status":"succeeded"' <<<"$approved" || fail "step 3 did not run: $approved"
set +e
again=$("$tools/opexctl" approve "$aid" --config "$work/guard.yml" --json)
code=$?
set -e
[[ $code != 0 ]] || fail "a decided approval cannot be approved twice"
grep -q '"error_code":"CONFLICT"' <<<"$again" || fail "expected CONFLICT: $again"

# 7. Ctrl-C cancels `opexctl run`: the running step and its dependent end cancelled.
cat > "$work/slow.json" <<'JSON'
{"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{"delay_ms":60000}},
 {"step":2,"tool":"NOOP","payload":{},"depends_on":[1]}]}
JSON
mkfifo "$work/progress"
exec 6<>"$work/progress"
"$tools/opexctl" run "$work/slow.json" --json --progress > "$work/cancelled.json" 2>&6 &
run_pid=$!
read -r -t 20 -u 6 line || fail "opexctl run printed no progress"
grep -q "step 1 NOOP running" <<<"$line" || fail "unexpected progress: $line"
kill -INT $run_pid
set +e; wait $run_pid; code=$?; set -e
[[ $code == 1 ]] || fail "a cancelled run should exit 1, got $code"
grep -q '"status":"cancelled"' "$work/cancelled.json" || fail "not cancelled: $(cat "$work/cancelled.json")"
grep -q '"step":2,"tool":"NOOP","status":"cancelled"' "$work/cancelled.json" || fail "step 2 not cancelled"

# 8. opexd with curl: --port 0 prints the port; errors in the standard shape; clean stop.
export OPEX_API_KEYS=cli-test-key
mkfifo "$work/opexd.out"
exec 5<>"$work/opexd.out"
"$tools/opexd" --port 0 >&5 2>&1 &
opexd_pid=$!
read -r -t 20 -u 5 line || fail "opexd did not start"
dport=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' <<<"$line")
[[ -n $dport ]] || fail "opexd did not print its port: $line"
H="X-API-Key: cli-test-key"
J="Content-Type: application/json"
ok=$(curl -s -H "$H" -H "$J" -d @"$src/examples/plans/tool_call_task_create.json" "http://127.0.0.1:$dport/webhook/proxy-exec")
grep -q '"status":"succeeded"' <<<"$ok" || fail "tool_call through opexd: $ok"
bad=$(curl -s -o /dev/null -w '%{http_code}' -H "$H" -H "$J" -d '{oops' "http://127.0.0.1:$dport/webhook/proxy-exec")
[[ $bad == 400 ]] || fail "malformed JSON should be 400, got $bad"
curl -s -H "$H" -H "$J" -d '{oops' "http://127.0.0.1:$dport/webhook/proxy-exec" | grep -q '"error_code":"INVALID_JSON"' || fail "no INVALID_JSON"
# curl -d without a Content-Type sends a form: not JSON, 415.
form=$(curl -s -o /dev/null -w '%{http_code}' -H "$H" -d @"$src/examples/plans/tool_call_task_create.json" "http://127.0.0.1:$dport/webhook/proxy-exec")
[[ $form == 415 ]] || fail "a form body should be 415, got $form"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$dport/healthz") == 200 ]] || fail "opexd died"
kill -TERM $opexd_pid
wait $opexd_pid || fail "opexd did not stop cleanly"
# 9. Prolex in llm mode against a loopback Anthropic-format server whose first answer is not
#    JSON: opex asks again with the validator's errors and runs the second, valid plan.
cat > "$work/llm-script.json" <<'JSON'
{"/v1/messages": [
  {"body": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-loopback",
            "content": [{"type": "text", "text": "Voici le plan : créer la tâche puis la note."}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 900, "output_tokens": 20}}},
  {"body": {"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-loopback",
            "content": [{"type": "text", "text": "{\"type\":\"multi_tool_plan\",\"plan\":[{\"step\":1,\"tool\":\"TASK_CREATE\",\"payload\":{\"title\":\"Réviser l'architecture Prolex\",\"due_date\":\"2026-11-20\"}},{\"step\":2,\"tool\":\"DOC_CREATE_NOTE\",\"depends_on\":[1],\"payload\":{\"title\":\"Revue Prolex\",\"content\":\"Tâche {{ step_1.result.task_id }}\"}}]}"}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 950, "output_tokens": 80}}}]}
JSON
"$support/opex_fake_webhook" "$work/llm-script.json" "$work/llm.jsonl" <&3 >&4 &
read -r -t 20 -u 4 line || fail "fake Anthropic server did not start"
lport=${line#port }
cat > "$work/llm.yml" <<YAML
llm:
  default: claude
  endpoints:
    claude:
      provider: anthropic
      base_url: http://127.0.0.1:$lport
      model: claude-loopback
      api_key: env:OPEX_CLI_TEST_ANTHROPIC_KEY
      input_cost_per_mtok_usd: 3
      output_cost_per_mtok_usd: 15
prolex:
  mode: llm_with_rules_fallback
YAML
llm=$(OPEX_CLI_TEST_ANTHROPIC_KEY=sk-loopback "$tools/opexctl" ask "Crée une tâche pour réviser l'architecture Prolex avant vendredi puis prépare une note de synthèse" \
        --config "$work/llm.yml" --json --now 2026-11-18T09:00:00+01:00)
grep -q '"planned_by":"prolex"' <<<"$llm" || fail "Prolex did not plan: $llm"
grep -q '"step":2,"tool":"DOC_CREATE_NOTE","status":"succeeded"' <<<"$llm" || fail "the model's plan did not run: $llm"
[[ $(wc -l < "$work/llm.jsonl") == 2 ]] || fail "expected 2 calls to the model: $(cat "$work/llm.jsonl")"
sed -n 2p "$work/llm.jsonl" | grep -q 'not one bare JSON object' || fail "the second question lacks the validator's error"
lid=$(sed -E 's/^\{"request_id":"([0-9a-f-]{36})".*/\1/' <<<"$llm")
"$tools/opexctl" journal --request-id "$lid" --agent prolex --json --config "$work/llm.yml" | grep -q '"model":"claude-loopback"' \
  || fail "the planning entry does not name the model"
if grep -q 'sk-loopback' "$work/data/opex.db" 2>/dev/null; then fail "the API key reached the database"; fi

# 9. Exit codes and the conventions of a command line (README, "opexctl").
rc=0; out=$("$tools/opexctl" --version 2>&1) || rc=$?
[[ $rc -eq 0 && $out =~ ^opexctl\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version (rc $rc): $out"
rc=0; out=$("$tools/opexctl" --help 2>&1) || rc=$?
[[ $rc -eq 0 && $out == *"Exit codes"* ]] || fail "--help (rc $rc): $out"
rc=0; out=$("$tools/opexctl" ask --help 2>&1) || rc=$?
[[ $rc -eq 0 && $out == *"ask"* ]] || fail "ask --help (rc $rc): $out"
rc=0; out=$("$tools/opexctl" frobnicate 2>&1) || rc=$?
[[ $rc -eq 2 && $out == *"frobnicate"* ]] || fail "an unknown command should exit 2 and be named (rc $rc): $out"
rc=0; out=$("$tools/opexctl" journal --limit lots 2>&1) || rc=$?
[[ $rc -eq 2 && $out == *"lots"* ]] || fail "a bad option value should exit 2 and be named (rc $rc): $out"
rc=0; out=$("$tools/opexctl" ask 2>&1) || rc=$?
[[ $rc -eq 2 ]] || fail "a missing argument should exit 2 (rc $rc): $out"
echo '{"type":"tool_call","tool":"NO_SUCH_TOOL","payload":{}}' > "$work/refused.json"
rc=0; out=$("$tools/opexctl" run "$work/refused.json" --json 2>&1) || rc=$?
[[ $rc -eq 4 && $out == *'"status":"rejected"'* ]] || fail "a plan the guard refuses should exit 4 (rc $rc): $out"
rc=0; out=$("$tools/opexctl" request 00000000-0000-4000-8000-000000000000 2>&1) || rc=$?
[[ $rc -eq 4 && $out == *"no request 00000000"* ]] || fail "an unknown request should exit 4 (rc $rc): $out"

echo "cli acceptance: ok"
