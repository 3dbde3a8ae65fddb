#pragma once
// Thin RAII and loading helpers over OpenSSL objects used across attest/.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ef::ossl {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

/// Throws ef::Error("OpenSSL: WHAT: <queued OpenSSL errors>") and clears the queue.
[[noreturn]] void fail(std::string_view what);

/// One certificate from DER bytes; throws ef::Error naming `what` on garbage or trailing bytes.
X509Ptr cert_from_der(std::span<const std::uint8_t> der, std::string_view what = "certificate");
std::vector<std::uint8_t> cert_to_der(X509* cert);
/// Every certificate in a PEM text (at least one, else throws).
std::vector<X509Ptr> certs_from_pem(std::string_view pem, std::string_view what = "PEM");
std::string cert_to_pem(X509* cert);

/// A private key from PEM (PKCS#8 or traditional), or a public key (SubjectPublicKeyInfo).
PkeyPtr private_key_from_pem(std::string_view pem, std::string_view what = "private key");
PkeyPtr public_key_from_pem(std::string_view pem, std::string_view what = "public key");
std::string private_key_to_pem(EVP_PKEY* key);
/// SubjectPublicKeyInfo DER of a key.
std::vector<std::uint8_t> public_key_to_der(EVP_PKEY* key);

/// A fresh EC key on the named curve ("P-256", "P-384", "P-521").
PkeyPtr generate_ec_key(std::string_view curve);
/// The curve name of an EC key ("P-256"...), or "" for a non-EC key.
std::string ec_curve_name(EVP_PKEY* key);

}  // namespace ef::ossl
