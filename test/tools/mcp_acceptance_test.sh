#!/usr/bin/env bash
# Issue 14's acceptance, as a new user tries it (docs/mcp-gateway.md): an operator at level 3
# upserts a sandbox workflow, tests it and approves its review with opexctl; then the MCP SDK's
# client, pointed at `opexctl mcp serve` at level 2 on the same database, lists the level-2
# tools, creates a task, is refused GIT_CLONE, sees N8N_WORKFLOW_PROMOTE wait for approval and
# reads its own calls back with query_logs (mcp_acceptance_test.mjs). The operator then approves
# the promotion with its confirmation code and the request succeeds. Arguments: the build's
# tools folder, the peers' node_modules.
set -euo pipefail
tools=$1 modules=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -d $modules/@modelcontextprotocol/sdk ]] || fail "the MCP SDK is missing from $modules (tools/scripts/install-mcp-peers.sh)"
export OPEX_DATA_DIR=$work/data
overrides='targets:
  mode: builtin
  overrides:
    N8N_WORKFLOW_UPSERT: {type: builtin, name: noop}
    N8N_WORKFLOW_TEST: {type: builtin, name: noop}
    N8N_WORKFLOW_PROMOTE: {type: builtin, name: noop}'
printf 'autonomy_level: 3\n%s\n' "$overrides" > "$work/operator.yml"
printf 'autonomy_level: 2\n%s\n' "$overrides" > "$work/agent.yml"
opexctl() { "$tools/opexctl" "$@"; }
pick() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# The operator's part: the workflow exists, passed its test and its review was approved.
wf='"workflow_name": "AUTO_PROLEX_Relance_fournisseur"'
echo "{\"type\":\"tool_call\",\"tool\":\"N8N_WORKFLOW_UPSERT\",\"payload\":{$wf,\"spec\":{\"nodes\":[]},\"tags\":[\"AUTO_PROLEX\"]}}" > "$work/upsert.json"
echo "{\"type\":\"tool_call\",\"tool\":\"N8N_WORKFLOW_TEST\",\"payload\":{$wf,\"test_data\":{}}}" > "$work/test.json"
opexctl run "$work/upsert.json" --config "$work/operator.yml" > "$work/upsert.out" || fail "upsert: $(cat "$work/upsert.out")"
opexctl run "$work/test.json" --config "$work/operator.yml" > "$work/test.out" || fail "test: $(cat "$work/test.out")"
opexctl approvals --status pending --json --config "$work/operator.yml" > "$work/reviews.json"
review=$(pick "$work/reviews.json" '[a["id"] for a in r["approvals"] if a["kind"] == "review"][0]') \
  || fail "the upsert opened no review: $(cat "$work/reviews.json")"
opexctl approve "$review" --by alice --config "$work/operator.yml" > /dev/null || fail "approve the review $review"

# The agent's part, through MCP at level 2.
node "$(dirname "$0")/mcp_acceptance_test.mjs" "$modules" "$tools/opexctl" "$work/agent.yml" "$work/agent.json" \
  || fail "the MCP client's session"
parked=$(pick "$work/agent.json" 'r["request_id"]')

# The operator sees the parked promotion with its code (never sent to the MCP client) and approves it.
opexctl approvals --status pending --json --config "$work/agent.yml" > "$work/pending.json"
read -r approval code < <(pick "$work/pending.json" \
  '" ".join([(a["id"] + " " + a["confirmation_code"]) for a in r["approvals"] if a["request_id"] == "'"$parked"'"])')
[[ -n ${code:-} ]] || fail "the promotion has no pending approval with a code: $(cat "$work/pending.json")"
[[ $(pick "$work/agent.json" 'r["approval_id"]') == "$approval" ]] || fail "the MCP answer named another approval"
rc=0; opexctl approve "$approval" --code 000000 --config "$work/agent.yml" > /dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "a wrong confirmation code was accepted"
opexctl approve "$approval" --code "$code" --by alice --config "$work/agent.yml" > "$work/approved.out" \
  || fail "approve the promotion: $(cat "$work/approved.out")"
opexctl request "$parked" --json --config "$work/agent.yml" > "$work/request.json"
[[ $(pick "$work/request.json" 'r["request"]["status"]') == succeeded ]] || fail "the promotion did not complete: $(cat "$work/request.json")"

# The journal names MCP and the client for the agent's calls.
opexctl journal --request-id "$parked" --json > "$work/journal.json"
[[ $(pick "$work/journal.json" '("mcp", "acceptance-agent/0.1.0") in {(e["metadata"].get("source"), e["metadata"].get("client")) for e in r["entries"] if e.get("tool_used") == "N8N_WORKFLOW_PROMOTE"}') \
   == True ]] || fail "the promotion is not journaled as the MCP client's: $(cat "$work/journal.json")"
echo "mcp acceptance: ok"
