#!/usr/bin/env bash
# Layer inputs end to end through `rbuild build` (archives made with Python's
# tarfile, checksums computed by Python): the cache never decides the result,
# hostile tar headers are refused with what is wrong, names are escaped in
# human-readable output, and a tar item can be applied as an OCI layer.
source "$(dirname "$0")/lib.sh"

workspace() {  # DIR ITEM-YAML...: a spec "l" whose rootfs holds the given items
  local ws=$1; shift
  mkdir -p "$ws/specs/in"
  [ -f "$ws/specs/in/kernel" ] || head -c 2000 /dev/urandom > "$ws/specs/in/kernel"
  [ -f "$ws/specs/in/init" ] || head -c 100 /dev/urandom > "$ws/specs/in/init"
  { printf 'name: l\nversion: "1"\nsource_date_epoch: 0\nkernel: {path: in/kernel}\ninit: in/init\ncmd: ["/bin/true"]\nrootfs:\n'
    printf '  - %s\n' "$@"; } > "$ws/specs/l.yaml"
}
build() {  # DIR CACHE: lock and build; prints rbuild's output
  (cd "$1" && "$RBUILD" lock specs/l.yaml >/dev/null && "$RBUILD" build specs/l.yaml -o out --cache "$2" 2>&1)
}

# --- 2. docker-save archives: genuine, then tampered, with a warm and a cold cache
python3 - "$TMP" <<'PY'
import hashlib, io, json, sys, tarfile
d = sys.argv[1]
def tar_bytes(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in files:
            i = tarfile.TarInfo(name); i.size = len(data); i.mtime = 0
            t.addfile(i, io.BytesIO(data))
    return b.getvalue()
sha = lambda b: hashlib.sha256(b).hexdigest()
genuine = tar_bytes([("etc/motd", b"genuine\n")])
evil = tar_bytes([("etc/motd", b"EVIL!!!\n")])
def config(layer):
    return json.dumps({"architecture": "amd64", "os": "linux",
                       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(layer)]}}).encode()
def image(path, layer_member, cfg, cfg_name=None, manifest=None):
    cfg_name = cfg_name or sha(config(genuine)) + ".json"
    manifest = manifest or json.dumps([{"Config": cfg_name, "RepoTags": ["app:1"], "Layers": ["0123/layer.tar"]}]).encode()
    open(path, "wb").write(tar_bytes([("0123/layer.tar", layer_member), (cfg_name, cfg), ("manifest.json", manifest)]))
image(d + "/genuine.tar", genuine, config(genuine))
image(d + "/bad-layer.tar", evil, config(genuine))
image(d + "/bad-config.tar", evil, config(evil))            # the config vouches for the evil layer
image(d + "/bad-manifest.tar", evil, config(genuine),       # the manifest names the layer by a digest it lacks
      manifest=json.dumps([{"Config": sha(config(genuine)) + ".json", "Layers": ["blobs/sha256/" + sha(genuine)]}]).encode())
# (for bad-manifest the member is absent under that name: add it with the evil bytes)
b = io.BytesIO(open(d + "/bad-manifest.tar", "rb").read())
files = [(m.name, tarfile.open(fileobj=io.BytesIO(b.getvalue())).extractfile(m.name).read())
         for m in tarfile.open(fileobj=io.BytesIO(b.getvalue())).getmembers()]
files.append(("blobs/sha256/" + sha(genuine), evil))
open(d + "/bad-manifest.tar", "wb").write(tar_bytes(files))
image(d + "/absolute-config.tar", genuine, config(genuine), cfg_name="etc/passwd",
      manifest=json.dumps([{"Config": "/etc/passwd", "Layers": ["0123/layer.tar"]}]).encode())
PY
for kind in layer config manifest; do
  ws="$TMP/ws-$kind"; workspace "$ws" "{oci: in/image.tar, dest: /}"
  cp "$TMP/genuine.tar" "$ws/specs/in/image.tar"
  build "$ws" "$TMP/warm-$kind" >/dev/null || fail "$kind: genuine image did not build"
  (cd "$ws" && "$RBUILD" verify out/l.eif --rebuild --cache "$TMP/warm-$kind" >/dev/null) || fail "$kind: verify --rebuild"
  cp "$TMP/bad-$kind.tar" "$ws/specs/in/image.tar"; rm -rf "$ws/out"
  warm=$(build "$ws" "$TMP/warm-$kind") && fail "$kind: tampered image built with a warm cache: $warm"
  cold=$(build "$ws" "$TMP/cold-$kind") && fail "$kind: tampered image built with a cold cache: $cold"
  [ "$warm" = "$cold" ] || fail "$kind: warm and cold caches disagree: warm: $warm / cold: $cold"
  grep -qE 'digest mismatch|does not match digest' <<<"$cold" || fail "$kind: unexpected error: $cold"
  [ ! -e "$ws/out/l.eif" ] || fail "$kind: an image was written"
  pass "tampered $kind: same error with a warm and a cold cache ($(sed 's/.*: \(digest mismatch\|content does not match\).*/\1/' <<<"$cold"))"
done
ws="$TMP/ws-abs"; workspace "$ws" "{oci: in/image.tar}"; cp "$TMP/absolute-config.tar" "$ws/specs/in/image.tar"
out=$(build "$ws" "$TMP/cache") && fail "absolute config accepted"
grep -q 'Config names an absolute path "/etc/passwd"' <<<"$out" || fail "absolute config: $out"
pass "docker-save config naming an absolute path refused as such"

# --- 7. hostile tar headers
python3 - "$TMP" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
i = tarfile.TarInfo("placeholder"); i.size = 4; i.mtime = 0
i.pax_headers = {"path": "evil\x00/../../etc/shadow"}
with tarfile.open(d + "/nul.tar", "w", format=tarfile.PAX_FORMAT) as t:
    t.addfile(i, io.BytesIO(b"data"))
def plain(path, names):
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
        for n in names:
            i = tarfile.TarInfo(n); i.size = 2; i.mtime = 0
            t.addfile(i, io.BytesIO(b"x\n"))
plain(d + "/sum.tar", ["a", "b"])
b = bytearray(open(d + "/sum.tar", "rb").read())
b[1024 + 100] ^= 0x01            # the second header's mode field: its checksum is now wrong
open(d + "/sum.tar", "wb").write(b)
# the sum as POSIX defines it: every byte, the checksum field counted as spaces
h = b[1024:1536]; open(d + "/sum.expected", "w").write(str(sum(h[:148]) + 8 * 32 + sum(h[156:])))
b0 = bytearray(open(d + "/sum.tar", "rb").read()); b0[100] ^= 0x01
open(d + "/sum0.tar", "wb").write(b0)
h = b0[0:512]; open(d + "/sum0.expected", "w").write(str(sum(h[:148]) + 8 * 32 + sum(h[156:])))
PY
ws="$TMP/ws-nul"; workspace "$ws" "{tar: in/layer.tar}"; cp "$TMP/nul.tar" "$ws/specs/in/layer.tar"
out=$(build "$ws" "$TMP/cache") && fail "pax path with a NUL byte accepted"
grep -q "pax header record 'path' \"evil\\\\x00/../../etc/shadow\" holds a NUL byte" <<<"$out" || fail "pax NUL: $out"
pass "pax path with a NUL byte refused: $(grep -o 'byte offset [0-9]*' <<<"$out" | head -1)"
for v in sum sum0; do
  ws="$TMP/ws-$v"; workspace "$ws" "{tar: in/layer.tar}"; cp "$TMP/$v.tar" "$ws/specs/in/layer.tar"
  out=$(build "$ws" "$TMP/cache") && fail "$v: corrupt header accepted"
  want=$(cat "$TMP/$v.expected"); off=$([ $v = sum ] && echo 1024 || echo 0); entry=$([ $v = sum ] && echo b || echo a)
  grep -q "at byte offset $off: corrupt tar header of entry \"$entry\": checksum field says .*, the header's bytes sum to $want" <<<"$out" ||
    fail "$v: checksum not named (python says $want): $out"
done
pass "corrupt header checksums named with entry, offset and both sums (first and second header)"

# --- 7. a newline in a name: escaped by rbuild diff, kept raw in --json
mkdir -p "$TMP/nl1" "$TMP/nl2"
printf one > "$TMP/nl1/evil
name"; printf two > "$TMP/nl2/evil
name"
for n in 1 2; do
  ws="$TMP/ws-nl$n"; workspace "$ws" "{tar: in/layer.tar}"
  tar -C "$TMP/nl$n" -cf "$ws/specs/in/layer.tar" .
  build "$ws" "$TMP/cache" >/dev/null || fail "newline name did not build"
  (cd "$ws" && "$RBUILD" verify out/l.eif --rebuild --cache "$TMP/cache" >/dev/null) || fail "nl$n: verify --rebuild"
done
"$RBUILD" diff "$TMP/ws-nl1/out/l.eif" "$TMP/ws-nl2/out/l.eif" > "$TMP/diff.txt" && fail "images do not differ"
grep -q '^ramdisk\[1\] rootfs/evil\\nname sha256:$' "$TMP/diff.txt" || fail "name not escaped: $(cat "$TMP/diff.txt")"
! grep -q '^name' "$TMP/diff.txt" || fail "a raw newline split a line: $(cat "$TMP/diff.txt")"
"$RBUILD" diff --json "$TMP/ws-nl1/out/l.eif" "$TMP/ws-nl2/out/l.eif" > "$TMP/diff.json" || true
python3 -c 'import json,sys; assert any(d["where"] == "ramdisk[1] rootfs/evil\nname sha256" for d in json.load(open(sys.argv[1])))' \
  "$TMP/diff.json" || fail "--json lost the name"
pass "newline in a name escaped in rbuild diff, exact in --json"

# --- 7. whiteouts: true applies a registry layer's .wh. markers
mkdir -p "$TMP/base/etc" "$TMP/wh/etc"; echo keep > "$TMP/base/etc/keep"; echo gone > "$TMP/base/etc/gone"
: > "$TMP/wh/etc/.wh.gone"; echo new > "$TMP/wh/etc/new"
for mode in true false; do
  ws="$TMP/ws-wh-$mode"; workspace "$ws" "{directory: in/base}" "{tar: in/wh.tar, whiteouts: $mode}"
  cp -r "$TMP/base" "$ws/specs/in/base"; tar -C "$TMP/wh" -cf "$ws/specs/in/wh.tar" .
  build "$ws" "$TMP/cache" >/dev/null || fail "whiteouts: $mode did not build"
  (cd "$ws" && "$RBUILD" verify out/l.eif --rebuild --cache "$TMP/cache" >/dev/null) || fail "whiteouts $mode: verify --rebuild"
  "$RBUILD" extract "$ws/out/l.eif" "$TMP/x-$mode" --no-trees >/dev/null
  cpio -it --quiet < "$TMP/x-$mode/ramdisk-1.cpio" | grep '^rootfs/etc/' | sort > "$TMP/list-$mode"
done
[ "$(cat "$TMP/list-true")" = "$(printf 'rootfs/etc/keep\nrootfs/etc/new')" ] || fail "whiteouts: true: $(cat "$TMP/list-true")"
[ "$(cat "$TMP/list-false")" = "$(printf 'rootfs/etc/.wh.gone\nrootfs/etc/gone\nrootfs/etc/keep\nrootfs/etc/new')" ] ||
  fail "whiteouts: false: $(cat "$TMP/list-false")"
pass "tar item with whiteouts: true hides the lower layer's file (GNU cpio lists the ramdisk)"
