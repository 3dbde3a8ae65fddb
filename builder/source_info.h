#pragma once
// The git checkout a spec lives in: what provenance records as the source of
// everything this repository builds (the runtimes, the spec's own files).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ef::build {

struct SourceInfo {
  std::string uri;                 // "git+https://host/repo.git", "git+file:///abs/path" (no credentials)
  std::string commit;              // full hex of HEAD
  bool clean = false;              // `git status --porcelain` printed nothing
  std::string branch;              // "" when HEAD is detached
  std::int64_t commit_time = 0;    // committer date of HEAD, seconds since the epoch
  std::filesystem::path toplevel;  // not serialised: where the checkout is on this machine
};

/// The checkout holding `dir` (via git), or nullopt when `dir` is in none or git is absent.
std::optional<SourceInfo> source_info(const std::filesystem::path& dir);

/// True when git tracks `path` (inside `toplevel`) at HEAD.
bool git_tracks(const std::filesystem::path& toplevel, const std::filesystem::path& path);

/// A remote URL as an SLSA source URI: "https://u:tok@h/r" → "git+https://h/r";
/// "git@h:r.git" → "git+ssh://git@h/r.git"; a local path → "git+file:///abs".
std::string source_uri_from_remote(const std::string& remote, const std::filesystem::path& base);

/// The resolvedDependencies entry: {name: "source", uri: URI@COMMIT, digest: {gitCommit}, annotations}.
nlohmann::ordered_json source_dependency(const SourceInfo& s);

}  // namespace ef::build
