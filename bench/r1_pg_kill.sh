#!/usr/bin/env bash
# R1 (docs/benchmarks.md, /work/shared/targets.md): kill PostgreSQL during a conversion burst.
#
#   bench/r1_pg_kill.sh     # as root; needs target/release/trellis (builds trellis-bench itself)
#
# On a throwaway cluster of its own (never the shared server on 5432):
#   1. initdb + pg_ctl start on a free port >= 54400, `trellis demo`, an API key, `trellis serve`;
#   2. a burst of conversions (R1_N at R1_RATE/s, R1_C clients) whose clients retry the same
#      external id, same body, on errors/timeouts/5xx (8 s request timeout, backoff) until 200/201;
#   3. R1_KILL_AFTER s in: `pg_ctl stop -m immediate`; while it is down, /readyz is probed (must
#      answer 503 within 5 s); after R1_DOWN_FOR s: `pg_ctl start`;
#   4. the clients finish; /readyz must be 200 again with the same trellis process;
#   5. in the database: rows = unique external ids sent, none missing, none duplicated, one
#      `earned` ledger entry per conversion.
# Results go to bench/results/r1-<stamp>/. The cluster is stopped and deleted on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${R1_N:-10000}
RATE=${R1_RATE:-500}
C=${R1_C:-64}
KILL_AFTER=${R1_KILL_AFTER:-4}
DOWN_FOR=${R1_DOWN_FOR:-5}
# Client timeout per attempt: above the 5 s target, so an answer at 5.2 s is seen as such
# rather than as a client-side timeout at exactly 5 s.
TIMEOUT=${R1_TIMEOUT:-8}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${R1_OUT:-$BENCH_DIR/results/r1-$STAMP}
BENCH_BIN=$ROOT/target/release/trellis-bench

[ "$(id -u)" = 0 ] || die "run as root (initdb runs as the postgres user via runuser)"
require_tools "$PG_BIN/initdb" "$PG_BIN/pg_ctl" runuser curl jq psql
mkdir -p "$OUT"
machine_json >"$OUT/machine-start.json"
TMP=$(mktemp -d /tmp/trellis-r1.XXXXXX)
PGDATA_R1=$TMP/pgdata
PORT=$(free_port 54400)
BENCH_PID=
PROBE_PID=

pgctl() { runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA_R1" "$@"; }
pg_start() { pgctl -o "-p $PORT -c listen_addresses=127.0.0.1 -k $PGDATA_R1" -l "$PGDATA_R1/log" -w -t 60 start >/dev/null; }

cleanup() {
    local rc=$?
    machine_json >"$OUT/machine-end.json" 2>/dev/null || true
    for p in $BENCH_PID $PROBE_PID; do kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null || true; done
    bench_cleanup_pids
    if [ -f "$PGDATA_R1/postmaster.pid" ]; then pgctl -m immediate -w -t 30 stop >/dev/null 2>&1 || true; fi
    [ -f "$PGDATA_R1/log" ] && cp "$PGDATA_R1/log" "$OUT/postgres.log" 2>/dev/null || true
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$BENCH_BIN" ] || [ "$BENCH_DIR/src/main.rs" -nt "$BENCH_BIN" ]; then
    log "building trellis-bench"
    (cd "$ROOT" && cargo build --release -q -p bench --bin trellis-bench) || die "cargo build -p bench"
fi

log "throwaway cluster on 127.0.0.1:$PORT in $PGDATA_R1"
chmod 755 "$TMP"
mkdir -p "$PGDATA_R1" && chown postgres:postgres "$PGDATA_R1" && chmod 700 "$PGDATA_R1"
runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDATA_R1" -A trust -U postgres >"$OUT/initdb.log" 2>&1 || die "initdb"
pg_start || die "pg_ctl start"
psql -h 127.0.0.1 -p "$PORT" -U postgres -qAtX -c "CREATE DATABASE trellis_r1" || die "create database"
psql_r1() { psql -h 127.0.0.1 -p "$PORT" -U postgres -d trellis_r1 -v ON_ERROR_STOP=1 -qAtX "$@"; }

export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/trellis_r1"
TRELLIS_ADDR="127.0.0.1:$(free_port 3300)"
export TRELLIS_ADDR
KEY=$(demo_and_key)
[ -n "$KEY" ] || die "no API key"
start_trellis "$OUT/trellis.log"
SERVER_PID=$TRELLIS_PID
wait_http "http://$TRELLIS_ADDR/readyz" 10 || die "/readyz is not 200 before the drill"

PREFIX="r1-$$"
WINDOW=$OUT/down-window.txt
rm -f "$WINDOW"
log "burst: $N conversions at $RATE/s, $C retrying clients"
"$BENCH_BIN" conversions --url "http://$TRELLIS_ADDR" --key "$KEY" --program 1 --partners 1 \
    -n "$N" -c "$C" --rate "$RATE" --prefix "$PREFIX" --retry --timeout-s "$TIMEOUT" --backoff-ms 100 --backoff-max-ms 1000 \
    --deadline-s 180 --down-window "$WINDOW" --ids-out "$OUT/ids.txt" --attempts-csv "$OUT/attempts.csv" \
    --out "$OUT/bench.json" >/dev/null 2>"$OUT/bench.err" &
BENCH_PID=$!

sleep "$KILL_AFTER"
kill -0 "$BENCH_PID" 2>/dev/null || die "the burst ended before the kill; raise R1_N"
DOWN_MS=$(now_ms)
log "pg_ctl stop -m immediate"
pgctl -m immediate -w -t 30 stop >/dev/null || die "pg_ctl stop"
STOPPED_MS=$(now_ms)

# Probe /readyz (and /healthz) while the database is down.
: >"$OUT/readyz-down.txt"
probe_until=$(( DOWN_MS + DOWN_FOR * 1000 ))
while [ "$(now_ms)" -lt "$probe_until" ]; do
    r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "http://$TRELLIS_ADDR/readyz" || echo "000 10")
    h=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "http://$TRELLIS_ADDR/healthz" || echo "000 10")
    echo "$(now_ms) readyz $r healthz $h" >>"$OUT/readyz-down.txt"
    sleep 0.3
done
UP_START_MS=$(now_ms)
log "pg_ctl start"
pg_start || die "pg_ctl start (restart)"
UP_MS=$(now_ms)
echo "$DOWN_MS $UP_MS" >"$WINDOW"

# Recovery without restarting trellis.
recovered_ms=null
i=0
while [ $i -lt 300 ]; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$TRELLIS_ADDR/readyz")" = 200 ]; then
        recovered_ms=$(( $(now_ms) - UP_MS )); break
    fi
    sleep 0.1; i=$((i + 1))
done
log "readyz 200 again ${recovered_ms} ms after the restart"

log "waiting for the clients to finish"
wait "$BENCH_PID" || { cat "$OUT/bench.err" >&2; die "trellis-bench"; }
BENCH_PID=
same_process=$(kill -0 "$SERVER_PID" 2>/dev/null && echo true || echo false)
post=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST "http://$TRELLIS_ADDR/api/v1/conversions" \
    -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d "{\"program_id\":1,\"external_id\":\"$PREFIX-after\",\"amount\":\"1.00\",\"partner_id\":1}")
echo "$PREFIX-after" >>"$OUT/ids.txt"

stop_pid "$SERVER_PID" 60 || log "trellis needed SIGKILL"

psql_r1 -c "CREATE TABLE bench_sent (external_id text PRIMARY KEY)"
psql_r1 -c "\\copy bench_sent FROM '$OUT/ids.txt'"
ROWS=$(psql_r1 -c "SELECT json_build_object(
    'ids_sent', (SELECT count(*) FROM bench_sent),
    'rows', (SELECT count(*) FROM conversions WHERE program_id = 1 AND external_id LIKE '$PREFIX-%'),
    'distinct_external_ids', (SELECT count(DISTINCT external_id) FROM conversions WHERE program_id = 1 AND external_id LIKE '$PREFIX-%'),
    'missing', (SELECT count(*) FROM bench_sent s WHERE NOT EXISTS (SELECT 1 FROM conversions c WHERE c.program_id = 1 AND c.external_id = s.external_id)),
    'unexpected', (SELECT count(*) FROM conversions c WHERE c.program_id = 1 AND c.external_id LIKE '$PREFIX-%' AND NOT EXISTS (SELECT 1 FROM bench_sent s WHERE s.external_id = c.external_id)),
    'earned_ledger_entries', (SELECT count(*) FROM ledger_entries l JOIN conversions c ON c.id = l.conversion_id WHERE c.program_id = 1 AND c.external_id LIKE '$PREFIX-%' AND l.kind = 'earned'),
    'conversions_with_more_than_one_earned_entry', (SELECT count(*) FROM (SELECT l.conversion_id FROM ledger_entries l JOIN conversions c ON c.id = l.conversion_id WHERE c.external_id LIKE '$PREFIX-%' AND l.kind = 'earned' GROUP BY l.conversion_id HAVING count(*) > 1) x))")

READYZ=$(awk '{print $3, $4}' "$OUT/readyz-down.txt" | jq -Rn '[inputs | split(" ") | {code: .[0], s: (.[1] | tonumber)}]')
HEALTHZ=$(awk '{print $6, $7}' "$OUT/readyz-down.txt" | jq -Rn '[inputs | split(" ") | {code: .[0], s: (.[1] | tonumber)}]')
jq -n --slurpfile b "$OUT/bench.json" --argjson rows "$ROWS" --argjson readyz "$READYZ" --argjson healthz "$HEALTHZ" \
    --argjson down "$DOWN_MS" --argjson stopped "$STOPPED_MS" --argjson up "$UP_MS" --argjson up_start "$UP_START_MS" \
    --argjson recovered "$recovered_ms" --argjson same "$same_process" --arg post "$post" \
    --arg trellis_errors "$(grep -c -i 'error' "$OUT/trellis.log" || true)" '
  ($b[0]) as $b |
  {
    burst: {requests: $b.requests_finished, unique_ids: $b.unique_external_ids_sent, duplicates: $b.duplicate_requests,
      elapsed_s: $b.elapsed_s, final_statuses: $b.final_status_counts, ids_not_confirmed: $b.unique_ids_not_confirmed,
      attempts: $b.attempts.total, retries: $b.attempts.retries, attempt_statuses: $b.attempts.status_counts,
      longest_attempt_ms: $b.attempts.latency_every_attempt.max_ms, max_attempts_for_one_id: $b.attempts.max_attempts_for_one_id},
    outage: {killed_at_ms: $down, stop_took_ms: ($stopped - $down), down_for_ms: ($up - $down), restart_took_ms: ($up - $up_start),
      conversions: $b.outage, readyz_while_down: {probes: ($readyz | length), codes: ($readyz | group_by(.code) | map({(.[0].code): length}) | add),
        max_s: ($readyz | map(.s) | max)},
      healthz_while_down: {codes: ($healthz | group_by(.code) | map({(.[0].code): length}) | add), max_s: ($healthz | map(.s) | max)}},
    recovery: {readyz_200_ms_after_restart: $recovered, same_trellis_process: $same, post_after_recovery_status: $post,
      error_lines_in_trellis_log: ($trellis_errors | tonumber)},
    database: $rows,
    met: {
      zero_duplicates: ($rows.rows == $rows.distinct_external_ids and $rows.conversions_with_more_than_one_earned_entry == 0),
      zero_missing: ($rows.missing == 0 and $rows.unexpected == 0 and $rows.rows == $rows.ids_sent and $b.unique_ids_not_confirmed == 0),
      readyz_503_within_5s: (($readyz | length) > 0 and ($readyz | all(.code == "503" and .s <= 5))),
      conversions_answer_within_5s_while_down: (($b.outage.longest_single_attempt_during_outage_ms // 1e9) <= 5000),
      recovered_without_restart: ($same and $recovered != null and $post == "201")
    }
  }' | tee "$OUT/summary.json"
jq -e '.met | all' "$OUT/summary.json" >/dev/null
