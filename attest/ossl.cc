#include "attest/ossl.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "base/error.h"

namespace ef::ossl {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr mem_bio(std::string_view text) {
  BioPtr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!b) fail("cannot allocate BIO");
  return b;
}

std::string bio_text(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return std::string(p, static_cast<std::size_t>(n));
}

}  // namespace

void fail(std::string_view what) {
  std::string m = "OpenSSL: " + std::string(what);
  bool first = true;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    m += first ? ": " : "; ";
    m += buf;
    first = false;
  }
  throw Error(m);
}

X509Ptr cert_from_der(std::span<const std::uint8_t> der, std::string_view what) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) fail("cannot parse " + std::string(what) + " (DER)");
  if (p != der.data() + der.size()) throw Error(std::string(what) + ": trailing bytes after the DER certificate");
  return cert;
}

std::vector<std::uint8_t> cert_to_der(X509* cert) {
  int n = i2d_X509(cert, nullptr);
  if (n <= 0) fail("cannot encode certificate");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(n));
  unsigned char* p = out.data();
  i2d_X509(cert, &p);
  return out;
}

std::vector<X509Ptr> certs_from_pem(std::string_view pem, std::string_view what) {
  auto bio = mem_bio(pem);
  std::vector<X509Ptr> out;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (out.empty()) throw Error(std::string(what) + ": no PEM certificate found");
  return out;
}

std::string cert_to_pem(X509* cert) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_X509(b.get(), cert) != 1) fail("cannot write certificate PEM");
  return bio_text(b.get());
}

PkeyPtr private_key_from_pem(std::string_view pem, std::string_view what) {
  auto bio = mem_bio(pem);
  PkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!k) fail("cannot read " + std::string(what));
  return k;
}

PkeyPtr public_key_from_pem(std::string_view pem, std::string_view what) {
  auto bio = mem_bio(pem);
  PkeyPtr k(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!k) fail("cannot read " + std::string(what));
  return k;
}

std::string private_key_to_pem(EVP_PKEY* key) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_PrivateKey(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("cannot write private key PEM");
  return bio_text(b.get());
}

std::vector<std::uint8_t> public_key_to_der(EVP_PKEY* key) {
  int n = i2d_PUBKEY(key, nullptr);
  if (n <= 0) fail("cannot encode public key");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(n));
  unsigned char* p = out.data();
  i2d_PUBKEY(key, &p);
  return out;
}

PkeyPtr generate_ec_key(std::string_view curve) {
  PkeyPtr k(EVP_EC_gen(std::string(curve).c_str()));
  if (!k) fail("cannot generate EC key on " + std::string(curve));
  return k;
}

std::string ec_curve_name(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return "";
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) {
    ERR_clear_error();
    return "";
  }
  std::string n(name, len);
  if (n == "prime256v1" || n == "P-256") return "P-256";
  if (n == "secp384r1" || n == "P-384") return "P-384";
  if (n == "secp521r1" || n == "P-521") return "P-521";
  return n;
}

}  // namespace ef::ossl
