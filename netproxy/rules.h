#pragma once
// The netfilter rules transparent modes need, as iptables commands or an nft
// script: enclave egress redirects outbound TCP (except loopback and listed
// CIDRs) to the transparent listener; host ingress redirects a set of ports to
// the ingress listener, which reads each connection's original port.

#include <cstdint>
#include <string>
#include <vector>

namespace ef::netproxy {

struct RulesRequest {
  std::uint16_t egress_port = 0;             ///< transparent listener port (0 = no egress rules)
  std::vector<std::string> egress_exclude;   ///< CIDRs never redirected (besides loopback)
  std::uint16_t ingress_port = 0;            ///< ingress listener port (0 = no ingress rules)
  std::vector<std::uint16_t> ingress_ports;  ///< ports redirected to it
  bool ipv6 = true;
};

struct RuleSet {
  std::vector<std::vector<std::string>> iptables;  ///< argv of each iptables/ip6tables command
  std::string nft;                                 ///< the same as one nft script
  std::string iptables_text() const;
};

/// Throws Error on an invalid exclude CIDR or an empty request.
RuleSet make_rules(const RulesRequest& request);

/// Runs the commands (iptables) or `nft -f -` with the script; throws naming a failing command.
void apply_rules(const RuleSet& rules, bool use_nft);

}  // namespace ef::netproxy
