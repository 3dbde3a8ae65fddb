#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "attest/ossl.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "builder/eif_reader.h"
#include "builder/eif_signature.h"

namespace fs = std::filesystem;
using namespace ef;
using namespace ef::eif;

static const fs::path kVectors = fs::path(EF_VECTORS_DIR) / "eif_selfgenerated";

TEST_CASE("the independent signed.eif signature verifies against its PCR0 and certificate") {
  EifImage img = EifImage::open(kVectors / "signed.eif");
  Measurements m = img.measure();
  const Section* sig = img.find_first(SectionType::kSignature);
  REQUIRE(sig);
  SignatureCheck check = check_signature_section(img.read_section(*sig), m.pcr0, img.name(), sig->data_offset);
  CHECK(check.certificate_der == load_certificate_der((kVectors / "signing_cert.pem").string()));
  CHECK(to_hex(pcr_from_digest(digest(HashAlgo::kSha384, check.certificate_der))) ==
        to_hex(pcr_of_certificate_pem(kVectors / "signing_cert.pem")));

  SECTION("a different PCR0 is rejected") {
    Bytes other = m.pcr0;
    other[0] ^= 1;
    CHECK_THROWS_WITH(check_signature_section(img.read_section(*sig), other, img.name(), sig->data_offset),
                      Catch::Contains("differs from the image's PCR0"));
  }
  SECTION("a flipped bit in the COSE signature is rejected; in the certificate it changes PCR8 or fails") {
    Bytes section = img.read_section(*sig);
    std::string_view text(reinterpret_cast<const char*>(section.data()), section.size());
    std::size_t cose_start = text.find("signature", text.find("signing_certificate") + 19);
    REQUIRE(cose_start != std::string_view::npos);
    for (std::size_t i = cose_start; i < section.size(); ++i) {
      Bytes bad = section;
      bad[i] ^= 0x01;
      CHECK_THROWS_AS(check_signature_section(bad, m.pcr0, img.name(), sig->data_offset), Error);
    }
    std::size_t changed_pcr8 = 0, failed = 0;
    for (std::size_t i = 0; i < cose_start; ++i) {
      Bytes bad = section;
      bad[i] ^= 0x01;
      try {
        SignatureCheck c = check_signature_section(bad, m.pcr0, img.name(), sig->data_offset);
        if (c.certificate_der != check.certificate_der) ++changed_pcr8;
      } catch (const Error&) {
        ++failed;
      }
    }
    // Bytes PEM parsing ignores (line breaks) may pass unchanged; everything else is caught.
    CHECK(changed_pcr8 + failed > cose_start * 9 / 10);
  }
}

TEST_CASE("a section we make verifies, and encodes byte vectors as integer arrays") {
  auto key = ossl::generate_ec_key("P-384");
  std::string cert = read_text_file(kVectors / "signing_cert.pem");
  Bytes pcr0(48, 0xab);
  // The certificate is not the key's: the COSE check must fail with it...
  Bytes section = make_signature_section(cert, key.get(), pcr0);
  CHECK_THROWS(check_signature_section(section, pcr0, "x", 0));
  // ...and the section starts as CBOR array(1) of map(2) with text key "signing_certificate".
  CHECK(section[0] == 0x81);
  CHECK(section[1] == 0xa2);
  CHECK(section[2] == 0x73);  // text(19)
}

TEST_CASE("signing keys readable by others are refused") {
  fs::path dir = fs::temp_directory_path() / "ef-sigkey-test";
  fs::create_directories(dir);
  auto key = ossl::generate_ec_key("P-384");
  fs::path p = dir / "key.pem";
  std::string pem = ossl::private_key_to_pem(key.get());
  FILE* f = std::fopen(p.c_str(), "w");
  std::fwrite(pem.data(), 1, pem.size(), f);
  std::fclose(f);
  ::chmod(p.c_str(), 0644);
  CHECK_THROWS_WITH(load_signing_key(p.string()), Catch::Contains("chmod 600"));
  ::chmod(p.c_str(), 0600);
  CHECK(load_signing_key(p.string()) != nullptr);
  fs::remove_all(dir);
}
