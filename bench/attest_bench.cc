// Attestation throughput: documents verified/s and issued/s (simulated NSM),
// ECVRF proofs/s. Prints "name value" lines; bench/attest_bench.sh divides them
// by `openssl speed ecdsap384` measured in the same run.
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "attest/ecvrf.h"
#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "attest/verify.h"
#include "base/error.h"

namespace fs = std::filesystem;
using namespace ef;
using namespace ef::attest;

namespace {

/// CPU seconds used by this process (user + system).
double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// Runs fn repeatedly for about `seconds` of CPU time; returns calls per CPU
/// second. CPU time, not wall time, because `openssl speed` (the baseline)
/// divides by CPU time unless given -elapsed: on a shared machine a wall-clock
/// rate would be compared with a CPU-time one.
double rate(double seconds, const std::function<void()>& fn) {
  const double start = cpu_seconds();
  std::size_t n = 0;
  double elapsed = 0;
  do {
    fn();
    ++n;
    elapsed = cpu_seconds() - start;
  } while (elapsed < seconds);
  return static_cast<double>(n) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  try {
    const fs::path dir = fs::temp_directory_path() / ("ef_attest_bench_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    std::map<std::uint16_t, Bytes> pcrs = {{0, Bytes(48, 1)}, {1, Bytes(48, 2)}, {2, Bytes(48, 3)}};
    SimulatedNsm sim(load_or_create_dev_ca(dir / "ca", now_ms()), pcrs);
    const nsm::req::Attestation request{Bytes(64, 'u'), Bytes(32, 'n'), std::nullopt};

    const double issued = rate(seconds, [&] { (void)sim.attestation(request); });
    const Bytes doc = sim.attestation(request);
    VerifyOptions options;
    options.trusted_roots = {sim.root_der()};
    options.policy.nonce = Bytes(32, 'n');
    if (!verify_attestation(doc, options).ok()) throw Error("benchmark document does not verify");
    const double verified_cold = rate(seconds, [&] { (void)verify_attestation(doc, options); });
    // A verifier serving many documents keeps a certificate cache: the root and
    // intermediate are verified once, each document costs its leaf and its COSE
    // signature (the leaf is never cached).
    CertCache cache;
    options.cache = &cache;
    if (!verify_attestation(doc, options).ok()) throw Error("benchmark document does not verify with the cache");
    const double verified = rate(seconds, [&] { (void)verify_attestation(doc, options); });

    const Bytes sk = ecvrf::generate_secret_key();
    const Bytes pk = ecvrf::public_key(sk);
    const Bytes alpha = {'b', 'e', 'n', 'c', 'h'};
    const double proofs = rate(seconds, [&] { (void)ecvrf::prove(sk, alpha); });
    const Bytes pi = ecvrf::prove(sk, alpha);
    const auto key = ecvrf::PublicKey::decode(pk);
    if (!key || !ecvrf::verify(*key, alpha, pi)) throw Error("benchmark proof does not verify");
    const double vrf_verifies = rate(seconds, [&] { (void)ecvrf::verify(*key, alpha, pi); });
    const double vrf_verifies_bytes = rate(seconds, [&] { (void)ecvrf::verify(pk, alpha, pi); });
    fs::remove_all(dir);

    std::printf("docs_verified_per_s %.1f\n", verified);
    std::printf("docs_verified_cold_per_s %.1f\n", verified_cold);
    std::printf("docs_issued_per_s %.1f\n", issued);
    std::printf("ecvrf_proofs_per_s %.1f\n", proofs);
    std::printf("ecvrf_verifies_per_s %.1f\n", vrf_verifies);
    std::printf("ecvrf_verifies_from_bytes_per_s %.1f\n", vrf_verifies_bytes);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attest_bench: error: %s\n", e.what());
    return 1;
  }
}
