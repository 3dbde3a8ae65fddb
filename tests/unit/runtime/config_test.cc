#include <catch2/catch.hpp>

#include "base/error.h"
#include "base/file.h"
#include "runtime/config.h"
#include "runtime/deps.h"
#include "base/atomic_file.h"
#include "test_util.h"

using namespace ef::init;

namespace {
const char* kFull = R"(hostname: enclave
heartbeat: {cid: 3, port: 9000, timeout: 5s}
control:
  socket: /run/x.sock
  vsock_port: 9100
  vsock_allow: [3, 7]
  max_request: 4096
  request_timeout: 2s
log_dir: /var/log/init
services:
  db:
    exec: /usr/bin/db
    args: [--port, "5432"]
    env: {MODE: prod, EMPTY: }
    workdir: /srv
    user: nobody
    group: nogroup
    restart: always
    backoff: {initial: 250ms, factor: 1.5, maximum: 1m, reset_after: 30s}
    restart_limit: {count: 3, window: 2m}
    ready: {tcp: 5432, timeout: 10s}
    stop_signal: SIGINT
    stop_timeout: 3s
    forward_signals: [SIGHUP, USR1]
    log: {file: false, console: true, max_bytes: 2048, keep: 1}
  web:
    exec: web
    requires: [db]
    after: [cache]
    restart: no
    ready: {vsock: 5005}
    critical: true
  cache:
    exec: cache
    enabled: false
    restart: on-success
    ready: {file: /run/cache.ready}
)";
}

TEST_CASE("config: a full service file parses field by field") {
  InitConfig c = parse_config(kFull, "init.yaml");
  CHECK(c.hostname == "enclave");
  CHECK(c.heartbeat.enabled);
  CHECK(c.heartbeat.timeout == 5000);
  CHECK(c.control.socket == "/run/x.sock");
  CHECK(c.control.vsock_port == 9100);
  CHECK(c.control.vsock_allow == std::vector<std::uint32_t>{3, 7});
  CHECK(c.control.max_request == 4096);
  CHECK(c.control.request_timeout == 2000);
  CHECK(c.log_dir == "/var/log/init");
  REQUIRE(c.services.size() == 3);
  const ServiceSpec& db = c.services[0];
  CHECK(db.name == "db");
  CHECK(db.line == 11);
  CHECK(db.args == std::vector<std::string>{"--port", "5432"});
  CHECK(db.env == std::vector<std::pair<std::string, std::string>>{{"MODE", "prod"}, {"EMPTY", ""}});
  CHECK(db.workdir == "/srv");
  CHECK(db.user == "nobody");
  CHECK(db.group == "nogroup");
  CHECK(db.restart == RestartPolicy::kAlways);
  CHECK(db.backoff.initial == 250);
  CHECK(db.backoff.factor == 1.5);
  CHECK(db.backoff.maximum == 60'000);
  CHECK(db.backoff.reset_after == 30'000);
  CHECK(db.limit.count == 3);
  CHECK(db.limit.window == 120'000);
  CHECK(db.ready.kind == Readiness::Kind::kTcp);
  CHECK(db.ready.port == 5432);
  CHECK(db.ready.timeout == 10'000);
  CHECK(db.stop_signal == 2);
  CHECK(db.stop_timeout == 3000);
  CHECK(db.forward_signals == std::vector<int>{1, 10});
  CHECK_FALSE(db.log.file);
  CHECK(db.log.max_bytes == 2048);
  CHECK(db.log.keep == 1);
  const ServiceSpec& web = c.services[1];
  CHECK(web.restart == RestartPolicy::kNo);  // YAML's bare `no`
  CHECK(web.ready.kind == Readiness::Kind::kVsock);
  CHECK(web.ready.cid == 1);
  CHECK(web.critical);
  CHECK(web.requires_ == std::vector<std::string>{"db"});
  CHECK_FALSE(c.services[2].enabled);
  CHECK(c.services[2].restart == RestartPolicy::kOnSuccess);
}

TEST_CASE("config: defaults") {
  InitConfig c = parse_config("services:\n  a: {exec: /bin/true}\n", "f.yaml");
  const ServiceSpec& a = c.services.at(0);
  CHECK(a.restart == RestartPolicy::kOnFailure);
  CHECK(a.stop_signal == 15);
  CHECK(a.stop_timeout == 5000);
  CHECK(a.workdir == "/");
  CHECK(c.heartbeat.enabled);
  CHECK(c.heartbeat.cid == 3);
  CHECK(c.heartbeat.port == 9000);
  CHECK(c.control.socket == "/run/init.sock");
  CHECK(c.control.vsock_port == 9001);
  CHECK(c.control.vsock_allow == std::vector<std::uint32_t>{3});
  CHECK(parse_config("", "empty.yaml").services.empty());
  CHECK_FALSE(parse_config("heartbeat: off\n", "h.yaml").heartbeat.enabled);
  CHECK(parse_config("control: {vsock_allow: any}\n", "h.yaml").control.vsock_allow.empty());
}

TEST_CASE("config: errors name file, line and key") {
  auto err = [](const std::string& text) {
    try {
      parse_config(text, "/etc/init.yaml");
    } catch (const ef::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err("services:\n  a:\n    exec: x\n    restrat: always\n") ==
        "/etc/init.yaml:4: services.a.restrat: unknown key");
  CHECK(err("services:\n  a:\n    exec: x\n    restart: sometimes\n") ==
        "/etc/init.yaml:4: services.a.restart: expected no, always, on-failure or on-success, got 'sometimes'");
  CHECK(err("services:\n  a:\n    exec: x\n    stop_timeout: 5 parsecs\n") ==
        "/etc/init.yaml:4: services.a.stop_timeout: unknown duration unit ' parsecs' (use ms, s, m or h)");
  CHECK(err("services:\n  a:\n    args: [x]\n") == "/etc/init.yaml:3: services.a: missing key 'exec'");
  CHECK(err("services:\n  a:\n    exec: x\n    after: [nope]\n") ==
        "/etc/init.yaml:4: services.a.after: unknown service 'nope'");
  CHECK(err("services:\n  a: {exec: x, stop_signal: SIGFOO}\n") ==
        "/etc/init.yaml:2: services.a.stop_signal: unknown signal 'SIGFOO'");
  CHECK(err("services:\n  a: {exec: x, ready: {tcp: 1, file: /x}}\n") ==
        "/etc/init.yaml:2: services.a.ready: expected exactly one of tcp, vsock or file");
  CHECK(err("services:\n  a: {exec: x, ready: {tcp: 70000}}\n") ==
        "/etc/init.yaml:2: services.a.ready.tcp: value 70000 out of range [1, 65535]");
  CHECK(err("services:\n  a: {exec: x, requires: [b]}\n  b: {exec: y, after: [c]}\n  c: {exec: z, after: [a]}\n") ==
        "/etc/init.yaml:2: services: dependency cycle: a -> b -> c -> a");
  CHECK(err("services:\n  'bad name': {exec: x}\n") ==
        "/etc/init.yaml:2: services.bad name: service names use letters, digits, '-', '_' and '.'");
  CHECK(err("services: [\n") .find("/etc/init.yaml:") == 0);
}

TEST_CASE("config: durations and signals") {
  CHECK(parse_duration("250") == 250);
  CHECK(parse_duration("250ms") == 250);
  CHECK(parse_duration("5s") == 5000);
  CHECK(parse_duration("2m") == 120'000);
  CHECK(parse_duration("1h") == 3'600'000);
  CHECK_THROWS(parse_duration("-1s"));
  CHECK_THROWS(parse_duration("s"));
  CHECK_THROWS(parse_duration("99999999999999h"));
  // Numbers from signal(7), x86.
  CHECK(parse_signal("SIGTERM") == 15);
  CHECK(parse_signal("KILL") == 9);
  CHECK(parse_signal("SIGUSR1") == 10);
  CHECK(parse_signal("SIGWINCH") == 28);
  CHECK(parse_signal("30") == 30);
  CHECK_THROWS(parse_signal("0"));
  CHECK(signal_name(15) == "SIGTERM");
}

TEST_CASE("deps: start order respects after and requires, keeps document order otherwise") {
  std::vector<ServiceSpec> s(4);
  s[0].name = "web";
  s[0].requires_ = {"db"};
  s[1].name = "log";
  s[2].name = "db";
  s[2].after = {"log"};
  s[3].name = "cron";
  s[3].after = {"web", "missing"};
  auto order = start_order(s);
  std::vector<std::string> names;
  for (auto i : order) names.push_back(s[i].name);
  CHECK(names == std::vector<std::string>{"log", "db", "web", "cron"});
  s[1].after = {"cron"};
  CHECK_THROWS_WITH(start_order(s), "dependency cycle: web -> db -> log -> cron -> web");
}

TEST_CASE("config: the schema example in docs/init.md is a valid service file") {
  std::string doc = ef::read_text_file(EF_SOURCE_DIR "/docs/init.md");
  auto start = doc.find("```yaml\n");
  REQUIRE(start != std::string::npos);
  start += 8;
  auto end = doc.find("```", start);
  InitConfig c = parse_config(doc.substr(start, end - start), "docs/init.md");
  REQUIRE(c.services.size() == 2);
  const ServiceSpec& web = c.services[1];
  CHECK(web.user == "nobody");
  CHECK(web.ready.port == 8080);
  CHECK(web.forward_signals == std::vector<int>{SIGHUP});
  CHECK(c.modules == std::vector<std::string>{"/lib/modules/x.ko"});
}

TEST_CASE("config: as a VM's PID 1, a broken file runs nothing and keeps the control section it asked for") {
  ef::init::test::TempDir d;
  std::string path = d / "init.yaml";
  // The control section parses; a service does not.
  ef::write_file_atomic(path, "control:\n  socket: /run/custom.sock\n  vsock_port: 9100\nservices:\n"
                              "  web: {exec: /bin/web, restrat: no}\n");
  Pid1Config c = load_config_never_throw(path);
  CHECK(c.error == path + ":5: services.web.restrat: unknown key");
  CHECK(c.control_from_file);
  CHECK(c.config.services.empty());
  CHECK(c.config.file == path);
  CHECK(c.config.control.socket == "/run/custom.sock");
  CHECK(c.config.control.vsock_port == 9100u);
  // The control section itself is broken: the defaults.
  ef::write_file_atomic(path, "control: {socket: /run/x.sock, vsock_port: -1}\nservices: {}\n");
  c = load_config_never_throw(path);
  CHECK(c.error == path + ":1: control.vsock_port: value -1 out of range [0, 4294967294]");
  CHECK_FALSE(c.control_from_file);
  CHECK(c.config.control.socket == "/run/init.sock");
  CHECK(c.config.control.vsock_port == 9001u);
  // Not YAML at all: the defaults.
  ef::write_file_atomic(path, "control: {socket: [\n");
  c = load_config_never_throw(path);
  CHECK(c.error.starts_with(path + ":"));
  CHECK_FALSE(c.control_from_file);
  CHECK(c.config.control.socket == "/run/init.sock");
  // A file without a control section that fails elsewhere: the defaults, from the file.
  ef::write_file_atomic(path, "services:\n  a: {}\n");
  c = load_config_never_throw(path);
  CHECK(c.error == path + ":2: services.a: missing key 'exec'");
  CHECK(c.control_from_file);
  CHECK(c.config.control.socket == "/run/init.sock");
  // A good file loads as usual.
  ef::write_file_atomic(path, "control: {vsock_port: 0}\nservices:\n  a: {exec: /bin/a}\n");
  c = load_config_never_throw(path);
  CHECK(c.error.empty());
  REQUIRE(c.config.services.size() == 1);
  CHECK(c.config.control.vsock_port == 0u);
  // An unreadable file.
  c = load_config_never_throw(d / "absent.yaml");
  CHECK(c.error.find(d / "absent.yaml") != std::string::npos);
  CHECK(c.config.services.empty());
}
