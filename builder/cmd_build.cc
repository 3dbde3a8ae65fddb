// rbuild lock / build.
#include <unistd.h>

#include <cstdio>

#include "base/atomic_file.h"
#include "base/cli.h"
#include "base/error.h"
#include "base/hash.h"
#include "builder/build.h"
#include "builder/commands.h"

namespace ef::build {
namespace fs = std::filesystem;

namespace {

fs::path default_lock_path(const fs::path& spec_path, const std::string& name) {
  fs::path dir = spec_path.parent_path();
  return (dir.empty() ? fs::path("..") : dir / "..").lexically_normal() / "lockfiles" / (name + ".lock.json");
}

void phase(const std::string& what) {
  if (::isatty(2)) std::fprintf(stderr, "rbuild: %s\n", what.c_str());
}

}  // namespace

int cmd_lock(Args args) {
  CLI::App app("Digest every input a spec names and write the lockfile.", "rbuild lock");
  std::string spec_path, out;
  app.add_option("SPEC", spec_path, "the spec (specs/NAME.yaml)")->required();
  app.add_option("-o,--output", out, "lockfile to write (default: lockfiles/NAME.lock.json beside specs/)");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  Spec spec = load_spec(spec_path);
  fs::path lock_path = out.empty() ? default_lock_path(spec_path, spec.name) : fs::path(out);
  phase("hashing inputs of " + spec_path);
  Lock lock = compute_lock(spec);
  if (!lock_path.parent_path().empty()) fs::create_directories(lock_path.parent_path());
  write_file_atomic(lock_path, lock_to_json(lock).dump(2) + "\n");
  std::printf("locked %zu inputs of %s in %s\n", lock.inputs.size(), spec.name.c_str(), lock_path.c_str());
  return 0;
}

int cmd_build(Args args) {
  CLI::App app("Build an EIF from a locked spec: OUTDIR/NAME.eif, NAME.pcrs.json, NAME.provenance.json.",
               "rbuild build");
  std::string spec_path, lock_arg, out_dir = "out", cache;
  bool json = false, rehash = false;
  app.add_option("SPEC", spec_path, "the spec (specs/NAME.yaml)")->required();
  app.add_flag("--rehash", rehash, "re-read every input instead of trusting remembered digests of unchanged files");
  app.add_option("--lock", lock_arg, "the lockfile (default: lockfiles/NAME.lock.json beside specs/)");
  app.add_option("-o,--output", out_dir, "output directory (default: out)");
  app.add_option("--cache", cache, "cache of unpacked layers (default: ~/.cache/rbuild)");
  app.add_flag("--json", json, "print the result as JSON");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;

  Spec spec = load_spec(spec_path);
  fs::path lock_path = lock_arg.empty() ? default_lock_path(spec_path, spec.name) : fs::path(lock_arg);
  if (!fs::exists(lock_path))
    throw Error(lock_path.string() + " does not exist: run 'rbuild lock " + spec_path + "' first");
  Lock locked = load_lock(lock_path);
  phase("checking inputs against " + lock_path.string());
  fs::path cache_dir = cache.empty() ? default_cache_dir() : fs::path(cache);
  DigestCache digests(cache_dir / "digests.json");
  Lock current = compute_lock(spec, rehash ? nullptr : &digests);
  digests.save();
  auto mismatches = lock_mismatches(locked, current);
  if (!mismatches.empty()) {
    std::fprintf(stderr, "rbuild build: %zu input(s) differ from %s:\n", mismatches.size(), lock_path.c_str());
    for (const std::string& m : mismatches) std::fprintf(stderr, "  %s\n", m.c_str());
    std::fprintf(stderr, "If these changes are intended, run 'rbuild lock %s' and review the diff.\n",
                 spec_path.c_str());
    return 1;
  }
  BuildOptions options;
  options.out_dir = out_dir;
  options.cache_dir = cache_dir;
  options.use_stamp = !rehash;
  options.spec_path_text = spec_path;
  options.lock_sha256 = to_hex(digest_file(HashAlgo::kSha256, lock_path));
  phase("building " + spec.name);
  BuildResult r = build_image(spec, current, options);
  nlohmann::ordered_json j;
  j["eif"] = r.eif.string();
  j["sha256"] = r.eif_sha256;
  j["pcrs"] = r.pcrs.string();
  j["provenance"] = r.provenance.string();
  j["Measurements"] = eif::measurements_json(r.measurements);
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s %s\n  eif:        %s\n  sha256:     %s\n  pcrs:       %s\n  provenance: %s\n",
                r.up_to_date ? "up to date:" : "built", spec.name.c_str(), r.eif.c_str(), r.eif_sha256.c_str(), r.pcrs.c_str(), r.provenance.c_str());
    std::printf("  PCR0: %s\n  PCR1: %s\n  PCR2: %s\n", to_hex(r.measurements.pcr0).c_str(),
                to_hex(r.measurements.pcr1).c_str(), to_hex(r.measurements.pcr2).c_str());
    if (r.measurements.pcr8) std::printf("  PCR8: %s\n", to_hex(*r.measurements.pcr8).c_str());
  }
  return 0;
}

}  // namespace ef::build
