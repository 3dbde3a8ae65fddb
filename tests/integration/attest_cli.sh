#!/usr/bin/env bash
# attest-tool end to end: simulated NSM documents verify against the dev root
# and not the AWS root; real documents verify at their own time; policy failures
# are reported by name with exit status 1.
. "$(dirname "$0")/lib.sh"
TOOL="$BUILD/attest/attest-tool"
VEC="$SRC/tests/vectors/nitro_attestation"

# Real AWS document at its own timestamp, and today (expired leaf).
"$TOOL" verify-attestation "$VEC/evervault_2022-10-13_nondebug.cbor" --at doc >/dev/null || fail "real document at doc time"
expect_fail "failed checks: validity chain" "$TOOL" verify-attestation "$VEC/evervault_2022-10-13_nondebug.cbor"
pass "real document"

# Simulated NSM.
h48=$(printf 'ab%.0s' $(seq 48))
cat >"$TMP/pcrs.json" <<JSON
{"HashAlgorithm": "Sha384 { ... }", "PCR0": "$h48", "PCR1": "$h48", "PCR2": "$h48"}
JSON
"$TOOL" sim-attest --ca "$TMP/ca" --pcrs "$TMP/pcrs.json" --nonce 0102 >"$TMP/doc.cbor"
[ "$(stat -c %a "$TMP/ca")" = 700 ] || fail "dev CA directory mode"
[ "$(stat -c %a "$TMP/ca/dev-root.key")" = 600 ] || fail "dev root key mode"
"$TOOL" verify-attestation "$TMP/doc.cbor" --root "$TMP/ca/dev-root.pem" --expect-pcrs "$TMP/pcrs.json" \
  --nonce 0102 --max-age 5m >/dev/null || fail "simulated document with the dev root"
expect_fail "FAIL +root" "$TOOL" verify-attestation "$TMP/doc.cbor"
expect_fail "FAIL +nonce" "$TOOL" verify-attestation "$TMP/doc.cbor" --root "$TMP/ca/dev-root.pem" --nonce 0103
base64 "$TMP/doc.cbor" >"$TMP/doc.b64"
"$TOOL" verify-attestation "$TMP/doc.b64" --root "$TMP/ca/dev-root.pem" --json >"$TMP/out.json" || fail "base64 input"
grep -q '"ok": true' "$TMP/out.json" || fail "JSON output"
"$TOOL" verify-attestation - --root "$TMP/ca/dev-root.pem" <"$TMP/doc.cbor" >/dev/null || fail "stdin input"
pass "simulated NSM"

# Usage errors exit 2; unreadable input is an error, not a crash.
rc=0; "$TOOL" verify-attestation >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "usage error exit status $rc"
expect_fail "error: open" "$TOOL" verify-attestation "$TMP/missing.cbor"
head -c 100 "$TMP/doc.cbor" >"$TMP/trunc.cbor"
expect_fail "FAIL +cose" "$TOOL" verify-attestation "$TMP/trunc.cbor"
pass "errors"
