#include "engine/image.h"

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "builder/eif_reader.h"

namespace ef::engine {

std::map<unsigned, std::string> read_pcrs_json(const std::filesystem::path& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(file.string() + ": expected an object of PCRn → hex");
  std::map<unsigned, std::string> out;
  for (const auto& [k, v] : j.items()) {
    if (!k.starts_with("PCR") || k.size() > 5) continue;  // HashAlgorithm and friends
    unsigned idx = 0;
    try {
      idx = static_cast<unsigned>(std::stoul(k.substr(3)));
    } catch (...) {
      throw Error(file.string() + ": " + k + ": not a PCR index");
    }
    if (!v.is_string()) throw Error(file.string() + ": " + k + ": expected a hex string");
    out[idx] = to_hex(from_hex(v.get<std::string>(), file.string() + ": " + k));
  }
  if (!out.count(0) || !out.count(1) || !out.count(2)) throw Error(file.string() + ": needs PCR0, PCR1 and PCR2");
  return out;
}

ImageInfo inspect_image(const std::filesystem::path& eif) {
  return with_context("image " + eif.string(), [&] {
    ImageInfo info;
    info.sha256 = to_hex(digest_file(HashAlgo::kSha256, eif));
    auto image = ef::eif::EifImage::open(eif);
    auto m = image.measure();
    info.pcrs[0] = to_hex(m.pcr0);
    info.pcrs[1] = to_hex(m.pcr1);
    info.pcrs[2] = to_hex(m.pcr2);
    info.pcr_source = "computed";
    std::filesystem::path side = eif;
    side.replace_extension(".pcrs.json");
    if (std::filesystem::exists(side)) {
      auto listed = read_pcrs_json(side);
      for (unsigned i : {0u, 1u, 2u})
        if (listed[i] != info.pcrs[i])
          throw Error(side.string() + ": PCR" + std::to_string(i) + " " + listed[i] + " disagrees with the EIF's " +
                      info.pcrs[i]);
      if (listed.count(8)) info.pcrs[8] = listed[8];
      info.pcr_source = "computed+pcrs.json";
    }
    return info;
  });
}

}  // namespace ef::engine
