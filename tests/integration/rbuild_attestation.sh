#!/usr/bin/env bash
# `rbuild verify-attestation` on real AWS documents: valid at their own time,
# rejected (naming the check) now that their leaf certificates have expired.
source "$(dirname "$0")/lib.sh"
D="$SRC/tests/vectors/nitro_attestation"
for doc in "$D"/*.cbor; do
  "$RBUILD" verify-attestation "$doc" --at doc >/dev/null || fail "$(basename "$doc") does not verify at its timestamp"
  expect_fail 'failed checks:.*validity' "$RBUILD" verify-attestation "$doc" --at now
done
pass "$(ls "$D"/*.cbor | wc -l) real documents verify at their timestamps and fail validity now"
