# opexd_lib.sh — sourced by the daemon and crash tests: start opexd on a free port and wait for
# its "listening" line. Needs $tools (the build's tools folder) and $work (a scratch folder).
#   start_opexd [ARGS...]   sets $opexd_pid and $port; fails the test if opexd does not start
#   OPEXD_ULIMIT_N=N        runs opexd with `ulimit -n N`
#   listen_notify SOCK LOG  a datagram socket at SOCK, as systemd's NOTIFY_SOCKET: each message
#                           one line of LOG; sets $listener (its pid)
start_opexd() {
  : > "$work/opexd.out"
  if [[ -n ${OPEXD_ULIMIT_N:-} ]]; then
    (ulimit -n "$OPEXD_ULIMIT_N"; exec "$tools/opexd" --port 0 "$@") >> "$work/opexd.out" 2>&1 &
  else
    "$tools/opexd" --port 0 "$@" >> "$work/opexd.out" 2>&1 &
  fi
  opexd_pid=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -nE 's#.*listening on (https://)?[0-9.]+:([0-9]+).*#\2#p' "$work/opexd.out")
    [[ -n $port ]] && return 0
    kill -0 $opexd_pid 2>/dev/null || fail "opexd exited: $(cat "$work/opexd.out")"
    sleep 0.05
  done
  fail "opexd did not start: $(cat "$work/opexd.out")"
}

listen_notify() {
  python3 - "$1" "$2" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
PY
  listener=$!
  for _ in $(seq 1 100); do [[ -S $1 ]] && return 0; sleep 0.05; done
  fail "the notify socket $1 was not created"
}
