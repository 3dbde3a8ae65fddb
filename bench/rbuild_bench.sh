#!/usr/bin/env bash
# rbuild benchmarks. Each figure is a ratio against a baseline measured in the
# same run on the same data:
#   1. build of a spec with a SIZE_MIB synthetic rootfs  vs  read + sha256 + write of the same bytes
#   2. no-op rebuild (nothing changed)                   vs  the goal of 50 ms (absolute)
#   3. rbuild describe of the resulting EIF              vs  openssl dgst -sha384 of it
#   4. ramdisk packing (rbuild build of the tree)        vs  find | sort | cpio -o -H newc --reproducible
# Usage: bench/rbuild_bench.sh [BUILD_DIR] [SIZE_MIB]   (defaults: build, 1024)
set -euo pipefail
BUILD=${1:-build}; SIZE=${2:-1024}
RBUILD=$(realpath "$BUILD/builder/rbuild")
W=$(mktemp -d /var/tmp/rbuild-bench-XXXXXX); trap 'rm -rf "$W"' EXIT
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

echo "== preparing a ${SIZE} MiB rootfs in 2000 files"
mkdir -p "$W/specs/root" "$W/specs/in"
per=$(( SIZE * 1024 * 1024 / 2000 ))
for i in $(seq 0 1999); do
  d="$W/specs/root/d$((i % 40))"; mkdir -p "$d"
  head -c "$per" /dev/urandom > "$d/f$i"
done
head -c 8000000 /dev/urandom > "$W/specs/in/kernel"; head -c 1000 /dev/urandom > "$W/specs/in/init"
cat > "$W/specs/b.yaml" <<'YAML'
name: b
version: "1"
source_date_epoch: 0
kernel: {path: in/kernel}
init: in/init
rootfs:
  - directory: root
cmd: ["/bin/true"]
YAML
cd "$W"; sync
cat specs/root/*/* > /dev/null   # warm the page cache for both sides alike

t0=$(now); find specs/root -type f | LC_ALL=C sort | xargs cat | tee "$W/baseline.bin" | sha256sum >/dev/null; sync; t1=$(now)
base=$(secs "$t0" "$t1"); rm -f "$W/baseline.bin"
"$RBUILD" lock specs/b.yaml -o b.lock >/dev/null
t0=$(now); "$RBUILD" build specs/b.yaml --lock b.lock -o out --cache "$W/cache" >/dev/null; sync; t1=$(now)
build=$(secs "$t0" "$t1")
echo "1. build ${SIZE} MiB: $(printf %.2f "$build") s; read+sha256+write: $(printf %.2f "$base") s; ratio $(ratio "$build" "$base") (goal <= 1.3)"

t0=$(now); "$RBUILD" build specs/b.yaml --lock b.lock -o out --cache "$W/cache" >/dev/null; t1=$(now)
noop=$(secs "$t0" "$t1")
echo "2. no-op rebuild: $(printf %.0f "$(echo "$noop * 1000" | bc -l)") ms (goal <= 50 ms)"

# Alternating, best of 3 each (the machine may be shared); the load average is
# printed beside the figure. describe hashes on both cores (PCR0 and PCR1/PCR2
# are two SHA-384 passes), so on a loaded machine its wall time grows with its
# CPU time: compare at low load.
dg=999999; ds=999999
for i in 1 2 3; do
  t0=$(now); openssl dgst -sha384 out/b.eif >/dev/null; t1=$(now); x=$(secs "$t0" "$t1")
  [ "$(echo "$x < $dg" | bc -l)" = 1 ] && dg=$x
  t0=$(now); "$RBUILD" describe out/b.eif >/dev/null; t1=$(now); x=$(secs "$t0" "$t1")
  [ "$(echo "$x < $ds" | bc -l)" = 1 ] && ds=$x
done
echo "3. describe: $(printf %.2f "$ds") s; openssl dgst -sha384: $(printf %.2f "$dg") s; ratio $(ratio "$ds" "$dg") (goal <= 1.05; best of 3, load $(cut -d' ' -f1-3 /proc/loadavg))"

cd specs/root
t0=$(now); find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet > "$W/gnu.cpio"; t1=$(now); cpio_s=$(secs "$t0" "$t1")
cd "$W"
"$RBUILD" extract out/b.eif x --no-trees >/dev/null
echo "4. packing: rbuild build (includes hashing, PCRs, CRC) $(printf %.2f "$build") s vs GNU cpio alone $(printf %.2f "$cpio_s") s; ratio $(ratio "$build" "$cpio_s")"
echo "   ramdisk sizes: rbuild $(stat -c %s x/ramdisk-1.cpio) bytes, GNU cpio $(stat -c %s gnu.cpio) bytes"
