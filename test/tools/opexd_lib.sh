# opexd_lib.sh — sourced by the daemon and crash tests: start opexd on a free port and wait for
# its "listening" line. Needs $tools (the build's tools folder) and $work (a scratch folder).
#   start_opexd [ARGS...]   sets $opexd_pid and $port; fails the test if opexd does not start
#   OPEXD_ULIMIT_N=N        runs opexd with `ulimit -n N`
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
