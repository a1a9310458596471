#!/usr/bin/env bash
# R21 (/work/shared/targets.md, issue 28): the disk under the embedded SQLite database fills
# during writes, then space returns.
#
#   bench/r21_full_disk.sh      # as root (mounts a tmpfs); TRELLIS=path/to/trellis (default:
#                               # $CARGO_TARGET_DIR/debug/trellis, else target/release/trellis)
#
#   1. a tmpfs of R21_SIZE (20m) at a private mount point; `trellis migrate`, an account, an API
#      key, a program and a partner through the REST API, then `trellis serve` on it;
#   2. a ballast file fills the tmpfs to R21_HEADROOM_KB (1500 kB) of free space, so the disk
#      fills after a few thousand conversions instead of 20 MB of them;
#   3. R21_C (4) clients post conversions (new external ids) until R21_REFUSED (200) answers
#      were refused; every answer is recorded (201 = acknowledged);
#   4. the ballast is deleted (space returns) with the server untouched; the clients keep
#      posting: time to the first 201 and to /readyz 200 are measured;
#   5. every acknowledged external id is re-sent (must answer 200, the stored answer), the
#      server is stopped with SIGTERM, and `sqlite3` counts the stored rows:
#      acknowledged = stored, refused (and never retried) = not stored, integrity_check ok.
# Results go to bench/results/r21-<stamp>/ (summary.txt, answers.csv, server.log).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE=${R21_SIZE:-20m}
HEADROOM_KB=${R21_HEADROOM_KB:-1500}
C=${R21_C:-4}
REFUSED=${R21_REFUSED:-200}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${R21_OUT:-$ROOT/bench/results/r21-$STAMP}
if [ -z "${TRELLIS:-}" ]; then
    if [ -n "${CARGO_TARGET_DIR:-}" ] && [ -x "$CARGO_TARGET_DIR/debug/trellis" ]; then TRELLIS=$CARGO_TARGET_DIR/debug/trellis; else TRELLIS=$ROOT/target/release/trellis; fi
fi
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (mounts a tmpfs)"
[ -x "$TRELLIS" ] || die "no trellis binary at $TRELLIS"
for t in curl jq sqlite3 python3 mount umount; do command -v "$t" >/dev/null || die "needs $t"; done
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/trellis-r21.XXXXXX)
MNT=$TMP/disk
mkdir -p "$MNT"
# A private copy: a rebuild elsewhere cannot change what is under test.
cp "$TRELLIS" "$TMP/trellis"
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    [ -f "$TMP/server.log" ] && cp "$TMP/server.log" "$OUT/server.log" || true
    umount "$MNT" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

mount -t tmpfs -o size="$SIZE" tmpfs "$MNT"
PORT=3460
while ss -Hltn "sport = :$PORT" | grep -q .; do PORT=$((PORT + 1)); done
export DATABASE_URL="sqlite://$MNT/trellis.db?mode=rwc" TRELLIS_ADDR="127.0.0.1:$PORT" TRELLIS_SCHEDULER=off RUST_LOG=info,sqlx=warn,sea_orm=warn
BASE="http://127.0.0.1:$PORT"
"$TMP/trellis" migrate >/dev/null
"$TMP/trellis" user create --account drill --email admin@drill.example --password drill-password-1 --role admin >/dev/null
KEY=$("$TMP/trellis" api-key create --account drill --name drill 2>/dev/null)
"$TMP/trellis" serve >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 200); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/readyz" >/dev/null || die "the server did not become ready"
api() { curl -sf -H "authorization: Bearer $KEY" -H 'content-type: application/json' "$@"; }
PROGRAM=$(api -X POST "$BASE/api/v1/programs" -d '{"name":"Drill","currency":"USD","website":"https://shop.example","allowed_domains":[],"cookie_days":30,"default_commission":{"percent":"10"},"tiers":[]}' | jq -r .id)
PARTNER=$(api -X POST "$BASE/api/v1/partners" -d "{\"email\":\"p@drill.example\",\"name\":\"Drill Partner\",\"program_id\":$PROGRAM,\"status\":\"active\"}" | jq -r .id)
[ "$PROGRAM" != null ] && [ "$PARTNER" != null ] || die "setting up the program and partner failed"

free_kb() { df -k --output=avail "$MNT" | tail -1 | tr -d ' '; }
BALLAST_KB=$(( $(free_kb) - HEADROOM_KB ))
[ "$BALLAST_KB" -gt 0 ] || die "the tmpfs is smaller than the headroom"
dd if=/dev/zero of="$MNT/ballast" bs=1k count="$BALLAST_KB" status=none
log "tmpfs $SIZE at $MNT, $(free_kb) kB free after the ballast; posting with $C clients"

python3 - "$BASE" "$KEY" "$PROGRAM" "$PARTNER" "$C" "$REFUSED" "$MNT/ballast" "$OUT" <<'PY'
import http.client, json, os, sys, threading, time, urllib.parse
base, key, program, partner, clients, refused_target, ballast, out = sys.argv[1:9]
clients, refused_target = int(clients), int(refused_target)
u = urllib.parse.urlparse(base)
lock = threading.Lock()
answers = []            # (external_id, status, code, t)
acked = {}              # external_id -> answer body
refused = set()
phase = {"freed_at": None, "first_201_after": None, "ready_after": None}
stop = threading.Event()
counter = [0]

def conn():
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)

def post(c, ext):
    body = json.dumps({"program_id": int(program), "external_id": ext, "amount": "49.90", "partner_id": int(partner)})
    c.request("POST", "/api/v1/conversions", body, {"authorization": "Bearer " + key, "content-type": "application/json"})
    r = c.getresponse()
    data = r.read()
    try:
        doc = json.loads(data)
    except ValueError:
        doc = {}
    return r.status, doc, r.getheader("retry-after")

def client(n):
    c = conn()
    while not stop.is_set():
        with lock:
            counter[0] += 1
            ext = "r21-%d" % counter[0]
        try:
            status, doc, retry = post(c, ext)
        except Exception as e:  # a dropped connection: reconnect and count it
            c = conn()
            status, doc, retry = 0, {"code": "client_error: %s" % e}, None
        t = time.time()
        with lock:
            answers.append((ext, status, doc.get("code", ""), t, retry or ""))
            if status == 201:
                acked[ext] = doc
                if phase["freed_at"] and not phase["first_201_after"]:
                    phase["first_201_after"] = t - phase["freed_at"]
            else:
                refused.add(ext)
            if phase["freed_at"] and phase["first_201_after"] and t - phase["freed_at"] > 3:
                stop.set()

def ready():
    c = conn()
    c.request("GET", "/readyz")
    r = c.getresponse()
    r.read()
    return r.status

threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
t0 = time.time()
for t in threads:
    t.start()
while len(refused) < refused_target:
    time.sleep(0.05)
    if time.time() - t0 > 600:
        print("the disk never filled", file=sys.stderr)
        sys.exit(1)
ready_while_full = ready()
acked_before_free = len(acked)
os.remove(ballast)
phase["freed_at"] = time.time()
while phase["ready_after"] is None and time.time() - phase["freed_at"] < 120:
    if ready() == 200:
        phase["ready_after"] = time.time() - phase["freed_at"]
    time.sleep(0.05)
for t in threads:
    t.join()
# Re-send every acknowledged conversion: the stored answer, 200.
c = conn()
replay_ok = replay_bad = 0
for ext, doc in acked.items():
    status, again, _ = post(c, ext)
    if status == 200 and again == doc:
        replay_ok += 1
    else:
        replay_bad += 1
codes = {}
for _, s, code, _, _ in answers:
    codes["%s %s" % (s, code)] = codes.get("%s %s" % (s, code), 0) + 1
with open(os.path.join(out, "answers.csv"), "w") as f:
    f.write("external_id,status,code,unix_time,retry_after\n")
    for a in answers:
        f.write("%s,%s,%s,%.3f,%s\n" % a)
with open(os.path.join(out, "acked.txt"), "w") as f:
    f.write("\n".join(sorted(acked)) + "\n")
with open(os.path.join(out, "refused.txt"), "w") as f:
    f.write("\n".join(sorted(refused - set(acked))) + "\n")
json.dump({
    "answers": len(answers), "acknowledged": len(acked), "acknowledged_before_space_returned": acked_before_free,
    "refused": len(refused - set(acked)), "answers_by_status_code": codes,
    "readyz_while_full": ready_while_full,
    "first_201_after_space_returned_s": phase["first_201_after"], "readyz_200_after_space_returned_s": phase["ready_after"],
    "replays_answering_200_with_the_stored_answer": replay_ok, "replays_wrong": replay_bad,
}, open(os.path.join(out, "client.json"), "w"), indent=1)
PY

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=
sqlite3 "$MNT/trellis.db" "SELECT external_id FROM conversions ORDER BY external_id" | sort >"$OUT/stored.txt"
INTEGRITY=$(sqlite3 "$MNT/trellis.db" "PRAGMA integrity_check")
sort "$OUT/acked.txt" | sed '/^$/d' >"$OUT/acked.sorted"
sort "$OUT/refused.txt" | sed '/^$/d' >"$OUT/refused.sorted"
MISSING=$(comm -23 "$OUT/acked.sorted" "$OUT/stored.txt" | wc -l)
REFUSED_STORED=$(comm -12 "$OUT/refused.sorted" "$OUT/stored.txt" | wc -l)
STORED=$(wc -l <"$OUT/stored.txt")
EPISODES=$(grep -c "storage fault: writes fail" "$TMP/server.log" || true)
{
    echo "R21 full disk drill, $STAMP, binary $TRELLIS"
    echo "tmpfs $SIZE, headroom ${HEADROOM_KB} kB after the ballast, $C clients"
    jq -r 'to_entries[] | "\(.key): \(.value)"' "$OUT/client.json"
    echo "stored conversions after a clean stop: $STORED"
    echo "acknowledged but not stored: $MISSING"
    echo "refused (never retried) but stored: $REFUSED_STORED"
    echo "integrity_check: $INTEGRITY"
    echo "'storage fault' log lines (one per episode): $EPISODES"
} | tee "$OUT/summary.txt"
rm -f "$OUT/acked.sorted" "$OUT/refused.sorted"
[ "$MISSING" = 0 ] && [ "$REFUSED_STORED" = 0 ] && [ "$INTEGRITY" = ok ] || die "acknowledged != stored"
log "ok: acknowledged = stored; results in $OUT"
