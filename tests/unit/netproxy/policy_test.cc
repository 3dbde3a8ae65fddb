#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include "base/error.h"
#include "netproxy/config.h"
#include "netproxy/policy.h"

using namespace ef;
using namespace ef::netproxy;

namespace {
OriginalDst dst(const std::string& ip, std::uint16_t port) {
  OriginalDst d;
  if (inet_pton(AF_INET, ip.c_str(), d.address.data()) != 1) {
    d.version = 6;
    REQUIRE(inet_pton(AF_INET6, ip.c_str(), d.address.data()) == 1);
  }
  d.port = port;
  return d;
}
Policy load(const std::string& yaml) { return Policy::from_config(ConfigNode::load_string(yaml, "policy.yaml")); }
}  // namespace

TEST_CASE("CIDR containment on bit boundaries") {
  Cidr c = Cidr::parse("10.32.0.0/11");  // 10.32.0.0 - 10.63.255.255
  CHECK(c.contains(dst("10.32.0.1", 1)));
  CHECK(c.contains(dst("10.63.255.255", 1)));
  CHECK_FALSE(c.contains(dst("10.64.0.0", 1)));
  CHECK_FALSE(c.contains(dst("10.31.255.255", 1)));
  CHECK(Cidr::parse("0.0.0.0/0").contains(dst("8.8.8.8", 1)));
  CHECK_FALSE(Cidr::parse("0.0.0.0/0").contains(dst("::1", 1)));
  CHECK(Cidr::parse("2001:db8::/32").contains(dst("2001:db8:ffff::1", 1)));
  CHECK_FALSE(Cidr::parse("2001:db8::/32").contains(dst("2001:db9::1", 1)));
  CHECK(Cidr::parse("192.168.1.7").prefix == 32);
  CHECK_THROWS_WITH(Cidr::parse("10.0.0.0/33"), Catch::Contains("prefix"));
  CHECK_THROWS_WITH(Cidr::parse("example.com/8"), Catch::Contains("not an IPv4 or IPv6"));
}

TEST_CASE("deny beats allow, allow beats default") {
  Policy p = load(R"(
allow:
  - cidr: [10.0.0.0/8]
    ports: [443, "8000-8100"]
deny:
  - cidr: 10.9.0.0/16
)");
  CHECK_FALSE(p.default_allow);  // an allow list makes the default deny
  CHECK(p.decide(dst("10.1.2.3", 443)).allowed);
  CHECK(p.decide(dst("10.1.2.3", 8050)).allowed);
  CHECK_FALSE(p.decide(dst("10.1.2.3", 22)).allowed);
  Decision d = p.decide(dst("10.9.1.1", 443));
  CHECK_FALSE(d.allowed);
  CHECK_THAT(d.reason, Catch::Contains("deny rule 1") && Catch::Contains("10.9.0.0/16"));
  CHECK(p.decide(dst("11.0.0.1", 443)).reason == "default deny");
}

TEST_CASE("deny-only policy allows the rest; host names match their resolved addresses") {
  Policy p = load(R"(
default: allow
deny:
  - cidr: 169.254.169.254
  - host: blocked.example
    ports: [80]
)");
  p.resolve_hosts([](const std::string& h) {
    CHECK(h == "blocked.example");
    return std::vector<OriginalDst>{dst("192.0.2.10", 0), dst("2001:db8::10", 0)};
  });
  CHECK_FALSE(p.decide(dst("169.254.169.254", 80)).allowed);
  CHECK_FALSE(p.decide(dst("192.0.2.10", 80)).allowed);
  CHECK_FALSE(p.decide(dst("2001:db8::10", 80)).allowed);
  CHECK(p.decide(dst("192.0.2.10", 443)).allowed);
  CHECK(p.decide(dst("192.0.2.11", 80)).allowed);
  // A failed refresh keeps the previous answer.
  p.resolve_hosts([](const std::string&) -> std::vector<OriginalDst> { throw Error("no network"); });
  CHECK_FALSE(p.decide(dst("192.0.2.10", 80)).allowed);
}

TEST_CASE("policy errors name file, line and key") {
  CHECK_THROWS_WITH(load("allow:\n  - cidr: 300.0.0.0/8\n"), Catch::Contains("policy.yaml:2") && Catch::Contains("bad CIDR"));
  CHECK_THROWS_WITH(load("allow:\n  - ports: [70000]\n"), Catch::Contains("bad port"));
  CHECK_THROWS_WITH(load("allow:\n  - cidrs: 1.2.3.4\n"), Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(load("default: maybe\n"), Catch::Contains("allow' or 'deny"));
}

TEST_CASE("configuration: forwards, durations, validation") {
  Config c = parse_config(R"(
workers: 3
metrics: tcp:127.0.0.1:9100
log: {format: json, level: debug}
forwards:
  - name: web
    mode: forward
    listen: vsock:any:8443
    connect: tcp:127.0.0.1:443
    idle_timeout: 5m
  - name: egress
    mode: dialer
    listen: vsock:any:9000
    connect_timeout: 250ms
    policy:
      allow: [{cidr: 0.0.0.0/0, ports: [443]}]
  - mode: ingress
    listen: tcp:0.0.0.0:0
    ports: [80, 443]
    connect: vsock:16:9001
)",
                          "pf.yaml");
  REQUIRE(c.forwards.size() == 3);
  CHECK(c.workers == 3);
  CHECK(c.log_format == log::Format::kJson);
  CHECK(c.forwards[0].idle_timeout == std::chrono::minutes(5));
  CHECK(c.forwards[1].connect_timeout == std::chrono::milliseconds(250));
  CHECK_FALSE(c.forwards[1].policy.decide(OriginalDst{4, {1, 1, 1, 1}, 80}).allowed);
  CHECK(c.forwards[2].name == "forward3");
  CHECK(c.forwards[2].ports == std::vector<std::uint16_t>{80, 443});
  CHECK(parse_duration("90") == std::chrono::seconds(90));
  CHECK_THROWS(parse_duration("5 parsecs"));
  CHECK_THROWS_WITH(parse_config("forwards:\n  - mode: forward\n    listen: tcp:1.2.3.4:1\n", "x.yaml"),
                    Catch::Contains("needs 'connect'"));
  CHECK_THROWS_WITH(parse_config("forwards:\n  - mode: dialer\n    listen: tcp:1.2.3.4:1\n    connect: tcp:1.1.1.1:1\n", "x.yaml"),
                    Catch::Contains("from the header"));
  CHECK_THROWS_WITH(parse_config("forwards:\n  - mode: teleport\n    listen: tcp:1.2.3.4:1\n", "x.yaml"),
                    Catch::Contains("x.yaml:2") && Catch::Contains("unknown mode"));
  CHECK_THROWS_WITH(parse_config("forwards:\n  - mode: forward\n    listen: tcp:1.2.3.4:1\n    connect: tcp:1.1.1.1:1\n    policy: {}\n", "x.yaml"),
                    Catch::Contains("dialers only"));
}

TEST_CASE("the shipped example configurations load") {
  for (const char* name : {"enclave.yaml", "host.yaml"}) {
    Config c = load_config(std::string(EF_SOURCE_DIR) + "/netproxy/examples/" + name);
    CHECK(c.forwards.size() == 3);
  }
  Config host = load_config(std::string(EF_SOURCE_DIR) + "/netproxy/examples/host.yaml");
  OriginalDst metadata{4, {169, 254, 169, 254}, 443};
  CHECK_FALSE(host.forwards[1].policy.decide(metadata).allowed);
  CHECK(host.forwards[1].policy.decide(OriginalDst{4, {93, 184, 216, 34}, 443}).allowed);
  CHECK_FALSE(host.forwards[1].policy.decide(OriginalDst{4, {93, 184, 216, 34}, 80}).allowed);
  CHECK(host.forwards[1].policy.refresh_seconds() == 60);
}

TEST_CASE("command-line rules") {
  PolicyRule a = PolicyRule::parse_flag("10.0.0.0/8:443");
  REQUIRE(a.cidrs.size() == 1);
  CHECK(a.cidrs[0].to_string() == "10.0.0.0/8");
  REQUIRE(a.ports.size() == 1);
  CHECK((a.ports[0].low == 443 && a.ports[0].high == 443));
  PolicyRule b = PolicyRule::parse_flag("s3.amazonaws.com:8000-8100");
  CHECK(b.hosts == std::vector<std::string>{"s3.amazonaws.com"});
  CHECK((b.ports[0].low == 8000 && b.ports[0].high == 8100));
  PolicyRule c = PolicyRule::parse_flag("*:22");
  CHECK((c.cidrs.empty() && c.hosts.empty() && c.ports.size() == 1));
  PolicyRule d = PolicyRule::parse_flag("2001:db8::/32");
  CHECK((d.cidrs.size() == 1 && d.cidrs[0].version == 6 && d.ports.empty()));
  PolicyRule e = PolicyRule::parse_flag("[2001:db8::/32]:443");
  CHECK((e.cidrs.size() == 1 && e.ports.size() == 1));
  PolicyRule f = PolicyRule::parse_flag("169.254.169.254");
  CHECK((f.cidrs.size() == 1 && f.cidrs[0].prefix == 32 && f.ports.empty()));
  CHECK_THROWS(PolicyRule::parse_flag("10.0.0.0/8:http"));
  CHECK_THROWS(PolicyRule::parse_flag("[::1:80"));
}
