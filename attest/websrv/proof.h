#pragma once
// File proofs: ECVRF-P256-SHA256-TAI (attest/ecvrf.h) over a precise encoding
// of {path, hash}, and the user_data that binds a file to an attestation document.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ef::websrv {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::string_view kVrfSuite = "ECVRF-P256-SHA256-TAI";
inline constexpr std::string_view kFileAlphaDomain = "ef-file-v1";
inline constexpr std::string_view kFileAttestationDomain = "ef-file-attestation-v1";

/// alpha = "ef-file-v1" || 0x00 || path || 0x00 || hash (the raw 64-byte SHA3-512).
/// Unambiguous because paths hold no NUL and the hash has a fixed length.
Bytes file_alpha(std::string_view path, std::span<const std::uint8_t, 64> sha3_512);

/// user_data of /v1/files/attestation (64 bytes):
/// SHA-512("ef-file-attestation-v1" || 0x00 || path || 0x00 || hash(64) || vrf_pk(33) || proof(81)).
Bytes file_attestation_user_data(std::string_view path, std::span<const std::uint8_t, 64> sha3_512,
                                 std::span<const std::uint8_t> vrf_public_key, std::span<const std::uint8_t> proof);

/// The server's VRF key pair.
class VrfKey {
 public:
  /// A fresh key that lives only in memory.
  static VrfKey ephemeral();
  /// Loads the 32-byte secret key from `file` (raw bytes, must be mode 0600 or
  /// stricter), or creates it (its directory 0700, the file 0600, written
  /// atomically) when absent. Throws ef::Error naming the file.
  static VrfKey load_or_create(const std::filesystem::path& file);

  const Bytes& public_key() const { return pk_; }  ///< 33-byte compressed SEC1 point
  /// pi (81 bytes).
  Bytes prove(std::span<const std::uint8_t> alpha) const;

 private:
  Bytes sk_;
  Bytes pk_;
};

/// The P-256 public key (33-byte compressed point) as SubjectPublicKeyInfo DER,
/// so standard tools can read the VRF key. Throws ef::Error on a bad point.
Bytes vrf_public_key_spki(std::span<const std::uint8_t> compressed_point);

}  // namespace ef::websrv
