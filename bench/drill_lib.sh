# Helpers of the drill scripts (bench/p5_tiers.sh, bench/r2_kill_pass.sh, bench/r3_two_replicas.sh;
# docs/drills.md). Source it; it starts nothing by itself. Everything here is bounded in time,
# and every process or database it creates is remembered and removed by drill_cleanup (call it
# from an EXIT trap).

DRILL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$DRILL_DIR/.." && pwd)"
TRELLIS="${TRELLIS:-$ROOT/target/release/trellis}"
GEN="${GEN:-$ROOT/target/release/trellis-gen}"
TIERCHECK="${TIERCHECK:-$ROOT/target/release/trellis-tiercheck}"
# The PostgreSQL server the drills create their own databases on (never stopped by them).
DRILL_PG="${DRILL_PG:-postgres://postgres@127.0.0.1:5432}"

DRILL_PIDS=()
DRILL_DBS=()
DRILL_TMP=

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now_ms() { date +%s%3N; }

# A free TCP port on 127.0.0.1 at or above $1.
free_port() {
    local p=${1:-3400}
    while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
    echo "$p"
}

# Waits up to $2 seconds (default 60) for URL $1 to answer 200.
wait_http() {
    local url=$1 limit=${2:-60} i=0
    while [ "$i" -lt $((limit * 10)) ]; do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url")" = 200 ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# psql against database $1 of $DRILL_PG, unaligned, quiet, stopping on the first error.
dpsql() {
    local db=$1
    shift
    psql "$DRILL_PG/$db" -v ON_ERROR_STOP=1 -qAtX "$@"
}

# Creates a fresh database $1 (dropped by drill_cleanup unless DRILL_KEEP=1).
drill_db() {
    local db=$1
    psql "$DRILL_PG/postgres" -qAtX -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    psql "$DRILL_PG/postgres" -qAtX -c "CREATE DATABASE $db" >/dev/null || die "create database $db"
    DRILL_DBS+=("$db")
}

# Migrates database $1 with trellis and loads data set $2 (m|l) into it; extra arguments go to
# trellis-gen. Prints the load time in seconds.
load_set() {
    local db=$1 set=$2
    shift 2
    local t0
    t0=$(now_ms)
    DATABASE_URL="$DRILL_PG/$db" TRELLIS_SCHEDULER=off "$TRELLIS" migrate >/dev/null || die "trellis migrate ($db)"
    "$GEN" --set "$set" "$@" | psql "$DRILL_PG/$db" -v ON_ERROR_STOP=1 -qAtX >/dev/null || die "loading data set $set into $db"
    echo "scale=1; ($(now_ms) - $t0) / 1000" | bc
}

# Copies the binaries to private names in $DRILL_TMP, so that a `pkill trellis` or a rebuild by
# someone else on this shared machine cannot change or stop what is under test.
private_binaries() {
    cp -p "$TRELLIS" "$DRILL_TMP/trellis-drill"
    TRELLIS="$DRILL_TMP/trellis-drill"
}

require_built() {
    [ -x "$TRELLIS" ] || die "$TRELLIS missing: cargo build --release -p server --bin trellis"
    if [ ! -x "$GEN" ] || [ "$DRILL_DIR/src/bin/trellis-gen.rs" -nt "$GEN" ] ||
        [ ! -x "$TIERCHECK" ] || [ "$DRILL_DIR/src/bin/trellis-tiercheck.rs" -nt "$TIERCHECK" ]; then
        log "building trellis-gen and trellis-tiercheck"
        (cd "$ROOT" && cargo build --release -q -p bench --bin trellis-gen --bin trellis-tiercheck) || die "cargo build -p bench"
    fi
    local t
    for t in psql curl jq bc ss; do command -v "$t" >/dev/null || die "$t not found"; done
}

# Sends SIGTERM to pid $1, waits up to $2 s (default 20), then SIGKILL.
stop_pid() {
    local pid=$1 limit=${2:-20} i=0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((limit * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

# The machine as the run saw it.
machine_json() {
    jq -n --arg cores "$(nproc)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
        --arg top "$(ps -eo pcpu=,comm= --sort=-pcpu | head -5 | awk '{printf "%s %s%%; ", $2, $1}')" \
        --arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        --arg dirty "$(git -C "$ROOT" status --short --untracked-files=no 2>/dev/null | wc -l)" \
        --arg binary_built "$(date -u -r "$TRELLIS" +%FT%TZ 2>/dev/null || echo unknown)" \
        '{cores: ($cores | tonumber), load_average_1_5_15: $load, busiest_processes: $top, repo_head: $commit,
          modified_tracked_files_in_worktree: ($dirty | tonumber), trellis_binary_built: $binary_built}'
}

drill_cleanup() {
    local pid db
    for pid in "${DRILL_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && stop_pid "$pid" 10
    done
    if [ "${DRILL_KEEP:-0}" != 1 ]; then
        for db in "${DRILL_DBS[@]}"; do
            psql "$DRILL_PG/postgres" -qAtX -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
        done
    else
        log "kept databases: ${DRILL_DBS[*]}"
    fi
    [ -n "$DRILL_TMP" ] && rm -rf "$DRILL_TMP"
}
