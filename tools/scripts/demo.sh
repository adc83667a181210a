#!/usr/bin/env bash
# Installs the Debian packages, builds opexctl and opexd, and runs the main job on real input:
# a French request through Kimmy, Prolex, the Proxy Master and the builtin task store, its
# journal, and the Prolex spec's tool_call example. The journal lives in the default data dir
# (${OPEX_DATA_DIR:-~/.local/share/opex}), so later opexctl commands see the same requests.
set -euo pipefail
cd "$(dirname "$0")/../.."
./tools/scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target opexctl opexd

opexctl=./build/tools/opexctl
request="Créer une tâche pour réviser l'architecture Prolex avant vendredi"
echo
echo "== opexctl ask \"$request\""
out=$("$opexctl" ask "$request" --json)
id=$(sed -E 's/^\{"request_id":"([0-9a-f-]{36})".*/\1/' <<<"$out")

echo "$out"
echo
echo "== opexctl journal --request-id $id"
"$opexctl" journal --request-id "$id"
echo
echo "== opexctl run examples/plans/tool_call_task_create.json"
"$opexctl" run examples/plans/tool_call_task_create.json
echo
echo "Done. Try: $opexctl ask \"Planifie une réunion avec Paul jeudi à 14h\""
