#include <catch2/catch.hpp>

#include "base/error.h"
#include "netproxy/rules.h"

using namespace ef::netproxy;

TEST_CASE("egress rules: loopback and exclusions return, the rest is redirected") {
  RulesRequest r;
  r.egress_port = 3128;
  r.egress_exclude = {"10.0.0.0/8", "fd00::/8"};
  RuleSet s = make_rules(r);
  CHECK(s.iptables_text() ==
        "# if this namespace has no default route: ip route replace local default dev lo\n"
        "# if this namespace has no default route: ip -6 route replace local default dev lo\n"
        "iptables -t nat -A OUTPUT -p tcp -d 127.0.0.0/8 -j RETURN\n"
        "iptables -t nat -A OUTPUT -p tcp -d 10.0.0.0/8 -j RETURN\n"
        "iptables -t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 3128\n"
        "ip6tables -t nat -A OUTPUT -p tcp -d ::1/128 -j RETURN\n"
        "ip6tables -t nat -A OUTPUT -p tcp -d fd00::/8 -j RETURN\n"
        "ip6tables -t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 3128\n");
  CHECK(s.nft ==
        "table ip pf_proxy\n"
        "delete table ip pf_proxy\n"
        "table ip pf_proxy {\n"
        "  chain output {\n"
        "    type nat hook output priority -100; policy accept;\n"
        "    ip daddr 127.0.0.0/8 return\n"
        "    ip daddr 10.0.0.0/8 return\n"
        "    meta l4proto tcp redirect to :3128\n"
        "  }\n"
        "}\n"
        "table ip6 pf_proxy\n"
        "delete table ip6 pf_proxy\n"
        "table ip6 pf_proxy {\n"
        "  chain output {\n"
        "    type nat hook output priority -100; policy accept;\n"
        "    ip6 daddr ::1/128 return\n"
        "    ip6 daddr fd00::/8 return\n"
        "    meta l4proto tcp redirect to :3128\n"
        "  }\n"
        "}\n");
}

TEST_CASE("ingress rules redirect a port list; bad requests are errors") {
  RulesRequest r;
  r.ingress_port = 8999;
  r.ingress_ports = {80, 443};
  r.ipv6 = false;
  RuleSet s = make_rules(r);
  CHECK(s.iptables_text() ==
        "iptables -t nat -A PREROUTING -p tcp -m multiport --dports 80,443 -j REDIRECT --to-ports 8999\n");
  CHECK_THAT(s.nft, Catch::Contains("tcp dport { 80,443 } redirect to :8999"));
  CHECK_THROWS_WITH(make_rules(RulesRequest{}), Catch::Contains("nothing to do"));
  RulesRequest bad;
  bad.egress_port = 1;
  bad.egress_exclude = {"not-a-cidr"};
  CHECK_THROWS(make_rules(bad));
}

TEST_CASE("ingress rules touch no route") {
  RulesRequest r;
  r.ingress_port = 8999;
  r.ingress_ports = {443};
  CHECK(make_rules(r).routes.empty());
}

// Samples of what Linux 6.1 lists (captured from `unshare -n`): a fresh
// namespace shows only IPv6's reject ("unreachable") null route; after
// `ip route replace local default dev lo` (and -6) both families have one.
TEST_CASE("default routes are read from /proc/net/route and /proc/net/ipv6_route") {
  const std::string v4_header =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
  CHECK_FALSE(lists_default_route("", 4));
  CHECK_FALSE(lists_default_route(v4_header, 4));
  CHECK(lists_default_route(v4_header + "lo\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n", 4));
  CHECK(lists_default_route(v4_header + "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", 4));
  // 10.0.0.0/8 is not a default route
  CHECK_FALSE(lists_default_route(v4_header + "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n", 4));
  const std::string null_route =
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
  const std::string loopback =
      "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n";
  CHECK_FALSE(lists_default_route(null_route, 6));
  CHECK_FALSE(lists_default_route(loopback + null_route, 6));
  CHECK(lists_default_route(
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000400 00000001 00000000 80000001       lo\n" + null_route, 6));
  CHECK(lists_default_route(
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
      "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n", 6));
}
