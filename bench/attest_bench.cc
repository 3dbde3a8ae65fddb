// Attestation throughput: documents verified/s and issued/s (simulated NSM),
// ECVRF proofs/s. Prints "name value" lines; bench/attest_bench.sh divides them
// by `openssl speed ecdsap384` measured in the same run.
#include <chrono>
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

/// Runs fn repeatedly for about `seconds`; returns calls per second.
double rate(double seconds, const std::function<void()>& fn) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  std::size_t n = 0;
  double elapsed = 0;
  do {
    fn();
    ++n;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
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
    const double verified = rate(seconds, [&] { (void)verify_attestation(doc, options); });

    const Bytes sk = ecvrf::generate_secret_key();
    const Bytes pk = ecvrf::public_key(sk);
    const Bytes alpha = {'b', 'e', 'n', 'c', 'h'};
    const double proofs = rate(seconds, [&] { (void)ecvrf::prove(sk, alpha); });
    const Bytes pi = ecvrf::prove(sk, alpha);
    const double vrf_verifies = rate(seconds, [&] { (void)ecvrf::verify(pk, alpha, pi); });
    fs::remove_all(dir);

    std::printf("docs_verified_per_s %.1f\n", verified);
    std::printf("docs_issued_per_s %.1f\n", issued);
    std::printf("ecvrf_proofs_per_s %.1f\n", proofs);
    std::printf("ecvrf_verifies_per_s %.1f\n", vrf_verifies);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attest_bench: error: %s\n", e.what());
    return 1;
  }
}
