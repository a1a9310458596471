# Shared helpers of the bench/ scripts. Source it; it sets nothing up by itself.
# Every helper is bounded in time; servers started here are remembered and killed by
# bench_cleanup (call it from an EXIT trap).

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
TRELLIS="${TRELLIS:-$ROOT/target/release/trellis}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PGHOST_SHARED="${PGHOST_SHARED:-127.0.0.1}"
PGPORT_SHARED="${PGPORT_SHARED:-5432}"
OHA="${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}"

BENCH_PIDS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now_ms() { date +%s%3N; }

# A free TCP port on 127.0.0.1 at or above $1.
free_port() {
    local p=${1:-3300}
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

# Sends SIGTERM to pid $1 and waits up to $2 s (default 30) for it to exit, then SIGKILL.
stop_pid() {
    local pid=$1 limit=${2:-30} i=0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((limit * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop within ${limit}s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        return 1
    fi
    wait "$pid" 2>/dev/null || true
    return 0
}

# Copies $TRELLIS to a private name in directory $1 and points TRELLIS at the copy, so that a
# developer's `pkill trellis` on this shared machine cannot stop the server under test (this
# happened once during a run: a SIGTERM from outside in the middle of P1).
private_trellis() {
    cp "$TRELLIS" "$1/tb-server-under-test"
    TRELLIS="$1/tb-server-under-test"
}

# Starts `trellis serve` in the background with the current DATABASE_URL/TRELLIS_ADDR,
# logging to $1; sets TRELLIS_PID.
start_trellis() {
    local logfile=$1
    TRELLIS_SCHEDULER=off RUST_LOG="${RUST_LOG:-warn}" "$TRELLIS" serve >"$logfile" 2>&1 &
    TRELLIS_PID=$!
    BENCH_PIDS+=("$TRELLIS_PID")
    wait_http "http://$TRELLIS_ADDR/healthz" 60 || { tail -20 "$logfile" >&2; die "trellis did not come up on $TRELLIS_ADDR"; }
}

# Loads the demo and prints a fresh API key of the demo account.
demo_and_key() {
    TRELLIS_SCHEDULER=off "$TRELLIS" demo >/dev/null || die "trellis demo"
    TRELLIS_SCHEDULER=off "$TRELLIS" api-key create --account demo --name bench | grep -Eo 'trl_[0-9a-f]+_[0-9a-f]+' | head -1
}

# Dies with a clear message when pid $1 (what: $2) is no longer running.
assert_alive() {
    if ! kill -0 "$1" 2>/dev/null; then
        local rc=0
        wait "$1" 2>/dev/null || rc=$?
        die "$2 (pid $1) exited on its own, status $rc, before the script stopped it"
    fi
}

bench_cleanup_pids() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then stop_pid "$pid" 15 || true; fi
    done
}

# psql on the shared server.
psql_shared() { psql -h "$PGHOST_SHARED" -p "$PGPORT_SHARED" -U postgres -v ON_ERROR_STOP=1 -qAtX "$@"; }

require_tools() {
    [ -x "$TRELLIS" ] || die "$TRELLIS missing: cargo build --release -p server --bin trellis"
    local t
    for t in "$@"; do command -v "$t" >/dev/null || [ -x "$t" ] || die "$t not found"; done
}

# The machine as the run saw it: cores, load averages, and the busiest other processes.
machine_json() {
    local top
    top=$(ps -eo pcpu=,comm= --sort=-pcpu | head -5 | awk '{printf "%s %s%%\n", $2, $1}' | jq -Rn '[inputs]')
    jq -n --arg cores "$(nproc)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson top "$top" \
        --arg commit "$( (cd "$ROOT" && git rev-parse --short HEAD) 2>/dev/null || echo unknown)" \
        --arg binary "$TRELLIS" \
        '{cores: ($cores | tonumber), load_average_1_5_15: $load, busiest_processes_now: $top, bench_repo_commit: $commit, trellis_binary: $binary}'
}
