#pragma once
// `pipeline run SPEC.yaml` and compose `spec:` entries: build the image with
// rbuild (inputs checked against the lock), then verify the EIF against the
// provenance rbuild wrote. Returns the EIF and its PCRs.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ef::engine {

struct BuiltImage {
  std::filesystem::path eif, pcrs, provenance;
  std::map<unsigned, std::string> measurements;
};

/// Runs `rbuild build SPEC --lock LOCK -o OUT --json` and `rbuild verify EIF
/// --provenance PROV`; throws Error with rbuild's own message on failure.
BuiltImage build_spec(const std::filesystem::path& rbuild, const std::filesystem::path& spec,
                      const std::filesystem::path& lock, const std::filesystem::path& out_dir);

/// Runs argv, capturing stdout (stderr passes through); returns the exit code.
int run_capture(const std::vector<std::string>& argv, std::string& out);

}  // namespace ef::engine
