#pragma once
// The netfilter rules transparent modes need, as iptables commands or an nft
// script: enclave egress redirects outbound TCP (except loopback and listed
// CIDRs) to the transparent listener; host ingress redirects a set of ports to
// the ingress listener, which reads each connection's original port.
//
// An enclave has no network device besides lo, so connect() to any outside
// address fails with ENETUNREACH before netfilter sees a packet. Egress rules
// therefore come with a `local` default route on lo, added by --apply only
// where the namespace has no default route of that family (a host keeps its own).

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
  std::string nft;                                 ///< the same as one nft script (replaces its tables: re-applying is idempotent)
  /// `ip route replace local default dev lo` (and -6): applied only in a namespace without a default route.
  std::vector<std::vector<std::string>> routes;
  std::string iptables_text() const;
};

/// Throws Error on an invalid exclude CIDR or an empty request.
RuleSet make_rules(const RulesRequest& request);

/// Adds the routes the namespace lacks, then runs the commands (iptables) or
/// `nft -f -` with the script; throws naming a failing command.
void apply_rules(const RuleSet& rules, bool use_nft);

/// Whether /proc/net/route (family 4) or /proc/net/ipv6_route (6), given as
/// text, lists a default route. Pure, for tests; apply_rules reads the files.
bool lists_default_route(const std::string& proc_text, int family);

}  // namespace ef::netproxy
