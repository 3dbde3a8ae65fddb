#include "builder/build_environment.h"

#include <algorithm>
#include <fstream>

#include "base/error.h"
#include "base/hash.h"

namespace ef::build {
namespace fs = std::filesystem;
namespace {

/// "runtimes.init.binary" → "init" (the cmake target has the runtime's name).
std::optional<std::string> runtime_target(const std::string& input_name) {
  const std::string pre = "runtimes.", post = ".binary";
  if (input_name.size() <= pre.size() + post.size() || input_name.rfind(pre, 0) != 0 ||
      input_name.compare(input_name.size() - post.size(), post.size(), post) != 0)
    return std::nullopt;
  return input_name.substr(pre.size(), input_name.size() - pre.size() - post.size());
}

/// The relative path of `p` inside `top`, or nullopt when it lies outside.
std::optional<std::string> inside(const fs::path& top, const fs::path& p) {
  std::error_code ec;
  fs::path a = fs::weakly_canonical(top, ec), b = fs::weakly_canonical(p, ec);
  if (ec) return std::nullopt;
  fs::path rel = b.lexically_relative(a);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return rel.string();
}

/// CMAKE_BUILD_TYPE from the CMakeCache.txt of the build tree holding `binary`.
std::string cmake_build_type(const fs::path& binary, const fs::path& top) {
  for (fs::path dir = binary.parent_path(); !dir.empty() && dir != dir.parent_path(); dir = dir.parent_path()) {
    std::ifstream cache(dir / "CMakeCache.txt");
    if (cache) {
      for (std::string line; std::getline(cache, line);)
        if (line.rfind("CMAKE_BUILD_TYPE:", 0) == 0) return line.substr(line.find('=') + 1);
      return "";
    }
    if (dir == top) break;
  }
  return "";
}

std::string pct(const std::string& s, bool keep_slash) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || std::string_view("-._~!$&'()*+,;=:@").find(static_cast<char>(c)) != std::string_view::npos ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%', out += hex[c >> 4], out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string file_uri(const std::string& path) {
  // An absolute path gets the empty authority ("file:///boot/x"); a relative one stays relative.
  return fs::path(path).is_absolute() ? "file://" + pct(path, true) : "file:" + pct(path, true);
}

std::string running_binary_sha256() {
  try {
    return to_hex(digest_file(HashAlgo::kSha256, "/proc/self/exe"));
  } catch (const Error&) {
    return "";
  }
}

BuildEnvironment collect_build_environment(const Spec& spec, const std::vector<LockedInput>& inputs, PackageDb& db) {
  BuildEnvironment env;
  env.rbuild_version = EF_VERSION;
  env.rbuild_sha256 = running_binary_sha256();
  fs::path spec_dir = spec.file.parent_path().empty() ? fs::path(".") : spec.file.parent_path();
  env.source = source_info(spec_dir);

  std::vector<std::string> host_paths;
  for (const LockedInput& in : inputs) {
    if (fs::path(in.path).is_absolute()) host_paths.push_back(in.resolved.empty() ? in.path : in.resolved.string());
  }
  std::map<std::string, DebPackage> owners = db.owners(host_paths);
  for (const LockedInput& in : inputs) {
    std::string p = in.resolved.empty() ? in.path : in.resolved.string();
    if (auto it = owners.find(p); it != owners.end()) env.input_package.emplace(in.name, it->second);
    if (!env.source || env.input_package.count(in.name)) continue;
    auto rel = inside(env.source->toplevel, in.resolved.empty() ? fs::path(in.path) : in.resolved);
    if (!rel) continue;
    auto target = runtime_target(in.name);
    if (git_tracks(env.source->toplevel, *rel)) {
      env.input_repo_path.emplace(in.name, *rel);
    } else if (target) {
      env.input_repo_path.emplace(in.name, *rel);
      env.input_target.emplace(in.name, *target);
      if (env.cmake_build_type.empty()) env.cmake_build_type = cmake_build_type(in.resolved, env.source->toplevel);
    }
  }

  if (!spec.runtimes.empty()) {
    std::vector<std::string> names(std::begin(kToolchainPackages), std::end(kToolchainPackages));
    if (env.source && fs::exists(env.source->toplevel / "scripts/image-inputs.txt")) {
      for (std::string& n : read_package_list(env.source->toplevel / "scripts/image-inputs.txt"))
        names.push_back(std::move(n));
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::map<std::string, DebPackage> have = db.installed(names);
    for (const std::string& n : names) {
      if (auto it = have.find(n); it != have.end()) env.toolchain.push_back(it->second);
      else env.toolchain_missing.push_back(n);
    }
  }
  return env;
}

nlohmann::ordered_json dependency_json(const LockedInput& in, const BuildEnvironment& env) {
  nlohmann::ordered_json ann{{"kind", in.kind}, {"path", in.path}, {"size", in.digest.size}};
  std::string uri;
  if (auto it = env.input_package.find(in.name); it != env.input_package.end()) {
    uri = deb_purl(it->second);
    ann["debianPackage"] = package_json(it->second);
  } else if (auto rp = env.input_repo_path.find(in.name); rp != env.input_repo_path.end() && env.source) {
    ann["repositoryPath"] = rp->second;
    if (auto t = env.input_target.find(in.name); t != env.input_target.end()) {
      uri = env.source->uri + "@" + env.source->commit;
      ann["cmakeTarget"] = t->second;
      if (!env.cmake_build_type.empty()) ann["cmakeBuildType"] = env.cmake_build_type;
    } else {
      uri = env.source->uri + "@" + env.source->commit + "#" + pct(rp->second, true);
    }
  } else {
    uri = file_uri(in.path);
  }
  return {{"name", in.name}, {"uri", uri}, {"digest", {{"sha256", in.digest.sha256}}}, {"annotations", ann}};
}

nlohmann::ordered_json dependencies_json(const std::vector<LockedInput>& inputs, const BuildEnvironment& env) {
  nlohmann::ordered_json deps = nlohmann::ordered_json::array();
  for (const LockedInput& in : inputs) deps.push_back(dependency_json(in, env));
  if (env.source) deps.push_back(source_dependency(*env.source));
  for (const DebPackage& p : env.toolchain)
    deps.push_back({{"name", "toolchain:" + p.name},
                    {"uri", deb_purl(p)},
                    {"annotations", {{"role", "toolchain"}, {"debianPackage", package_json(p)}}}});
  return deps;
}

}  // namespace ef::build
