#!/usr/bin/env bash
# Debian moving under the lock: `rbuild build --lock` refuses drift and lists
# every mismatch; scripts/build-locked (what scripts/build-default runs) names
# the packages that moved (dpkg -S, dpkg-query), builds from a fresh lock under
# OUTDIR without touching the committed one, and ends with a WARNING block.
# Uses a temporary spec and lock (Debian files as inputs), never the real lock.
source "$(dirname "$0")/lib.sh"
for f in /bin/busybox /lib/x86_64-linux-gnu/libc.so.6; do
  dpkg -S "$f" >/dev/null 2>&1 || fail "$f is not owned by a Debian package here (scripts/setup installs busybox-static and libc6)"
done
ws="$TMP/ws"; mkdir -p "$ws/specs/in" "$ws/lockfiles"; cd "$ws"
head -c 3000 /dev/urandom > specs/in/kernel; head -c 100 /dev/urandom > specs/in/init
cat > specs/drift.yaml <<'YAML'
name: drift
version: "1"
source_date_epoch: 0
kernel: {path: in/kernel}
init: in/init
rootfs:
  - {file: /bin/busybox, dest: /bin/busybox, mode: "0755"}
  - {file: /lib/x86_64-linux-gnu/libc.so.6, dest: /lib/x86_64-linux-gnu/libc.so.6}
cmd: ["/bin/busybox", "true"]
YAML
"$RBUILD" lock specs/drift.yaml >/dev/null
# The committed lock, as if made when Debian shipped other versions of both packages.
python3 - lockfiles/drift.lock.json <<'PY'
import json, sys
p = sys.argv[1]; lock = json.load(open(p))
for i in lock["inputs"]:
    if i["path"] in ("/bin/busybox", "/lib/x86_64-linux-gnu/libc.so.6"):
        i["sha256"] = "0" * 64
open(p, "w").write(json.dumps(lock, indent=2) + "\n")
PY
cp lockfiles/drift.lock.json "$TMP/committed.lock.json"

expect_fail '2 input\(s\) differ' "$RBUILD" build specs/drift.yaml --lock lockfiles/drift.lock.json -o out
out=$("$RBUILD" build specs/drift.yaml --lock lockfiles/drift.lock.json -o out 2>&1 || true)
grep -q 'rootfs\[0\]: /bin/busybox has sha256 .*the lock says 0\{64\}' <<<"$out" || fail "busybox mismatch not listed: $out"
grep -q 'rootfs\[1\]: /lib/x86_64-linux-gnu/libc.so.6 has sha256 .*the lock says 0\{64\}' <<<"$out" || fail "libc mismatch not listed: $out"
[ ! -e out/drift.eif ] || fail "rbuild build wrote an image despite drift"
pass "rbuild build --lock refuses drift, listing every mismatch"

rc=0; "$SRC/scripts/build-locked" "$RBUILD" specs/drift.yaml lockfiles/drift.lock.json out "$TMP/cache" \
  > "$TMP/stdout" 2> "$TMP/stderr" || rc=$?
[ "$rc" -eq 0 ] || fail "build-locked exited $rc: $(cat "$TMP/stderr")"
err=$(cat "$TMP/stderr")
for pkg in busybox-static libc6; do
  installed=$(dpkg-query -W -f='${Version}' "$pkg")
  grep -qF "package $pkg, locked version " <<<"$err" || fail "$pkg not named: $err"
  grep -qF "installed $installed, archive " <<<"$err" || fail "$pkg's installed version $installed not given: $err"
done
grep -q '=== WARNING ===' <<<"$err" || fail "no WARNING block: $err"
grep -q 'its PCRs are NOT the committed ones' <<<"$err" || fail "PCR warning missing: $err"
[ -f out/drift.eif ] && [ -f out/drift.drift.lock.json ] || fail "no image or fresh lock under out/: $(ls out)"
cmp -s lockfiles/drift.lock.json "$TMP/committed.lock.json" || fail "the committed lock was rewritten"
grep -q '^built drift' "$TMP/stdout" || fail "build output missing: $(cat "$TMP/stdout")"
"$RBUILD" verify out/drift.eif --rebuild --cache "$TMP/cache" >/dev/null || fail "the drift build does not verify --rebuild"
pass "build-locked: packages named with versions, fresh lock under out/, committed lock untouched, WARNING, exit 0"

# Not drift: a real failure stays a failure.
rm specs/in/init
rc=0; "$SRC/scripts/build-locked" "$RBUILD" specs/drift.yaml lockfiles/drift.lock.json out2 > /dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "build-locked hid a missing input"
pass "build-locked fails on a missing input"
