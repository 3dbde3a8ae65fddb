#include "attest/dev_ca.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"

namespace fs = std::filesystem;

namespace ef::attest {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;

struct CertSpec {
  std::string common_name;
  std::int64_t not_before_ms = 0;
  std::int64_t not_after_ms = 0;
  bool ca = false;
  int pathlen = -1;  ///< for CAs; -1 = none
};

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext || X509_add_ext(cert, ext, -1) != 1) {
    X509_EXTENSION_free(ext);
    ossl::fail(std::string("cannot add certificate extension ") + value);
  }
  X509_EXTENSION_free(ext);
}

X509_NAME* make_name(const std::string& cn) {
  X509_NAME* name = X509_NAME_new();
  auto add = [&](const char* field, const std::string& v) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(v.c_str()), -1, -1, 0);
  };
  add("C", "US");
  add("O", "Enclave Framework (development)");
  add("OU", "simulated NSM");
  add("CN", cn);
  return name;
}

/// Builds and signs one certificate. `issuer` null means self-signed with `issuer_key` = the subject's key.
ossl::X509Ptr make_cert(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key) {
  ossl::X509Ptr cert(X509_new());
  if (!cert) ossl::fail("cannot allocate certificate");
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) ossl::fail("no randomness for a serial number");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_NAME* subject = make_name(spec.common_name);
  X509_set_subject_name(cert.get(), subject);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject);
  X509_NAME_free(subject);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before_ms / 1000));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after_ms / 1000));
  X509_set_pubkey(cert.get(), subject_key);
  X509* issuer_cert = issuer ? issuer : cert.get();
  if (spec.ca) {
    const std::string bc = "critical,CA:TRUE" + (spec.pathlen >= 0 ? ",pathlen:" + std::to_string(spec.pathlen) : "");
    add_ext(cert.get(), issuer_cert, NID_basic_constraints, bc.c_str());
    add_ext(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    add_ext(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature");
  }
  add_ext(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), issuer_key, EVP_sha384()) <= 0) ossl::fail("cannot sign certificate");
  return cert;
}

std::string octal(unsigned mode) {
  char b[16];
  std::snprintf(b, sizeof b, "%03o", mode & 0777u);
  return b;
}

void check_private(const fs::path& p, mode_t max_mode) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) throw_errno("stat", p.string());
  if ((st.st_mode & 0777 & ~max_mode) != 0)
    throw Error(p.string() + " has mode " + octal(st.st_mode) + ", expected at most " + octal(max_mode) +
                " (it holds or guards a private key)");
}

void create_into(const fs::path& dir, std::int64_t now_ms) {
  auto root_key = ossl::generate_ec_key("P-384");
  auto inter_key = ossl::generate_ec_key("P-384");
  auto root = make_cert({"ef-dev.nitro-enclaves", now_ms - kDayMs, now_ms + 20 * 365 * kDayMs, true, -1}, root_key.get(),
                        nullptr, root_key.get());
  auto inter = make_cert({"ef-dev intermediate", now_ms - kDayMs, now_ms + 10 * 365 * kDayMs, true, 0}, inter_key.get(),
                         root.get(), root_key.get());
  write_file_atomic(dir / kDevRootKey, ossl::private_key_to_pem(root_key.get()), 0600);
  write_file_atomic(dir / kDevIntermediateKey, ossl::private_key_to_pem(inter_key.get()), 0600);
  write_file_atomic(dir / kDevRootCert, ossl::cert_to_pem(root.get()), 0644);
  write_file_atomic(dir / kDevIntermediateCert, ossl::cert_to_pem(inter.get()), 0644);
}

}  // namespace

DevCa load_or_create_dev_ca(const fs::path& dir, std::int64_t now_ms) {
  if (!fs::exists(dir)) {
    if (dir.has_parent_path()) fs::create_directories(dir.parent_path());
    const fs::path tmp = dir.string() + ".tmp-" + std::to_string(::getpid());
    fs::remove_all(tmp);
    if (::mkdir(tmp.c_str(), 0700) != 0) throw_errno("mkdir", tmp.string());
    try {
      create_into(tmp, now_ms);
    } catch (...) {
      fs::remove_all(tmp);
      throw;
    }
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      const int saved = errno;
      fs::remove_all(tmp);
      if (saved != EEXIST && saved != ENOTEMPTY) throw SysError("rename", tmp.string(), saved);
      // Another process created the CA first: use theirs.
    }
  }
  return with_context("dev CA " + dir.string(), [&] {
    check_private(dir, 0700);
    check_private(dir / kDevRootKey, 0600);
    check_private(dir / kDevIntermediateKey, 0600);
    DevCa ca;
    ca.root = std::move(ossl::certs_from_pem(read_text_file(dir / kDevRootCert)).at(0));
    ca.intermediate = std::move(ossl::certs_from_pem(read_text_file(dir / kDevIntermediateCert)).at(0));
    ca.intermediate_key = ossl::private_key_from_pem(read_text_file(dir / kDevIntermediateKey));
    if (X509_check_private_key(ca.intermediate.get(), ca.intermediate_key.get()) != 1)
      ossl::fail("intermediate key does not match its certificate");
    return ca;
  });
}

IssuedCert issue_leaf(const DevCa& ca, std::string_view common_name, std::int64_t now_ms, std::int64_t lifetime_ms) {
  IssuedCert leaf;
  leaf.key = ossl::generate_ec_key("P-384");
  leaf.cert = make_cert({std::string(common_name), now_ms - 60'000, now_ms + lifetime_ms, false, -1}, leaf.key.get(),
                        ca.intermediate.get(), ca.intermediate_key.get());
  return leaf;
}

}  // namespace ef::attest
