// rbuild reproduce.
#include <cstdio>

#include "base/cli.h"
#include "builder/build.h"
#include "builder/commands.h"
#include "builder/reproduce.h"

namespace ef::build {

int cmd_reproduce(Args args) {
  CLI::App app("Rebuild an image from its provenance and a clone of this repository: check out the recorded commit, "
               "compare the machine's Debian packages with the recorded versions (--install installs them), build "
               "the runtimes, rebuild the image and compare byte for byte.",
               "rbuild reproduce");
  ReproduceOptions o;
  std::string provenance, image, source, out, cache;
  bool json = false;
  app.add_option("PROVENANCE", provenance, "NAME.provenance.json (a Statement or a DSSE envelope)")->required();
  app.add_option("--image", image, "the original EIF: compare the rebuilt one with it byte for byte");
  app.add_option("--source", source, "a clone of the repository (default: the current directory)");
  app.add_option("-o,--output", out, "where the rebuilt image goes (default: out/reproduced)");
  app.add_option("--cache", cache, "layer cache (default: ~/.cache/rbuild)");
  app.add_flag("--install", o.install, "apt-get install NAME=VERSION for every recorded package the archive still has");
  app.add_option("-j,--jobs", o.jobs, "parallel jobs for building the runtimes")->check(CLI::Range(1, 256));
  app.add_flag("--json", json, "print the report as JSON");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  o.provenance = provenance;
  if (!image.empty()) o.image = image;
  o.source = source;
  o.out_dir = out;
  o.cache_dir = cache.empty() ? default_cache_dir() : std::filesystem::path(cache);
  ReproduceReport r = reproduce(o);
  if (json) std::printf("%s\n", report_json(r).dump(2).c_str());
  else std::fputs(report_text(r).c_str(), stdout);
  return r.identical && r.failure.empty() ? 0 : 1;
}

}  // namespace ef::build
