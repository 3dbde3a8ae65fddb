// pf-proxy: vsock ⇄ TCP forwarding and transparent networking for enclaves.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>

#include "base/cli.h"
#include "base/error.h"
#include "base/log.h"
#include "netproxy/config.h"
#include "netproxy/proxy.h"
#include "netproxy/rules.h"

using namespace ef;
using namespace ef::netproxy;

namespace {

constexpr std::string_view kDescription = R"(Forwards streams between vsock, TCP and unix sockets, and gives an enclave
transparent networking. Endpoints: tcp:HOST:PORT, vsock:CID:PORT (CID 'any' to
listen), unix:/path, udp:HOST:PORT.

modes (pf-proxy forward --mode MODE, or 'mode:' in a config file):
  forward        listen -> connect, bytes only.
                   enclave: pf-proxy forward --listen vsock:any:8443 --connect tcp:127.0.0.1:443
                   host:    pf-proxy forward --listen tcp:0.0.0.0:443 --connect vsock:16:8443
  transparent    enclave egress: TCP redirected by netfilter is sent to the host
                 with its original destination in a header.
                   enclave: pf-proxy forward --mode transparent --listen tcp:127.0.0.1:3128 --connect vsock:3:8002
                            pf-proxy rules --egress-port 3128 --apply
  dialer         the host half of transparent/ingress: reads the header, applies the
                 policy, dials the destination.
                   host:    pf-proxy forward --mode dialer --listen vsock:any:8002 --allow 0.0.0.0/0:443
                   enclave: pf-proxy forward --mode dialer --listen vsock:any:8001 --dial-host 127.0.0.1
  ingress        host ports kept inside: each listened port travels in the header
                 and the enclave's dialer connects to 127.0.0.1:SAME_PORT.
                   host:    pf-proxy forward --mode ingress --listen tcp:0.0.0.0:0 --port 80 --port 443 --connect vsock:16:8001
  udp-to-stream  enclave DNS: UDP datagrams framed over a stream.
                   enclave: pf-proxy forward --mode udp-to-stream --listen udp:127.0.0.1:53 --connect vsock:3:8053
  stream-to-udp  the host half: frames back to datagrams.
                   host:    pf-proxy forward --mode stream-to-udp --listen vsock:any:8053 --connect udp:1.1.1.1:53

Many forwards at once: pf-proxy run --config /etc/pf-proxy.yaml (see docs/pf-proxy.md).)";

/// Raises the open-file limit to what the forwards can use (two descriptors a
/// connection, and some spare), as HAProxy does from its maxconn: up to the
/// hard limit, and past it when allowed (root), never above fs.nr_open.
/// Returns the soft limit in effect.
rlim_t raise_fd_limit(const Config& config) {
  rlim_t want = 256;
  for (const ForwardSpec& f : config.forwards) want += 2 * static_cast<rlim_t>(f.max_connections);
  rlim_t nr_open = 1u << 20;
  if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
    unsigned long long v = 0;
    if (std::fscanf(f, "%llu", &v) == 1 && v > 0) nr_open = static_cast<rlim_t>(v);
    std::fclose(f);
  }
  want = std::min(want, nr_open);
  rlimit now{};
  if (::getrlimit(RLIMIT_NOFILE, &now) != 0) return 0;
  if (now.rlim_cur >= want) return now.rlim_cur;
  rlimit raised{want, std::max(now.rlim_max, want)};
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return want;
  raised = {std::min(want, now.rlim_max), now.rlim_max};  // unprivileged: up to the hard limit
  if (raised.rlim_cur > now.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  return now.rlim_cur;
}

void block_signals(sigset_t& set) {
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int serve(Config config) {
  log::configure("pf-proxy", config.log_format, config.log_level);
  log::configure_from_env("pf-proxy");
  sigset_t set;
  block_signals(set);  // worker threads inherit the mask; only this thread takes the signals
  const rlim_t fd_limit = raise_fd_limit(config);
  Proxy proxy(config);
  proxy.start();
  log::info("started", {{"workers", std::to_string(config.workers)},
                        {"fd_limit", std::to_string(fd_limit)},
                        {"metrics", config.metrics ? config.metrics->to_string() : "off"},
                        {"forwards", config.describe()}});
  int sig = 0;
  sigwait(&set, &sig);
  log::info("stopping", {{"signal", std::to_string(sig)}});
  proxy.stop();
  return 0;
}

int cmd_run(std::vector<std::string> args) {
  CLI::App app("Serve every forward of a YAML configuration until SIGINT/SIGTERM.", "pf-proxy run");
  std::string path;
  app.add_option("-c,--config", path, "configuration file")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  return serve(load_config(path));
}

int cmd_check(std::vector<std::string> args) {
  CLI::App app("Validate a configuration and print its forwards.", "pf-proxy check");
  std::string path;
  app.add_option("config", path, "configuration file")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  Config c = load_config(path);
  for (const auto& f : c.forwards) {
    Config one;
    one.forwards = {f};
    std::printf("%s\n", one.describe().c_str());
  }
  return 0;
}

int cmd_forward(std::vector<std::string> args) {
  CLI::App app("Serve one forward given by flags (see 'pf-proxy --help' for the modes).", "pf-proxy forward");
  std::string mode = "forward", listen, connect, dial_host, metrics, connect_timeout = "10s", idle_timeout = "0";
  std::vector<std::string> allow, deny;
  std::vector<std::uint16_t> ports;
  int workers = 2;
  std::size_t max_connections = 10000, buffer_size = 256 * 1024;
  bool copy = false, json = false;
  app.add_option("-m,--mode", mode, "forward|transparent|ingress|dialer|udp-to-stream|stream-to-udp");
  app.add_option("-l,--listen", listen, "endpoint to listen on")->required();
  app.add_option("-c,--connect", connect, "endpoint to connect to (all modes but dialer)");
  app.add_option("--port", ports, "ingress: a port to listen on (repeatable)");
  app.add_option("--dial-host", dial_host, "dialer: connect here instead of the header's address");
  app.add_option("--allow", allow, "dialer: allow CIDR|HOST[:PORT[-PORT]] (repeatable; any allow makes the default deny)");
  app.add_option("--deny", deny, "dialer: deny CIDR|HOST[:PORT[-PORT]] (repeatable)");
  app.add_option("--metrics", metrics, "serve Prometheus /metrics on this endpoint (e.g. tcp:127.0.0.1:9100)");
  app.add_option("--workers", workers, "worker threads")->check(CLI::Range(1, 256));
  app.add_option("--max-connections", max_connections, "refuse connections beyond this many");
  app.add_option("--connect-timeout", connect_timeout, "e.g. 10s");
  app.add_option("--idle-timeout", idle_timeout, "close after this long without traffic (0 = never)");
  app.add_option("--buffer-size", buffer_size, "bytes in flight per direction (pipe or buffer)")
      ->check(CLI::Range(std::size_t(4096), std::size_t(64) << 20));
  app.add_flag("--copy", copy, "copy through a buffer instead of splice");
  app.add_flag("--json-logs", json, "log JSON lines");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  ForwardSpec f;
  f.name = mode;
  f.mode = parse_mode(mode);
  f.listen = parse_endpoint(listen);
  if (!connect.empty()) f.connect = parse_endpoint(connect);
  f.ports = ports;
  f.dial_host = dial_host;
  for (const auto& a : allow) f.policy.allow.push_back(PolicyRule::parse_flag(a));
  for (const auto& d : deny) f.policy.deny.push_back(PolicyRule::parse_flag(d));
  f.policy.default_allow = allow.empty();
  f.max_connections = max_connections;
  f.connect_timeout = parse_duration(connect_timeout);
  f.idle_timeout = parse_duration(idle_timeout);
  f.zero_copy = !copy;
  f.buffer_size = buffer_size;
  Config c;
  c.workers = workers;
  c.log_format = json ? log::Format::kJson : log::Format::kText;
  if (!metrics.empty()) c.metrics = parse_endpoint(metrics);
  c.forwards.push_back(f);
  c.validate();
  return serve(c);
}

int cmd_rules(std::vector<std::string> args) {
  CLI::App app("Print (or apply) the netfilter rules transparent modes need.", "pf-proxy rules");
  RulesRequest r;
  bool nft = false, apply = false, no_ipv6 = false;
  app.add_option("--egress-port", r.egress_port, "enclave: redirect outbound TCP to this transparent listener port");
  app.add_option("--exclude", r.egress_exclude, "enclave: CIDR never redirected (repeatable)");
  app.add_option("--ingress-port", r.ingress_port, "host: redirect the --port list to this ingress listener port");
  app.add_option("--port", r.ingress_ports, "host: a port to redirect (repeatable)");
  app.add_flag("--nft", nft, "nftables script instead of iptables commands");
  app.add_flag("--no-ipv6", no_ipv6, "IPv4 rules only");
  app.add_flag("--apply", apply, "run the commands (needs CAP_NET_ADMIN)");
  app.footer("example (enclave): pf-proxy rules --egress-port 3128 --apply");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  r.ipv6 = !no_ipv6;
  RuleSet rules = make_rules(r);
  if (apply) apply_rules(rules, nft);
  else std::fputs(nft ? rules.nft.c_str() : rules.iptables_text().c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  log::configure_from_env("pf-proxy");
  static const cli::Command commands[] = {
      {"run", "serve the forwards of a YAML configuration", cmd_run},
      {"forward", "serve one forward given by flags", cmd_forward},
      {"rules", "print or apply the iptables/nftables rules of transparent mode", cmd_rules},
      {"check", "validate a configuration file", cmd_check},
  };
  return cli::dispatch("pf-proxy", kDescription, commands, argc, argv);
}
