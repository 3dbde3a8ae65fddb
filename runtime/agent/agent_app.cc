#include "runtime/agent/agent_app.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "base/error.h"
#include "base/log.h"
#include "runtime/agent/nsm_setup.h"
#include "runtime/agent/server.h"

namespace ef::agent {

int agent_main(int argc, char** argv) {
  CLI::App app{"ef-agent: exec, cp, logs and secrets over an attested TLS 1.3 channel (docs/agent.md)", "ef-agent"};
  app.set_version_flag("--version", "ef-agent " EF_VERSION);
  std::string config_path = "/etc/ef-agent.yaml";
  bool check = false;
  app.add_option("-c,--config", config_path, "configuration file");
  app.add_flag("--check", check, "validate the configuration and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::configure_from_env("ef-agent");
  try {
    const AgentConfig config = load_agent_config(config_path);
    if (check) {
      std::printf("%s\n", config.to_json().dump(2).c_str());
      return 0;
    }
    const log::Level level = config.log_level == "debug" ? log::Level::kDebug
                             : config.log_level == "warn" ? log::Level::kWarn
                             : config.log_level == "error" ? log::Level::kError
                                                           : log::Level::kInfo;
    log::configure("ef-agent", config.log_format == "json" ? log::Format::kJson : log::Format::kText, level);
    log::info("starting", {{"config", config.to_json().dump()}});
    if (config.operators.empty())
      log::warn("no operators are listed: every AUTH will be refused", {{"config", config.source}});

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);  // before any thread starts: every thread inherits it
    ::signal(SIGPIPE, SIG_IGN);
    UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
    if (!sfd) throw_errno("signalfd", "SIGTERM");

    AgentNsm nsm = open_agent_nsm(config);
    AgentServer server(config, *nsm.device);
    server.bind();
    server.run(sfd.get());
    kill_all_exec_children();
    const auto& c = server.counters();
    log::info("stopping", {{"connections", std::to_string(c.connections.load())},
                           {"authenticated", std::to_string(c.authenticated.load())},
                           {"auth_refused", std::to_string(c.auth_refused.load())},
                           {"requests", std::to_string(c.requests.load())},
                           {"refused", std::to_string(c.refused.load())}});
    // Connection threads are detached and still hold the server: leave without
    // running destructors under them.
    std::fflush(nullptr);
    ::_exit(0);
  } catch (const std::exception& e) {
    log::error(e.what());
    return 1;
  }
}

}  // namespace ef::agent
