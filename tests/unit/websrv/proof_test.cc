#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "attest/ecvrf.h"
#include "attest/websrv/proof.h"
#include "base/error.h"

using namespace ef::websrv;
namespace fs = std::filesystem;

namespace {
std::array<std::uint8_t, 64> hash_of(std::uint8_t fill) {
  std::array<std::uint8_t, 64> h{};
  h.fill(fill);
  return h;
}
}  // namespace

TEST_CASE("file alpha: the documented byte layout") {
  const auto h = hash_of(0x5a);
  const Bytes alpha = file_alpha("/etc/x", h);
  // "ef-file-v1" 00 "/etc/x" 00 hash(64), spelled out by hand.
  Bytes expected = {'e', 'f', '-', 'f', 'i', 'l', 'e', '-', 'v', '1', 0x00, '/', 'e', 't', 'c', '/', 'x', 0x00};
  expected.insert(expected.end(), 64, 0x5a);
  CHECK(alpha == expected);
}

TEST_CASE("file proof: verifies with the public key; any change breaks it") {
  const VrfKey key = VrfKey::ephemeral();
  const auto h = hash_of(1);
  const Bytes pi = key.prove(file_alpha("/bin/sh", h));
  REQUIRE(pi.size() == ef::ecvrf::kProofSize);
  auto beta = ef::ecvrf::verify(key.public_key(), file_alpha("/bin/sh", h), pi);
  REQUIRE(beta);
  CHECK(*beta == ef::ecvrf::proof_to_hash(pi));
  CHECK_FALSE(ef::ecvrf::verify(key.public_key(), file_alpha("/bin/ls", h), pi));
  CHECK_FALSE(ef::ecvrf::verify(key.public_key(), file_alpha("/bin/sh", hash_of(2)), pi));
  CHECK_FALSE(ef::ecvrf::verify(VrfKey::ephemeral().public_key(), file_alpha("/bin/sh", h), pi));
  Bytes bad = pi;
  bad[40] ^= 1;
  CHECK_FALSE(ef::ecvrf::verify(key.public_key(), file_alpha("/bin/sh", h), bad));
}

TEST_CASE("file attestation user_data: SHA-512 of the documented message") {
  const auto h = hash_of(7);
  const Bytes pk(33, 2), pi(81, 9);
  Bytes m;
  const std::string head = std::string("ef-file-attestation-v1") + '\0' + "/p" + '\0';
  m.insert(m.end(), head.begin(), head.end());
  m.insert(m.end(), h.begin(), h.end());
  m.insert(m.end(), pk.begin(), pk.end());
  m.insert(m.end(), pi.begin(), pi.end());
  Bytes expected(64);
  unsigned len = 0;
  REQUIRE(EVP_Digest(m.data(), m.size(), expected.data(), &len, EVP_sha512(), nullptr));
  CHECK(file_attestation_user_data("/p", h, pk, pi) == expected);
}

TEST_CASE("VRF key file: created 0600 in a 0700 dir, reloaded, refused when loose") {
  const fs::path dir = fs::temp_directory_path() / ("ef_websrv_vrf_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const fs::path file = dir / "keys" / "vrf.key";
  const VrfKey a = VrfKey::load_or_create(file);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(file.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(fs::file_size(file) == 32);
  const VrfKey b = VrfKey::load_or_create(file);
  CHECK(a.public_key() == b.public_key());
  ::chmod(file.c_str(), 0644);
  CHECK_THROWS_WITH(VrfKey::load_or_create(file), Catch::Contains("chmod 600"));
  fs::remove_all(dir);
}

TEST_CASE("VRF public key as SubjectPublicKeyInfo") {
  const VrfKey key = VrfKey::ephemeral();
  const Bytes spki = vrf_public_key_spki(key.public_key());
  // P-256 SPKI DER: 91 bytes (uncompressed point), starting with the fixed prefix.
  CHECK(spki.size() == 91);
  CHECK(spki[0] == 0x30);
  CHECK_THROWS_AS(vrf_public_key_spki(Bytes(33, 0)), ef::Error);
}
