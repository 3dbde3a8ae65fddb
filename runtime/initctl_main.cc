// initctl: control a running init over its unix socket or vsock. See docs/initctl.md.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "base/cli.h"
#include "base/error.h"
#include "runtime/control_client.h"
#include "runtime/initctl_format.h"

namespace {

using ef::init::Request;

struct Common {
  std::string socket = "/run/init.sock";
  std::string vsock;
  bool json = false;
  int timeout_ms = 10'000;

  void add_to(CLI::App& app) {
    if (const char* env = std::getenv("INITCTL_SOCKET")) socket = env;
    app.add_option("--socket", socket, "init's control socket")->capture_default_str();
    app.add_option("--vsock", vsock, "talk to init over vsock: CID[:PORT] (port 9001 by default)");
    app.add_flag("--json", json, "print the raw JSON response");
    app.add_option("--timeout", timeout_ms, "milliseconds to wait for a response")->capture_default_str();
  }

  ef::init::Endpoint endpoint() const {
    return vsock.empty() ? ef::init::Endpoint::parse(socket) : ef::init::Endpoint::parse("vsock:" + vsock);
  }
};

int print_response(const nlohmann::json& r, bool json, const std::function<std::string()>& human) {
  bool ok = r.value("ok", false);
  if (json) {
    std::cout << r.dump(2) << "\n";
  } else if (!ok) {
    std::cerr << "initctl: error: " << r.value("error", std::string("unknown error")) << "\n";
  } else {
    std::cout << human();
  }
  return ok ? 0 : 1;
}

int simple(const std::string& cmd, bool needs_name, std::vector<std::string> args,
           std::function<std::string(const nlohmann::json&, const std::string&)> human, bool optional_name = false) {
  CLI::App app("initctl " + cmd);
  Common common;
  common.add_to(app);
  std::string name;
  if (needs_name) app.add_option("NAME", name, "service name")->required();
  if (optional_name) app.add_option("NAME", name, "service name (none: init itself)");
  if (auto rc = ef::cli::parse_args(app, std::move(args))) return *rc;
  ef::init::ControlClient client(common.endpoint(), common.timeout_ms);
  Request req;
  req.cmd = cmd;
  req.name = name;
  auto r = client.call(req);
  return print_response(r, common.json, [&] { return human(r, name); });
}

int logs(std::vector<std::string> args) {
  CLI::App app("initctl logs");
  Common common;
  common.add_to(app);
  std::string name;
  bool follow = false;
  int tail = 100;
  app.add_option("NAME", name, "service name")->required();
  app.add_flag("-f,--follow", follow, "keep printing new lines");
  app.add_option("-n,--tail", tail, "lines of history to print")->capture_default_str()->check(CLI::Range(0, 10000));
  if (auto rc = ef::cli::parse_args(app, std::move(args))) return *rc;
  ef::init::ControlClient client(common.endpoint(), common.timeout_ms);
  auto r = client.call(Request{"logs", name, tail, follow});
  if (!r.value("ok", false) || common.json) {
    if (!follow || !r.value("ok", false)) return print_response(r, common.json, [] { return std::string(); });
    std::cout << r.dump() << std::endl;
  } else {
    for (const auto& l : r["lines"]) std::cout << l.get<std::string>() << "\n";
    std::cout.flush();
  }
  while (follow) {
    auto next = client.next(true);
    if (!next) break;
    if (common.json) std::cout << next->dump() << std::endl;
    else if (next->contains("line")) std::cout << (*next)["line"].get<std::string>() << std::endl;
  }
  return 0;
}

std::string done(const std::string& what, const std::string& name) { return name + ": " + what + "\n"; }

}  // namespace

/// Lets the connection options come before the command too (`initctl --vsock 16 list`):
/// they are moved behind it, where each command parses them.
std::vector<char*> hoist_global_options(int argc, char** argv) {
  std::vector<char*> leading, rest;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    bool takes_value = a == "--socket" || a == "--vsock" || a == "--timeout";
    if (a == "--json" || (takes_value && i + 1 < argc)) {
      leading.push_back(argv[i]);
      if (takes_value) leading.push_back(argv[++i]);
    } else if (a.starts_with("--socket=") || a.starts_with("--vsock=") || a.starts_with("--timeout=")) {
      leading.push_back(argv[i]);
    } else {
      break;
    }
  }
  std::vector<char*> out = {argv[0]};
  if (i < argc) out.push_back(argv[i++]);
  for (; i < argc; ++i) rest.push_back(argv[i]);
  out.insert(out.end(), rest.begin(), rest.end());
  out.insert(out.end(), leading.begin(), leading.end());
  out.push_back(nullptr);
  return out;
}

int main(int argc, char** argv) {
  using ef::cli::Command;
  std::vector<char*> args = hoist_global_options(argc, argv);
  argc = static_cast<int>(args.size()) - 1;
  argv = args.data();
  auto named = [](const char* cmd, const char* past) {
    return [cmd, past](std::vector<std::string> a) {
      return simple(cmd, true, std::move(a), [past](const nlohmann::json&, const std::string& n) { return done(past, n); });
    };
  };
  const Command commands[] = {
      {"list", "list the services (NAME STATE PID UPTIME RESTARTS LAST EXIT)",
       [](std::vector<std::string> a) {
         return simple("list", false, std::move(a), [](const nlohmann::json& r, const std::string&) {
           return ef::init::format_list(r);
         });
       }},
      {"status", "show one service, or without NAME init's own state (mode, service file, its error)",
       [](std::vector<std::string> a) {
         return simple("status", false, std::move(a), [](const nlohmann::json& r, const std::string&) {
           return r.contains("service") ? ef::init::format_status(r["service"]) : ef::init::format_init_status(r);
         }, true);
       }},
      {"start", "start a service (and what it requires)", named("start", "started")},
      {"stop", "stop a service", named("stop", "stopped")},
      {"restart", "restart a service", named("restart", "restarted")},
      {"enable", "enable and start a service", named("enable", "enabled")},
      {"disable", "stop and disable a service", named("disable", "disabled")},
      {"logs", "print a service's output (--follow, --tail N)", logs},
      {"system", "uptime, load, memory, per-service restarts and last exits",
       [](std::vector<std::string> a) {
         return simple("system", false, std::move(a), [](const nlohmann::json& r, const std::string&) {
           return ef::init::format_system(r);
         });
       }},
      {"reload", "re-read the service file; start, stop or restart what changed",
       [](std::vector<std::string> a) {
         return simple("reload", false, std::move(a), [](const nlohmann::json& r, const std::string&) {
           return "reloaded: " + r.value("changes", std::string()) + "\n";
         });
       }},
      {"shutdown", "stop every service in order and power off",
       [](std::vector<std::string> a) {
         return simple("shutdown", false, std::move(a),
                       [](const nlohmann::json&, const std::string&) { return std::string("shutting down\n"); });
       }},
      {"reboot", "stop every service in order and reboot",
       [](std::vector<std::string> a) {
         return simple("reboot", false, std::move(a),
                       [](const nlohmann::json&, const std::string&) { return std::string("rebooting\n"); });
       }},
      {"metrics", "Prometheus text: uptime, orphans, per-service up, restarts, exit codes",
       [](std::vector<std::string> a) {
         return simple("metrics", false, std::move(a), [](const nlohmann::json& r, const std::string&) {
           return r.value("text", std::string());
         });
       }},
      {"ping", "check that init answers",
       [](std::vector<std::string> a) {
         return simple("ping", false, std::move(a), [](const nlohmann::json& r, const std::string&) {
           return "pong (init " + r.value("version", std::string("?")) + ")\n";
         });
       }},
  };
  return ef::cli::dispatch("initctl", "control init, the enclave's PID 1", commands, argc, argv);
}
