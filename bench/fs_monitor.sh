#!/usr/bin/env bash
# fs-monitor benchmark.
#  1. Hashing throughput of `fs-monitor scan` as a ratio to `openssl dgst -sha3-512`
#     on the same files in the same run: 1 GiB in 4 large files, 200 MiB in 12,800
#     small files (page cache warm for both).
#  2. write -> published latency: a writer closes a file and notes the time; a fake
#     ra-web-srv (tests/integration/fsmon_lib.py listen) notes when the put line for
#     that path arrives. p50/p99 over 500 files written 20 ms apart. Goal p99 <= 20 ms.
# usage: bench/fs_monitor.sh BUILD_DIR [SOURCE_DIR]
set -euo pipefail
BUILD=${1:?build dir}
SRC=${2:-$(cd "$(dirname "$0")/.." && pwd)}
FSMON="$BUILD/attest/fsmon/fs-monitor"
LIB="$SRC/tests/integration/fsmon_lib.py"
TMP=$(mktemp -d /tmp/ef-fsmon-bench-XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
now() { date +%s.%N; }

echo "== hashing throughput (ratio = openssl time / fs-monitor time; > 1 means fs-monitor is faster)"
mkdir -p "$TMP/large" "$TMP/small"
for i in 1 2 3 4; do head -c $((256 << 20)) /dev/urandom > "$TMP/large/f$i"; done
python3 - "$TMP/small" <<'PY'
import os, sys
blob = os.urandom(16384 * 64)
for i in range(12800):
    d = os.path.join(sys.argv[1], "d%02d" % (i % 64))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        off = (i * 16384) % len(blob)
        f.write((blob[off:] + blob)[:16384])
PY
cat "$TMP"/large/* > /dev/null; find "$TMP/small" -type f -print0 | xargs -0 cat > /dev/null
for set in large small; do
  mb=$(du -sm --apparent-size "$TMP/$set" | cut -f1)
  t0=$(now); find "$TMP/$set" -type f -print0 | xargs -0 openssl dgst -sha3-512 > "$TMP/openssl.$set"; t1=$(now)
  o=$(echo "$t1 - $t0" | bc -l)
  t0=$(now); "$FSMON" scan --threads 1 "$TMP/$set" > "$TMP/fsmon1.$set"; t1=$(now)
  f1=$(echo "$t1 - $t0" | bc -l)
  t0=$(now); "$FSMON" scan --threads 2 "$TMP/$set" > "$TMP/fsmon2.$set"; t1=$(now)
  f2=$(echo "$t1 - $t0" | bc -l)
  # the same digests, or the figures mean nothing
  n_ok=$(python3 - "$TMP/openssl.$set" "$TMP/fsmon1.$set" <<'PY'
import json, re, sys
want = {}
for l in open(sys.argv[1]):
    m = re.match(r"SHA3-512\((.*)\)= ([0-9a-f]{128})$", l.strip())
    want[m.group(1)] = m.group(2)
got = {}
for l in open(sys.argv[2]):
    j = json.loads(l)
    if j["kind"] == "file": got[j["path"]] = j["sha3_512"]
assert got == want, "digests differ from openssl"
print(len(got))
PY
)
  printf '%-6s %5d MiB %6d files: openssl %6.2fs (%7.1f MiB/s)  fs-monitor 1 thread %6.2fs (ratio %.2f)  2 threads %6.2fs (ratio %.2f)\n' \
    "$set" "$mb" "$n_ok" "$o" "$(echo "$mb / $o" | bc -l)" "$f1" "$(echo "$o / $f1" | bc -l)" "$f2" "$(echo "$o / $f2" | bc -l)"
done
rm -rf "$TMP/large" "$TMP/small"

echo "== write -> published latency (fake ra-web-srv on a unix socket)"
mkdir -p "$TMP/root/sub"
cat > "$TMP/config.yaml" <<CFG
roots: [$TMP/root]
hash_threads: 2
settle_ms: 2
socket: $TMP/files.sock
status_interval_s: 0
CFG
python3 "$LIB" listen "$TMP/files.sock" "$TMP/ipc.log" & PIDS+=($!)
"$FSMON" --config "$TMP/config.yaml" 2>"$TMP/fsmon.log" & PIDS+=($!)
sleep 0.5
python3 - "$TMP/root" "$TMP/ipc.log" <<'PY'
import json, os, sys, time
root, log = sys.argv[1], sys.argv[2]
closed = {}
payload = os.urandom(4096)
for i in range(500):
    p = os.path.join(root, "sub", "w%04d" % i)
    with open(p, "wb") as f:
        f.write(payload + b"%d" % i)
    closed[p] = time.time_ns()
    time.sleep(0.02)
time.sleep(1)
arrived = {}
for raw in open(log, "rb"):
    ts, _, line = raw.rstrip(b"\n").partition(b"\t")
    if not line.startswith(b"{"): continue
    m = json.loads(line)
    if m["op"] == "put" and m["path"] in closed and m["path"] not in arrived and int(ts) >= closed[m["path"]]:
        arrived[m["path"]] = int(ts)
lat = sorted((arrived[p] - closed[p]) / 1e6 for p in closed if p in arrived)
missing = len(closed) - len(lat)
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("files %d, published %d, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (goal p99 <= 20 ms)"
      % (len(closed), len(lat), pct(0.5), pct(0.9), pct(0.99), lat[-1]))
if missing: sys.exit("%d files never published" % missing)
PY
echo "fs-monitor VmHWM: $(awk '/VmHWM/ {print $2 " " $3}' /proc/${PIDS[1]}/status)"
