// The certificate cache never changes a verdict: every real and forged document
// gives the same checks (name, outcome, detail) with no cache, a cold cache and a
// warm one; and the cache stays within its bound.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "attest/cert_cache.h"
#include "attest/document.h"
#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "attest/verify.h"
#include "base/file.h"

using namespace ef;
using namespace ef::attest;
namespace fs = std::filesystem;

namespace {

const fs::path kDocs = fs::path(EF_VECTORS_DIR) / "nitro_attestation";

struct Real {
  std::string file;
  nlohmann::json meta;
  Bytes bytes;
};

std::vector<Real> real_documents() {
  const auto index = nlohmann::json::parse(read_text_file(kDocs / "index.json"));
  std::vector<Real> out;
  for (const auto& e : index) out.push_back({e["file"], e, read_file(kDocs / e["file"].get<std::string>())});
  return out;
}

/// One verification to run: a document and the options (without a cache).
struct Case {
  std::string name;
  Bytes doc;
  VerifyOptions options;
};

VerifyOptions at_doc_time() {
  VerifyOptions o;
  o.time_source = TimeSource::kDocument;
  return o;
}

VerifyOptions at_time(std::int64_t ms) {
  VerifyOptions o;
  o.time_source = TimeSource::kFixed;
  o.fixed_time_ms = ms;
  o.now_ms = ms;
  return o;
}

Bytes edited(const Bytes& doc, const std::function<void(AttestationDocument&)>& edit) {
  AttestationDocument d = parse_signed_document(doc).document;
  edit(d);
  cbor::Value v = cbor::decode(doc);
  v.as_array()[2] = cbor::Value::bytes(encode_document_payload(d));
  return cbor::encode(v);
}

std::string render(const VerifyResult& r) {
  std::string s;
  for (const auto& c : r.checks) s += (c.ok ? "ok   " : "FAIL ") + c.name + ": " + c.detail + "\n";
  return s;
}

/// Real documents at their time, at the edges of their validity and now; then
/// forgeries of them: chain mutations, flipped bits, certificates of another
/// document, a wrong trusted root.
std::vector<Case> real_cases() {
  const auto docs = real_documents();
  std::vector<Case> out;
  for (const auto& v : docs) {
    out.push_back({v.file + " at its time", v.bytes, at_doc_time()});
    const std::int64_t from = parse_rfc3339(v.meta["chain_valid_from"].get<std::string>());
    const std::int64_t until = parse_rfc3339(v.meta["chain_valid_until"].get<std::string>());
    out.push_back({v.file + " before its leaf", v.bytes, at_time(from - 1000)});
    out.push_back({v.file + " after its leaf", v.bytes, at_time(until + 1000)});
    out.push_back({v.file + " in 2060 (every certificate expired)", v.bytes, at_time(parse_rfc3339("2060-01-01T00:00:00Z"))});
  }
  for (std::size_t k : {std::size_t{0}, docs.size() - 1}) {
    const Bytes& doc = docs[k].bytes;
    const std::string f = docs[k].file + ": ";
    auto add = [&](const std::string& what, const std::function<void(AttestationDocument&)>& edit) {
      out.push_back({f + what, edited(doc, edit), at_doc_time()});
    };
    add("intermediate signature flipped", [](AttestationDocument& d) { d.cabundle[2][d.cabundle[2].size() - 5] ^= 1; });
    add("last intermediate signature flipped", [](AttestationDocument& d) { d.cabundle.back()[d.cabundle.back().size() - 3] ^= 1; });
    add("leaf signature flipped", [](AttestationDocument& d) { d.certificate[d.certificate.size() - 5] ^= 1; });
    add("garbled certificate", [](AttestationDocument& d) { d.cabundle[1][0] ^= 0xff; });
    add("swapped intermediates", [](AttestationDocument& d) { std::swap(d.cabundle[1], d.cabundle[2]); });
    add("reversed bundle", [](AttestationDocument& d) { std::reverse(d.cabundle.begin(), d.cabundle.end()); });
    add("truncated chain", [](AttestationDocument& d) { d.cabundle.pop_back(); });
    add("root missing", [](AttestationDocument& d) { d.cabundle.erase(d.cabundle.begin()); });
    add("root duplicated", [](AttestationDocument& d) { d.cabundle.insert(d.cabundle.begin(), d.cabundle[0]); });
    add("leaf as last intermediate", [](AttestationDocument& d) { d.cabundle.back() = d.certificate; });
    add("unchanged (re-encoded)", [](AttestationDocument&) {});
    // Certificates of another real document: a genuine chain, not this leaf's.
    const Bytes& other = docs[(k + 1) % docs.size()].bytes;
    const AttestationDocument od = parse_signed_document(other).document;
    add("another document's leaf", [&](AttestationDocument& d) { d.certificate = od.certificate; });
    add("another document's bundle", [&](AttestationDocument& d) { d.cabundle = od.cabundle; });
    add("another document's last intermediate", [&](AttestationDocument& d) { d.cabundle.back() = od.cabundle.back(); });
    for (std::size_t i = 0; i < doc.size(); i += 97) {
      Bytes bad = doc;
      bad[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
      out.push_back({f + "bit flipped at byte " + std::to_string(i), bad, at_doc_time()});
    }
  }
  return out;
}

/// Asserts that every case gives the same result with no cache and with `cache`
/// (twice: the first use may fill it, the second finds everything it can).
void check_same_verdicts(const std::vector<Case>& cases, CertCache& cache) {
  for (const auto& c : cases) {
    INFO(c.name);
    const VerifyResult cold = verify_attestation(c.doc, c.options);
    VerifyOptions o = c.options;
    o.cache = &cache;
    for (int round = 0; round < 2; ++round) {
      const VerifyResult warm = verify_attestation(c.doc, o);
      INFO("round " << round << "\ncold:\n" << render(cold) << "warm:\n" << render(warm));
      CHECK(warm.ok() == cold.ok());
      CHECK(render(warm) == render(cold));
    }
  }
}

/// A development CA and a simulated NSM on it, in a fresh directory.
struct Sim {
  explicit Sim(const std::string& tag, std::int64_t now)
      : dir(fs::temp_directory_path() / ("ef_cert_cache_test_" + tag + "_" + std::to_string(::getpid()))),
        nsm((fs::remove_all(dir), load_or_create_dev_ca(dir, now)), {{0, Bytes(48, 7)}}) {}
  ~Sim() { fs::remove_all(dir); }
  Bytes doc() { return nsm.attestation({Bytes(8, 'u'), Bytes(8, 'n'), std::nullopt}); }
  fs::path dir;
  SimulatedNsm nsm;
};

}  // namespace

TEST_CASE("cert cache: real and forged documents, the same verdict cold, warm and without a cache") {
  const auto cases = real_cases();
  REQUIRE(cases.size() > 100);
  std::size_t ok = 0;
  for (const auto& c : cases) ok += verify_attestation(c.doc, c.options).ok();
  // The six at their time, and the first re-encoded unchanged (the last one's
  // indefinite-length map re-encodes to other bytes, so its signature fails).
  CHECK(ok == 6 + 1);

  SECTION("a cold cache, filled as the cases go") {
    CertCache cache;
    check_same_verdicts(cases, cache);
  }
  SECTION("a cache warmed by every genuine chain first") {
    CertCache cache;
    for (const auto& v : real_documents()) {
      VerifyOptions o = at_doc_time();
      o.cache = &cache;
      REQUIRE(verify_attestation(v.bytes, o).ok());
    }
    const auto before = cache.stats();
    CHECK(before.size > 6);
    check_same_verdicts(cases, cache);
    // It was used: certificates came from it and chain signatures were not redone.
    const auto after = cache.stats();
    CHECK(after.cert_hits > before.cert_hits);
    CHECK(after.signature_hits > before.signature_hits);
  }
  SECTION("a tiny cache that evicts all the time") {
    CertCache cache(2);
    check_same_verdicts(cases, cache);
    CHECK(cache.stats().size <= 2);
    CHECK(cache.stats().evictions > 0);
  }
}

TEST_CASE("cert cache: a warm cache skips the chain's CA signatures, never the leaf's") {
  const auto docs = real_documents();
  CertCache cache;
  VerifyOptions o = at_doc_time();
  o.cache = &cache;
  REQUIRE(verify_attestation(docs[0].bytes, o).ok());
  const auto first = cache.stats();
  // 4-certificate bundle: 3 CA signatures verified and remembered, the root's not needed.
  CHECK(first.signature_hits == 0);
  CHECK(first.signature_misses == 3);
  CHECK(first.size == 5);  // root, 3 intermediates, leaf
  REQUIRE(verify_attestation(docs[0].bytes, o).ok());
  const auto second = cache.stats();
  CHECK(second.signature_hits == 3);
  CHECK(second.signature_misses == 3);
  // The leaf's own signature is checked each time: a leaf with a broken
  // signature fails even though the cache holds its genuine chain.
  const Bytes bad = edited(docs[0].bytes, [](AttestationDocument& d) { d.certificate[d.certificate.size() - 5] ^= 1; });
  const VerifyResult r = verify_attestation(bad, o);
  CHECK_FALSE(r.ok());
  const auto f = r.failed();
  CHECK(std::find(f.begin(), f.end(), "chain") != f.end());
}

TEST_CASE("cert cache: simulated NSM chains, and forgeries under the same names") {
  const std::int64_t now = now_ms();
  Sim a("a", now), b("b", now);
  const Bytes doc_a = a.doc(), doc_b = b.doc();
  VerifyOptions trust_a;
  trust_a.trusted_roots = {a.nsm.root_der()};
  trust_a.now_ms = now + 1000;
  const AttestationDocument da = parse_signed_document(doc_a).document;
  const AttestationDocument db = parse_signed_document(doc_b).document;
  std::vector<Case> cases = {
      {"sim A", doc_a, trust_a},
      {"sim A again (one leaf, many documents)", a.doc(), trust_a},
      {"sim B against A's root", doc_b, trust_a},
      {"B's leaf and signature over A's genuine bundle", edited(doc_b, [&](AttestationDocument& d) { d.cabundle = da.cabundle; }),
       trust_a},
      {"B's intermediate under A's root", edited(doc_b, [&](AttestationDocument& d) { d.cabundle[0] = da.cabundle[0]; }),
       trust_a},
      {"A's intermediate, B's leaf", edited(doc_b, [&](AttestationDocument& d) { d.cabundle[1] = da.cabundle[1]; }), trust_a},
      {"A's leaf in B's document", edited(doc_b, [&](AttestationDocument& d) {
         d.certificate = da.certificate;
         d.cabundle = da.cabundle;
       }),
       trust_a},
      {"sim A in 20 years (intermediate expired)", doc_a, at_time(now + 20LL * 366 * 24 * 3600 * 1000)},
  };
  cases.back().options.trusted_roots = trust_a.trusted_roots;
  REQUIRE(verify_attestation(doc_a, trust_a).ok());
  CHECK_FALSE(verify_attestation(cases[3].doc, trust_a).ok());
  CertCache cache;
  VerifyOptions warm = trust_a;
  warm.cache = &cache;
  REQUIRE(verify_attestation(doc_a, warm).ok());
  check_same_verdicts(cases, cache);
}

TEST_CASE("cert cache: bounded, least recently used goes first") {
  const auto docs = real_documents();
  // Distinct certificates from the real documents.
  std::vector<Bytes> certs;
  for (const auto& v : docs) {
    const AttestationDocument d = parse_signed_document(v.bytes).document;
    for (const auto& c : d.cabundle)
      if (std::find(certs.begin(), certs.end(), c) == certs.end()) certs.push_back(c);
    certs.push_back(d.certificate);
  }
  REQUIRE(certs.size() >= 8);
  CertCache cache(3);
  CHECK(cache.capacity() == 3);
  std::vector<CertCache::Digest> keys;
  for (const auto& c : certs) keys.push_back(CertCache::sha256(c));
  for (std::size_t i = 0; i < 3; ++i) cache.certificate(keys[i], certs[i], "c");
  CHECK(cache.stats().size == 3);
  cache.certificate(keys[0], certs[0], "c");  // 0 is now the most recent; 1 the least
  cache.certificate(keys[3], certs[3], "c");
  CHECK(cache.stats().size == 3);
  CHECK(cache.stats().evictions == 1);
  CHECK(cache.contains(keys[0]));
  CHECK_FALSE(cache.contains(keys[1]));
  CHECK(cache.contains(keys[2]));
  CHECK(cache.contains(keys[3]));
  for (std::size_t i = 0; i < certs.size(); ++i) cache.certificate(keys[i], certs[i], "c");
  CHECK(cache.stats().size == 3);
  // Every miss inserts one, and the cache stays full: evictions = misses - 3.
  CHECK(cache.stats().evictions == cache.stats().cert_misses - 3);
  CHECK(cache.stats().cert_misses > certs.size());
  // A certificate handed out outlives its eviction.
  ossl::X509Ptr held = cache.certificate(keys[0], certs[0], "c");
  for (std::size_t i = 1; i < 5; ++i) cache.certificate(keys[i], certs[i], "c");
  CHECK_FALSE(cache.contains(keys[0]));
  CHECK(ossl::cert_to_der(held.get()) == certs[0]);
  // A remembered signature goes with its certificate.
  cache.remember_signature(keys[4], keys[0]);
  CHECK(cache.signature_known(keys[4], keys[0]));
  for (std::size_t i = 5; i < 8; ++i) cache.certificate(keys[i], certs[i], "c");
  CHECK_FALSE(cache.signature_known(keys[4], keys[0]));
  // Garbage is refused as cert_from_der refuses it, and not remembered.
  const Bytes junk = {0x30, 0x03, 0x02, 0x01, 0x01};
  CHECK_THROWS_WITH(cache.certificate(CertCache::sha256(junk), junk, "cabundle[9]"), Catch::Contains("cabundle[9]"));
  CHECK_FALSE(cache.contains(CertCache::sha256(junk)));
  CertCache zero(0);
  CHECK(zero.capacity() == 1);
}

TEST_CASE("cert cache: shared by threads") {
  const auto docs = real_documents();
  CertCache cache(4);  // smaller than the certificates in play: evictions race with use
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const auto& v = docs[static_cast<std::size_t>(t + i) % docs.size()];
        VerifyOptions o = at_doc_time();
        o.cache = &cache;
        if (!verify_attestation(v.bytes, o).ok()) ++wrong;
        Bytes bad = v.bytes;
        bad.back() ^= 1;
        if (verify_attestation(bad, o).failed() != std::vector<std::string>{"signature"}) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  CHECK(cache.stats().size <= 4);
}
