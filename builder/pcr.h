#pragma once
// PCR measurement as the Nitro hypervisor and nitro-cli compute it:
// PCR = SHA384(48 zero bytes || SHA384(measured bytes)).
//   PCR0: kernel || cmdline || every ramdisk
//   PCR1: kernel || cmdline || first ramdisk
//   PCR2: the other ramdisks
//   PCR8: the signing certificate (DER)

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/hash.h"

namespace ef::eif {

/// A streaming PCR: feed the measured bytes, then take the register value.
class PcrHasher {
 public:
  PcrHasher() : hasher_(HashAlgo::kSha384) {}
  void update(std::span<const std::uint8_t> data) { hasher_.update(data); }
  void update(std::string_view data) { hasher_.update(data); }
  /// The 48-byte register value; the hasher must not be used afterwards.
  std::vector<std::uint8_t> finish();

 private:
  Hasher hasher_;
};

/// The register value for an already computed SHA-384 of the measured bytes.
std::vector<std::uint8_t> pcr_from_digest(std::span<const std::uint8_t> sha384);

/// PCR of a whole file's bytes, streamed (`nitro-cli pcr --input`).
std::vector<std::uint8_t> pcr_of_file(const std::filesystem::path& path);

/// PCR8 of a PEM certificate: measures its DER encoding (`nitro-cli pcr --signing-certificate`).
std::vector<std::uint8_t> pcr_of_certificate_pem(const std::filesystem::path& pem_path);

struct Measurements {
  std::vector<std::uint8_t> pcr0, pcr1, pcr2;
  std::optional<std::vector<std::uint8_t>> pcr8;
};

/// The Measurements object of `nitro-cli describe-eif` / `build-enclave`:
/// {"HashAlgorithm": "Sha384 { ... }", "PCR0": hex, "PCR1": hex, "PCR2": hex[, "PCR8": hex]}.
nlohmann::ordered_json measurements_json(const Measurements& m);

}  // namespace ef::eif
