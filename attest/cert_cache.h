#pragma once
// A bounded memory of the CA certificates that attestation documents carry in
// their cabundle, for a verifier that serves many documents (a gatekeeper, a KMS
// proxy, `pipeline attest` on a fleet). Documents from one region share their
// root and intermediates; with this cache a document costs its leaf's signature
// and its COSE signature instead of every link of the chain.
//
// What is remembered, keyed by the SHA-256 of a certificate's DER:
//   - the parsed certificate, leaf or CA (so its DER and public key are decoded
//     and its extensions cached once: an enclave's NSM signs many documents with
//     one leaf, and OpenSSL 3.0 spends a third of an ECDSA verify decoding a key);
//   - for cabundle certificates, which issuers' keys (again by SHA-256 of their
//     DER) its signature verified with. A signature's validity is a fact about
//     the two DER encodings alone, so remembering it cannot change a verdict.
// What is NOT remembered: anything that depends on the document — validity at its
// time, key usages, the chain's order, the leaf. Those are checked every time (see
// chain.h), so a warm cache and a cold one give the same checks and messages.
// A leaf's signature is verified for every document (a document costs its
// leaf's signature and its COSE signature), and failed parses or signatures are
// never stored.
//
// Thread-safe: one cache may be shared by verifying threads.

#include <openssl/x509_vfy.h>

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "attest/ossl.h"

namespace ef::attest {

class CertCache {
 public:
  using Digest = std::array<std::uint8_t, 32>;

  /// The trusted roots as one shared X509_STORE (built once per root set), with
  /// each root's certificate and DER digest.
  struct Anchors {
    std::shared_ptr<X509_STORE> store;
    std::vector<std::pair<ossl::X509Ptr, Digest>> roots;
  };

  struct Stats {
    std::uint64_t cert_hits = 0, cert_misses = 0;            ///< certificate()
    std::uint64_t signature_hits = 0, signature_misses = 0;  ///< signature_known()
    std::uint64_t evictions = 0;
    std::size_t size = 0;  ///< certificates held now
  };

  /// `capacity` certificates at most (at least 1); the least recently used goes first.
  explicit CertCache(std::size_t capacity = 256);
  CertCache(const CertCache&) = delete;
  CertCache& operator=(const CertCache&) = delete;

  static Digest sha256(std::span<const std::uint8_t> der);

  /// The parsed certificate for `der` (a new reference), from the cache or parsed
  /// and remembered under `key` (= sha256(der)). Throws exactly as
  /// ossl::cert_from_der(der, what) does; a failure is not remembered.
  ossl::X509Ptr certificate(const Digest& key, std::span<const std::uint8_t> der, std::string_view what);

  /// True when the signature of the certificate `child` was verified before with
  /// the key of the certificate `issuer`.
  bool signature_known(const Digest& child, const Digest& issuer);
  /// Records a signature that verified. Ignored when `child` is not held.
  void remember_signature(const Digest& child, const Digest& issuer);

  /// The store for this set of trusted roots (DER). Throws ef::Error on a bad root.
  std::shared_ptr<const Anchors> anchors(std::span<const std::vector<std::uint8_t>> roots);

  Stats stats() const;
  std::size_t capacity() const { return capacity_; }
  /// True when `key` is held (does not count as a use).
  bool contains(const Digest& key) const;

 private:
  struct DigestHash {
    std::size_t operator()(const Digest& d) const;
  };
  struct Entry {
    Digest key;
    ossl::X509Ptr cert;
    std::vector<Digest> verified_by;  ///< issuers whose key verified this signature
  };
  using List = std::list<Entry>;

  Entry* touch(const Digest& key);  ///< moves to the front; nullptr when absent (lock held)

  const std::size_t capacity_;
  mutable std::mutex mu_;
  List lru_;  ///< most recently used first
  std::unordered_map<Digest, List::iterator, DigestHash> index_;
  std::shared_ptr<const Anchors> anchors_;
  Digest anchors_key_{};
  Stats stats_;
};

}  // namespace ef::attest
