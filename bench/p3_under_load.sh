#!/usr/bin/env bash
# P3 under load (#27; docs/benchmarks.md): every analytics read, the executive view and the
# directory's first page on data set L on PostgreSQL, at a fixed rate, idle and then during the
# P1 (redirects) + P2 (conversions) load, in the same run; answers checked equal to the raw
# GROUP BY before and after the load.
#
#   nice bench/p3_under_load.sh     # about 10 minutes on 2 cores
#
# 1. Data set L (trellis-gen --set l, seed P3_SEED, 365 days before P3_END) on a fresh database
#    of $DRILL_PG; `trellis scheduler run-once --job analytics_rebuild`; `trellis serve`.
# 2. Reads (trellis-readbench, open loop, each read at P3_RATE requests/s (the executive view at
#    P3_EXEC_RATE) on its own P3_CLIENTS clients, for P3_DURATION s; latency from each
#    request's scheduled start, so a slow answer also delays the reads queued behind it):
#      summary_90d    GET /api/v1/analytics/summary, program 1, the 90 whole days to END
#      summary_edges  the same from (END − 364 d) 13:00:00Z to (END − 1 d) 09:30:00Z
#      summary_24h    the same over the 24 hours to (END − 1 d) 17:42:30Z (mid-minute edges)
#      cohorts        GET /api/v1/analytics/cohorts, program 1, 12 weeks
#      executive      the executive view's server function (analytics/dashboard, 90 days)
#      directory      GET /api/v1/partners?program_id=1 (the directory's first page)
#    (a) idle; (b) while trellis-readbench sends redirects to one link with P3_REDIRECT_CLIENTS
#    clients, closed loop (P1), and trellis-bench posts conversions at P3_CONV_RATE/s (P2).
#    PostgreSQL sessions are sampled every 0.2 s during (b) (lock waits of the reads).
# 3. The three summaries and the cohort cells equal the raw GROUP BY over conversions, ledger
#    entries and clicks, before the load and again after it (ingestion kept the rollups exact).
# Results: bench/results/p3load-<stamp>/. The database is dropped on exit (DRILL_KEEP=1 keeps it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/drill_lib.sh"

SEED=${P3_SEED:-42}
END=${P3_END:-$(date -u +%Y-%m-%dT00:00:00Z)}
RATE=${P3_RATE:-10}
EXEC_RATE=${P3_EXEC_RATE:-0.5}
CLIENTS=${P3_CLIENTS:-2}
DURATION=${P3_DURATION:-60}
CONV_RATE=${P3_CONV_RATE:-200}
REDIRECT_CLIENTS=${P3_REDIRECT_CLIENTS:-16}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${P3_OUT:-$DRILL_DIR/results/p3load-$STAMP}
DB=trellis_p3load_$$
READBENCH=${READBENCH:-$ROOT/target/release/trellis-readbench}
CONVBENCH=${CONVBENCH:-$ROOT/target/release/trellis-bench}

[ -x "$TRELLIS" ] || die "$TRELLIS missing: cargo build --release -p server --bin trellis"
if [ ! -x "$GEN" ] || [ ! -x "$READBENCH" ] || [ ! -x "$CONVBENCH" ] || [ "$DRILL_DIR/src/bin/trellis-readbench.rs" -nt "$READBENCH" ]; then
    log "building trellis-gen, trellis-readbench and trellis-bench"
    (cd "$ROOT" && cargo build --release -q -p bench --bin trellis-gen --bin trellis-readbench --bin trellis-bench) || die "cargo build -p bench"
fi
for t in psql curl jq bc ss; do command -v "$t" >/dev/null || die "$t not found"; done
mkdir -p "$OUT"
DRILL_TMP=$(mktemp -d /tmp/trellis-p3load.XXXXXX)
private_binaries
trap 'drill_cleanup' EXIT
trap 'exit 130' INT TERM
machine_json >"$OUT/machine-start.json"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY" >&2; }
export DATABASE_URL="$DRILL_PG/$DB" TRELLIS_SCHEDULER=off RUST_LOG=warn

drill_db "$DB"
LOAD_S=$(load_set "$DB" l --seed "$SEED" --end "$END")
say "P3 under load: data set L (seed $SEED, end $END) loaded in $LOAD_S s"
say "    $(dpsql "$DB" -c "SELECT (SELECT count(*) FROM enrollments) || ' enrollments, ' || (SELECT count(*) FROM conversions) || ' conversions, ' || (SELECT count(*) FROM ledger_entries) || ' ledger entries'")"
"$TRELLIS" scheduler run-once --job analytics_rebuild --now "$END" >/dev/null || die "analytics_rebuild"
dpsql "$DB" -c "VACUUM ANALYZE" >/dev/null

PORT=$(free_port 3470)
BASE=http://127.0.0.1:$PORT
KEY=$("$TRELLIS" api-key create --account bench-l --name p3load 2>/dev/null)
"$TRELLIS" user create --account bench-l --email analyst@bench.example --password 'p3-load-bench' --role analytics_viewer >/dev/null
TRELLIS_ADDR=127.0.0.1:$PORT TRELLIS_PUBLIC_URL=$BASE "$TRELLIS" serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
DRILL_PIDS+=("$SERVER_PID")
wait_http "$BASE/readyz" 60 || die "server did not start"
COOKIE=$(curl -sf -D - -o /dev/null -d 'email=analyst@bench.example&password=p3-load-bench' "$BASE/api/login" |
    tr -d '\r' | grep -i '^set-cookie:' | sed 's/^[^:]*: *//; s/;.*//' | paste -sd';' | sed 's/;/; /g') || die "login"
[ -n "$COOKIE" ] || die "login set no cookie"
PARTNER=$(dpsql "$DB" -c "SELECT partner_id FROM enrollments WHERE program_id = 1 AND status = 'active' ORDER BY id LIMIT 1")
CODE=$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"partner_id\": $PARTNER, \"program_id\": 1}" "$BASE/api/v1/links" | jq -r .code) || die "link"

DAY=${END%%T*}
W90_FROM=$(date -u -d "$DAY - 90 days" +%F)
EDGE_FROM="$(date -u -d "$DAY - 364 days" +%F)T13:00:00Z"
EDGE_TO="$(date -u -d "$DAY - 1 day" +%F)T09:30:00Z"
H24_TO="$(date -u -d "$DAY - 1 day" +%F)T17:42:30Z"
H24_FROM="$(date -u -d "$DAY - 2 days" +%F)T17:42:30Z"
summary_path() { echo "/api/v1/analytics/summary?program_id=1&from=$1&to=$2"; }
READS=(--get "summary_90d=$(summary_path "$W90_FROM" "$DAY")"
    --get "summary_edges=$(summary_path "$EDGE_FROM" "$EDGE_TO")"
    --get "summary_24h=$(summary_path "$H24_FROM" "$H24_TO")"
    --get "cohorts=/api/v1/analytics/cohorts?program_id=1&weeks=12"
    --get "directory=/api/v1/partners?program_id=1"
    --post "executive@$EXEC_RATE=/api/analytics/dashboard|program_id=1&days=90")
say "    reads: summary 90 d ($W90_FROM → $DAY), summary $EDGE_FROM → $EDGE_TO, summary $H24_FROM → $H24_TO, cohorts 12 weeks, executive view 90 d, directory page 1"

# Every read answers 200 before anything is timed.
for p in "$(summary_path "$W90_FROM" "$DAY")" "$(summary_path "$EDGE_FROM" "$EDGE_TO")" "/api/v1/analytics/cohorts?program_id=1&weeks=12" "/api/v1/partners?program_id=1"; do
    curl -sf -o /dev/null -H "Authorization: Bearer $KEY" "$BASE$p" || die "GET $p"
done
curl -sf -o /dev/null -H "Cookie: $COOKIE" -d 'program_id=1&days=90' "$BASE/api/analytics/dashboard" || die "executive view"

# The API's summary against the raw GROUP BY: "conversions|revenue|commission|clicks".
api_summary() {
    curl -sf -H "Authorization: Bearer $KEY" "$BASE$(summary_path "$1" "$2")" |
        jq -r '[.conversions, (.revenue | gsub("\\."; "") | tonumber), (.commission | gsub("\\."; "") | tonumber), .clicks] | map(tostring) | join("|")'
}
raw_summary() {
    dpsql "$DB" -c "SELECT count(*), COALESCE(sum(c.amount_minor - c.refunded_minor), 0),
        COALESCE((SELECT sum(l.amount_minor) FROM ledger_entries l JOIN conversions c2 ON c2.id = l.conversion_id
          WHERE c2.program_id = 1 AND c2.enrollment_id IS NOT NULL AND c2.occurred_at >= '$1' AND c2.occurred_at < '$2'
            AND l.kind IN ('earned', 'adjustment', 'clawback')), 0),
        (SELECT count(*) FROM clicks WHERE program_id = 1 AND at >= '$1' AND at < '$2')
      FROM conversions c WHERE c.program_id = 1 AND c.enrollment_id IS NOT NULL AND c.occurred_at >= '$1' AND c.occurred_at < '$2'"
}
check_answers() { # before|after
    local from to api raw
    for w in "$W90_FROM $DAY" "$EDGE_FROM $EDGE_TO" "$H24_FROM $H24_TO"; do
        read -r from to <<<"$w"
        api=$(api_summary "$from" "$to")
        raw=$(raw_summary "$from" "$to")
        [ "$api" = "$raw" ] || die "$1 the load: summary $from → $to differs: API $api, raw $raw"
    done
    local first
    first=$(curl -sf -H "Authorization: Bearer $KEY" "$BASE/api/v1/analytics/cohorts?program_id=1&weeks=12" | tee "$OUT/cohorts-$1.json" | jq -r '.items | map(.week_start) | min')
    dpsql "$DB" -c "SELECT CAST(date_trunc('week', c.occurred_at AT TIME ZONE 'UTC') AS DATE), l.tier,
            sum(c.amount_minor - c.refunded_minor), count(*), count(DISTINCT c.partner_id)
          FROM conversions c JOIN ledger_entries l ON l.conversion_id = c.id AND l.kind = 'earned'
         WHERE c.program_id = 1 AND c.status = 'attributed' AND c.occurred_at >= '$first' AND c.occurred_at <= now()
         GROUP BY 1, 2" | sort >"$OUT/raw-cohorts-$1.txt"
    jq -r '.items[] | "\(.week_start)|\(.tier)|\(.revenue | gsub("\\."; "") | tonumber)|\(.conversions)|\(.partners)"' "$OUT/cohorts-$1.json" | sort >"$OUT/api-cohorts-$1.txt"
    diff -q "$OUT/raw-cohorts-$1.txt" "$OUT/api-cohorts-$1.txt" >/dev/null || die "$1 the load: cohorts differ (see $OUT/*-cohorts-$1.txt)"
    say "    $1 the load: the three summaries and $(wc -l <"$OUT/api-cohorts-$1.txt") cohort cells equal the raw GROUP BY"
}
check_answers before

reads() { # name
    "$READBENCH" --base "$BASE" --key "$KEY" --cookie "$COOKIE" --rate "$RATE" --clients "$CLIENTS" \
        --duration-s "$DURATION" --warmup 5 "${READS[@]}" --out "$OUT/reads-$1.json" >/dev/null || die "reads $1"
}
log "reads, idle: $RATE/s each (executive view $EXEC_RATE/s) for $DURATION s"
reads idle

# What the server's database sessions wait on, every 0.2 s while pid $1 runs.
sample_waits() {
    local pid=$1 file=$2 i=0
    : >"$file"
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 3000 ]; do
        dpsql postgres -c "SELECT CASE WHEN state = 'idle' THEN 'idle' WHEN wait_event IS NULL THEN 'on CPU'
                ELSE wait_event_type || '/' || wait_event END || ' | ' || left(regexp_replace(query, '\s+', ' ', 'g'), 60)
            FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid() AND state <> 'idle'" >>"$file" 2>/dev/null || true
        sleep 0.2
        i=$((i + 1))
    done
}
LOAD_S_TOTAL=$((DURATION + 15))
log "load: redirects ($REDIRECT_CLIENTS clients, closed loop) + conversions ($CONV_RATE/s) for $LOAD_S_TOTAL s; reads after 5 s"
"$READBENCH" --base "$BASE" --rate 0 --clients "$REDIRECT_CLIENTS" --duration-s "$LOAD_S_TOTAL" --threads 1 \
    --get "redirect=/r/$CODE" --out "$OUT/redirects.json" >/dev/null &
RPID=$!
DRILL_PIDS+=("$RPID")
"$CONVBENCH" conversions --url "$BASE" --key "$KEY" --program 1 --partners "$PARTNER" --rate "$CONV_RATE" \
    -n $((CONV_RATE * LOAD_S_TOTAL)) -c 32 --prefix "p3l$$" --deadline-s "$LOAD_S_TOTAL" --out "$OUT/conversions.json" >/dev/null &
CPID=$!
DRILL_PIDS+=("$CPID")
sleep 5
sample_waits "$RPID" "$OUT/pg-activity-load.txt" &
SPID=$!
reads load
wait "$RPID" || die "redirect load"
wait "$CPID" || die "conversion load"
wait "$SPID" || true
# Clicks are buffered in memory and written in batches: let the last batch land.
sleep 3
check_answers after

# The figures.
row() { # file name
    jq -r --arg n "$2" '.reads[$n] | "\(.p50_ms) / \(.p95_ms) / \(.p99_ms) ms (\(.count) reads, statuses \(.statuses | tostring))"' "$1"
}
for name in summary_90d summary_edges summary_24h cohorts executive directory; do
    say "    $name: idle $(row "$OUT/reads-idle.json" "$name"); under load $(row "$OUT/reads-load.json" "$name")"
done
say "    load achieved: $(jq -r '.achieved_per_s' "$OUT/redirects.json") redirects/s ($(jq -c '.reads.redirect.statuses' "$OUT/redirects.json")), $(jq -r '.new_conversions_per_s' "$OUT/conversions.json") new conversions/s ($(jq -c '.final_status_counts' "$OUT/conversions.json"))"
LOCKS=$(grep -c '^Lock/' "$OUT/pg-activity-load.txt" || true)
READ_LOCKS=$(grep '^Lock/' "$OUT/pg-activity-load.txt" | grep -ci 'select' || true)
say "    PostgreSQL samples during the load: $(wc -l <"$OUT/pg-activity-load.txt") active sessions seen, $LOCKS waiting on a lock, $READ_LOCKS of them a read (SELECT)"
machine_json >"$OUT/machine-end.json"
say "    results: $OUT"
