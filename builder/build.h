#pragma once
// `rbuild build`: a locked spec in, a bit-identical EIF out, with its PCRs
// and provenance. Every output is written atomically.

#include <filesystem>
#include <functional>
#include <string>

#include "builder/lock.h"
#include "builder/package_info.h"
#include "builder/pcr.h"
#include "builder/spec.h"

namespace ef::build {

struct BuildOptions {
  std::filesystem::path out_dir;
  std::filesystem::path cache_dir;  // unpacked layers, by content
  std::string spec_path_text;       // the spec path as given (recorded in provenance)
  std::string lock_sha256;          // of the lockfile's bytes
  /// Skip the build when OUTDIR/.NAME.rbuild-stamp shows the outputs were
  /// made from exactly these inputs and are untouched (a no-op rebuild).
  bool use_stamp = false;
  /// Where provenance looks up Debian packages (default: dpkg on this machine).
  PackageDb* packages = nullptr;
  /// Progress callback (phase, done, total bytes); may be empty.
  std::function<void(const std::string&, std::uint64_t, std::uint64_t)> progress;
};

struct BuildResult {
  std::filesystem::path eif, pcrs, provenance;
  std::string eif_sha256;
  eif::Measurements measurements;
  bool up_to_date = false;  // nothing rebuilt: outputs matched the stamp
};

/// Builds `spec` whose inputs were already checked against `lock` (see
/// lock_mismatches). Writes OUTDIR/NAME.eif, NAME.pcrs.json, NAME.provenance.json.
BuildResult build_image(const Spec& spec, const Lock& lock, const BuildOptions& options);

/// The default cache directory: $RBUILD_CACHE, else $XDG_CACHE_HOME/rbuild, else ~/.cache/rbuild.
std::filesystem::path default_cache_dir();

}  // namespace ef::build
