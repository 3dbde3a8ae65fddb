#pragma once
// Egress policy of the host-side dialer: deny rules first, then allow rules,
// then the default. A rule matches an (address, port) when the address is in
// one of its CIDRs or resolved host names (none listed = any address) and the
// port is in one of its ranges (none listed = any port).

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/yaml_config.h"
#include "netproxy/header.h"

namespace ef::netproxy {

struct Cidr {
  int version = 4;
  std::array<std::uint8_t, 16> address{};
  int prefix = 32;

  /// "10.0.0.0/8", "2001:db8::/32", or a bare address (full-length prefix).
  static Cidr parse(const std::string& text);
  bool contains(const OriginalDst& dst) const;
  std::string to_string() const;
};

struct PortRange {
  std::uint16_t low = 0, high = 65535;
  /// "443" or "8000-8100".
  static PortRange parse(const std::string& text);
  bool contains(std::uint16_t port) const { return port >= low && port <= high; }
};

struct PolicyRule {
  std::vector<Cidr> cidrs;
  std::vector<std::string> hosts;
  std::vector<PortRange> ports;
  std::string text;  ///< as written, for logs

  /// The command-line form: "CIDR[:PORT[-PORT]]", "HOST[:PORT[-PORT]]", "*:PORT", "[V6CIDR]:PORT"
  /// or a bare IPv6 CIDR (no port).
  static PolicyRule parse_flag(const std::string& text);
};

struct Decision {
  bool allowed = true;
  std::string reason;  ///< "deny rule N (...)", "allow rule N (...)", "default"
};

/// Resolves a host name to its addresses (injectable for tests).
using HostResolver = std::function<std::vector<OriginalDst>(const std::string& host)>;

class Policy {
 public:
  /// Allows everything.
  Policy() = default;
  /// Parses a `policy:` mapping (keys default, allow, deny, refresh).
  static Policy from_config(const ConfigNode& node);

  Decision decide(const OriginalDst& dst) const;

  /// Re-resolves every host name of every rule; a name that fails keeps its previous addresses.
  void resolve_hosts(const HostResolver& resolver);
  bool has_hosts() const;
  int refresh_seconds() const { return refresh_seconds_; }
  std::string describe() const;

  bool default_allow = true;
  std::vector<PolicyRule> allow;
  std::vector<PolicyRule> deny;

 private:
  bool matches(const PolicyRule& rule, const OriginalDst& dst) const;
  std::map<std::string, std::vector<OriginalDst>> resolved_;
  int refresh_seconds_ = 60;
};

/// getaddrinfo-based resolver.
std::vector<OriginalDst> system_resolve(const std::string& host);

}  // namespace ef::netproxy
