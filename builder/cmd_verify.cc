// rbuild verify.
#include <cstdio>

#include "base/cli.h"
#include "builder/build.h"
#include "builder/commands.h"
#include "builder/verify.h"

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
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  o.image = image;
  if (!provenance.empty()) o.provenance = provenance;
  o.cache_dir = cache.empty() ? default_cache_dir() : std::filesystem::path(cache);
  std::vector<Check> checks = verify_image(o);
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
