#!/usr/bin/env bash
# The default image, built from the committed spec and lock, boots under QEMU
# into its init, which runs the image's command and powers off.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/qemu_boot.sh"
cd "$SRC"
"$RBUILD" build specs/default.yaml --lock lockfiles/default.lock.json -o "$TMP/out" --cache "$TMP/cache" >/dev/null
"$RBUILD" extract "$TMP/out/default.eif" "$TMP/x" >/dev/null
qemu_boot "$TMP/x" "$TMP/console.log" 120
grep -q 'Run /init as init process' "$TMP/console.log" || fail "kernel did not reach /init: $(tail -20 "$TMP/console.log")"
grep -q 'hello from the enclave' "$TMP/console.log" || fail "the image's command did not run: $(tail -20 "$TMP/console.log")"
grep -q 'reboot: Power down' "$TMP/console.log" || fail "the image did not power off cleanly: $(tail -20 "$TMP/console.log")"
pass "default image boots, runs its command and powers off ($(grep -c . "$TMP/console.log") console lines)"
