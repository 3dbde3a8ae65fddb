#!/usr/bin/env bash
# enclaved's idle cost: CPU (% of one core) and RSS while it supervises N
# enclaves (fake backend: host processes) with a health check each, measured
# over a window, next to an idle pf-proxy measured in the same run as the
# baseline (ratio = enclaved / pf-proxy).
# usage: bench/engine_idle.sh BUILD_DIR [N=10] [SECONDS=30]
set -euo pipefail
BUILD=${1:?build dir}; N=${2:-10}; SECS=${3:-30}
SRC=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/ef-bench-engine-XXXXXX)
export ENCLAVED_SOCKET=$TMP/api.sock
cleanup() {
  "$BUILD/engine/pipeline" ps --json 2>/dev/null | python3 -c 'import json,sys
for r in json.load(sys.stdin): print(r["name"])' 2>/dev/null | while read -r n; do "$BUILD/engine/pipeline" rm -f "$n" >/dev/null 2>&1 || true; done
  kill "${DAEMON:-}" "${BASE:-}" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
"$BUILD/engine/enclaved" --state-dir "$TMP/state" --socket "$ENCLAVED_SOCKET" --backend fake \
  --fake-enclave "$BUILD/engine/ef-fake-enclave" --fake-ports 80,7000 --pf-proxy "$BUILD/netproxy/pf-proxy" \
  >"$TMP/enclaved.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do [ -S "$ENCLAVED_SOCKET" ] && break; sleep 0.05; done
for i in $(seq "$N"); do
  "$BUILD/engine/pipeline" run "$SRC/tests/vectors/eif_selfgenerated/unsigned.eif" --name "e$i" \
    --health-port 80 --health-http / --restart always >/dev/null
done
"$BUILD/netproxy/pf-proxy" forward --listen "unix:$TMP/base.sock" --connect tcp:127.0.0.1:9 >"$TMP/base.log" 2>&1 &
BASE=$!
sleep 5
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
d0=$(ticks $DAEMON); b0=$(ticks $BASE); t0=$(date +%s.%N)
sleep "$SECS"
d1=$(ticks $DAEMON); b1=$(ticks $BASE); t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
python3 - "$d0" "$d1" "$b0" "$b1" "$t0" "$t1" "$hz" "$(rss $DAEMON)" "$(rss $BASE)" "$N" <<'PY'
import sys
d0, d1, b0, b1 = map(int, sys.argv[1:5]); t0, t1 = map(float, sys.argv[5:7]); hz = int(sys.argv[7])
drss, brss, n = int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10])
wall = t1 - t0
dcpu = 100.0 * (d1 - d0) / hz / wall; bcpu = 100.0 * (b1 - b0) / hz / wall
print(f"enclaved idle with {n} enclaves (health every 1 s), {wall:.0f} s window:")
print(f"  CPU  enclaved {dcpu:.2f}% of a core   pf-proxy idle {bcpu:.2f}%   (ticks {d1-d0} vs {b1-b0}, resolution {100.0/hz/wall:.2f}%)")
print(f"  RSS  enclaved {drss/1024:.1f} MiB       pf-proxy idle {brss/1024:.1f} MiB   ratio {drss/max(brss,1):.2f}x")
PY
