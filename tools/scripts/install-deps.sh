#!/usr/bin/env bash
# Installs the Debian 12 packages opex builds and tests with. Idempotent: when every package is
# already installed it returns at once without touching apt.
set -euo pipefail

packages=(
  build-essential cmake ccache git curl ca-certificates openssl pkg-config
  libcaf-dev
  libboost1.81-dev libboost-json1.81-dev libboost-filesystem1.81-dev libboost-url1.81-dev
  libyaml-cpp-dev libssl-dev catch2 libvalijson-dev libsqlite3-dev
  prometheus-cpp-dev libcli11-dev sqlite3 wrk
  prometheus  # promtool and the server the metrics test scrapes opexd with
  libsystemd-dev  # opexd's sd_notify (Type=notify)
  libspdlog-dev   # the engine log and opexd's access log
  libgraphviz-dev # plan graphs as SVG (opexctl graph, opexd's graph.svg)
  chromium        # the console test's browser (driven by puppeteer-core from the test peers)
)

# Node.js and npm run the MCP reference servers (and n8n) the connector tests talk to. A
# machine that already has node (Debian's or NodeSource's) keeps it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
