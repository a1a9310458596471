#!/usr/bin/env bash
# R3 (targets.md; docs/drills.md): replicas on one database — each scheduled job runs once per
# period, and a stopped leader is replaced within 2 lease periods (2 × 120 s).
#
#   bench/r3_two_replicas.sh        # about 6 minutes; every wait is bounded
#   R3_PARTS=2 bench/r3_two_replicas.sh   # only part 2 (parts 1 and 3 always run together)
#
# Part 1 (takeover, real servers): two `trellis serve` replicas (TRELLIS_SCHEDULER=on, ports of
#   their own) start together on a fresh database with data set M. The replica that holds the
#   tier_evaluation lease is killed with SIGKILL (R3_STOP=term sends SIGTERM instead) while its
#   pass runs; the survivor must run the job within 240 s. Then every job must have exactly one
#   completed run, and no two runs of a job may overlap.
# Part 3 (a run longer than the lease, real servers), at the same time as part 1 on another
#   database: replica A starts the tier pass while a transaction holds a row lock on one
#   enrollment that must be upgraded (so the pass lasts R3_HOLD s > the 120 s lease, like the
#   cold pass over L does by itself); replica B starts later. Checks whether B starts a second,
#   overlapping run of the job, and whether the data stay right (bench/r2_check.sql).
# Part 2 (once per period over several periods): the period is an hour, so two processes
#   ("replicas") loop `trellis scheduler run-once --now T` on a simulated clock running R3_SPEED
#   times faster than real time (same clock for both) for R3_SIM_S real seconds. Each run-once
#   does exactly what a replica's tick does (due check from job_runs, lease, run, record). The
#   lease (120 s of simulated time) is R3_SPEED times shorter in real time, so the heavy first
#   runs are done before the loops start, and steady-state runs must stay below 120/R3_SPEED s.
# Databases are created on $DRILL_PG (default the shared 127.0.0.1:5432) and dropped on exit.
# Results: bench/results/r3-<stamp>/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/drill_lib.sh"

SEED=${R3_SEED:-42}
END=${R3_END:-$(date -u +%Y-%m-%dT00:00:00Z)}
STOP=${R3_STOP:-kill}
HOLD=${R3_HOLD:-150}
SPEED=${R3_SPEED:-60}
SIM_S=${R3_SIM_S:-150}
PARTS=${R3_PARTS:-123}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${R3_OUT:-$DRILL_DIR/results/r3-$STAMP}

require_built
mkdir -p "$OUT"
DRILL_TMP=$(mktemp -d /tmp/trellis-r3.XXXXXX)
private_binaries
trap 'drill_cleanup' EXIT
trap 'exit 130' INT TERM
machine_json >"$OUT/machine-start.json"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY" >&2; }
RC=0
T_START=$(date +%s)

# start_replica NAME DB PORT: `trellis serve` with the scheduler on; prints its pid.
start_replica() {
    local name=$1 db=$2 port=$3
    DATABASE_URL="$DRILL_PG/$db" TRELLIS_ADDR="127.0.0.1:$port" TRELLIS_SCHEDULER=on RUST_LOG=info \
        "$TRELLIS" serve >"$OUT/$name.log" 2>&1 &
    echo $!
}

# The job_runs of a database as a table, oldest first.
runs_table() {
    dpsql "$1" -c "SELECT id, job, holder, outcome, to_char(as_of AT TIME ZONE 'UTC', 'MM-DD HH24:MI:SS') AS as_of,
        to_char(started_at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') AS started,
        coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS'), '-') AS finished, examined, changed
        FROM job_runs ORDER BY id" | column -t -s '|'
}

# Per job: runs, completed runs, runs still marked running, the smallest gap between the as_of
# of consecutive *completed* runs (s), the period, runs that started before the previous run of
# the same job had ended (a run left 'running' by a killed replica counts as ended when its
# lease expired, at started_at + 120 s at the earliest), and completed runs closer than a
# period to the previous completed one.
PERIOD_SQL="CASE job WHEN 'rollup_repair' THEN 86400 ELSE 3600 END"
runs_summary() {
    dpsql "$1" -c "
    WITH r AS (
      SELECT job, outcome, started_at,
             lag(coalesce(finished_at, started_at + interval '120 seconds')) OVER (PARTITION BY job ORDER BY started_at) AS prev_end
        FROM job_runs),
    k AS (
      SELECT job, as_of, $PERIOD_SQL AS period, lag(as_of) OVER (PARTITION BY job ORDER BY as_of) AS prev_as_of
        FROM job_runs WHERE outcome = 'ok')
    SELECT j.job, j.runs, j.ok, j.still_running,
           coalesce((SELECT min(extract(epoch FROM as_of - prev_as_of))::bigint::text FROM k WHERE k.job = j.job), '-') AS min_gap_s,
           $PERIOD_SQL AS period_s, j.overlapping,
           (SELECT count(*) FROM k WHERE k.job = j.job AND as_of - prev_as_of < make_interval(secs => period)) AS within_a_period
      FROM (SELECT job, count(*) AS runs, count(*) FILTER (WHERE outcome = 'ok') AS ok,
                   count(*) FILTER (WHERE outcome = 'running') AS still_running,
                   count(*) FILTER (WHERE started_at < prev_end) AS overlapping
              FROM r GROUP BY job) j
     ORDER BY j.job"
}

if [[ "$PARTS" == *[13]* ]]; then
# ---------------------------------------------------------------- part 1 and part 3 (together)
DB1=trellis_r3_takeover_$$
DB3=trellis_r3_longrun_$$
drill_db "$DB1"
drill_db "$DB3"
say "== data set M (seed $SEED, end $END) loaded: $(load_set "$DB1" m --seed "$SEED" --end "$END") s and $(load_set "$DB3" m --seed "$SEED" --end "$END") s"

# Part 3 set-up: the enrollment with the most conversions in the last 90 days (of program 1,
# active) certainly qualifies for an upgrade and is not dormant; hold its row lock for HOLD s.
X=$(dpsql "$DB3" -c "SELECT e.id FROM enrollments e JOIN conversions c ON c.enrollment_id = e.id
      WHERE e.program_id = 1 AND e.status = 'active' AND c.occurred_at > now() - interval '90 days'
      GROUP BY e.id HAVING max(c.occurred_at) > now() - interval '10 days' ORDER BY count(*) DESC, e.id LIMIT 1")
psql "$DRILL_PG/$DB3" -qAtX -c "BEGIN; SELECT id FROM enrollments WHERE id = $X FOR UPDATE; SELECT pg_sleep($HOLD); COMMIT;" >/dev/null 2>&1 &
LOCK_PID=$!
DRILL_PIDS+=("$LOCK_PID")
sleep 0.5

P1=$(free_port 3470)
P2=$(free_port $((P1 + 1)))
P3=$(free_port $((P2 + 1)))
P4=$(free_port $((P3 + 1)))
A1=$(start_replica part1-replica-a "$DB1" "$P1")
B1=$(start_replica part1-replica-b "$DB1" "$P2")
A3=$(start_replica part3-replica-a "$DB3" "$P3")
DRILL_PIDS+=("$A1" "$B1" "$A3")
say "== part 1: replicas a (pid $A1, :$P1) and b (pid $B1, :$P2) started together on $DB1"
say "== part 3: replica a (pid $A3, :$P3) started on $DB3; enrollment $X is row-locked for $HOLD s"

# Part 1: find the tier pass's holder and kill it mid-run (after 200 committed tier changes).
i=0
HOLDER=
while [ "$i" -lt 600 ]; do
    HOLDER=$(dpsql "$DB1" -c "SELECT holder FROM job_runs WHERE job = 'tier_evaluation' AND outcome = 'running' LIMIT 1")
    if [ -n "$HOLDER" ] && [ "$(dpsql "$DB1" -c "SELECT count(*) FROM timeline_events WHERE kind = 'tier_changed'")" -ge 200 ]; then break; fi
    sleep 0.1
    i=$((i + 1))
done
[ -n "$HOLDER" ] || die "part 1: no tier_evaluation run started within 60 s"
LEADER=$(cut -d: -f2 <<<"$HOLDER")
if [ "$LEADER" = "$A1" ]; then SURVIVOR=$B1; else SURVIVOR=$A1; fi
[ "$LEADER" = "$A1" ] || [ "$LEADER" = "$B1" ] || die "part 1: holder $HOLDER is neither replica"
SIG=KILL
[ "$STOP" = term ] && SIG=TERM
kill -$SIG "$LEADER"
KILL_MS=$(now_ms)
KILL_TS=$(date -u +%T)
sleep 0.5
say "part 1: tier_evaluation held by $HOLDER; SIG$SIG sent to pid $LEADER at $KILL_TS with $(dpsql "$DB1" -c "SELECT count(*) FROM timeline_events WHERE kind = 'tier_changed'") tier changes committed; lease: $(dpsql "$DB1" -c "SELECT holder || ' until ' || to_char(expires_at AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM job_leases WHERE job = 'tier_evaluation'")"

# Part 3: wait for replica a's pass to block on the lock, then start replica b.
i=0
while [ "$i" -lt 600 ]; do
    [ "$(dpsql "$DB3" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB3' AND wait_event_type = 'Lock'")" -ge 1 ] && break
    sleep 0.1
    i=$((i + 1))
done
[ "$i" -lt 600 ] || die "part 3: the pass of replica a never waited for the lock"
B3=$(start_replica part3-replica-b "$DB3" "$P4")
DRILL_PIDS+=("$B3")
say "part 3: replica a's pass waits for the lock ($(dpsql "$DB3" -c "SELECT holder || ' started ' || to_char(started_at AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM job_runs WHERE job = 'tier_evaluation'")); replica b (pid $B3, :$P4) started at $(date -u +%T)"

# Both parts are now waiting on lease expiry. Part 1: survivor's run (limit 250 s after the kill).
TAKEOVER_S=
OVERLAP3=
while :; do
    el=$(( ($(now_ms) - KILL_MS) / 1000 ))
    if [ -z "$TAKEOVER_S" ]; then
        row=$(dpsql "$DB1" -c "SELECT extract(epoch FROM started_at)::numeric(14,1) FROM job_runs WHERE job = 'tier_evaluation' AND holder LIKE 'server:$SURVIVOR:%' ORDER BY id LIMIT 1")
        if [ -n "$row" ]; then
            TAKEOVER_S=$(echo "scale=1; $row - $KILL_MS / 1000" | bc)
            say "part 1: survivor (pid $SURVIVOR) started tier_evaluation ${TAKEOVER_S} s after the kill"
        fi
    fi
    if [ -z "$OVERLAP3" ]; then
        n=$(dpsql "$DB3" -c "SELECT count(DISTINCT holder) FROM job_runs WHERE job = 'tier_evaluation'")
        if [ "$n" -ge 2 ]; then
            OVERLAP3=$(dpsql "$DB3" -c "SELECT string_agg(holder || ' ' || outcome || ' since ' || to_char(started_at AT TIME ZONE 'UTC', 'HH24:MI:SS'), '; ' ORDER BY id) FROM job_runs WHERE job = 'tier_evaluation'")
            say "part 3: a second tier_evaluation run started: $OVERLAP3"
        fi
    fi
    if [ -n "$TAKEOVER_S" ] && { [ -n "$OVERLAP3" ] || ! kill -0 "$LOCK_PID" 2>/dev/null; }; then break; fi
    [ "$el" -ge 250 ] && break
    sleep 1
done

# Let the survivor's and part 3's passes finish (limit 90 s).
for i in $(seq 1 90); do
    a=$(dpsql "$DB1" -c "SELECT count(*) FROM job_runs WHERE job = 'tier_evaluation' AND outcome = 'running' AND holder NOT LIKE 'server:$LEADER:%'")
    b=$(dpsql "$DB3" -c "SELECT count(*) FROM job_runs WHERE outcome = 'running'")
    [ "$a" = 0 ] && [ "$b" = 0 ] && break
    sleep 1
done
for p in "$A1" "$B1" "$A3" "$B3"; do stop_pid "$p" 15; done
wait "$LOCK_PID" 2>/dev/null || true

say ""
say "-- part 1: job_runs on $DB1 (the killed replica's run stays 'running')"
runs_table "$DB1" | tee -a "$SUMMARY" >&2
runs_summary "$DB1" >"$OUT/part1-summary.txt"
column -t -s '|' "$OUT/part1-summary.txt" | sed 's/^/    /' | tee -a "$SUMMARY" >&2
if [ -n "$TAKEOVER_S" ] && [ "$(echo "$TAKEOVER_S <= 240" | bc)" = 1 ] &&
    ! awk -F'|' '$3 != 1 || $7 != 0 || $8 != 0 { bad = 1 } END { exit !bad }' "$OUT/part1-summary.txt"; then
    say "part 1: PASS — takeover after ${TAKEOVER_S} s (limit 240 s); each job completed exactly once; no overlapping runs"
else
    say "part 1: FAIL — takeover '${TAKEOVER_S:-none}' s; see the table above"
    RC=1
fi

say ""
say "-- part 3: job_runs on $DB3 (the pass was held > 120 s by a row lock on enrollment $X)"
runs_table "$DB3" | tee -a "$SUMMARY" >&2
runs_summary "$DB3" >"$OUT/part3-summary.txt"
column -t -s '|' "$OUT/part3-summary.txt" | sed 's/^/    /' | tee -a "$SUMMARY" >&2
dpsql "$DB3" -f "$DRILL_DIR/r2_check.sql" >"$OUT/part3-data-check.txt" || true
if grep -q '|f$' "$OUT/part3-data-check.txt"; then
    say "part 3: data check FAILED (bench/r2_check.sql):"
    column -t -s '|' "$OUT/part3-data-check.txt" | sed 's/^/    /' | tee -a "$SUMMARY" >&2
    RC=1
else
    say "part 3: data check passed: every enrollment changed tier once, ledger equals the recomputation ($(grep -c '|t$' "$OUT/part3-data-check.txt") checks)"
fi
if [ -n "$OVERLAP3" ]; then
    say "part 3: FAIL — a second replica started the same job while the first run was still going (the lease is not renewed during a run)"
    RC=1
else
    say "part 3: PASS — no second run while the first one was still running"
fi

fi

if [[ "$PARTS" == *2* ]]; then
# ---------------------------------------------------------------- part 2
DB2=trellis_r3_periods_$$
drill_db "$DB2"
say ""
say "== part 2: data set M loaded in $(load_set "$DB2" m --seed "$SEED" --end "$END") s into $DB2; first runs of every job as of $END"
DATABASE_URL="$DRILL_PG/$DB2" RUST_LOG=warn "$TRELLIS" scheduler run-once --now "$END" >"$OUT/part2-prewarm.log" 2>&1 || die "part 2: first runs"
SIM0=$(( $(date -u -d "$END" +%s) + 3600 ))
REAL0=$(now_ms)
sim_loop() {
    local name=$1 stop=$(( $(date +%s) + SIM_S )) sim p
    while [ "$(date +%s)" -lt "$stop" ]; do
        sim=$(( SIM0 + ($(now_ms) - REAL0) * SPEED / 1000 ))
        DATABASE_URL="$DRILL_PG/$DB2" RUST_LOG=info "$TRELLIS" scheduler run-once --now "$(date -u -d "@$sim" +%FT%TZ)" >>"$OUT/part2-$name.log" 2>&1 &
        p=$!
        echo "$p" >>"$OUT/part2-$name.pids"
        wait "$p" || echo "run-once pid $p failed" >>"$OUT/part2-$name.log"
        sleep "0.$((RANDOM % 4))"
    done
}
say "part 2: two run-once loops for $SIM_S s on a clock $SPEED× real time starting at $(date -u -d "@$SIM0" +%FT%TZ)"
sim_loop x &
LX=$!
sim_loop y &
LY=$!
DRILL_PIDS+=("$LX" "$LY")
wait "$LX" "$LY" || true
runs_x=$(wc -l <"$OUT/part2-x.pids")
runs_y=$(wc -l <"$OUT/part2-y.pids")
refused=$(cat "$OUT"/part2-[xy].log | grep -c 'another runner holds the lease' || true)
say "part 2: loop x ran run-once $runs_x times, loop y $runs_y times; $refused lease refusals logged"
holders=$(dpsql "$DB2" -c "SELECT string_agg(holder, ' ') FROM job_runs")
by_x=0
by_y=0
for h in $holders; do
    pid=${h#cli:}
    if grep -qx "$pid" "$OUT/part2-x.pids"; then by_x=$((by_x + 1)); elif grep -qx "$pid" "$OUT/part2-y.pids"; then by_y=$((by_y + 1)); fi
done
say "part 2: job runs by loop x: $by_x, by loop y: $by_y (plus the first runs)"
runs_table "$DB2" >"$OUT/part2-runs.txt"
runs_summary "$DB2" >"$OUT/part2-summary.txt"
column -t -s '|' "$OUT/part2-summary.txt" | sed 's/^/    /' | tee -a "$SUMMARY" >&2
dpsql "$DB2" -c "SELECT job, string_agg(to_char(as_of AT TIME ZONE 'UTC', 'HH24:MI:SS') || ' (' || round(extract(epoch FROM finished_at - started_at)::numeric, 2) || ' s)', ', ' ORDER BY as_of) FROM job_runs GROUP BY job ORDER BY job" |
    column -t -s '|' | sed 's/^/    /' | tee -a "$SUMMARY" >&2
if ! awk -F'|' '$4 != 0 || $7 != 0 || $8 != 0 { bad = 1 } ($1 != "rollup_repair" && $2 < 3) { bad = 1 } END { exit !bad }' "$OUT/part2-summary.txt"; then
    say "part 2: PASS — every hourly job ran once per simulated hour (>= 3 periods), never twice within a period, never overlapping"
else
    say "part 2: FAIL — see the table above"
    RC=1
fi

fi

machine_json >"$OUT/machine-end.json"
say ""
say "R3 drill finished in $(( $(date +%s) - T_START )) s; results in $OUT"
exit "$RC"
