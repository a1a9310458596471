#!/usr/bin/env bash
# P1 (docs/benchmarks.md, /work/shared/targets.md): GET /r/{code} under oha.
#
#   bench/p1_redirect.sh            # needs target/release/trellis, oha, nginx, curl, jq, sqlite3, psql
#
# For each backend in P1_BACKENDS (default "sqlite postgres"):
#   1. a fresh database (temp SQLite file, or a throwaway database on the shared PostgreSQL),
#      `trellis demo`, an API key, a link for partner 1 in program 1;
#   2. latency: `oha -q 2000 -z 30s --latency-correction` against /r/{code} (p99 < 5 ms, 0 errors);
#   3. throughput: unthrottled oha against trellis and against nginx serving a static 302, in
#      alternating rounds in this same run (trellis ≥ 50% of nginx);
#   4. waits for the click flush, stops trellis with SIGTERM, and compares the rows in `clicks`
#      for the link with the 302 answers oha counted (must be exactly equal).
# Results (oha JSON and a summary) go to bench/results/p1-<stamp>/. Everything started here is
# stopped, and every database created here dropped, on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATE=${P1_RATE:-2000}
LAT_DURATION=${P1_LAT_DURATION:-30s}
TP_DURATION=${P1_TP_DURATION:-10s}
TP_ROUNDS=${P1_TP_ROUNDS:-2}
CONNS=${P1_CONNECTIONS:-50}
BACKENDS=${P1_BACKENDS:-"sqlite postgres"}
DRAIN_MAX=${P1_DRAIN_MAX:-120}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${P1_OUT:-$BENCH_DIR/results/p1-$STAMP}

require_tools "$OHA" /usr/sbin/nginx curl jq sqlite3 psql createdb dropdb
mkdir -p "$OUT"
machine_json >"$OUT/machine-start.json"
TMP=$(mktemp -d /tmp/trellis-p1.XXXXXX)
private_trellis "$TMP"
NGINX_PID=
PG_DB=

cleanup() {
    local rc=$?
    machine_json >"$OUT/machine-end.json" 2>/dev/null || true
    bench_cleanup_pids
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then stop_pid "$NGINX_PID" 10 || true; fi
    if [ -n "$PG_DB" ]; then dropdb -h "$PGHOST_SHARED" -p "$PGPORT_SHARED" -U postgres --if-exists "$PG_DB" || true; fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

oha_json() { # out-file oha-args...
    local out=$1; shift
    "$OHA" --no-tui --output-format json --redirect 0 -w -c "$CONNS" "$@" >"$out"
}
# Successful (302) answers per second of a run: requestsPerSec would count refused connections.
ok_rps() { jq -r '(.statusCodeDistribution["302"] // 0) / .summary.total' "$1"; }
status_count() { jq -r --arg s "$2" '.statusCodeDistribution[$s] // 0' "$1"; }
total_count() { jq -r '[.statusCodeDistribution[]] | add // 0' "$1"; }
error_count() { jq -r '[.errorDistribution[]] | add // 0' "$1"; }

# nginx reference: a static 302, 2 workers (worker_processes auto), no access log.
NGINX_PORT=$(free_port 18080)
mkdir -p "$TMP/nginx/tmp"
sed "s/@PORT@/$NGINX_PORT/" "$BENCH_DIR/nginx-302.conf.in" >"$TMP/nginx/nginx.conf"
/usr/sbin/nginx -p "$TMP/nginx/" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" &
NGINX_PID=$!
wait_http_302() { local i=0; while [ $i -lt 100 ]; do [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 302 ] && return 0; sleep 0.1; i=$((i+1)); done; return 1; }
wait_http_302 "http://127.0.0.1:$NGINX_PORT/" || die "nginx did not start"
NGINX_URL="http://127.0.0.1:$NGINX_PORT/r/static"

# Noise floor: the same fixed-rate latency run against nginx. If nginx's own p99 is high, the
# machine (not trellis) is the limit at that moment.
log "latency reference: oha -q $RATE -z $LAT_DURATION against nginx"
oha_json "$OUT/nginx-latency.json" -q "$RATE" -z "$LAT_DURATION" --latency-correction "$NGINX_URL"
NGINX_P50=$(jq -r '.latencyPercentiles.p50 * 1000' "$OUT/nginx-latency.json")
NGINX_P99=$(jq -r '.latencyPercentiles.p99 * 1000' "$OUT/nginx-latency.json")

summary_lines=()
overall=0
for backend in $BACKENDS; do
    log "=== P1 on $backend ==="
    case $backend in
        sqlite) export DATABASE_URL="sqlite://$TMP/p1.db?mode=rwc" ;;
        postgres)
            PG_DB="trellis_bench_p1_$$"
            dropdb -h "$PGHOST_SHARED" -p "$PGPORT_SHARED" -U postgres --if-exists "$PG_DB"
            createdb -h "$PGHOST_SHARED" -p "$PGPORT_SHARED" -U postgres "$PG_DB"
            export DATABASE_URL="postgres://postgres@$PGHOST_SHARED:$PGPORT_SHARED/$PG_DB" ;;
        *) die "unknown backend $backend" ;;
    esac
    TRELLIS_ADDR="127.0.0.1:$(free_port 3300)"
    export TRELLIS_ADDR
    KEY=$(demo_and_key)
    [ -n "$KEY" ] || die "no API key"
    start_trellis "$OUT/trellis-$backend.log"
    LINK=$(curl -s --max-time 10 -X POST "http://$TRELLIS_ADDR/api/v1/links" \
        -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
        -d '{"partner_id":1,"program_id":1}')
    CODE=$(jq -r '.code // empty' <<<"$LINK")
    LINK_ID=$(jq -r '.id // empty' <<<"$LINK")
    [ -n "$CODE" ] && [ -n "$LINK_ID" ] || die "link creation answered: $LINK"
    URL="http://$TRELLIS_ADDR/r/$CODE"
    first=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL")
    [ "$first" = 302 ] || die "GET /r/$CODE answered $first"
    sent_302=1 # the curl above

    log "latency: oha -q $RATE -z $LAT_DURATION against $URL"
    oha_json "$OUT/$backend-latency.json" -q "$RATE" -z "$LAT_DURATION" --latency-correction "$URL"
    assert_alive "$TRELLIS_PID" trellis
    sent_302=$((sent_302 + $(status_count "$OUT/$backend-latency.json" 302)))

    tp_trellis=() tp_nginx=()
    for round in $(seq 1 "$TP_ROUNDS"); do
        log "throughput round $round: nginx, then trellis (-z $TP_DURATION -c $CONNS, unthrottled)"
        oha_json "$OUT/$backend-nginx-$round.json" -z "$TP_DURATION" "$NGINX_URL"
        tp_nginx+=("$(ok_rps "$OUT/$backend-nginx-$round.json")")
        oha_json "$OUT/$backend-throughput-$round.json" -z "$TP_DURATION" "$URL"
        assert_alive "$TRELLIS_PID" trellis
        tp_trellis+=("$(ok_rps "$OUT/$backend-throughput-$round.json")")
        sent_302=$((sent_302 + $(status_count "$OUT/$backend-throughput-$round.json" 302)))
    done

    # Every trellis answer must have been a 302.
    answers=1 errors=0
    for f in "$OUT/$backend-latency.json" "$OUT"/$backend-throughput-*.json; do
        answers=$((answers + $(total_count "$f")))
        errors=$((errors + $(error_count "$f")))
    done
    non_302=$((answers - sent_302))

    count_clicks() {
        case $backend in
            sqlite) sqlite3 "$TMP/p1.db" "PRAGMA busy_timeout=5000; SELECT count(*) FROM clicks WHERE link_id = $LINK_ID;" | tail -1 ;;
            postgres) psql_shared -d "$PG_DB" -c "SELECT count(*) FROM clicks WHERE link_id = $LINK_ID" ;;
        esac
    }
    # The buffer flushes every 250 ms, but a backlog built under unthrottled load can take much
    # longer to write: wait up to P1_DRAIN_MAX s for the rows to match, reporting how long it took.
    t0=$(now_ms)
    before_stop=$(count_clicks)
    while [ "$before_stop" != "$sent_302" ] && [ $(( $(now_ms) - t0 )) -lt $((DRAIN_MAX * 1000)) ]; do
        sleep 0.5
        before_stop=$(count_clicks)
    done
    drain_ms=$(( $(now_ms) - t0 ))
    assert_alive "$TRELLIS_PID" trellis
    t0=$(now_ms)
    stop_pid "$TRELLIS_PID" 60 || log "trellis needed SIGKILL"
    stop_ms=$(( $(now_ms) - t0 ))
    after_stop=$(count_clicks)
    flush_warnings=$(grep -ci 'flush failed' "$OUT/trellis-$backend.log" || true)

    # Extra (not part of the P1 target): SIGTERM in the middle of unthrottled load. Every 302
    # answered must still be stored once trellis has exited (the shutdown flush).
    start_trellis "$OUT/trellis-$backend-sigterm.log"
    LINK2=$(curl -s --max-time 10 -X POST "http://$TRELLIS_ADDR/api/v1/links" \
        -H "Authorization: Bearer $KEY" -H 'content-type: application/json' -d '{"partner_id":1,"program_id":1}')
    LINK2_ID=$(jq -r '.id // empty' <<<"$LINK2")
    [ -n "$LINK2_ID" ] || die "link creation answered: $LINK2"
    "$OHA" --no-tui --output-format json --redirect 0 -w -c "$CONNS" -z 4s "http://$TRELLIS_ADDR/r/$(jq -r .code <<<"$LINK2")" \
        >"$OUT/$backend-sigterm.json" &
    oha_pid=$!
    sleep 2
    stop_pid "$TRELLIS_PID" 60 || log "trellis needed SIGKILL"
    wait "$oha_pid" || true
    sigterm_302=$(status_count "$OUT/$backend-sigterm.json" 302)
    sigterm_rows=$(LINK_ID=$LINK2_ID count_clicks)

    lat=$OUT/$backend-latency.json
    p50=$(jq -r '.latencyPercentiles.p50 * 1000' "$lat")
    p99=$(jq -r '.latencyPercentiles.p99 * 1000' "$lat")
    p999=$(jq -r '.latencyPercentiles["p99.9"] * 1000' "$lat")
    lat_rps=$(jq -r '.summary.requestsPerSec' "$lat")
    lat_errors=$(( $(error_count "$lat") + $(total_count "$lat") - $(status_count "$lat" 302) ))
    sum_t=$(printf '%s\n' "${tp_trellis[@]}" | awk '{s+=$1} END {print s}')
    sum_n=$(printf '%s\n' "${tp_nginx[@]}" | awk '{s+=$1} END {print s}')
    ratio=$(awk -v t="$sum_t" -v n="$sum_n" 'BEGIN {printf "%.3f", (n > 0 ? t / n : 0)}')
    p99_ok=$(awk -v p="$p99" 'BEGIN {print (p < 5 ? "yes" : "no")}')
    ratio_ok=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.5 ? "yes" : "no")}')
    count_ok=$([ "$after_stop" = "$sent_302" ] && [ "$before_stop" = "$sent_302" ] && echo yes || echo no)
    errors_ok=$([ "$lat_errors" = 0 ] && [ "$errors" = 0 ] && [ "$non_302" = 0 ] && echo yes || echo no)

    jq -n --arg backend "$backend" --argjson rate "$RATE" --arg lat_duration "$LAT_DURATION" \
        --argjson p50 "$p50" --argjson p99 "$p99" --argjson p999 "$p999" --argjson lat_rps "$lat_rps" \
        --argjson lat_errors "$lat_errors" \
        --argjson tp_trellis "$(printf '%s\n' "${tp_trellis[@]}" | jq -s .)" \
        --argjson tp_nginx "$(printf '%s\n' "${tp_nginx[@]}" | jq -s .)" \
        --argjson ratio "$ratio" --argjson sent_302 "$sent_302" --argjson non_302 "$non_302" --argjson errors "$errors" \
        --argjson before_stop "$before_stop" --argjson after_stop "$after_stop" --argjson stop_ms "$stop_ms" --argjson drain_ms "$drain_ms" \
        --argjson flush_warnings "$flush_warnings" --argjson sigterm_302 "$sigterm_302" --argjson sigterm_rows "$sigterm_rows" \
        --arg p99_ok "$p99_ok" --arg ratio_ok "$ratio_ok" --arg count_ok "$count_ok" --arg errors_ok "$errors_ok" \
        '{backend: $backend, latency_run: {offered_rps: $rate, duration: $lat_duration, achieved_rps: $lat_rps,
           p50_ms: $p50, p99_ms: $p99, p999_ms: $p999, errors_or_non_302: $lat_errors},
          throughput_rps: {trellis: $tp_trellis, nginx: $tp_nginx, ratio_trellis_over_nginx: $ratio},
          clicks: {oha_302_answers: $sent_302, non_302_answers: $non_302, oha_errors: $errors,
                   rows_after_flush_before_stop: $before_stop, ms_until_rows_matched_after_load: $drain_ms, rows_after_sigterm: $after_stop,
                   sigterm_to_exit_ms: $stop_ms, flush_failures_logged: $flush_warnings},
          extra_sigterm_under_load: {oha_302_answers: $sigterm_302, rows_after_exit: $sigterm_rows, lost: ($sigterm_302 - $sigterm_rows)},
          met: {p99_under_5ms: $p99_ok, zero_errors: $errors_ok, throughput_ge_50pct_nginx: $ratio_ok, click_count_exact: $count_ok}}' \
        | tee "$OUT/summary-$backend.json"
    summary_lines+=("$(printf '%-8s p50 %6.3f ms  p99 %6.3f ms (<5: %s)  errors %s (%s)  trellis %s req/s vs nginx %s req/s = %s (>=0.5: %s)  302s %s  rows %s/%s (exact: %s)' \
        "$backend" "$p50" "$p99" "$p99_ok" "$((lat_errors + errors + non_302))" "$errors_ok" \
        "$(printf '%.0f' "$(awk -v s="$sum_t" -v n="$TP_ROUNDS" 'BEGIN{print s/n}')")" \
        "$(printf '%.0f' "$(awk -v s="$sum_n" -v n="$TP_ROUNDS" 'BEGIN{print s/n}')")" \
        "$ratio" "$ratio_ok" "$sent_302" "$before_stop" "$after_stop" "$count_ok")")
    summary_lines+=("$(printf '%-8s extra: SIGTERM under unthrottled load: %s 302s, %s rows stored, %s lost' \
        "$backend" "$sigterm_302" "$sigterm_rows" "$((sigterm_302 - sigterm_rows))")")
    [ "$p99_ok$ratio_ok$count_ok$errors_ok" = yesyesyesyes ] || overall=1

    if [ "$backend" = postgres ]; then
        dropdb -h "$PGHOST_SHARED" -p "$PGPORT_SHARED" -U postgres --if-exists "$PG_DB"
        PG_DB=
    fi
done

summary_lines+=("$(printf 'nginx    static 302 at %s/s for %s: p50 %.3f ms  p99 %.3f ms (noise floor of this machine now)' "$RATE" "$LAT_DURATION" "$NGINX_P50" "$NGINX_P99")")
echo
echo "P1 summary (results in $OUT):"
printf '  %s\n' "${summary_lines[@]}" | tee "$OUT/summary.txt"
exit "$overall"
