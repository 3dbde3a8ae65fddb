#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "attest/ecvrf.h"
#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "attest/verify.h"
#include "attest/websrv/api.h"
#include "attest/websrv/query.h"
#include "base/hash.h"

using namespace ef;
using namespace ef::websrv;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kPcrsJson = R"({"HashAlgorithm": "Sha384 { ... }", "PCR0": ")" + std::string(96, 'a') +
                              R"(", "PCR1": ")" + std::string(96, 'b') + R"(", "PCR2": ")" + std::string(96, 'c') +
                              R"("})";

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("ef_websrv_api_" + std::to_string(getpid()));
  std::unique_ptr<attest::SimulatedNsm> sim;
  FileIndex index;
  VrfKey vrf = VrfKey::ephemeral();
  Metrics metrics{Api::route_names()};
  Bytes spki = Bytes(91, 0x42);
  std::unique_ptr<Api> api;

  Fixture() {
    fs::remove_all(dir);
    sim = std::make_unique<attest::SimulatedNsm>(attest::load_or_create_dev_ca(dir / "ca", attest::now_ms()),
                                                 attest::load_boot_pcrs(kPcrsJson, "pcrs.json"));
    ApiContext ctx;
    ctx.nsm = sim.get();
    ctx.index = &index;
    ctx.vrf = &vrf;
    ctx.tls_spki_der = spki;
    ctx.tls_cert_pem = "CERT";
    ctx.tls_key_type = "P-384";
    ctx.trusted_roots = {sim->root_der()};
    ctx.simulated_nsm = true;
    ctx.metrics = &metrics;
    api = std::make_unique<Api>(std::move(ctx));
    IndexFeed feed(index);
    feed.apply_line(R"({"op":"put","path":"/app/bin","kind":"file","sha3_512":")" + std::string(128, 'e') +
                        R"(","size":10})",
                    0);
  }
  ~Fixture() { fs::remove_all(dir); }

  ApiResponse get(const std::string& target, const std::string& accept = "") const {
    return api->handle({"GET", target, accept, "", ""});
  }
  ApiResponse post(const std::string& target, const std::string& body) const {
    return api->handle({"POST", target, "", "application/json", body});
  }
};

json body(const ApiResponse& r) { return json::parse(r.body); }

}  // namespace

TEST_CASE("api: routing, 404 and 405") {
  Fixture f;
  CHECK(f.get("/healthz").status == 200);
  auto r = f.get("/nope");
  CHECK(r.status == 404);
  CHECK(body(r)["field"] == "path");
  r = f.api->handle({"DELETE", "/v1/pcrs", "", "", ""});
  CHECK(r.status == 405);
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0] == std::pair<std::string, std::string>{"Allow", "GET"});
  CHECK(f.api->handle({"GET", "/v1/verify/proof", "", "", ""}).status == 405);
  CHECK(f.get("/v1/pcrs?bogus=1").status == 400);
  CHECK(f.get("/v1/files/hash?path=%2").status == 400);
  CHECK(f.get("relative").status == 400);
  CHECK(f.api->handle({"GET", "/healthz", "", "", "body"}).status == 400);
}

TEST_CASE("api: /v1/pcrs reports the module's PCRs with lock flags") {
  Fixture f;
  auto r = f.get("/v1/pcrs");
  REQUIRE(r.status == 200);
  const json j = body(r);
  CHECK(j["digest"] == "SHA384");
  REQUIRE(j["pcrs"].size() == 16);
  CHECK(j["pcrs"][0]["value"] == std::string(96, 'a'));
  CHECK(j["pcrs"][2]["value"] == std::string(96, 'c'));
  CHECK(j["pcrs"][3]["value"] == std::string(96, '0'));
  CHECK(j["pcrs"][15]["locked"] == true);
  auto c = f.get("/v1/pcrs", "application/cbor");
  CHECK(c.content_type == "application/cbor");
  CHECK(json::from_cbor(c.body) == j);
  // Every listed PCR is locked, so later answers come from the cache: same bytes.
  REQUIRE(f.api->pcr_cache());
  CHECK(f.get("/v1/pcrs").body == r.body);
  CHECK(json::from_cbor(f.get("/v1/pcrs", "application/cbor").body) == j);
}

TEST_CASE("api: /v1/attestation binds the nonce, user_data and the TLS key; verifies against the dev root") {
  Fixture f;
  auto r = f.get("/v1/attestation?nonce=00112233&user_data=aGVsbG8%3D");
  REQUIRE(r.status == 200);
  const Bytes doc = parse_base64_param(body(r)["document"].get<std::string>(), "document", 1 << 20);
  attest::VerifyOptions opt;
  opt.trusted_roots = {f.sim->root_der()};
  opt.policy.nonce = Bytes{0x00, 0x11, 0x22, 0x33};
  opt.policy.public_key = f.spki;
  opt.policy.user_data = Bytes{'h', 'e', 'l', 'l', 'o'};
  CHECK(attest::verify_attestation(doc, opt).ok());
  CHECK(f.metrics.render(0).find("ra_web_srv_documents_issued_total 1") != std::string::npos);

  auto raw = f.get("/v1/attestation?nonce=ab&public_key=none", "application/cbor");
  REQUIRE(raw.status == 200);
  CHECK(raw.content_type == "application/cbor");
  const auto parsed = attest::parse_signed_document(Bytes(raw.body.begin(), raw.body.end()));
  CHECK_FALSE(parsed.document.public_key);

  CHECK(f.get("/v1/attestation").status == 400);
  CHECK(f.get("/v1/attestation?nonce=").status == 400);
  CHECK(f.get("/v1/attestation?nonce=xyz").status == 400);
  CHECK(f.get("/v1/attestation?nonce=" + std::string(130, 'a')).status == 400);
  CHECK(f.get("/v1/attestation?nonce=" + std::string(128, 'a')).status == 200);
  CHECK(f.get("/v1/attestation?nonce=00&user_data=" + std::string(688, 'A')).status == 400);
  CHECK(f.get("/v1/attestation?nonce=00&public_key=other").status == 400);
}

TEST_CASE("api: files, hashes, proofs and the file attestation") {
  Fixture f;
  auto h = f.get("/v1/files/hash?path=/app/bin");
  REQUIRE(h.status == 200);
  CHECK(body(h)["sha3_512"] == std::string(128, 'e'));
  CHECK(f.get("/v1/files/hash?path=/app/none").status == 404);
  CHECK(f.get("/v1/files/hash?path=/app/../etc/shadow").status == 400);
  CHECK(f.get("/v1/files/hash?path=app/bin").status == 400);

  auto p = f.get("/v1/files/proof?path=%2Fapp%2Fbin");
  REQUIRE(p.status == 200);
  const json pj = body(p);
  const Bytes pi = from_hex(pj["proof"].get<std::string>());
  std::array<std::uint8_t, 64> hash{};
  hash.fill(0xee);
  CHECK(ecvrf::verify(f.vrf.public_key(), file_alpha("/app/bin", hash), pi));
  CHECK(pj["beta"] == to_hex(ecvrf::proof_to_hash(pi)));

  auto a = f.get("/v1/files/attestation?path=/app/bin&nonce=beef");
  REQUIRE(a.status == 200);
  const json aj = body(a);
  const Bytes doc = parse_base64_param(aj["document"].get<std::string>(), "document", 1 << 20);
  attest::VerifyOptions opt;
  opt.trusted_roots = {f.sim->root_der()};
  opt.policy.nonce = Bytes{0xbe, 0xef};
  opt.policy.user_data = file_attestation_user_data("/app/bin", hash, f.vrf.public_key(),
                                                    from_hex(aj["proof"].get<std::string>()));
  CHECK(attest::verify_attestation(doc, opt).ok());

  auto list = f.get("/v1/files?prefix=/app");
  REQUIRE(list.stream);
  std::string out;
  while (f.api->next_chunk(*list.stream, out)) {
  }
  const json lj = json::parse(out);
  CHECK(lj["count"] == 1);
  CHECK(lj["files"][0]["path"] == "/app/bin");
  auto clist = f.get("/v1/files", "application/cbor");
  std::string cout_;
  while (f.api->next_chunk(*clist.stream, cout_)) {
  }
  CHECK(json::from_cbor(cout_)["count"] == 1);
}

TEST_CASE("api: a listing larger than one chunk streams every entry once, in order") {
  Fixture f;
  IndexFeed feed(f.index);
  for (int i = 0; i < 600; ++i)
    feed.apply_line(R"({"op":"put","path":"/many/f)" + std::to_string(i) + R"(","kind":"file","sha3_512":")" +
                        std::string(128, '0') + R"(","size":1})",
                    0);
  auto r = f.get("/v1/files?prefix=/many/");
  REQUIRE(r.stream);
  std::string out;
  int chunks = 0;
  while (f.api->next_chunk(*r.stream, out)) ++chunks;
  CHECK(chunks >= 3);  // 256 entries per chunk
  const json j = json::parse(out);
  REQUIRE(j["count"] == 600);
  REQUIRE(j["files"].size() == 600);
  for (std::size_t i = 1; i < 600; ++i) CHECK(j["files"][i - 1]["path"].get<std::string>() < j["files"][i]["path"].get<std::string>());
}

TEST_CASE("api: verify endpoints answer 200 valid, 422 invalid, 400 malformed") {
  Fixture f;
  auto p = body(f.get("/v1/files/proof?path=/app/bin"));
  json good = {{"path", "/app/bin"}, {"sha3_512", p["sha3_512"]}, {"proof", p["proof"]}};
  CHECK(f.post("/v1/verify/proof", good.dump()).status == 200);
  json wrong = good;
  wrong["path"] = "/app/other";
  auto w = f.post("/v1/verify/proof", wrong.dump());
  CHECK(w.status == 422);
  CHECK(body(w)["valid"] == false);
  CHECK(f.post("/v1/verify/proof", "{").status == 400);
  CHECK(f.post("/v1/verify/proof", R"({"path":"/a"})").status == 400);
  CHECK(f.post("/v1/verify/proof", R"({"path":"/a","sha3_512":"00","proof":"00"})").status == 400);

  CHECK(f.post("/v1/verify/hash", json({{"path", "/app/bin"}, {"sha3_512", std::string(128, 'e')}}).dump()).status == 200);
  CHECK(f.post("/v1/verify/hash", json({{"path", "/app/bin"}, {"sha3_512", std::string(128, 'f')}}).dump()).status == 422);
  CHECK(f.post("/v1/verify/hash", json({{"path", "/nope"}, {"sha3_512", std::string(128, 'f')}}).dump()).status == 422);

  CHECK(f.post("/v1/verify/pcrs", json({{"pcrs", {{"0", std::string(96, 'a')}, {"PCR1", std::string(96, 'b')}}}}).dump()).status == 200);
  CHECK(f.post("/v1/verify/pcrs", json({{"pcrs", {{"0", std::string(96, 'b')}}}}).dump()).status == 422);
  CHECK(f.post("/v1/verify/pcrs", json({{"pcrs", {{"99", std::string(96, 'b')}}}}).dump()).status == 400);

  const std::string doc = body(f.get("/v1/attestation?nonce=0102"))["document"];
  CHECK(f.post("/v1/verify/attestation", json({{"document", doc}, {"nonce", "0102"}}).dump()).status == 200);
  auto bad = f.post("/v1/verify/attestation", json({{"document", doc}, {"nonce", "0103"}}).dump());
  CHECK(bad.status == 422);
  CHECK(body(bad)["reasons"][0].get<std::string>().rfind("nonce", 0) == 0);
  CHECK(f.post("/v1/verify/attestation", json({{"document", doc}, {"pcrs", {{"0", std::string(96, '0')}}}}).dump()).status == 422);
  CHECK(f.post("/v1/verify/attestation", json({{"document", "!!"}}).dump()).status == 400);
  CHECK(f.post("/v1/verify/attestation", json({{"document", "AAAA"}}).dump()).status == 422);
  const Bytes raw = parse_base64_param(doc, "d", 1 << 20);
  CHECK(f.api->handle({"POST", "/v1/verify/attestation?nonce=0102", "", "application/cbor", std::string(raw.begin(), raw.end())})
            .status == 200);
}

TEST_CASE("api: deeply nested bodies are 400, not a stack overflow") {
  Fixture f;
  const std::string deep_cbor = std::string(60000, '\x81') + '\x00';
  CHECK(f.api->handle({"POST", "/v1/verify/hash", "", "application/cbor", deep_cbor}).status == 400);
  CHECK(f.post("/v1/verify/hash", std::string(60000, '[')).status == 400);
  CHECK(f.post("/v1/verify/proof", std::string(30000, '[') + std::string(30000, ']')).status == 400);
  // CBOR bodies work when sane.
  const auto ok = json::to_cbor(json({{"path", "/app/bin"}, {"sha3_512", std::string(128, 'e')}}));
  CHECK(f.api->handle({"POST", "/v1/verify/hash", "", "application/cbor", std::string(ok.begin(), ok.end())}).status == 200);
}

TEST_CASE("api: nsm, random, pubkeys, readyz, metrics") {
  Fixture f;
  auto n = body(f.get("/v1/nsm"));
  CHECK(n["simulated"] == true);
  CHECK(n["max_pcrs"] == 32);
  auto r = body(f.get("/v1/random?length=4096"));
  CHECK(r["random"].get<std::string>().size() == 8192);
  CHECK(f.get("/v1/random?length=4097").status == 400);
  CHECK(f.get("/v1/random?length=0").status == 400);
  CHECK(f.get("/v1/random?length=-1").status == 400);
  auto k = body(f.get("/v1/pubkeys"));
  CHECK(k["vrf"]["public_key"] == to_hex(f.vrf.public_key()));
  CHECK(k["tls"]["spki_pem"].get<std::string>().rfind("-----BEGIN PUBLIC KEY-----\n", 0) == 0);
  CHECK(body(f.get("/v1/pubkeys?format=der"))["tls"]["spki_der"] == base64_encode(f.spki));
  CHECK(f.get("/v1/pubkeys?format=jwk").status == 400);
  CHECK(f.get("/readyz").status == 200);
  f.metrics.observe(0, 200, 0.001);
  auto m = f.get("/metrics");
  CHECK(m.content_type.rfind("text/plain", 0) == 0);
  CHECK(m.body.find("ra_web_srv_requests_total{route=\"/healthz\",status=\"200\"} 1") != std::string::npos);
  CHECK(m.body.find("ra_web_srv_files_tracked 1") != std::string::npos);
}

TEST_CASE("file index: one producer, from its uid") {
  using ef::websrv::IndexAdmission;
  CHECK(ef::websrv::admit_index_peer(1000, 1000, false) == IndexAdmission::kAccept);
  CHECK(ef::websrv::admit_index_peer(1000, 1000, true) == IndexAdmission::kBusy);
  CHECK(ef::websrv::admit_index_peer(0, 1000, false) == IndexAdmission::kWrongUid);
  CHECK(ef::websrv::admit_index_peer(0, 1000, true) == IndexAdmission::kWrongUid);
}
