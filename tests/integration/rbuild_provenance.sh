#!/usr/bin/env bash
# Provenance as third-party tools judge it: Debian's python3-jsonschema against
# the SLSA v1 schema, openssl on the DSSE PAE bytes, npm's @sigstore/verify with
# only the public key, python3-securesystemslib; a flipped payload byte fails
# every one. Dependency URIs are checked against dpkg and git directly, and the
# directory digest against an independent Python implementation of docs/rbuild.md.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3   # Debian's python with python3-jsonschema, -rfc3987, -securesystemslib
T="$SRC/tests/provenance"
$PY -c 'import jsonschema, rfc3987, securesystemslib' 2>/dev/null ||
  fail "needs Debian's python3-jsonschema python3-rfc3987 python3-securesystemslib (scripts/setup installs them)"

# A workspace that is a git checkout, with host inputs owned by Debian packages.
ws="$TMP/ws"; mkdir -p "$ws/specs/in/tree/sub"
head -c 4000 /dev/urandom > "$ws/specs/in/kernel"
head -c 100 /dev/urandom > "$ws/specs/in/init"
echo data > "$ws/specs/in/tree/a"; printf '#!/bin/sh\n' > "$ws/specs/in/tree/sub/run"; chmod 755 "$ws/specs/in/tree/sub/run"
ln "$ws/specs/in/tree/a" "$ws/specs/in/tree/sub/hard"; ln -s ../a "$ws/specs/in/tree/sub/link"
busybox=$(readlink -f /bin/busybox)
cat > "$ws/specs/p.yaml" <<'YAML'
name: p
version: "1"
source_date_epoch: 1000
kernel: {path: in/kernel}
init: in/init
rootfs:
  - directory: in/tree
  - file: /bin/busybox
    dest: /bin/busybox
cmd: ["/bin/true"]
YAML
cd "$ws"
git init -q -b main . && git -c user.name=t -c user.email=t@t add -A &&
  GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' git -c user.name=t -c user.email=t@t commit -q -m init
"$RBUILD" lock specs/p.yaml >/dev/null
echo /lockfiles/ > .git/info/exclude; echo /out/ >> .git/info/exclude
"$RBUILD" build specs/p.yaml -o out --cache "$TMP/cache" >/dev/null
prov=out/p.provenance.json
$PY "$T/validate.py" "$prov" || fail "unsigned provenance fails the SLSA v1 schema"
pass "unsigned provenance validates against the SLSA v1 schema (python3-jsonschema)"

# URIs, each checked against the tool that knows the truth.
dep() { $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next(x for x in d["predicate"]["buildDefinition"]["resolvedDependencies"] if x["name"]==sys.argv[2])[sys.argv[3]] if sys.argv[3]!="ann" else json.dumps(next(x for x in d["predicate"]["buildDefinition"]["resolvedDependencies"] if x["name"]==sys.argv[2])["annotations"]))' "$prov" "$@"; }
bb_pkg=$(dpkg-query -S /bin/busybox 2>/dev/null | head -1 | cut -d: -f1)
bb_ver=$(dpkg-query -W -f '${Version}' "$bb_pkg" | sed 's/:/%3A/g; s/+/%2B/g')
[ "$(dep 'rootfs[1]' uri)" = "pkg:deb/debian/$bb_pkg@$bb_ver?arch=$(dpkg-query -W -f '${Architecture}' "$bb_pkg")" ] ||
  fail "busybox uri $(dep 'rootfs[1]' uri), dpkg says $bb_pkg $bb_ver"
commit=$(git rev-parse HEAD)
[ "$(dep 'rootfs[0]' uri)" = "git+file://$ws@$commit#specs/in/tree" ] || fail "tree uri $(dep 'rootfs[0]' uri)"
[ "$(dep source uri)" = "git+file://$ws@$commit" ] || fail "source uri $(dep source uri)"
grep -q '"treeClean": true' <<<"$(dep source ann)" || fail "clean tree not recorded: $(dep source ann)"
grep -q '"commitTime": 1767225600' <<<"$(dep source ann)" || fail "commit time not recorded: $(dep source ann)"
grep -q "\"rbuildSha256\": \"$(sha256sum "$RBUILD" | cut -d' ' -f1)\"" "$prov" || fail "rbuild's sha256 not recorded"
bt=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["predicate"]["buildDefinition"]["buildType"])' "$prov")
[ -f "$SRC/${bt#https://github.com/enclave-framework/rbuild/blob/main/}" ] || fail "buildType $bt names no document in the repository"
pass "URIs: purl of dpkg's owner and version, git+file@commit of the checkout; commit, clean tree, rbuild sha256; buildType document exists"

# The directory digest, recomputed from the documented format alone.
want=$(dep 'rootfs[0]' digest | $PY -c 'import ast,sys; print(ast.literal_eval(sys.stdin.read())["sha256"])')
got=$($PY "$T/dir_digest.py" specs/in/tree | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "dir_digest.py says $got, provenance $want"
# A fifo (which a build refuses unless allowed) still has a digest: rbuild lock's against the script's.
mkdir -p "$TMP/fifo/in/t"; mkfifo "$TMP/fifo/in/t/pipe"; echo x > "$TMP/fifo/in/t/f"; chmod 700 "$TMP/fifo/in/t/f"
# Names with the listing's separators and its escape byte (space, newline, backslash).
echo y > "$TMP/fifo/in/t/a b"; echo z > "$TMP/fifo/in/t/back\\slash"; echo w > "$TMP/fifo/in/t/new
line"; ln -s 'a b' "$TMP/fifo/in/t/c d"
printf 'name: f\nversion: "1"\nsource_date_epoch: 1\nkernel: {path: in/t/f}\ninit: in/t/f\nrootfs:\n  - directory: in/t\ncmd: ["/x"]\n' > "$TMP/fifo/f.yaml"
"$RBUILD" lock "$TMP/fifo/f.yaml" -o "$TMP/fifo/lock.json" >/dev/null
grep -q "\"sha256\": \"$($PY "$T/dir_digest.py" "$TMP/fifo/in/t" | cut -d' ' -f1)\"" "$TMP/fifo/lock.json" ||
  fail "dir_digest.py disagrees with rbuild lock on a tree with a fifo"
while read -r sha path; do  # the committed default lock's real directory inputs
  case $path in /*) p=$path ;; *) p="$SRC/specs/$path" ;; esac
  [ -d "$p" ] || continue
  [ "$($PY "$T/dir_digest.py" "$p" | cut -d' ' -f1)" = "$sha" ] || fail "dir_digest.py disagrees on $p"
  n=$((${n:-0}+1))
done < <($PY -c 'import json,sys; [print(i["sha256"], i["path"]) for i in json.load(open(sys.argv[1]))["inputs"] if i["kind"]=="directory"]' "$SRC/lockfiles/default.lock.json")
pass "directory digest recomputed by an independent script (hard link, symlink, fifo, exec and 0700 modes; ${n:-0} real input(s) of the default lock)"

# Signed with P-256: DSSE checked by openssl, @sigstore/verify, securesystemslib.
( umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out specs/in/key.pem )
openssl req -new -x509 -key specs/in/key.pem -subj "/CN=rbuild p256" -days 30 -out specs/in/cert.pem 2>/dev/null
openssl ec -in specs/in/key.pem -pubout -out "$TMP/pub.pem" 2>/dev/null
printf 'signing: {certificate: in/cert.pem, key: in/key.pem}\n' >> specs/p.yaml
"$RBUILD" lock specs/p.yaml >/dev/null
"$RBUILD" build specs/p.yaml -o out --cache "$TMP/cache" >/dev/null
$PY "$T/validate.py" "$prov" || fail "signed provenance fails the SLSA v1 schema"
mkdir -p "$TMP/split"; $PY "$T/dsse_tools.py" split "$prov" "$TMP/split"
openssl dgst -sha256 -verify "$TMP/pub.pem" -signature "$TMP/split/sig.der" "$TMP/split/pae.bin" >/dev/null ||
  fail "openssl does not verify the PAE bytes with SHA-256"
$PY "$T/dsse_tools.py" sslib "$prov" "$TMP/pub.pem" || fail "securesystemslib rejects the envelope"

npm_dir="$BUILD/tests/npm-sigstore"
if [ ! -d "$npm_dir/node_modules/@sigstore/verify" ]; then
  command -v npm >/dev/null || fail "npm is needed for the @sigstore/verify check"
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && npm install --no-audit --no-fund --silent @sigstore/verify@3.1.1 @sigstore/bundle@4.0.0 >/dev/null 2>&1) ||
    fail "npm install @sigstore/verify into $npm_dir failed (the npm registry must be reachable once)"
fi
NODE_PATH="$npm_dir/node_modules" node "$T/sigstore_verify.js" "$prov" "$TMP/pub.pem" || fail "@sigstore/verify rejects the envelope"
"$RBUILD" verify out/p.eif | grep -q 'provenance.signature *ok' || fail "rbuild does not verify its own envelope"
$PY "$T/dsse_tools.py" urlsafe "$prov" "$TMP/urlsafe.json"
"$RBUILD" verify out/p.eif --provenance "$TMP/urlsafe.json" | grep -q 'provenance.signature *ok' ||
  fail "rbuild rejects the URL-safe base64 form"
pass "P-256 envelope: schema valid; openssl (SHA-256 over PAE), @sigstore/verify (public key only), securesystemslib and rbuild verify it; URL-safe base64 accepted"

$PY "$T/dsse_tools.py" flip "$prov" "$TMP/flipped.json"
mkdir -p "$TMP/flip"; $PY "$T/dsse_tools.py" split "$TMP/flipped.json" "$TMP/flip"
! openssl dgst -sha256 -verify "$TMP/pub.pem" -signature "$TMP/flip/sig.der" "$TMP/flip/pae.bin" >/dev/null 2>&1 ||
  fail "openssl accepts a flipped payload"
! NODE_PATH="$npm_dir/node_modules" node "$T/sigstore_verify.js" "$TMP/flipped.json" "$TMP/pub.pem" >/dev/null || fail "@sigstore/verify accepts a flipped payload"
! $PY "$T/dsse_tools.py" sslib "$TMP/flipped.json" "$TMP/pub.pem" >/dev/null || fail "securesystemslib accepts a flipped payload"
! $PY "$T/validate.py" "$TMP/flipped.json" >/dev/null || fail "the schema accepts a non-hex subject digest"
expect_fail 'provenance.signature +FAIL' "$RBUILD" verify out/p.eif --provenance "$TMP/flipped.json"
pass "a flipped payload byte fails openssl, @sigstore/verify, securesystemslib, the schema and rbuild"

# P-384 signs with SHA-384 (the curve's hash): openssl agrees.
( umask 077 && openssl ecparam -name secp384r1 -genkey -noout -out specs/in/key.pem )
openssl req -new -x509 -key specs/in/key.pem -subj "/CN=rbuild p384" -days 30 -out specs/in/cert.pem 2>/dev/null
openssl ec -in specs/in/key.pem -pubout -out "$TMP/pub384.pem" 2>/dev/null
"$RBUILD" lock specs/p.yaml >/dev/null
"$RBUILD" build specs/p.yaml -o out --cache "$TMP/cache" >/dev/null
$PY "$T/dsse_tools.py" split "$prov" "$TMP/split"
openssl dgst -sha384 -verify "$TMP/pub384.pem" -signature "$TMP/split/sig.der" "$TMP/split/pae.bin" >/dev/null ||
  fail "openssl does not verify the P-384 envelope with SHA-384"
$PY "$T/dsse_tools.py" sslib "$prov" "$TMP/pub384.pem" ecdsa-sha2-nistp384 || fail "securesystemslib rejects the P-384 envelope"
pass "P-384 envelope signed with SHA-384: openssl and securesystemslib verify it"
