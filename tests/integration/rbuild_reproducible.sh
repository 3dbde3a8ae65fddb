#!/usr/bin/env bash
# Reproducibility: one spec built twice in different directories, under a
# different TZ, LANG, umask and clock (faketime), with the inputs created in a
# different order and with different mtimes, gives identical EIF and provenance.
source "$(dirname "$0")/lib.sh"

make_workspace() {  # DIR ORDER(forward|reverse) UMASK MTIME
  local dir=$1 order=$2 mask=$3 mtime=$4
  ( umask "$mask"
    mkdir -p "$dir/specs/inputs/root" "$dir/lockfiles"
    cp "$TMP/kernel.bin" "$TMP/init.bin" "$TMP/layer.tar.gz" "$dir/specs/inputs/"
    names=(a.txt b/c.txt b/d/e.bin z.sh)
    [ "$order" = reverse ] && names=(z.sh b/d/e.bin b/c.txt a.txt)
    for n in "${names[@]}"; do
      mkdir -p "$dir/specs/inputs/root/$(dirname "$n")"
      printf 'content of %s\n' "$n" > "$dir/specs/inputs/root/$n"
    done
    chmod +x "$dir/specs/inputs/root/z.sh"
    ln -s a.txt "$dir/specs/inputs/root/link"
    ln "$dir/specs/inputs/root/a.txt" "$dir/specs/inputs/root/hard"
    find "$dir/specs/inputs" -exec touch -h -d "$mtime" {} +
    cat > "$dir/specs/repro.yaml" <<'YAML'
name: repro
version: "1.2.3"
resources: {cpus: 2, memory: 256}
source_date_epoch: 1700000000
kernel: {path: inputs/kernel.bin}
init: inputs/init.bin
rootfs:
  - directory: inputs/root
  - tar: inputs/layer.tar.gz
    dest: /opt
  - dir: /tmp
    mode: "1777"
  - symlink: /bin/sh
    target: busybox
  - device: /dev/console
    type: char
    major: 5
    minor: 1
cmd: ["/bin/sh", "-c", "echo hi"]
env: ["A=1", "B=two words"]
YAML
  )
}

head -c 100000 /dev/urandom > "$TMP/kernel.bin"
head -c 5000 /dev/urandom > "$TMP/init.bin"
mkdir -p "$TMP/tarsrc/pkg" && echo data > "$TMP/tarsrc/pkg/file" && \
  tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$TMP/tarsrc" -czf "$TMP/layer.tar.gz" pkg

make_workspace "$TMP/one" forward 022 "2001-01-01 00:00"
make_workspace "$TMP/two/deeper" reverse 077 "2020-06-06 12:34"

( cd "$TMP/one" && TZ=UTC LANG=C umask 022 && "$RBUILD" lock specs/repro.yaml >/dev/null &&
  TZ=UTC LANG=C "$RBUILD" build specs/repro.yaml -o out --cache "$TMP/cache1" >/dev/null )
( cd "$TMP/two/deeper" && umask 077 && TZ=Asia/Tokyo LANG=de_DE.UTF-8 "$RBUILD" lock specs/repro.yaml >/dev/null &&
  TZ=Asia/Tokyo LANG=de_DE.UTF-8 faketime '2031-03-03 03:03:03' \
    "$RBUILD" build specs/repro.yaml -o out --cache "$TMP/cache2" >/dev/null )

for f in repro.eif repro.provenance.json repro.pcrs.json; do
  a=$(sha256sum < "$TMP/one/out/$f"); b=$(sha256sum < "$TMP/two/deeper/out/$f")
  [ "$a" = "$b" ] || fail "$f differs between the two builds"
done
cmp "$TMP/one/lockfiles/repro.lock.json" "$TMP/two/deeper/lockfiles/repro.lock.json" || fail "locks differ"
pass "EIF, PCRs and provenance identical across directory, TZ, LANG, umask, clock, input order and mtimes"

# The warm cache gives the same bytes as a cold one.
( cd "$TMP/one" && "$RBUILD" build specs/repro.yaml -o out2 --cache "$TMP/cache1" >/dev/null )
cmp "$TMP/one/out/repro.eif" "$TMP/one/out2/repro.eif" || fail "a cached rebuild differs"
pass "cached rebuild identical"

# The ramdisk has what the spec asked for, as GNU cpio lists it.
( cd "$TMP/one" && "$RBUILD" verify out/repro.eif --rebuild --cache "$TMP/cache1" >/dev/null ) || fail "verify --rebuild"
( cd "$TMP/one" && "$RBUILD" verify out2/repro.eif --rebuild --cache "$TMP/cache1" >/dev/null ) || fail "verify --rebuild (out2)"
( cd "$TMP/two/deeper" && "$RBUILD" verify out/repro.eif --rebuild --cache "$TMP/cache2" >/dev/null ) ||
  fail "verify --rebuild (second workspace)"
pass "verify --rebuild of every image built here"

# No-op rebuild: nothing changed → nothing rebuilt; any change → rebuilt or refused.
cd "$TMP/one"
"$RBUILD" build specs/repro.yaml -o out --cache "$TMP/cache1" | grep -q '^up to date: repro' || fail "no-op rebuild rebuilt"
touch out/repro.eif
"$RBUILD" build specs/repro.yaml -o out --cache "$TMP/cache1" | grep -q '^built repro' || fail "touched output not rebuilt"
cmp out/repro.eif out2/repro.eif || fail "rebuild after touch differs"
# An input edited in place with its mtime restored is still caught (ctime).
f=specs/inputs/root/a.txt; m=$(stat -c %y "$f"); echo tampered >> "$f"; touch -d "$m" "$f"
expect_fail 'rootfs\[0\]: inputs/root has sha256' "$RBUILD" build specs/repro.yaml -o out --cache "$TMP/cache1"
pass "no-op rebuild skipped; touched output rebuilt; in-place edit with restored mtime refused"
