// pf-peer: the test peers of pf-proxy as a program, for the namespace, QEMU and
// benchmark scripts.
//   pf-peer echo LISTEN                       echo server (half-closes after its client)
//   pf-peer check TARGET [options]            echo clients; exit 0 only if every payload came back intact
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include <cstdio>
#include <random>
#include <sstream>

#include "base/cli.h"
#include "base/error.h"
#include "netproxy/header.h"
#include "netproxy/socket_ops.h"
#include "netproxy/testkit/peers.h"

using namespace ef;
using namespace ef::netproxy;
using namespace ef::netproxy::testkit;

namespace {

int cmd_echo(std::vector<std::string> args) {
  CLI::App app("Echo server.", "pf-peer echo");
  std::string listen;
  app.add_option("listen", listen, "endpoint")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  EchoServer server(listen);
  std::printf("listening %s\n", server.address().to_string().c_str());
  std::fflush(stdout);
  int sig;
  sigwait(&set, &sig);
  return 0;
}

int cmd_check(std::vector<std::string> args) {
  CLI::App app("Echo clients: random payloads, half-close, sha256 of what returns.", "pf-peer check");
  std::string target, header;
  std::uint64_t count = 1, max = 65536, fixed = 0;
  std::size_t concurrency = 1;
  unsigned seed = 1;
  app.add_option("target", target, "endpoint")->required();
  app.add_option("--count", count, "connections");
  app.add_option("--max", max, "payload sizes are random in [0, max]");
  app.add_option("--size", fixed, "every payload exactly this size (overrides --max)");
  app.add_option("--concurrency", concurrency, "connections at once");
  app.add_option("--seed", seed, "random seed");
  app.add_option("--header", header, "send a destination header for IP:PORT first (talking to a dialer)");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> sizes;
  for (std::uint64_t i = 0; i < count; ++i) sizes.push_back(fixed ? fixed : rng() % (max + 1));
  std::vector<std::uint8_t> prefix;
  if (!header.empty()) prefix = encode_header(OriginalDst::from_sockaddr(resolve(parse_endpoint("tcp:" + header))));
  auto start = std::chrono::steady_clock::now();
  ClientResult r = run_echo_clients(resolve(parse_endpoint(target)), sizes, concurrency, prefix);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("ok=%zu failed=%zu bytes=%llu seconds=%.3f\n", r.ok, r.failed, static_cast<unsigned long long>(r.bytes), secs);
  return r.failed == 0 && r.ok == count ? 0 : 1;
}

// ---- load generators for bench/netproxy.sh ----

UniqueFd dial_blocking(const SockAddr& a) {
  UniqueFd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), a.get(), a.length) != 0) throw_errno("connect to", a.to_string());
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Discards everything; after the client's EOF replies with one byte and closes.
// One thread, poll-driven, so 100 streams do not outnumber the proxy's threads.
int cmd_sink(std::vector<std::string> args) {
  CLI::App app("Sink server: reads to EOF, answers one byte.", "pf-peer sink");
  std::string listen;
  app.add_option("listen", listen, "endpoint")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  UniqueFd l = listen_stream(parse_endpoint(listen));
  std::printf("listening %s\n", local_address(l.get()).to_string().c_str());
  std::fflush(stdout);
  std::vector<UniqueFd> conns;
  std::vector<char> buf(1 << 18);
  for (;;) {
    std::vector<pollfd> fds = {{l.get(), POLLIN, 0}};
    for (auto& c : conns) fds.push_back({c.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents)
      for (int fd; (fd = ::accept4(l.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;)
        conns.emplace_back(fd);
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      ssize_t n;
      while ((n = ::recv(fds[i].fd, buf.data(), buf.size(), 0)) > 0) {
      }
      if (n == 0) ::send(fds[i].fd, "k", 1, MSG_NOSIGNAL);
      if (n == 0 || errno != EAGAIN)
        for (auto& c : conns)
          if (c.get() == fds[i].fd) c.reset();
    }
    std::erase_if(conns, [](const UniqueFd& c) { return !c.valid(); });
  }
}

// S streams at once from one poll-driven thread, each sending bytes/S and
// waiting for the sink's answer.
int cmd_blast(std::vector<std::string> args) {
  CLI::App app("Throughput: streams sending to a sink.", "pf-peer blast");
  std::string target;
  std::uint64_t bytes = 1ull << 30;
  int streams = 1;
  app.add_option("target", target)->required();
  app.add_option("--bytes", bytes, "total bytes");
  app.add_option("--streams", streams, "parallel streams");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  SockAddr a = resolve(parse_endpoint(target));
  struct Stream {
    UniqueFd fd;
    std::uint64_t left;
    bool shut = false, done = false;
  };
  std::vector<Stream> all;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < streams; ++i) {
    UniqueFd fd = dial_blocking(a);
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    all.push_back({std::move(fd), bytes / static_cast<std::uint64_t>(streams)});
  }
  static const std::vector<char> chunk(1 << 18, 'x');
  int failures = 0, remaining = streams;
  while (remaining > 0) {
    std::vector<pollfd> fds;
    std::vector<Stream*> owners;
    for (auto& s : all)
      if (!s.done) fds.push_back({s.fd.get(), static_cast<short>(s.shut ? POLLIN : POLLOUT), 0}), owners.push_back(&s);
    ::poll(fds.data(), fds.size(), 10000);
    for (std::size_t i = 0; i < fds.size(); ++i) {
      Stream& s = *owners[i];
      if (!fds[i].revents) continue;
      if (s.shut) {
        char k;
        ssize_t n = ::recv(s.fd.get(), &k, 1, 0);
        if (n < 0 && errno == EAGAIN) continue;
        failures += n == 1 ? 0 : 1;
        s.done = true, --remaining;
        continue;
      }
      while (s.left > 0) {
        ssize_t n = ::send(s.fd.get(), chunk.data(), std::min<std::uint64_t>(s.left, chunk.size()), MSG_NOSIGNAL);
        if (n <= 0) {
          if (n < 0 && errno != EAGAIN) ++failures, s.done = true, --remaining;
          break;
        }
        s.left -= static_cast<std::uint64_t>(n);
      }
      if (s.left == 0 && !s.done) ::shutdown(s.fd.get(), SHUT_WR), s.shut = true;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("streams=%d bytes=%llu seconds=%.3f gbit_per_s=%.2f failures=%d\n", streams,
              static_cast<unsigned long long>(bytes), secs, bytes * 8 / secs / 1e9, failures);
  return failures == 0 ? 0 : 1;
}

// Small request/response on one connection through an echo server: latency percentiles.
int cmd_rr(std::vector<std::string> args) {
  CLI::App app("Latency: 64-byte request/response round trips.", "pf-peer rr");
  std::string target;
  int count = 20000;
  app.add_option("target", target)->required();
  app.add_option("--count", count, "round trips");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  UniqueFd fd = dial_blocking(resolve(parse_endpoint(target)));
  char req[64] = {}, resp[64];
  std::vector<double> us;
  for (int i = 0; i < count; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (::send(fd.get(), req, sizeof req, MSG_NOSIGNAL) != sizeof req) throw Error("send failed");
    std::size_t got = 0;
    while (got < sizeof resp) {
      ssize_t n = ::recv(fd.get(), resp + got, sizeof resp - got, 0);
      if (n <= 0) throw Error("echo closed");
      got += static_cast<std::size_t>(n);
    }
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  std::printf("count=%d p50_us=%.1f p99_us=%.1f\n", count, us[us.size() / 2], us[us.size() * 99 / 100]);
  return 0;
}

// Opens N idle connections, holds them until stdin closes (the script measures memory meanwhile).
int cmd_idle(std::vector<std::string> args) {
  CLI::App app("Opens N idle connections and holds them until stdin closes.", "pf-peer idle");
  std::string target;
  int count = 1000;
  app.add_option("target", target)->required();
  app.add_option("--count", count, "connections");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  SockAddr a = resolve(parse_endpoint(target));
  std::vector<UniqueFd> fds;
  for (int i = 0; i < count; ++i) fds.push_back(dial_blocking(a));
  std::printf("open=%d\n", count);
  std::fflush(stdout);
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  static const cli::Command commands[] = {
      {"echo", "echo server", cmd_echo},
      {"check", "echo clients that verify what returns", cmd_check},
      {"sink", "sink server (benchmark)", cmd_sink},
      {"blast", "throughput of N streams to a sink (benchmark)", cmd_blast},
      {"rr", "request/response latency through an echo server (benchmark)", cmd_rr},
      {"idle", "hold N idle connections (benchmark)", cmd_idle},
  };
  return cli::dispatch("pf-peer", "Test peers for pf-proxy.", commands, argc, argv);
}
