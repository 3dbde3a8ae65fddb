// pf-peer: the test peers of pf-proxy as a program, for the namespace, QEMU and
// benchmark scripts.
//   pf-peer echo LISTEN                       echo server (half-closes after its client)
//   pf-peer check TARGET [options]            echo clients; exit 0 only if every payload came back intact
#include <signal.h>

#include <cstdio>
#include <random>
#include <sstream>

#include "base/cli.h"
#include "base/error.h"
#include "netproxy/header.h"
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

}  // namespace

int main(int argc, char** argv) {
  static const cli::Command commands[] = {
      {"echo", "echo server", cmd_echo},
      {"check", "echo clients that verify what returns", cmd_check},
  };
  return cli::dispatch("pf-peer", "Test peers for pf-proxy.", commands, argc, argv);
}
