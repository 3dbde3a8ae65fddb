#pragma once
// A simulated Nitro Secure Module for local mode and tests: same interface and
// document structure as the real one, signed by a development CA.

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "attest/dev_ca.h"
#include "attest/nsm.h"

namespace ef::attest {

using Bytes = std::vector<std::uint8_t>;

/// Boot PCRs from an image's pcrs.json ({"HashAlgorithm": ..., "PCR0": hex, ...});
/// values must be 48 bytes (SHA-384). Throws ef::Error naming `source`.
std::map<std::uint16_t, Bytes> load_boot_pcrs(std::string_view pcrs_json_text, std::string_view source);

/// Boot PCRs from a kernel command line, as the local backend passes them:
/// space-separated words `ef.pcr0=HEX ef.pcr1=HEX ef.pcr2=HEX` (96 hex digits,
/// SHA-384), anywhere among the other words. Strict: either all three appear
/// exactly once, or none (then the map is empty and the caller warns and runs
/// with zero PCRs); an `ef.pcrN=` word with another index, a bad length, a
/// non-hex digit or a duplicate throws ef::Error naming `source` and the byte
/// offset of the word.
std::map<std::uint16_t, Bytes> boot_pcrs_from_cmdline(std::string_view cmdline, std::string_view source);

struct SimNsmOptions {
  std::string module_id = "i-0000000000000000-enc0000000000000000";
  std::function<std::int64_t()> clock;      ///< ms since the epoch; default system clock
  std::int64_t leaf_lifetime_ms = 3 * 3'600'000;  ///< like AWS's ~3 h leaves
};

/// Semantics follow the real module: 32 SHA-384 PCRs starting at zero; the boot
/// PCRs (0, 1, 2, and 8 when given) set from the image; PCRs 0..15 locked at boot;
/// extend = SHA384(old || data) and refused (ReadOnlyIndex) once locked; indexes
/// >= 32 InvalidIndex; documents list every locked PCR. Thread-safe.
/// Differences: the chain is root -> intermediate -> leaf of the dev CA (AWS has
/// three intermediates), PCR3/PCR4 (IAM role, instance) stay zero, and the leaf is
/// re-issued in-process when less than a tenth of its lifetime remains.
class SimulatedNsm : public nsm::NsmDevice {
 public:
  SimulatedNsm(DevCa ca, const std::map<std::uint16_t, Bytes>& boot_pcrs, SimNsmOptions options = {});

  Bytes attestation(const nsm::req::Attestation& request) override;
  nsm::resp::DescribePcr describe_pcr(std::uint16_t index) override;
  Bytes extend_pcr(std::uint16_t index, std::span<const std::uint8_t> data) override;
  void lock_pcr(std::uint16_t index) override;
  void lock_pcrs(std::uint16_t range) override;
  nsm::resp::DescribeNsm describe_nsm() override;
  Bytes get_random() override;

  /// DER of the dev root, for verifiers (`--root dev-root.pem`).
  Bytes root_der() const;

 private:
  struct Pcr {
    Bytes value = Bytes(48, 0);
    bool locked = false;
  };
  void check_index(std::uint16_t index) const;
  void rotate_leaf_if_needed(std::int64_t now);

  DevCa ca_;
  SimNsmOptions options_;
  std::mutex mu_;
  std::array<Pcr, nsm::kMaxPcrs> pcrs_;
  IssuedCert leaf_;
  std::int64_t leaf_not_after_ms_ = 0;
};

}  // namespace ef::attest
