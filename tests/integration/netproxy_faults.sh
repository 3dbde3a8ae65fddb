#!/usr/bin/env bash
# Faults from issue 12, on the real pf-proxy binary:
#  1. `pf-proxy --help` examples use no vsock port the docs reserve (9000 heartbeat,
#     9001 init control, 9053 DNS).
#  2. A direct connection to the transparent listener (no redirect record) is
#     refused and counted in the metrics, with conntrack running, while a
#     connection netfilter redirected is still forwarded. In a fresh network
#     namespace (unshare -n; iptables there turns conntrack on).
#  3. A clean half-close never loses bytes held in the proxy: 8 MiB each way to
#     a reader that starts late (so they wait in pf-proxy's pipes and socket
#     buffers when the FIN arrives), with splice and with copying.
# usage: netproxy_faults.sh PF_PROXY PF_PEER   (needs root for part 2: fails, saying so, without it)
set -euo pipefail
proxy=$(realpath "$1"); peer=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }; done; exit 1; }

# 1. --help examples
"$proxy" --help > "$dir/help.txt"
grep -q 'vsock:' "$dir/help.txt" || fail "--help shows no vsock examples"
if grep -Eo 'vsock:[^ :]+:[0-9]+' "$dir/help.txt" | grep -Eq ':(9000|9001|9053)$'; then
  fail "--help uses a reserved vsock port: $(grep -Eo 'vsock:[^ :]+:(9000|9001|9053)\b' "$dir/help.txt" | sort -u | tr '\n' ' ')"
fi
echo "ok: --help examples avoid vsock 9000/9001/9053"

# 2. transparent listener: direct connections refused, redirected ones forwarded
[ "$(id -u)" -eq 0 ] || fail "part 2 needs root (unshare -n and iptables in the new namespace)"
command -v iptables >/dev/null || fail "part 2 needs iptables"
unshare -n env PROXY="$proxy" PEER="$peer" DIR="$dir" bash -euo pipefail -c '
  ip link set lo up
  "$PEER" echo tcp:127.0.0.1:8080 > "$DIR/echo.log" 2>&1 & echo_pid=$!
  cat > "$DIR/t.yaml" <<YAML
metrics: tcp:127.0.0.1:9109
forwards:
  - {name: egress, mode: transparent, listen: "tcp:127.0.0.1:3128", connect: "unix:$DIR/d.sock"}
  - {name: dial, mode: dialer, listen: "unix:$DIR/d.sock", dial_host: 127.0.0.1, policy: {allow: [{cidr: [127.0.0.0/8]}]}}
YAML
  "$PROXY" run --config "$DIR/t.yaml" > "$DIR/transparent.log" 2>&1 & proxy_pid=$!
  trap "kill $echo_pid $proxy_pid 2>/dev/null || true" EXIT
  # conntrack on, and 127.0.0.2:8080 redirected to the transparent listener
  iptables -t nat -A OUTPUT -p tcp -d 127.0.0.2 --dport 8080 -j REDIRECT --to-ports 3128
  python3 - "$DIR" <<PY
import socket, sys, time, urllib.request
def metrics():
    return urllib.request.urlopen("http://127.0.0.1:9109/metrics", timeout=5).read().decode()
for _ in range(100):
    try:
        metrics(); break
    except OSError:
        time.sleep(0.05)
def exchange(addr):
    try:
        s = socket.create_connection(addr, timeout=5)
    except ConnectionResetError:
        return None  # refused so fast that connect() saw the reset
    try:
        s.sendall(b"ping\n"); s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(4096)
            if not b: return out
            out += b
    except ConnectionResetError:
        return None
    finally:
        s.close()
got = exchange(("127.0.0.2", 8080))
assert got == b"ping\n", "redirected connection not forwarded: %r" % (got,)
for _ in range(3):
    got = exchange(("127.0.0.1", 3128))
    assert not got, "direct connection to the transparent listener was forwarded: %r" % (got,)
time.sleep(0.3)
m = metrics()
want = ["pf_proxy_connections_refused_total{forward=\"egress\"} 3",
        "pf_proxy_errors_total{forward=\"egress\",kind=\"original_dst\"} 3"]
for w in want:
    assert w in m, "metrics lack %s:\n%s" % (w, m)
print("ok: 3 direct connections refused and counted, the redirected one forwarded")
PY
' || fail "transparent listener"

# 3. clean half-close with bytes held in the proxy, both directions, splice and copy
"$here/netproxy_halfclose.py" "$proxy" "$dir" || fail "half-close"
