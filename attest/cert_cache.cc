#include "attest/cert_cache.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"

namespace ef::attest {
namespace {

struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};

/// A certificate is issued by few keys (normally one); bound the list anyway.
constexpr std::size_t kMaxIssuersPerCert = 4;

}  // namespace

CertCache::CertCache(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

CertCache::Digest CertCache::sha256(std::span<const std::uint8_t> der) {
  Digest d{};
  unsigned int len = 0;
  if (EVP_Digest(der.data(), der.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 || len != d.size())
    ossl::fail("cannot hash certificate");
  return d;
}

std::size_t CertCache::DigestHash::operator()(const Digest& d) const {
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);  // already uniformly distributed
  return h;
}

CertCache::Entry* CertCache::touch(const Digest& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &*it->second;
}

ossl::X509Ptr CertCache::certificate(const Digest& key, std::span<const std::uint8_t> der, std::string_view what) {
  {
    std::lock_guard lock(mu_);
    if (Entry* e = touch(key)) {
      ++stats_.cert_hits;
      if (X509_up_ref(e->cert.get()) != 1) ossl::fail("cannot reference certificate");
      return ossl::X509Ptr(e->cert.get());
    }
    ++stats_.cert_misses;
  }
  ossl::X509Ptr parsed = ossl::cert_from_der(der, what);  // throws; nothing remembered
  // Compute the cached extension data once, before the object is shared.
  (void)X509_get_extension_flags(parsed.get());
  if (X509_up_ref(parsed.get()) != 1) ossl::fail("cannot reference certificate");
  ossl::X509Ptr held(parsed.get());
  std::lock_guard lock(mu_);
  if (touch(key)) return parsed;  // another thread was first
  lru_.push_front(Entry{key, std::move(held), {}});
  index_.emplace(key, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++stats_.evictions;
  }
  return parsed;
}

bool CertCache::signature_known(const Digest& child, const Digest& issuer) {
  std::lock_guard lock(mu_);
  Entry* e = touch(child);
  const bool known = e && std::find(e->verified_by.begin(), e->verified_by.end(), issuer) != e->verified_by.end();
  ++(known ? stats_.signature_hits : stats_.signature_misses);
  return known;
}

void CertCache::remember_signature(const Digest& child, const Digest& issuer) {
  std::lock_guard lock(mu_);
  Entry* e = touch(child);
  if (!e || std::find(e->verified_by.begin(), e->verified_by.end(), issuer) != e->verified_by.end()) return;
  if (e->verified_by.size() >= kMaxIssuersPerCert) e->verified_by.erase(e->verified_by.begin());
  e->verified_by.push_back(issuer);
}

std::shared_ptr<const CertCache::Anchors> CertCache::anchors(std::span<const std::vector<std::uint8_t>> roots) {
  std::vector<Digest> digests;
  std::vector<std::uint8_t> all;
  for (const auto& der : roots) {
    digests.push_back(sha256(der));
    all.insert(all.end(), digests.back().begin(), digests.back().end());
  }
  const Digest key = sha256(all);
  {
    std::lock_guard lock(mu_);
    if (anchors_ && anchors_key_ == key) return anchors_;
  }
  auto made = std::make_shared<Anchors>();
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  if (!store) ossl::fail("cannot allocate X509 store");
  for (std::size_t i = 0; i < roots.size(); ++i) {
    ossl::X509Ptr root = ossl::cert_from_der(roots[i], "trusted root");
    (void)X509_get_extension_flags(root.get());
    if (X509_STORE_add_cert(store.get(), root.get()) != 1) ossl::fail("cannot add trusted root");
    made->roots.emplace_back(std::move(root), digests[i]);
  }
  made->store = std::shared_ptr<X509_STORE>(store.release(), StoreFree{});
  std::lock_guard lock(mu_);
  anchors_ = made;
  anchors_key_ = key;
  return made;
}

CertCache::Stats CertCache::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.size = lru_.size();
  return s;
}

bool CertCache::contains(const Digest& key) const {
  std::lock_guard lock(mu_);
  return index_.count(key) != 0;
}

}  // namespace ef::attest
