#include <catch2/catch.hpp>

#include "base/error.h"
#include "engine/compose.h"
#include "helpers.h"

using namespace ef::engine;

namespace {

std::string eif() { return test::vector_eif(); }

std::string error_of(const std::string& yaml) {
  try {
    parse_compose(yaml, "enclaves.yaml", "/tmp/proj");
  } catch (const ef::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a compose file parses into start order with every field") {
  std::string y = "project: demo\n"
                  "enclaves:\n"
                  "  web:\n"
                  "    image: " + eif() + "\n"
                  "    cpus: 4\n"
                  "    memory: 1G\n"
                  "    cid: 20\n"
                  "    ports: [\"8443:443\", \"0.0.0.0:8080:80\"]\n"
                  "    egress: {port: 8002, allow: [\"0.0.0.0/0:443\"], deny: [169.254.169.254]}\n"
                  "    health: {port: 443, http: /healthz, interval: 250ms, timeout: 2s, retries: 5}\n"
                  "    restart: on-failure:3\n"
                  "    depends_on: [db]\n"
                  "  db:\n"
                  "    image: " + eif() + "\n"
                  "    pcrs: {PCR0: " + std::string(96, 'a') + "}\n";
  auto c = parse_compose(y, "enclaves.yaml", "/tmp/proj");
  CHECK(c.project == "demo");
  REQUIRE(c.enclaves.size() == 2);
  CHECK(c.enclaves[0].spec.name == "db");
  CHECK(c.enclaves[0].spec.expected_pcrs.at(0) == std::string(96, 'a'));
  const auto& w = c.enclaves[1].spec;
  CHECK(w.name == "web");
  CHECK(w.cpus == 4);
  CHECK(w.memory_mib == 1024);
  CHECK(w.cid == 20u);
  CHECK(w.ports.size() == 2);
  CHECK(w.egress.port == 8002);
  CHECK(w.egress.deny == std::vector<std::string>{"169.254.169.254"});
  CHECK(w.health.interval_ms == 250);
  CHECK(w.health.timeout_ms == 2000);
  CHECK(w.restart.to_string() == "on-failure:3");
  CHECK(w.project == "demo");
  // Round trip through the API body.
  auto back = compose_from_json(compose_to_json(c));
  CHECK(compose_to_json(back) == compose_to_json(c));
}

TEST_CASE("bad compose files name file:line: key") {
  std::string head = "enclaves:\n  web:\n    image: " + eif() + "\n";
  CHECK_THAT(error_of(head + "    colour: red\n"), Catch::Contains("enclaves.yaml:4") && Catch::Contains("colour"));
  CHECK_THAT(error_of(head + "    cpus: 0\n"), Catch::Contains("enclaves.yaml:4") && Catch::Contains("cpus"));
  CHECK_THAT(error_of(head + "    memory: lots\n"), Catch::Contains("enclaves.yaml:4") && Catch::Contains("memory"));
  CHECK_THAT(error_of(head + "    ports: [\"99999:1\"]\n"), Catch::Contains("enclaves.yaml:4") && Catch::Contains("host port"));
  CHECK_THAT(error_of(head + "    restart: sometimes\n"), Catch::Contains("enclaves.yaml:4") && Catch::Contains("restart"));
  CHECK_THAT(error_of(head + "    egress: {port: 8002, allow: [\"1.2.3.4:99999\"]}\n"), Catch::Contains("enclaves.yaml:4") && Catch::Contains("allow"));
  CHECK_THAT(error_of(head + "    health: {port: 80, interval: soon}\n"), Catch::Contains("enclaves.yaml:4") && Catch::Contains("interval"));
  CHECK_THAT(error_of(head + "    pcrs: {PCR0: abc}\n"), Catch::Contains("enclaves.yaml:4") && Catch::Contains("96 lowercase hex"));
  CHECK_THAT(error_of(head + "    depends_on: [ghost]\n"), Catch::Contains("depends_on 'ghost'"));
  CHECK_THAT(error_of("enclaves:\n  web:\n    cpus: 2\n"), Catch::Contains("enclaves.yaml:3") && Catch::Contains("exactly one of image"));
  CHECK_THAT(error_of("enclaves:\n  Web:\n    image: x.eif\n"), Catch::Contains("enclave name 'Web'"));
  CHECK_THAT(error_of("enclaves: {}\n"), Catch::Contains("no enclaves"));
  CHECK_THAT(error_of("project: demo\nservices: {}\n"), Catch::Contains("services"));
  CHECK_THAT(error_of("enclaves:\n  a: [\n"), Catch::Contains("enclaves.yaml"));
  CHECK_THAT(error_of("enclaves:\n  a:\n    image: x.eif\n    cid: 9\n  b:\n    image: x.eif\n    cid: 9\n"),
             Catch::Contains("enclaves.yaml:7") && Catch::Contains("used twice"));
  CHECK_THAT(error_of("enclaves:\n  a:\n    image: x.eif\n    ports: [\"80:1\"]\n  b:\n    image: x.eif\n    ports: [\"80:2\"]\n"),
             Catch::Contains("another enclave"));
  CHECK_THAT(error_of("enclaves:\n  a:\n    spec: /nonexistent.yaml\n    lock: /x.lock.json\n"), Catch::Contains("no such file"));
}

TEST_CASE("dependency cycles are named") {
  std::string y = "enclaves:\n"
                  "  a: {image: x.eif, depends_on: [b]}\n"
                  "  b: {image: x.eif, depends_on: [c]}\n"
                  "  c: {image: x.eif, depends_on: [a]}\n";
  CHECK_THAT(error_of(y), Catch::Contains("depends_on cycle: a -> b -> c -> a"));
  CHECK_THAT(error_of("enclaves:\n  a: {image: x.eif, depends_on: [a]}\n"), Catch::Contains("cycle: a -> a"));
  auto order = start_order({"a", "b", "c"}, {{"c"}, {}, {"b"}});
  CHECK(order == std::vector<std::size_t>{1, 2, 0});
}

TEST_CASE("durations") {
  CHECK(parse_duration_ms("250ms") == 250);
  CHECK(parse_duration_ms("10s") == 10000);
  CHECK(parse_duration_ms("5m") == 300000);
  CHECK(parse_duration_ms("3") == 3000);
  CHECK_THROWS(parse_duration_ms("1h"));
  CHECK_THROWS(parse_duration_ms(""));
  CHECK_THROWS(parse_duration_ms("99999999m"));
}
