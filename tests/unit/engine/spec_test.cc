#include <catch2/catch.hpp>

#include "base/error.h"
#include "engine/restart_policy.h"
#include "engine/spec.h"

using namespace ef::engine;

TEST_CASE("restart policies parse as docker spells them") {
  CHECK(RestartPolicy::parse("no").kind == RestartPolicy::Kind::no);
  CHECK(RestartPolicy::parse("always").kind == RestartPolicy::Kind::always);
  CHECK(RestartPolicy::parse("unless-stopped").kind == RestartPolicy::Kind::unless_stopped);
  auto p = RestartPolicy::parse("on-failure:3");
  CHECK(p.kind == RestartPolicy::Kind::on_failure);
  CHECK(p.max_retries == 3);
  CHECK(p.to_string() == "on-failure:3");
  CHECK(RestartPolicy::parse("on-failure").max_retries == 0);
  for (const char* bad : {"", "On-failure", "on-failure:", "on-failure:x", "on-failure:-1", "on-failure:99999999",
                          "sometimes", "always "})
    CHECK_THROWS_WITH(RestartPolicy::parse(bad), Catch::Contains("expected no, on-failure"));
}

TEST_CASE("restart decisions and backoff") {
  auto onf = RestartPolicy::parse("on-failure:2");
  CHECK(should_restart(onf, {true, false}, 0));
  CHECK(should_restart(onf, {true, false}, 1));
  CHECK_FALSE(should_restart(onf, {true, false}, 2));
  CHECK_FALSE(should_restart(onf, {false, false}, 0));
  CHECK_FALSE(should_restart(RestartPolicy::parse("always"), {true, true}, 0));
  CHECK(should_restart(RestartPolicy::parse("always"), {false, false}, 100));
  CHECK_FALSE(should_restart(RestartPolicy::parse("no"), {true, false}, 0));
  CHECK(restart_backoff(0).count() == 100);
  CHECK(restart_backoff(1).count() == 200);
  CHECK(restart_backoff(4).count() == 1600);
  CHECK(restart_backoff(40).count() == 30000);
}

TEST_CASE("port mappings") {
  auto m = PortMapping::parse("8443:443");
  CHECK(m.host_addr == "127.0.0.1");
  CHECK(m.host_port == 8443);
  CHECK(m.enclave_port == 443);
  m = PortMapping::parse("0.0.0.0:80:8080");
  CHECK(m.host_addr == "0.0.0.0");
  CHECK(m.to_string() == "0.0.0.0:80:8080");
  m = PortMapping::parse("[::1]:80:5");
  CHECK(m.host_addr == "[::1]");
  CHECK(m.enclave_port == 5);
  for (const char* bad : {"", "80", "0:80", "65536:80", "80:0", "a:b", "[::1:80:80", ":80:80", "1.2.3.4:80:", "x y:1:2"})
    CHECK_THROWS_WITH(PortMapping::parse(bad), Catch::Contains("port mapping"));
}

TEST_CASE("memory sizes and names") {
  CHECK(parse_memory_mib("512") == 512);
  CHECK(parse_memory_mib("512M") == 512);
  CHECK(parse_memory_mib("2G") == 2048);
  CHECK(parse_memory_mib("1GiB") == 1024);
  CHECK_THROWS(parse_memory_mib("2T"));
  CHECK_THROWS(parse_memory_mib("-1"));
  CHECK_THROWS(parse_memory_mib(""));
  CHECK_NOTHROW(check_name("web-1.prod_a"));
  for (const char* bad : {"", "-a", "A", "a b", "a/b", "..", "é"}) CHECK_THROWS_WITH(check_name(bad), Catch::Contains("enclave name"));
  CHECK_THROWS(check_name(std::string(64, 'a')));
}

TEST_CASE("spec JSON round trip and strictness") {
  EnclaveSpec s;
  s.name = "web";
  s.image = "/x.eif";
  s.ports = {PortMapping::parse("8080:80")};
  s.restart = RestartPolicy::parse("on-failure:5");
  s.cid = 21;
  s.egress = {8002, {"0.0.0.0/0:443"}, {"169.254.169.254"}};
  s.health.port = 80;
  s.health.http_path = "/healthz";
  auto j = to_json(s);
  auto back = spec_from_json(j);
  CHECK(to_json(back) == j);
  CHECK(back.cid == 21u);
  auto bad = j;
  bad["colour"] = "red";
  CHECK_THROWS_WITH(spec_from_json(bad), Catch::Contains("spec.colour: unknown key"));
  bad = j;
  bad["cpus"] = -1;
  CHECK_THROWS_WITH(spec_from_json(bad), Catch::Contains("spec.cpus"));
  bad = j;
  bad["cpus"] = 0;
  CHECK_THROWS_WITH(spec_from_json(bad), Catch::Contains("cpus: 0"));
  bad = j;
  bad["ports"] = {"8080:80", "8080:81"};
  CHECK_THROWS_WITH(spec_from_json(bad), Catch::Contains("mapped twice"));
  bad = j;
  bad["cid"] = 3;
  CHECK_THROWS_WITH(spec_from_json(bad), Catch::Contains("reserved"));
  bad = j;
  bad["expected_pcrs"] = {{"0", "abc"}};
  CHECK_THROWS_WITH(spec_from_json(bad), Catch::Contains("PCR0 must be 96"));
  bad = j;
  bad["health"]["http"] = "/a b";
  CHECK_THROWS(spec_from_json(bad));
  CHECK_THROWS(spec_from_json(nlohmann::json::array()));
}
