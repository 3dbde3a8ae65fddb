#include "attest/websrv/proof.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sys/stat.h>

#include <cstdio>
#include <system_error>

#include "attest/ecvrf.h"
#include "attest/ossl.h"
#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

namespace ef::websrv {
namespace {

std::string octal(unsigned mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%o", mode);
  return buf;
}

void append(Bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }
void append(Bytes& out, std::span<const std::uint8_t> s) { out.insert(out.end(), s.begin(), s.end()); }

}  // namespace

Bytes file_alpha(std::string_view path, std::span<const std::uint8_t, 64> sha3_512) {
  Bytes out;
  out.reserve(kFileAlphaDomain.size() + path.size() + 66);
  append(out, kFileAlphaDomain);
  out.push_back(0);
  append(out, path);
  out.push_back(0);
  append(out, std::span<const std::uint8_t>(sha3_512));
  return out;
}

Bytes file_attestation_user_data(std::string_view path, std::span<const std::uint8_t, 64> sha3_512,
                                 std::span<const std::uint8_t> vrf_public_key, std::span<const std::uint8_t> proof) {
  Bytes m;
  append(m, kFileAttestationDomain);
  m.push_back(0);
  append(m, path);
  m.push_back(0);
  append(m, std::span<const std::uint8_t>(sha3_512));
  append(m, vrf_public_key);
  append(m, proof);
  Bytes out(64);
  unsigned int len = 0;
  if (!EVP_Digest(m.data(), m.size(), out.data(), &len, EVP_sha512(), nullptr) || len != 64)
    ossl::fail("SHA-512 of file attestation user_data");
  return out;
}

VrfKey VrfKey::ephemeral() {
  VrfKey k;
  k.sk_ = ecvrf::generate_secret_key();
  k.pk_ = ecvrf::public_key(k.sk_);
  return k;
}

VrfKey VrfKey::load_or_create(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw Error("create VRF key directory " + dir.string() + ": " + ec.message());
    if (::chmod(dir.c_str(), 0700) != 0) throw_errno("chmod", dir.string());
  }
  struct stat st {};
  VrfKey k;
  if (::stat(file.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0)
      throw Error("VRF key " + file.string() + " is accessible by group or others (mode " + octal(st.st_mode & 0777) +
                  "); chmod 600 it");
    k.sk_ = read_file(file);
    if (k.sk_.size() != ecvrf::kSecretKeySize)
      throw Error("VRF key " + file.string() + ": expected 32 raw bytes, found " + std::to_string(k.sk_.size()));
  } else {
    if (errno != ENOENT) throw_errno("stat", file.string());
    k.sk_ = ecvrf::generate_secret_key();
    AtomicFile out(file, 0600);
    out.write(std::span<const std::uint8_t>(k.sk_));
    out.commit();
  }
  k.pk_ = with_context("VRF key " + file.string(), [&] { return ecvrf::public_key(k.sk_); });
  return k;
}

Bytes VrfKey::prove(std::span<const std::uint8_t> alpha) const { return ecvrf::prove(sk_, alpha); }

Bytes vrf_public_key_spki(std::span<const std::uint8_t> point) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (!bld) ossl::fail("OSSL_PARAM_BLD_new");
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* raw = nullptr;
  const bool ok = params && ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
                  EVP_PKEY_fromdata(ctx, &raw, EVP_PKEY_PUBLIC_KEY, params) > 0;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok) ossl::fail("VRF public key to SubjectPublicKeyInfo");
  ossl::PkeyPtr key(raw);
  return ossl::public_key_to_der(key.get());
}

}  // namespace ef::websrv
