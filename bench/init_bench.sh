#!/usr/bin/env bash
# Benchmarks for init (docs/init.md "Benchmarks"):
#  1. boot-to-service-ready under QEMU (TCG): our init vs a minimal shell-script
#     init on the same kernel and rootfs (ratio printed);
#  2. supervision overhead: CPU time of an idle init with 5 services over
#     BENCH_IDLE_SECONDS (default 60);
#  3. restart latency: from a service's exit being seen to its next start, with
#     zero backoff, vs a shell loop's fork+exec+wait of the same program.
# usage: bench/init_bench.sh [BUILD_DIR]     (BENCH_RUNS=3 BENCH_IDLE_SECONDS=60)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
INIT=$build/runtime/init
INITCTL=$build/runtime/initctl-static
runs=${BENCH_RUNS:-3}
idle_seconds=${BENCH_IDLE_SECONDS:-60}
. "$root/tests/e2e/init_qemu_lib.sh"

now_ms() { date +%s%3N; }

# time_to_marker: boots $work/initrd and prints ms until "BENCH-READY" is on the console.
time_to_marker() {
  local start fifo pid elapsed=""
  fifo=$work/fifo
  rm -f "$fifo"
  mkfifo "$fifo"
  start=$(now_ms)
  qemu-system-x86_64 -M pc -m 512 -nographic -no-reboot -kernel "$kernel" -initrd "$work/initrd" \
    -append "console=ttyS0 panic=-1 quiet ef.local" >"$fifo" 2>&1 &
  pid=$!
  while IFS= read -r line; do
    if [[ $line == *BENCH-READY* ]]; then
      elapsed=$(($(now_ms) - start))
      break
    fi
  done <"$fifo"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "${elapsed:-timeout}"
}

pack() {
  (cd "$work/r1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$work/rd1"
  (cd "$work/r2" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$work/rd2"
  cat "$work/rd1" "$work/rd2" >"$work/initrd"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== boot to service ready (QEMU TCG, $runs runs each, median)"
new_image
cat >"$work/r2/rootfs/etc/init.yaml" <<'YAML'
services:
  app:
    exec: /bin/sh
    args: [-c, "echo BENCH-READY; exec sleep 1000"]
YAML
pack
ours=$(for _ in $(seq "$runs"); do time_to_marker; done | median)

new_image
mkdir -p "$work/r1/bin"
cp /bin/busybox "$work/r1/bin/busybox"
cat >"$work/r1/init" <<'SH'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t proc proc /rootfs/proc
exec /bin/busybox chroot /rootfs /bin/sh -c 'echo BENCH-READY; exec sleep 1000' </dev/console >/dev/console 2>&1
SH
chmod +x "$work/r1/init"
pack
shell=$(for _ in $(seq "$runs"); do time_to_marker; done | median)
echo "our init:          ${ours} ms"
echo "shell-script init: ${shell} ms"
awk -v a="$ours" -v b="$shell" 'BEGIN {printf "ratio ours/shell:  %.3f\n", a / b}'

echo "== supervision overhead (idle init, 5 services, ${idle_seconds} s)"
cfg=$work/idle.yaml
{
  echo "control: {socket: $work/idle.sock, vsock_port: 0}"
  echo "log_dir: $work/log"
  echo "services:"
  for i in 1 2 3 4 5; do echo "  s$i: {exec: /bin/sleep, args: ['3600']}"; done
} >"$cfg"
unshare --pid --fork --mount --mount-proc --kill-child "$INIT" --mode namespace --config "$cfg" >/dev/null 2>&1 &
ns_pid=$!
sleep 1
init_pid=$(cat /proc/$ns_pid/task/$ns_pid/children | awk '{print $1}')
ticks() { awk '{print $14 + $15}' "/proc/$init_pid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$idle_seconds"
t1=$(ticks)
kill -TERM "$init_pid"
wait "$ns_pid" || true
awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$idle_seconds" \
  'BEGIN {ms = d * 1000 / hz; printf "init CPU: %.0f ms over %d s (%.4f%% of one core)\n", ms, s, ms / (s * 10)}'

echo "== restart latency (zero backoff, 300 restarts)"
cfg=$work/restart.yaml
cat >"$cfg" <<YAML
control: {socket: $work/restart.sock, vsock_port: 0}
log_dir: $work/log
services:
  flap:
    exec: /bin/busybox
    args: [sh, -c, "exit 1"]
    backoff: {initial: 0ms, maximum: 0ms}
    restart_limit: {count: 300, window: 1h}
YAML
EF_LOG_FORMAT=json unshare --pid --fork --mount --mount-proc --kill-child "$INIT" --mode namespace \
  --config "$cfg" >"$work/restart.log" 2>&1 &
ns_pid=$!
for _ in $(seq 300); do
  grep -q "giving up" "$work/restart.log" && break
  sleep 0.1
done
init_pid=$(cat /proc/$ns_pid/task/$ns_pid/children | awk '{print $1}')
kill -TERM "$init_pid"
wait "$ns_pid" || true
python3 - "$work/restart.log" <<'PY'
import json, sys, datetime, statistics
def ms(ts): return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
exited, gaps, cycles, last_start = None, [], [], None
for line in open(sys.argv[1]):
    try: r = json.loads(line)
    except ValueError: continue
    m = r.get("msg", "")
    if m.startswith("service flap exited"): exited = ms(r["ts"])
    elif m.startswith("started service flap"):
        t = ms(r["ts"])
        if exited is not None: gaps.append(t - exited)
        if last_start is not None: cycles.append(t - last_start)
        last_start = t
gaps.sort(); cycles.sort()
print(f"restarts: {len(gaps)}; exit seen -> next start: median {statistics.median(gaps):.1f} ms, "
      f"p99 {gaps[int(len(gaps) * 0.99) - 1]:.1f} ms")
print(f"full cycle (start -> exit -> start): median {statistics.median(cycles):.2f} ms")
with open(sys.argv[1] + ".cycle", "w") as f: f.write(str(statistics.median(cycles)))
PY
start=$(now_ms)
for _ in $(seq 300); do /bin/busybox sh -c "exit 1" || true; done
loop=$(($(now_ms) - start))
awk -v l="$loop" -v c="$(cat "$work/restart.log.cycle")" \
  'BEGIN {printf "shell loop fork+exec+wait: %.2f ms per run; ratio init cycle/shell loop: %.2f\n", l / 300, c / (l / 300)}'
