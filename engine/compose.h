#pragma once
// Compose files (enclaves.yaml): several enclaves, their images (an EIF, or
// a spec that pipeline builds with rbuild and verifies against its lock),
// resources, ports, egress, health, restart policy, depends_on and the PCRs
// or provenance to expect. Everything is validated before anything starts;
// each error names file:line: key. See docs/compose.md.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/spec.h"

namespace ef::engine {

struct ComposeEnclave {
  EnclaveSpec spec;                     ///< spec.image is "" until a build_spec is built
  std::vector<std::string> depends_on;
  std::string build_spec;               ///< absolute path of an rbuild spec ("" = spec.image is an EIF)
  std::string build_lock;               ///< its lock file
  int line = 0;                         ///< where the entry starts (for later errors)
};

struct ComposeFile {
  std::string file;
  std::string project;
  std::vector<ComposeEnclave> enclaves;  ///< in start order (dependencies first)
};

/// Parses and validates `text` read from `file_name`; relative paths are
/// resolved against `base_dir`. Throws Error "file:line: key: message"; a
/// dependency cycle is named ("depends_on cycle: a -> b -> a").
ComposeFile parse_compose(std::string_view text, const std::string& file_name, const std::filesystem::path& base_dir);
ComposeFile load_compose(const std::filesystem::path& file);

/// Orders names so that each comes after its dependencies (stable: file
/// order otherwise). Throws Error naming a cycle or an unknown dependency.
std::vector<std::size_t> start_order(const std::vector<std::string>& names,
                                     const std::vector<std::vector<std::string>>& deps);

/// "250ms", "10s", "5m", or plain seconds → milliseconds; throws Error.
unsigned parse_duration_ms(std::string_view text);

/// The API body of POST /v1/compose/up: {"project", "enclaves": [{"spec", "depends_on"}]}.
nlohmann::json compose_to_json(const ComposeFile& c);
ComposeFile compose_from_json(const nlohmann::json& j);

}  // namespace ef::engine
