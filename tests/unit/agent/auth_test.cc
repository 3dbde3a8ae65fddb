// The operator decision and the whole handshake in-process: AgentServer on one
// end of a socketpair, Client::connect on the other.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "attest/dev_ca.h"
#include "attest/ossl.h"
#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "runtime/agent/client.h"
#include "runtime/agent/operators.h"
#include "runtime/agent/server.h"

using namespace ef;
using namespace ef::agent;
namespace fs = std::filesystem;

namespace {

struct Tmp {
  fs::path path = fs::temp_directory_path() / ("ef_agent_auth_" + std::to_string(::getpid()));
  Tmp() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Tmp() { fs::remove_all(path); }
};

std::string sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  REQUIRE(::pclose(p) == 0);
  return out;
}

}  // namespace

TEST_CASE("operator signatures made by openssl(1) verify; tampered ones do not") {
  Tmp t;
  for (const auto& [curve, digest_name] : {std::pair{"prime256v1", "sha256"}, std::pair{"secp384r1", "sha384"}}) {
    const std::string key = (t.path / "k.pem").string(), msg = (t.path / "m").string(), sig = (t.path / "s").string();
    sh(std::string("openssl ecparam -name ") + curve + " -genkey -noout -out " + key);
    write_file_atomic(msg, "ef-agent-auth-v1 test message");
    sh(std::string("openssl dgst -") + digest_name + " -sign " + key + " -out " + sig + " " + msg);
    const std::string spki_file = (t.path / "pub.der").string();
    sh("openssl pkey -in " + key + " -pubout -outform DER -out " + spki_file);
    const Bytes spki = read_file(spki_file), m = read_file(msg), s = read_file(sig);
    CHECK(verify_operator_signature(spki, m, s));
    Bytes m2 = m;
    m2[0] ^= 1;
    CHECK_FALSE(verify_operator_signature(spki, m2, s));
    // The fingerprint is sha256 of the DER SPKI (as sha256sum computes it).
    CHECK(spki_fingerprint(spki) == "sha256:" + sh("sha256sum < " + spki_file).substr(0, 64));
  }
}

namespace {

struct Fixture {
  Tmp tmp;
  attest::DevCa ca = attest::load_or_create_dev_ca(tmp.path / "ca", attest::now_ms());
  std::map<std::uint16_t, Bytes> pcrs{{0, Bytes(48, 0xa0)}, {1, Bytes(48, 0xa1)}, {2, Bytes(48, 0xa2)}};
  attest::SimulatedNsm nsm{attest::load_or_create_dev_ca(tmp.path / "ca", attest::now_ms()), pcrs};
  fs::path op_key = tmp.path / "op.pem";
  ossl::PkeyPtr op = ossl::generate_ec_key("P-384");

  Fixture() {
    write_file_atomic(op_key, ossl::private_key_to_pem(op.get()), 0600);
  }
  Expectations expect() const {
    Expectations e;
    for (const auto& [i, v] : pcrs) e.pcrs[i] = to_hex(v);
    e.root_pem = ossl::cert_to_pem(ca.root.get());
    return e;
  }
  /// Runs one connection against a server with `config`; returns the client's error ("" on success).
  std::string run(AgentConfig config, const Expectations& e, const AgentCounters** counters_out,
                  std::unique_ptr<AgentServer>& server) {
    server = std::make_unique<AgentServer>(std::move(config), nsm);
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    std::thread t([&, fd = sv[0]] { server->serve_connection(UniqueFd(fd), "test"); });
    std::string err;
    try {
      auto c = Client::connect(UniqueFd(sv[1]), e, OperatorKey{op_key});
      std::string out;
      ExecIo io;
      io.on_stdout = [&](const std::uint8_t* p, std::size_t n) { out.append(reinterpret_cast<const char*>(p), n); };
      const int status = c->exec({{"/bin/sh", "-c", "printf hi; exit 3"}, {}, "", false, false}, io);
      CHECK(status == 3);
      CHECK(out == "hi");
    } catch (const Error& ex) {
      err = ex.what();
    }
    t.join();
    *counters_out = &server->counters();
    return err;
  }
};

}  // namespace

TEST_CASE("handshake: a listed operator runs a command") {
  Fixture f;
  AgentConfig c;
  c.operators.add(spki_fingerprint(ossl::public_key_to_der(f.op.get())));
  std::unique_ptr<AgentServer> server;
  const AgentCounters* n = nullptr;
  CHECK(f.run(c, f.expect(), &n, server).empty());
  CHECK(n->authenticated == 1);
  CHECK(n->requests == 1);
}

TEST_CASE("handshake: an unlisted operator is refused by name") {
  Fixture f;
  AgentConfig c;
  c.source = "/etc/ef-agent.yaml";
  c.operators.add("sha256:" + std::string(64, '0'));
  std::unique_ptr<AgentServer> server;
  const AgentCounters* n = nullptr;
  const std::string fp = spki_fingerprint(ossl::public_key_to_der(f.op.get()));
  CHECK(f.run(c, f.expect(), &n, server) ==
        "authentication: the agent refused: operator key " + fp + " is not listed in /etc/ef-agent.yaml");
  CHECK(n->auth_refused == 1);
  CHECK(n->requests == 0);
}

TEST_CASE("handshake: wrong PCRs are refused by the client before any request") {
  Fixture f;
  AgentConfig c;
  c.operators.add(spki_fingerprint(ossl::public_key_to_der(f.op.get())));
  Expectations e = f.expect();
  e.pcrs[1] = std::string(96, 'f');
  std::unique_ptr<AgentServer> server;
  const AgentCounters* n = nullptr;
  const std::string err = f.run(c, e, &n, server);
  CHECK_THAT(err, Catch::Contains("PCR1 mismatch: expected " + std::string(96, 'f') + ", enclave reports "));
  CHECK_THAT(err, Catch::Contains("enclave reports a1a1"));
  CHECK_THAT(err, !Catch::Contains("PCR0"));
  CHECK(n->attested == 1);
  CHECK(n->authenticated == 0);
  CHECK(n->requests == 0);
}

TEST_CASE("handshake: another root is refused") {
  Fixture f;
  AgentConfig c;
  c.operators.add(spki_fingerprint(ossl::public_key_to_der(f.op.get())));
  Expectations e = f.expect();
  e.root_pem = read_text_file(std::string(EF_VECTORS_DIR) + "/aws_nitro_enclaves_root_g1.pem");
  std::unique_ptr<AgentServer> server;
  const AgentCounters* n = nullptr;
  CHECK_THAT(f.run(c, e, &n, server), Catch::StartsWith("attestation refused: root"));
  CHECK(n->requests == 0);
}

TEST_CASE("client: expectations and key are checked before connecting") {
  Fixture f;
  Expectations e = f.expect();
  e.pcrs.erase(2);
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  UniqueFd peer(sv[0]);
  CHECK_THROWS_WITH(Client::connect(UniqueFd(sv[1]), e, OperatorKey{f.op_key}), Catch::Contains("PCR2 missing"));
  ::chmod(f.op_key.c_str(), 0644);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  UniqueFd peer2(sv[0]);
  CHECK_THROWS_WITH(Client::connect(UniqueFd(sv[1]), f.expect(), OperatorKey{f.op_key}),
                    Catch::Contains("accessible by others (mode 0644)"));
  // Nothing was sent on either socket.
  char b;
  ::shutdown(sv[1], SHUT_RDWR);
  CHECK(::recv(peer2.get(), &b, 1, MSG_DONTWAIT) <= 0);
}
