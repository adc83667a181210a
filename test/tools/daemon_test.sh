#!/usr/bin/env bash
# opexd as a daemon (docs/durability.md, "The daemon" and "One writer per database"): SIGHUP
# reloads without dying (tools.reload checks what it changes); a second engine on the database is refused while read-only commands work beside
# it; accept recovers after running out of file descriptors; the connection limit answers 503;
# SIGTERM drains: a short request finishes, a long one is interrupted (503) within the drain
# deadline, opexd exits 0, and the interrupted plan resumes and ends at the next start.
# An unknown Transfer-Encoding is refused and the connection closed.
# Arguments: the build's tools folder, the source folder.
set -euo pipefail
trap "" PIPE  # a peer closing a socket we write to is a result to check, not a reason to die
tools=$1 src=$2
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=daemon-key
fail() { echo "FAIL: $*" >&2; exit 1; }
H=(-H "X-API-Key: daemon-key" -H 'Content-Type: application/json')

cat > "$work/opex.yml" <<'YAML'
server:
  drain_timeout_s: 1
  max_connections: 40
  rate_limit: {requests_per_minute: 0}  # the polls below exceed 100 per minute on one key
YAML

. "$(dirname "$0")/opexd_lib.sh"
healthy() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$port/healthz") == 200 ]]; }

# 0. The command line: --version, --help that starts nothing, a bad option named with exit 2.
rc=0; out=$("$tools/opexd" --version 2>&1) || rc=$?
[[ $rc -eq 0 && $out =~ ^opexd\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "opexd --version (rc $rc): $out"
rc=0; out=$("$tools/opexd" --help 2>&1) || rc=$?
[[ $rc -eq 0 && $out == *"--config"* ]] || fail "opexd --help (rc $rc): $out"
[[ ! -e $work/data ]] || fail "opexd --help created the data folder"
rc=0; out=$("$tools/opexd" --frobnicate 2>&1) || rc=$?
[[ $rc -eq 2 && $out == *"frobnicate"* ]] || fail "opexd with an unknown option should exit 2 naming it (rc $rc): $out"

# 1. SIGHUP reloads and opexd goes on serving; /livez and /readyz answer (docs/operations.md, "Health").
start_opexd --config "$work/opex.yml"
[[ $(curl -s "http://127.0.0.1:$port/livez") == '{"status":"alive"}' ]] || fail "/livez"
ready=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/readyz")
[[ $ready == *'"status":"ready"'*'"journal":"ok"'*' 200' ]] || fail "/readyz: $ready"
# The data folder is 0700, the database and its WAL 0600 (docs/operations.md, "Files").
[[ $(stat -c %a "$work/data") == 700 ]] || fail "data folder mode $(stat -c %a "$work/data")"
for f in "$work/data/opex.db" "$work/data/opex.db-wal" "$work/data/opex.db.lock"; do
  [[ ! -e $f || $(stat -c %a "$f") == 600 ]] || fail "$f has mode $(stat -c %a "$f")"
done
[[ -e $work/data/opex.db-wal ]] || fail "no WAL file to check"
kill -HUP $opexd_pid
sleep 0.2
kill -0 $opexd_pid 2>/dev/null || fail "SIGHUP killed opexd"
healthy || fail "opexd does not answer after SIGHUP"
for _ in $(seq 1 50); do grep -q '"event":"config.reloaded"' "$work/opexd.out" && break; sleep 0.1; done
grep -q '"event":"config.reloaded"' "$work/opexd.out" || fail "SIGHUP did not reload: $(tail -3 "$work/opexd.out")"

# 1b. systemd's notify protocol (Type=notify), as systemd sees it: a datagram socket named by
#     NOTIFY_SOCKET gets READY=1 once opexd serves, WATCHDOG=1 while it runs, STOPPING=1 on
#     SIGTERM.
kill -TERM $opexd_pid
wait $opexd_pid || fail "opexd did not exit 0 after SIGTERM"
listen_notify "$work/notify.sock" "$work/notify.log"
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=200000 start_opexd --config "$work/opex.yml"
for _ in $(seq 1 100); do grep -q "WATCHDOG=1" "$work/notify.log" 2>/dev/null && break; sleep 0.05; done
grep -q "^READY=1 STATUS=listening on 127.0.0.1:$port" "$work/notify.log" || fail "no READY=1: $(cat "$work/notify.log" 2>/dev/null)"
grep -q "^WATCHDOG=1" "$work/notify.log" || fail "no WATCHDOG=1: $(cat "$work/notify.log")"
grep -q "STOPPING=1" "$work/notify.log" && fail "STOPPING=1 before any signal"
kill -TERM $opexd_pid
wait $opexd_pid || fail "opexd did not exit 0 after SIGTERM"
for _ in $(seq 1 100); do grep -q "STOPPING=1" "$work/notify.log" && break; sleep 0.05; done
grep -q "^STOPPING=1 STATUS=draining" "$work/notify.log" || fail "no STOPPING=1: $(cat "$work/notify.log")"
[[ $(grep -c "^READY=1" "$work/notify.log") == 1 ]] || fail "READY=1 more than once: $(cat "$work/notify.log")"
kill $listener
start_opexd --config "$work/opex.yml"

# 2. One writer per database: a second opexd and an executing opexctl are refused, naming the
#    lock; opexctl journal (read-only) works beside the running opexd.
set +e
"$tools/opexd" --port 0 --config "$work/opex.yml" > "$work/second.out" 2>&1; code=$?
set -e
[[ $code == 1 ]] || fail "a second opexd on the database should exit 1, got $code"
grep -q "in use by another opex engine (pid $opexd_pid)" "$work/second.out" || fail "no clear refusal: $(cat "$work/second.out")"
set +e
"$tools/opexctl" run "$src/examples/plans/tool_call_task_create.json" --json > "$work/run.out" 2>&1; code=$?
set -e
[[ $code == 2 ]] || fail "opexctl run on a database in use should exit 2, got $code: $(cat "$work/run.out")"
grep -q "DATABASE_LOCKED" "$work/run.out" || fail "opexctl run: no DATABASE_LOCKED: $(cat "$work/run.out")"
"$tools/opexctl" journal --limit 5 > /dev/null || fail "opexctl journal should work beside opexd"
kill -TERM $opexd_pid
wait $opexd_pid || fail "opexd did not exit 0"

# 3. Accept recovers after EMFILE: with 48 descriptors, hold 100 connections, let them go,
#    and opexd serves again (the listening socket was re-armed, not abandoned).
OPEXD_ULIMIT_N=48 start_opexd --config "$work/opex.yml"
node -e '
  const net = require("net"); const port = +process.argv[1]; const socks = [];
  let opened = 0;
  for (let i = 0; i < 100; i++) {
    const s = net.connect(port, "127.0.0.1"); s.on("error", () => {}); s.on("connect", () => opened++); socks.push(s);
  }
  setTimeout(() => { socks.forEach(s => s.destroy()); console.log("opened " + opened); }, 1500);
' "$port" > "$work/emfile.out"
sleep 0.3
for _ in $(seq 1 30); do healthy && break; sleep 0.2; done
healthy || fail "opexd stopped serving after running out of descriptors: $(tail -3 "$work/opexd.out")"
grep -q "\"event\":\"http.accept_failed\"" "$work/opexd.out" || fail "the descriptor limit was never reached: $(cat "$work/emfile.out")"
kill -TERM $opexd_pid
wait $opexd_pid || fail "opexd did not exit 0 after the EMFILE test"

# 4. Beyond server.max_connections (40), a new connection gets 503 UNAVAILABLE.
start_opexd --config "$work/opex.yml"
node -e '
  const net = require("net"); const port = +process.argv[1]; const socks = []; let refused = 0;
  for (let i = 0; i < 60; i++) {
    const s = net.connect(port, "127.0.0.1"); s.on("error", () => {});
    s.on("data", d => { if (d.toString().includes("503") && d.toString().includes("UNAVAILABLE")) refused++; });
    socks.push(s);
  }
  setTimeout(() => { socks.forEach(s => s.destroy()); console.log(refused); }, 1000);
' "$port" > "$work/limit.out"
refused=$(cat "$work/limit.out")
(( refused >= 15 )) || fail "only $refused of 20 connections beyond the limit got 503"
healthy || fail "opexd does not serve after the connection limit"

# 5. An unknown Transfer-Encoding is refused before any body is read, and the connection closes:
#    the bytes after the headers never run as a second request (no smuggling).
exec 7<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /webhook/proxy-exec HTTP/1.1\r\nHost: x\r\nX-API-Key: daemon-key\r\nTransfer-Encoding: gzip\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&7 || true
answer=$(timeout 5 cat <&7 || true)
exec 7>&-
grep -q "501 Not Implemented" <<<"$answer" || fail "Transfer-Encoding gzip should be 501: $answer"
grep -q '"error_code":"NOT_IMPLEMENTED"' <<<"$answer" || fail "no NOT_IMPLEMENTED: $answer"
[[ $(grep -c "^HTTP/1.1" <<<"$answer") == 1 ]] || fail "a second request ran after the refused one: $answer"

# 6. SIGTERM drains: a 300 ms plan finishes (200), a 5 s plan is interrupted (503 UNAVAILABLE)
#    within the 1 s drain deadline, opexd exits 0; at the next start the long plan resumes.
short_id=$(cat /proc/sys/kernel/random/uuid) long_id=$(cat /proc/sys/kernel/random/uuid)
curl -s "${H[@]}" -H "X-Request-ID: $short_id" -o "$work/short.json" -w '%{http_code}' \
  -d '{"type":"tool_call","tool":"NOOP","payload":{"delay_ms":300}}' "http://127.0.0.1:$port/webhook/proxy-exec" \
  > "$work/short.code" &
curl -s "${H[@]}" -H "X-Request-ID: $long_id" -o "$work/long.json" -w '%{http_code}' \
  -d '{"type":"tool_call","tool":"NOOP","payload":{"delay_ms":5000}}' "http://127.0.0.1:$port/webhook/proxy-exec" \
  > "$work/long.code" &
sleep 0.1
t0=$(date +%s%N)
kill -TERM $opexd_pid
set +e; wait $opexd_pid; code=$?; set -e
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ $code == 0 ]] || fail "opexd should exit 0 after SIGTERM, got $code"
(( elapsed_ms < 4000 )) || fail "opexd took $elapsed_ms ms to stop with a 1 s drain deadline"
wait
[[ $(cat "$work/short.code") == 200 ]] || fail "the short request should finish during the drain: $(cat "$work/short.json")"
[[ $(cat "$work/long.code") == 503 ]] || fail "the long request should be interrupted with 503: $(cat "$work/long.json")"
grep -q '"error_code":"UNAVAILABLE"' "$work/long.json" || fail "no UNAVAILABLE: $(cat "$work/long.json")"
grep -q "\"request_id\":\"$long_id\"" "$work/long.json" || fail "the 503 does not name the request"
start_opexd --config "$work/opex.yml"
state=""
for _ in $(seq 1 100); do
  state=$(curl -s -H "X-API-Key: daemon-key" "http://127.0.0.1:$port/v1/requests/$long_id")
  grep -q '"status":"succeeded"' <<<"$state" && break
  sleep 0.1
done
grep -q '"status":"succeeded"' <<<"$state" || fail "the interrupted plan did not resume: $state"
grep -q 're-run after a restart' <<<"$state" || fail "the resumed attempt does not say it re-ran: $state"
kill -TERM $opexd_pid
wait $opexd_pid || fail "opexd did not exit 0"
echo "daemon test: passed (SIGTERM with a request in flight: exit 0 in $elapsed_ms ms; $refused connections over the limit refused)"
