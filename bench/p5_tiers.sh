#!/usr/bin/env bash
# P5 (targets.md; docs/drills.md): the tier evaluation pass over data set L, and what the
# per-conversion real-time tier check adds to POST /api/v1/conversions.
#
#   bench/p5_tiers.sh           # about 9 minutes on 2 cores (5 of them the first pass)
#   P5_COLD=0 bench/p5_tiers.sh # skip timing the first pass (the later ones then upgrade)
#
# 1. Data set L (trellis-gen --set l: 100,000 partners/enrollments, 2M conversions over the 365
#    days before P5_END, default today 00:00 UTC; no clicks) plus a one-tier control program with
#    2,000 enrollments, loaded into a fresh database on $DRILL_PG; the load is timed.
# 2. First pass: `trellis scheduler run-once --job tier_evaluation --now P5_END` — everyone starts
#    in Bronze, so it upgrades ~21k enrollments and writes ~0.5M retroactive adjustments.
# 3. Steady state: the same command three more times (nothing left to change: every enrollment
#    is evaluated, none moves) — this is the recurring hourly cost. The job's own duration comes
#    from job_runs; wall time includes process start and the migration check (~0.2 s).
#    The per-window GROUP BY queries the pass issues are also timed alone in psql.
# 4. Real-time check: `trellis serve` on that database; trellis-tiercheck posts conversions one
#    at a time, round-robin over arms, each request a new conversion for a different enrollment:
#    one-tier (the control program: no tier above, no standing query), bronze-3tiers (Bronze in
#    three-tier program, far from the thresholds: two standing queries, 90 and 180 days),
#    silver-3tiers (one standing query, 180 days), gold-3tiers (top tier: no standing query).
#    "Adds" = difference of medians against one-tier, with a 95% bootstrap interval.
# Results: bench/results/p5-<stamp>/. The database is dropped on exit (DRILL_KEEP=1 keeps it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/drill_lib.sh"

SEED=${P5_SEED:-42}
END=${P5_END:-$(date -u +%Y-%m-%dT00:00:00Z)}
COLD=${P5_COLD:-1}
N=${P5_N:-1500}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${P5_OUT:-$DRILL_DIR/results/p5-$STAMP}
DB=trellis_p5_$$

require_built
mkdir -p "$OUT"
DRILL_TMP=$(mktemp -d /tmp/trellis-p5.XXXXXX)
private_binaries
trap 'drill_cleanup' EXIT
trap 'exit 130' INT TERM
machine_json >"$OUT/machine-start.json"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY" >&2; }
export DATABASE_URL="$DRILL_PG/$DB" TRELLIS_SCHEDULER=off RUST_LOG=warn

drill_db "$DB"
LOAD_S=$(load_set "$DB" l --seed "$SEED" --end "$END" --control-enrollments 2000)
say "P5: data set L (seed $SEED, end $END) + control program loaded in $LOAD_S s (target for L: < 600 s; clicks not generated)"
say "    $(dpsql "$DB" -c "SELECT (SELECT count(*) FROM partners) || ' partners, ' || (SELECT count(*) FROM enrollments) || ' enrollments, ' || (SELECT count(*) FROM conversions) || ' conversions, ' || (SELECT count(*) FROM ledger_entries) || ' ledger entries, database ' || pg_size_pretty(pg_database_size(current_database()))")"

# pass LABEL: one timed tier pass; prints "wall_s job_s examined changed".
pass() {
    local t0 out
    t0=$(now_ms)
    out=$(timeout 900 "$TRELLIS" scheduler run-once --job tier_evaluation --now "$END") || die "tier pass ($1)"
    local wall
    wall=$(echo "scale=2; ($(now_ms) - $t0) / 1000" | bc)
    grep -q '^tier_evaluation:' <<<"$out" || die "tier pass ($1) did not run: $out"
    echo "$wall $(dpsql "$DB" -c "SELECT round(extract(epoch FROM finished_at - started_at)::numeric, 2) || ' ' || examined || ' ' || changed FROM job_runs WHERE job = 'tier_evaluation' ORDER BY id DESC LIMIT 1")"
}

if [ "$COLD" = 1 ]; then
    read -r wall job ex ch <<<"$(pass first)"
    adj=$(dpsql "$DB" -c "SELECT count(*) FROM ledger_entries WHERE kind = 'adjustment'")
    say "P5: first pass (everyone in Bronze): job ${job} s, wall ${wall} s; examined $ex, changed $ch, $adj retroactive adjustment entries written"
    echo "first $wall $job $ex $ch $adj" >>"$OUT/passes.txt"
fi
for k in 1 2 3; do
    read -r wall job ex ch <<<"$(pass "steady-$k")"
    say "P5: steady-state pass $k: job ${job} s, wall ${wall} s; examined $ex, changed $ch"
    echo "steady-$k $wall $job $ex $ch" >>"$OUT/passes.txt"
done

# The pass's GROUP BY queries alone (one per program and distinct window of its upper tiers).
{
    echo '\timing on'
    dpsql "$DB" -c "SELECT DISTINCT program_id, window_days FROM tiers WHERE rank > 1 ORDER BY 1, 2" | while IFS='|' read -r p wdays; do
        echo "SELECT count(*) FROM (SELECT enrollment_id, count(id), sum(amount_minor - refunded_minor)::bigint FROM conversions
              WHERE program_id = $p AND enrollment_id IS NOT NULL AND status = 'attributed'
                AND occurred_at >= timestamptz '$END' - interval '$wdays days' AND occurred_at <= timestamptz '$END'
                AND (refunded_minor < amount_minor OR amount_minor = 0) GROUP BY enrollment_id) s;"
    done
} >"$DRILL_TMP/agg.sql"
dpsql "$DB" -f "$DRILL_TMP/agg.sql" >"$OUT/aggregates.txt" 2>&1
AGG_MS=$(grep -Eo 'Time: [0-9.]+' "$OUT/aggregates.txt" | awk '{s += $2} END {printf "%.0f", s}')
say "P5: the $(grep -c 'Time:' "$OUT/aggregates.txt") per-window GROUP BY queries alone: ${AGG_MS} ms in total"
# Health-score pass: the daily job over every active enrollment (first run writes every score,
# the second finds them unchanged but still writes the day's history rows).
for k in 1 2; do
    t0=$(now_ms)
    out=$(timeout 900 "$TRELLIS" scheduler run-once --job health_scores --now "$END") || die "health pass $k"
    wall=$(echo "scale=2; ($(now_ms) - $t0) / 1000" | bc)
    grep -q '^health_scores:' <<<"$out" || die "health pass $k did not run: $out"
    read -r job ex ch <<<"$(dpsql "$DB" -c "SELECT round(extract(epoch FROM finished_at - started_at)::numeric, 2) || ' ' || examined || ' ' || changed FROM job_runs WHERE job = 'health_scores' ORDER BY id DESC LIMIT 1")"
    say "P5: health-score pass $k: job ${job} s, wall ${wall} s; examined $ex, changed $ch"
    echo "health-$k $wall $job $ex $ch" >>"$OUT/passes.txt"
    HEALTH_MAX=$(echo "if (${HEALTH_MAX:-0} > $job) ${HEALTH_MAX:-0} else $job" | bc)
done

# Real-time check.
PORT=$(free_port 3480)
export TRELLIS_ADDR="127.0.0.1:$PORT"
KEY=$("$TRELLIS" api-key create --account bench-l --name p5 2>/dev/null | tail -1)
[ -n "$KEY" ] || die "no API key"
"$TRELLIS" serve >"$OUT/trellis.log" 2>&1 &
SERVER=$!
DRILL_PIDS+=("$SERVER")
wait_http "http://$TRELLIS_ADDR/healthz" 60 || die "server did not start"
# Enrollments of each arm as "program partner" lines (programs 1-3 have three tiers, program 4
# one), each far enough from the next threshold that one more conversion crosses nothing.
STANDING="(SELECT count(*) FILTER (WHERE c.occurred_at > now() - interval '90 days') AS n90,
                  count(*) FILTER (WHERE c.occurred_at > now() - interval '180 days') AS n180
             FROM conversions c WHERE c.enrollment_id = e.id)"
# arm NAME WHERE: writes $OUT/arm-NAME.txt (first 2,000 by id) and reports the mean number of
# conversions its enrollments have in 90 / 180 days (the rows the standing queries read).
arm() {
    local from="FROM enrollments e JOIN tiers t ON t.id = e.tier_id, LATERAL $STANDING s WHERE e.status = 'active' AND $2"
    dpsql "$DB" -F ' ' -c "SELECT e.program_id, e.partner_id $from ORDER BY e.id LIMIT 2000" >"$OUT/arm-$1.txt"
    [ "$(wc -l <"$OUT/arm-$1.txt")" -ge $((N + 100)) ] || die "arm $1 has only $(wc -l <"$OUT/arm-$1.txt") enrollments"
    say "P5: arm $1: $(wc -l <"$OUT/arm-$1.txt") enrollments, conversions in 90 / 180 days: $(dpsql "$DB" -c "
        SELECT round(avg(n90), 1) || ' / ' || round(avg(n180), 1) FROM (SELECT s.n90, s.n180 $from ORDER BY e.id LIMIT 2000) x")"
}
arm one-tier "e.program_id = 4"
arm bronze-3tiers "e.program_id IN (1, 2, 3) AND t.name = 'Bronze' AND s.n90 <= 4 AND s.n180 <= 10"
arm silver-3tiers "e.program_id IN (1, 2, 3) AND t.name = 'Silver' AND s.n180 <= 12"
arm gold-3tiers "e.program_id IN (1, 2, 3) AND t.name = 'Gold'"
"$TIERCHECK" --url "http://$TRELLIS_ADDR" --key "$KEY" -n "$N" --warmup 100 --prefix "p5-$STAMP" \
    --arm "one-tier=$OUT/arm-one-tier.txt" --arm "bronze-3tiers=$OUT/arm-bronze-3tiers.txt" \
    --arm "silver-3tiers=$OUT/arm-silver-3tiers.txt" --arm "gold-3tiers=$OUT/arm-gold-3tiers.txt" >"$OUT/tiercheck.json" ||
    die "trellis-tiercheck"
jq -r '.arms[] | "P5: \(.arm): \(.ok) ok, \(.errors) errors, p50 \(.p50_ms * 100 | round / 100) ms, p90 \(.p90_ms * 100 | round / 100) ms, p99 \(.p99_ms * 100 | round / 100) ms, tier answered \(.commission_tier_answered)"
        + (if .vs_reference then "; median vs one-tier \(.vs_reference.median_diff_ms * 1000 | round / 1000) ms [95% \(.vs_reference.median_diff_ci95_ms | map(. * 1000 | round / 1000))], mean \(.vs_reference.mean_diff_ms * 1000 | round / 1000) ms" else "" end)' \
    "$OUT/tiercheck.json" | tee -a "$SUMMARY" >&2
stop_pid "$SERVER" 20

# Verdicts.
steady_max=$(awk '$1 ~ /^steady/ {if ($3 > m) m = $3} END {print m}' "$OUT/passes.txt")
say "P5 verdict: steady-state pass (evaluate all, nothing to change) ${steady_max} s max of 3 (target < 5 s): $([ "$(echo "$steady_max < 5" | bc)" = 1 ] && echo PASS || echo FAIL)"
if [ "$COLD" = 1 ]; then
    first=$(awk '$1 == "first" {print $3}' "$OUT/passes.txt")
    say "P5 verdict: first pass with $(awk '$1 == "first" {print $5 " upgrades and " $6 " adjustments"}' "$OUT/passes.txt") ${first} s (target < 5 s): $([ "$(echo "$first < 5" | bc)" = 1 ] && echo PASS || echo FAIL)"
fi
hi=$(printf '%.3f' "$(jq '[.arms[] | select(.vs_reference) | .vs_reference.median_diff_ci95_ms[1]] | max' "$OUT/tiercheck.json")")
say "P5 verdict: real-time check adds at most ${hi} ms (upper 95% bound of the median difference, worst arm; target < 1 ms): $([ "$(echo "$hi < 1" | bc)" = 1 ] && echo PASS || echo FAIL)"
say "P5 verdict: health-score pass ${HEALTH_MAX} s max of 2 (target < 10 s): $([ "$(echo "$HEALTH_MAX < 10" | bc)" = 1 ] && echo PASS || echo FAIL)"
machine_json >"$OUT/machine-end.json"
say "results in $OUT"
