// Connections to a TCP listener are spread across the workers (one
// SO_REUSEPORT socket each), not drained by whichever worker wakes first.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <thread>

#include "netproxy/proxy.h"
#include "netproxy/socket_ops.h"
#include "netproxy/testkit/peers.h"

using namespace ef;
using namespace ef::netproxy;
using namespace ef::netproxy::testkit;

TEST_CASE("a burst of TCP connections lands on every worker") {
  EchoServer echo("tcp:127.0.0.1:0");
  ForwardSpec f;
  f.name = "spread";
  f.mode = Mode::kForward;
  f.listen = parse_endpoint("tcp:127.0.0.1:0");
  f.connect = parse_endpoint("tcp:" + echo.address().to_string());
  Config c;
  c.workers = 2;
  c.forwards.push_back(f);
  Proxy p(c);
  p.start();
  const SockAddr a = p.bound(0)[0];
  // The burst: 200 connections opened before any is served.
  std::vector<UniqueFd> conns;
  for (int i = 0; i < 200; ++i) {
    UniqueFd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(fd.get(), a.get(), a.length) == 0);
    conns.push_back(std::move(fd));
  }
  std::vector<std::uint64_t> per = p.accepted_per_worker();
  for (int i = 0; i < 500 && per[0] + per[1] < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    per = p.accepted_per_worker();
  }
  INFO("worker 0 accepted " << per[0] << ", worker 1 " << per[1]);
  CHECK(per[0] + per[1] == 200);
  CHECK(per[0] >= 40);  // the reuseport hash: ~100 each; 40 is far in the tail
  CHECK(per[1] >= 40);
  // Still one address, and it still serves.
  CHECK(p.bound(0).size() == 1);
  CHECK(send_and_read(a, "hello") == "hello");
  conns.clear();
  p.stop();
}
