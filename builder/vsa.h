#pragma once
// An SLSA Verification Summary Attestation (https://slsa.dev/verification_summary/v1)
// of one `rbuild verify --policy` run: which image, which policy, which
// provenance, and whether every check passed.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/verify.h"

namespace ef::build {

inline constexpr const char* kVsaPredicateType = "https://slsa.dev/verification_summary/v1";
inline constexpr const char* kVerifierIdPrefix = "https://github.com/enclave-framework/rbuild/verify@";

struct VsaInputs {
  std::string image_name;          // subject name ("default.eif")
  std::string image_sha256;
  std::string image_uri;           // resourceUri
  std::string policy_uri, policy_sha256;
  std::string provenance_uri, provenance_sha256;  // empty when there was none
  std::int64_t time_verified = 0;  // seconds since the epoch
};

/// The VSA Statement: verificationResult PASSED when every check passed
/// (verifiedLevels then SLSA_BUILD_LEVEL_1, what rbuild's provenance attests), else FAILED.
nlohmann::ordered_json make_vsa(const VsaInputs& in, const std::vector<Check>& checks);

/// "2026-12-02T04:00:00Z".
std::string rfc3339_utc(std::int64_t seconds);

}  // namespace ef::build
