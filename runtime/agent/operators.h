#pragma once
// The operator keys allowed to use the agent: listed in its (measured) config as
// PEM public keys or "sha256:HEX" fingerprints of the DER SubjectPublicKeyInfo.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ef::agent {

using Bytes = std::vector<std::uint8_t>;

/// "sha256:" + lowercase hex of SHA-256(spki_der).
std::string spki_fingerprint(std::span<const std::uint8_t> spki_der);

class OperatorList {
 public:
  /// Adds one entry: a PEM public key (EC P-256/P-384) or "sha256:" + 64 hex
  /// digits. Throws ef::Error naming the fault.
  void add(std::string_view entry);
  bool empty() const { return fingerprints_.empty(); }
  /// True when the key's fingerprint is listed.
  bool allows(std::span<const std::uint8_t> spki_der) const;
  const std::vector<std::string>& fingerprints() const { return fingerprints_; }

 private:
  std::vector<std::string> fingerprints_;
};

/// Verifies an ECDSA signature (DER) by the key in `spki_der` over `message`,
/// hashed with SHA-256 for P-256 and SHA-384 for P-384. False on any mismatch;
/// throws ef::Error for a key that is not EC P-256/P-384.
bool verify_operator_signature(std::span<const std::uint8_t> spki_der, std::span<const std::uint8_t> message,
                               std::span<const std::uint8_t> signature);

}  // namespace ef::agent
