#!/usr/bin/env bash
# R2 (targets.md; docs/drills.md): kill -9 during a tier-upgrade pass over data set M, run it
# again, and check with SQL that every enrollment changed tier exactly once (if it qualifies)
# and that the ledger equals a from-scratch recomputation to the cent (bench/r2_check.sql).
#
#   bench/r2_kill_pass.sh            # both variants (about 6 minutes)
#   bench/r2_kill_pass.sh cli        # only the `scheduler run-once` variant
#   bench/r2_kill_pass.sh serve      # only the `trellis serve` variant
#
# cli:   `trellis scheduler run-once --job tier_evaluation --now END` is killed with SIGKILL once
#        R2_KILL_AT tier_changed events exist; the same command is then repeated every 5 s until
#        it runs (the dead runner's lease blocks it for up to 120 s) and completes.
# serve: `trellis serve` with TRELLIS_SCHEDULER=on starts the pass at its first tick (as of the
#        real time); it is killed with SIGKILL at R2_KILL_AT events and started again; the new
#        process runs the pass once the dead holder's lease has expired.
# Each variant gets its own database on $DRILL_PG (default the shared 127.0.0.1:5432), dropped
# on exit (DRILL_KEEP=1 keeps them). Results: bench/results/r2-<stamp>/. Bounded: every wait
# has a limit; the whole script stays under 10 minutes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/drill_lib.sh"

MODE=${1:-both}
SEED=${R2_SEED:-42}
END=${R2_END:-2026-11-26T00:00:00Z}
KILL_AT=${R2_KILL_AT:-400}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${R2_OUT:-$DRILL_DIR/results/r2-$STAMP}

require_built
mkdir -p "$OUT"
DRILL_TMP=$(mktemp -d /tmp/trellis-r2.XXXXXX)
private_binaries
trap 'drill_cleanup' EXIT
trap 'exit 130' INT TERM
machine_json >"$OUT/machine-start.json"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY" >&2; }

events() { dpsql "$1" -c "SELECT count(*) FROM timeline_events WHERE kind = 'tier_changed'"; }

# Polls database $1 until $KILL_AT tier_changed events exist (limit 120 s) while pid $2 runs;
# then SIGKILLs it. Fails when the process finished first (nothing would have been interrupted).
kill_midway() {
    local db=$1 pid=$2 i=0 n=0
    while [ "$i" -lt 1200 ]; do
        kill -0 "$pid" 2>/dev/null || die "the pass ended before $KILL_AT tier changes; lower R2_KILL_AT"
        n=$(events "$db")
        [ "$n" -ge "$KILL_AT" ] && break
        sleep 0.1
        i=$((i + 1))
    done
    [ "$n" -ge "$KILL_AT" ] || die "no $KILL_AT tier changes within 120 s"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    KILLED_AT_MS=$(now_ms)
    sleep 0.5
    say "  SIGKILL after $n tier_changed events; committed then: $(events "$db") events, $(dpsql "$db" -c "SELECT count(*) FROM ledger_entries WHERE kind = 'adjustment'") adjustment entries"
    say "  job_runs then: $(dpsql "$db" -c "SELECT string_agg(holder || ' ' || outcome, ', ') FROM job_runs WHERE job = 'tier_evaluation'")"
    say "  job_leases then: $(dpsql "$db" -c "SELECT string_agg(holder || ' until ' || to_char(expires_at AT TIME ZONE 'UTC', 'HH24:MI:SS'), ', ') FROM job_leases WHERE job = 'tier_evaluation'")"
}

check() {
    local db=$1 name=$2
    dpsql "$db" -f "$DRILL_DIR/r2_check.sql" >"$OUT/check-$name.txt" || die "r2_check.sql on $db"
    column -t -s '|' "$OUT/check-$name.txt" | sed 's/^/    /' | tee -a "$SUMMARY" >&2
    if grep -q '|f$' "$OUT/check-$name.txt"; then
        say "  R2 ($name): FAIL"
        return 1
    fi
    say "  R2 ($name): PASS (every check above holds)"
}

RC=0

run_cli() {
    local db=trellis_r2_cli_$$ t0 pid out i=0
    say "== R2, variant cli: scheduler run-once --job tier_evaluation --now $END, kill -9, run again"
    drill_db "$db"
    say "  data set M (seed $SEED, end $END) loaded in $(load_set "$db" m --seed "$SEED" --end "$END") s"
    export DATABASE_URL="$DRILL_PG/$db"
    t0=$(now_ms)
    RUST_LOG=warn TRELLIS_SCHEDULER=off "$TRELLIS" scheduler run-once --job tier_evaluation --now "$END" >"$OUT/cli-run1.log" 2>&1 &
    pid=$!
    DRILL_PIDS+=("$pid")
    kill_midway "$db" "$pid"
    say "  first run killed $(( (KILLED_AT_MS - t0) )) ms after it started"
    # The same command again, until it gets the lease (the dead runner's lease lasts 120 s).
    while [ "$i" -lt 40 ]; do
        out=$(RUST_LOG=warn TRELLIS_SCHEDULER=off timeout 300 "$TRELLIS" scheduler run-once --job tier_evaluation --now "$END" 2>>"$OUT/cli-run2.log")
        echo "$(date -u +%T) $out" >>"$OUT/cli-run2.log"
        if grep -q '^tier_evaluation:' <<<"$out"; then break; fi
        sleep 5
        i=$((i + 1))
    done
    grep -q '^tier_evaluation:' <<<"$out" || die "the second run never ran"
    say "  second run: '$out' after $i refused attempt(s) (they printed: '$(grep -m1 -o 'no job was due.*' "$OUT/cli-run2.log" || true)'); done $(( ($(now_ms) - KILLED_AT_MS) / 1000 )) s after the kill"
    check "$db" cli || RC=1
    unset DATABASE_URL
}

run_serve() {
    local db=trellis_r2_serve_$$ port pid i=0
    say "== R2, variant serve: trellis serve (TRELLIS_SCHEDULER=on) killed with -9 during its first pass, restarted"
    drill_db "$db"
    say "  data set M (seed $SEED, end $END) loaded in $(load_set "$db" m --seed "$SEED" --end "$END") s"
    port=$(free_port 3450)
    export DATABASE_URL="$DRILL_PG/$db" TRELLIS_ADDR="127.0.0.1:$port" TRELLIS_SCHEDULER=on
    RUST_LOG=info "$TRELLIS" serve >"$OUT/serve-1.log" 2>&1 &
    pid=$!
    DRILL_PIDS+=("$pid")
    kill_midway "$db" "$pid"
    RUST_LOG=info "$TRELLIS" serve >"$OUT/serve-2.log" 2>&1 &
    pid=$!
    DRILL_PIDS+=("$pid")
    wait_http "http://$TRELLIS_ADDR/healthz" 60 || die "restarted server did not come up"
    say "  restarted (pid $pid) $(( ($(now_ms) - KILLED_AT_MS) / 1000 )) s after the kill; waiting for its tier pass (limit 240 s)"
    while [ "$i" -lt 2400 ]; do
        [ "$(dpsql "$db" -c "SELECT count(*) FROM job_runs WHERE job = 'tier_evaluation' AND outcome = 'ok'")" -ge 1 ] && break
        kill -0 "$pid" 2>/dev/null || die "the restarted server died"
        sleep 0.1
        i=$((i + 1))
    done
    [ "$i" -lt 2400 ] || die "no successful tier pass within 240 s of the restart"
    say "  pass completed $(( ($(now_ms) - KILLED_AT_MS) / 1000 )) s after the kill: $(dpsql "$db" -c "SELECT 'started ' || to_char(started_at AT TIME ZONE 'UTC', 'HH24:MI:SS') || ', examined ' || examined || ', changed ' || changed || ', as of ' || to_char(as_of AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM job_runs WHERE job = 'tier_evaluation' AND outcome = 'ok'")"
    stop_pid "$pid" 20
    check "$db" serve || RC=1
    unset DATABASE_URL TRELLIS_ADDR TRELLIS_SCHEDULER
}

case "$MODE" in
    cli) run_cli ;;
    serve) run_serve ;;
    both) run_cli; run_serve ;;
    *) die "usage: $0 [cli|serve|both]" ;;
esac
machine_json >"$OUT/machine-end.json"
say "results in $OUT"
exit "$RC"
