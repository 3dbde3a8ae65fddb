#include <catch2/catch.hpp>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "engine/compose_runner.h"
#include "engine/image.h"
#include "engine/proc.h"
#include "helpers.h"

using namespace ef::engine;
using test::eventually;

namespace {

std::vector<std::string> event_types(Engine& e, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& ev : e.events_after(0, std::chrono::milliseconds(0)))
    if (ev.enclave == name) out.push_back(ev.type);
  return out;
}

bool has_event(Engine& e, const std::string& name, const std::string& type) {
  auto t = event_types(e, name);
  return std::find(t.begin(), t.end(), type) != t.end();
}

}  // namespace

TEST_CASE("image PCRs match the vector's independent expected.json") {
  auto info = inspect_image(test::vector_eif());
  auto expected = nlohmann::json::parse(ef::read_text_file(std::string(EF_VECTORS_DIR) + "/eif_selfgenerated/expected.json"));
  const auto& m = expected["unsigned.eif"];
  CHECK(info.sha256 == m["sha256"]);
  CHECK(info.pcrs[0] == m["Measurements"]["PCR0"]);
  CHECK(info.pcrs[1] == m["Measurements"]["PCR1"]);
  CHECK(info.pcrs[2] == m["Measurements"]["PCR2"]);
}

TEST_CASE("a pcrs.json that disagrees with the EIF refuses the image") {
  auto dir = test::temp_dir("pcrs");
  std::filesystem::copy_file(test::vector_eif(), dir / "img.eif");
  std::ofstream(dir / "img.pcrs.json") << R"({"PCR0":")" << std::string(96, '0') << R"(","PCR1":")"
                                       << std::string(96, '0') << R"(","PCR2":")" << std::string(96, '0') << "\"}";
  CHECK_THROWS_WITH(inspect_image(dir / "img.eif"), Catch::Contains("PCR0") && Catch::Contains("disagrees"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("run, list, inspect, stop, rm") {
  auto dir = test::temp_dir("life");
  auto engine = test::make_engine(dir);
  engine->start();
  auto r = engine->run(test::spec_named("web"));
  CHECK(r.status == Status::running);
  CHECK(r.handle.backend == "fake");
  CHECK(process_alive(r.handle.pid, 0));
  CHECK(r.image_sha256 == "fd9999d6fc50c8b0b1c1b55288449108733915dac200d17d110b352e64ee840d");
  CHECK(engine->list().size() == 1);
  CHECK(engine->inspect("web").id == r.id);
  CHECK_THROWS_AS(engine->run(test::spec_named("web")), Conflict);
  CHECK_THROWS_AS(engine->inspect("nope"), NotFound);
  CHECK_THROWS_AS(engine->remove("web", false), Conflict);
  // The enclave's port is reachable through the backend.
  auto fd = engine->connect("web", 7000);
  CHECK(write(fd.get(), "ping", 4) == 4);
  char buf[4];
  CHECK(read(fd.get(), buf, 4) == 4);
  CHECK(std::string(buf, 4) == "ping");
  auto stopped = engine->stop("web");
  CHECK(stopped.status == Status::stopped);
  CHECK_FALSE(process_alive(r.handle.pid, 0));
  // A user stop is never restarted, even with restart=always.
  engine->remove("web", false);
  CHECK(engine->list().empty());
  CHECK_FALSE(std::filesystem::exists(dir / "state" / "enclaves" / "web"));
  CHECK(event_types(*engine, "web") == std::vector<std::string>{"started", "stopped", "removed"});
  engine->shutdown();
  std::filesystem::remove_all(dir);
}

TEST_CASE("expected PCRs that the image does not measure to are refused before launch") {
  auto dir = test::temp_dir("pcrmis");
  auto engine = test::make_engine(dir);
  auto s = test::spec_named("web");
  s.expected_pcrs[0] = std::string(96, 'f');
  CHECK_THROWS_WITH(engine->run(s), Catch::Contains("PCR0 is 4881724a") && Catch::Contains("expected ffff"));
  CHECK(engine->list().empty());
  CHECK_FALSE(std::filesystem::exists(dir / "state" / "enclaves" / "web"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("killing the enclave process triggers the restart policy and events") {
  auto dir = test::temp_dir("restart");
  auto engine = test::make_engine(dir);
  engine->start();
  auto s = test::spec_named("web");
  s.restart = RestartPolicy::parse("on-failure:1");
  auto r = engine->run(s);
  kill(r.handle.pid, SIGKILL);
  REQUIRE(eventually([&] { return has_event(*engine, "web", "restarted"); }));
  auto after = engine->inspect("web");
  CHECK(after.status == Status::running);
  CHECK(after.restart_count == 1);
  CHECK(after.handle.pid != r.handle.pid);
  // The retry budget is spent: the next crash leaves it exited.
  kill(after.handle.pid, SIGKILL);
  REQUIRE(eventually([&] { return engine->inspect("web").status == Status::exited; }));
  CHECK(event_types(*engine, "web") == std::vector<std::string>{"started", "exited", "restarted", "exited"});
  engine->remove("web", false);
  engine->shutdown();
  std::filesystem::remove_all(dir);
}

TEST_CASE("restart=no leaves a crashed enclave exited") {
  auto dir = test::temp_dir("norestart");
  auto engine = test::make_engine(dir);
  engine->start();
  auto r = engine->run(test::spec_named("web"));
  kill(r.handle.pid, SIGKILL);
  REQUIRE(eventually([&] { return engine->inspect("web").status == Status::exited; }));
  usleep(300000);
  CHECK(engine->inspect("web").restart_count == 0);
  engine->shutdown();
  std::filesystem::remove_all(dir);
}

TEST_CASE("a new engine re-attaches to running enclaves and applies policy to dead ones") {
  auto dir = test::temp_dir("reattach");
  EnclaveRecord alive, dead;
  {
    auto engine = test::make_engine(dir);
    engine->start();
    alive = engine->run(test::spec_named("alive"));
    auto s = test::spec_named("dead");
    s.restart = RestartPolicy::parse("always");
    dead = engine->run(s);
    engine->shutdown();  // the daemon goes away; the enclaves do not
  }
  CHECK(process_alive(alive.handle.pid, 0));
  kill(dead.handle.pid, SIGKILL);
  REQUIRE(eventually([&] { return !process_alive(dead.handle.pid, 0); }));
  auto engine = test::make_engine(dir);
  engine->start();
  auto a = engine->inspect("alive");
  CHECK(a.status == Status::running);
  CHECK(a.handle.pid == alive.handle.pid);
  CHECK(has_event(*engine, "alive", "reattached"));
  REQUIRE(eventually([&] { return has_event(*engine, "dead", "restarted"); }));
  CHECK(engine->inspect("dead").handle.pid != dead.handle.pid);
  // The re-attached enclave is still watched: its death is noticed.
  kill(alive.handle.pid, SIGKILL);
  REQUIRE(eventually([&] { return engine->inspect("alive").status == Status::exited; }));
  engine->remove("alive", true);
  engine->remove("dead", true);
  engine->shutdown();
  std::filesystem::remove_all(dir);
}

TEST_CASE("health checks turn an enclave healthy, and unhealthy when its port fails") {
  auto dir = test::temp_dir("health");
  auto engine = test::make_engine(dir);
  engine->start();
  auto s = test::spec_named("web");
  s.health.port = 80;
  s.health.http_path = "/";
  s.health.interval_ms = 100;
  s.health.retries = 2;
  engine->run(s);
  REQUIRE(eventually([&] { return engine->inspect("web").health == Health::healthy; }));
  auto bad = test::spec_named("bad");
  bad.health.port = 4444;  // nothing serves it
  bad.health.interval_ms = 100;
  bad.health.retries = 2;
  engine->run(bad);
  REQUIRE(eventually([&] { return engine->inspect("bad").health == Health::unhealthy; }));
  CHECK(has_event(*engine, "web", "health"));
  engine->remove("web", true);
  engine->remove("bad", true);
  engine->shutdown();
  std::filesystem::remove_all(dir);
}

TEST_CASE("port forwards run a pf-proxy to the enclave; down leaves nothing") {
  auto dir = test::temp_dir("compose");
  auto engine = test::make_engine(dir);
  engine->start();
  ComposeFile c;
  c.project = "demo";
  ComposeEnclave db, web;
  db.spec = test::spec_named("db");
  db.spec.project = "demo";
  db.spec.health.port = 7000;
  db.spec.health.interval_ms = 100;
  web.spec = test::spec_named("web");
  web.spec.project = "demo";
  web.spec.ports = {PortMapping::parse("127.0.0.1:18431:80")};
  web.spec.egress = {8002, {"127.0.0.1:9"}, {"169.254.169.254"}};
  web.spec.health = {80, "/", 100, 500, 2};
  web.depends_on = {"db"};
  c.enclaves = {db, web};
  auto res = compose_up(*engine, c, std::chrono::milliseconds(20000));
  CHECK(res.started == std::vector<std::string>{"db", "web"});
  auto w = engine->inspect("web");
  CHECK(w.health == Health::healthy);
  REQUIRE(w.proxy.pid > 0);
  CHECK(process_alive(w.proxy.pid, w.proxy.start_time));
  std::string cfg = ef::read_text_file(w.proxy.config);
  CHECK_THAT(cfg, Catch::Contains("tcp:127.0.0.1:18431"));
  CHECK_THAT(cfg, Catch::Contains("mode: dialer"));
  CHECK_THAT(cfg, Catch::Contains("169.254.169.254/32"));
  // Second up keeps what runs.
  CHECK(compose_up(*engine, c, std::chrono::milliseconds(20000)).kept.size() == 2);
  std::vector<int> pids = {w.handle.pid, w.proxy.pid, engine->inspect("db").handle.pid};
  auto down = compose_down(*engine, "demo");
  CHECK(down.removed == std::vector<std::string>{"web", "db"});
  for (int pid : pids) CHECK_FALSE(process_alive(pid, 0));
  CHECK(engine->list().empty());
  CHECK(std::filesystem::is_empty(dir / "state" / "enclaves"));
  engine->shutdown();
  std::filesystem::remove_all(dir);
}

TEST_CASE("an enclave whose backend is missing does not keep the daemon from starting") {
  auto dir = test::temp_dir("nobackend");
  std::filesystem::create_directories(dir / "state");
  {
    StateDb db(dir / "state" / "state.db");
    EnclaveRecord r;
    r.spec = test::spec_named("orphan");
    r.spec.backend = "nitro";
    r.handle = {"nitro", "i-1-enc2", 16, 0, "{}"};
    r.status = Status::running;
    db.put(r);
  }
  auto engine = test::make_engine(dir);
  engine->start();
  auto r = engine->inspect("orphan");
  CHECK_THAT(r.last_error, Catch::Contains("re-attach: backend 'nitro' is not available"));
  CHECK(has_event(*engine, "orphan", "error"));
  auto ok = engine->run(test::spec_named("fine"));
  CHECK(ok.status == Status::running);
  engine->remove("fine", true);
  engine->shutdown();
  std::filesystem::remove_all(dir);
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace {
int tcp_connect(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}
}  // namespace

TEST_CASE("ports of a backend without a pf-proxy endpoint are relayed by the engine through connect()") {
  auto dir = test::temp_dir("relay");
  std::map<std::string, std::unique_ptr<Backend>> b;
  auto fake = std::make_unique<FakeBackend>(EF_FAKE_ENCLAVE, std::vector<std::uint32_t>{80, 7000});
  fake->plain_endpoints = false;  // like local mode's bridge
  b["fake"] = std::move(fake);
  Engine engine(test::config_for(dir), std::move(b));
  engine.start();
  auto s = test::spec_named("web");
  std::uint16_t port = static_cast<std::uint16_t>(21000 + getpid() % 20000);
  s.ports = {PortMapping::parse("127.0.0.1:" + std::to_string(port) + ":7000")};
  auto r = engine.run(s);
  CHECK(r.proxy.pid == 0);  // no pf-proxy needed
  int fd = tcp_connect(port);
  REQUIRE(fd >= 0);
  std::string msg(100000, 'x');
  std::thread writer([&] {
    CHECK(send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(msg.size()));
    shutdown(fd, SHUT_WR);
  });
  std::string back;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) back.append(buf, static_cast<std::size_t>(n));
  writer.join();
  close(fd);
  CHECK(back == msg);
  engine.stop("web");
  CHECK(tcp_connect(port) == -1);
  engine.remove("web", false);
  engine.shutdown();
  std::filesystem::remove_all(dir);
}
