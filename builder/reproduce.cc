#include "builder/reproduce.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "builder/build.h"
#include "builder/eif_diff.h"
#include "builder/eif_reader.h"
#include "builder/policy.h"
#include "builder/source_info.h"
#include "builder/subprocess.h"
#include "builder/verify.h"

namespace ef::build {
namespace fs = std::filesystem;
namespace {

std::string tail(const std::string& s, std::size_t n = 2000) { return s.size() <= n ? s : "…" + s.substr(s.size() - n); }

/// A detached `git worktree` at the recorded commit, removed when done.
class TempWorktree {
 public:
  TempWorktree(const fs::path& repo, const std::string& commit) : repo_(repo) {
    std::string templ = (fs::temp_directory_path() / "rbuild-reproduce-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw_errno("create temporary directory", templ);
    path_ = fs::path(templ) / "src";
    CommandResult r = run_command({"git", "-C", repo.string(), "worktree", "add", "--detach", path_.string(), commit});
    if (!r.ok()) throw Error("git worktree add " + path_.string() + " " + commit + " failed: " + tail(r.err));
  }
  ~TempWorktree() {
    run_command({"git", "-C", repo_.string(), "worktree", "remove", "--force", path_.string()});
    std::error_code ec;
    fs::remove_all(path_.parent_path(), ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path repo_, path_;
};

std::vector<std::string> cmake_targets(const ProvenanceClaims& c, std::string& build_type) {
  std::vector<std::string> targets;
  for (const auto& dep : c.dependencies) {
    if (!dep.is_object() || !dep.contains("annotations") || !dep["annotations"].is_object()) continue;
    const auto& a = dep["annotations"];
    if (a.contains("cmakeTarget") && a["cmakeTarget"].is_string()) targets.push_back(a["cmakeTarget"].get<std::string>());
    if (build_type.empty() && a.contains("cmakeBuildType") && a["cmakeBuildType"].is_string())
      build_type = a["cmakeBuildType"].get<std::string>();
  }
  return targets;
}

/// apt-get install NAME=VERSION for each; through sudo -n when not root.
CommandResult apt_install(const std::vector<std::string>& pins) {
  std::vector<std::string> argv;
  if (::geteuid() != 0) argv = {"sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive"};
  else argv = {"env", "DEBIAN_FRONTEND=noninteractive"};
  for (const char* a : {"apt-get", "install", "-y", "-q", "--allow-downgrades", "--no-install-recommends"}) argv.push_back(a);
  argv.insert(argv.end(), pins.begin(), pins.end());
  return run_command(argv);
}

void install_recorded(std::vector<PackageCheck>& checks, PackageDb& db) {
  std::vector<std::string> pins;
  for (PackageCheck& p : checks) {
    if (p.status != "differs") continue;
    if (std::find(p.available.begin(), p.available.end(), p.recorded.version) != p.available.end())
      pins.push_back(p.recorded.name + "=" + p.recorded.version);
  }
  if (pins.empty()) return;
  CommandResult r = apt_install(pins);
  std::vector<std::string> names;
  for (const PackageCheck& p : checks) names.push_back(p.recorded.name);
  auto now = db.installed(names);
  for (PackageCheck& p : checks) {
    if (p.status != "differs") continue;
    auto it = now.find(p.recorded.name);
    std::string have = it == now.end() ? "" : it->second.version;
    if (have == p.recorded.version) {
      p.status = "installed";
      p.detail = "installed " + p.recorded.version + " (was " + (p.installed.empty() ? "not installed" : p.installed) + ")";
      p.installed = have;
    } else {
      p.status = "install-failed";
      p.detail = "apt-get install " + p.recorded.name + "=" + p.recorded.version + " failed (exit " +
                 std::to_string(r.status) + "): " + tail(r.err + r.out, 600);
    }
  }
}

std::optional<std::string> step_checkout(ReproduceReport& r, const RecordedSource& src, const fs::path& source,
                                         std::optional<TempWorktree>& wt) {
  auto here = source_info(source);
  if (!here) return source.string() + " is not a git checkout: clone the repository (" + src.repository + ") and run there";
  if (here->commit == src.commit) {
    if (!here->clean) r.notes.push_back("the clone " + here->toplevel.string() + " has uncommitted changes");
    r.checkout = here->toplevel.string();
    return std::nullopt;
  }
  if (!run_command({"git", "-C", here->toplevel.string(), "cat-file", "-e", src.commit + "^{commit}"}).ok())
    return "commit " + src.commit + " is not in the clone " + here->toplevel.string() + " (which is at " + here->commit +
           "): fetch it first (git -C " + here->toplevel.string() + " fetch origin " + src.commit + ")";
  wt.emplace(here->toplevel, src.commit);
  r.checkout = wt->path().string();
  r.notes.push_back("the clone is at " + here->commit + ": checked out " + src.commit + " into " + r.checkout);
  return std::nullopt;
}

std::optional<std::string> step_build_runtimes(const ProvenanceClaims& claims, const fs::path& checkout, int jobs) {
  std::string build_type;
  std::vector<std::string> targets = cmake_targets(claims, build_type);
  if (targets.empty()) return std::nullopt;
  if (build_type.empty()) build_type = "Release";
  fs::path build = checkout / "build";
  std::vector<std::string> configure{"cmake", "-S", checkout.string(), "-B", build.string(),
                                     "-DCMAKE_BUILD_TYPE=" + build_type};
  if (!fs::exists(build / "CMakeCache.txt") && run_command({"ninja", "--version"}).ok()) {
    configure.push_back("-G");
    configure.push_back("Ninja");
  }
  CommandResult c = run_command(configure);
  if (!c.ok()) return "cmake configure failed: " + tail(c.out + c.err);
  std::vector<std::string> argv{"cmake", "--build", build.string(), "-j", std::to_string(jobs), "--target"};
  argv.insert(argv.end(), targets.begin(), targets.end());
  CommandResult b = run_command(argv);
  if (!b.ok()) return "building the runtimes (" + argv.back() + ", ...) failed: " + tail(b.out + b.err);
  return std::nullopt;
}

std::string pcr_hex(const eif::Measurements& m, const std::string& k) {
  nlohmann::ordered_json j = eif::measurements_json(m);
  return j.contains(k) ? j[k].get<std::string>() : "";
}

void step_rebuild(ReproduceReport& r, const ProvenanceClaims& claims, const ReproduceOptions& o, const fs::path& checkout) {
  const nlohmann::json& ext = claims.statement["predicate"]["buildDefinition"]["externalParameters"];
  fs::path spec_path = checkout / (ext.contains("specRepositoryPath") && ext["specRepositoryPath"].is_string()
                                       ? ext["specRepositoryPath"].get<std::string>()
                                       : claims.spec_path);
  // The spec file at the recorded commit is the spec itself when its sha256 is the
  // recorded one: read it as the original build did. Otherwise rebuild from the
  // provenance's copy of the spec.
  std::string want_sha = ext.contains("specSha256") && ext["specSha256"].is_string() ? ext["specSha256"].get<std::string>() : "";
  std::error_code ec;
  bool from_file = fs::is_regular_file(spec_path, ec) && !want_sha.empty() &&
                   to_hex(digest_file(HashAlgo::kSha256, spec_path)) == want_sha;
  Spec spec = from_file ? load_spec(spec_path) : parse_spec(claims.spec.dump(), spec_path);
  r.notes.push_back(from_file ? "spec read from " + spec_path.string() + " (its sha256 is the recorded one)"
                              : "spec taken from the provenance (" + spec_path.string() + " is absent or differs)");
  bool was_signed = spec.signing.has_value();
  if (was_signed) {
    spec.signing.reset();
    spec.as_json.erase("signing");
    r.notes.push_back("the image was signed: rebuilt unsigned (the key stays with its owner); PCR0-2 must match");
  }
  std::vector<LockedInput> inputs = digest_inputs(spec);
  for (const LockedInput& in : inputs) {
    bool found = false;
    for (const auto& dep : claims.dependencies) {
      if (!dep.is_object() || dep.value("name", "") != in.name) continue;
      found = true;
      std::string want = dep.contains("digest") && dep["digest"].is_object() ? dep["digest"].value("sha256", "") : "";
      if (want != in.digest.sha256)
        r.input_mismatches.push_back(in.name + " (" + in.path + ") is " + in.digest.sha256 + ", provenance records " + want);
    }
    if (!found && in.name.rfind("signing.", 0) != 0)
      r.input_mismatches.push_back(in.name + " (" + in.path + ") is not among the provenance's dependencies");
  }
  Lock lock;
  lock.rbuild_version = EF_VERSION;
  lock.spec_name = spec.name;
  lock.inputs = inputs;
  BuildOptions bo;
  bo.out_dir = o.out_dir.empty() ? fs::path("out/reproduced") : o.out_dir;
  bo.cache_dir = o.cache_dir.empty() ? default_cache_dir() : o.cache_dir;
  bo.spec_path_text = spec_path.filename().string();
  bo.packages = o.packages;
  BuildResult b = build_image(spec, lock, bo);
  r.rebuilt_eif = b.eif.string();
  r.rebuilt_sha256 = b.eif_sha256;

  if (was_signed) {
    bool same = true;
    for (const char* k : {"PCR0", "PCR1", "PCR2"}) {
      std::string want = claims.pcrs.contains(k) && claims.pcrs[k].is_string() ? claims.pcrs[k].get<std::string>() : "";
      if (pcr_hex(b.measurements, k) != want) {
        same = false;
        r.image_mismatches.push_back(std::string(k) + " is " + pcr_hex(b.measurements, k) + ", provenance records " + want);
      }
    }
    r.identical = same;
  } else {
    r.identical = r.rebuilt_sha256 == claims.subject_sha256;
    if (!r.identical)
      r.image_mismatches.push_back("rebuilt sha256 " + r.rebuilt_sha256 + ", provenance records " + claims.subject_sha256);
  }
  if (o.image) {
    eif::EifImage a = eif::EifImage::open(*o.image), c = eif::EifImage::open(b.eif);
    for (const Difference& d : diff_images(a, c)) {
      if (was_signed && (d.where.find("signature") != std::string::npos || d.where.find("PCR8") != std::string::npos))
        continue;
      r.image_mismatches.push_back(d.where + ": original " + d.a + ", rebuilt " + d.b);
    }
    if (!was_signed) {
      std::string first = first_difference(*o.image, b.eif);
      if (!first.empty()) {
        r.identical = false;
        r.image_mismatches.push_back("byte comparison with " + o.image->string() + ": " + first);
      }
    }
  }
}

}  // namespace

std::vector<DebPackage> recorded_packages(const ProvenanceClaims& claims) {
  std::vector<DebPackage> out;
  std::set<std::string> seen;
  if (!claims.dependencies.is_array()) return out;
  for (std::size_t i = 0; i < claims.dependencies.size(); ++i) {
    const auto& dep = claims.dependencies[i];
    if (!dep.is_object() || !dep.contains("annotations") || !dep["annotations"].is_object() ||
        !dep["annotations"].contains("debianPackage"))
      continue;
    DebPackage p = package_from_json(dep["annotations"]["debianPackage"],
                                     "resolvedDependencies[" + std::to_string(i) + "].annotations.debianPackage");
    if (seen.insert(p.name).second) out.push_back(p);
  }
  return out;
}

std::vector<PackageCheck> compare_packages(const std::vector<DebPackage>& recorded, PackageDb& db) {
  std::vector<std::string> names;
  for (const DebPackage& p : recorded) names.push_back(p.name);
  std::map<std::string, DebPackage> have = db.installed(names);
  std::vector<PackageCheck> out;
  for (const DebPackage& p : recorded) {
    PackageCheck c;
    c.recorded = p;
    if (auto it = have.find(p.name); it != have.end()) c.installed = it->second.version;
    if (c.installed == p.version) {
      c.status = "same";
      out.push_back(c);
      continue;
    }
    c.available = db.available(p.name);
    bool gettable = std::find(c.available.begin(), c.available.end(), p.version) != c.available.end();
    std::string offered = c.available.empty() ? std::string("nothing") : c.available.front();
    for (std::size_t i = 1; i < c.available.size(); ++i) offered += ", " + c.available[i];
    if (gettable) {
      c.status = "differs";
      c.detail = "installed " + (c.installed.empty() ? std::string("nothing") : c.installed) + "; the archive has " +
                 p.version + " (rbuild reproduce --install installs it)";
    } else {
      c.status = "unavailable";
      c.detail = "installed " + (c.installed.empty() ? std::string("nothing") : c.installed) + ", the archive offers " +
                 offered + "; " + p.version + " is on Debian's snapshot archive: " + snapshot_url(p);
    }
    out.push_back(c);
  }
  return out;
}

ReproduceReport reproduce(const ReproduceOptions& o) {
  ReproduceReport r;
  ProvenanceClaims claims = read_provenance(read_text_file(o.provenance), o.provenance.string());
  r.recorded_sha256 = claims.subject_sha256;
  std::optional<RecordedSource> src = recorded_source(claims);
  if (!src || src->commit.empty()) {
    r.failure = o.provenance.string() + " records no source checkout (no resolvedDependencies entry 'source' with a "
                "gitCommit): only images built from a git checkout can be reproduced";
    return r;
  }
  r.commit = src->commit;
  if (!src->clean)
    r.notes.push_back("the original build ran in a checkout with uncommitted changes: the commit alone may not reproduce it");

  std::unique_ptr<PackageDb> system = o.packages ? nullptr : system_package_db();
  PackageDb& db = o.packages ? *o.packages : *system;
  r.packages = compare_packages(recorded_packages(claims), db);
  if (o.install) install_recorded(r.packages, db);

  std::optional<TempWorktree> wt;
  fs::path source = o.source.empty() ? fs::current_path() : o.source;
  if (auto why = step_checkout(r, *src, source, wt)) {
    r.failure = *why;
    return r;
  }
  if (auto why = step_build_runtimes(claims, r.checkout, o.jobs)) {
    r.failure = *why;
    return r;
  }
  try {
    step_rebuild(r, claims, o, r.checkout);
  } catch (const Error& e) {
    r.failure = std::string("rebuilding the image failed: ") + e.what();
  }
  return r;
}

nlohmann::ordered_json report_json(const ReproduceReport& r) {
  nlohmann::ordered_json pk = nlohmann::ordered_json::array();
  for (const PackageCheck& p : r.packages) {
    nlohmann::ordered_json j{{"name", p.recorded.name}, {"recorded", p.recorded.version}, {"installed", p.installed},
                             {"status", p.status}};
    if (!p.available.empty()) j["available"] = p.available;
    if (p.status == "unavailable") j["snapshot"] = snapshot_url(p.recorded);
    if (!p.detail.empty()) j["detail"] = p.detail;
    pk.push_back(j);
  }
  return {{"identical", r.identical && r.failure.empty()},
          {"commit", r.commit},
          {"checkout", r.checkout},
          {"failure", r.failure},
          {"notes", r.notes},
          {"packages", pk},
          {"inputMismatches", r.input_mismatches},
          {"imageMismatches", r.image_mismatches},
          {"rebuiltEif", r.rebuilt_eif},
          {"rebuiltSha256", r.rebuilt_sha256},
          {"recordedSha256", r.recorded_sha256}};
}

std::string report_text(const ReproduceReport& r) {
  std::string s;
  if (!r.commit.empty()) s += "commit      " + r.commit + (r.checkout.empty() ? "" : " in " + r.checkout) + "\n";
  for (const std::string& n : r.notes) s += "note        " + n + "\n";
  std::size_t same = 0;
  for (const PackageCheck& p : r.packages) {
    if (p.status == "same") {
      ++same;
      continue;
    }
    s += "package     " + p.recorded.name + " recorded " + p.recorded.version + ": " + p.status + ": " + p.detail + "\n";
  }
  s += "packages    " + std::to_string(same) + " of " + std::to_string(r.packages.size()) + " at the recorded version\n";
  for (const std::string& m : r.input_mismatches) s += "input       " + m + "\n";
  for (const std::string& m : r.image_mismatches) s += "image       " + m + "\n";
  if (!r.failure.empty()) return s + "FAILED      " + r.failure + "\n";
  s += "rebuilt     " + r.rebuilt_eif + " sha256 " + r.rebuilt_sha256 + "\n";
  s += r.identical ? "reproduced: identical to the provenance's subject (sha256 " + r.recorded_sha256 + ")\n"
                   : "NOT reproduced: the rebuilt image differs (see above)\n";
  return s;
}

}  // namespace ef::build
