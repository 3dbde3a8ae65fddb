#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attest/ecvrf.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

using namespace ef;

namespace {

nlohmann::json p256_vectors() {
  const auto j = nlohmann::json::parse(read_text_file(std::filesystem::path(EF_VECTORS_DIR) / "ecvrf_rfc9381.json"));
  return j["ECVRF-P256-SHA256-TAI"]["vectors"];
}

Bytes hex(const nlohmann::json& j) { return from_hex(j.get<std::string>()); }

}  // namespace

TEST_CASE("ecvrf: RFC 9381 B.1 vectors, with every intermediate value") {
  const auto vs = p256_vectors();
  REQUIRE(vs.size() == 3);
  for (const auto& v : vs) {
    INFO("example " << v["example"]);
    const Bytes sk = hex(v["SK"]), pk = hex(v["PK"]), alpha = hex(v["alpha"]);
    CHECK(to_hex(ecvrf::public_key(sk)) == v["PK"]);
    int ctr = -1;
    const Bytes h = ecvrf::detail::encode_to_curve(pk, alpha, &ctr);
    CHECK(to_hex(h) == v["H"]);
    CHECK(ctr == v["ctr"].get<int>());
    const Bytes k = ecvrf::detail::nonce(sk, h);
    CHECK(to_hex(k) == v["k"]);
    const auto [u, vv] = ecvrf::detail::commitments(k, h);
    CHECK(to_hex(u) == v["U"]);
    CHECK(to_hex(vv) == v["V"]);
    const Bytes pi = ecvrf::prove(sk, alpha);
    CHECK(to_hex(pi) == v["pi"]);
    CHECK(to_hex(ecvrf::proof_to_hash(pi)) == v["beta"]);
    auto beta = ecvrf::verify(pk, alpha, hex(v["pi"]));
    REQUIRE(beta);
    CHECK(to_hex(*beta) == v["beta"]);
  }
}

TEST_CASE("ecvrf: tampered proofs, inputs and keys are INVALID") {
  const auto v = p256_vectors()[0];
  const Bytes pk = hex(v["PK"]), alpha = hex(v["alpha"]), pi = hex(v["pi"]);
  for (std::size_t i = 0; i < pi.size(); ++i) {
    Bytes bad = pi;
    bad[i] ^= 0x01;
    INFO("byte " << i);
    CHECK_FALSE(ecvrf::verify(pk, alpha, bad));
  }
  CHECK_FALSE(ecvrf::verify(pk, Bytes{'x'}, pi));
  CHECK_FALSE(ecvrf::verify(hex(p256_vectors()[2]["PK"]), alpha, pi));
  CHECK_FALSE(ecvrf::verify(pk, alpha, Bytes(pi.begin(), pi.end() - 1)));
  CHECK_FALSE(ecvrf::verify(Bytes(33, 0), alpha, pi));
  CHECK_FALSE(ecvrf::verify(Bytes{0x00}, alpha, pi));
  Bytes s_too_big = pi;
  std::fill(s_too_big.begin() + 49, s_too_big.end(), 0xff);
  CHECK_FALSE(ecvrf::verify(pk, alpha, s_too_big));
  CHECK_THROWS(ecvrf::proof_to_hash(Bytes(81, 0)));
  CHECK_THROWS(ecvrf::public_key(Bytes(32, 0)));
  CHECK_THROWS(ecvrf::public_key(Bytes(32, 0xff)));
  CHECK_THROWS(ecvrf::prove(Bytes(31, 1), alpha));
}

TEST_CASE("ecvrf: fresh keys prove and verify; output is deterministic per input") {
  const Bytes sk = ecvrf::generate_secret_key();
  const Bytes pk = ecvrf::public_key(sk);
  CHECK(pk.size() == ecvrf::kPublicKeySize);
  const Bytes pi1 = ecvrf::prove(sk, Bytes{1, 2, 3});
  CHECK(pi1 == ecvrf::prove(sk, Bytes{1, 2, 3}));
  const Bytes pi2 = ecvrf::prove(sk, Bytes{});
  CHECK(ecvrf::verify(pk, Bytes{1, 2, 3}, pi1) == ecvrf::proof_to_hash(pi1));
  CHECK(ecvrf::verify(pk, Bytes{}, pi2));
  CHECK(ecvrf::proof_to_hash(pi1) != ecvrf::proof_to_hash(pi2));
}
