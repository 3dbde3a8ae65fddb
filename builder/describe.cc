#include "builder/describe.h"

#include <algorithm>
#include <future>

#include "base/error.h"
#include "builder/eif_signature.h"

namespace ef::eif {

Description describe(const EifImage& image) {
  Description d;
  std::uint32_t crc = 0;
  d.measurements = image.measure(&crc);
  d.metadata = image.metadata();
  if (const Section* sig = image.find_first(SectionType::kSignature)) {
    d.is_signed = true;
    try {
      SignatureCheck check =
          check_signature_section(image.read_section(*sig, 1u << 20), d.measurements.pcr0, image.name(), sig->data_offset);
      d.measurements.pcr8 = pcr_from_digest(digest(HashAlgo::kSha384, check.certificate_der));
      d.signing_certificate = check.certificate_info;
      d.signature_ok = true;
    } catch (const Error& e) {
      d.signature_error = e.what();
    }
  }
  d.crc_ok = crc == image.header().crc32;
  return d;
}

nlohmann::ordered_json metadata_describe_json(const IdentityInfo& info) {
  const BuildMetadata& b = info.build_metadata;
  nlohmann::ordered_json m = {{"BuildTime", b.build_time},
                              {"BuildTool", b.build_tool},
                              {"BuildToolVersion", b.build_tool_version},
                              {"OperatingSystem", b.operating_system},
                              {"KernelVersion", b.kernel_version},
                              {"DockerInfo", info.docker_info}};
  const nlohmann::ordered_json& custom = info.custom_metadata;
  if (custom.is_object()) {
    // serde_json's Map (no preserve_order feature in nitro-cli) iterates its keys sorted.
    std::vector<std::string> keys;
    for (const auto& [k, v] : custom.items()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    for (const std::string& k : keys)
      if (!m.contains(k)) m[k] = custom.at(k);  // a custom key never hides a build field
  } else if (!custom.is_null()) {
    m["CustomMetadata"] = custom;  // not a map: nitro-cli cannot flatten it; shown as stored
  }
  return m;
}

nlohmann::ordered_json description_json(const EifImage& image, const Description& d) {
  nlohmann::ordered_json j;
  j["EifVersion"] = image.header().version;
  j["Measurements"] = measurements_json(d.measurements);
  j["IsSigned"] = d.is_signed;
  if (d.is_signed) j["SigningCertificate"] = d.signing_certificate;
  j["CheckCRC"] = d.crc_ok;
  if (d.is_signed) j["SignatureCheck"] = d.signature_ok;
  if (!d.signature_error.empty()) j["SignatureError"] = d.signature_error;
  j["ImageName"] = d.metadata.image_name;
  j["ImageVersion"] = d.metadata.image_version;
  j["Metadata"] = metadata_describe_json(d.metadata);
  j["Arch"] = (image.header().flags & kFlagAarch64) ? "aarch64" : "x86_64";
  j["DefaultMemoryMiB"] = image.header().default_mem >> 20;
  j["DefaultCpus"] = image.header().default_cpus;
  return j;
}

}  // namespace ef::eif
