#!/usr/bin/env bash
# Ramdisk packing speed: rbuild's cpio writer against GNU cpio on one generated
# tree, both measured in this run (best of 3 after a warm-up, page cache hot).
#   bench/cpio_pack.sh BUILD_DIR [TOTAL_MIB=200] [FILES=2000]
# BUILD_DIR must contain builder/cpio_pack_bench (cmake --build BUILD_DIR --target cpio_pack_bench).
set -euo pipefail
build=$(cd "${1:?usage: bench/cpio_pack.sh BUILD_DIR [TOTAL_MIB] [FILES]}" && pwd)
mib=${2:-200}
files=${3:-2000}
bin="$build/builder/cpio_pack_bench"
[ -x "$bin" ] || { echo "missing $bin; build the cpio_pack_bench target" >&2; exit 1; }
command -v cpio >/dev/null || { echo "GNU cpio not installed (scripts/setup)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree"
size=$(( mib * 1024 * 1024 / files ))
head -c $(( size * files )) /dev/urandom | split -b "$size" -a 5 -d - "$work/tree/f"
for i in $(seq 0 19); do mkdir -p "$work/tree/d$i"; done
i=0
for f in "$work"/tree/f*; do mv "$f" "$work/tree/d$(( i % 20 ))/"; i=$(( i + 1 )); done

now_ms() { date +%s%3N; }
best_of_3() {  # prints the best wall time in ms of running "$@" three times
  local best=999999999 t0 t1
  "$@" >/dev/null  # warm-up
  for _ in 1 2 3; do
    t0=$(now_ms); "$@" >/dev/null; t1=$(now_ms)
    (( t1 - t0 < best )) && best=$(( t1 - t0 ))
  done
  echo "$best"
}
gnu() { (cd "$work/tree" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet > "$work/gnu.cpio"); }
ours() { "$bin" "$work/tree" "$work/ours.cpio"; }

gnu_ms=$(best_of_3 gnu)
ours_ms=$(best_of_3 ours)
# Same entries and contents: the listings (names, sizes) must agree.
diff <(cpio -itv --quiet < "$work/gnu.cpio" | awk '{print $5, $NF}') \
     <(cpio -itv --quiet < "$work/ours.cpio" | awk '{print $5, $NF}') >/dev/null \
  || { echo "archives differ in content" >&2; exit 1; }
echo "tree: $files files, $mib MiB ($(du -sh "$work/tree" | cut -f1))"
echo "GNU cpio -o -H newc --reproducible: ${gnu_ms} ms"
echo "rbuild write_cpio:                  ${ours_ms} ms"
awk -v g="$gnu_ms" -v o="$ours_ms" 'BEGIN { printf "ratio GNU/rbuild: %.2fx (above 1 = rbuild faster)\n", g / (o > 0 ? o : 1) }'
