#!/usr/bin/env bash
# P4 (targets.md): the directory at 100,000 partners — data set L on PostgreSQL, filter tier Gold
# + status active, sort by revenue, page 50: server function p95 < 50 ms, full SSR page p95 <
# 100 ms. Also times bulk actions over 500 partners (issue #3: < 2 s) on the same server.
#   bench/p4_directory.sh            # ~4 minutes (L load ~70 s, tier pass, 200 + 200 requests)
# Needs target/release/{trellis,trellis-gen,trellis-bulkbench} and psql on 127.0.0.1:5432.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BIN=$(dirname "$TRELLIS")
db="trellis_p4_$$"
out="$ROOT/bench/results/p4-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
admin_url="postgres://postgres@$PGHOST_SHARED:$PGPORT_SHARED/postgres"
url="postgres://postgres@$PGHOST_SHARED:$PGPORT_SHARED/$db"
cleanup() { bench_cleanup_pids 2>/dev/null || true; psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; }
trap cleanup EXIT
psql "$admin_url" -qc "CREATE DATABASE $db"
export DATABASE_URL="$url" TRELLIS_SCHEDULER=off
"$TRELLIS" migrate >/dev/null
log "loading data set L"
t0=$(now_ms)
"$BIN/trellis-gen" --set l --seed 42 --end 2026-11-26T00:00:00Z | psql -v ON_ERROR_STOP=1 -q "$url" >/dev/null
log "loaded in $(( ($(now_ms) - t0) / 1000 )) s; tier pass and partner stats"
"$TRELLIS" scheduler run-once --job tier_evaluation --now 2026-11-26T00:00:00Z >/dev/null
"$TRELLIS" scheduler run-once --job partner_stats --now 2026-11-26T00:00:00Z >/dev/null
psql -q "$url" -c "VACUUM ANALYZE" >/dev/null  # what autovacuum does after a bulk load
slug=$(psql -Atq "$url" -c "SELECT slug FROM accounts ORDER BY id LIMIT 1")
"$TRELLIS" user create --account "$slug" --email admin@bench.example --password trellis-bench --role admin >/dev/null
key=$("$TRELLIS" api-key create --account "$slug" --name p4 2>/dev/null)
port=$(free_port 3400)
TRELLIS_ADDR="127.0.0.1:$port" "$TRELLIS" serve >"$out/server.log" 2>&1 &
BENCH_PIDS+=($!)
wait_http "http://127.0.0.1:$port/readyz" 60 || die "server did not start"
uptime >"$out/load-start.txt"
"$BIN/trellis-bulkbench" --url "http://127.0.0.1:$port" --key "$key" --page 200 --page-no 50 | tee "$out/p4.txt"
uptime >"$out/load-end.txt"
echo "selected tier/status counts:" >>"$out/p4.txt"
psql -Atq "$url" -c "SELECT t.name, e.status, COUNT(*) FROM enrollments e JOIN tiers t ON t.id = e.tier_id GROUP BY 1, 2 ORDER BY 1, 2" >>"$out/p4.txt"
log "results in $out"
