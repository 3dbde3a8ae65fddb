#include <catch2/catch.hpp>

#include "attest/fsmon/config.h"
#include "base/error.h"

using namespace ef::fsmon;

TEST_CASE("config: full example") {
  Config c = parse_config(R"(roots: [/data, /models/]
ignore_file: /etc/fs-monitor/ignore
hash_threads: 3
queue_bound: 1000
settle_ms: 4
socket: /run/x.sock
log_format: json
nats:
  url: nats://127.0.0.1:4222
  bucket: files
  key_prefix: enclave1.fs
  tls:
    ca_file: /etc/ca.pem
)",
                          "fsmon.yaml");
  CHECK(c.roots == std::vector<std::string>{"/data", "/models"});
  CHECK(c.hash_threads == 3);
  CHECK(c.queue_bound == 1000);
  CHECK(c.settle.count() == 4);
  CHECK(c.socket == "/run/x.sock");
  REQUIRE(c.nats);
  CHECK(c.nats->bucket == "files");
  CHECK(c.nats->tls);
  CHECK(c.nats->tls_ca_file == "/etc/ca.pem");
}

TEST_CASE("config: defaults") {
  Config c = parse_config("roots: [/d]\n", "f.yaml");
  CHECK(c.socket == "/run/ra-web-srv/files.sock");
  CHECK(c.hash_threads == 2);
  CHECK_FALSE(c.nats);
}

TEST_CASE("config errors name file:line:key") {
  auto msg = [](const char* text) {
    try {
      parse_config(text, "f.yaml");
    } catch (const ef::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(msg("roots: [/d]\nbogus: 1\n"), Catch::Contains("f.yaml:2") && Catch::Contains("bogus"));
  CHECK_THAT(msg("roots: [relative]\n"), Catch::Contains("absolute"));
  CHECK_THAT(msg("roots: [/a, /a/b]\n"), Catch::Contains("nest"));
  CHECK_THAT(msg("hash_threads: 2\n"), Catch::Contains("roots"));
  CHECK_THAT(msg("roots: [/d]\nnats: {url: x, key_prefix: 'a..b'}\n"), Catch::Contains("key_prefix"));
  CHECK_THAT(msg("roots: [/d]\nnats: {url: x, bucket: 'a.b'}\n"), Catch::Contains("bucket"));
  CHECK_THAT(msg("roots: [/d]\nlog_format: xml\n"), Catch::Contains("log_format"));
  CHECK_THAT(msg("roots: [/d]\nnats: {url: x, extra: 1}\n"), Catch::Contains("extra"));
}
