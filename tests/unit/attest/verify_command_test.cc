#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attest/document.h"
#include "attest/verify_command.h"
#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

using namespace ef;
namespace fs = std::filesystem;

namespace {

const fs::path kDocs = fs::path(EF_VECTORS_DIR) / "nitro_attestation";
const std::string kDoc = (kDocs / "evervault_2022-10-13_nondebug.cbor").string();

struct Run {
  int rc;
  std::string out;
};

Run run(std::vector<std::string> args) {
  std::ostringstream out;
  int rc = attest::run_verify_attestation_command(std::move(args), out);
  return {rc, out.str()};
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("ef_vcmd_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path / name;
    write_file_atomic(p, text);
    return p.string();
  }
};

std::string pcr0_hex() {
  return to_hex(attest::parse_signed_document(read_file(kDoc)).document.pcrs.at(0));
}

}  // namespace

TEST_CASE("verify-attestation: a real document at its own time passes; now fails validity") {
  Run r = run({kDoc, "--at", "doc"});
  CHECK(r.rc == 0);
  CHECK_THAT(r.out, Catch::Contains(": OK") && Catch::Contains("ok    signature") &&
                        Catch::Contains("i-020b6af9246d90e92-enc0183d09086c24190") && Catch::Contains("PCR0"));
  r = run({kDoc});
  CHECK(r.rc == 1);
  CHECK_THAT(r.out, Catch::Contains("FAIL  validity") && Catch::Contains("failed checks: validity chain"));
  CHECK(run({kDoc, "--at", "2022-10-13T09:00:00Z"}).rc == 0);
  CHECK(run({kDoc, "--at", "2022-10-13T12:00:00Z"}).rc == 1);
}

TEST_CASE("verify-attestation: policy options and JSON output") {
  TempDir tmp;
  const std::string describe =
      tmp.write("describe.json", R"({"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": ")" + pcr0_hex() + "\"}}");
  Run r = run({kDoc, "--at", "doc", "--expect-pcrs", describe, "--json"});
  CHECK(r.rc == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["ok"] == true);
  CHECK(j["document"]["pcrs"]["0"] == pcr0_hex());
  CHECK(j["verification_time"] == "2022-10-13T08:58:02.136Z");

  std::string wrong = pcr0_hex();
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  const std::string bad = tmp.write("bad.txt", "PCR0=" + wrong + "\n");
  r = run({kDoc, "--at", "doc", "--expect-pcrs", bad, "--nonce", "00", "--json"});
  CHECK(r.rc == 1);
  j = nlohmann::json::parse(r.out);
  std::vector<std::string> failed;
  for (const auto& c : j["checks"])
    if (!c["ok"].get<bool>()) failed.push_back(c["name"]);
  CHECK(failed == std::vector<std::string>{"pcrs", "nonce"});

  CHECK(run({kDoc, "--at", "doc", "--max-age", "1h"}).rc == 1);  // measured against now
  CHECK(run({kDoc, "--at", "2022-10-13T09:00:00Z", "--max-age", "5m"}).rc == 0);
  CHECK(run({kDoc, "--at", "2022-10-13T09:10:00Z", "--max-age", "5m"}).rc == 1);
}

TEST_CASE("verify-attestation: base64 and hex inputs, wrong root, usage errors") {
  TempDir tmp;
  const Bytes raw = read_file(kDoc);
  const std::string hex = tmp.write("doc.hex", to_hex(raw) + "\n");
  CHECK(run({hex, "--at", "doc"}).rc == 0);
  // base64 through the openssl CLI, an independent encoder.
  const std::string b64 = (tmp.path / "doc.b64").string();
  REQUIRE(std::system(("openssl base64 -in " + kDoc + " -out " + b64).c_str()) == 0);
  CHECK(run({b64, "--at", "doc"}).rc == 0);

  const std::string other_root = tmp.write("root.pem", read_text_file(fs::path(EF_VECTORS_DIR) / "eif_selfgenerated/signing_cert.pem"));
  Run r = run({kDoc, "--at", "doc", "--root", other_root});
  CHECK(r.rc == 1);
  CHECK_THAT(r.out, Catch::Contains("FAIL  root"));

  CHECK(run({}).rc == 2);
  CHECK(run({kDoc, "--bogus"}).rc == 2);
  CHECK_THROWS_WITH(run({kDoc, "--at", "yesterday"}), Catch::Contains("RFC 3339"));
  CHECK_THROWS_AS(run({(tmp.path / "missing").string()}), SysError);
  CHECK_THROWS_WITH(run({kDoc, "--nonce", "xyz"}), Catch::Contains("--nonce"));
  const std::string junk = tmp.write("junk", "hello world");
  CHECK(run({junk}).rc == 1);
}
