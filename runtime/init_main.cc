// init: PID 1 for enclaves. See docs/init.md.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/log.h"
#include "runtime/init_app.h"

int main(int argc, char** argv) {
  ef::log::configure_from_env("init");
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> warnings;
  bool pid1 = getpid() == 1;
  ef::init::InitOptions options = ef::init::parse_init_args(args, pid1, warnings);
  if (options.help) {
    std::fputs(ef::init::init_usage().c_str(), stdout);
    return 0;
  }
  if (options.version) {
    std::printf("init %s\n", EF_VERSION);
    return 0;
  }
  // As PID 1 stray words come from the kernel; anywhere else a person typed them.
  for (const std::string& w : warnings) pid1 ? ef::log::warn(w) : ef::log::error(w);
  if (!pid1 && !warnings.empty()) {
    std::fputs("run 'init --help' for the options\n", stderr);
    return 2;
  }
  if (auto why = ef::init::refusal(options, pid1, getpid())) {
    ef::log::error(*why);
    return 2;
  }
  return ef::init::run_init(options);
}
