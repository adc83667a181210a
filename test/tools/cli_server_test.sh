#!/usr/bin/env bash
# opexctl --server, as an operator drives a running opexd (README, "opexctl"): ask and run go
# through its API with the same exit codes as local runs; request, journal, approvals, approve,
# reject and cancel read and decide there; a wrong key, a bad URL and an unreachable server are
# named errors with their exit codes. Then `opexctl completion bash`, sourced into bash, completes
# subcommands and options. Arguments: the build's tools folder, the source folder.
set -euo pipefail
tools=$1 src=$2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=cli-key
fail() { echo "FAIL: $*" >&2; exit 1; }
cat > "$work/opex.yml" <<'YAML'
autonomy_level: 3
targets:
  mode: builtin
  overrides:
    BACKUP_RUN: {type: builtin, name: noop}
server:
  rate_limit: {requests_per_minute: 0}
YAML
. "$(dirname "$0")/opexd_lib.sh"
start_opexd --config "$work/opex.yml"
export OPEX_SERVER=http://127.0.0.1:$port OPEX_API_KEY=cli-key
# The database is opexd's: opexctl gets a data folder of its own, which must stay empty (every
# command below goes through the API, and what they read exists only in opexd's database).
mkdir -p "$work/client"
ctl() { OPEX_DATA_DIR=$work/client "$tools/opexctl" "$@"; }

# 1. ask and run: results as local runs print them, exit 0.
asked=$(ctl ask "Créer une tâche pour réviser l'architecture Prolex avant vendredi" --json) || fail "ask: exit $?: $asked"
grep -q '"status":"succeeded"' <<<"$asked" || fail "ask did not succeed: $asked"
id=$(sed -E 's/^\{"request_id":"([0-9a-f-]{36})".*/\1/' <<<"$asked")
human=$(ctl run "$src/examples/plans/tool_call_task_create.json") || fail "run: exit $?"
grep -q "succeeded" <<<"$human" || fail "run's summary: $human"

# 2. request and journal read opexd's database.
state=$(ctl request "$id")
grep -q "\"request_id\":\"$id\"" <<<"$state" || fail "request: $state"
journal=$(ctl journal --request-id "$id" --json)
grep -q '"agent":"kimmy"' <<<"$journal" || fail "journal over the API: $journal"
table=$(ctl journal --request-id "$id") || fail "journal: exit $?"
grep -q "kimmy .*$id" <<<"$table" || fail "the journal's table: $table"

# 3. Approvals: run parks BACKUP_RUN (exit 3); approvals lists it; approve resumes it in opexd.
cat > "$work/backup.json" <<'JSON'
{"type":"multi_tool_plan","plan":[{"step":1,"tool":"BACKUP_RUN","payload":{}},
 {"step":2,"tool":"LOG_APPEND","payload":{"message":"after"},"depends_on":[1]}]}
JSON
set +e
parked=$(ctl run "$work/backup.json" --json); code=$?
set -e
[[ $code == 3 ]] || fail "a parked plan should exit 3, got $code: $parked"
pid_=$(sed -E 's/^\{"request_id":"([0-9a-f-]{36})".*/\1/' <<<"$parked")
list=$(ctl approvals --status pending --json)
aid=$(sed -nE 's/.*"approvals":\[\{"id":"([0-9a-f-]{36})".*/\1/p' <<<"$list")
[[ -n $aid ]] || fail "no pending approval: $list"
grep -q "BACKUP_RUN" <<<"$(ctl approvals --status pending)" || fail "the approvals table"
decided=$(ctl approve "$aid" --by ci) || fail "approve: exit $?"
grep -q "approval $aid: approved" <<<"$decided" || fail "approve: $decided"
for _ in $(seq 1 100); do
  grep -q '"status":"succeeded"' <<<"$(ctl request "$pid_")" && break
  sleep 0.1
done
grep -q '"status":"succeeded"' <<<"$(ctl request "$pid_")" || fail "the approved plan did not finish in opexd: $(ctl request "$pid_")"
set +e
ctl reject "$aid" > "$work/again.out" 2>&1; code=$?
set -e
[[ $code == 4 ]] || fail "deciding twice should be refused (4), got $code: $(cat "$work/again.out")"

# 4. cancel: a finished request has no running plan (404, exit 4); cancel needs --server.
set +e
ctl cancel "$id" > "$work/cancel.out" 2>&1; code=$?
set -e
[[ $code == 4 ]] || fail "cancelling a finished request should exit 4, got $code: $(cat "$work/cancel.out")"
grep -q "NOT_FOUND" "$work/cancel.out" || fail "cancel: $(cat "$work/cancel.out")"
set +e
OPEX_SERVER= ctl cancel "$id" > "$work/local.out" 2>&1; code=$?
set -e
[[ $code == 2 ]] || fail "cancel without --server should exit 2, got $code"
grep -q "cancel needs --server" "$work/local.out" || fail "cancel without --server: $(cat "$work/local.out")"

# 5. Errors that name what is wrong: the key (2), the URL (2), an unreachable server (1).
set +e
OPEX_API_KEY=wrong ctl request "$id" > "$work/key.out" 2>&1; code=$?
[[ $code == 2 ]] || fail "a wrong key should exit 2, got $code: $(cat "$work/key.out")"
grep -q "UNAUTHORIZED" "$work/key.out" || fail "wrong key: $(cat "$work/key.out")"
ctl --server ftp://x request "$id" > "$work/url.out" 2>&1; code=$?
[[ $code == 2 ]] || fail "a bad URL should exit 2, got $code"
grep -q "not an http:// or https:// URL" "$work/url.out" || fail "bad URL: $(cat "$work/url.out")"
free=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ctl --server "http://127.0.0.1:$free" ask "bonjour" > "$work/down.out" 2>&1; code=$?
set -e
[[ $code == 1 ]] || fail "an unreachable server should exit 1, got $code: $(cat "$work/down.out")"
grep -q "cannot reach opexd at http://127.0.0.1:$free" "$work/down.out" || fail "unreachable: $(cat "$work/down.out")"
[[ -z $(ls -A "$work/client") ]] || fail "opexctl --server opened a database of its own: $(ls -A "$work/client")"

# 6. Shell completion, as bash runs it.
"$tools/opexctl" completion bash > "$work/opexctl.bash"
completes() {  # completes "WORDS..." EXPECTED: bash's COMPREPLY for the last word contains EXPECTED
  bash -c '. "$1"; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1));
           _opexctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$work/opexctl.bash" "$1" > "$work/completed"
  # Not `| grep -q`: grep leaving early would break bash's pipe (SIGPIPE) under pipefail.
  grep -qx -- "$2" "$work/completed" || fail "completing '$1' does not offer $2: $(cat "$work/completed")"
}
completes "opexctl ap" approvals
completes "opexctl ap" approve
completes "opexctl approve --c" --code
completes "opexctl journal --req" --request-id
completes "opexctl ask x --ser" --server
completes "opexctl mcp " tools
echo "cli server: ok"
