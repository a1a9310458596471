#!/usr/bin/env bash
# Sets up, builds and runs Trellis on SQLite with the demo account at http://127.0.0.1:3000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh --release
bin=${CARGO_TARGET_DIR:-target}/release/trellis
"$bin" demo
exec "$bin" serve
