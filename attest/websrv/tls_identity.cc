#include "attest/websrv/tls_identity.h"

#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <system_error>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"

namespace ef::websrv {
namespace {

void add_ext(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext || !X509_add_ext(cert, ext, -1)) ossl::fail("add certificate extension");
  X509_EXTENSION_free(ext);
}

}  // namespace

TlsIdentity generate_tls_identity(std::string_view curve, std::string_view common_name) {
  TlsIdentity id;
  id.key_type = std::string(curve);
  id.key = ossl::generate_ec_key(curve);
  id.cert.reset(X509_new());
  X509* c = id.cert.get();
  if (!c || !X509_set_version(c, 2)) ossl::fail("X509_new");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) ossl::fail("RAND_bytes");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c))) ossl::fail("certificate serial");
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 365L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(c);
  const std::string cn(common_name);
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                  -1, 0) ||
      !X509_set_issuer_name(c, name) || !X509_set_pubkey(c, id.key.get()))
    ossl::fail("certificate subject");
  add_ext(c, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(c, NID_key_usage, "critical,digitalSignature");
  add_ext(c, NID_ext_key_usage, "serverAuth");
  add_ext(c, NID_subject_alt_name, ("DNS:" + cn).c_str());
  const EVP_MD* md = curve == "P-256" ? EVP_sha256() : EVP_sha384();
  if (!X509_sign(c, id.key.get(), md)) ossl::fail("self-sign the TLS certificate");
  id.spki_der = ossl::public_key_to_der(id.key.get());
  return id;
}

TlsIdentity load_tls_identity(const std::filesystem::path& cert_file, const std::filesystem::path& key_file) {
  TlsIdentity id;
  auto certs = ossl::certs_from_pem(read_text_file(cert_file), cert_file.string());
  id.cert = std::move(certs.front());
  id.key = ossl::private_key_from_pem(read_text_file(key_file), key_file.string());
  if (X509_check_private_key(id.cert.get(), id.key.get()) != 1)
    ossl::fail("TLS key " + key_file.string() + " does not match certificate " + cert_file.string());
  id.key_type = ossl::ec_curve_name(id.key.get());
  if (id.key_type.empty()) id.key_type = "non-EC";
  id.spki_der = ossl::public_key_to_der(id.key.get());
  return id;
}

void write_tls_identity(const TlsIdentity& id, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("create TLS directory " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) throw_errno("chmod", dir.string());
  write_file_atomic(dir / "key.pem", ossl::private_key_to_pem(id.key.get()), 0600);
  write_file_atomic(dir / "cert.pem", ossl::cert_to_pem(id.cert.get()), 0644);
}

}  // namespace ef::websrv
