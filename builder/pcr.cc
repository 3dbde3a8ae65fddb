#include "builder/pcr.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "base/error.h"
#include "base/file.h"

namespace ef::eif {

std::vector<std::uint8_t> pcr_from_digest(std::span<const std::uint8_t> sha384) {
  Hasher h(HashAlgo::kSha384);
  const std::uint8_t zeros[48] = {};
  h.update(zeros);
  h.update(sha384);
  return h.finish();
}

std::vector<std::uint8_t> PcrHasher::finish() { return pcr_from_digest(hasher_.finish()); }

std::vector<std::uint8_t> pcr_of_file(const std::filesystem::path& path) {
  return pcr_from_digest(digest_file(HashAlgo::kSha384, path));
}

std::vector<std::uint8_t> pcr_of_certificate_pem(const std::filesystem::path& pem_path) {
  std::string pem = read_text_file(pem_path);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                                                   X509_free);
  if (!cert) throw Error(pem_path.string() + ": not a PEM certificate");
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  if (len <= 0) throw Error(pem_path.string() + ": cannot encode certificate as DER");
  std::vector<std::uint8_t> bytes(der, der + len);
  OPENSSL_free(der);
  return pcr_from_digest(digest(HashAlgo::kSha384, bytes));
}

nlohmann::ordered_json measurements_json(const Measurements& m) {
  nlohmann::ordered_json j;
  j["HashAlgorithm"] = "Sha384 { ... }";
  j["PCR0"] = to_hex(m.pcr0);
  j["PCR1"] = to_hex(m.pcr1);
  j["PCR2"] = to_hex(m.pcr2);
  if (m.pcr8) j["PCR8"] = to_hex(*m.pcr8);
  return j;
}

}  // namespace ef::eif
