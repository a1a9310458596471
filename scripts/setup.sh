#!/usr/bin/env bash
# Installs what building and testing Trellis needs, skipping whatever is already present at the
# right version:
#   scripts/setup.sh          build tools: wasm32 target, wasm-bindgen-cli (the Cargo.lock version)
#   scripts/setup.sh --test   also Chromium, PostgreSQL (if absent) and the end-to-end npm packages
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=false
[ "${1:-}" = "--test" ] && want_test=true
sudo_if() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must match the wasm-bindgen library exactly.
wbg=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
  echo "installing wasm-bindgen-cli $wbg (about 3 minutes)"
  cargo install wasm-bindgen-cli --version "$wbg"
fi

if $want_test; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v curl >/dev/null || missing+=(curl)
  command -v sqlite3 >/dev/null || missing+=(sqlite3)  # the portal e2e spec reads the outbox
  if ! command -v psql >/dev/null || ! { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }; then
    missing+=(postgresql)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    sudo_if apt-get update -qq
    sudo_if env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
  if [ ! -d end2end/node_modules/playwright-core ]; then
    (cd end2end && npm ci --no-audit --no-fund)
  fi
fi
