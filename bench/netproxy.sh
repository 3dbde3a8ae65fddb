#!/usr/bin/env bash
# pf-proxy benchmark: one TCP→TCP forward hop compared, in the same run, with
# direct loopback TCP and with socat doing the same forwarding.
#   throughput: 1 stream and 100 streams to a sink; latency: 64-byte echo round trips;
#   memory: pf-proxy RSS holding N idle forwarded connections.
# usage: bench/netproxy.sh [BUILD_DIR]   (needs socat; prints a table)
set -euo pipefail
build=$(realpath "${1:-build}")
proxy=$build/netproxy/pf-proxy; peer=$build/netproxy/pf-peer
bytes=${PF_BENCH_BYTES:-4294967296}     # 4 GiB per throughput run
idle=${PF_BENCH_IDLE:-9000}             # the fd limit (ulimit -n) caps this; each costs pf-proxy 2 fds
dir=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
fail_log() { echo "blast through $1 failed" >&2; cat "$dir"/*.log >&2; }
ulimit -n "$(ulimit -Hn)"
addr_of() { for i in $(seq 50); do grep -q listening "$1" && break; sleep 0.1; done; awk '/listening/ {print $2}' "$1"; }

"$peer" sink tcp:127.0.0.1:0 > "$dir/sink.log" & pids+=($!)
"$peer" echo tcp:127.0.0.1:0 > "$dir/echo.log" & pids+=($!)
sink=$(addr_of "$dir/sink.log"); echo_addr=$(addr_of "$dir/echo.log")
# four consecutive ports below the ephemeral range, unused in any state
while :; do
  base=$((20000 + RANDOM % 12000))
  ss -Htan | awk '{print $4}' | grep -Eq ":($base|$((base + 1))|$((base + 2))|$((base + 3)))\$" || break
done
cat > "$dir/pf.yaml" <<YAML
workers: 2
forwards:
  - {name: sink, mode: forward, listen: "tcp:127.0.0.1:$base", connect: "tcp:$sink", max_connections: 100000}
  - {name: echo, mode: forward, listen: "tcp:127.0.0.1:$((base + 1))", connect: "tcp:$echo_addr", max_connections: 100000}
YAML
"$proxy" run --config "$dir/pf.yaml" 2> "$dir/proxy.log" & proxy_pid=$!; pids+=($proxy_pid)
socat TCP-LISTEN:$((base + 2)),fork,reuseaddr,backlog=1024 TCP:$sink & pids+=($!)
socat TCP-LISTEN:$((base + 3)),fork,reuseaddr,backlog=1024 TCP:$echo_addr & pids+=($!)
sleep 0.5

# CPU cost: on two cores the blast, the sink and a forwarder compete for the same
# CPUs, so besides Gbit/s each path reports the CPU seconds (user+sys of every
# process on it, socat's forked children included) spent per GiB moved.
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
sink_pid=${pids[0]}; socat_pid=${pids[3]}
last_cpu=0 rate=0
gbit() {
  local fwd=${3:-} s0 f0 t
  s0=$(ticks "$sink_pid"); f0=0; [ -n "$fwd" ] && f0=$(ticks "$fwd")
  TIMEFORMAT='%U %S'
  { time "$peer" blast "tcp:$1" --bytes "$bytes" --streams "$2" > "$dir/blast.out"; } 2> "$dir/time.out" || fail_log "$1"
  t=$(tail -1 "$dir/time.out")
  rate=$(sed -n 's/.*gbit_per_s=\([0-9.]*\).*/\1/p' "$dir/blast.out")
  local s1 f1; s1=$(ticks "$sink_pid"); f1=0; [ -n "$fwd" ] && f1=$(ticks "$fwd")
  last_cpu=$(awk -v t="$t" -v s=$((s1 - s0)) -v f=$((f1 - f0)) -v b="$bytes" \
    'BEGIN { split(t, u, " "); printf "%.3f", (u[1] + u[2] + (s + f) / 100) / (b / 1073741824) }')
}
lat() { "$peer" rr "tcp:$1" --count 20000; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

printf "%-28s %10s %10s %10s %12s %12s\n" metric direct pf-proxy socat "pf/direct" "pf/socat"
for streams in 1 100; do
  gbit "$sink" $streams; d=$rate dc=$last_cpu
  gbit "127.0.0.1:$base" $streams "$proxy_pid"; p=$rate pc=$last_cpu
  gbit "127.0.0.1:$((base + 2))" $streams "$socat_pid"; s=$rate sc=$last_cpu
  printf "%-28s %10s %10s %10s %12s %12s\n" "throughput ${streams} stream(s) Gbit/s" "$d" "$p" "$s" "$(ratio "$p" "$d")" "$(ratio "$p" "$s")"
  printf "%-28s %10s %10s %10s %12s %12s\n" "  CPU s/GiB, whole path" "$dc" "$pc" "$sc" "$(ratio "$pc" "$dc")" "$(ratio "$pc" "$sc")"
done
read -r _ d50 d99 <<< "$(lat "$echo_addr" | sed 's/count=\([0-9]*\) p50_us=\([0-9.]*\) p99_us=\([0-9.]*\)/\1 \2 \3/')"
read -r _ p50 p99 <<< "$(lat "127.0.0.1:$((base + 1))" | sed 's/count=\([0-9]*\) p50_us=\([0-9.]*\) p99_us=\([0-9.]*\)/\1 \2 \3/')"
read -r _ s50 s99 <<< "$(lat "127.0.0.1:$((base + 3))" | sed 's/count=\([0-9]*\) p50_us=\([0-9.]*\) p99_us=\([0-9.]*\)/\1 \2 \3/')"
printf "%-28s %10s %10s %10s %12s %12s\n" "latency p50 us (64 B rr)" "$d50" "$p50" "$s50" "$(ratio "$p50" "$d50")" "$(ratio "$p50" "$s50")"
printf "%-28s %10s %10s %10s %12s %12s\n" "latency p99 us (64 B rr)" "$d99" "$p99" "$s99" "$(ratio "$p99" "$d99")" "$(ratio "$p99" "$s99")"

rss() { awk '/VmRSS/ {print $2}' "/proc/$proxy_pid/status"; }
before=$(rss)
mkfifo "$dir/hold"
"$peer" idle "tcp:127.0.0.1:$((base + 1))" --count "$idle" < "$dir/hold" > "$dir/idle.log" & idle_pid=$!; pids+=($idle_pid)
exec 9> "$dir/hold"
for i in $(seq 300); do grep -q open= "$dir/idle.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
after=$(rss)
exec 9>&-
wait "$idle_pid" || true
echo "idle: $idle connections held; pf-proxy RSS ${before} KiB -> ${after} KiB ($(awk -v a="$after" -v b="$before" -v n="$idle" 'BEGIN { printf "%.2f", (a - b) / n }') KiB per connection)"
