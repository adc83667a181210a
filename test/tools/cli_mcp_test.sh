#!/usr/bin/env bash
# MCP from the command line, as a user would: the example configuration (examples/mcp) with the
# reference servers found in PATH; opexctl lists servers and tools, then runs a plan whose steps
# call mcp-server-everything's get-sum and echo. Arguments: the build's tools folder, the MCP
# servers' bin folder, the source folder.
set -euo pipefail
tools=$1 peers_bin=$2 src=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data PATH="$peers_bin:$PATH"
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work"   # the memory server's file (./memory.jsonl) lands here
cfg=$src/examples/mcp/opex-mcp.yml

"$tools/opexctl" validate "$cfg" >/dev/null || fail "$cfg should be valid"

tools_out=$("$tools/opexctl" --config "$cfg" mcp tools everything)
grep -qE '^echo +Echoes back the input string' <<<"$tools_out" || fail "echo not listed: $tools_out"
grep -qE '^get-sum ' <<<"$tools_out" || fail "get-sum not listed: $tools_out"

servers=$("$tools/opexctl" --config "$cfg" mcp servers --json)
grep -q '"server":"everything","transport":"stdio","state":"ready"' <<<"$servers" || fail "everything not ready: $servers"
grep -q '"server":"memory","transport":"stdio","state":"ready"' <<<"$servers" || fail "memory not ready: $servers"

run=$("$tools/opexctl" run "$src/examples/plans/mcp_sum_then_echo.json" --config "$cfg" --json)
grep -q '"status":"succeeded","steps"' <<<"$run" || fail "plan did not succeed: $run"
grep -q '"step":2,"tool":"MCP_ECHO","status":"succeeded","data":{"text":"Echo: The sum of 2 and 3 is 5."' <<<"$run" \
  || fail "echo did not receive step 1's text: $run"
id=$(sed -E 's/^\{"request_id":"([0-9a-f-]{36})".*/\1/' <<<"$run")
"$tools/opexctl" journal --request-id "$id" --config "$cfg" | grep -q 'MCP_ECHO' || fail "MCP_ECHO not journaled"
grep -q 'stderr: Starting default (STDIO) server' "$work/data/logs/mcp-everything.log" || fail "stderr not captured to the server log"

# A server that cannot start: the step fails with CONNECTOR_UNAVAILABLE and the process exits 1.
cat > "$work/broken.yml" <<YAML
extra_catalogues: [$src/examples/mcp/tools-mcp.yml]
mcp:
  servers:
    everything: {command: opex-no-such-mcp-server}
execution:
  retry: {maximum_attempts: 1}
YAML
set +e
broken=$("$tools/opexctl" run "$src/examples/plans/mcp_sum_then_echo.json" --config "$work/broken.yml" --json)
code=$?
set -e
[[ $code == 1 ]] || fail "a failed plan should exit 1, got $code: $broken"
grep -q '"error_code":"CONNECTOR_UNAVAILABLE"' <<<"$broken" || fail "no CONNECTOR_UNAVAILABLE: $broken"
echo "cli mcp: ok"
