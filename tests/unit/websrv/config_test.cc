#include <catch2/catch.hpp>

#include "attest/websrv/config.h"
#include "base/error.h"

using namespace ef::websrv;

TEST_CASE("config: defaults and a full file") {
  Config d = parse_config("", "empty.yaml");
  CHECK(d.tls);
  CHECK(d.tls_min_version == "1.3");
  CHECK(d.tcp.size() == 1);
  Config c = parse_config(R"(
listen:
  tcp: ["127.0.0.1:1", "[::1]:2"]
  vsock_port: 5000
  redirect: 0.0.0.0:80
tls:
  min_version: "1.2"
  key_type: P-256
  client_ca: /etc/ca.pem
nsm:
  mode: simulated
  state_dir: /tmp/s
limits:
  io_threads: 3
  max_body_bytes: 10
log:
  format: json
)", "c.yaml");
  REQUIRE(c.tcp.size() == 2);
  CHECK(c.tcp[1].host == "::1");
  CHECK(c.tcp[1].port == 2);
  CHECK(c.vsock_port == 5000u);
  CHECK(c.redirect->port == 80);
  CHECK(c.tls_key_type == "P-256");
  CHECK(c.nsm_mode == NsmMode::kSimulated);
  CHECK(c.io_threads == 3);
  CHECK(c.max_body_bytes == 10);
  CHECK(c.to_json()["tls"]["mtls"] == true);
}

TEST_CASE("config: errors name file:line:key") {
  CHECK_THROWS_WITH(parse_config("listen:\n  tcpp: 1.2.3.4:5\n", "x.yaml"), Catch::Contains("x.yaml:2") && Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(parse_config("tls:\n  min_version: \"1.1\"\n", "x.yaml"), Catch::Contains("x.yaml:2") && Catch::Contains("1.3"));
  CHECK_THROWS_WITH(parse_config("listen:\n  tcp: localhost:80\n", "x.yaml"), Catch::Contains("not an IP address"));
  CHECK_THROWS_WITH(parse_config("listen:\n  tcp: 1.2.3.4:99999\n", "x.yaml"), Catch::Contains("port"));
  CHECK_THROWS_WITH(parse_config("tls:\n  cert_file: /a\n", "x.yaml"), Catch::Contains("together"));
  CHECK_THROWS_WITH(parse_config("limits:\n  max_connections: 0\n", "x.yaml"), Catch::Contains("max_connections"));
  CHECK_THROWS_AS(parse_config("listen: [\n", "x.yaml"), ef::Error);
}

TEST_CASE("config: files.producer_uid names the one uid that may feed the file index") {
  CHECK_FALSE(parse_config("", "x.yaml").files_producer_uid);
  Config c = parse_config("files:\n  socket: /run/x.sock\n  producer_uid: 1000\n", "x.yaml");
  REQUIRE(c.files_producer_uid);
  CHECK(*c.files_producer_uid == 1000u);
  CHECK(c.to_json()["files"]["producer_uid"] == 1000);
  CHECK_THROWS_WITH(parse_config("files:\n  producer_uid: -1\n", "x.yaml"),
                    Catch::Contains("x.yaml:2") && Catch::Contains("files.producer_uid"));
  CHECK_THROWS_WITH(parse_config("files:\n  producer: 0\n", "x.yaml"), Catch::Contains("unknown key"));
}
