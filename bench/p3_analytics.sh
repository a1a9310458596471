#!/usr/bin/env bash
# P3 (targets.md; docs/benchmarks.md): the dashboard summary + 12-week cohort on data set L,
# from the rollups, against the same answers computed by GROUP BY over raw conversions, in the
# same run.
#
#   nice bench/p3_analytics.sh      # about 5 minutes on 2 cores
#
# 1. Data set L (trellis-gen --set l: 100,000 enrollments, 2M conversions over the 365 days
#    before P3_END; no clicks) loaded into a fresh database on $DRILL_PG.
# 2. `trellis scheduler run-once --job analytics_rebuild`: the backfill that fills the program
#    and tier rollups from the daily rollups and conversions (what an upgrade runs once), timed.
# 3. `trellis serve` on it; P3_N times (default 300) one dashboard pair over HTTP, one request
#    after the other: GET /api/v1/analytics/summary (program 1, the 30 days to P3_END) and
#    GET /api/v1/analytics/cohorts (program 1, 12 weeks). The first 20 pairs warm up and are
#    not counted. Latency of a pair = the two curl total times added.
# 4. Reference: the same two answers by GROUP BY over raw conversions (joined to their ledger
#    entries) in psql, P3_RAW times (default 7) after one warm-up run; the median is taken.
#    The raw answers are checked equal to the API's (revenue, conversions, commission, and
#    every week × tier cohort cell).
# Results: bench/results/p3-<stamp>/. The database is dropped on exit (DRILL_KEEP=1 keeps it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/drill_lib.sh"

SEED=${P3_SEED:-42}
END=${P3_END:-$(date -u +%Y-%m-%dT00:00:00Z)}
N=${P3_N:-300}
RAW=${P3_RAW:-7}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${P3_OUT:-$DRILL_DIR/results/p3-$STAMP}
DB=trellis_p3_$$

[ -x "$TRELLIS" ] || die "$TRELLIS missing: cargo build --release -p server --bin trellis"
[ -x "$GEN" ] || die "$GEN missing: cargo build --release -p bench --bin trellis-gen"
mkdir -p "$OUT"
DRILL_TMP=$(mktemp -d /tmp/trellis-p3.XXXXXX)
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
say "P3: data set L (seed $SEED, end $END) loaded in $LOAD_S s"
say "    $(dpsql "$DB" -c "SELECT (SELECT count(*) FROM enrollments) || ' enrollments, ' || (SELECT count(*) FROM conversions) || ' conversions, ' || (SELECT count(*) FROM ledger_entries) || ' ledger entries, ' || (SELECT count(*) FROM daily_rollups) || ' daily rollup rows'")"

t0=$(now_ms)
"$TRELLIS" scheduler run-once --job analytics_rebuild --now "$END" >/dev/null || die "analytics_rebuild"
REBUILD_S=$(echo "scale=1; ($(now_ms) - $t0) / 1000" | bc)
say "    analytics_rebuild (backfill of the program and tier rollups): $REBUILD_S s; $(dpsql "$DB" -c "SELECT (SELECT count(*) FROM program_rollups) || ' program rollup rows, ' || (SELECT count(*) FROM tier_rollups) || ' tier rollup rows'")"

PORT=$(free_port 3460)
KEY=$("$TRELLIS" api-key create --account bench-l --name p3 2>/dev/null)
TRELLIS_ADDR=127.0.0.1:$PORT "$TRELLIS" serve >"$OUT/server.log" 2>&1 &
DRILL_PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/readyz" 60 || die "server did not start"

TO=${END%%T*}
FROM=$(date -u -d "$TO - 30 days" +%F)
SUMMARY_URL="http://127.0.0.1:$PORT/api/v1/analytics/summary?program_id=1&from=$FROM&to=$TO"
COHORT_URL="http://127.0.0.1:$PORT/api/v1/analytics/cohorts?program_id=1&weeks=12"
# The cohort's weeks end with the week of "now": run the server's clock as of END by asking
# for the 12 weeks up to today (END defaults to today 00:00 UTC).
curl -sf -H "Authorization: Bearer $KEY" "$SUMMARY_URL" >"$OUT/summary.json" || die "summary"
curl -sf -H "Authorization: Bearer $KEY" "$COHORT_URL" >"$OUT/cohorts.json" || die "cohorts"

: >"$OUT/pairs_ms.txt"
for i in $(seq 1 $((N + 20))); do
    a=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $KEY" "$SUMMARY_URL")
    b=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $KEY" "$COHORT_URL")
    [ "$i" -gt 20 ] && echo "($a + $b) * 1000" | bc >>"$OUT/pairs_ms.txt"
done
pct() { sort -n "$OUT/pairs_ms.txt" | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; printf "%.2f", a[i]}'; }
P50=$(pct 50)
P95=$(pct 95)
P99=$(pct 99)
say "    rollups over HTTP (summary + 12-week cohort, $N pairs after 20 warm-up): p50 $P50 ms, p95 $P95 ms, p99 $P99 ms (target p95 < 50 ms)"

FIRST=$(jq -r '.items | map(.week_start) | min' "$OUT/cohorts.json")
RAW_SQL="\\timing on
SELECT count(*) AS conversions, sum(c.amount_minor - c.refunded_minor) AS revenue,
       (SELECT sum(l.amount_minor) FROM ledger_entries l JOIN conversions c2 ON c2.id = l.conversion_id
         WHERE c2.program_id = 1 AND c2.enrollment_id IS NOT NULL AND c2.occurred_at >= '$FROM' AND c2.occurred_at < '$TO'
           AND l.kind IN ('earned', 'adjustment', 'clawback')) AS commission,
       (SELECT count(*) FROM clicks WHERE program_id = 1 AND at >= '$FROM' AND at < '$TO') AS clicks
  FROM conversions c WHERE c.program_id = 1 AND c.enrollment_id IS NOT NULL AND c.occurred_at >= '$FROM' AND c.occurred_at < '$TO';
SELECT CAST(date_trunc('week', c.occurred_at AT TIME ZONE 'UTC') AS DATE) AS week, l.tier,
       sum(c.amount_minor - c.refunded_minor) AS revenue, count(*) AS conversions, count(DISTINCT c.partner_id) AS partners
  FROM conversions c JOIN ledger_entries l ON l.conversion_id = c.id AND l.kind = 'earned'
 WHERE c.program_id = 1 AND c.status = 'attributed' AND c.occurred_at >= '$FIRST' AND c.occurred_at <= now()
 GROUP BY 1, 2 ORDER BY 1, 2;"
dpsql "$DB" -c "SELECT 1" >/dev/null
echo "$RAW_SQL" | dpsql "$DB" >"$OUT/raw-warmup.txt"
: >"$OUT/raw_ms.txt"
for i in $(seq 1 "$RAW"); do
    echo "$RAW_SQL" | dpsql "$DB" >"$OUT/raw-$i.txt"
    grep '^Time:' "$OUT/raw-$i.txt" | awk '{s += $2} END {printf "%.1f\n", s}' >>"$OUT/raw_ms.txt"
done
RAW_MED=$(sort -n "$OUT/raw_ms.txt" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
say "    raw GROUP BY over conversions (the same two answers, $RAW runs after a warm-up): median $RAW_MED ms ($(tr '\n' ' ' <"$OUT/raw_ms.txt"))"
say "    ratio raw median / rollup p95: $(echo "scale=1; $RAW_MED / $P95" | bc)× (target ≥ 50×)"

# The answers agree: summary figures and every cohort cell.
grep -v '^Time:' "$OUT/raw-1.txt" >"$OUT/raw-answers.txt"
read -r RCONV RREV RCOMM _ < <(head -1 "$OUT/raw-answers.txt" | tr '|' ' ')
API_CONV=$(jq -r .conversions "$OUT/summary.json")
API_REV=$(jq -r '.revenue | gsub("\\."; "") | tonumber' "$OUT/summary.json")
API_COMM=$(jq -r '.commission | gsub("\\."; "") | tonumber' "$OUT/summary.json")
[ "$RCONV" = "$API_CONV" ] && [ "$RREV" = "$API_REV" ] && [ "$RCOMM" = "$API_COMM" ] ||
    die "summary differs: raw $RCONV/$RREV/$RCOMM, API $API_CONV/$API_REV/$API_COMM"
tail -n +2 "$OUT/raw-answers.txt" | awk -F'|' '{printf "%s|%s|%d|%d|%d\n", $1, $2, $3, $4, $5}' | sort >"$OUT/raw-cohorts.txt"
jq -r '.items[] | "\(.week_start)|\(.tier)|\(.revenue | gsub("\\."; "") | tonumber)|\(.conversions)|\(.partners)"' "$OUT/cohorts.json" | sort >"$OUT/api-cohorts.txt"
diff -q "$OUT/raw-cohorts.txt" "$OUT/api-cohorts.txt" >/dev/null || die "cohorts differ (see $OUT/raw-cohorts.txt and api-cohorts.txt)"
say "    answers equal: summary ($API_CONV conversions) and $(wc -l <"$OUT/api-cohorts.txt") week × tier cohort cells"
machine_json >"$OUT/machine-end.json"
say "    results: $OUT"
