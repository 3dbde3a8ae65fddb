#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "attest/cbor.h"
#include "attest/cose.h"
#include "attest/ossl.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

using namespace ef;
using cbor::Value;
namespace fs = std::filesystem;

namespace {

const fs::path kVectors = EF_VECTORS_DIR;

std::uint64_t be(const Bytes& b, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | b.at(at + static_cast<std::size_t>(i));
  return v;
}

/// The data of the EIF's signature section (type 4), found through the header's offsets.
Bytes eif_signature_section(const Bytes& eif) {
  const std::size_t num = be(eif, 26, 2);
  for (std::size_t i = 0; i < num; ++i) {
    const std::size_t off = be(eif, 28 + 8 * i, 8);
    if (be(eif, off, 2) != 4) continue;
    const std::size_t size = be(eif, off + 4, 8);
    return Bytes(eif.begin() + static_cast<long>(off + 12), eif.begin() + static_cast<long>(off + 12 + size));
  }
  FAIL("no signature section");
  return {};
}

std::vector<fs::path> nitro_documents() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kVectors / "nitro_attestation"))
    if (e.path().extension() == ".cbor") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

Bytes flip(Bytes b, std::size_t byte, int bit = 0) {
  b.at(byte) ^= static_cast<std::uint8_t>(1u << bit);
  return b;
}

}  // namespace

TEST_CASE("cose: sign then verify for ES256, ES384, ES512") {
  const Bytes payload = {'h', 'e', 'l', 'l', 'o'};
  for (auto [curve, alg, width] : {std::tuple{"P-256", -7, 32}, {"P-384", -35, 48}, {"P-521", -36, 66}}) {
    INFO(curve);
    auto key = ossl::generate_ec_key(curve);
    const Bytes msg = cose::sign1(key.get(), payload);
    cose::Sign1 s = cose::parse_sign1(msg);
    CHECK_FALSE(s.tagged);
    CHECK(s.alg() == alg);
    CHECK(s.protected_bytes == cbor::encode(Value::map({{Value::integer(1), Value::integer(alg)}})));
    CHECK(s.unprotected == Value::map());
    CHECK(s.payload == payload);
    CHECK(s.signature.size() == static_cast<std::size_t>(2 * width));
    CHECK_NOTHROW(cose::verify_sign1(s, key.get()));
    // external_aad is part of what is signed.
    const Bytes aad = {1, 2, 3};
    CHECK_THROWS_WITH(cose::verify_sign1(s, key.get(), aad), Catch::Contains("does not verify"));
    CHECK_NOTHROW(cose::verify_sign1(cose::parse_sign1(cose::sign1(key.get(), payload, aad)), key.get(), aad));
  }
}

TEST_CASE("cose: wrong key, wrong curve, tampering, bad shapes") {
  auto key = ossl::generate_ec_key("P-384");
  auto other = ossl::generate_ec_key("P-384");
  auto p256 = ossl::generate_ec_key("P-256");
  const Bytes msg = cose::sign1(key.get(), Bytes{1, 2, 3});
  cose::Sign1 s = cose::parse_sign1(msg);
  CHECK_THROWS_WITH(cose::verify_sign1(s, other.get()), Catch::Contains("does not verify"));
  CHECK_THROWS_WITH(cose::verify_sign1(s, p256.get()), Catch::Contains("does not match the key's curve"));
  cose::Sign1 t = s;
  t.payload[0] ^= 1;
  CHECK_THROWS_WITH(cose::verify_sign1(t, key.get()), Catch::Contains("does not verify"));
  t = s;
  t.signature.pop_back();
  CHECK_THROWS_WITH(cose::verify_sign1(t, key.get()), Catch::Contains("expected 96"));
  // Every single bit flip of the encoded message is rejected somewhere.
  for (std::size_t i = 0; i < msg.size(); ++i) {
    INFO("byte " << i);
    const Bytes bad = flip(msg, i, static_cast<int>(i % 8));
    CHECK_THROWS_AS(cose::verify_sign1(cose::parse_sign1(bad), key.get()), Error);
  }
  // Tag 18 is accepted, other tags are not.
  Bytes tagged = {0xd2};
  tagged.insert(tagged.end(), msg.begin(), msg.end());
  CHECK(cose::parse_sign1(tagged).tagged);
  CHECK_NOTHROW(cose::verify_sign1(cose::parse_sign1(tagged), key.get()));
  Bytes tag98 = {0xd8, 0x62};
  tag98.insert(tag98.end(), msg.begin(), msg.end());
  CHECK_THROWS_WITH(cose::parse_sign1(tag98), Catch::Contains("tag 98"));
  Bytes trailing = msg;
  trailing.push_back(0);
  CHECK_THROWS_AS(cose::parse_sign1(trailing), FormatError);
  CHECK_THROWS_WITH(cose::parse_sign1(from_hex("83404040")), Catch::Contains("4 items"));
  CHECK_THROWS_WITH(cose::parse_sign1(from_hex("8440a0f640")), Catch::Contains("detached"));
  CHECK_THROWS_WITH(cose::parse_sign1(from_hex("8441ffa04040")), Catch::Contains("protected header"));
  CHECK_THROWS_WITH(cose::parse_sign1(from_hex("844101a04040")), Catch::Contains("does not hold a map"));
  // An alg other than ES256/384/512 in the protected header.
  cose::Sign1 eddsa = cose::parse_sign1(from_hex("8443a10127a0404100"));
  CHECK(eddsa.alg() == -8);
  CHECK_THROWS_WITH(cose::verify_sign1(eddsa, key.get()), Catch::Contains("EdDSA"));
  CHECK_THROWS_WITH(cose::parse_sign1(from_hex("8440a0404100")).alg(), Catch::Contains("no algorithm"));
}

TEST_CASE("cose: our signature verifies with the openssl CLI") {
  auto key = ossl::generate_ec_key("P-384");
  const Bytes payload = {'x', 'y', 'z'};
  cose::Sign1 s = cose::parse_sign1(cose::sign1(key.get(), payload));
  const fs::path dir = fs::temp_directory_path() / ("ef_cose_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto put = [&](const char* name, std::span<const std::uint8_t> data) {
    UniqueFd fd(::open((dir / name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    write_all(fd.get(), data, name);
  };
  put("tbs", cose::sig_structure(s.protected_bytes, {}, s.payload));
  put("sig", cose::ecdsa_raw_to_der(s.signature));
  put("pub.der", ossl::public_key_to_der(key.get()));
  const std::string cmd = "openssl dgst -sha384 -verify " + (dir / "pub.der").string() + " -keyform DER -signature " +
                          (dir / "sig").string() + " " + (dir / "tbs").string() + " >/dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  fs::remove_all(dir);
}

TEST_CASE("cose: Sig_structure layout (RFC 9052 §4.4)") {
  // ["Signature1", h'a10126', h'', h'54686973']
  CHECK(to_hex(cose::sig_structure(from_hex("a10126"), {}, from_hex("54686973"))) ==
        "846a5369676e61747572653143a101264044" "54686973");
}

TEST_CASE("cose: DER <-> raw ECDSA conversions") {
  // r = 1, s = 0x80 (needs a leading zero in DER).
  const Bytes der = from_hex("3007020101020200" "80");
  const Bytes raw = cose::ecdsa_der_to_raw(der, 4);
  CHECK(to_hex(raw) == "0000000100000080");
  CHECK(cose::ecdsa_raw_to_der(raw) == der);
  CHECK_THROWS(cose::ecdsa_der_to_raw(der, 0));
  CHECK_THROWS(cose::ecdsa_der_to_raw(from_hex("3007020101020200"), 4));
  CHECK_THROWS(cose::ecdsa_der_to_raw(from_hex("3007020101020200" "8000"), 4));
  CHECK_THROWS(cose::ecdsa_raw_to_der(from_hex("010203")));
}

TEST_CASE("cose: an independently made EIF signature (ES384 over PCR0) verifies") {
  const Bytes eif = read_file(kVectors / "eif_selfgenerated/signed.eif");
  const Value section = cbor::decode(eif_signature_section(eif));
  REQUIRE(section.as_array().size() == 1);
  const Value& entry = section.as_array()[0];
  // As aws-nitro-enclaves-image-format writes it: the certificate's PEM text as bytes.
  const Bytes cert_pem = cbor::bytes_from_int_array(entry.at("signing_certificate"));
  const Bytes sig = cbor::bytes_from_int_array(entry.at("signature"));
  CHECK(std::string(cert_pem.begin(), cert_pem.end()) ==
        read_text_file(kVectors / "eif_selfgenerated/signing_cert.pem"));
  auto certs = ossl::certs_from_pem(std::string(cert_pem.begin(), cert_pem.end()));
  X509* cert = certs.at(0).get();

  cose::Sign1 s = cose::parse_sign1(sig);
  CHECK(s.alg() == -35);
  CHECK_NOTHROW(cose::verify_sign1(s, cert));
  const Value pcr_info = cbor::decode(s.payload);
  CHECK(pcr_info.at("register_index").as_uint() == 0);
  const Bytes pcr0 = cbor::bytes_from_int_array(pcr_info.at("register_value"));
  CHECK(pcr0.size() == 48);
  const std::string expected = read_text_file(kVectors / "eif_selfgenerated/expected.json");
  CHECK_THAT(expected, Catch::Contains(to_hex(pcr0)));
  // Re-encoding the payload map ourselves gives the signed bytes exactly.
  Value mine = Value::map();
  mine.insert(Value::text("register_index"), Value::unsigned_int(0));
  mine.insert(Value::text("register_value"), cbor::int_array_from_bytes(pcr0));
  CHECK(cbor::encode(mine) == s.payload);

  cose::Sign1 t = s;
  t.payload = cbor::encode(Value::map({{Value::text("register_index"), Value::unsigned_int(1)},
                                       {Value::text("register_value"), cbor::int_array_from_bytes(pcr0)}}));
  CHECK_THROWS_WITH(cose::verify_sign1(t, cert), Catch::Contains("does not verify"));
}

TEST_CASE("cose: real AWS Nitro attestation documents verify with their leaf certificate") {
  const auto docs = nitro_documents();
  REQUIRE(docs.size() == 6);
  for (const auto& path : docs) {
    INFO(path.filename());
    const Bytes doc = read_file(path);
    cose::Sign1 s = cose::parse_sign1(doc);
    CHECK(s.alg() == -35);
    const Value payload = cbor::decode(s.payload);
    auto leaf = ossl::cert_from_der(payload.at("certificate").as_bytes());
    CHECK_NOTHROW(cose::verify_sign1(s, leaf.get()));
    // A flipped bit in the payload or signature breaks it.
    cose::Sign1 t = s;
    t.payload[t.payload.size() / 2] ^= 0x10;
    CHECK_THROWS_WITH(cose::verify_sign1(t, leaf.get()), Catch::Contains("does not verify"));
    t = s;
    t.signature[5] ^= 0x01;
    CHECK_THROWS_WITH(cose::verify_sign1(t, leaf.get()), Catch::Contains("does not verify"));
    // The CA's key (cabundle's last) did not sign the document.
    auto ca = ossl::cert_from_der(payload.at("cabundle").as_array().back().as_bytes());
    CHECK_THROWS(cose::verify_sign1(s, ca.get()));
  }
}
