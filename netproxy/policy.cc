#include "netproxy/policy.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>
#include <cstring>

#include "base/error.h"
#include "netproxy/duration.h"

namespace ef::netproxy {
namespace {

int parse_int(const std::string& s, int lo, int hi, const std::string& what) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi)
    throw Error("bad " + what + " '" + s + "'");
  return v;
}

}  // namespace

Cidr Cidr::parse(const std::string& text) {
  Cidr c;
  std::size_t slash = text.find('/');
  std::string addr = text.substr(0, slash);
  if (inet_pton(AF_INET, addr.c_str(), c.address.data()) == 1) {
    c.version = 4;
  } else if (inet_pton(AF_INET6, addr.c_str(), c.address.data()) == 1) {
    c.version = 6;
  } else {
    throw Error("bad CIDR '" + text + "': not an IPv4 or IPv6 address");
  }
  int max = c.version == 4 ? 32 : 128;
  c.prefix = slash == std::string::npos ? max : parse_int(text.substr(slash + 1), 0, max, "CIDR prefix in " + text);
  return c;
}

bool Cidr::contains(const OriginalDst& dst) const {
  if (dst.version != version) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(address.data(), dst.address.data(), static_cast<std::size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address[static_cast<std::size_t>(full)] & mask) == (dst.address[static_cast<std::size_t>(full)] & mask);
}

std::string Cidr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(version == 4 ? AF_INET : AF_INET6, address.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

PortRange PortRange::parse(const std::string& text) {
  std::size_t dash = text.find('-');
  PortRange r;
  if (dash == std::string::npos) {
    r.low = r.high = static_cast<std::uint16_t>(parse_int(text, 0, 65535, "port"));
  } else {
    r.low = static_cast<std::uint16_t>(parse_int(text.substr(0, dash), 0, 65535, "port"));
    r.high = static_cast<std::uint16_t>(parse_int(text.substr(dash + 1), 0, 65535, "port"));
    if (r.low > r.high) throw Error("bad port range '" + text + "': low above high");
  }
  return r;
}

PolicyRule PolicyRule::parse_flag(const std::string& text) {
  PolicyRule r;
  r.text = text;
  std::string target = text, ports;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string::npos) throw Error("bad rule '" + text + "': missing ']'");
    target = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') throw Error("bad rule '" + text + "': expected ':' after ']'");
      ports = text.substr(close + 2);
    }
  } else if (std::size_t colon = text.rfind(':'); colon != std::string::npos && text.find(':') == colon) {
    target = text.substr(0, colon);  // exactly one ':' = a port; more = a bare IPv6 CIDR
    ports = text.substr(colon + 1);
  }
  if (!ports.empty()) r.ports.push_back(PortRange::parse(ports));
  if (target.empty() || target == "*") return r;
  std::uint8_t probe[16];
  std::string address = target.substr(0, target.find('/'));
  if (inet_pton(AF_INET, address.c_str(), probe) == 1 || inet_pton(AF_INET6, address.c_str(), probe) == 1)
    r.cidrs.push_back(Cidr::parse(target));
  else
    r.hosts.push_back(target);
  return r;
}

namespace {

std::vector<std::string> one_or_many(const ConfigNode& node) {
  if (node.is_scalar()) return {node.as_string()};
  return node.as_string_list();
}

PolicyRule parse_rule(const ConfigNode& node) {
  node.expect_keys({"cidr", "host", "ports"});
  PolicyRule r;
  std::string text;
  std::vector<std::string> cidrs, ports;
  if (auto n = node.optional("cidr")) cidrs = one_or_many(*n);
  if (auto n = node.optional("host")) r.hosts = one_or_many(*n);
  if (auto n = node.optional("ports")) ports = one_or_many(*n);
  try {
    for (const auto& s : cidrs) r.cidrs.push_back(Cidr::parse(s)), text += " cidr " + s;
    for (const auto& s : r.hosts) text += " host " + s;
    for (const auto& s : ports) r.ports.push_back(PortRange::parse(s)), text += " port " + s;
  } catch (const Error& e) {
    node.fail(e.what());
  }
  r.text = text.empty() ? "any" : text.substr(1);
  return r;
}

std::vector<PolicyRule> parse_rules(const ConfigNode& node) {
  std::vector<PolicyRule> out;
  for (const auto& item : node.items()) out.push_back(parse_rule(item));
  return out;
}

}  // namespace

Policy Policy::from_config(const ConfigNode& node) {
  node.expect_keys({"default", "allow", "deny", "refresh"});
  Policy p;
  if (auto n = node.optional("allow")) p.allow = parse_rules(*n);
  if (auto n = node.optional("deny")) p.deny = parse_rules(*n);
  p.default_allow = p.allow.empty();
  if (auto n = node.optional("default")) {
    std::string d = n->as_string();
    if (d != "allow" && d != "deny") n->fail("expected 'allow' or 'deny'");
    p.default_allow = d == "allow";
  }
  if (auto r = node.optional("refresh")) {
    Millis m{};
    try {
      m = parse_duration(r->as_string());
    } catch (const Error& e) {
      r->fail(e.what());
    }
    if (m < std::chrono::seconds(1) || m > std::chrono::hours(24)) r->fail("expected between 1s and 24h");
    p.refresh_seconds_ = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(m).count());
  }
  return p;
}

bool Policy::matches(const PolicyRule& rule, const OriginalDst& dst) const {
  bool port_ok = rule.ports.empty();
  for (const auto& r : rule.ports) port_ok = port_ok || r.contains(dst.port);
  if (!port_ok) return false;
  if (rule.cidrs.empty() && rule.hosts.empty()) return true;
  for (const auto& c : rule.cidrs)
    if (c.contains(dst)) return true;
  for (const auto& h : rule.hosts) {
    auto it = resolved_.find(h);
    if (it == resolved_.end()) continue;
    for (const auto& a : it->second)
      if (a.version == dst.version && a.address == dst.address) return true;
  }
  return false;
}

Decision Policy::decide(const OriginalDst& dst) const {
  for (std::size_t i = 0; i < deny.size(); ++i)
    if (matches(deny[i], dst)) return {false, "deny rule " + std::to_string(i + 1) + " (" + deny[i].text + ")"};
  for (std::size_t i = 0; i < allow.size(); ++i)
    if (matches(allow[i], dst)) return {true, "allow rule " + std::to_string(i + 1) + " (" + allow[i].text + ")"};
  return {default_allow, default_allow ? "default allow" : "default deny"};
}

void Policy::resolve_hosts(const HostResolver& resolver) {
  for (const auto* rules : {&allow, &deny})
    for (const auto& r : *rules)
      for (const auto& h : r.hosts) {
        try {
          auto addrs = resolver(h);
          if (!addrs.empty()) resolved_[h] = std::move(addrs);
        } catch (const Error&) {
          // keep the previous answer; the caller logs resolution failures
        }
      }
}

bool Policy::has_hosts() const {
  for (const auto* rules : {&allow, &deny})
    for (const auto& r : *rules)
      if (!r.hosts.empty()) return true;
  return false;
}

std::string Policy::describe() const {
  std::string s = std::string("default ") + (default_allow ? "allow" : "deny");
  for (const auto& r : deny) s += "; deny " + r.text;
  for (const auto& r : allow) s += "; allow " + r.text;
  return s;
}

std::vector<OriginalDst> system_resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) throw Error("resolve " + host + ": " + gai_strerror(rc));
  std::vector<OriginalDst> out;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    SockAddr s;
    std::memcpy(&s.storage, a->ai_addr, a->ai_addrlen);
    s.length = a->ai_addrlen;
    if (s.family() == AF_INET || s.family() == AF_INET6) out.push_back(OriginalDst::from_sockaddr(s));
  }
  freeaddrinfo(res);
  return out;
}

}  // namespace ef::netproxy
