#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "attest/ossl.h"
#include "base/error.h"
#include "runtime/agent/config.h"
#include "runtime/agent/operators.h"

using namespace ef;
using namespace ef::agent;

TEST_CASE("agent config: defaults") {
  const AgentConfig c = parse_agent_config("", "a.yaml");
  CHECK(c.listen == std::vector<std::string>{"vsock:any:7000"});
  CHECK(c.exec);
  CHECK(c.copy);
  CHECK(c.secret_dir == "/run/secrets");
  CHECK(c.log_dir == "/run/init/log");
  CHECK(c.operators.empty());
}

TEST_CASE("agent config: every key") {
  const AgentConfig c = parse_agent_config(R"(listen: [vsock:any:7000, "tcp:127.0.0.1:7001", unix:/run/a.sock]
nsm: {mode: simulated, state_dir: /run/x, pcrs_from: cmdline, cmdline_file: /tmp/cl}
operators:
  - sha256:0123456789abcdef0123456789abcdef0123456789ABCDEF0123456789abcdef
exec: false
copy: false
secrets: false
logs: false
log_dir: /var/log/init
secret_dir: /dev/shm/s
secret_dir_tmpfs: false
limits: {max_connections: 4, handshake_timeout: 2s, max_secret_bytes: 1024}
log: {format: json, level: debug}
)", "a.yaml");
  CHECK(c.listen.size() == 3);
  CHECK(c.nsm_mode == NsmMode::kSimulated);
  CHECK(c.pcrs_from == PcrSource::kCmdline);
  CHECK(c.cmdline_file == "/tmp/cl");
  CHECK(c.operators.fingerprints() ==
        std::vector<std::string>{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"});
  CHECK_FALSE(c.exec);
  CHECK(c.handshake_timeout_ms == 2000);
  CHECK(c.max_secret_bytes == 1024);
  CHECK(c.to_json()["nsm"]["pcrs_from"] == "cmdline");
}

TEST_CASE("agent config: errors name file:line: key") {
  CHECK_THROWS_WITH(parse_agent_config("listen: [tcp:1.2.3.4:1]\nexecc: true\n", "a.yaml"),
                    Catch::Contains("a.yaml:2") && Catch::Contains("execc"));
  CHECK_THROWS_WITH(parse_agent_config("listen: [udp:127.0.0.1:1]\n", "a.yaml"), Catch::Contains("stream sockets"));
  CHECK_THROWS_WITH(parse_agent_config("listen: [bogus]\n", "a.yaml"), Catch::Contains("a.yaml:1"));
  CHECK_THROWS_WITH(parse_agent_config("nsm: {mode: real}\n", "a.yaml"), Catch::Contains("expected one of auto"));
  CHECK_THROWS_WITH(parse_agent_config("nsm: {pcrs_from: file}\n", "a.yaml"), Catch::Contains("state_dir, cmdline"));
  CHECK_THROWS_WITH(parse_agent_config("operators: [sha256:00]\n", "a.yaml"), Catch::Contains("64 hex digits"));
  CHECK_THROWS_WITH(parse_agent_config("operators: [hello]\n", "a.yaml"), Catch::Contains("PEM public key"));
  CHECK_THROWS_WITH(parse_agent_config("secret_dir: relative\n", "a.yaml"), Catch::Contains("absolute path"));
  CHECK_THROWS_WITH(parse_agent_config("exec: maybe\n", "a.yaml"), Catch::Contains("a.yaml:1"));
  CHECK_THROWS_WITH(parse_agent_config("limits: {handshake_timeout: 5y}\n", "a.yaml"), Catch::Contains("unit"));
}

TEST_CASE("operator list: PEM keys and fingerprints agree") {
  ossl::PkeyPtr k = ossl::generate_ec_key("P-256");
  const Bytes spki = ossl::public_key_to_der(k.get());
  OperatorList by_pem;
  // PEM of the public key, written by OpenSSL.
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, k.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  by_pem.add(std::string(data, static_cast<std::size_t>(n)));
  BIO_free(bio);
  CHECK(by_pem.allows(spki));
  OperatorList by_fp;
  by_fp.add(spki_fingerprint(spki));
  CHECK(by_fp.allows(spki));
  CHECK(by_fp.fingerprints() == by_pem.fingerprints());
  ossl::PkeyPtr other = ossl::generate_ec_key("P-384");
  CHECK_FALSE(by_fp.allows(ossl::public_key_to_der(other.get())));
}
