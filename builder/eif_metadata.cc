#include "builder/eif_metadata.h"

#include <ctime>

#include "base/error.h"

namespace ef::eif {

std::string rfc3339_utc(std::int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) throw Error("source date epoch out of range: " + std::to_string(epoch_seconds));
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

nlohmann::ordered_json metadata_json(const IdentityInfo& info) {
  nlohmann::ordered_json j;
  j["ImageName"] = info.image_name;
  j["ImageVersion"] = info.image_version;
  j["BuildMetadata"] = {
      {"BuildTime", info.build_metadata.build_time},
      {"BuildTool", info.build_metadata.build_tool},
      {"BuildToolVersion", info.build_metadata.build_tool_version},
      {"OperatingSystem", info.build_metadata.operating_system},
      {"KernelVersion", info.build_metadata.kernel_version},
  };
  j["DockerInfo"] = info.docker_info;
  j["CustomMetadata"] = info.custom_metadata;
  return j;
}

std::string encode_metadata(const IdentityInfo& info) { return metadata_json(info).dump(); }

namespace {

std::string required_string(const nlohmann::ordered_json& obj, const char* key, const std::string& where,
                            std::string_view input, std::uint64_t offset) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string())
    throw FormatError(input, offset, "metadata: " + where + key + " missing or not a string");
  return it->get<std::string>();
}

}  // namespace

IdentityInfo decode_metadata(std::span<const std::uint8_t> bytes, std::string_view input, std::uint64_t offset) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) throw FormatError(input, offset, "metadata: not valid JSON");
  if (!j.is_object()) throw FormatError(input, offset, "metadata: not a JSON object");
  IdentityInfo info;
  info.image_name = required_string(j, "ImageName", "", input, offset);
  info.image_version = required_string(j, "ImageVersion", "", input, offset);
  auto bm = j.find("BuildMetadata");
  if (bm == j.end() || !bm->is_object()) throw FormatError(input, offset, "metadata: BuildMetadata missing");
  const std::string w = "BuildMetadata.";
  info.build_metadata = BuildMetadata{
      required_string(*bm, "BuildTime", w, input, offset),
      required_string(*bm, "BuildTool", w, input, offset),
      required_string(*bm, "BuildToolVersion", w, input, offset),
      required_string(*bm, "OperatingSystem", w, input, offset),
      required_string(*bm, "KernelVersion", w, input, offset),
  };
  if (auto d = j.find("DockerInfo"); d != j.end()) info.docker_info = *d;
  if (auto c = j.find("CustomMetadata"); c != j.end()) info.custom_metadata = *c;
  return info;
}

}  // namespace ef::eif
