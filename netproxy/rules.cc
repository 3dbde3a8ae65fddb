#include "netproxy/rules.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "base/error.h"
#include "netproxy/policy.h"

extern char** environ;

namespace ef::netproxy {
namespace {

std::string join(const std::vector<std::uint16_t>& ports) {
  std::string s;
  for (auto p : ports) s += (s.empty() ? "" : ",") + std::to_string(p);
  return s;
}

}  // namespace

std::string RuleSet::iptables_text() const {
  std::string out;
  for (const auto& argv : iptables) {
    for (std::size_t i = 0; i < argv.size(); ++i) out += (i ? " " : "") + argv[i];
    out += "\n";
  }
  return out;
}

RuleSet make_rules(const RulesRequest& r) {
  if (r.egress_port == 0 && r.ingress_port == 0) throw Error("nothing to do: give an egress and/or an ingress port");
  if (r.ingress_port != 0 && r.ingress_ports.empty()) throw Error("ingress rules need the ports to redirect");
  std::vector<Cidr> v4, v6;
  for (const auto& text : r.egress_exclude) (Cidr::parse(text).version == 4 ? v4 : v6).push_back(Cidr::parse(text));
  RuleSet out;
  std::string nft4, nft6;
  if (r.egress_port) {
    std::string to = std::to_string(r.egress_port);
    auto egress = [&](const std::string& tool, const std::string& loopback, const std::vector<Cidr>& exclude,
                      std::string& nft, const std::string& family) {
      out.iptables.push_back({tool, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", loopback, "-j", "RETURN"});
      nft += "    " + family + " daddr " + loopback + " return\n";
      for (const auto& c : exclude) {
        out.iptables.push_back({tool, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", c.to_string(), "-j", "RETURN"});
        nft += "    " + family + " daddr " + c.to_string() + " return\n";
      }
      out.iptables.push_back({tool, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-j", "REDIRECT", "--to-ports", to});
      nft += "    meta l4proto tcp redirect to :" + to + "\n";
    };
    egress("iptables", "127.0.0.0/8", v4, nft4, "ip");
    if (r.ipv6) egress("ip6tables", "::1/128", v6, nft6, "ip6");
  }
  std::string nft4_pre, nft6_pre;
  if (r.ingress_port) {
    std::string to = std::to_string(r.ingress_port), ports = join(r.ingress_ports);
    for (std::string tool : {std::string("iptables"), std::string("ip6tables")}) {
      if (tool == "ip6tables" && !r.ipv6) continue;
      out.iptables.push_back({tool, "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "-m", "multiport", "--dports", ports,
                              "-j", "REDIRECT", "--to-ports", to});
    }
    nft4_pre = "    tcp dport { " + ports + " } redirect to :" + to + "\n";
    nft6_pre = nft4_pre;
  }
  auto table = [&](const std::string& family, const std::string& output, const std::string& prerouting) {
    std::string t = "table " + family + " pf_proxy {\n";
    if (!output.empty()) t += "  chain output {\n    type nat hook output priority -100; policy accept;\n" + output + "  }\n";
    if (!prerouting.empty())
      t += "  chain prerouting {\n    type nat hook prerouting priority -100; policy accept;\n" + prerouting + "  }\n";
    return t + "}\n";
  };
  out.nft = table("ip", nft4, nft4_pre);
  if (r.ipv6) out.nft += table("ip6", nft6, nft6_pre);
  return out;
}

namespace {

int run(const std::vector<std::string>& argv, const std::string* stdin_text) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int in[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_text) {
    if (::pipe2(in, O_CLOEXEC) != 0) throw_errno("create", "pipe");
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  }
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (stdin_text) {
    ::close(in[0]);
    if (rc == 0) {
      [[maybe_unused]] ssize_t n = ::write(in[1], stdin_text->data(), stdin_text->size());
    }
    ::close(in[1]);
  }
  if (rc != 0) throw SysError("run", argv[0], rc);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

void apply_rules(const RuleSet& rules, bool use_nft) {
  if (use_nft) {
    if (run({"nft", "-f", "-"}, &rules.nft) != 0) throw Error("nft -f - failed for the pf_proxy tables");
    return;
  }
  for (const auto& argv : rules.iptables) {
    if (run(argv, nullptr) != 0) {
      std::string cmd;
      for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
      throw Error("command failed: " + cmd);
    }
  }
}

}  // namespace ef::netproxy
