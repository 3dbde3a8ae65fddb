// Provenance pieces that third-party tools judge: package URLs, source URIs,
// dpkg/apt output parsing, DSSE base64 and hash choice, the policy rules, and
// the package comparison `rbuild reproduce` reports.
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <catch2/catch.hpp>

#include "base/error.h"
#include "base/hash.h"
#include "builder/build_environment.h"
#include "builder/package_info.h"
#include "builder/policy.h"
#include "builder/provenance.h"
#include "builder/reproduce.h"
#include "builder/source_info.h"

using namespace ef;
using namespace ef::build;

namespace {

EVP_PKEY* ec_key(const char* curve) { return EVP_EC_gen(curve); }

bool verify_with(EVP_PKEY* key, const EVP_MD* md, const std::string& sig, const std::string& msg) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace

TEST_CASE("package URLs follow the purl spec for Debian packages") {
  // The purl spec's own deb example: pkg:deb/debian/curl@7.50.3-1?arch=i386
  CHECK(deb_purl({"curl", "7.50.3-1", "i386", "curl", "7.50.3-1"}) == "pkg:deb/debian/curl@7.50.3-1?arch=i386");
  // An epoch's ':' and a '+' are percent-encoded in the version.
  CHECK(deb_purl({"g++", "4:12.2.0-3", "amd64", "gcc-defaults", "1.203"}) ==
        "pkg:deb/debian/g%2B%2B@4%3A12.2.0-3?arch=amd64");
  CHECK(snapshot_url({"libc6", "2.36-9+deb12u4", "amd64", "glibc", "2.36-9+deb12u4"}) ==
        "https://snapshot.debian.org/package/glibc/2.36-9%2Bdeb12u4/");
}

TEST_CASE("dpkg and apt output is parsed as the tools print it") {
  auto owners = parse_dpkg_search(
      "linux-image-6.1.0-57-cloud-amd64: /boot/vmlinuz-6.1.0-57-cloud-amd64\n"
      "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n"
      "diversion by dash from: /bin/sh\n"
      "libfoo1, libfoo-dev: /usr/share/doc/foo\n");
  CHECK(owners.at("/boot/vmlinuz-6.1.0-57-cloud-amd64") == "linux-image-6.1.0-57-cloud-amd64");
  CHECK(owners.at("/lib/x86_64-linux-gnu/libc.so.6") == "libc6");
  CHECK(owners.at("/usr/share/doc/foo") == "libfoo1");
  CHECK(owners.count("/bin/sh") == 0);

  auto pkgs = parse_dpkg_query("libc6\t2.36-9+deb12u14\tamd64\tglibc\t2.36-9+deb12u14\tii \n"
                               "gone\t1.0\tamd64\tgone\t1.0\trc \n");
  CHECK(pkgs.at("libc6").source == "glibc");
  CHECK(pkgs.count("gone") == 0);  // removed, config files only: not installed

  auto versions = parse_madison("     libc6 | 2.36-9+deb12u14 | http://deb.debian.org/debian bookworm/main amd64 Packages\n"
                                "     libc6 | 2.36-9+deb12u7 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages\n");
  CHECK(versions == std::vector<std::string>{"2.36-9+deb12u14", "2.36-9+deb12u7"});
}

TEST_CASE("source URIs carry no credentials and are URIs") {
  CHECK(source_uri_from_remote("https://user:ghp_secret@github.com/o/r.git", "/x") == "git+https://github.com/o/r.git");
  CHECK(source_uri_from_remote("https://github.com/o/r", "/x") == "git+https://github.com/o/r");
  CHECK(source_uri_from_remote("git@github.com:o/r.git", "/x") == "git+ssh://git@github.com/o/r.git");
  CHECK(source_uri_from_remote("/srv/git/r", "/x") == "git+file:///srv/git/r");
  CHECK(file_uri("/boot/vmlinuz") == "file:///boot/vmlinuz");
  CHECK(file_uri("in/a b") == "file:in/a%20b");
}

TEST_CASE("dependencies get a package URL, a source URI or a file URI") {
  LockedInput kernel{"kernel", "file", "/boot/vmlinuz-x", "/boot/vmlinuz-x", {std::string(64, 'a'), 10}};
  LockedInput init{"runtimes.init.binary", "file", "../build/runtime/init", "/co/build/runtime/init", {std::string(64, 'b'), 5}};
  LockedInput conf{"rootfs[0]", "directory", "default/rootfs", "/co/specs/default/rootfs", {std::string(64, 'c'), 3}};
  LockedInput other{"rootfs[1]", "file", "in/x", "/tmp/in/x", {std::string(64, 'd'), 1}};
  BuildEnvironment env;
  env.source = SourceInfo{"git+https://h/r", std::string(40, 'e'), true, "main", 1000, "/co"};
  env.input_package["kernel"] = {"linux-image-x", "1.0-1", "amd64", "linux-signed", "1.0-1"};
  env.input_repo_path["runtimes.init.binary"] = "build/runtime/init";
  env.input_target["runtimes.init.binary"] = "init";
  env.input_repo_path["rootfs[0]"] = "specs/default/rootfs";
  auto deps = dependencies_json({kernel, init, conf, other}, env);
  CHECK(deps[0]["uri"] == "pkg:deb/debian/linux-image-x@1.0-1?arch=amd64");
  CHECK(deps[0]["annotations"]["path"] == "/boot/vmlinuz-x");
  CHECK(deps[1]["uri"] == "git+https://h/r@" + std::string(40, 'e'));
  CHECK(deps[1]["annotations"]["cmakeTarget"] == "init");
  CHECK(deps[2]["uri"] == "git+https://h/r@" + std::string(40, 'e') + "#specs/default/rootfs");
  CHECK(deps[3]["uri"] == "file:in/x");
  CHECK(deps[4]["name"] == "source");
  CHECK(deps[4]["digest"]["gitCommit"] == std::string(40, 'e'));
}

TEST_CASE("DSSE: PAE, URL-safe base64 and the curve's hash") {
  // The DSSE spec's example PAE.
  CHECK(dsse_pae("http://example.com/HelloWorld", "hello world") == "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  CHECK(dsse_base64_decode("+/8=", "t") == std::string("\xfb\xff"));
  CHECK(dsse_base64_decode("-_8", "t") == std::string("\xfb\xff"));
  CHECK(dsse_base64_decode("aGVsbG8", "t") == "hello");
  CHECK_THROWS_WITH(dsse_base64_decode("aGV*bG8=", "env.json: payload"), Catch::Contains("offset 3"));
  CHECK_THROWS_AS(dsse_base64_decode("a=bc", "t"), Error);

  for (auto [curve, md] : {std::pair{"P-256", EVP_sha256()}, std::pair{"P-384", EVP_sha384()}}) {
    EVP_PKEY* key = ec_key(curve);
    REQUIRE(key);
    std::string statement = R"({"_type":"https://in-toto.io/Statement/v1"})";
    auto env = dsse_envelope(statement, key, "kid");
    std::string sig = dsse_base64_decode(env["signatures"][0]["sig"].get<std::string>(), "sig");
    std::string pae = dsse_pae(kInTotoPayloadType, statement);
    CHECK(verify_with(key, md, sig, pae));  // independently, with the curve's hash named here
    CHECK_NOTHROW(dsse_verify_key(env.dump(), key, "env.json"));
    // The URL-safe, unpadded form of the same envelope verifies too.
    auto url = env;
    for (auto* f : {&url["payload"], &url["signatures"][0]["sig"]}) {
      std::string s = f->get<std::string>();
      for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
      while (!s.empty() && s.back() == '=') s.pop_back();
      *f = s;
    }
    CHECK_NOTHROW(dsse_verify_key(url.dump(), key, "env.json"));
    auto flipped = env;
    std::string p = dsse_base64_decode(env["payload"].get<std::string>(), "p");
    p[5] ^= 1;
    std::string b64(4 * ((p.size() + 2) / 3) + 1, '\0');
    b64.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                                        reinterpret_cast<const unsigned char*>(p.data()),
                                                        static_cast<int>(p.size()))));
    flipped["payload"] = b64;
    CHECK_THROWS_WITH(dsse_verify_key(flipped.dump(), key, "env.json"), Catch::Contains("signatures[0]"));
    EVP_PKEY_free(key);
  }
}

TEST_CASE("policy files: errors name file:line:key") {
  CHECK_THROWS_WITH(parse_policy("builder_id: x\nbogus: 1\n", "p.yaml", "/"), Catch::Contains("p.yaml:2") && Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(parse_policy("source:\n  clean: maybe\n", "p.yaml", "/"), Catch::Contains("p.yaml:2") && Catch::Contains("source.clean"));
  CHECK_THROWS_WITH(parse_policy("max_age: soon\n", "p.yaml", "/"), Catch::Contains("max_age"));
  CHECK_THROWS_WITH(parse_policy("pcrs:\n  PCR3: ab\n", "p.yaml", "/"), Catch::Contains("pcrs.PCR3"));
  CHECK_THROWS_WITH(parse_policy("signers:\n  - certificate_sha256: 12\n", "p.yaml", "/"), Catch::Contains("64 hex digits"));
  CHECK_THROWS_WITH(parse_policy("", "p.yaml", "/"), Catch::Contains("empty"));
  CHECK(parse_duration("90d") == 90 * 86400);
  CHECK(parse_duration("12h") == 12 * 3600);
  CHECK(parse_duration("45") == 45);
  CHECK(!parse_duration("-5s"));
}

TEST_CASE("policy rules: each one passes and fails on its own fact") {
  ProvenanceClaims c;
  c.builder_id = "https://github.com/enclave-framework/rbuild@0.1.0";
  c.spec = {{"source_date_epoch", 1000}};
  c.dependencies = nlohmann::json::parse(R"([{"name":"source","uri":"git+https://h/r.git@)" + std::string(40, 'a') +
                                         R"(","digest":{"gitCommit":")" + std::string(40, 'a') +
                                         R"("},"annotations":{"treeClean":false,"commitTime":5000,"branch":"dev"}}])");
  PolicySubject s;
  s.claims = &c;
  s.pcrs = {{"PCR0", std::string(96, '1')}};
  auto one = [&](const std::string& yaml, std::int64_t now = 6000) {
    auto checks = evaluate_policy(parse_policy(yaml, "p.yaml", "/"), s, now);
    REQUIRE(checks.size() == 1);
    return checks[0];
  };
  CHECK(one("builder_id: https://github.com/enclave-framework/rbuild@0.1.0\n").ok);
  CHECK_FALSE(one("builder_id: https://other\n").ok);
  CHECK(one("builder_id_prefix: https://github.com/enclave-framework/rbuild@\n").ok);
  CHECK(one("source: {repository: 'https://h/r'}\n").ok);
  Check repo = one("source: {repository: 'https://h/other'}\n");
  CHECK_FALSE(repo.ok);
  CHECK(repo.name == "policy.source.repository");
  CHECK_THAT(repo.detail, Catch::Contains("p.yaml:1"));
  CHECK(one("source: {commits: [aaaaaaa]}\n").ok);
  CHECK_FALSE(one("source: {commits: [bbbbbbb]}\n").ok);
  CHECK_FALSE(one("source: {branches: [main]}\n").ok);
  CHECK(one("source: {branches: [main, dev]}\n").ok);
  CHECK_FALSE(one("source: {clean: true}\n").ok);
  CHECK(one("pcrs: {PCR0: " + std::string(96, '1') + "}\n").ok);
  CHECK_FALSE(one("pcrs: {PCR0: " + std::string(96, '2') + "}\n").ok);
  CHECK(one("max_age: 2000s\n").ok);           // commit at 5000, now 6000
  CHECK_FALSE(one("max_age: 999s\n").ok);
  Check sig = one("signers: [{certificate_sha256: " + std::string(64, 'a') + "}]\n");
  CHECK_FALSE(sig.ok);
  CHECK_THAT(sig.detail, Catch::Contains("not signed"));
  s.claims = nullptr;
  CHECK_THAT(one("builder_id: x\n").detail, Catch::Contains("could not be read"));
}

TEST_CASE("reproduce: recorded packages compared with the machine, with the way to each missing one") {
  FakePackageDb db;
  db.packages["libc6"] = {"libc6", "2.36-9+deb12u14", "amd64", "glibc", "2.36-9+deb12u14"};
  db.packages["busybox-static"] = {"busybox-static", "1:1.35.0-4+b4", "amd64", "busybox", "1:1.35.0-4"};
  db.archive["libc6"] = {"2.36-9+deb12u14"};
  db.archive["busybox-static"] = {"1:1.35.0-4+b4", "1:1.35.0-4+b3"};
  std::vector<DebPackage> recorded{{"libc6", "2.36-9+deb12u4", "amd64", "glibc", "2.36-9+deb12u4"},
                                   {"busybox-static", "1:1.35.0-4+b3", "amd64", "busybox", "1:1.35.0-4"},
                                   {"linux-image-x", "1.0", "amd64", "linux-signed-amd64", "1.0"}};
  db.packages["linux-image-x"] = recorded[2];
  auto checks = compare_packages(recorded, db);
  REQUIRE(checks.size() == 3);
  CHECK(checks[0].status == "unavailable");
  CHECK_THAT(checks[0].detail, Catch::Contains("2.36-9+deb12u14") &&
                                   Catch::Contains("https://snapshot.debian.org/package/glibc/2.36-9%2Bdeb12u4/"));
  CHECK(checks[1].status == "differs");
  CHECK(checks[1].installed == "1:1.35.0-4+b4");
  CHECK(checks[2].status == "same");
}
