#!/usr/bin/env bash
# Transparent egress across network namespaces:
#   enclave ns (lo + a dummy default route, iptables REDIRECT of outbound TCP)
#     client → pf-proxy transparent 127.0.0.1:3128 ──unix socket (vsock stand-in)──▶
#   host ns: pf-proxy dialer (policy) ── veth ──▶ internet ns: servers on 10.99.0.2/.3 and fd99::2
# Checks: original destination honoured (address and port, IPv4 and IPv6), the
# policy refuses a denied port, payloads intact under concurrency.
# usage: netproxy_netns.sh PF_PROXY PF_PEER [iptables|nft]   (needs root; exits 77 = skipped otherwise)
set -euo pipefail
proxy=$(realpath "$1"); peer=$(realpath "$2"); firewall=${3:-iptables}
nft_flag=""; [ "$firewall" = nft ] && nft_flag=--nft
[ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v "$firewall" >/dev/null || { echo "skip: needs root, ip, $firewall"; exit 77; }
tag=pf$$
enc=$tag-enc; host=$tag-host; net=$tag-net
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$enc" 2>/dev/null || true
  ip netns del "$host" 2>/dev/null || true
  ip netns del "$net" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do echo "== $f"; tail -20 "$f"; done; exit 1; }

ip netns add "$enc"; ip netns add "$host"; ip netns add "$net"
for ns in "$enc" "$host" "$net"; do ip -n "$ns" link set lo up; done
# The enclave has no network: only a dead-end veth as default route so connect() gets as far as netfilter.
ip -n "$enc" link add d0 type veth peer name d1
ip -n "$enc" link set d1 up
ip -n "$enc" addr add 10.200.0.1/24 dev d0
ip -n "$enc" link set d0 up
ip -n "$enc" route add default dev d0
ip -n "$enc" -6 addr add fd00:200::1/64 dev d0 nodad
ip -n "$enc" -6 route add default dev d0
# host ⇄ internet
ip link add "$tag-h" netns "$host" type veth peer name "$tag-n" netns "$net"
ip -n "$host" addr add 10.99.0.1/24 dev "$tag-h"
ip -n "$host" -6 addr add fd99::1/64 dev "$tag-h" nodad
ip -n "$net" addr add 10.99.0.2/24 dev "$tag-n"
ip -n "$net" addr add 10.99.0.3/24 dev "$tag-n"
ip -n "$net" -6 addr add fd99::2/64 dev "$tag-n" nodad
ip -n "$host" link set "$tag-h" up
ip -n "$net" link set "$tag-n" up

# internet: an echo server, and servers that name themselves
ip netns exec "$net" "$peer" echo tcp:0.0.0.0:8080 > "$dir/echo.log" 2>&1 & pids+=($!)
ip netns exec "$net" socat TCP4-LISTEN:8082,fork,reuseaddr SYSTEM:'echo port-8082' & pids+=($!)
ip netns exec "$net" socat TCP4-LISTEN:8083,bind=10.99.0.3,fork,reuseaddr SYSTEM:'echo addr-3-port-8083' & pids+=($!)
ip netns exec "$net" socat TCP4-LISTEN:8083,bind=10.99.0.2,fork,reuseaddr SYSTEM:'echo addr-2-port-8083' & pids+=($!)
ip netns exec "$net" socat TCP4-LISTEN:8081,fork,reuseaddr SYSTEM:'echo must-not-see' & pids+=($!)
ip netns exec "$net" socat TCP6-LISTEN:8086,fork,reuseaddr SYSTEM:'echo ipv6-8086' & pids+=($!)

# host side: the dialer with its policy
cat > "$dir/host.yaml" <<YAML
workers: 2
metrics: tcp:127.0.0.1:9101
forwards:
  - name: egress
    mode: dialer
    listen: unix:$dir/egress.sock
    policy:
      deny:
        - ports: [8081]
      allow:
        - cidr: [10.99.0.0/24, "fd99::/64"]
YAML
ip netns exec "$host" "$proxy" run --config "$dir/host.yaml" > "$dir/host.log" 2>&1 & pids+=($!)

# enclave side: transparent listener + the rules pf-proxy prints
cat > "$dir/enclave.yaml" <<YAML
forwards:
  - name: egress
    mode: transparent
    listen: "tcp:[::]:3128"
    connect: unix:$dir/egress.sock
YAML
ip netns exec "$enc" "$proxy" run --config "$dir/enclave.yaml" > "$dir/enclave.log" 2>&1 & pids+=($!)
ip netns exec "$enc" "$proxy" rules --egress-port 3128 $nft_flag --apply

for i in $(seq 50); do
  [ -S "$dir/egress.sock" ] && ip netns exec "$enc" "$proxy" rules --egress-port 3128 >/dev/null && \
    ip netns exec "$net" sh -c 'ss -ltn | grep -q 8086' && ip netns exec "$enc" sh -c 'ss -ltn | grep -q 3128' && break
  sleep 0.1
done

# IPv6 neighbour discovery on a fresh veth can take a moment: wait until the host reaches the internet ns.
for i in $(seq 50); do
  [ "$(ip netns exec "$host" socat -T 2 - TCP6:[fd99::2]:8086 </dev/null 2>/dev/null)" = ipv6-8086 ] && break
  sleep 0.1
done
inside() { ip netns exec "$enc" "$@"; }
out=$(inside socat -T 5 - TCP4:10.99.0.2:8082 </dev/null) || fail "8082 unreachable"
[ "$out" = port-8082 ] || fail "port 8082 answered '$out'"
out=$(inside socat -T 5 - TCP4:10.99.0.3:8083 </dev/null) || fail "10.99.0.3:8083 unreachable"
[ "$out" = addr-3-port-8083 ] || fail "10.99.0.3:8083 answered '$out'"
out=$(inside socat -T 5 - TCP4:10.99.0.2:8083 </dev/null) || fail "10.99.0.2:8083 unreachable"
[ "$out" = addr-2-port-8083 ] || fail "10.99.0.2:8083 answered '$out'"
out=$(inside socat -T 15 - TCP6:[fd99::2]:8086 </dev/null) || fail "[fd99::2]:8086 unreachable"
[ "$out" = ipv6-8086 ] || fail "[fd99::2]:8086 answered '$out'"
out=$(inside socat -T 5 - TCP4:10.99.0.2:8081 </dev/null 2>/dev/null || true)
[ -z "$out" ] || fail "denied port 8081 answered '$out'"
grep -q "connection denied by policy.*10.99.0.2:8081" "$dir/host.log" || fail "denial not logged"
inside "$peer" check tcp:10.99.0.2:8080 --count 300 --max 300000 --concurrency 100 || fail "integrity through transparent egress"
metrics=$(ip netns exec "$host" socat -T 5 - TCP:127.0.0.1:9101 <<< $'GET /metrics HTTP/1.0\r\n\r\n')
grep -q 'pf_proxy_errors_total{forward="egress",kind="policy"} 1' <<< "$metrics" || fail "policy metric: $metrics"
echo "netns transparent egress ($firewall): all checks passed"
