// init: PID 1 for enclaves. See docs/init.md.
#include <unistd.h>

#include <string>
#include <vector>

#include "base/log.h"
#include "runtime/init_app.h"

int main(int argc, char** argv) {
  ef::log::configure_from_env("init");
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> warnings;
  ef::init::InitOptions options = ef::init::parse_init_args(args, getpid() == 1, warnings);
  for (const std::string& w : warnings) ef::log::warn(w);
  return ef::init::run_init(options);
}
