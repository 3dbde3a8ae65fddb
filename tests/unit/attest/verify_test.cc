#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attest/aws_root.h"
#include "attest/cbor.h"
#include "attest/document.h"
#include "attest/timefmt.h"
#include "attest/verify.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

using namespace ef;
using namespace ef::attest;
using cbor::Value;
namespace fs = std::filesystem;

namespace {

const fs::path kDocs = fs::path(EF_VECTORS_DIR) / "nitro_attestation";

struct Vector {
  std::string file;
  nlohmann::json meta;
  Bytes bytes;
};

std::vector<Vector> vectors() {
  const auto index = nlohmann::json::parse(read_text_file(kDocs / "index.json"));
  std::vector<Vector> out;
  for (const auto& e : index) out.push_back({e["file"], e, read_file(kDocs / e["file"].get<std::string>())});
  return out;
}

VerifyOptions at_doc_time() {
  VerifyOptions o;
  o.time_source = TimeSource::kDocument;
  return o;
}

bool has_failed(const VerifyResult& r, const std::string& name) {
  auto f = r.failed();
  return std::find(f.begin(), f.end(), name) != f.end();
}

std::string describe(const VerifyResult& r) {
  std::string s;
  for (const auto& c : r.checks) s += (c.ok ? "ok   " : "FAIL ") + c.name + ": " + c.detail + "\n";
  return s;
}

/// The document with its payload replaced (the signature is kept, so it no longer verifies).
Bytes with_payload(const Bytes& doc, const Bytes& payload) {
  Value v = cbor::decode(doc);
  v.as_array()[2] = Value::bytes(payload);
  return cbor::encode(v);
}

Bytes with_document(const Bytes& doc, const std::function<void(AttestationDocument&)>& edit) {
  AttestationDocument d = parse_signed_document(doc).document;
  edit(d);
  return with_payload(doc, encode_document_payload(d));
}

}  // namespace

TEST_CASE("verify: the compiled-in root is the pinned AWS root") {
  const Bytes der = aws_root_der();
  CHECK(to_hex(digest(HashAlgo::kSha256, der)) == "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
  CHECK(std::string(aws_root_pem()) == read_text_file(fs::path(EF_VECTORS_DIR) / "aws_nitro_enclaves_root_g1.pem"));
}

TEST_CASE("verify: the six real documents verify at their own timestamps and parse as index.json says") {
  const auto vs = vectors();
  REQUIRE(vs.size() == 6);
  for (const auto& v : vs) {
    INFO(v.file);
    VerifyResult r = verify_attestation(v.bytes, at_doc_time());
    INFO(describe(r));
    CHECK(r.ok());
    REQUIRE(r.document);
    const auto& d = *r.document;
    CHECK(d.module_id == v.meta["module_id"]);
    CHECK(d.timestamp_ms == v.meta["timestamp_ms"].get<std::uint64_t>());
    CHECK(d.cabundle.size() == v.meta["cabundle_len"].get<std::size_t>());
    CHECK(to_hex(digest(HashAlgo::kSha256, d.cabundle[0])) == v.meta["root_sha256"]);
    for (const auto& [k, hex] : v.meta["pcrs"].items()) CHECK(to_hex(d.pcrs.at(std::stoul(k))) == hex);
    auto opt = [](const nlohmann::json& j) { return j.is_null() ? std::string("null") : j.get<std::string>(); };
    CHECK((d.nonce ? to_hex(*d.nonce) : "null") == opt(v.meta["nonce_hex"]));
    CHECK((d.public_key ? to_hex(*d.public_key) : "null") == opt(v.meta["public_key_hex"]));
    CHECK((d.user_data ? to_hex(*d.user_data) : "null") == opt(v.meta["user_data_hex"]));
    CHECK(format_rfc3339(static_cast<std::int64_t>(d.timestamp_ms)).substr(0, 19) ==
          v.meta["timestamp_utc"].get<std::string>().substr(0, 19));
  }
}

TEST_CASE("document: our payload encoding is byte-identical to the NSM's (definite-length documents)") {
  for (const auto& v : vectors()) {
    INFO(v.file);
    const SignedDocument sd = parse_signed_document(v.bytes);
    const Bytes again = encode_document_payload(sd.document);
    if (sd.envelope.payload[0] == 0xbf) {
      CHECK(again != sd.envelope.payload);  // indefinite-length map: same content, other bytes
      CHECK(cbor::decode(again) == cbor::decode(sd.envelope.payload));
    } else {
      CHECK(again == sd.envelope.payload);
    }
  }
}

TEST_CASE("verify: validity window edges from index.json") {
  for (const auto& v : vectors()) {
    INFO(v.file);
    const std::int64_t from = parse_rfc3339(v.meta["chain_valid_from"].get<std::string>());
    const std::int64_t until = parse_rfc3339(v.meta["chain_valid_until"].get<std::string>());
    VerifyOptions o;
    o.time_source = TimeSource::kFixed;
    o.fixed_time_ms = from;
    CHECK(verify_attestation(v.bytes, o).ok());
    o.fixed_time_ms = until - 1000;  // OpenSSL treats notAfter itself as expired
    CHECK(verify_attestation(v.bytes, o).ok());
    o.fixed_time_ms = from - 1000;
    auto r = verify_attestation(v.bytes, o);
    CHECK(has_failed(r, "validity"));
    CHECK(has_failed(r, "chain"));
    CHECK_FALSE(has_failed(r, "signature"));
    o.fixed_time_ms = until + 1000;
    r = verify_attestation(v.bytes, o);
    CHECK(has_failed(r, "validity"));
    CHECK_THAT(r.checks[5].detail, Catch::Contains("expired"));
    // "now" is years after the leaf's three hours.
    CHECK(has_failed(verify_attestation(v.bytes, VerifyOptions{}), "validity"));
  }
}

TEST_CASE("verify: flipped bits anywhere are rejected") {
  const auto vs = vectors();
  for (const auto& v : {vs[0], vs[5]}) {
    INFO(v.file);
    for (std::size_t i = 0; i < v.bytes.size(); i += 41) {
      Bytes bad = v.bytes;
      bad[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
      INFO("byte " << i);
      CHECK_FALSE(verify_attestation(bad, at_doc_time()).ok());
    }
    // The last byte of the signature.
    Bytes bad = v.bytes;
    bad.back() ^= 1;
    CHECK(verify_attestation(bad, at_doc_time()).failed() == std::vector<std::string>{"signature"});
  }
}

TEST_CASE("verify: certificate mutations fail the chain checks") {
  const Bytes doc = vectors()[0].bytes;
  SECTION("a flipped bit inside an intermediate's signature") {
    auto r = verify_attestation(with_document(doc, [](AttestationDocument& d) { d.cabundle[2][d.cabundle[2].size() - 5] ^= 1; }),
                                at_doc_time());
    CHECK(has_failed(r, "chain"));
    CHECK(has_failed(r, "signature"));
  }
  SECTION("a flipped bit inside the leaf's signature") {
    auto r = verify_attestation(
        with_document(doc, [](AttestationDocument& d) { d.certificate[d.certificate.size() - 5] ^= 1; }), at_doc_time());
    CHECK(has_failed(r, "chain"));
  }
  SECTION("a garbled certificate") {
    auto r = verify_attestation(with_document(doc, [](AttestationDocument& d) { d.cabundle[1][0] ^= 0xff; }), at_doc_time());
    CHECK(has_failed(r, "certificates"));
  }
  SECTION("swapped intermediates") {
    auto r = verify_attestation(with_document(doc, [](AttestationDocument& d) { std::swap(d.cabundle[1], d.cabundle[2]); }),
                                at_doc_time());
    CHECK(has_failed(r, "chain"));
  }
  SECTION("a truncated chain") {
    auto r = verify_attestation(with_document(doc, [](AttestationDocument& d) { d.cabundle.pop_back(); }), at_doc_time());
    CHECK(has_failed(r, "chain"));
  }
  SECTION("root missing from the bundle") {
    auto r = verify_attestation(with_document(doc, [](AttestationDocument& d) { d.cabundle.erase(d.cabundle.begin()); }),
                                at_doc_time());
    CHECK(has_failed(r, "root"));
    CHECK(has_failed(r, "chain"));
  }
  SECTION("the leaf in place of the last intermediate") {
    auto r = verify_attestation(with_document(doc, [](AttestationDocument& d) { d.cabundle.back() = d.certificate; }),
                                at_doc_time());
    CHECK(has_failed(r, "key_usage"));
  }
  SECTION("re-encoding an unchanged document reproduces the NSM's bytes, signature and all") {
    CHECK(verify_attestation(with_document(doc, [](AttestationDocument&) {}), at_doc_time()).ok());
  }
}

TEST_CASE("verify: wrong root, wrong algorithm, trailing bytes, tag 18") {
  const Bytes doc = vectors()[0].bytes;
  VerifyOptions o = at_doc_time();
  const AttestationDocument d = parse_signed_document(doc).document;
  o.trusted_roots = {d.cabundle[1]};
  auto r = verify_attestation(doc, o);
  CHECK(has_failed(r, "root"));
  CHECK(has_failed(r, "chain"));

  Value v = cbor::decode(doc);
  v.as_array()[0] = Value::bytes(cbor::encode(Value::map({{Value::integer(1), Value::integer(-36)}})));
  r = verify_attestation(cbor::encode(v), at_doc_time());
  CHECK(has_failed(r, "algorithm"));
  CHECK(has_failed(r, "signature"));

  Bytes trailing = doc;
  trailing.push_back(0xf6);
  r = verify_attestation(trailing, at_doc_time());
  CHECK(r.failed() == std::vector<std::string>{"cose"});
  CHECK_THAT(r.checks[0].detail, Catch::Contains("trailing"));

  Bytes tagged = {0xd2};
  tagged.insert(tagged.end(), doc.begin(), doc.end());
  CHECK(verify_attestation(tagged, at_doc_time()).ok());

  Bytes truncated(doc.begin(), doc.end() - 10);
  CHECK(verify_attestation(truncated, at_doc_time()).failed() == std::vector<std::string>{"cose"});
}

TEST_CASE("verify: payload syntax per AWS rules") {
  const Bytes doc = vectors()[0].bytes;
  auto fails_document = [&](const std::function<void(AttestationDocument&)>& edit, const std::string& why) {
    auto r = verify_attestation(with_document(doc, edit), at_doc_time());
    INFO(describe(r));
    CHECK(r.failed() == std::vector<std::string>{"document"});
    CHECK_THAT(r.checks.back().detail, Catch::Contains(why));
  };
  fails_document([](AttestationDocument& d) { d.module_id.clear(); }, "module_id");
  fails_document([](AttestationDocument& d) { d.digest = "SHA256"; }, "digest");
  fails_document([](AttestationDocument& d) { d.timestamp_ms = 0; }, "timestamp");
  fails_document([](AttestationDocument& d) { d.pcrs.clear(); }, "pcrs");
  fails_document([](AttestationDocument& d) { d.pcrs[32] = Bytes(48); }, "0..31");
  fails_document([](AttestationDocument& d) { d.pcrs[0] = Bytes(47); }, "47 bytes");
  fails_document([](AttestationDocument& d) { d.cabundle.clear(); }, "cabundle");
  fails_document([](AttestationDocument& d) { d.certificate = Bytes(1025); }, "certificate");
  fails_document([](AttestationDocument& d) { d.nonce = Bytes(513); }, "nonce");
  fails_document([](AttestationDocument& d) { d.user_data = Bytes(513); }, "user_data");
  fails_document([](AttestationDocument& d) { d.public_key = Bytes(); }, "public_key");

  auto fails_map = [&](const std::function<void(Value&)>& edit, const std::string& why) {
    Value m = cbor::decode(parse_signed_document(doc).envelope.payload);
    edit(m);
    auto r = verify_attestation(with_payload(doc, cbor::encode(m)), at_doc_time());
    CHECK(r.failed() == std::vector<std::string>{"document"});
    CHECK_THAT(r.checks.back().detail, Catch::Contains(why));
  };
  fails_map([](Value& m) { m.insert(Value::text("extra"), Value::null()); }, "unknown field \"extra\"");
  fails_map([](Value& m) { m.as_map().erase(m.as_map().begin()); }, "missing mandatory field \"module_id\"");
  fails_map([](Value& m) { m.as_map()[2].second = Value::integer(-5); }, "timestamp");
  fails_map([](Value& m) { m.as_map()[3].second.as_map()[0].first = Value::text("0"); }, "PCR index");
  fails_map([](Value& m) { m.as_map()[0].second = Value::null(); }, "missing mandatory");
}

TEST_CASE("verify: policy — PCRs, nonce, public key, user data, maximum age") {
  const auto vs = vectors();
  const Vector& v = vs[0];  // nonce set, no public key
  const AttestationDocument d = parse_signed_document(v.bytes).document;
  VerifyOptions o = at_doc_time();
  o.policy.pcrs = {{0, d.pcrs.at(0)}, {8, d.pcrs.at(8)}};
  o.policy.nonce = from_hex(v.meta["nonce_hex"].get<std::string>());
  CHECK(verify_attestation(v.bytes, o).ok());

  o.policy.pcrs[0][0] ^= 1;
  auto r = verify_attestation(v.bytes, o);
  CHECK(r.failed() == std::vector<std::string>{"pcrs"});
  CHECK_THAT(r.checks.back().detail + r.checks[r.checks.size() - 2].detail, Catch::Contains("PCR0 is"));
  o.policy.pcrs = {{20, Bytes(48)}};
  CHECK(verify_attestation(v.bytes, o).failed() == std::vector<std::string>{"pcrs"});
  o.policy.pcrs.clear();

  o.policy.nonce = Bytes{1, 2, 3};
  CHECK(verify_attestation(v.bytes, o).failed() == std::vector<std::string>{"nonce"});
  o.policy.nonce.reset();
  o.policy.public_key = Bytes{1};
  CHECK(verify_attestation(v.bytes, o).failed() == std::vector<std::string>{"public_key"});
  o.policy.public_key.reset();

  // Age is measured at the chosen time, or now.
  o.policy.max_age_ms = 5 * 60 * 1000;
  o.now_ms = static_cast<std::int64_t>(d.timestamp_ms) + 4 * 60 * 1000;
  CHECK(verify_attestation(v.bytes, o).ok());
  o.now_ms = static_cast<std::int64_t>(d.timestamp_ms) + 6 * 60 * 1000;
  CHECK(verify_attestation(v.bytes, o).failed() == std::vector<std::string>{"max_age"});
  o.now_ms = static_cast<std::int64_t>(d.timestamp_ms) - 10 * 60 * 1000;
  CHECK(verify_attestation(v.bytes, o).failed() == std::vector<std::string>{"max_age"});

  // The debug-mode document carries public_key and user_data.
  const Vector& dbg = vs[1];
  VerifyOptions p = at_doc_time();
  p.policy.public_key = from_hex(dbg.meta["public_key_hex"].get<std::string>());
  p.policy.user_data = from_hex(dbg.meta["user_data_hex"].get<std::string>());
  CHECK(verify_attestation(dbg.bytes, p).ok());
  p.policy.nonce = Bytes{};
  CHECK(verify_attestation(dbg.bytes, p).failed() == std::vector<std::string>{"nonce"});
}

TEST_CASE("verify: expected PCR files") {
  const std::string h48(96, 'a');
  auto m = parse_expected_pcrs(R"({"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": ")" + h48 +
                                   R"(", "PCR8": ")" + h48 + R"("}})",
                               "describe.json");
  CHECK(m.size() == 2);
  CHECK(m.at(8) == Bytes(48, 0xaa));
  CHECK(parse_expected_pcrs(R"({"PCR2": ")" + h48 + R"("})", "pcrs.json").count(2) == 1);
  CHECK(parse_expected_pcrs(R"([{"index": 3, "value": ")" + h48 + R"("}])", "list.json").count(3) == 1);
  CHECK(parse_expected_pcrs("# comment\nPCR0=" + h48 + "\n 4: " + h48 + "\n", "list.txt").size() == 2);
  CHECK_THROWS_WITH(parse_expected_pcrs("PCR32=" + h48, "x"), Catch::Contains("above 31"));
  CHECK_THROWS_WITH(parse_expected_pcrs("PCR1=abcd", "x"), Catch::Contains("2 bytes"));
  CHECK_THROWS_WITH(parse_expected_pcrs("junk", "x.txt"), Catch::Contains("x.txt:1"));
  CHECK_THROWS_WITH(parse_expected_pcrs("{}", "e.json"), Catch::Contains("no PCRs"));
  CHECK_THROWS_WITH(parse_expected_pcrs("{", "e.json"), Catch::Contains("e.json"));
}

TEST_CASE("timefmt: RFC 3339 and durations") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("2022-10-13T08:58:02.136Z") == 1665651482136);
  CHECK(parse_rfc3339("2022-10-13T10:58:02.136+02:00") == 1665651482136);
  CHECK(parse_rfc3339("2022-10-13t08:58:02.1z") == 1665651482100);
  CHECK(parse_rfc3339("2000-02-29T00:00:00Z") == 951782400000);
  CHECK(format_rfc3339(1665651482136) == "2022-10-13T08:58:02.136Z");
  CHECK(format_rfc3339(951782400000) == "2000-02-29T00:00:00.000Z");
  CHECK_THROWS(parse_rfc3339("2022-02-30T00:00:00Z"));
  CHECK_THROWS(parse_rfc3339("2022-10-13T08:58:02"));
  CHECK_THROWS(parse_rfc3339("2022-10-13T08:58Z"));
  CHECK_THROWS(parse_rfc3339("2022-10-13T08:58:02Zjunk"));
  CHECK(parse_duration("90") == 90000);
  CHECK(parse_duration("1h30m") == 5400000);
  CHECK(parse_duration("250ms") == 250);
  CHECK(parse_duration("2d") == 172800000);
  CHECK_THROWS(parse_duration(""));
  CHECK_THROWS(parse_duration("5y"));
  CHECK_THROWS(parse_duration("m"));
}

TEST_CASE("verify: printable() keeps UTF-8 and escapes everything else") {
  CHECK(printable("abc \xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80") == "abc \xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(printable("a\x1b[31m") == "a\\x1b[31m");
  CHECK(printable("\xff\xc3") == "\\xff\\xc3");
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a UTF-16 surrogate
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");          // overlong
  CHECK(printable(std::string(600, 'x')).size() == 515);
  // A document whose module_id is not UTF-8 still yields valid JSON.
  const Bytes doc = read_file(kDocs / "evervault_2022-10-13_nondebug.cbor");
  const Bytes bad = with_document(doc, [](AttestationDocument& d) { d.module_id = "i-\xff\x01"; });
  const std::string json = verify_attestation(bad, at_doc_time()).to_json().dump();
  CHECK_THAT(json, Catch::Contains("i-\\\\xff\\\\x01"));
}
