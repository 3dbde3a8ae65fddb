#!/usr/bin/env bash
# pf-proxy benchmark: one TCP→TCP forward hop compared, in the same run, with
# direct loopback TCP, with HAProxy (TCP mode, `option splice-auto`, 2 threads:
# the anchor of issue 12) and with socat doing the same forwarding.
#   throughput: 1 stream and 100 streams to a sink; latency: 64-byte echo round trips;
#   memory: RSS of pf-proxy and of HAProxy holding N idle forwarded connections.
# pf-proxy and HAProxy are measured alternately, PF_BENCH_RUNS rounds (best kept),
# so that the load of a shared machine falls on both alike; the load average is
# printed beside the figures.
# Goals (issue 12): throughput >= 1.0x HAProxy at <= its CPU-s/GiB, p99 <= HAProxy's.
# usage: bench/netproxy.sh [BUILD_DIR]   (needs socat and haproxy; prints a table)
set -euo pipefail
build=$(realpath "${1:-build}")
proxy=$build/netproxy/pf-proxy; peer=$build/netproxy/pf-peer
bytes=${PF_BENCH_BYTES:-2147483648}     # 2 GiB per throughput run
idle=${PF_BENCH_IDLE:-10000}            # idle connections held; each costs a forwarder 2 fds
runs=${PF_BENCH_RUNS:-3}                # alternating rounds, best kept
command -v haproxy >/dev/null || { echo "bench/netproxy.sh needs haproxy (scripts/setup installs it)" >&2; exit 1; }
dir=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
fail_log() { echo "blast through $1 failed" >&2; cat "$dir"/*.log >&2; }
# A forwarder holding N connections needs 2N descriptors (HAProxy also keeps
# spare splice pipes: maxpipes below). Both raise their own fd limit, past the
# hard limit only with CAP_SYS_RESOURCE; without it the hard limit caps N.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ $((idle * 2 + 700)) -gt "$hard" ] && ! (ulimit -Hn $((idle * 2 + 700))) 2>/dev/null; then
  echo "note: hard RLIMIT_NOFILE is $hard and cannot be raised (no CAP_SYS_RESOURCE): idle test capped at $(((hard - 700) / 2)) of $idle connections"
  idle=$(((hard - 700) / 2))
fi
ulimit -n "$(ulimit -Hn)"
addr_of() { for i in $(seq 50); do grep -q listening "$1" && break; sleep 0.1; done; awk '/listening/ {print $2}' "$1"; }

"$peer" sink tcp:127.0.0.1:0 > "$dir/sink.log" & pids+=($!)
"$peer" echo tcp:127.0.0.1:0 > "$dir/echo.log" & pids+=($!)
sink=$(addr_of "$dir/sink.log"); echo_addr=$(addr_of "$dir/echo.log")
# six consecutive ports below the ephemeral range, unused in any state
while :; do
  base=$((20000 + RANDOM % 12000))
  ss -Htan | awk '{print $4}' | grep -Eq ":($base|$((base + 1))|$((base + 2))|$((base + 3))|$((base + 4))|$((base + 5)))\$" || break
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
cat > "$dir/haproxy.cfg" <<CFG
global
  nbthread 2
  maxconn $((idle + 50))
  maxpipes 256
defaults
  mode tcp
  option splice-auto
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend sink
  bind 127.0.0.1:$((base + 4))
  default_backend sink
backend sink
  server s1 $sink
frontend echo
  bind 127.0.0.1:$((base + 5))
  default_backend echo
backend echo
  server e1 $echo_addr
CFG
haproxy -db -f "$dir/haproxy.cfg" > "$dir/haproxy.log" 2>&1 & haproxy_pid=$!; pids+=($haproxy_pid)
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

load() { cut -d' ' -f1 /proc/loadavg; }
best() {  # best NAME RATE CPU: keeps the highest rate (and its CPU-s/GiB) under NAME
  local r=${3}; local c=${4}
  if [ -z "${bestr[$1]:-}" ] || awk -v a="$r" -v b="${bestr[$1]}" 'BEGIN { exit !(a > b) }'; then
    bestr[$1]=$r; bestc[$1]=$c; bestl[$1]=$2
  fi
}
declare -A bestr bestc bestl
printf "%-30s %9s %9s %9s %9s %9s %9s\n" metric direct pf-proxy haproxy socat "pf/hap" "pf/direct"
for streams in 1 100; do
  for round in $(seq "$runs"); do
    gbit "$sink" $streams; best "d$streams" "$(load)" "$rate" "$last_cpu"
    gbit "127.0.0.1:$base" $streams "$proxy_pid"; best "p$streams" "$(load)" "$rate" "$last_cpu"
    gbit "127.0.0.1:$((base + 4))" $streams "$haproxy_pid"; best "h$streams" "$(load)" "$rate" "$last_cpu"
    [ "$round" = 1 ] && { gbit "127.0.0.1:$((base + 2))" $streams "$socat_pid"; best "s$streams" "$(load)" "$rate" "$last_cpu"; }
  done
  d=${bestr[d$streams]} p=${bestr[p$streams]} h=${bestr[h$streams]} s=${bestr[s$streams]}
  printf "%-30s %9s %9s %9s %9s %9s %9s\n" "throughput ${streams} stream(s) Gbit/s" "$d" "$p" "$h" "$s" "$(ratio "$p" "$h")" "$(ratio "$p" "$d")"
  dc=${bestc[d$streams]} pc=${bestc[p$streams]} hc=${bestc[h$streams]} sc=${bestc[s$streams]}
  printf "%-30s %9s %9s %9s %9s %9s %9s\n" "  CPU s/GiB, whole path" "$dc" "$pc" "$hc" "$sc" "$(ratio "$pc" "$hc")" "$(ratio "$pc" "$dc")"
  printf "%-30s %9s %9s %9s %9s\n" "  load average at best run" "${bestl[d$streams]}" "${bestl[p$streams]}" "${bestl[h$streams]}" "${bestl[s$streams]}"
done
# Latency: alternating rounds; the best p99 of each path is kept (with its p50).
rr() { lat "$1" | sed 's/count=\([0-9]*\) p50_us=\([0-9.]*\) p99_us=\([0-9.]*\)/\2 \3/'; }
declare -A p50 p99
for round in $(seq "$runs"); do
  for path in "d:$echo_addr" "p:127.0.0.1:$((base + 1))" "h:127.0.0.1:$((base + 5))" "s:127.0.0.1:$((base + 3))"; do
    k=${path%%:*}; read -r a b <<< "$(rr "${path#*:}")"
    if [ -z "${p99[$k]:-}" ] || awk -v x="$b" -v y="${p99[$k]}" 'BEGIN { exit !(x < y) }'; then p99[$k]=$b; p50[$k]=$a; fi
  done
done
printf "%-30s %9s %9s %9s %9s %9s %9s\n" "latency p50 us (64 B rr)" "${p50[d]}" "${p50[p]}" "${p50[h]}" "${p50[s]}" "$(ratio "${p50[p]}" "${p50[h]}")" "$(ratio "${p50[p]}" "${p50[d]}")"
printf "%-30s %9s %9s %9s %9s %9s %9s\n" "latency p99 us (64 B rr)" "${p99[d]}" "${p99[p]}" "${p99[h]}" "${p99[s]}" "$(ratio "${p99[p]}" "${p99[h]}")" "$(ratio "${p99[p]}" "${p99[d]}")"
echo "load average after latency: $(cut -d' ' -f1-3 /proc/loadavg)"

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hold() {  # hold PID PORT NAME: RSS of PID before and while $idle idle connections through PORT are open
  local pid=$1 port=$2 name=$3 before after open
  before=$(rss "$pid")
  rm -f "$dir/hold"; mkfifo "$dir/hold"
  "$peer" idle "tcp:127.0.0.1:$port" --count "$idle" < "$dir/hold" > "$dir/idle.log" 2>&1 & idle_pid=$!; pids+=($idle_pid)
  exec 9> "$dir/hold"
  for i in $(seq 300); do grep -q open= "$dir/idle.log" 2>/dev/null && break; sleep 0.1; done
  sleep 1
  after=$(rss "$pid"); open=$(sed -n 's/.*open=\([0-9]*\).*/\1/p' "$dir/idle.log")
  exec 9>&-
  wait "$idle_pid" || true
  echo "idle: $name held ${open:-?} of $idle connections; RSS ${before} KiB -> ${after} KiB ($(awk -v a="$after" -v b="$before" -v n="${open:-$idle}" 'BEGIN { printf "%.2f", (a - b) / n }') KiB per connection)"
}
hold "$proxy_pid" $((base + 1)) pf-proxy
sleep 2
hold "$haproxy_pid" $((base + 5)) haproxy
