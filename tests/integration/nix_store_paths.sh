#!/usr/bin/env bash
# What lets a Nix build (inputs under /nix/store/HASH-NAME/…) give the same
# EIF as a build from a checkout: the image records its inputs by sha256, not
# by path. One spec's inputs at relative paths and at absolute store-like
# paths: the EIFs and PCRs are byte-identical, no path appears in either EIF,
# and only the lock and provenance (which name the paths) differ.
source "$(dirname "$0")/lib.sh"

head -c 100000 /dev/urandom > "$TMP/kernel.bin"
head -c 5000 /dev/urandom > "$TMP/init.bin"
printf 'init: {}\n' > "$TMP/init.yaml"
mkdir -p "$TMP/root/etc" && echo hello > "$TMP/root/etc/motd"

spec() {  # KERNEL INIT-BINARY INIT-CONFIG ROOT
  cat <<YAML
name: paths
version: "1.0"
source_date_epoch: 1700000000
kernel: {path: $1}
rootfs:
  - directory: $4
  - file: $1
    dest: /boot/kernel
cmd: ["/bin/sh"]
runtimes:
  init: {binary: $2, config: $3}
YAML
}

# A checkout-like layout with relative paths ...
mkdir -p "$TMP/one/specs/in"
cp -r "$TMP/kernel.bin" "$TMP/init.bin" "$TMP/init.yaml" "$TMP/root" "$TMP/one/specs/in/"
spec in/kernel.bin in/init.bin in/init.yaml in/root > "$TMP/one/specs/paths.yaml"
# ... and a store-like one with absolute paths, one directory per input.
S="$TMP/nix/store"
mkdir -p "$S/aaaa-linux" "$S/bbbb-init/bin" "$S/cccc-config" "$S/dddd-rootfs"
cp "$TMP/kernel.bin" "$S/aaaa-linux/bzImage"; cp "$TMP/init.bin" "$S/bbbb-init/bin/init"
cp "$TMP/init.yaml" "$S/cccc-config/init.yaml"; cp -r "$TMP/root/." "$S/dddd-rootfs/"
mkdir -p "$TMP/two"
spec "$S/aaaa-linux/bzImage" "$S/bbbb-init/bin/init" "$S/cccc-config/init.yaml" "$S/dddd-rootfs" > "$TMP/two/spec.json"

# rbuild refuses a dynamic init; random bytes have no ELF interpreter, so they pass as "static".
( cd "$TMP/one" && "$RBUILD" lock specs/paths.yaml >/dev/null && "$RBUILD" build specs/paths.yaml -o out >/dev/null ) ||
  fail "build with relative paths"
( cd "$TMP/two" && "$RBUILD" lock spec.json -o lock.json >/dev/null &&
  "$RBUILD" build spec.json --lock lock.json -o out >/dev/null ) || fail "build with store paths"

cmp "$TMP/one/out/paths.eif" "$TMP/two/out/paths.eif" || fail "the EIFs differ although every input byte is the same"
cmp "$TMP/one/out/paths.pcrs.json" "$TMP/two/out/paths.pcrs.json" || fail "pcrs.json differs"
for eif in "$TMP/one/out/paths.eif" "$TMP/two/out/paths.eif"; do
  ! grep -qaF -e "$TMP" -e "in/kernel.bin" -e "bzImage" "$eif" || fail "$eif holds a host path"
done
pass "same inputs at other paths: byte-identical EIF, no path inside it"

# The metadata names each input by the sha256 the lock holds for it.
"$RBUILD" describe "$TMP/two/out/paths.eif" > "$TMP/describe.json" || true
k=$(sha256sum < "$TMP/kernel.bin" | cut -c1-64)
grep -qF "\"sha256:$k\"" "$TMP/describe.json" || fail "metadata does not name the kernel by its sha256 $k"
grep -qF "\"sha256:$(sha256sum < "$TMP/init.bin" | cut -c1-64)\"" "$TMP/describe.json" || fail "metadata lacks init's sha256"

# The lock and provenance do name the paths, so they differ.
grep -qF "$S/aaaa-linux/bzImage" "$TMP/two/lock.json" || fail "the lock does not name the store path"
grep -qF "$S/aaaa-linux/bzImage" "$TMP/two/out/paths.provenance.json" || fail "the provenance does not name the store path"
! cmp -s "$TMP/one/out/paths.provenance.json" "$TMP/two/out/paths.provenance.json" || fail "the provenances should differ (paths)"
( cd "$TMP/two" && "$RBUILD" verify out/paths.eif --rebuild >/dev/null ) || fail "verify --rebuild with store paths"
pass "lock and provenance name the store paths; verify --rebuild holds"
