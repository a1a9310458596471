#!/usr/bin/env bash
# P2 (docs/benchmarks.md, /work/shared/targets.md): POST /api/v1/conversions over HTTP with 10%
# duplicates, against a pgbench reference of plain single-row INSERTs in the same run.
#
#   bench/p2_conversions.sh     # needs target/release/trellis (it builds trellis-bench itself)
#
# Steps, on a throwaway database of the shared PostgreSQL (dropped on exit):
#   1. `trellis demo`, an API key, `trellis serve`;
#   2. latency at a fixed offered rate: P2_RATE (1000/s) for P2_RATE_N requests, P2_RATE_C clients;
#   3. throughput, closed loop: P2_N requests at P2_C clients (stops issuing after P2_DEADLINE s);
#   4. SIGTERM trellis, then check: rows in `conversions` = unique external ids sent, exactly
#      (ids compared one by one), one `earned` ledger entry each;
#   5. pgbench -n -f insert.sql -c 32 -j 2 -T 30: single-row INSERTs into a table with a unique key.
# Prints both rates and the ratio; results go to bench/results/p2-<stamp>/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATE=${P2_RATE:-1000}
RATE_N=${P2_RATE_N:-30000}
RATE_C=${P2_RATE_C:-64}
N=${P2_N:-30000}
C=${P2_C:-32}
DEADLINE=${P2_DEADLINE:-60}
PGB_C=${P2_PGBENCH_C:-32}
PGB_T=${P2_PGBENCH_T:-30}
PARTNERS=${P2_PARTNERS:-1}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${P2_OUT:-$BENCH_DIR/results/p2-$STAMP}
PGBENCH=${PGBENCH:-$PG_BIN/pgbench}
BENCH_BIN=$ROOT/target/release/trellis-bench

require_tools "$PGBENCH" curl jq psql createdb dropdb
mkdir -p "$OUT"
machine_json >"$OUT/machine-start.json"
TMP=$(mktemp -d /tmp/trellis-p2.XXXXXX)
PG_DB="trellis_bench_p2_$$"
DB_CREATED=

cleanup() {
    local rc=$?
    machine_json >"$OUT/machine-end.json" 2>/dev/null || true
    bench_cleanup_pids
    if [ -n "$DB_CREATED" ]; then dropdb -h "$PGHOST_SHARED" -p "$PGPORT_SHARED" -U postgres --if-exists "$PG_DB" || true; fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$BENCH_BIN" ] || [ "$BENCH_DIR/src/main.rs" -nt "$BENCH_BIN" ]; then
    log "building trellis-bench"
    (cd "$ROOT" && cargo build --release -q -p bench --bin trellis-bench) || die "cargo build -p bench"
fi

createdb -h "$PGHOST_SHARED" -p "$PGPORT_SHARED" -U postgres "$PG_DB"
DB_CREATED=1
export DATABASE_URL="postgres://postgres@$PGHOST_SHARED:$PGPORT_SHARED/$PG_DB"
TRELLIS_ADDR="127.0.0.1:$(free_port 3300)"
export TRELLIS_ADDR
KEY=$(demo_and_key)
[ -n "$KEY" ] || die "no API key"
start_trellis "$OUT/trellis.log"
psql_db() { psql_shared -d "$PG_DB" "$@"; }

run_bench() { # name args...
    local name=$1; shift
    "$BENCH_BIN" conversions --url "http://$TRELLIS_ADDR" --key "$KEY" --program 1 --partners "$PARTNERS" \
        --ids-out "$OUT/$name-ids.txt" --out "$OUT/$name.json" "$@" >/dev/null \
        || die "trellis-bench $name"
}

log "warm-up: 300 conversions"
run_bench warmup -n 300 -c 8 --prefix "p2w$$"

log "latency: $RATE_N conversions at a fixed $RATE/s, $RATE_C clients"
run_bench rate -n "$RATE_N" -c "$RATE_C" --rate "$RATE" --prefix "p2r$$" --deadline-s "$DEADLINE"

# CPU seconds used so far by a process (user + system).
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# What the server's database sessions are doing, sampled every 0.2 s while pid $1 runs.
sample_waits() {
    local pid=$1 file=$2 i=0
    : >"$file"
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 1500 ]; do
        psql_shared -d postgres -c "SELECT CASE WHEN state = 'idle' THEN 'idle (in pool)'
                WHEN wait_event IS NULL THEN state || ': on CPU / in flight'
                ELSE state || ': ' || wait_event_type || '/' || wait_event END
            FROM pg_stat_activity WHERE datname = '$PG_DB' AND pid <> pg_backend_pid()" >>"$file" 2>/dev/null || true
        sleep 0.2
        i=$((i + 1))
    done
}
summarise_waits() { sort "$1" | uniq -c | sort -rn | head -8 | awk '{c=$1; $1=""; printf "%s\t%s\n", c, substr($0, 2)}' | jq -Rn '[inputs | split("\t") | {(.[1]): (.[0] | tonumber)}] | add // {}'; }

run_bench_sampled() { # name args... (sets CPU_<name>)
    local name=$1 cpu0; shift
    cpu0=$(cpu_s "$TRELLIS_PID")
    run_bench "$name" "$@" &
    local pid=$!
    sample_waits "$pid" "$OUT/$name-pg-activity.txt" &
    local spid=$!
    wait "$pid" || die "trellis-bench $name"
    wait "$spid" || true
    printf -v "CPU_$name" '%s' "$(awk -v a="$cpu0" -v b="$(cpu_s "$TRELLIS_PID")" 'BEGIN {printf "%.2f", b - a}')"
}

log "throughput: $N conversions, $C clients, closed loop (deadline ${DEADLINE}s)"
run_bench_sampled throughput -n "$N" -c "$C" --prefix "p2t$$" --deadline-s "$DEADLINE"

# Diagnostic (not the P2 figure): the same closed loop spread over many active enrollments,
# to tell contention on one enrollment's rows (rollup of the day, etc.) from plain cost.
SPREAD_N=${P2_SPREAD_N:-10000}
SPREAD=$(psql_db -c "SELECT string_agg(partner_id::text, ',') FROM (SELECT partner_id FROM enrollments
    WHERE program_id = 1 AND status = 'active' ORDER BY partner_id LIMIT 32) x")
if [ "$SPREAD_N" -gt 0 ] && [ -n "$SPREAD" ]; then
    log "diagnostic: $SPREAD_N conversions, $C clients, spread over partners $SPREAD"
    PARTNERS=$SPREAD run_bench_sampled spread -n "$SPREAD_N" -c "$C" --prefix "p2s$$" --deadline-s "$DEADLINE"
fi

t0=$(now_ms)
stop_pid "$TRELLIS_PID" 60 || log "trellis needed SIGKILL"
log "trellis stopped in $(( $(now_ms) - t0 )) ms"

# Stored rows against the ids sent, one by one.
check_rows() { # name prefix -> JSON
    local name=$1 prefix=$2
    psql_db -c "CREATE TABLE bench_sent_$name (external_id text PRIMARY KEY)"
    psql_db -c "\\copy bench_sent_$name FROM '$OUT/$name-ids.txt'"
    psql_db -c "SELECT json_build_object(
        'ids_sent', (SELECT count(*) FROM bench_sent_$name),
        'rows', (SELECT count(*) FROM conversions WHERE program_id = 1 AND external_id LIKE '$prefix-%'),
        'distinct_external_ids', (SELECT count(DISTINCT external_id) FROM conversions WHERE program_id = 1 AND external_id LIKE '$prefix-%'),
        'missing', (SELECT count(*) FROM bench_sent_$name s WHERE NOT EXISTS (SELECT 1 FROM conversions c WHERE c.program_id = 1 AND c.external_id = s.external_id)),
        'unexpected', (SELECT count(*) FROM conversions c WHERE c.program_id = 1 AND c.external_id LIKE '$prefix-%' AND NOT EXISTS (SELECT 1 FROM bench_sent_$name s WHERE s.external_id = c.external_id)),
        'earned_ledger_entries', (SELECT count(*) FROM ledger_entries l JOIN conversions c ON c.id = l.conversion_id WHERE c.program_id = 1 AND c.external_id LIKE '$prefix-%' AND l.kind = 'earned'))"
}
ROWS_RATE=$(check_rows rate "p2r$$")
ROWS_TP=$(check_rows throughput "p2t$$")
ROWS_SPREAD=null
[ -f "$OUT/spread.json" ] && ROWS_SPREAD=$(check_rows spread "p2s$$")
WAITS_TP=$(summarise_waits "$OUT/throughput-pg-activity.txt")
WAITS_SPREAD='{}'
[ -f "$OUT/spread-pg-activity.txt" ] && WAITS_SPREAD=$(summarise_waits "$OUT/spread-pg-activity.txt")

log "pgbench reference: single-row INSERTs with a unique key, -c $PGB_C -j 2 -T $PGB_T"
psql_db -c "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, external_id text NOT NULL UNIQUE, amount_minor bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now()); CREATE SEQUENCE bench_insert_ext;"
cat >"$TMP/insert.sql" <<'SQL'
\set amount random(100, 100000)
INSERT INTO bench_insert (external_id, amount_minor) VALUES ('pgb-' || nextval('bench_insert_ext'), :amount);
SQL
cp "$TMP/insert.sql" "$OUT/insert.sql"
"$PGBENCH" -h "$PGHOST_SHARED" -p "$PGPORT_SHARED" -U postgres -n -f "$TMP/insert.sql" -c "$PGB_C" -j 2 -T "$PGB_T" -r "$PG_DB" >"$OUT/pgbench.txt" 2>&1 \
    || { cat "$OUT/pgbench.txt" >&2; die "pgbench"; }
PGB_TPS=$(grep -Eo 'tps = [0-9.]+ \(without initial' "$OUT/pgbench.txt" | grep -Eo '[0-9.]+' | head -1)
PGB_LAT=$(grep -Eo 'latency average = [0-9.]+' "$OUT/pgbench.txt" | grep -Eo '[0-9.]+$' || echo null)
PGB_ROWS=$(psql_db -c "SELECT count(*) FROM bench_insert")

R=$OUT/rate.json T=$OUT/throughput.json
[ -f "$OUT/spread.json" ] || echo null >"$OUT/spread.json"
jq -n --slurpfile rate "$R" --slurpfile tp "$T" --argjson rows_rate "$ROWS_RATE" --argjson rows_tp "$ROWS_TP" \
    --slurpfile spread "$OUT/spread.json" --argjson rows_spread "$ROWS_SPREAD" \
    --argjson waits_tp "$WAITS_TP" --argjson waits_spread "$WAITS_SPREAD" \
    --argjson cpu_tp "${CPU_throughput:-null}" --argjson cpu_spread "${CPU_spread:-null}" \
    --argjson pgb_tps "$PGB_TPS" --argjson pgb_lat "$PGB_LAT" --argjson pgb_rows "$PGB_ROWS" \
    --argjson pgb_c "$PGB_C" --argjson pgb_t "$PGB_T" '
  ($rate[0]) as $r | ($tp[0]) as $t |
  {
    fixed_rate: {offered_per_s: $r.offered_rate_per_s, achieved_per_s: $r.achieved_requests_per_s,
      success_per_s: $r.achieved_success_per_s, elapsed_s: $r.elapsed_s, requests: $r.requests_finished,
      cut_by_deadline: $r.cut_by_deadline, statuses: $r.final_status_counts,
      p50_ms: $r.latency_success.p50_ms, p99_ms: $r.latency_success.p99_ms, max_ms: $r.latency_success.max_ms,
      p99_from_schedule_ms: $r.latency_success_from_schedule.p99_ms, rows: $rows_rate},
    closed_loop: {clients: $t.concurrency, success_per_s: $t.achieved_success_per_s, new_rows_per_s: $t.new_conversions_per_s,
      elapsed_s: $t.elapsed_s, requests: $t.requests_finished, duplicates: $t.duplicate_requests,
      cut_by_deadline: $t.cut_by_deadline, statuses: $t.final_status_counts,
      p50_ms: $t.latency_success.p50_ms, p99_ms: $t.latency_success.p99_ms, max_ms: $t.latency_success.max_ms, rows: $rows_tp,
      trellis_cpu_s: $cpu_tp, trellis_cpu_share_of_2_cores: (if $cpu_tp then ($cpu_tp / $t.elapsed_s / 2 * 1000 | round / 1000) else null end),
      pg_sessions_sampled: $waits_tp},
    diagnostic_spread_over_partners: (($spread[0]) as $s | if $s == null then null else
      {clients: $s.concurrency, success_per_s: $s.achieved_success_per_s, new_rows_per_s: $s.new_conversions_per_s,
       elapsed_s: $s.elapsed_s, requests: $s.requests_finished, statuses: $s.final_status_counts,
       p50_ms: $s.latency_success.p50_ms, p99_ms: $s.latency_success.p99_ms, rows: $rows_spread,
       trellis_cpu_s: $cpu_spread, pg_sessions_sampled: $waits_spread} end),
    pgbench: {clients: $pgb_c, seconds: $pgb_t, tps: $pgb_tps, latency_avg_ms: $pgb_lat, rows: $pgb_rows},
    ratio_trellis_over_pgbench: (($t.achieved_success_per_s / $pgb_tps) * 1000 | round / 1000),
    met: {
      rate_ge_1000_per_s: ($t.achieved_success_per_s >= 1000),
      fixed_rate_sustained: ($r.achieved_success_per_s >= 0.98 * $r.offered_rate_per_s and ($r.cut_by_deadline | not)),
      p99_under_50ms_at_fixed_rate: ($r.latency_success.p99_ms < 50),
      rows_exact: ([$rows_rate, $rows_tp] + (if $rows_spread then [$rows_spread] else [] end) | all(.rows == .ids_sent and .missing == 0 and .unexpected == 0 and .distinct_external_ids == .rows)),
      ratio_ge_30pct_of_pgbench: (($t.achieved_success_per_s / $pgb_tps) >= 0.3)
    }
  }' | tee "$OUT/summary.json"
jq -e '.met | all' "$OUT/summary.json" >/dev/null
