#pragma once
// ECVRF-P256-SHA256-TAI (RFC 9381, suite 0x01) on OpenSSL's EC primitives.
// Keys: SK is the 32-byte big-endian scalar; PK the 33-byte compressed SEC1 point.
// Proofs pi are 81 bytes (Gamma 33 || c 16 || s 32); outputs beta 32 bytes.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace ef::ecvrf {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::size_t kSecretKeySize = 32;
inline constexpr std::size_t kPublicKeySize = 33;
inline constexpr std::size_t kProofSize = 81;
inline constexpr std::size_t kOutputSize = 32;

/// PK = x*B for SK (must be 1 <= x < q; throws ef::Error otherwise).
Bytes public_key(std::span<const std::uint8_t> secret_key);

/// A fresh random secret key.
Bytes generate_secret_key();

/// pi = ECVRF_prove(SK, alpha). Deterministic (RFC 6979 nonce).
Bytes prove(std::span<const std::uint8_t> secret_key, std::span<const std::uint8_t> alpha);

/// beta = ECVRF_proof_to_hash(pi); throws ef::Error when pi cannot be decoded.
/// Only meaningful for a proof that verify() accepted.
Bytes proof_to_hash(std::span<const std::uint8_t> pi);

/// ECVRF_verify(PK, alpha, pi) with key validation: beta when VALID, nullopt when
/// INVALID (including a malformed PK or pi). Never throws on hostile input.
std::optional<Bytes> verify(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> alpha,
                            std::span<const std::uint8_t> pi);

/// A public key decoded and validated once, for verifying many proofs by one key.
class PublicKey {
 public:
  /// nullopt when `pk` is not a 33-byte compressed point on P-256.
  static std::optional<PublicKey> decode(std::span<const std::uint8_t> pk);
  const Bytes& bytes() const { return bytes_; }
  struct Point;  ///< the decoded point (opaque)
  const Point& point() const { return *point_; }

 private:
  Bytes bytes_;
  std::shared_ptr<const Point> point_;
};

/// ECVRF_verify with a key decoded beforehand; the same answers as verify().
std::optional<Bytes> verify(const PublicKey& public_key, std::span<const std::uint8_t> alpha,
                            std::span<const std::uint8_t> pi);

/// RFC 9381 intermediate steps, exposed for the test vectors.
namespace detail {
/// encode_to_curve by try-and-increment with salt = PK; the point H (33 bytes), and the counter used.
Bytes encode_to_curve(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> alpha, int* ctr = nullptr);
/// The RFC 6979 nonce k (32 bytes) for SK and h_string.
Bytes nonce(std::span<const std::uint8_t> secret_key, std::span<const std::uint8_t> h_string);
/// U = k*B and V = k*H as compressed points.
std::pair<Bytes, Bytes> commitments(std::span<const std::uint8_t> k, std::span<const std::uint8_t> h_string);
}  // namespace detail

}  // namespace ef::ecvrf
