#!/usr/bin/env bash
# Runs every test: unit tests, integration tests on SQLite and PostgreSQL, the wasm dependency
# check, and the end-to-end specs in Chromium against a freshly built, demo-seeded server.
# Expects the tools of scripts/setup.sh (wasm target, wasm-bindgen, chromium, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=$target
step() { printf '\n==> %s\n' "$*"; }

# --- PostgreSQL: a running server on 127.0.0.1:5432, TRELLIS_TEST_PG_URL, or a throwaway cluster.
pg_tmp=""
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  if [ -n "${TRELLIS_TEST_PG_URL:-}" ]; then
    psql "$TRELLIS_TEST_PG_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'trellis\_t%'" 2>/dev/null |
      while read -r db; do psql "$TRELLIS_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true; done
  fi
  if [ -n "$pg_tmp" ]; then
    runuser -u postgres -- pg_ctl -D "$pg_tmp/data" -m immediate stop >/dev/null 2>&1 || pg_ctl -D "$pg_tmp/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_tmp"
  fi
}
trap cleanup EXIT
if [ -z "${TRELLIS_TEST_PG_URL:-}" ]; then
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    export TRELLIS_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres
  else
    step "starting a throwaway PostgreSQL cluster"
    pg_tmp=$(mktemp -d)
    as_pg=()
    if [ "$(id -u)" = 0 ]; then chown postgres "$pg_tmp"; as_pg=(runuser -u postgres --); fi
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    PATH=$PATH:$pgbin "${as_pg[@]}" initdb -D "$pg_tmp/data" -U postgres -A trust >/dev/null
    PATH=$PATH:$pgbin "${as_pg[@]}" pg_ctl -D "$pg_tmp/data" -o "-p 54329 -k $pg_tmp -c listen_addresses=127.0.0.1" -l "$pg_tmp/log" -w start >/dev/null
    export TRELLIS_TEST_PG_URL=postgres://postgres@127.0.0.1:54329/postgres
  fi
fi
echo "PostgreSQL for tests: $TRELLIS_TEST_PG_URL"

step "no server-only crate in the wasm build"
for crate in tokio sea-orm sqlx axum argon2 backend; do
  found=$(cargo tree -p frontend --target wasm32-unknown-unknown -e normal -i "$crate" 2>/dev/null || true)
  if [ -n "$found" ]; then
    echo "server-only crate '$crate' reaches the wasm build:"; echo "$found" | head -20
    exit 1
  fi
done
echo "ok: none of tokio, sea-orm, sqlx, axum, argon2, backend"

step "unit tests"
cargo test -p models -p backend -p migrations
cargo test -p app --features ssr --lib

step "integration tests (SQLite and PostgreSQL)"
cargo test -p server

step "build the site (the integration tests built target/debug/trellis)"
scripts/build.sh --site-only

step "end-to-end tests in Chromium"
e2e_dir=$(mktemp -d)
port=${TRELLIS_E2E_PORT:-3199}
export DATABASE_URL="sqlite://$e2e_dir/e2e.db?mode=rwc" TRELLIS_ADDR="127.0.0.1:$port" TRELLIS_SCHEDULER=off
"$target/debug/trellis" demo >/dev/null
TRELLIS_E2E_API_KEY=$("$target/debug/trellis" api-key create --account demo --name e2e 2>/dev/null)
export TRELLIS_E2E_API_KEY
# The portal spec reads the verification link from the outbox (no SMTP in tests).
export TRELLIS_E2E_DB="$e2e_dir/e2e.db"
"$target/debug/trellis" serve >"$e2e_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
(cd end2end && TRELLIS_E2E_URL="http://127.0.0.1:$port" node --test tests/) || { echo "--- server log"; tail -50 "$e2e_dir/server.log"; exit 1; }
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
rm -rf "$e2e_dir"
echo
echo "all tests passed"
