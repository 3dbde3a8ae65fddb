// The hvsock: connect endpoint (Firecracker's hybrid vsock, as ef-vsock-bridge
// serves it): "CONNECT <port>\n" on a unix socket, then "OK <host port>\n" and
// the guest's stream, or a close when nothing listens in the guest. The bridge
// here is a stand-in thread that follows that protocol as docs/local-mode.md
// states it.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "base/error.h"
#include "base/fd.h"
#include "netproxy/config.h"
#include "netproxy/endpoint.h"
#include "netproxy/proxy.h"
#include "netproxy/socket_ops.h"
#include "netproxy/testkit/peers.h"

using namespace ef;
using namespace ef::netproxy;
using namespace ef::netproxy::testkit;

namespace {

enum class BridgeReply { kOk, kRefuse, kGarbage };

// One connection: reads the CONNECT line, then answers as `reply` says. kOk
// sends "OK 1073741824\n" and, in the same write, "early:" (bytes the guest
// sent before the client's first byte), then echoes until EOF.
struct FakeBridge {
  std::string path = temp_socket("hvsock");
  UniqueFd listener = listen_stream(parse_endpoint("unix:" + path));
  std::string line;  // what the proxy sent first
  BridgeReply reply;
  std::thread thread;

  explicit FakeBridge(BridgeReply r) : reply(r) {
    // listen_stream makes a non-blocking listener (the proxy's event loop wants
    // one); this thread blocks.
    ::fcntl(listener.get(), F_SETFL, ::fcntl(listener.get(), F_GETFL) & ~O_NONBLOCK);
    thread = std::thread([this] {
      UniqueFd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) return;
      char ch;
      while (::read(c.get(), &ch, 1) == 1) {
        line += ch;
        if (ch == '\n' || line.size() > 64) break;
      }
      if (reply == BridgeReply::kRefuse) return;
      std::string head = reply == BridgeReply::kOk ? "OK 1073741824\nearly:" : "NOPE\n";
      (void)!::write(c.get(), head.data(), head.size());
      if (reply != BridgeReply::kOk) return;
      char buf[4096];
      ssize_t n;
      while ((n = ::read(c.get(), buf, sizeof buf)) > 0) (void)!::write(c.get(), buf, static_cast<std::size_t>(n));
    });
  }
  ~FakeBridge() {
    ::shutdown(listener.get(), SHUT_RDWR);
    thread.join();
    ::unlink(path.c_str());
  }
};

Config tcp_to_hvsock(const std::string& path, std::uint32_t port) {
  ForwardSpec f;
  f.name = "hv";
  f.mode = Mode::kForward;
  f.listen = parse_endpoint("tcp:127.0.0.1:0");
  f.connect = parse_endpoint("hvsock:" + path + ":" + std::to_string(port));
  Config c;
  c.workers = 1;
  c.forwards.push_back(std::move(f));
  return c;
}


}  // namespace

TEST_CASE("hvsock: endpoint grammar") {
  Endpoint e = parse_endpoint("hvsock:/run/ef/vsock.sock:8443");
  CHECK(e.hybrid_port == 8443);
  CHECK(e.to_string() == "hvsock:/run/ef/vsock.sock:8443");
  CHECK_THROWS_WITH(parse_endpoint("hvsock:/run/ef/vsock.sock"), Catch::Contains("hvsock:/path:PORT"));
  CHECK_THROWS_WITH(parse_endpoint("hvsock::8443"), Catch::Contains("hvsock:/path:PORT"));
  CHECK_THROWS(parse_endpoint("hvsock:/x:notaport"));
}

TEST_CASE("hvsock: CONNECT line, OK reply, bytes behind it, then the stream both ways") {
  FakeBridge bridge(BridgeReply::kOk);
  Proxy p(tcp_to_hvsock(bridge.path, 8443));
  p.start();
  std::string got = send_and_read(p.bound(0)[0], "hello through the bridge");
  CHECK(got == "early:hello through the bridge");
  p.stop();
  CHECK(bridge.line == "CONNECT 8443\n");
}

TEST_CASE("hvsock: a bridge that closes (nothing listens in the guest) or answers garbage fails the connection") {
  auto reply = GENERATE(BridgeReply::kRefuse, BridgeReply::kGarbage);
  FakeBridge bridge(reply);
  Proxy p(tcp_to_hvsock(bridge.path, 9999));
  p.start();
  bool reset = false;
  CHECK(send_and_read(p.bound(0)[0], "x", &reset).empty());
  CHECK(eventually([&] { return p.metrics().render().find("kind=\"connect\"} 1") != std::string::npos; }));
  p.stop();
  CHECK(bridge.line == "CONNECT 9999\n");
}

TEST_CASE("hvsock: connect only, and only for stream modes") {
  Config c;
  ForwardSpec f;
  f.name = "bad";
  f.mode = Mode::kForward;
  f.listen = parse_endpoint("hvsock:/tmp/x.sock:1");
  f.connect = parse_endpoint("tcp:127.0.0.1:1");
  c.forwards.push_back(f);
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("connect endpoint only"));
  // udp-to-stream frames datagrams onto a stream, but not through the bridge.
  c.forwards[0].mode = Mode::kUdpToStream;
  c.forwards[0].listen = parse_endpoint("udp:127.0.0.1:53");
  c.forwards[0].connect = parse_endpoint("hvsock:/tmp/x.sock:8053");
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("hvsock: needs a TCP stream mode"));
}
