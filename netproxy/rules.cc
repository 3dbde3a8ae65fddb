#include "netproxy/rules.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

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
  for (const auto& argv : routes) {
    out += "# if this namespace has no default route:";
    for (const auto& a : argv) out += " " + a;
    out += "\n";
  }
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
    // `local`: every address is delivered on this host, so connect() reaches
    // the OUTPUT hook and the redirect (a unicast route through lo does not
    // work for IPv6, where the kernel turns it into a reject route).
    out.routes.push_back({"ip", "route", "replace", "local", "default", "dev", "lo"});
    if (r.ipv6) {
      egress("ip6tables", "::1/128", v6, nft6, "ip6");
      out.routes.push_back({"ip", "-6", "route", "replace", "local", "default", "dev", "lo"});
    }
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
    // Declare, delete, define: one atomic transaction that replaces an earlier
    // pf_proxy table instead of appending a second copy of its rules.
    std::string t = "table " + family + " pf_proxy\ndelete table " + family + " pf_proxy\n";
    t += "table " + family + " pf_proxy {\n";
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

int run(const std::vector<std::string>& argv, const std::string* stdin_text, bool quiet = false) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int in[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
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

bool lists_default_route(const std::string& text, int family) {
  std::size_t start = 0;
  bool first = true;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    std::vector<std::string> f;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      if (j > i) f.push_back(line.substr(i, j - i));
      i = j;
    }
    if (family == 4) {
      // Iface Destination Gateway Flags RefCnt Use Metric Mask …, after a header line.
      if (std::exchange(first, false) || f.size() < 8) continue;
      if (f[1] == "00000000" && f[7] == "00000000") return true;
    } else {
      // dest dest_prefix_len src src_prefix_len next_hop metric refcnt use flags iface (no header).
      if (f.size() < 10) continue;
      // The kernel lists its "unreachable" null route as a default route on lo
      // with RTF_REJECT (0x0200) set: that one does not count.
      unsigned long flags = std::strtoul(f[8].c_str(), nullptr, 16);
      if (f[0] == std::string(32, '0') && f[1] == "00" && (flags & 0x0200) == 0) return true;
    }
  }
  return false;
}

namespace {

std::string read_text(const char* path) {
  std::string out;
  if (FILE* f = std::fopen(path, "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

void run_checked(const std::vector<std::string>& argv) {
  if (run(argv, nullptr) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw Error("command failed: " + cmd);
  }
}

}  // namespace

void apply_rules(const RuleSet& rules, bool use_nft) {
  for (const auto& argv : rules.routes) {
    bool v6 = argv.size() > 1 && argv[1] == "-6";
    if (!lists_default_route(read_text(v6 ? "/proc/net/ipv6_route" : "/proc/net/route"), v6 ? 6 : 4)) run_checked(argv);
  }
  if (use_nft) {
    if (run({"nft", "-f", "-"}, &rules.nft) != 0) throw Error("nft -f - failed for the pf_proxy tables");
    return;
  }
  for (const auto& argv : rules.iptables) {
    // iptables -A appends a second copy: skip a rule `-C` finds already there.
    std::vector<std::string> check = argv;
    for (auto& a : check)
      if (a == "-A") a = "-C";
    if (run(check, nullptr, true) == 0) continue;
    run_checked(argv);
  }
}

}  // namespace ef::netproxy
