#pragma once
// The metadata section: EifIdentityInfo as aws-nitro-enclaves-image-format
// serialises it (serde_json, compact, struct field order). Every field is
// deterministic: BuildTime derives from the spec's source date epoch.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ef::eif {

struct BuildMetadata {
  std::string build_time;  // RFC 3339, e.g. "1970-01-01T00:00:00+00:00"
  std::string build_tool;
  std::string build_tool_version;
  std::string operating_system;
  std::string kernel_version;
};

struct IdentityInfo {
  std::string image_name;
  std::string image_version;
  BuildMetadata build_metadata;
  nlohmann::ordered_json docker_info = nullptr;
  nlohmann::ordered_json custom_metadata = nullptr;
};

/// "YYYY-MM-DDTHH:MM:SS+00:00" for seconds since the epoch (chrono's to_rfc3339 form).
std::string rfc3339_utc(std::int64_t epoch_seconds);

/// Compact JSON with AWS's key order.
std::string encode_metadata(const IdentityInfo& info);

/// Parses and validates a metadata section. `input` and `offset` locate it in
/// errors ("IMAGE: at byte offset N: metadata: missing BuildMetadata.BuildTime").
IdentityInfo decode_metadata(std::span<const std::uint8_t> bytes, std::string_view input, std::uint64_t offset);

/// The JSON object `nitro-cli describe-eif` prints under "Metadata".
nlohmann::ordered_json metadata_json(const IdentityInfo& info);

}  // namespace ef::eif
