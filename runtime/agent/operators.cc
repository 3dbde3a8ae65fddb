#include "runtime/agent/operators.h"

#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

#include "attest/ossl.h"
#include "base/error.h"
#include "base/hash.h"

namespace ef::agent {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

const EVP_MD* digest_for(EVP_PKEY* key) {
  const std::string curve = ossl::ec_curve_name(key);
  if (curve == "P-256") return EVP_sha256();
  if (curve == "P-384") return EVP_sha384();
  throw Error("operator key must be EC P-256 or P-384" + (curve.empty() ? std::string() : ", not " + curve));
}

}  // namespace

std::string spki_fingerprint(std::span<const std::uint8_t> spki_der) {
  return "sha256:" + to_hex(digest(HashAlgo::kSha256, spki_der));
}

void OperatorList::add(std::string_view entry) {
  std::string fp;
  if (entry.rfind("sha256:", 0) == 0) {
    const std::string_view hex = entry.substr(7);
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
      throw Error("operator fingerprint must be sha256: followed by 64 hex digits");
    fp = "sha256:" + to_hex(from_hex(hex));
  } else if (entry.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos) {
    ossl::PkeyPtr key = ossl::public_key_from_pem(entry, "operator public key");
    digest_for(key.get());
    fp = spki_fingerprint(ossl::public_key_to_der(key.get()));
  } else {
    throw Error("operator entry must be a PEM public key (-----BEGIN PUBLIC KEY-----) or sha256:HEX");
  }
  if (std::find(fingerprints_.begin(), fingerprints_.end(), fp) == fingerprints_.end()) fingerprints_.push_back(fp);
}

bool OperatorList::allows(std::span<const std::uint8_t> spki_der) const {
  const std::string fp = spki_fingerprint(spki_der);
  return std::find(fingerprints_.begin(), fingerprints_.end(), fp) != fingerprints_.end();
}

bool verify_operator_signature(std::span<const std::uint8_t> spki_der, std::span<const std::uint8_t> message,
                               std::span<const std::uint8_t> signature) {
  const unsigned char* p = spki_der.data();
  ossl::PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!key || p != spki_der.data() + spki_der.size()) ossl::fail("operator key (DER SubjectPublicKeyInfo)");
  const EVP_MD* md = digest_for(key.get());
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1) ossl::fail("EVP_DigestVerifyInit");
  const int r = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size());
  ERR_clear_error();
  return r == 1;
}

}  // namespace ef::agent
