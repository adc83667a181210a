#!/usr/bin/env bash
# opexd over TLS (docs/operations.md, "TLS"), as an operator sets it up: a certificate made with
# openssl, server.tls in opex.yml; curl verifying the certificate gets answers over HTTP/1.1
# and TLS 1.2 or 1.3; TLS 1.1 and plain HTTP get no answer; a missing key stops opexd (exit 1,
# the file named). Arguments: the build's tools folder.
set -euo pipefail
tools=$1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export OPEX_DATA_DIR=$work/data OPEX_API_KEYS=tls-key
fail() { echo "FAIL: $*" >&2; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 600 "$work/key.pem"
cat > "$work/opex.yml" <<'YAML'
server:
  tls: {certificate: cert.pem, private_key: key.pem}
YAML

. "$(dirname "$0")/opexd_lib.sh"
start_opexd --config "$work/opex.yml"
grep -q "listening on https://127.0.0.1:$port" "$work/opexd.out" || fail "no https in: $(cat "$work/opexd.out")"
base=https://127.0.0.1:$port

out=$(curl -s --cacert "$work/cert.pem" -w ' %{http_code} %{http_version}' -H "X-API-Key: tls-key" \
        -H 'Content-Type: application/json' -d '{"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"over TLS"}}' \
        "$base/webhook/proxy-exec")
[[ $out == *'"status":"succeeded"'*' 200 1.1' ]] || fail "a request over TLS: $out"
for v in 1.2 1.3; do
  code=$(curl -s --cacert "$work/cert.pem" --tlsv$v --tls-max $v -o /dev/null -w '%{http_code}' "$base/livez")
  [[ $code == 200 ]] || fail "TLS $v should be accepted, got $code"
done
if curl -s --cacert "$work/cert.pem" --tlsv1.1 --tls-max 1.1 -o /dev/null "$base/livez" 2>/dev/null; then
  fail "TLS 1.1 should be refused"
fi
code=$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/livez" || true)
[[ $code == 000 ]] || fail "plain HTTP on the TLS port answered $code"
# An unverified certificate is the client's refusal, as it should be.
if curl -s -o /dev/null "$base/livez" 2>/dev/null; then fail "curl accepted an unknown certificate"; fi
healthy=$(curl -s --cacert "$work/cert.pem" "$base/livez")
[[ $healthy == '{"status":"alive"}' ]] || fail "opexd stopped serving after refused handshakes: $healthy"
kill -TERM $opexd_pid
wait $opexd_pid || fail "opexd did not stop cleanly"

# A key file that does not exist: opexd does not start, and names it.
printf 'server:\n  tls: {certificate: cert.pem, private_key: missing.pem}\n' > "$work/bad.yml"
rc=0; out=$("$tools/opexd" --port 0 --config "$work/bad.yml" 2>&1) || rc=$?
[[ $rc -eq 1 && $out == *"missing.pem"* ]] || fail "a missing key should stop opexd with exit 1 naming it (rc $rc): $out"
echo "tls: ok"
