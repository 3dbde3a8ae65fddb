#!/usr/bin/env bash
# Transparent egress across network namespaces:
#   enclave ns (lo only; `rules --apply` adds a local default route and the REDIRECT of outbound TCP)
#     client → pf-proxy transparent 127.0.0.1:3128 ──unix socket (vsock stand-in)──▶
#   host ns: pf-proxy dialer (policy) ── veth ──▶ internet ns: servers on 10.99.0.2/.3 and fd99::2
# Checks: original destination honoured (address and port, IPv4 and IPv6), the
# policy refuses a denied port, payloads intact under concurrency.
# The namespaces are made with `unshare --net` (each held by a sleeping process)
# and entered with `nsenter`, not `ip netns`: that needs "/" to be a mount point,
# which it is not in a chroot or many CI containers.
# usage: netproxy_netns.sh PF_PROXY PF_PEER [iptables|nft]
# Needs root (network namespaces, veth, netfilter): without it the test FAILS, saying so.
set -euo pipefail
proxy=$(realpath "$1"); peer=$(realpath "$2"); firewall=${3:-iptables}
nft_flag=""; [ "$firewall" = nft ] && nft_flag=--nft
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root for network namespaces, veth and $firewall (running as uid $(id -u))"; exit 1; }
for t in unshare nsenter ip ss socat "$firewall"; do
  command -v "$t" >/dev/null || { echo "FAIL: needs $t (scripts/setup installs it)"; exit 1; }
done
tag=pf$$
dir=$(mktemp -d)
pids=()
holders=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # The namespaces go away with the last process in them: their holders.
  for p in "${holders[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do [ -f "$f" ] || continue; echo "== $f"; tail -20 "$f"; done; exit 1; }
# mkns VAR: a new network namespace, held by a sleeping process whose pid goes into VAR.
mkns() {
  unshare --net sleep 1000000 </dev/null >"$dir/unshare-$1.log" 2>&1 & local p=$!
  holders+=("$p")
  local own; own=$(readlink /proc/self/ns/net)
  for _ in $(seq 100); do
    local ns; ns=$(readlink "/proc/$p/ns/net" 2>/dev/null || true)
    [ -n "$ns" ] && [ "$ns" != "$own" ] && { printf -v "$1" %s "$p"; return 0; }
    kill -0 "$p" 2>/dev/null || fail "unshare --net failed (needs CAP_SYS_ADMIN): $(cat "$dir/unshare-$1.log")"
    sleep 0.05
  done
  fail "unshare --net did not make a network namespace"
}

mkns enc; mkns host; mkns net
for ns in "$enc" "$host" "$net"; do nsenter -t "$ns" -n ip link set lo up; done
# The enclave has no network but lo, as in a Nitro enclave: `rules --apply`
# must add the routes that let connect() get as far as netfilter.
# host ⇄ internet
ip link add "$tag-h" netns "$host" type veth peer name "$tag-n" netns "$net"
nsenter -t "$host" -n ip addr add 10.99.0.1/24 dev "$tag-h"
nsenter -t "$host" -n ip -6 addr add fd99::1/64 dev "$tag-h" nodad
nsenter -t "$net" -n ip addr add 10.99.0.2/24 dev "$tag-n"
nsenter -t "$net" -n ip addr add 10.99.0.3/24 dev "$tag-n"
nsenter -t "$net" -n ip -6 addr add fd99::2/64 dev "$tag-n" nodad
nsenter -t "$host" -n ip link set "$tag-h" up
nsenter -t "$net" -n ip link set "$tag-n" up

# internet: an echo server, and servers that name themselves
nsenter -t "$net" -n "$peer" echo tcp:0.0.0.0:8080 > "$dir/echo.log" 2>&1 & pids+=($!)
nsenter -t "$net" -n socat TCP4-LISTEN:8082,fork,reuseaddr SYSTEM:'echo port-8082' & pids+=($!)
nsenter -t "$net" -n socat TCP4-LISTEN:8083,bind=10.99.0.3,fork,reuseaddr SYSTEM:'echo addr-3-port-8083' & pids+=($!)
nsenter -t "$net" -n socat TCP4-LISTEN:8083,bind=10.99.0.2,fork,reuseaddr SYSTEM:'echo addr-2-port-8083' & pids+=($!)
nsenter -t "$net" -n socat TCP4-LISTEN:8081,fork,reuseaddr SYSTEM:'echo must-not-see' & pids+=($!)
nsenter -t "$net" -n socat TCP6-LISTEN:8086,fork,reuseaddr SYSTEM:'echo ipv6-8086' & pids+=($!)

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
nsenter -t "$host" -n "$proxy" run --config "$dir/host.yaml" > "$dir/host.log" 2>&1 & pids+=($!)

# enclave side: transparent listener + the rules pf-proxy prints
cat > "$dir/enclave.yaml" <<YAML
forwards:
  - name: egress
    mode: transparent
    listen: "tcp:[::]:3128"
    connect: unix:$dir/egress.sock
YAML
nsenter -t "$enc" -n "$proxy" run --config "$dir/enclave.yaml" > "$dir/enclave.log" 2>&1 & pids+=($!)
nsenter -t "$enc" -n "$proxy" rules --egress-port 3128 $nft_flag --apply
# Applying again (a restarted service) changes nothing.
nsenter -t "$enc" -n "$proxy" rules --egress-port 3128 $nft_flag --apply
routes=$(nsenter -t "$enc" -n ip route show table all)
grep -q '^local default dev lo' <<< "$routes" || fail "no local default route after --apply: $routes"
if [ "$firewall" = nft ]; then
  n=$(nsenter -t "$enc" -n nft list ruleset | grep -c 'redirect to :3128')
else
  n=$( (nsenter -t "$enc" -n iptables -t nat -S OUTPUT; nsenter -t "$enc" -n ip6tables -t nat -S OUTPUT) | grep -c 'REDIRECT')
fi
[ "$n" = 2 ] || fail "after two --apply: $n redirect rules, want one a family"

for i in $(seq 50); do
  [ -S "$dir/egress.sock" ] && nsenter -t "$enc" -n "$proxy" rules --egress-port 3128 >/dev/null && \
    nsenter -t "$net" -n sh -c 'ss -ltn | grep -q 8086' && nsenter -t "$enc" -n sh -c 'ss -ltn | grep -q 3128' && break
  sleep 0.1
done

# IPv6 neighbour discovery on a fresh veth can take a moment: wait until the host reaches the internet ns.
for i in $(seq 50); do
  [ "$(nsenter -t "$host" -n socat -T 2 - TCP6:[fd99::2]:8086 </dev/null 2>/dev/null)" = ipv6-8086 ] && break
  sleep 0.1
done
inside() { nsenter -t "$enc" -n "$@"; }
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
metrics=$(nsenter -t "$host" -n socat -T 5 - TCP:127.0.0.1:9101 <<< $'GET /metrics HTTP/1.0\r\n\r\n')
grep -q 'pf_proxy_errors_total{forward="egress",kind="policy"} 1' <<< "$metrics" || fail "policy metric: $metrics"
echo "netns transparent egress ($firewall): all checks passed"
