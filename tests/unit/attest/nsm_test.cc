#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "attest/cbor.h"
#include "attest/document.h"
#include "attest/nsm.h"
#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "attest/verify.h"
#include "attest/verify_command.h"
#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

using namespace ef;
using namespace ef::attest;
namespace fs = std::filesystem;
using nsm::ErrorCode;

namespace {

/// Hex of a text string's CBOR: head + UTF-8 (computed here by hand, not by the codec).
std::string tstr(const std::string& s) {
  std::string h = to_hex(std::vector<std::uint8_t>{static_cast<std::uint8_t>(0x60 + s.size())});
  return h + to_hex(std::vector<std::uint8_t>(s.begin(), s.end()));
}

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("ef_nsm_" + std::to_string(getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

const std::string kPcrsJson = R"({"HashAlgorithm": "Sha384 { ... }",
  "PCR0": ")" + std::string(96, 'a') + R"(",
  "PCR1": ")" + std::string(96, 'b') + R"(",
  "PCR2": ")" + std::string(96, 'c') + R"("})";

mode_t mode_of(const fs::path& p) {
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

template <typename Fn>
ErrorCode nsm_code(Fn&& fn) {
  try {
    fn();
  } catch (const nsm::NsmError& e) {
    return e.code();
  }
  FAIL("no NsmError");
  return ErrorCode::kSuccess;
}

/// A transport answering fixed bytes, recording the request.
struct CannedTransport : nsm::NsmTransport {
  Bytes answer;
  Bytes* seen;
  CannedTransport(Bytes a, Bytes* s) : answer(std::move(a)), seen(s) {}
  Bytes exchange(std::span<const std::uint8_t> request) override {
    seen->assign(request.begin(), request.end());
    return answer;
  }
};

}  // namespace

TEST_CASE("nsm protocol: requests encode as serde_cbor writes the Rust enums") {
  using namespace nsm;
  CHECK(to_hex(encode_request(req::DescribeNsm{})) == tstr("DescribeNSM"));
  CHECK(to_hex(encode_request(req::GetRandom{})) == tstr("GetRandom"));
  CHECK(to_hex(encode_request(req::DescribePcr{16})) == "a1" + tstr("DescribePCR") + "a1" + tstr("index") + "10");
  CHECK(to_hex(encode_request(req::ExtendPcr{300, {1, 2}})) ==
        "a1" + tstr("ExtendPCR") + "a2" + tstr("index") + "19012c" + tstr("data") + "420102");
  CHECK(to_hex(encode_request(req::LockPcrs{16})) == "a1" + tstr("LockPCRs") + "a1" + tstr("range") + "10");
  CHECK(to_hex(encode_request(req::Attestation{Bytes{0xab}, std::nullopt, std::nullopt})) ==
        "a1" + tstr("Attestation") + "a3" + tstr("user_data") + "41ab" + tstr("nonce") + "f6" + tstr("public_key") + "f6");
}

TEST_CASE("nsm protocol: responses decode, errors by name, malformed answers rejected") {
  using namespace nsm;
  auto err = decode_response(from_hex("a1" + tstr("Error") + tstr("ReadOnlyIndex")));
  REQUIRE(std::holds_alternative<resp::Error>(err));
  CHECK(std::get<resp::Error>(err).code == ErrorCode::kReadOnlyIndex);
  auto lock = decode_response(from_hex(tstr("LockPCR")));
  CHECK(std::holds_alternative<resp::LockPcr>(lock));
  auto pcr = decode_response(from_hex("a1" + tstr("DescribePCR") + "a2" + tstr("lock") + "f5" + tstr("data") + "420102"));
  REQUIRE(std::holds_alternative<resp::DescribePcr>(pcr));
  CHECK(std::get<resp::DescribePcr>(pcr).lock);
  CHECK(std::get<resp::DescribePcr>(pcr).data == Bytes{1, 2});

  CHECK_THROWS_AS(decode_response(from_hex(tstr("Bogus"))), FormatError);
  CHECK_THROWS_AS(decode_response(from_hex("a1" + tstr("Error") + tstr("Nope"))), FormatError);
  CHECK_THROWS_AS(decode_response(from_hex("a1" + tstr("DescribePCR") + "a1" + tstr("lock") + "f5")), FormatError);
  CHECK_THROWS_AS(decode_response(from_hex("01")), FormatError);
  CHECK_THROWS_AS(decode_response(from_hex(tstr("LockPCR") + "00")), FormatError);
  CHECK_THROWS_AS(decode_request(from_hex("a1" + tstr("DescribePCR") + "a1" + tstr("index") + "1a00010000")), FormatError);

  // Every variant survives encode/decode on both sides.
  const std::vector<Request> requests = {req::DescribePcr{3}, req::ExtendPcr{17, {9, 9}}, req::LockPcr{18},
                                         req::LockPcrs{20},   req::DescribeNsm{},          req::GetRandom{},
                                         req::Attestation{std::nullopt, Bytes{1}, Bytes{2, 3}}};
  for (const auto& r : requests) CHECK(encode_request(decode_request(encode_request(r))) == encode_request(r));
  resp::DescribeNsm d;
  d.module_id = "m";
  d.locked_pcrs = {0, 1, 15};
  const std::vector<Response> responses = {resp::DescribePcr{true, Bytes(48, 1)}, resp::ExtendPcr{Bytes(48, 2)},
                                           resp::LockPcr{}, resp::LockPcrs{}, d, resp::Attestation{Bytes{5}},
                                           resp::GetRandom{Bytes(4, 7)}, resp::Error{ErrorCode::kInvalidIndex}};
  for (const auto& r : responses) CHECK(encode_response(decode_response(encode_response(r))) == encode_response(r));
}

TEST_CASE("nsm client: sizes, error mapping, bad answers") {
  Bytes seen;
  nsm::NsmClient c(std::make_unique<CannedTransport>(from_hex("a1" + tstr("Error") + tstr("InvalidIndex")), &seen));
  CHECK(nsm_code([&] { c.describe_pcr(40); }) == ErrorCode::kInvalidIndex);
  CHECK(seen == nsm::encode_request(nsm::req::DescribePcr{40}));
  CHECK(nsm_code([&] { c.attestation({Bytes(513), std::nullopt, std::nullopt}); }) == ErrorCode::kInputTooLarge);
  CHECK(nsm_code([&] { c.attestation({std::nullopt, Bytes(513), std::nullopt}); }) == ErrorCode::kInputTooLarge);
  CHECK(nsm_code([&] { c.attestation({std::nullopt, std::nullopt, Bytes(1025)}); }) == ErrorCode::kInputTooLarge);
  CHECK(nsm_code([&] { c.extend_pcr(16, Bytes(5000)); }) == ErrorCode::kInputTooLarge);

  nsm::NsmClient garbage(std::make_unique<CannedTransport>(Bytes{0xff}, &seen));
  CHECK(nsm_code([&] { garbage.get_random(); }) == ErrorCode::kInvalidResponse);
  nsm::NsmClient other(std::make_unique<CannedTransport>(from_hex(tstr("LockPCR")), &seen));
  CHECK(nsm_code([&] { other.get_random(); }) == ErrorCode::kInvalidResponse);

  CHECK_THROWS_AS(nsm::DevNsmTransport("/nonexistent/nsm"), SysError);
}

TEST_CASE("simulated NSM: PCR semantics through the client and the byte protocol") {
  TempDir tmp;
  SimulatedNsm sim(load_or_create_dev_ca(tmp.path / "ca", now_ms()), load_boot_pcrs(kPcrsJson, "pcrs.json"));
  nsm::NsmClient c(std::make_unique<nsm::LoopbackTransport>(sim));

  CHECK(c.describe_pcr(0).lock);
  CHECK(c.describe_pcr(0).data == Bytes(48, 0xaa));
  CHECK(c.describe_pcr(2).data == Bytes(48, 0xcc));
  CHECK(c.describe_pcr(15).lock);
  CHECK_FALSE(c.describe_pcr(16).lock);
  CHECK(c.describe_pcr(16).data == Bytes(48, 0));

  const Bytes d1 = {'h', 'e', 'l', 'l', 'o'};
  Bytes expected = Bytes(48, 0);
  expected.insert(expected.end(), d1.begin(), d1.end());
  const Bytes v1 = digest(HashAlgo::kSha384, expected);
  CHECK(c.extend_pcr(16, d1) == v1);
  Bytes again = v1;
  again.insert(again.end(), d1.begin(), d1.end());
  CHECK(c.extend_pcr(16, d1) == digest(HashAlgo::kSha384, again));

  CHECK(nsm_code([&] { c.extend_pcr(0, d1); }) == ErrorCode::kReadOnlyIndex);
  CHECK(nsm_code([&] { c.extend_pcr(32, d1); }) == ErrorCode::kInvalidIndex);
  CHECK(nsm_code([&] { c.describe_pcr(32); }) == ErrorCode::kInvalidIndex);
  CHECK(nsm_code([&] { c.lock_pcrs(33); }) == ErrorCode::kInvalidIndex);
  c.lock_pcr(16);
  CHECK(nsm_code([&] { c.extend_pcr(16, d1); }) == ErrorCode::kReadOnlyIndex);
  c.lock_pcrs(20);
  auto desc = c.describe_nsm();
  CHECK(desc.max_pcrs == 32);
  CHECK(desc.digest == "SHA384");
  CHECK(desc.locked_pcrs.size() == 20);
  CHECK(c.get_random().size() == 256);
  CHECK(c.get_random() != c.get_random());

  // The module answers malformed or oversized requests with errors, not exceptions.
  auto answer = nsm::decode_response(nsm::serve_bytes(sim, Bytes{0xff, 0x00}));
  CHECK(std::get<nsm::resp::Error>(answer).code == ErrorCode::kInvalidArgument);
  answer = nsm::decode_response(nsm::serve_bytes(
      sim, nsm::encode_request(nsm::req::Attestation{Bytes(600), std::nullopt, std::nullopt})));
  CHECK(std::get<nsm::resp::Error>(answer).code == ErrorCode::kInputTooLarge);
}

TEST_CASE("simulated NSM: documents verify against the dev root, not the AWS root") {
  TempDir tmp;
  std::int64_t clock = parse_rfc3339("2026-01-01T00:00:00Z");
  SimNsmOptions opts;
  opts.clock = [&] { return clock; };
  opts.module_id = "i-0123456789abcdef0-enc0123456789abcdef";
  SimulatedNsm sim(load_or_create_dev_ca(tmp.path / "ca", clock), load_boot_pcrs(kPcrsJson, "pcrs.json"), opts);
  nsm::NsmClient c(std::make_unique<nsm::LoopbackTransport>(sim));
  c.extend_pcr(20, Bytes{1});
  c.lock_pcr(20);
  const Bytes nonce = {1, 2, 3, 4};
  const Bytes doc = c.attestation({Bytes{'u'}, nonce, Bytes{'k'}});

  VerifyOptions o;
  o.now_ms = clock + 1000;
  o.trusted_roots = {sim.root_der()};
  o.policy.pcrs = parse_expected_pcrs(kPcrsJson, "pcrs.json");
  o.policy.nonce = nonce;
  o.policy.max_age_ms = 60'000;
  VerifyResult r = verify_attestation(doc, o);
  INFO(r.to_json().dump(1));
  CHECK(r.ok());
  REQUIRE(r.document);
  CHECK(r.document->module_id == opts.module_id);
  CHECK(r.document->timestamp_ms == static_cast<std::uint64_t>(clock));
  CHECK(r.document->pcrs.size() == 17);  // 0..15 and the locked 20
  CHECK(r.document->pcrs.count(20) == 1);
  CHECK(r.document->user_data == Bytes{'u'});
  CHECK(r.document->public_key == Bytes{'k'});
  CHECK(r.document->cabundle.size() == 2);

  VerifyOptions aws = o;
  aws.trusted_roots.clear();
  r = verify_attestation(doc, aws);
  CHECK_FALSE(r.ok());
  CHECK(r.failed() == std::vector<std::string>{"root", "chain"});

  // Hours later the leaf has been re-issued and new documents still verify then.
  const Bytes leaf_before = parse_signed_document(doc).document.certificate;
  clock += 3 * 3'600'000;
  const Bytes later = c.attestation({});
  CHECK(parse_signed_document(later).document.certificate != leaf_before);
  o.now_ms = clock;
  o.policy = {};
  CHECK(verify_attestation(later, o).ok());
  // ...while the first document's leaf has expired by now.
  CHECK(verify_attestation(doc, o).failed() == std::vector<std::string>{"validity", "chain"});

  // The command with --root dev-root.pem accepts; with the AWS root it refuses.
  const fs::path doc_path = tmp.path / "doc.cbor";
  write_file_atomic(doc_path, std::string(later.begin(), later.end()));
  const std::string at = format_rfc3339(clock);
  std::ostringstream out;
  CHECK(run_verify_attestation_command({doc_path.string(), "--root", (tmp.path / "ca" / "dev-root.pem").string(), "--at", at},
                                       out) == 0);
  std::ostringstream out2;
  CHECK(run_verify_attestation_command({doc_path.string(), "--at", at}, out2) == 1);
  CHECK_THAT(out2.str(), Catch::Contains("FAIL  root"));
}

TEST_CASE("dev CA: created once with private modes, reloaded, refused when exposed") {
  TempDir tmp;
  const fs::path dir = tmp.path / "state" / "dev-ca";
  const std::int64_t now = now_ms();
  DevCa ca = load_or_create_dev_ca(dir, now);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir / "dev-root.key") == 0600);
  CHECK(mode_of(dir / "dev-intermediate.key") == 0600);
  const Bytes root = ossl::cert_to_der(ca.root.get());
  CHECK(ossl::cert_to_der(load_or_create_dev_ca(dir, now).root.get()) == root);

  // The chain the CA issues is valid by OpenSSL's own command-line verifier too.
  IssuedCert leaf = issue_leaf(ca, "leaf.example", now, 3'600'000);
  write_file_atomic(tmp.path / "leaf.pem", ossl::cert_to_pem(leaf.cert.get()));
  const std::string cmd = "openssl verify -x509_strict -CAfile " + (dir / "dev-root.pem").string() + " -untrusted " +
                          (dir / "dev-intermediate.pem").string() + " " + (tmp.path / "leaf.pem").string() +
                          " >/dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);

  ::chmod((dir / "dev-root.key").c_str(), 0644);
  CHECK_THROWS_WITH(load_or_create_dev_ca(dir, now), Catch::Contains("dev-root.key has mode 644"));
  ::chmod((dir / "dev-root.key").c_str(), 0600);
  ::chmod(dir.c_str(), 0755);
  CHECK_THROWS_WITH(load_or_create_dev_ca(dir, now), Catch::Contains("mode 755"));
}

TEST_CASE("simulated NSM: boot PCR files") {
  auto pcrs = load_boot_pcrs(kPcrsJson, "pcrs.json");
  CHECK(pcrs.size() == 3);
  CHECK_THROWS_WITH(load_boot_pcrs(R"({"PCR0": ")" + std::string(64, 'a') + "\"}", "p.json"),
                    Catch::Contains("SHA-384"));
}
