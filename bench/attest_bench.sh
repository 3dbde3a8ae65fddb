#!/usr/bin/env bash
# Attestation benchmark: documents verified/issued per second as a ratio to
# `openssl speed ecdsap384` verify/sign measured in the same run, and ECVRF-P256
# proofs/verifies per second as ratios to `openssl speed ecdsap256` sign/verify.
# The benchmark document (simulated NSM) has root -> intermediate -> leaf: cold,
# it costs 3 ECDSA P-384 verifies (2 certificates + the COSE signature); with a
# warm certificate cache (attest/cert_cache.h) 2 (its leaf + the COSE signature),
# so 0.5x is the ceiling of "documents verified". Issuing is 1 sign + encoding.
# Goals (issue 13): documents verified >= 0.45, ECVRF verifies >= 0.40,
# ECVRF proofs >= 0.11.
# usage: bench/attest_bench.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-2}
bin="$build/attest/attest_bench"
[ -x "$bin" ] || cmake --build "$build" --target attest_bench >/dev/null

speed() {  # speed CURVE -> "sign/s verify/s"
  openssl speed -seconds "$seconds" "ecdsa$1" 2>/dev/null | awk '/ecdsa \(/ {print $(NF-1), $NF}'
}
read -r p384_sign p384_verify < <(speed p384)
read -r p256_sign p256_verify < <(speed p256)
declare -A m
while read -r name value; do m[$name]=$value; done < <("$bin" "$seconds")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf '%-28s %10s %12s %8s\n' metric "per second" baseline ratio
printf '%-28s %10s %12s %8s\n' "documents verified" "${m[docs_verified_per_s]}" "$p384_verify" "$(ratio "${m[docs_verified_per_s]}" "$p384_verify")"
printf '%-28s %10s %12s %8s\n' "  (no certificate cache)" "${m[docs_verified_cold_per_s]}" "$p384_verify" "$(ratio "${m[docs_verified_cold_per_s]}" "$p384_verify")"
printf '%-28s %10s %12s %8s\n' "documents issued (sim NSM)" "${m[docs_issued_per_s]}" "$p384_sign" "$(ratio "${m[docs_issued_per_s]}" "$p384_sign")"
printf '%-28s %10s %12s %8s\n' "ECVRF-P256 proofs" "${m[ecvrf_proofs_per_s]}" "$p256_sign" "$(ratio "${m[ecvrf_proofs_per_s]}" "$p256_sign")"
printf '%-28s %10s %12s %8s\n' "ECVRF-P256 verifies" "${m[ecvrf_verifies_per_s]}" "$p256_verify" "$(ratio "${m[ecvrf_verifies_per_s]}" "$p256_verify")"
printf '%-28s %10s %12s %8s\n' "  (key decoded per proof)" "${m[ecvrf_verifies_from_bytes_per_s]}" "$p256_verify" "$(ratio "${m[ecvrf_verifies_from_bytes_per_s]}" "$p256_verify")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "baselines: openssl speed ecdsap384 sign/verify, ecdsap256 sign/verify (${seconds}s each)"
