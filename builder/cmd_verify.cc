// rbuild verify.
#include <cstdio>
#include <ctime>

#include <unistd.h>

#include "base/cli.h"
#include "builder/build.h"
#include "builder/commands.h"
#include "base/atomic_file.h"
#include "base/error.h"
#include "base/hash.h"
#include "builder/build_environment.h"
#include "builder/policy.h"
#include "builder/reproduce.h"
#include "builder/verify.h"
#include "builder/vsa.h"

namespace ef::build {

int cmd_verify(Args args) {
  CLI::App app("Check an EIF: structure, CRC, signature, PCRs against its provenance; with --rebuild, rebuild it "
               "from the provenance's locked inputs and compare byte for byte.",
               "rbuild verify");
  VerifyOptions o;
  std::string image, provenance, cache;
  bool json = false;
  app.add_option("IMAGE", image, "the .eif file")->required();
  app.add_option("--provenance", provenance, "provenance file (default: NAME.provenance.json beside the image)");
  app.add_flag("--rebuild", o.rebuild, "rebuild in a temporary directory and compare");
  app.add_option("--cache", cache, "layer cache for --rebuild (default: ~/.cache/rbuild)");
  app.add_flag("--json", json, "print the checks as JSON");
  std::string policy_path, vsa_path;
  std::int64_t now = 0;
  app.add_option("--policy", policy_path, "policy.yaml: what to trust (signers, builder, source, PCRs, age); "
                                          "see docs/verification-ci.md");
  app.add_option("--vsa", vsa_path, "write an SLSA Verification Summary Attestation of the result to this file");
  std::string source;
  app.add_option("--source", source, "with --rebuild: a clone of the repository; rebuild as `rbuild reproduce` does "
                                     "(recorded commit, runtimes built from source) instead of from the inputs on disk");
  app.add_option("--now", now, "evaluate the policy's max_age at this time (seconds since the epoch; default: now)");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  o.image = image;
  if (!provenance.empty()) o.provenance = provenance;
  o.cache_dir = cache.empty() ? default_cache_dir() : std::filesystem::path(cache);
  std::optional<Policy> policy;
  if (!policy_path.empty()) policy = load_policy(policy_path);
  if (!vsa_path.empty() && !policy) throw ef::Error("--vsa needs --policy: a summary says which policy was verified");
  o.policy = policy ? &*policy : nullptr;
  o.now = now ? now : static_cast<std::int64_t>(std::time(nullptr));
  bool reproduce_from_source = o.rebuild && !source.empty();
  if (reproduce_from_source) o.rebuild = false;
  std::vector<Check> checks = verify_image(o);
  if (reproduce_from_source) {
    ReproduceOptions ro;
    ro.provenance = o.provenance.value_or(provenance_beside(o.image));
    ro.image = o.image;
    ro.source = source;
    ro.cache_dir = o.cache_dir;
    ro.out_dir = std::filesystem::temp_directory_path() / ("rbuild-verify-" + std::to_string(::getpid()));
    ReproduceReport r = reproduce(ro);
    std::string detail = report_text(r);
    while (!detail.empty() && detail.back() == '\n') detail.pop_back();
    for (char& ch : detail) ch = ch == '\n' ? ';' : ch;
    checks.push_back({"rebuild", r.identical && r.failure.empty(), detail});
  }
  if (!vsa_path.empty()) {
    std::filesystem::path prov = o.provenance.value_or(provenance_beside(o.image));
    VsaInputs in;
    in.image_name = std::filesystem::path(image).filename().string();
    in.image_sha256 = std::filesystem::exists(image) ? to_hex(digest_file(HashAlgo::kSha256, image)) : "";
    in.image_uri = file_uri(image);
    in.policy_uri = file_uri(policy_path);
    in.policy_sha256 = to_hex(digest_file(HashAlgo::kSha256, policy_path));
    if (std::filesystem::exists(prov)) {
      in.provenance_uri = file_uri(prov.string());
      in.provenance_sha256 = to_hex(digest_file(HashAlgo::kSha256, prov));
    }
    in.time_verified = o.now;
    write_file_atomic(vsa_path, make_vsa(in, checks).dump(2) + "\n");
  }
  bool all = true;
  for (const Check& c : checks) all = all && c.ok;
  if (json) {
    std::printf("%s\n", checks_json(checks).dump(2).c_str());
  } else {
    for (const Check& c : checks) std::printf("%-20s %s  %s\n", c.name.c_str(), c.ok ? "ok  " : "FAIL", c.detail.c_str());
    std::printf("%s: %s\n", image.c_str(), all ? "verified" : "NOT verified");
  }
  return all ? 0 : 1;
}

}  // namespace ef::build
