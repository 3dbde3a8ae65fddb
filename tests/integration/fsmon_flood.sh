#!/usr/bin/env bash
# fs-monitor under a flood: 20,000 files created and written, all rewritten, then
# renamed (and a directory of them moved): about 100,000 inotify events. A small
# queue_bound forces the own-queue overflow path (full rescan), the kernel queue
# may overflow too; either way no change may be lost: the final published state
# must equal the tree hashed independently, and peak RSS stays under a bound.
source "$(dirname "$0")/lib.sh"
FSMON="$BUILD/attest/fsmon/fs-monitor"
LIB="$SRC/tests/integration/fsmon_lib.py"
ROOT="$TMP/root"
N=${FSMON_FLOOD_FILES:-20000}
RSS_BOUND_KB=${FSMON_RSS_BOUND_KB:-131072}   # 128 MiB for 20,000 files
mkdir -p "$ROOT"
cat > "$TMP/config.yaml" <<CFG
roots: [$ROOT]
hash_threads: 2
queue_bound: 4096
settle_ms: 2
socket: $TMP/files.sock
status_interval_s: 2
CFG
python3 "$LIB" listen "$TMP/files.sock" "$TMP/ipc.log" & LPID=$!
"$FSMON" --config "$TMP/config.yaml" 2>"$TMP/fsmon.log" & FPID=$!
cleanup() { kill "$FPID" "$LPID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
sleep 0.3

cat > "$TMP/writer.py" <<'PY'
import os, sys
root, n, phase = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dirs = [os.path.join(root, "d%02d" % i) for i in range(20)]
if phase == "create":
    for d in dirs: os.makedirs(d)
    for i in range(n):                   # create + write: IN_CREATE, IN_CLOSE_WRITE
        with open(os.path.join(dirs[i % 20], "f%05d" % i), "wb") as f: f.write(b"v1 %d\n" % i * (1 + i % 7))
elif phase == "rewrite":
    for i in range(n):                   # rewrite: IN_CLOSE_WRITE
        with open(os.path.join(dirs[i % 20], "f%05d" % i), "wb") as f: f.write(b"v2 %d\n" % i)
elif phase == "rename":
    for i in range(n):                   # rename: IN_MOVED_FROM + IN_MOVED_TO
        os.rename(os.path.join(dirs[i % 20], "f%05d" % i), os.path.join(dirs[(i + 1) % 20], "r%05d" % i))
    os.rename(dirs[3], os.path.join(dirs[4], "moved"))   # a populated directory moves
    for i in range(0, n, 10):            # and some files change again after the move
        p = os.path.join(dirs[(i + 1) % 20], "r%05d" % i)
        if os.path.exists(p):
            with open(p, "ab") as f: f.write(b"v3\n")
PY
python3 "$TMP/writer.py" "$ROOT" "$N" create
python3 "$TMP/writer.py" "$ROOT" "$N" rewrite
# Frozen fs-monitor: the kernel queue (fs.inotify.max_queued_events) overflows.
kill -STOP "$FPID"
python3 "$TMP/writer.py" "$ROOT" "$N" rename
kill -CONT "$FPID"
pass "flood written ($N files, ~$((N * 5)) events)"
python3 "$LIB" wait "$TMP/ipc.log" "$ROOT" "" 420 || { tail -20 "$TMP/fsmon.log"; fail "final state after the flood"; }
pass "no change lost"
hwm=$(awk '/VmHWM/ {print $2}' /proc/$FPID/status)
echo "fs-monitor VmHWM: ${hwm} kB (bound ${RSS_BOUND_KB} kB)"
grep -E "rescan|overflow" "$TMP/fsmon.log" | head -3 || true
if [ "$(cat /proc/sys/fs/inotify/max_queued_events)" -lt "$N" ]; then
  grep -q "inotify queue overflow" "$TMP/fsmon.log" || fail "expected a kernel queue overflow while frozen"
  grep -q "rescan done" "$TMP/fsmon.log" || fail "no rescan after the overflow"
  pass "kernel queue overflow -> full rescan"
fi
[ "$hwm" -le "$RSS_BOUND_KB" ] || fail "peak RSS ${hwm} kB above ${RSS_BOUND_KB} kB"
pass "peak RSS within bound"
