#!/usr/bin/env bash
# verify --rebuild holds for specs whose maps are in non-alphabetical order
# (runtimes, resources, kernel, rootfs items), unsigned and signed: the spec
# has one canonical form, in the image's metadata, in the provenance and in
# the rebuild. A rebuild that differs is kept, and the differing files named.
source "$(dirname "$0")/lib.sh"
ws="$TMP/ws"; mkdir -p "$ws/specs/in/tarsrc/opt/app"
cd "$ws"
head -c 30000 /dev/urandom > specs/in/kernel
for r in init pf-proxy ra-web-srv fs-monitor; do cp /bin/busybox "specs/in/$r"; echo "name: $r" > "specs/in/$r.yaml"; done
echo "layer data" > specs/in/tarsrc/opt/app/file
tar --sort=name --mtime=@0 --owner=0 --group=0 -C specs/in/tarsrc -cf specs/in/layer.tar opt
( umask 077 && openssl ecparam -name secp384r1 -genkey -noout -out specs/in/key.pem )
openssl req -new -x509 -key specs/in/key.pem -subj "/CN=canonical test" -days 30 -out specs/in/cert.pem 2>/dev/null

write_spec() {  # NAME [signed]
  { cat <<YAML
version: "2"
name: $1
source_date_epoch: 1700000000
resources: {memory: 256, cpus: 1}
kernel: {cmdline: "console=ttyS0 quiet", path: in/kernel}
runtimes:
  ra-web-srv: {config: in/ra-web-srv.yaml, binary: in/ra-web-srv}
  pf-proxy: {binary: in/pf-proxy, config: in/pf-proxy.yaml}
  init: {config: in/init.yaml, binary: in/init}
  fs-monitor: {binary: in/fs-monitor, config: in/fs-monitor.yaml}
rootfs:
  - {dest: /srv, tar: in/layer.tar}
  - {mode: "0700", dir: /data}
  - {target: /bin/busybox, symlink: /bin/sh}
env: [Z=last, A=first]
YAML
    if [ "${2:-}" = signed ]; then echo "signing: {key: in/key.pem, certificate: in/cert.pem}"; fi
  } > "specs/$1.yaml"
}

for variant in plain signed; do
  name=order-$variant
  write_spec "$name" "$([ $variant = signed ] && echo signed)"
  "$RBUILD" lock "specs/$name.yaml" >/dev/null
  "$RBUILD" build "specs/$name.yaml" -o out --cache "$TMP/cache" >/dev/null
  # The metadata holds the canonical spec: keys sorted at every level (python3 as the referee).
  "$RBUILD" describe "out/$name.eif" > "$TMP/desc.json" || fail "$name: describe"
  python3 - "$TMP/desc.json" <<'PY' || fail "$name: metadata spec is not canonical"
import json, sys
spec = json.load(open(sys.argv[1]), object_pairs_hook=lambda kv: kv)
def find(pairs, key):
    return next(v for k, v in pairs if k == key)
meta = find(spec, "Metadata")
s = find(meta, "spec")            # flattened into Metadata, as nitro-cli describe-eif does
def check(v, where):
    if isinstance(v, list) and v and isinstance(v[0], tuple):
        keys = [k for k, _ in v]
        assert keys == sorted(keys), (where, keys)
        for k, x in v: check(x, where + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v): check(x, "%s[%d]" % (where, i))
check(s, "spec")
assert [k for k, _ in find(s, "runtimes")] == ["fs-monitor", "init", "pf-proxy", "ra-web-srv"]
assert find(s, "env") == ["Z=last", "A=first"]
PY
  "$RBUILD" verify "out/$name.eif" --rebuild --cache "$TMP/cache" > "$TMP/v.txt" || fail "$name: verify --rebuild: $(cat "$TMP/v.txt")"
  grep -q '^rebuild *ok' "$TMP/v.txt" || fail "$name: no rebuild check: $(cat "$TMP/v.txt")"
  # A cold cache rebuilds the same bytes.
  "$RBUILD" verify "out/$name.eif" --rebuild --cache "$TMP/cold-$variant" >/dev/null || fail "$name: cold-cache rebuild"
  pass "$name: maps out of order, canonical metadata, verify --rebuild ok (warm and cold cache)"
done

# A differing rebuild is kept and the differing file named.
cp out/order-plain.eif "$TMP/altered.eif"
cp out/order-plain.provenance.json "$TMP/altered.provenance.json"
python3 - "$TMP/altered.eif" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
i = b.index(b"layer data\n"); b[i] ^= 0x20  # "Layer data": one byte of rootfs/srv/opt/app/file
open(p, "wb").write(b)
PY
out=$("$RBUILD" verify "$TMP/altered.eif" --rebuild --cache "$TMP/cache" 2>&1) && fail "altered image verified: $out"
kept=$(sed -n 's/^ *kept at \([^ ]*\.eif\) .*/\1/p' <<<"$out")
[ -n "$kept" ] && [ -f "$kept" ] || fail "rebuilt image not kept: $out"
grep -q 'ramdisk\[1\] rootfs/srv/opt/app/file sha256' <<<"$out" || fail "differing file not named: $out"
echo "$out" | sed -n "/^rebuild/,/^[^ ]/p" | head -8
"$RBUILD" diff "$TMP/altered.eif" "$kept" > "$TMP/diff.txt" || true
grep -q "rootfs/srv/opt/app/file sha256" "$TMP/diff.txt" || fail "rbuild diff on the kept image: $(cat "$TMP/diff.txt")"
cmp -s "$kept" out/order-plain.eif || fail "the kept rebuild is not the genuine image"
rm -rf "$(dirname "$kept")"
pass "differing rebuild kept at its path, differing file listed"

# The same for a signed image: its rebuild is unsigned, so the signature is not listed as a difference.
cp out/order-signed.eif "$TMP/altered-signed.eif"; cp out/order-signed.provenance.json "$TMP/altered-signed.provenance.json"
python3 - "$TMP/altered-signed.eif" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
i = b.index(b"layer data\n"); b[i] ^= 0x20
open(p, "wb").write(b)
PY
out=$("$RBUILD" verify "$TMP/altered-signed.eif" --rebuild --cache "$TMP/cache" 2>&1) && fail "altered signed image verified: $out"
kept=$(sed -n 's/^ *kept at \([^ ]*\.eif\) .*/\1/p' <<<"$out")
[ -n "$kept" ] && [ -f "$kept" ] || fail "signed: rebuilt image not kept: $out"
grep -q 'ramdisk\[1\] rootfs/srv/opt/app/file sha256' <<<"$out" || fail "signed: differing file not named: $out"
! grep -qE 'signature|num_sections' <<<"$(sed -n '/kept at/,$p' <<<"$out")" || fail "signed: the missing signature listed: $out"
rm -rf "$(dirname "$kept")"
pass "signed: differing unsigned rebuild kept, only the real difference listed"
