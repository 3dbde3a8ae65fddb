// The control server against well-behaved and hostile clients; the server runs
// on this thread's event loop, clients on another thread.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "base/fd.h"
#include "runtime/control_client.h"
#include "runtime/control_server.h"
#include "test_util.h"

using namespace ef::init;

namespace {

struct Server {
  test::TempDir dir;
  EventLoop loop;
  std::shared_ptr<LogSink> sink = std::make_shared<LogSink>("svc", "", LogSpec{false, false, 1024, 0}, -1);
  std::unique_ptr<ControlServer> server;
  std::string path = dir / "init.sock";

  Server() {
    ControlSpec spec;
    spec.socket = path;
    spec.max_request = 4096;
    spec.request_timeout = 300;
    server = std::make_unique<ControlServer>(loop, spec, [this](const Request& r) {
      Reply reply;
      reply.body = {{"ok", true}, {"cmd", r.cmd}};
      if (r.cmd == "logs") {
        reply.body["lines"] = sink->tail(static_cast<std::size_t>(r.tail));
        if (r.follow) reply.follow = sink;
      }
      return reply;
    });
    server->listen_unix();
  }

  /// Runs `client` on a thread while serving; returns once it finished.
  void serve(const std::function<void()>& client) {
    std::atomic<bool> done{false};
    std::exception_ptr error;
    std::thread t([&] {
      try {
        client();
      } catch (...) {
        error = std::current_exception();
      }
      done = true;
    });
    test::run_until(loop, nullptr, [&] { return done.load(); }, 20'000);
    t.join();
    if (error) std::rethrow_exception(error);
  }

  ef::UniqueFd raw_connect() const {
    ef::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path.c_str());
    REQUIRE(connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return fd;
  }

  /// Sends raw bytes, reads everything until the server closes.
  std::string exchange(const std::string& bytes) const {
    ef::UniqueFd fd = raw_connect();
    if (!bytes.empty()) (void)!::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

std::string error_of(const std::string& line) {
  auto j = nlohmann::json::parse(line);
  CHECK(j["ok"] == false);
  return j.value("error", "");
}

}  // namespace

TEST_CASE("control server answers requests through the client") {
  Server s;
  s.serve([&] {
    ControlClient c(Endpoint::parse(s.path), 2000);
    auto r = c.call(Request{"ping", "", 0, false});
    CHECK(r["ok"] == true);
    CHECK(r["cmd"] == "ping");
  });
  // A request without a trailing newline, ended by shutting down the write side.
  s.serve([&] {
    ef::UniqueFd fd = s.raw_connect();
    std::string req = R"({"cmd":"list"})";
    REQUIRE(write(fd.get(), req.data(), req.size()) == static_cast<ssize_t>(req.size()));
    shutdown(fd.get(), SHUT_WR);
    char buf[256];
    ssize_t n = read(fd.get(), buf, sizeof buf);
    REQUIRE(n > 0);
    CHECK(nlohmann::json::parse(std::string(buf, static_cast<std::size_t>(n)))["cmd"] == "list");
  });
}

TEST_CASE("control server: hostile messages get clear errors") {
  Server s;
  s.serve([&] {
    CHECK(error_of(s.exchange("{oops\n")) == "malformed JSON request");
    CHECK(error_of(s.exchange("{\"cmd\":\"reboto\"}\n")) == "unknown command 'reboto' (did you mean 'reboot'?)");
    CHECK(error_of(s.exchange(std::string(100'000, 'x'))) == "request larger than 4096 bytes");
    CHECK(error_of(s.exchange(std::string(5000, ' ') + "{\"cmd\":\"ping\"}\n")) == "request larger than 4096 bytes");
    CHECK(error_of(s.exchange("\xff\xfe\n")) == "malformed JSON request");
    CHECK(error_of(s.exchange(std::string(2000, '[') + "\n")) == "request nested too deeply");
    s.exchange("");  // connect and hang up at once
  });
  CHECK(s.server->clients() == 0);
}

TEST_CASE("control server: a silent client times out without stalling others") {
  Server s;
  s.serve([&] {
    ef::UniqueFd silent = s.raw_connect();
    ef::UniqueFd slow = s.raw_connect();
    (void)!write(slow.get(), "{\"cmd\":", 7);  // half a request, then nothing
    Millis t0 = monotonic_ms();
    ControlClient c(Endpoint::parse(s.path), 2000);
    CHECK(c.call(Request{"ping", "", 0, false})["ok"] == true);
    CHECK(monotonic_ms() - t0 < 250);  // answered while the others still hang
    for (int fd : {silent.get(), slow.get()}) {
      char buf[256];
      ssize_t n = read(fd, buf, sizeof buf);
      REQUIRE(n > 0);
      CHECK(error_of(std::string(buf, static_cast<std::size_t>(n))) == "request timed out after 300ms");
    }
    CHECK(monotonic_ms() - t0 >= 290);
  });
}

TEST_CASE("control server: too many clients are turned away") {
  Server s;
  s.serve([&] {
    std::vector<ef::UniqueFd> held;
    for (std::size_t i = 0; i < ControlServer::kMaxClients; ++i) held.push_back(s.raw_connect());
    // Give the server time to accept them all.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(error_of(s.exchange("{\"cmd\":\"ping\"}\n")) == "too many control clients");
  });
}

TEST_CASE("control server: logs --follow streams new lines") {
  Server s;
  s.sink->append("old 1\nold 2\n");
  std::atomic<bool> subscribed{false};
  std::atomic<bool> finished{false};
  std::thread client([&] {
    ControlClient c(Endpoint::parse(s.path), 2000);
    auto first = c.call(Request{"logs", "svc", 1, true});
    CHECK(first["lines"] == nlohmann::json::array({"old 2"}));
    subscribed = true;
    auto l1 = c.next();
    auto l2 = c.next();
    REQUIRE(l1);
    REQUIRE(l2);
    CHECK((*l1)["line"] == "new 1");
    CHECK((*l2)["line"] == "new 2");
    finished = true;
  });
  test::run_until(s.loop, nullptr, [&] { return subscribed.load(); });
  test::run_until(s.loop, nullptr, [] { return false; }, 50);
  s.sink->append("new 1\nnew 2\n");
  test::run_until(s.loop, nullptr, [&] { return finished.load(); });
  client.join();
  CHECK(finished);
  test::run_until(s.loop, nullptr, [&] { return s.server->clients() == 0; }, 2000);
  CHECK(s.server->clients() == 0);  // the follower hung up; its subscription is gone
}
