#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

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

TEST_CASE("ecvrf: a key decoded once verifies exactly as the bytes do") {
  for (const auto& v : p256_vectors()) {
    INFO("example " << v["example"]);
    const Bytes pk = hex(v["PK"]), alpha = hex(v["alpha"]), pi = hex(v["pi"]);
    const auto key = ecvrf::PublicKey::decode(pk);
    REQUIRE(key);
    CHECK(key->bytes() == pk);
    auto beta = ecvrf::verify(*key, alpha, pi);
    REQUIRE(beta);
    CHECK(to_hex(*beta) == v["beta"]);
    Bytes bad = pi;
    bad[40] ^= 0x80;
    CHECK_FALSE(ecvrf::verify(*key, alpha, bad));
  }
  // Fresh keys and inputs: prove and verify agree, through either entry point.
  for (int i = 0; i < 20; ++i) {
    const Bytes sk = ecvrf::generate_secret_key(), pk = ecvrf::public_key(sk);
    const Bytes alpha = {static_cast<std::uint8_t>(i), 'a'};
    const Bytes pi = ecvrf::prove(sk, alpha);
    const auto key = ecvrf::PublicKey::decode(pk);
    REQUIRE(key);
    const auto b1 = ecvrf::verify(pk, alpha, pi), b2 = ecvrf::verify(*key, alpha, pi);
    REQUIRE(b1);
    REQUIRE(b2);
    CHECK(*b1 == *b2);
    CHECK(*b1 == ecvrf::proof_to_hash(pi));
    CHECK_FALSE(ecvrf::verify(*key, Bytes{'z'}, pi));
    Bytes negated = pk;  // -Y: same x, the other y
    negated[0] ^= 0x01;
    const auto neg = ecvrf::PublicKey::decode(negated);
    REQUIRE(neg);
    CHECK_FALSE(ecvrf::verify(*neg, alpha, pi));
  }
}

TEST_CASE("ecvrf: string_to_point accepts what OpenSSL's EC_POINT_oct2point accepts") {
  // ECVRF decodes compressed points with its own square root; cross-check it
  // against OpenSSL on random x (half are not on the curve), both signs, and on
  // the non-canonical x + p, which OpenSSL and RFC 9381 refuse.
  EC_GROUP* g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  EC_POINT* p = EC_POINT_new(g);
  REQUIRE((g && p));
  auto openssl_ok = [&](const Bytes& s) {
    const int ok = EC_POINT_oct2point(g, p, s.data(), s.size(), nullptr);
    ERR_clear_error();
    return ok == 1;
  };
  int on_curve = 0;
  for (int i = 0; i < 400; ++i) {
    Bytes s(33);
    RAND_bytes(s.data() + 1, 32);
    s[0] = (i % 2) ? 0x03 : 0x02;
    if (i % 50 == 0) std::fill(s.begin() + 1, s.begin() + 5, 0xff);  // x >= p often
    const bool ours = ecvrf::PublicKey::decode(s).has_value();
    INFO(to_hex(s));
    CHECK(ours == openssl_ok(s));
    on_curve += ours;
  }
  CHECK(on_curve > 100);
  CHECK(on_curve < 300);
  // x = 0 is on P-256; x = 0 + p is the same field element, not canonically encoded.
  const Bytes x0 = from_hex("02" + std::string(64, '0'));
  const Bytes x0_plus_p = from_hex("02ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
  CHECK(ecvrf::PublicKey::decode(x0));
  CHECK(openssl_ok(x0));
  CHECK_FALSE(ecvrf::PublicKey::decode(x0_plus_p));
  CHECK_FALSE(openssl_ok(x0_plus_p));
  EC_POINT_free(p);
  EC_GROUP_free(g);
}
