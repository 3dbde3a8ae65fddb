#pragma once
// What provenance records about the machine and checkout a build ran on, so
// an auditor can name every input beyond this machine and `rbuild reproduce`
// can recreate the toolchain: the Debian package owning each host input, the
// versions of the toolchain packages, the git commit, rbuild's own identity.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/lock.h"
#include "builder/package_info.h"
#include "builder/source_info.h"
#include "builder/spec.h"

namespace ef::build {

/// Packages recorded for every image with runtimes, besides scripts/image-inputs.txt.
inline constexpr const char* kToolchainPackages[] = {"gcc", "g++", "binutils", "cmake"};

struct BuildEnvironment {
  std::optional<SourceInfo> source;                 // the checkout holding the spec
  std::map<std::string, DebPackage> input_package;  // input name → owning package
  std::map<std::string, std::string> input_repo_path;  // input name → path relative to the checkout
  std::map<std::string, std::string> input_target;  // input name → cmake target that builds it
  std::string cmake_build_type;                      // of the build tree the runtimes came from
  std::vector<DebPackage> toolchain;                 // image-inputs.txt + kToolchainPackages, sorted by name
  std::vector<std::string> toolchain_missing;        // listed there but not installed
  std::string rbuild_version;
  std::string rbuild_sha256;                         // of the running rbuild binary ("" if unreadable)
};

/// Gathers the environment: dpkg for inputs whose spec path is absolute,
/// git for the spec's checkout, the toolchain list from the checkout's
/// scripts/image-inputs.txt (when the spec has runtimes).
BuildEnvironment collect_build_environment(const Spec& spec, const std::vector<LockedInput>& inputs, PackageDb& db);

/// One resolvedDependencies entry: uri = pkg:deb purl for a packaged file,
/// git+REPO@COMMIT#PATH for a file of the checkout (or a binary a cmake target
/// of it builds), file:PATH otherwise; name = the lock's input name; the spec's
/// path, kind and size as annotations.
nlohmann::ordered_json dependency_json(const LockedInput& in, const BuildEnvironment& env);

/// resolvedDependencies: every input, then the source checkout, then each toolchain package.
nlohmann::ordered_json dependencies_json(const std::vector<LockedInput>& inputs, const BuildEnvironment& env);

/// A `file:` URI for a path as written (relative paths stay relative: "file:default/rootfs").
std::string file_uri(const std::string& path);

/// sha256 of /proc/self/exe, "" when it cannot be read.
std::string running_binary_sha256();

}  // namespace ef::build
