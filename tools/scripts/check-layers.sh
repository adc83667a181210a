#!/usr/bin/env bash
# The import graph goes one way (docs/architecture.md, "Layers"): prints every #include that
# points from a lower layer to a higher one and exits 1 when there is any, 0 when there is none,
# 2 on bad usage. Usage: check-layers.sh [SOURCE_DIR] (default: this repository).
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
[[ -d $root ]] || { echo "check-layers: no folder $root" >&2; exit 2; }
cd "$root"
found=0
# rule FOLDER_GLOB... -- PATTERN REASON: no file under the folders may include a header matching PATTERN.
rule() {
  local dirs=() pattern reason hits
  while [[ $1 != -- ]]; do dirs+=("$1"); shift; done
  shift; pattern=$1 reason=$2
  local existing=()
  for d in "${dirs[@]}"; do [[ -e $d ]] && existing+=("$d"); done
  [[ ${#existing[@]} -gt 0 ]] || return 0
  hits=$(grep -rnHE --include='*.cpp' --include='*.hpp' "^#include [<\"]($pattern)" "${existing[@]}" \
           | grep -vE '^engine/include/opex/(engine|opex)\.hpp:' || true)
  if [[ -n $hits ]]; then
    echo "$reason:"
    echo "$hits" | sed 's/^/  /'
    found=1
  fi
}
# 1 core: no policies, connectors, actors, CAF, network or SQLite; only the facade's own public
#   headers (engine.hpp, opex.hpp, which live beside the core's) may name the facade.
rule engine -- 'opex/(connectors|policies)/|caf/|boost/(beast|asio)|sqlite3|opex/(engine|opex)\.hpp|(\.\./)*actors/' \
  "the core (engine/) includes a higher layer"
# 2 policies and connectors: neither includes the other, the actors or the facade.
rule policies -- 'opex/connectors/|caf/|opex/(engine|opex)\.hpp' "policies/ includes a connector, CAF or the facade"
rule connectors -- 'opex/policies/|caf/|opex/(engine|opex)\.hpp' "connectors/ includes a policy, CAF or the facade"
# 2b observers: the core's events only (no connectors, policies, actors, CAF or the facade).
rule observers -- 'opex/(connectors|policies)/|caf/|boost/(beast|asio)|sqlite3|opex/(engine|opex)\.hpp|(\.\./)*actors/' \
  "an observer (observers/) includes a connector, a policy, an actor, CAF or the facade"
# 3 agent logic: plain classes, no actors.
rule actors/kimmy/kimmy_classifier.cpp actors/kimmy/kimmy_classifier.hpp actors/kimmy/date_resolver.cpp \
     actors/kimmy/text_normalizer.cpp actors/kimmy/llm_classifier.cpp actors/kimmy/llm_classifier.hpp \
     actors/prolex/rule_planner.cpp actors/prolex/rule_planner.hpp actors/prolex/llm_planner.cpp \
     actors/prolex/llm_planner.hpp actors/proxy/proxy_checks.cpp actors/proxy/proxy_checks.hpp \
     actors/supervisor/dag_scheduler.cpp actors/llm/model_answer.cpp actors/llm/model_answer.hpp \
  -- 'caf/|\.\./messages\.hpp|\.\./runtime\.hpp|([a-z]+/)?(kimmy_filter|prolex_planner|proxy_master|plan_supervisor|tool_executor)\.hpp' \
  "agent logic includes CAF or an actor"
rule actors/kimmy -- 'prolex/' "Kimmy includes Prolex"
# 4 actors: never the facade.
rule actors -- 'opex/(engine|opex)\.hpp|opex/gateway/' "an actor includes the engine's facade or a gateway"
# 5 facade: never the programs or the gateways.
rule facade -- '(\.\./)*tools/|opex/gateway/' "the facade includes a program or a gateway"
# 5b gateways: over the facade, never the programs or the actors.
rule gateway -- '(\.\./)*tools/|(\.\./)*actors/|caf/' "a gateway (gateway/) includes a program, an actor or CAF"
if [[ $found -eq 0 ]]; then
  echo "check-layers: no include points from a lower layer to a higher one"
fi
exit $found
