#!/usr/bin/env bash
# write -> hash visible through ra-web-srv: the whole path a client sees.
# A client holds one keep-alive TLS 1.3 connection to ra-web-srv (simulated NSM),
# writes a file under fs-monitor's root, notes the time when close() returns, and
# polls GET /v1/files/hash?path=… until the served hash equals the one it computed
# itself (hashlib.sha3_512). p50/p99 over N files written 20 ms apart, with the
# cost of one poll (a GET of a known path) as the baseline of the same run.
# Goal: p99 <= 20 ms.   usage: bench/fs_monitor_visible.sh BUILD_DIR [N]
set -euo pipefail
BUILD=$(realpath "${1:?build dir}"); N=${2:-300}
SRV="$BUILD/attest/websrv/ra-web-srv"; MON="$BUILD/attest/fsmon/fs-monitor"
TMP=$(mktemp -d /tmp/ef-visible-XXXXXX); PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$TMP/data"
printf 'listen: {tcp: 127.0.0.1:%s}\ntls: {write_dir: %s/tls}\nnsm: {mode: simulated, state_dir: %s/sim}\nfiles: {socket: %s/run/files.sock}\n' \
  "$PORT" "$TMP" "$TMP" "$TMP" > "$TMP/srv.yaml"
printf 'roots: [%s/data]\nsocket: %s/run/files.sock\nstatus_interval_s: 0\n' "$TMP" "$TMP" > "$TMP/mon.yaml"
"$SRV" --config "$TMP/srv.yaml" > "$TMP/srv.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do [ -S "$TMP/run/files.sock" ] && [ -f "$TMP/tls/cert.pem" ] && break; sleep 0.1; done
"$MON" --config "$TMP/mon.yaml" > "$TMP/mon.log" 2>&1 & PIDS+=($!)
sleep 1
python3 - "$PORT" "$TMP/tls/cert.pem" "$TMP/data" "$N" <<'PY'
import hashlib, http.client, json, os, ssl, statistics, sys, time, urllib.parse
port, cert, data, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=cert)
ctx.check_hostname = False
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
def served(path):
    c.request("GET", "/v1/files/hash?path=" + urllib.parse.quote(path, safe="/"))
    r = c.getresponse(); body = r.read()
    return json.loads(body).get("sha3_512") if r.status == 200 else None
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]
lat, poll = [], []
for i in range(n):
    path = os.path.join(data, "f%04d" % i)
    payload = os.urandom(4096)
    want = hashlib.sha3_512(payload).hexdigest()
    with open(path, "wb") as f:
        f.write(payload)
    t0 = time.perf_counter()
    while served(path) != want:
        if time.perf_counter() - t0 > 5: sys.exit("timeout waiting for " + path)
    lat.append((time.perf_counter() - t0) * 1000)
    t1 = time.perf_counter(); served(path); poll.append((time.perf_counter() - t1) * 1000)
    time.sleep(0.02)
print("write->visible through ra-web-srv: n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms (goal p99 <= 20 ms)"
      % (n, pct(lat, 50), pct(lat, 99), max(lat)))
print("baseline, one GET of a known path:  p50=%.2f ms p99=%.2f ms" % (pct(poll, 50), pct(poll, 99)))
PY
