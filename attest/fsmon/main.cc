// fs-monitor: a verifiable record of every file the enclave holds or writes.
#include <cstdio>
#include <iostream>

#include "attest/fsmon/config.h"
#include "attest/fsmon/daemon.h"
#include "base/cli.h"
#include "base/error.h"
#include "base/log.h"

using namespace ef;
using namespace ef::fsmon;

namespace {

constexpr const char* kDescription = R"(Watches directory trees (inotify), hashes every file with SHA3-512 when it
is closed after writing or moved in, keeps directory hashes over their children,
and publishes the index to ra-web-srv (FILE-INDEX IPC on a unix socket) and,
when configured, to a NATS JetStream key-value bucket. See docs/fs-monitor.md.

usage:
  fs-monitor --config FILE           run the daemon until SIGINT/SIGTERM
  fs-monitor check FILE              validate a configuration and print it
  fs-monitor scan DIR [--ignore F]   hash a tree once; JSON lines on stdout)";

int cmd_scan(std::vector<std::string> args) {
  CLI::App app("Hash a tree once and print one JSON line per file and directory.", "fs-monitor scan");
  std::string dir, ignore;
  int threads = 2;
  app.add_option("dir", dir, "directory")->required();
  app.add_option("--ignore", ignore, "ignore file (gitignore syntax)");
  app.add_option("--threads", threads, "hash worker threads")->check(CLI::Range(1, 64));
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  log::configure("fs-monitor", log::Format::kText, log::Level::kWarn);
  scan_once(dir, load_ignore_file(ignore), threads, std::cout);
  std::cout.flush();
  return 0;
}

int cmd_check(std::vector<std::string> args) {
  CLI::App app("Validate a configuration and print its effective settings.", "fs-monitor check");
  std::string path;
  app.add_option("config", path, "configuration file")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  Config c = load_config(path);
  load_ignore_file(c.ignore_file);
  std::printf("%s\n", c.describe().c_str());
  return 0;
}

int cmd_run(std::vector<std::string> args) {
  CLI::App app("Run the daemon.", "fs-monitor --config");
  std::string path;
  app.add_option("-c,--config", path, "configuration file")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  Config c = load_config(path);
  log::configure("fs-monitor", c.log_format);
  log::configure_from_env("fs-monitor");
  return run_daemon(c);
}

}  // namespace

int main(int argc, char** argv) {
  // `fs-monitor --config FILE` (or -c) is the daemon; everything else is a subcommand.
  if (argc >= 2) {
    std::string_view a1 = argv[1];
    if (a1 == "--config" || a1 == "-c" || a1.rfind("--config=", 0) == 0) {
      try {
        return cmd_run(std::vector<std::string>(argv + 1, argv + argc));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "fs-monitor: error: %s\n", e.what());
        return 1;
      }
    }
  }
  static const cli::Command commands[] = {
      {"scan", "hash a tree once, print JSON lines", cmd_scan},
      {"check", "validate a configuration", cmd_check},
      {"run", "run the daemon (same as --config FILE)", cmd_run},
  };
  return cli::dispatch("fs-monitor", kDescription, commands, argc, argv);
}
