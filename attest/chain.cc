#include "attest/chain.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "attest/timefmt.h"
#include "base/error.h"

namespace ef::attest {
namespace {

struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};

std::string subject(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

/// Position names for messages: "leaf", "cabundle[i]".
std::string where(std::size_t bundle_index) { return "cabundle[" + std::to_string(bundle_index) + "]"; }

}  // namespace

CertChain parse_chain(const AttestationDocument& doc, CertCache* cache) {
  CertChain chain;
  chain.leaf = cache ? cache->certificate(CertCache::sha256(doc.certificate), doc.certificate, "leaf certificate")
                     : ossl::cert_from_der(doc.certificate, "leaf certificate");
  for (std::size_t i = 0; i < doc.cabundle.size(); ++i) {
    if (!cache) {
      chain.bundle.push_back(ossl::cert_from_der(doc.cabundle[i], where(i)));
      continue;
    }
    chain.bundle_sha256.push_back(CertCache::sha256(doc.cabundle[i]));
    chain.bundle.push_back(cache->certificate(chain.bundle_sha256.back(), doc.cabundle[i], where(i)));
  }
  return chain;
}

void check_root(const AttestationDocument& doc, std::span<const Bytes> trusted_roots) {
  for (const Bytes& root : trusted_roots)
    if (doc.cabundle.at(0) == root) return;
  throw Error("cabundle[0] is not the trusted root certificate");
}

void check_validity(const CertChain& chain, std::int64_t at_ms) {
  const time_t at = static_cast<time_t>(at_ms / 1000);
  auto check = [&](X509* cert, const std::string& name) {
    time_t t = at;
    if (X509_cmp_time(X509_get0_notBefore(cert), &t) > 0)
      throw Error(name + " (" + subject(cert) + ") is not yet valid at " + format_rfc3339(at_ms));
    if (X509_cmp_time(X509_get0_notAfter(cert), &t) < 0)
      throw Error(name + " (" + subject(cert) + ") has expired at " + format_rfc3339(at_ms));
  };
  check(chain.leaf.get(), "leaf certificate");
  for (std::size_t i = 0; i < chain.bundle.size(); ++i) check(chain.bundle[i].get(), where(i));
}

void check_key_usage(const CertChain& chain) {
  X509* leaf = chain.leaf.get();
  const std::uint32_t flags = X509_get_extension_flags(leaf);
  if (flags & EXFLAG_INVALID) throw Error("leaf certificate has invalid extensions");
  if (!(flags & EXFLAG_KUSAGE) || !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
    throw Error("leaf certificate lacks the digitalSignature key usage");
  if (flags & EXFLAG_CA) throw Error("leaf certificate is a CA");
  if (X509_get_pathlen(leaf) != -1) throw Error("leaf certificate has a pathLenConstraint");
  // bundle[i] has (n - 1 - i) CA certificates below it in the path.
  const std::size_t n = chain.bundle.size();
  for (std::size_t i = 0; i < n; ++i) {
    X509* ca = chain.bundle[i].get();
    const std::uint32_t f = X509_get_extension_flags(ca);
    if (f & EXFLAG_INVALID) throw Error(where(i) + " has invalid extensions");
    const int crit = X509_get_ext_by_NID(ca, NID_basic_constraints, -1);
    if (!(f & EXFLAG_BCONS) || crit < 0 || !X509_EXTENSION_get_critical(X509_get_ext(ca, crit)))
      throw Error(where(i) + " lacks a critical basicConstraints extension");
    if (!(f & EXFLAG_CA)) throw Error(where(i) + " is not a CA");
    if (!(f & EXFLAG_KUSAGE) || !(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN))
      throw Error(where(i) + " lacks the keyCertSign key usage");
    const long pathlen = X509_get_pathlen(ca);
    const auto below = static_cast<long>(n - 1 - i);
    if (pathlen >= 0 && pathlen < below)
      throw Error(where(i) + " allows a path of " + std::to_string(pathlen) + " CA certificates below it, the chain has " +
                  std::to_string(below));
  }
}

namespace {

/// The chain OpenSSL built must be the document's: leaf, cabundle[n-1], ..., cabundle[0].
void check_order(X509_STORE_CTX* ctx, const CertChain& chain) {
  STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx);
  const std::size_t n = chain.bundle.size();
  bool same = static_cast<std::size_t>(sk_X509_num(built)) == n + 1 &&
              X509_cmp(sk_X509_value(built, 0), chain.leaf.get()) == 0;
  for (std::size_t i = 0; same && i < n; ++i)
    same = X509_cmp(sk_X509_value(built, static_cast<int>(n - i)), chain.bundle[i].get()) == 0;
  if (!same) throw Error("cabundle is not the path from the root to the leaf's issuer in order (root first)");
}

std::unique_ptr<X509_STORE_CTX, StoreCtxFree> start(X509_STORE* store, const CertChain& chain, STACK_OF(X509) * untrusted,
                                                    std::int64_t at_ms) {
  for (std::size_t i = 1; i < chain.bundle.size(); ++i) sk_X509_push(untrusted, chain.bundle[i].get());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, chain.leaf.get(), untrusted) != 1)
    ossl::fail("cannot start path validation");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at_ms / 1000));
  // Not X509_V_FLAG_X509_STRICT: AWS's own intermediates lack the Authority Key
  // Identifier that strict mode demands; our explicit checks cover the rest.
  return ctx;
}

/// What the cached verify step needs: the cache and the DER digests of the
/// certificates the chain can contain.
struct CachedVerify {
  CertCache* cache;
  std::vector<std::pair<X509*, CertCache::Digest>> known;
  const CertCache::Digest* digest_of(X509* cert) const {
    for (const auto& [x, d] : known)
      if (x == cert) return &d;
    return nullptr;
  }
};

/// OpenSSL's internal_verify (signatures and times of the built chain, top down)
/// with signatures between cached certificates looked up instead of verified.
/// It accepts only what internal_verify accepts: it checks the same things or
/// more, and it returns 0 on anything unusual (a top that is not self-issued,
/// proxy certificates, extra flags) so that the caller redoes the whole
/// validation without the cache.
int cached_internal_verify(X509_STORE_CTX* ctx) noexcept {
  try {
    const auto* state = static_cast<const CachedVerify*>(X509_STORE_CTX_get_app_data(ctx));
    STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    const unsigned long flags = X509_VERIFY_PARAM_get_flags(param);
    if (!state || !built || !(flags & X509_V_FLAG_USE_CHECK_TIME) ||
        (flags & (X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_CHECK_SS_SIGNATURE | X509_V_FLAG_NO_CHECK_TIME)))
      return 0;
    time_t at = X509_VERIFY_PARAM_get_time(param);
    int n = sk_X509_num(built) - 1;
    X509* xi = sk_X509_value(built, n);
    X509* xs = xi;
    if (X509_check_issued(xi, xi) != X509_V_OK) return 0;  // the top must be self-issued
    X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(ctx);
    while (n >= 0) {
      if (xs != xi) {
        const std::uint32_t fi = X509_get_extension_flags(xi);
        if (X509_get_extension_flags(xs) & EXFLAG_PROXY) return 0;
        if ((fi & EXFLAG_KUSAGE) && !(X509_get_key_usage(xi) & KU_KEY_CERT_SIGN)) return 0;
        EVP_PKEY* pkey = X509_get0_pubkey(xi);
        if (!pkey) return 0;
        const CertCache::Digest* ds = n > 0 ? state->digest_of(xs) : nullptr;  // the leaf is never cached
        const CertCache::Digest* di = state->digest_of(xi);
        if (!(ds && di && state->cache->signature_known(*ds, *di))) {
          if (X509_verify(xs, pkey) <= 0) return 0;
          if (ds && di) state->cache->remember_signature(*ds, *di);
        }
      }
      time_t t = at;
      if (X509_cmp_time(X509_get0_notBefore(xs), &t) >= 0 || X509_cmp_time(X509_get0_notAfter(xs), &t) <= 0) return 0;
      X509_STORE_CTX_set_current_cert(ctx, xs);
      X509_STORE_CTX_set_error_depth(ctx, n);
      if (cb && !cb(1, ctx)) return 0;
      if (--n >= 0) {
        xi = xs;
        xs = sk_X509_value(built, n);
      }
    }
    return 1;
  } catch (...) {
    return 0;
  }
}

/// The whole validation with the cache; false when it did not pass (the caller
/// then redoes it without the cache for the exact verdict and message).
bool check_path_cached(const CertChain& chain, std::span<const Bytes> trusted_roots, std::int64_t at_ms, CertCache& cache) {
  if (chain.bundle_sha256.size() != chain.bundle.size()) return false;
  const auto anchors = cache.anchors(trusted_roots);
  CachedVerify state{&cache, {}};
  for (const auto& [root, d] : anchors->roots) state.known.emplace_back(root.get(), d);
  for (std::size_t i = 0; i < chain.bundle.size(); ++i) state.known.emplace_back(chain.bundle[i].get(), chain.bundle_sha256[i]);
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  auto ctx = start(anchors->store.get(), chain, untrusted.get(), at_ms);
  X509_STORE_CTX_set_app_data(ctx.get(), &state);
  X509_STORE_CTX_set_verify(ctx.get(), cached_internal_verify);
  const bool ok = X509_verify_cert(ctx.get()) == 1;
  ERR_clear_error();
  if (ok) check_order(ctx.get(), chain);
  return ok;
}

}  // namespace

void check_path(const CertChain& chain, std::span<const Bytes> trusted_roots, std::int64_t at_ms, CertCache* cache) {
  if (cache && check_path_cached(chain, trusted_roots, at_ms, *cache)) return;
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  if (!store) ossl::fail("cannot allocate X509 store");
  for (const Bytes& der : trusted_roots) {
    auto root = ossl::cert_from_der(der, "trusted root");
    if (X509_STORE_add_cert(store.get(), root.get()) != 1) ossl::fail("cannot add trusted root");
  }
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  auto ctx = start(store.get(), chain, untrusted.get(), at_ms);
  const int ok = X509_verify_cert(ctx.get());
  if (ok != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ERR_clear_error();
    throw Error(std::string("certificate path does not validate: ") + X509_verify_cert_error_string(err) +
                " (at depth " + std::to_string(depth) + ")");
  }
  check_order(ctx.get(), chain);
}

}  // namespace ef::attest
