// init as PID 1 of a new PID namespace (unshare --pid --fork), in namespace
// mode, driven by the real initctl over its unix socket. init makes its own
// mount namespace and /proc, so the tests do not depend on "/" being a mount
// point (it is not in a chroot, where `unshare --mount` fails).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/file.h"
#include "runtime/event_loop.h"

namespace fs = std::filesystem;
using ef::init::Millis;
using ef::init::monotonic_ms;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "ef-init-it-XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& n) const { return (path / n).string(); }
};

std::string slurp(const std::string& path) {
  try {
    return ef::read_text_file(path);
  } catch (const std::exception&) {
    return "";
  }
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path, bool json_logs = false) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    if (json_logs) setenv("EF_LOG_FORMAT", "json", 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

struct Result {
  int rc;
  std::string out;
};

/// A namespace PID 1 running our init with a test configuration.
struct NsInit {
  TempDir dir;
  std::string config = dir / "init.yaml";
  std::string sock = dir / "init.sock";
  std::string console = dir / "console";
  pid_t unshare_pid = -1;
  int exit_status = -1;

  explicit NsInit(const std::string& services) {
    write_config(services);
    unshare_pid = spawn({"unshare", "--pid", "--fork", "--kill-child", EF_INIT_BIN, "--mode", "namespace",
                         "--config", config, "--socket", sock},
                        console, true);
    Millis until = monotonic_ms() + 10'000;
    while (monotonic_ms() < until && initctl({"ping"}).rc != 0 && wait_exit(0) < 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // Without the privileges for a PID namespace (root or a user namespace) this fails, saying why.
    INFO("init's console (unshare --pid --fork needs CAP_SYS_ADMIN): " << slurp(console));
    REQUIRE(initctl({"ping"}).rc == 0);
  }
  ~NsInit() {
    if (unshare_pid > 0 && exit_status < 0) {
      kill(unshare_pid, SIGKILL);
      waitpid(unshare_pid, nullptr, 0);
    }
  }

  void write_config(const std::string& services) {
    std::ofstream(config) << "log_dir: " << (dir / "log") << "\ncontrol: {vsock_port: 0}\nservices:\n" << services;
  }

  Result initctl(std::vector<std::string> args) {
    args.insert(args.begin(), EF_INITCTL_BIN);
    args.push_back("--socket");
    args.push_back(sock);
    std::string out = dir / "initctl.out";
    fs::remove(out);
    pid_t pid = spawn(args, out);
    int st = 0;
    waitpid(pid, &st, 0);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : 128, slurp(out)};
  }

  nlohmann::json json(std::vector<std::string> args) {
    args.push_back("--json");
    auto r = initctl(args);
    return nlohmann::json::parse(r.out);
  }

  /// init's own pid as the host sees it (the child of unshare).
  pid_t init_host_pid() const {
    std::string children = slurp("/proc/" + std::to_string(unshare_pid) + "/task/" + std::to_string(unshare_pid) +
                                 "/children");
    return static_cast<pid_t>(std::atol(children.c_str()));
  }

  /// JSON log records init printed, in order.
  std::vector<nlohmann::json> records() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(slurp(console));
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.contains("msg")) out.push_back(j);
    }
    return out;
  }

  /// Index of the first record whose message starts with `prefix` (-1: none).
  int find(const std::string& prefix) const {
    auto r = records();
    for (std::size_t i = 0; i < r.size(); ++i)
      if (r[i]["msg"].get<std::string>().starts_with(prefix)) return static_cast<int>(i);
    return -1;
  }

  bool wait_for(const std::function<bool()>& cond, int ms = 10'000) {
    Millis until = monotonic_ms() + ms;
    while (monotonic_ms() < until) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
  }

  std::string state(const std::string& name) { return json({"status", name})["service"]["state"]; }

  /// Waits for unshare (and so init) to exit; returns its exit code.
  int wait_exit(int ms) {
    if (exit_status >= 0) return exit_status;
    Millis until = monotonic_ms() + ms;
    do {
      int st = 0;
      if (waitpid(unshare_pid, &st, WNOHANG) == unshare_pid) {
        exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return exit_status;
      }
      if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (monotonic_ms() < until);
    return -1;
  }
};

/// Runs a program to its end; rc and its stdout+stderr.
Result run(const std::vector<std::string>& argv, const TempDir& dir) {
  std::string out = dir / "run.out";
  fs::remove(out);
  pid_t pid = spawn(argv, out);
  int st = 0;
  waitpid(pid, &st, 0);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), slurp(out)};
}

std::size_t mount_count() {
  std::istringstream in(slurp("/proc/self/mountinfo"));
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

/// Milliseconds since the epoch from a log record's ISO timestamp.
long long ts_ms(const nlohmann::json& rec) {
  std::string ts = rec["ts"];
  std::tm tm{};
  strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  return static_cast<long long>(timegm(&tm)) * 1000 + std::atoi(ts.substr(20, 3).c_str());
}

}  // namespace

TEST_CASE("namespace PID 1: dependency order, and initctl drives every command") {
  TempDir scratch;
  std::string ready = scratch / "db.ready";
  std::string services =
      "  web:\n    exec: /bin/sh\n    args: [-c, 'echo web up; exec sleep 60']\n    requires: [db]\n"
      "  db:\n    exec: /bin/sh\n    args: [-c, 'sleep 0.2; echo db up; touch " + ready +
      "; exec sleep 60']\n    ready: {file: " + ready + "}\n"
      "  extra:\n    exec: /bin/sleep\n    args: ['60']\n    enabled: false\n";
  NsInit ns(services);
  REQUIRE(ns.wait_for([&] { return ns.state("web") == "running"; }));
  CHECK(ns.find("service db is ready") < ns.find("started service web"));

  auto list = ns.initctl({"list"});
  CHECK(list.rc == 0);
  CHECK(list.out.starts_with("NAME"));
  CHECK(list.out.find("db ") != std::string::npos);
  auto j = ns.json({"list"});
  REQUIRE(j["services"].size() == 3);
  CHECK(j["services"][0]["name"] == "db");  // start order
  CHECK(j["services"][2]["state"] == "stopped");

  CHECK(ns.initctl({"status", "db"}).out.find("State:       running") != std::string::npos);
  auto missing = ns.initctl({"status", "nope"});
  CHECK(missing.rc == 1);
  CHECK(missing.out == "initctl: error: no service named 'nope'\n");

  CHECK(ns.initctl({"start", "extra"}).rc == 1);  // disabled
  CHECK(ns.initctl({"enable", "extra"}).out == "extra: enabled\n");
  REQUIRE(ns.wait_for([&] { return ns.state("extra") == "running"; }));
  CHECK(ns.initctl({"disable", "extra"}).rc == 0);
  REQUIRE(ns.wait_for([&] { return ns.state("extra") == "stopped"; }));

  int web_pid = ns.json({"status", "web"})["service"]["pid"];
  CHECK(ns.initctl({"restart", "web"}).out == "web: restarted\n");
  REQUIRE(ns.wait_for([&] {
    auto s = ns.json({"status", "web"})["service"];
    return s["state"] == "running" && s["pid"] != web_pid;
  }));
  CHECK(ns.initctl({"stop", "web"}).out == "web: stopped\n");
  REQUIRE(ns.wait_for([&] { return ns.state("web") == "stopped"; }));
  CHECK(ns.initctl({"start", "web"}).out == "web: started\n");
  REQUIRE(ns.wait_for([&] { return ns.state("web") == "running"; }));

  auto logs = ns.initctl({"logs", "web", "--tail", "1"});
  CHECK(logs.out == "web up\n");
  CHECK(ns.json({"logs", "db"})["lines"] == nlohmann::json::array({"db up"}));
  // --follow prints lines as they come: restart web and watch it say hello again.
  std::string follow_out = ns.dir / "follow.out";
  pid_t follower = spawn({EF_INITCTL_BIN, "logs", "web", "--follow", "--tail", "0", "--socket", ns.sock}, follow_out);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ns.initctl({"restart", "web"});
  CHECK(ns.wait_for([&] { return slurp(follow_out) == "web up\n"; }, 5000));
  kill(follower, SIGTERM);
  waitpid(follower, nullptr, 0);

  auto sys = ns.json({"system"});
  CHECK(sys["ok"] == true);
  CHECK(sys["mode"] == "namespace");
  CHECK(sys["memory"]["total"].get<long long>() > 0);
  CHECK(sys["services"][1]["name"] == "web");
  CHECK(ns.initctl({"system"}).out.find("Memory:") != std::string::npos);
  CHECK(ns.initctl({"ping"}).out == "pong (init " EF_VERSION ")\n");
  CHECK(ns.initctl({"metrics"}).out.find("init_service_up{service=\"db\"} 1\n") != std::string::npos);

  // reload: change web, drop extra, add late.
  ns.write_config(services.substr(0, services.find("  extra:")) +
                  "  late:\n    exec: /bin/sleep\n    args: ['61']\n");
  auto reload = ns.initctl({"reload"});
  CHECK(reload.out == "reloaded: added late; removed extra; changed -\n");
  REQUIRE(ns.wait_for([&] { return ns.state("late") == "running"; }));
  std::ofstream(ns.config) << "services:\n  x: {exec: /bin/true, restrat: no}\n";
  auto bad = ns.initctl({"reload"});
  CHECK(bad.rc == 1);
  CHECK(bad.out == "initctl: error: " + ns.config + ":2: services.x.restrat: unknown key\n");

  // SIGHUP reloads too; a broken file is reported and changes nothing.
  kill(ns.init_host_pid(), SIGHUP);
  CHECK(ns.wait_for([&] { return ns.find("reload on SIGHUP: " + ns.config + ":2:") >= 0; }));
  CHECK(ns.state("late") == "running");
  CHECK(ns.initctl({"shutdown"}).out == "shutting down\n");
  CHECK(ns.wait_exit(10'000) == 0);
  CHECK(ns.find("exiting (namespace mode)") >= 0);
}

TEST_CASE("namespace PID 1: reboot request ends init in namespace mode") {
  NsInit ns("  a: {exec: /bin/sleep, args: ['60']}\n");
  CHECK(ns.initctl({"reboot"}).out == "rebooting\n");
  CHECK(ns.wait_exit(10'000) == 0);
  CHECK(ns.find("reboot requested") >= 0);
}

TEST_CASE("namespace PID 1: a crash loop is restarted with backoff and stopped at its limit") {
  NsInit ns(
      "  crash:\n    exec: /bin/sh\n    args: [-c, 'exit 7']\n    restart: on-failure\n"
      "    backoff: {initial: 100ms, factor: 2, maximum: 400ms}\n    restart_limit: {count: 5, window: 1m}\n");
  REQUIRE(ns.wait_for([&] { return ns.state("crash") == "failed"; }));
  std::vector<long long> starts;
  for (const auto& r : ns.records())
    if (r["msg"].get<std::string>().starts_with("started service crash")) starts.push_back(ts_ms(r));
  REQUIRE(starts.size() == 6);  // the first start and 5 restarts
  // The configured delays: 100, 200, 400, 400, 400 ms (plus the time to run `exit 7`).
  long long expected[] = {100, 200, 400, 400, 400};
  for (std::size_t i = 0; i < 5; ++i) {
    long long gap = starts[i + 1] - starts[i];
    CHECK(gap >= expected[i]);
    CHECK(gap < expected[i] + 400);
  }
  auto st = ns.json({"status", "crash"})["service"];
  CHECK(st["restarts"] == 5);
  CHECK(st["exit_code"] == 7);
  CHECK(st["error"] == "restarted 5 times within 60000ms; giving up");
}

TEST_CASE("namespace PID 1: 10,000 short-lived orphans leave no zombie") {
  NsInit ns("  orphans:\n    exec: " EF_ORPHAN_MAKER "\n    args: ['10000']\n    restart: no\n");
  REQUIRE(ns.wait_for([&] { return ns.state("orphans") == "exited"; }, 120'000));
  pid_t init_pid = ns.init_host_pid();
  REQUIRE(init_pid > 0);
  auto zombies = [&] {
    int count = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::string stat = slurp(e.path().string() + "/stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos || close + 4 >= stat.size()) continue;
      char state = stat[close + 2];
      pid_t ppid = static_cast<pid_t>(std::atol(stat.c_str() + close + 4));
      if (ppid == init_pid && state == 'Z') ++count;
    }
    return count;
  };
  CHECK(ns.wait_for([&] { return ns.json({"system"})["orphans_reaped"].get<long long>() >= 10'000; }, 30'000));
  CHECK(zombies() == 0);
  CHECK(ns.json({"system"})["orphans_reaped"] == 10'000);
}

TEST_CASE("namespace PID 1: SIGTERM stops services in reverse order within their timeouts") {
  NsInit ns(
      "  a: {exec: /bin/sh, args: [-c, 'trap \"exit 0\" TERM; while :; do sleep 0.05; done']}\n"
      "  b:\n    exec: /bin/sh\n    args: [-c, 'trap \"\" TERM; while :; do sleep 0.05; done']\n"
      "    requires: [a]\n    stop_timeout: 500ms\n"
      "  c: {exec: /bin/sleep, args: ['60'], after: [b], stop_signal: SIGINT}\n"
      "  usr: {exec: /bin/sh, args: [-c, 'trap \"echo got USR1\" USR1; while :; do sleep 0.05; done'],"
      " forward_signals: [SIGUSR1], stop_signal: SIGKILL}\n");
  REQUIRE(ns.wait_for([&] { return ns.state("c") == "running"; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // traps installed
  pid_t init_pid = ns.init_host_pid();
  REQUIRE(init_pid > 0);
  // A signal a service lists in forward_signals goes to it, not to init.
  kill(init_pid, SIGUSR1);
  CHECK(ns.wait_for([&] { return ns.json({"logs", "usr"})["lines"] == nlohmann::json::array({"got USR1"}); }));
  Millis t0 = monotonic_ms();
  kill(init_pid, SIGTERM);
  CHECK(ns.wait_exit(10'000) == 0);
  Millis took = monotonic_ms() - t0;
  CHECK(took >= 500);   // b ignored SIGTERM for its whole stop timeout
  CHECK(took < 4000);
  int stop_c = ns.find("stopping service c"), stop_b = ns.find("stopping service b"),
      stop_a = ns.find("stopping service a");
  REQUIRE(stop_c >= 0);
  CHECK(ns.find("shutting down (SIGTERM)") < stop_c);
  CHECK(stop_c < stop_b);
  CHECK(ns.find("service c killed by SIGINT") < stop_b);
  CHECK(ns.find("service b did not stop within 500ms; sending SIGKILL") < stop_a);
  CHECK(ns.find("service b killed by SIGKILL") < stop_a);
  CHECK(ns.find("service a exited with status 0") > stop_a);
  CHECK(ns.find("all services stopped") > stop_a);
}

TEST_CASE("init --help and --version print and exit 0, starting nothing") {
  TempDir d;
  auto help = run({EF_INIT_BIN, "--help", "--socket", d / "s.sock"}, d);
  CHECK(help.rc == 0);
  CHECK(help.out.starts_with("usage: init --mode namespace --config FILE"));
  CHECK(help.out.find("--vsock-port N") != std::string::npos);
  auto version = run({EF_INIT_BIN, "--version"}, d);
  CHECK(version.rc == 0);
  CHECK(version.out == "init " EF_VERSION "\n");
  CHECK_FALSE(fs::exists(d / "s.sock"));
  auto ctl = run({EF_INITCTL_BIN, "--version"}, d);
  CHECK(ctl.rc == 0);
  CHECK(ctl.out == "initctl " EF_VERSION "\n");
}

TEST_CASE("init that is not PID 1 refuses vm mode and an implicit mode, and says how to run namespace mode") {
  TempDir d;
  std::ofstream(d / "init.yaml") << "control: {vsock_port: 0}\nservices: {}\n";
  auto implicit = run({EF_INIT_BIN, "--config", d / "init.yaml", "--socket", d / "s.sock"}, d);
  CHECK(implicit.rc == 2);
  CHECK(implicit.out.find("init is not PID 1") != std::string::npos);
  CHECK(implicit.out.find("run it in namespace mode: init --mode namespace --config FILE") != std::string::npos);
  auto vm = run({EF_INIT_BIN, "--mode", "vm", "--config", d / "init.yaml", "--socket", d / "s.sock"}, d);
  CHECK(vm.rc == 2);
  CHECK(vm.out.find("vm mode runs only as PID 1 of a VM") != std::string::npos);
  auto typo = run({EF_INIT_BIN, "--mode", "namespace", "--confg", d / "init.yaml"}, d);
  CHECK(typo.rc == 2);
  CHECK(typo.out.find("ignoring unknown option '--confg'") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "s.sock"));
}

TEST_CASE("namespace mode: a configuration error ends init with file:line: key, before the control API") {
  TempDir d;
  std::string config = d / "init.yaml";
  std::ofstream(config) << "control: {vsock_port: 0}\nservices:\n  web: {exec: /bin/true, restrat: no}\n";
  // Both as PID 1 of a PID namespace and as a plain supervisor.
  for (bool pid_ns : {true, false}) {
    std::vector<std::string> argv = {EF_INIT_BIN, "--mode", "namespace", "--config", config, "--socket", d / "s.sock"};
    if (pid_ns) argv.insert(argv.begin(), {"unshare", "--pid", "--fork", "--kill-child"});
    auto r = run(argv, d);
    INFO(r.out);
    CHECK(r.rc == 1);
    CHECK(r.out.find("configuration error: " + config + ":3: services.web.restrat: unknown key") != std::string::npos);
    CHECK_FALSE(fs::exists(d / "s.sock"));
  }
  auto missing = run({EF_INIT_BIN, "--mode", "namespace", "--config", d / "none.yaml", "--socket", d / "s.sock"}, d);
  CHECK(missing.rc == 1);
  CHECK(missing.out.find("configuration error: ") != std::string::npos);
  CHECK(missing.out.find(d / "none.yaml") != std::string::npos);
}

TEST_CASE("namespace PID 1: initctl system shows the namespace's own uptime and processes; mounts stay inside") {
  std::size_t host_mounts = mount_count();
  NsInit ns("  a: {exec: /bin/sleep, args: ['60']}\n  b: {exec: /bin/sleep, args: ['60']}\n");
  REQUIRE(ns.wait_for([&] { return ns.state("a") == "running" && ns.state("b") == "running"; }));
  auto sys = ns.json({"system"});
  CHECK(sys["processes"] == 3);  // init, a and b: the namespace holds nothing else
  CHECK(sys["uptime_s"].get<long long>() <= 2);  // init started just now
  double host_uptime = std::atof(slurp("/proc/uptime").c_str());
  if (host_uptime > 10) CHECK(sys["uptime_s"].get<long long>() < host_uptime - 5);
  CHECK(ns.initctl({"system"}).out.find("Processes: 3\n") != std::string::npos);
  // init's own /proc and private mounts are not seen from outside.
  CHECK(mount_count() == host_mounts);
  auto st = ns.json({"status"});
  CHECK(st["mode"] == "namespace");
  CHECK(st["config_error"] == "");
  CHECK(st["services"] == 2);
  CHECK(ns.initctl({"status"}).out == "mode: namespace\nconfig: " + ns.config + "\nconfig_error: none\nservices: 2\n");
}
