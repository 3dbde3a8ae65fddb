#pragma once
// Certificate checks for an attestation document's signing chain, as AWS's
// attestation process describes them (attestation_process.md §3.2.3).
// The chain is [leaf, cabundle[n-1], ..., cabundle[1], cabundle[0] = root].

#include <cstdint>
#include <span>
#include <vector>

#include "attest/cert_cache.h"
#include "attest/document.h"
#include "attest/ossl.h"

namespace ef::attest {

struct CertChain {
  ossl::X509Ptr leaf;
  std::vector<ossl::X509Ptr> bundle;  ///< as in the document: root first
  std::vector<CertCache::Digest> bundle_sha256;  ///< filled when parsed with a cache
};

/// Parses the leaf and every cabundle entry as DER (throws ef::Error naming which).
/// With a cache, the certificates come from it (and are remembered: an enclave's
/// NSM signs many documents with one leaf). Same result and errors either way.
CertChain parse_chain(const AttestationDocument& doc, CertCache* cache = nullptr);

/// cabundle[0] must be byte-for-byte one of `trusted_roots` (DER).
void check_root(const AttestationDocument& doc, std::span<const Bytes> trusted_roots);

/// Every certificate (leaf, intermediates, root) is valid at `at_ms`.
void check_validity(const CertChain& chain, std::int64_t at_ms);

/// Leaf: digitalSignature, not a CA, no pathLenConstraint. Every bundle entry:
/// critical basicConstraints CA:TRUE, keyCertSign, and a pathLenConstraint (if
/// any) not smaller than the number of CA certificates below it.
void check_key_usage(const CertChain& chain);

/// Path validation by OpenSSL (signatures, names, CA flags, path lengths, no CRLs)
/// anchored at `trusted_roots`, at `at_ms`; the chain OpenSSL builds must be
/// exactly the document's order (so a swapped or truncated cabundle fails).
/// With a cache (and a chain parsed with it), signatures between cabundle
/// certificates that verified before are not verified again; everything else is
/// checked as without it, and on any failure the check is redone without the
/// cache, so the verdict and its message are the same warm or cold.
void check_path(const CertChain& chain, std::span<const Bytes> trusted_roots, std::int64_t at_ms,
                CertCache* cache = nullptr);

}  // namespace ef::attest
