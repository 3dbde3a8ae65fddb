#pragma once
// `rbuild verify`: proves an EIF matches its provenance, check by check.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ef::build {

struct Policy;  // builder/policy.h

struct Check {
  std::string name;    // "structure", "crc", "signature", "provenance.subject", "rebuild", ...
  bool ok = false;
  std::string detail;  // what differs, or what was confirmed
};

struct VerifyOptions {
  std::filesystem::path image;
  std::optional<std::filesystem::path> provenance;  // default: IMAGE's NAME.provenance.json beside it
  bool rebuild = false;
  std::filesystem::path cache_dir;
  const Policy* policy = nullptr;  // --policy: its rules become "policy.*" checks
  std::int64_t now = 0;            // for the policy's max_age (seconds since the epoch)
};

/// Runs every check that applies; never throws for a failed check (only for
/// an unusable environment, e.g. a temp directory that cannot be made).
std::vector<Check> verify_image(const VerifyOptions& options);

/// The provenance path rbuild writes next to an EIF: out/NAME.eif -> out/NAME.provenance.json.
std::filesystem::path provenance_beside(const std::filesystem::path& eif);

/// Compares two files; "" when identical, else where they first differ.
std::string first_difference(const std::filesystem::path& a, const std::filesystem::path& b);

nlohmann::ordered_json checks_json(const std::vector<Check>& checks);

}  // namespace ef::build
