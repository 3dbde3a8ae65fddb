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
        "iptables -t nat -A OUTPUT -p tcp -d 127.0.0.0/8 -j RETURN\n"
        "iptables -t nat -A OUTPUT -p tcp -d 10.0.0.0/8 -j RETURN\n"
        "iptables -t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 3128\n"
        "ip6tables -t nat -A OUTPUT -p tcp -d ::1/128 -j RETURN\n"
        "ip6tables -t nat -A OUTPUT -p tcp -d fd00::/8 -j RETURN\n"
        "ip6tables -t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 3128\n");
  CHECK(s.nft ==
        "table ip pf_proxy {\n"
        "  chain output {\n"
        "    type nat hook output priority -100; policy accept;\n"
        "    ip daddr 127.0.0.0/8 return\n"
        "    ip daddr 10.0.0.0/8 return\n"
        "    meta l4proto tcp redirect to :3128\n"
        "  }\n"
        "}\n"
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
