#pragma once
// What the engine knows of an image before it runs it: its SHA-256 and the
// PCRs it measures to. PCRs are computed from the EIF (builder's code); a
// NAME.pcrs.json beside NAME.eif must agree, or the image is refused.

#include <filesystem>
#include <map>
#include <string>

namespace ef::engine {

struct ImageInfo {
  std::string sha256;
  std::map<unsigned, std::string> pcrs;  ///< 0, 1, 2 (and 8 for signed images)
  std::string pcr_source;                ///< "computed" or "computed+pcrs.json"
};

/// Opens and measures the EIF at `eif`; throws Error naming the file and,
/// for a pcrs.json disagreement, the register and both values.
ImageInfo inspect_image(const std::filesystem::path& eif);

/// Reads {"PCR0": hex, …} (rbuild's / nitro-cli's Measurements shape).
std::map<unsigned, std::string> read_pcrs_json(const std::filesystem::path& file);

}  // namespace ef::engine
