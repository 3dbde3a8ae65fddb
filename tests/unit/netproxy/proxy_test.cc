// The proxy end to end in-process, with unix sockets standing in for vsock:
// client → pf-proxy (tcp→"vsock") → pf-proxy ("vsock"→tcp) → echo server.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "base/fd.h"
#include "netproxy/header.h"
#include "netproxy/proxy.h"
#include "netproxy/socket_ops.h"
#include "netproxy/testkit/peers.h"

using namespace ef;
using namespace ef::netproxy;
using namespace ef::netproxy::testkit;

namespace {

ForwardSpec forward(std::string name, Mode mode, std::string listen, std::optional<std::string> connect) {
  ForwardSpec f;
  f.name = std::move(name);
  f.mode = mode;
  f.listen = parse_endpoint(listen);
  if (connect) f.connect = parse_endpoint(*connect);
  return f;
}

Config one(ForwardSpec f, int workers = 2) {
  Config c;
  c.workers = workers;
  c.forwards.push_back(std::move(f));
  return c;
}

std::string tcp_of(const SockAddr& a) { return "tcp:" + a.to_string(); }

std::vector<std::uint64_t> random_sizes(std::size_t n, std::uint64_t max, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> sizes;
  for (std::size_t i = 0; i < n; ++i) sizes.push_back(rng() % (max + 1));
  sizes[0] = 0;  // always include the empty stream
  return sizes;
}


}  // namespace

TEST_CASE("tcp → vsock(unix) → tcp: random payloads arrive intact both ways, with half-close") {
  std::size_t fds_before = count_open_fds();
  {
    EchoServer echo("tcp:127.0.0.1:0");
    std::string sock = temp_socket("chain");
    bool zero_copy = GENERATE(true, false);
    ForwardSpec inner = forward("vsock-to-tcp", Mode::kForward, "unix:" + sock, tcp_of(echo.address()));
    inner.zero_copy = zero_copy;
    Proxy enclave(one(inner));
    enclave.start();
    ForwardSpec outer = forward("tcp-to-vsock", Mode::kForward, "tcp:127.0.0.1:0", "unix:" + sock);
    outer.zero_copy = zero_copy;
    outer.buffer_size = 64 * 1024;
    Proxy host(one(outer));
    host.start();

    auto sizes = random_sizes(120, 512 * 1024, zero_copy ? 1 : 2);
    sizes[1] = 4 * 1024 * 1024;
    std::uint64_t total = 0;
    for (auto s : sizes) total += s;
    ClientResult r = run_echo_clients(host.bound(0)[0], sizes, 40);
    CHECK(r.failed == 0);
    CHECK(r.ok == sizes.size());
    CHECK(r.bytes == total);
    CHECK(eventually([&] { return host.metrics().render().find("pf_proxy_connections_open{forward=\"tcp-to-vsock\"} 0") != std::string::npos; }));
    std::string m = host.metrics().render();
    CHECK_THAT(m, Catch::Contains("pf_proxy_connections_total{forward=\"tcp-to-vsock\"} 120"));
    CHECK_THAT(m, Catch::Contains("pf_proxy_bytes_total{forward=\"tcp-to-vsock\",direction=\"up\"} " + std::to_string(total)));
    CHECK_THAT(m, Catch::Contains("pf_proxy_bytes_total{forward=\"tcp-to-vsock\",direction=\"down\"} " + std::to_string(total)));
    host.stop();
    enclave.stop();
  }
  CHECK(count_open_fds() == fds_before);
}

TEST_CASE("1,000 concurrent connections with small payloads") {
  EchoServer echo("tcp:127.0.0.1:0");
  std::string sock = temp_socket("many");
  ForwardSpec inner = forward("in", Mode::kForward, "unix:" + sock, tcp_of(echo.address()));
  inner.zero_copy = false;  // one hop copies, one splices
  Proxy enclave(one(inner));
  enclave.start();
  Proxy host(one(forward("out", Mode::kForward, "tcp:127.0.0.1:0", "unix:" + sock)));
  host.start();
  ClientResult r = run_echo_clients(host.bound(0)[0], random_sizes(1000, 8192, 3), 1000);
  CHECK(r.failed == 0);
  CHECK(r.ok == 1000);
  CHECK(echo.accepted() == 1000);
}

TEST_CASE("ingress keeps the port: host header → enclave dialer → 127.0.0.2:SAME_PORT") {
  EchoServer echo("tcp:127.0.0.2:0");  // the "service inside"
  std::uint16_t port = echo.address().port();
  std::string sock = temp_socket("ingress");
  ForwardSpec dialer = forward("ingress-in", Mode::kDialer, "unix:" + sock, std::nullopt);
  dialer.dial_host = "127.0.0.2";
  dialer.policy.default_allow = false;
  dialer.policy.allow.push_back(PolicyRule{{}, {}, {PortRange{port, port}}, "port"});
  Proxy enclave(one(dialer));
  enclave.start();
  ForwardSpec ingress = forward("ingress", Mode::kIngress, "tcp:127.0.0.1:0", "unix:" + sock);
  ingress.ports = {port};
  Proxy host(one(ingress));
  host.start();
  REQUIRE(host.bound(0)[0].port() == port);
  ClientResult r = run_echo_clients(host.bound(0)[0], random_sizes(20, 100000, 4), 10);
  CHECK(r.ok == 20);
  CHECK(r.failed == 0);
}

TEST_CASE("dialer: header routes, policy refuses and logs, garbage is refused") {
  EchoServer echo("tcp:127.0.0.1:0");
  std::uint16_t port = echo.address().port();
  std::string sock = temp_socket("dialer");
  ForwardSpec dialer = forward("egress", Mode::kDialer, "unix:" + sock, std::nullopt);
  dialer.policy.deny.push_back(PolicyRule{{}, {}, {PortRange{1, static_cast<std::uint16_t>(port - 1)}}, "low ports"});
  Proxy host(one(dialer));
  host.start();
  SockAddr addr = resolve(parse_endpoint("unix:" + sock));

  // Hand-made IPv4 header for 127.0.0.1:port (octets reversed, port little-endian).
  std::vector<std::uint8_t> header = {4, 1, 0, 0, 127, static_cast<std::uint8_t>(port & 0xff),
                                      static_cast<std::uint8_t>(port >> 8)};
  ClientResult ok = run_echo_clients(addr, random_sizes(10, 200000, 5), 5, header);
  CHECK(ok.ok == 10);

  // Port port-1 is denied: the stream is closed without a byte.
  std::uint16_t low = static_cast<std::uint16_t>(port - 1);
  std::string denied = std::string("\x04\x01\x00\x00\x7f", 5) + char(low & 0xff) + char(low >> 8) + "payload";
  CHECK(send_and_read(addr, denied).empty());
  std::string garbage = "GET / HTTP/1.1\r\n\r\n";
  CHECK(send_and_read(addr, garbage).empty());
  auto& m = host.metrics();
  std::string text = m.render();
  CHECK_THAT(text, Catch::Contains("pf_proxy_connections_refused_total{forward=\"egress\"} 2"));
  CHECK_THAT(text, Catch::Contains("pf_proxy_errors_total{forward=\"egress\",kind=\"policy\"} 1"));
  CHECK_THAT(text, Catch::Contains("pf_proxy_errors_total{forward=\"egress\",kind=\"header\"} 1"));
}

TEST_CASE("limits: max connections, idle timeout, unreachable upstream, resetting peer") {
  EchoServer echo("tcp:127.0.0.1:0");
  ForwardSpec f = forward("limited", Mode::kForward, "tcp:127.0.0.1:0", tcp_of(echo.address()));
  f.max_connections = 2;
  f.idle_timeout = std::chrono::milliseconds(300);
  Proxy p(one(f, 1));
  p.start();
  SockAddr a = p.bound(0)[0];
  auto open_conn = [&] {
    UniqueFd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(fd.get(), a.get(), a.length) == 0);
    return fd;
  };
  UniqueFd c1 = open_conn(), c2 = open_conn();
  REQUIRE(eventually([&] { return p.session_count() == 2; }));
  UniqueFd c3 = open_conn();
  char b;
  CHECK(::recv(c3.get(), &b, 1, 0) <= 0);  // refused: EOF or reset
  CHECK(p.metrics().render().find("kind=\"limit\"} 1") != std::string::npos);
  // Idle connections are closed after 300 ms.
  CHECK(eventually([&] { return p.session_count() == 0; }));
  CHECK(::recv(c1.get(), &b, 1, 0) <= 0);
  CHECK(p.metrics().render().find("kind=\"idle_timeout\"} 2") != std::string::npos);

  // A peer that resets mid-stream frees everything.
  UniqueFd c4 = open_conn();
  std::string junk(100000, 'x');
  ::send(c4.get(), junk.data(), junk.size(), MSG_NOSIGNAL);
  abort_close(c4);
  CHECK(eventually([&] { return p.session_count() == 0; }));

  // Nothing listens upstream: the client is closed, the error counted.
  UniqueFd dead = listen_stream(parse_endpoint("tcp:127.0.0.1:0"));
  SockAddr dead_addr = local_address(dead.get());
  dead.reset();
  Proxy q(one(forward("dead", Mode::kForward, "tcp:127.0.0.1:0", tcp_of(dead_addr)), 1));
  q.start();
  CHECK(send_and_read(q.bound(0)[0], "hello").empty());
  CHECK(eventually([&] { return q.metrics().render().find("kind=\"connect\"} 1") != std::string::npos; }));
}

namespace {

// A UDP echo server on its own thread.
struct UdpEcho {
  UniqueFd fd = bind_datagram(parse_endpoint("udp:127.0.0.1:0"));
  SockAddr address = local_address(fd.get());
  std::atomic<bool> stop{false};
  std::thread thread{[this] {
    char buf[65536];
    while (!stop) {
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      SockAddr from;
      from.length = sizeof from.storage;
      ssize_t n = ::recvfrom(fd.get(), buf, sizeof buf, 0, from.get(), &from.length);
      if (n >= 0) ::sendto(fd.get(), buf, static_cast<std::size_t>(n), 0, from.get(), from.length);
    }
  }};
  ~UdpEcho() {
    stop = true;
    thread.join();
  }
};

}  // namespace

TEST_CASE("UDP over a stream: udp-to-stream → stream-to-udp → resolver and back") {
  std::size_t fds_before = count_open_fds();
  {
    UdpEcho resolver;
    std::string sock = temp_socket("dns");
    Config host = one(forward("dns-host", Mode::kStreamToUdp, "unix:" + sock, "udp:" + resolver.address.to_string()));
    Proxy host_proxy(host);
    host_proxy.start();
    Proxy enclave(one(forward("dns", Mode::kUdpToStream, "udp:127.0.0.1:0", "unix:" + sock)));
    enclave.start();
    SockAddr front = enclave.bound(0)[0];

    for (int client = 0; client < 3; ++client) {
      UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      timeval tv{5, 0};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      REQUIRE(::connect(fd.get(), front.get(), front.length) == 0);
      for (std::size_t size : {std::size_t(0), std::size_t(1), std::size_t(512), std::size_t(4000), std::size_t(65000)}) {
        std::string q(size, static_cast<char>('a' + client));
        for (std::size_t i = 0; i < size; ++i) q[i] = static_cast<char>(q[i] + static_cast<char>(i % 7));
        REQUIRE(::send(fd.get(), q.data(), q.size(), 0) == static_cast<ssize_t>(q.size()));
        std::string reply(65536, '\0');
        ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
        REQUIRE(n == static_cast<ssize_t>(size));
        reply.resize(static_cast<std::size_t>(n));
        CHECK(reply == q);
      }
    }
    std::string m = enclave.metrics().render();
    CHECK_THAT(m, Catch::Contains("pf_proxy_connections_total{forward=\"dns\"} 3"));
    CHECK_THAT(host_proxy.metrics().render(), Catch::Contains("pf_proxy_connections_total{forward=\"dns-host\"} 3"));
  }
  CHECK(count_open_fds() == fds_before);
}

TEST_CASE("metrics endpoint serves Prometheus text") {
  EchoServer echo("tcp:127.0.0.1:0");
  Config c = one(forward("web", Mode::kForward, "tcp:127.0.0.1:0", tcp_of(echo.address())));
  c.metrics = parse_endpoint("tcp:127.0.0.1:0");
  Proxy p(c);
  p.start();
  CHECK(send_and_read(p.bound(0)[0], "ping") == "ping");
  std::string response = send_and_read(*p.metrics_address(), "GET /metrics HTTP/1.0\r\n\r\n");
  CHECK_THAT(response, Catch::StartsWith("HTTP/1.0 200 OK"));
  CHECK_THAT(response, Catch::Contains("# TYPE pf_proxy_connections_total counter"));
  CHECK_THAT(response, Catch::Contains("pf_proxy_connections_total{forward=\"web\"} 1"));
  CHECK_THAT(send_and_read(*p.metrics_address(), "GET /nope HTTP/1.0\r\n\r\n"), Catch::StartsWith("HTTP/1.0 404"));
}

TEST_CASE("half-close the other way: the server finishes first, the client keeps sending") {
  UniqueFd server = listen_stream(parse_endpoint("tcp:127.0.0.1:0"));
  SockAddr server_addr = local_address(server.get());
  std::string received_by_server;
  std::thread t([&] {
    pollfd p{server.get(), POLLIN, 0};
    ::poll(&p, 1, 5000);
    UniqueFd c(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(c.valid());
    ::send(c.get(), "banner", 6, MSG_NOSIGNAL);
    ::shutdown(c.get(), SHUT_WR);
    char buf[4096];
    for (;;) {
      ::poll(&(p = pollfd{c.get(), POLLIN, 0}), 1, 5000);
      ssize_t n = ::recv(c.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) received_by_server.append(buf, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EAGAIN) break;
    }
  });
  std::string sock = temp_socket("half");
  Proxy inner(one(forward("in", Mode::kForward, "unix:" + sock, tcp_of(server_addr))));
  inner.start();
  Proxy outer(one(forward("out", Mode::kForward, "tcp:127.0.0.1:0", "unix:" + sock)));
  outer.start();
  SockAddr a = outer.bound(0)[0];
  UniqueFd c(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(::connect(c.get(), a.get(), a.length) == 0);
  std::string banner;
  char buf[64];
  for (ssize_t n; (n = ::recv(c.get(), buf, sizeof buf, 0)) > 0;) banner.append(buf, static_cast<std::size_t>(n));
  CHECK(banner == "banner");  // EOF seen while our own direction is still open
  std::string big(300000, 'q');
  CHECK(::send(c.get(), big.data(), big.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(big.size()));
  ::shutdown(c.get(), SHUT_WR);
  t.join();
  CHECK(received_by_server == big);
  CHECK(::recv(c.get(), buf, sizeof buf, 0) == 0);
}

TEST_CASE("connect timeout: an upstream that never answers the handshake") {
  // A listener with backlog 0 and a full accept queue drops further SYNs.
  UniqueFd server = listen_stream(parse_endpoint("tcp:127.0.0.1:0"), 0);
  SockAddr s = local_address(server.get());
  std::vector<UniqueFd> fillers;
  for (int i = 0; i < 3; ++i) {
    fillers.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ::connect(fillers.back().get(), s.get(), s.length);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ForwardSpec f = forward("slow", Mode::kForward, "tcp:127.0.0.1:0", tcp_of(s));
  f.connect_timeout = std::chrono::milliseconds(300);
  Proxy p(one(f, 1));
  p.start();
  auto t0 = std::chrono::steady_clock::now();
  CHECK(send_and_read(p.bound(0)[0], "x").empty());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  CHECK_THAT(p.metrics().render(), Catch::Contains("kind=\"connect_timeout\"} 1"));
}

TEST_CASE("IPv6: ingress on [::1] → dialer → [::1]:SAME_PORT, header family 6") {
  UniqueFd probe(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  SockAddr loop6 = resolve(parse_endpoint("tcp:[::1]:0"));
  if (::bind(probe.get(), loop6.get(), loop6.length) != 0) return;  // no IPv6 loopback here
  probe.reset();
  EchoServer echo("tcp:[::1]:0");
  std::uint16_t port = echo.address().port();
  std::string sock = temp_socket("v6");
  ForwardSpec dialer = forward("in6", Mode::kDialer, "unix:" + sock, std::nullopt);
  dialer.policy.default_allow = false;
  dialer.policy.allow.push_back(PolicyRule::parse_flag("::1/128"));
  Proxy enclave(one(dialer));
  enclave.start();
  // The client names [::1]:port in a hand-made family-6 header: 6, 15 zero bytes and 01 reversed, port LE.
  std::vector<std::uint8_t> header(19, 0);
  header[0] = 6;
  header[1] = 1;  // ::1 as a little-endian u128: the low byte first
  header[17] = static_cast<std::uint8_t>(port & 0xff);
  header[18] = static_cast<std::uint8_t>(port >> 8);
  ClientResult r = run_echo_clients(resolve(parse_endpoint("unix:" + sock)), random_sizes(10, 100000, 6), 5, header);
  CHECK(r.ok == 10);
  CHECK(r.failed == 0);
}
