#!/usr/bin/env bash
# packaging/prometheus/opex-alerts.yml as Prometheus reads it: `promtool check rules` accepts it,
# and `promtool test rules` (test/tools/opex-alerts.test.yml) shows each alert firing on series
# that cross its threshold, with its labels and annotations, and no other alert (a tool under
# the minimum count, a tenant under the budget, a breaker open for less than 5 minutes).
# Arguments: the source folder.
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus: tools/scripts/install-deps.sh)"
promtool check rules "$src/packaging/prometheus/opex-alerts.yml" || fail "promtool check rules refused opex-alerts.yml"
# promtool reads rule_files relative to the test file: both go side by side.
cp "$src/packaging/prometheus/opex-alerts.yml" "$src/test/tools/opex-alerts.test.yml" "$work/"
(cd "$work" && promtool test rules opex-alerts.test.yml) || fail "promtool test rules: the alerts did not fire as expected"
echo "alert rules: ok"
