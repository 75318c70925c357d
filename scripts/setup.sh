#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine (idempotent).
#   scripts/setup.sh          app runtime: Python venv + packages, fonts
#   scripts/setup.sh --dev    + test tools, benchmark peers, Chromium, poppler, PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

debs=(fonts-wqy-zenhei)
if [ "$DEV" = 1 ]; then
  debs+=(chromium chromium-driver poppler-utils postgresql)
fi
missing=()
for d in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
if [ "$DEV" = 1 ]; then
  .venv/bin/pip install -q -r requirements-dev.txt
else
  .venv/bin/pip install -q -r requirements.txt
fi

if [ -f package.json ]; then
  # front-end assets (Leaflet ...) from the npm registry, served locally by the app
  npm ci --silent --no-audit --no-fund || npm install --silent --no-audit --no-fund
  [ -x scripts/vendor_assets.sh ] && bash scripts/vendor_assets.sh
fi
echo "setup: done"
