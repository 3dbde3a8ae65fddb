#pragma once
// `rbuild reproduce PROVENANCE.json`: rebuild an image on another machine
// from nothing but its provenance and a clone of this repository — check out
// the recorded commit, compare (and optionally install) the recorded Debian
// package versions, build the runtimes, rebuild the image, compare byte for byte.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/package_info.h"
#include "builder/provenance.h"

namespace ef::build {

struct ReproduceOptions {
  std::filesystem::path provenance;
  std::optional<std::filesystem::path> image;  // the original EIF, for a byte-for-byte comparison
  std::filesystem::path source;                // a clone of the repository (default: the current directory)
  std::filesystem::path out_dir;               // where the rebuilt image goes (default: out/reproduced)
  std::filesystem::path cache_dir;
  bool install = false;                        // apt-get install NAME=VERSION for packages that differ
  int jobs = 2;
  PackageDb* packages = nullptr;               // default: this machine's dpkg/apt
};

/// A recorded Debian package compared with this machine.
struct PackageCheck {
  DebPackage recorded;
  std::string installed;               // "" when not installed
  std::vector<std::string> available;  // what the archive offers
  std::string status;                  // "same", "differs", "installed" (by --install), "unavailable", "install-failed"
  std::string detail;
};

struct ReproduceReport {
  std::string commit;
  std::string checkout;                 // the directory the build ran in
  std::vector<std::string> notes;       // e.g. "the original build ran in a checkout with uncommitted changes"
  std::vector<PackageCheck> packages;
  std::vector<std::string> input_mismatches;
  std::vector<std::string> image_mismatches;  // every difference between the original and the rebuilt image
  std::string rebuilt_eif, rebuilt_sha256, recorded_sha256;
  bool identical = false;
  std::string failure;                  // why it stopped early ("" when it ran to the end)
};

/// Runs every step; throws only for unusable arguments (unreadable provenance).
ReproduceReport reproduce(const ReproduceOptions& options);

/// The Debian packages a provenance records: every dependency's
/// annotations.debianPackage (inputs and toolchain), once each, by name.
std::vector<DebPackage> recorded_packages(const ProvenanceClaims& claims);

/// Compares the recorded packages with `db` (no installing).
std::vector<PackageCheck> compare_packages(const std::vector<DebPackage>& recorded, PackageDb& db);

nlohmann::ordered_json report_json(const ReproduceReport& r);
/// Human-readable lines, one per finding.
std::string report_text(const ReproduceReport& r);

}  // namespace ef::build
