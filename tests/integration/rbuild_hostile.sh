#!/usr/bin/env bash
# Hostile inputs to rbuild: each gives a clear error (naming the file, entry or
# byte offset), never a crash, and nothing is written outside OUTDIR — nor a
# partial output inside it.
source "$(dirname "$0")/lib.sh"
V="$SRC/tests/vectors/eif_selfgenerated"

# --- damaged images: describe and verify name the byte offset -------------------
cp "$V/unsigned.eif" "$TMP/good.eif"
head -c 600 "$TMP/good.eif" > "$TMP/truncated.eif"
expect_fail 'truncated.eif: at byte offset [0-9]+' "$RBUILD" describe "$TMP/truncated.eif"
head -c 100 "$TMP/good.eif" > "$TMP/short.eif"
expect_fail 'short.eif: at byte offset 100: file too short' "$RBUILD" describe "$TMP/short.eif"
cp "$TMP/good.eif" "$TMP/flipped.eif"
printf '\xff' | dd of="$TMP/flipped.eif" bs=1 seek=700 conv=notrunc status=none
out=$("$RBUILD" describe "$TMP/flipped.eif" || true)
grep -q '"CheckCRC": false' <<<"$out" || fail "flipped byte not reported by CheckCRC"
expect_fail 'crc +FAIL' "$RBUILD" verify "$TMP/flipped.eif"
printf 'XXXX' | dd of="$TMP/flipped.eif" bs=1 seek=0 conv=notrunc status=none
expect_fail 'at byte offset 0: bad magic' "$RBUILD" describe "$TMP/flipped.eif"
head -c 5000 /dev/urandom > "$TMP/random.eif"
expect_fail 'random.eif: at byte offset 0' "$RBUILD" describe "$TMP/random.eif"
pass "damaged images rejected with offsets"

# --- a workspace whose spec points at a hostile tar layer -----------------------
workspace() {  # NAME TAR
  local ws="$TMP/ws-$1"
  mkdir -p "$ws/specs/in" "$ws/out"
  head -c 1000 /dev/urandom > "$ws/specs/in/kernel"
  head -c 100 /dev/urandom > "$ws/specs/in/init"
  cp "$2" "$ws/specs/in/layer.tar"
  cat > "$ws/specs/h.yaml" <<'YAML'
name: h
version: "1"
source_date_epoch: 0
kernel: {path: in/kernel}
init: in/init
rootfs:
  - tar: in/layer.tar
cmd: ["/bin/true"]
YAML
  echo "$ws"
}
# build_must_fail NAME TAR PATTERN: the build fails with PATTERN; no output, nothing outside OUTDIR/cache.
build_must_fail() {
  local ws; ws=$(workspace "$1" "$2")
  (cd "$ws" && "$RBUILD" lock specs/h.yaml >/dev/null)
  local before; before=$(cd "$TMP" && find . -path ./cache -prune -o -print | sort)
  ( cd "$ws" && expect_fail "$3" "$RBUILD" build specs/h.yaml -o out --cache "$TMP/cache" )
  local after; after=$(cd "$TMP" && find . -path ./cache -prune -o -print | sort)
  [ "$before" = "$after" ] || fail "$1: files appeared: $(diff <(echo "$before") <(echo "$after"))"
  [ -z "$(ls -A "$ws/out")" ] || fail "$1: partial output left in OUTDIR: $(ls -A "$ws/out")"
  pass "$1 refused"
}
mt() {  # NAME MTREE-LINES...: a tar made from an mtree description
  local name=$1; shift
  mkdir -p "$TMP/mt"; echo payload > "$TMP/mt/f"
  { echo '#mtree'; printf '%s\n' "$@"; } > "$TMP/mt/$name.mtree"
  (cd "$TMP/mt" && bsdtar -P -cf "$TMP/$name.tar" "@$name.mtree")
  echo "$TMP/$name.tar"
}
build_must_fail dotdot "$(mt dotdot './ok type=file contents=f' '../evil type=file contents=f')" 'layer.tar.*\.\.'
build_must_fail nested-dotdot "$(mt nested './a/../../evil type=file contents=f')" 'layer.tar.*\.\.'
build_must_fail device "$(mt device './dev/null type=char mode=0666 device=native,1,3')" 'layer.tar.*(device|character)'
head -c 20000 /dev/urandom > "$TMP/garbage.tar"
build_must_fail garbage "$TMP/garbage.tar" 'layer.tar'
tar -C "$TMP/mt" -cf "$TMP/big.tar" f && head -c 700 "$TMP/big.tar" > "$TMP/trunc.tar"
build_must_fail truncated-tar "$TMP/trunc.tar" 'layer.tar'

# A symlink pointing outside is inert data: it is kept verbatim and never followed.
ws=$(workspace symlink "$(mt symlink './esc type=link link=../../../../../etc' './esc2 type=link link=/etc')")
(cd "$ws" && "$RBUILD" lock specs/h.yaml >/dev/null && "$RBUILD" build specs/h.yaml -o out --cache "$TMP/cache" >/dev/null)
[ -f "$ws/out/h.eif" ] || fail "symlink layer did not build"
(cd "$ws" && "$RBUILD" verify out/h.eif --rebuild --cache "$TMP/cache" >/dev/null) || fail "symlink layer: verify --rebuild"
pass "outward symlinks stored, not followed"

# --- an input changed after locking: every mismatch listed, nothing written ----
ws=$(workspace drift "$TMP/big.tar")
(cd "$ws" && "$RBUILD" lock specs/h.yaml >/dev/null)
echo changed >> "$ws/specs/in/kernel"; echo changed >> "$ws/specs/in/init"
( cd "$ws" && expect_fail 'kernel: in/kernel has sha256 .*the lock says' "$RBUILD" build specs/h.yaml -o out )
( cd "$ws" && expect_fail 'init: in/init has sha256' "$RBUILD" build specs/h.yaml -o out )
( cd "$ws" && expect_fail '2 input\(s\) differ' "$RBUILD" build specs/h.yaml -o out )
[ -z "$(ls -A "$ws/out")" ] || fail "drift: output written despite lock mismatch"
pass "lock mismatches listed"

# --- spec errors name file, line and key -----------------------------------------
ws=$(workspace spec "$TMP/big.tar")
printf 'bogus_key: 1\n' >> "$ws/specs/h.yaml"
( cd "$ws" && expect_fail 'specs/h.yaml:9: bogus_key: unknown key' "$RBUILD" lock specs/h.yaml )
sed -i 's/^bogus_key: 1$/resources: {cpus: 0}/' "$ws/specs/h.yaml"
( cd "$ws" && expect_fail 'h.yaml:9: resources.cpus: value 0 out of range' "$RBUILD" lock specs/h.yaml )
pass "spec errors located"
