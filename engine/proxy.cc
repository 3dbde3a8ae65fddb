#include "engine/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "base/atomic_file.h"
#include "base/error.h"
#include "engine/proc.h"
#include "netproxy/policy.h"

namespace ef::engine {
namespace {

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
std::string q(const std::string& s) { return nlohmann::json(s).dump(); }

std::string rules_yaml(const std::vector<std::string>& flags, const char* key) {
  if (flags.empty()) return "";
  std::string out = std::string("      ") + key + ":\n";
  for (const auto& f : flags) {
    auto rule = netproxy::PolicyRule::parse_flag(f);
    out += "        - {";
    std::string sep;
    if (!rule.cidrs.empty()) {
      out += "cidr: [";
      for (std::size_t i = 0; i < rule.cidrs.size(); ++i) out += (i ? ", " : "") + q(rule.cidrs[i].to_string());
      out += "]";
      sep = ", ";
    }
    if (!rule.hosts.empty()) {
      out += sep + "host: [";
      for (std::size_t i = 0; i < rule.hosts.size(); ++i) out += (i ? ", " : "") + q(rule.hosts[i]);
      out += "]";
      sep = ", ";
    }
    if (!rule.ports.empty()) {
      out += sep + "ports: [";
      for (std::size_t i = 0; i < rule.ports.size(); ++i) {
        const auto& p = rule.ports[i];
        out += (i ? ", " : "") + (p.low == p.high ? std::to_string(p.low) : q(std::to_string(p.low) + "-" + std::to_string(p.high)));
      }
      out += "]";
    }
    out += "}\n";
  }
  return out;
}

bool tcp_accepts(const PortMapping& p) {
  std::string addr = p.host_addr;
  if (addr.size() > 2 && addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (auto* s4 = reinterpret_cast<sockaddr_in*>(&ss); inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(p.host_port);
    len = sizeof *s4;
  } else if (auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss); inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(p.host_port);
    len = sizeof *s6;
  } else {
    return true;  // a name: pf-proxy resolves it; do not wait
  }
  // 0.0.0.0 / :: listeners are reachable on loopback.
  if (ss.ss_family == AF_INET && reinterpret_cast<sockaddr_in*>(&ss)->sin_addr.s_addr == INADDR_ANY)
    reinterpret_cast<sockaddr_in*>(&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr))
    reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr = in6addr_loopback;
  UniqueFd fd(socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

std::string log_tail(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > 600) text = text.substr(text.size() - 600);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

void check_egress_rules(const EgressSpec& egress) {
  for (auto* list : {&egress.allow, &egress.deny}) {
    const char* name = list == &egress.allow ? "allow" : "deny";
    for (std::size_t i = 0; i < list->size(); ++i)
      with_context("egress." + std::string(name) + "[" + std::to_string(i) + "]",
                   [&] { (void)netproxy::PolicyRule::parse_flag((*list)[i]); });
  }
}

std::string proxy_config(const EnclaveSpec& spec, Backend& backend, const EnclaveHandle& handle) {
  std::vector<std::pair<PortMapping, std::string>> forwards;
  for (const auto& p : spec.ports)
    if (auto ep = backend.connect_endpoint(handle, p.enclave_port); !ep.empty()) forwards.emplace_back(p, ep);
  if (forwards.empty() && spec.egress.port == 0) return "";
  std::ostringstream y;
  y << "# pf-proxy for enclave " << spec.name << " (written by enclaved)\n";
  y << "workers: 1\nlog: {format: json, level: info}\nforwards:\n";
  for (const auto& [p, endpoint] : forwards) {
    y << "  - name: " << q("port-" + std::to_string(p.host_port)) << "\n"
      << "    mode: forward\n"
      << "    listen: " << q("tcp:" + p.host_addr + ":" + std::to_string(p.host_port)) << "\n"
      << "    connect: " << q(endpoint) << "\n";
  }
  if (spec.egress.port != 0) {
    y << "  - name: egress\n    mode: dialer\n"
      << "    listen: " << q(backend.host_listen_endpoint(handle, spec.egress.port)) << "\n";
    if (!spec.egress.allow.empty() || !spec.egress.deny.empty()) {
      y << "    policy:\n";
      y << rules_yaml(spec.egress.deny, "deny");
      y << rules_yaml(spec.egress.allow, "allow");
    }
  }
  return y.str();
}

HostProcess start_proxy(const std::filesystem::path& pf_proxy_bin, const std::filesystem::path& dir,
                        const EnclaveSpec& spec, Backend& backend, const EnclaveHandle& handle) {
  std::string config = proxy_config(spec, backend, handle);
  if (config.empty()) return {};
  HostProcess p;
  p.config = (dir / "pf-proxy.yaml").string();
  write_file_atomic(p.config, config, 0600);
  auto log = dir / "pf-proxy.log";
  p.pid = spawn_detached({pf_proxy_bin.string(), "run", "--config", p.config}, log);
  p.start_time = process_start_time(p.pid);
  for (int i = 0; i < 300; ++i) {
    if (!process_alive(p.pid, p.start_time))
      throw Error("pf-proxy for " + spec.name + " exited at start: " + log_tail(log));
    bool all = true;
    for (const auto& m : spec.ports)
      if (!backend.connect_endpoint(handle, m.enclave_port).empty()) all = all && tcp_accepts(m);
    if (all) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop_process(p.pid, p.start_time, std::chrono::milliseconds(500));
  throw Error("pf-proxy for " + spec.name + " did not listen within 3 s: " + log_tail(log));
}

void stop_proxy(const HostProcess& proxy) {
  if (proxy.pid > 0) stop_process(proxy.pid, proxy.start_time, std::chrono::milliseconds(2000));
}

}  // namespace ef::engine
