#include <catch2/catch.hpp>

#include "attest/websrv/http_error.h"
#include "attest/websrv/query.h"

using namespace ef::websrv;

namespace {
int status_of(const std::function<void()>& fn, std::string* field = nullptr) {
  try {
    fn();
  } catch (const HttpError& e) {
    if (field) *field = e.field();
    return e.status();
  }
  return 0;
}
}  // namespace

TEST_CASE("percent_decode: escapes, plus, and bad encodings are 400") {
  CHECK(percent_decode("a%20b%2Fc%2fd", false, "x") == "a b/c/d");
  CHECK(percent_decode("a+b", true, "x") == "a b");
  CHECK(percent_decode("a+b", false, "x") == "a+b");
  CHECK(percent_decode("%00", false, "x") == std::string(1, '\0'));
  CHECK(percent_decode("%ff", false, "x") == "\xff");
  std::string field;
  CHECK(status_of([] { percent_decode("%", false, "p"); }, &field) == 400);
  CHECK(field == "p");
  CHECK(status_of([] { percent_decode("abc%2", false, "p"); }) == 400);
  CHECK(status_of([] { percent_decode("%zz", false, "p"); }) == 400);
  CHECK(status_of([] { percent_decode("%g0", false, "p"); }) == 400);
}

TEST_CASE("Query: parameters, repeats, unknown names") {
  Query q = Query::parse("nonce=00ff&user_data=aGk%3D&&flag");
  CHECK(q.get("nonce") == "00ff");
  CHECK(q.get("user_data") == "aGk=");
  CHECK(q.get("flag") == "");
  CHECK_FALSE(q.get("missing"));
  CHECK(status_of([&] { q.allow_only({"nonce", "user_data", "flag"}); }) == 0);
  std::string field;
  CHECK(status_of([&] { q.allow_only({"nonce"}); }, &field) == 400);
  CHECK(field == "user_data");
  CHECK(status_of([] { Query::parse("a=1&a=2"); }) == 400);
  CHECK(status_of([] { Query::parse("a=%4"); }, &field) == 400);
  CHECK(field == "a");
}

TEST_CASE("parse_target: path decoding and validation") {
  Target t = parse_target("/v1/files/hash?path=%2Fetc%2Fpasswd");
  CHECK(t.path == "/v1/files/hash");
  CHECK(t.query.get("path") == "/etc/passwd");
  CHECK(parse_target("/v1/%70crs").path == "/v1/pcrs");
  CHECK(status_of([] { parse_target("v1/pcrs"); }) == 400);
  CHECK(status_of([] { parse_target("http://host/v1/pcrs"); }) == 400);
  CHECK(status_of([] { parse_target("/v1/%00"); }) == 400);
  CHECK(status_of([] { parse_target("/v1/%"); }) == 400);
  CHECK(status_of([] { parse_target(""); }) == 400);
}

TEST_CASE("hex and base64 parameters are strict and bounded") {
  CHECK(parse_hex_param("00Ff10", "n", 64) == Bytes{0x00, 0xff, 0x10});
  CHECK(parse_hex_param("", "n", 64).empty());
  CHECK(status_of([] { parse_hex_param("abc", "n", 64); }) == 400);
  CHECK(status_of([] { parse_hex_param("zz", "n", 64); }) == 400);
  CHECK(status_of([] { parse_hex_param(std::string(130, 'a'), "n", 64); }) == 400);
  CHECK(parse_hex_param(std::string(128, 'a'), "n", 64).size() == 64);

  // Expected values from RFC 4648 §10.
  CHECK(parse_base64_param("Zm9vYmFy", "u", 512) == Bytes{'f', 'o', 'o', 'b', 'a', 'r'});
  CHECK(parse_base64_param("Zm9vYg==", "u", 512) == Bytes{'f', 'o', 'o', 'b'});
  CHECK(parse_base64_param("Zm9vYg", "u", 512) == Bytes{'f', 'o', 'o', 'b'});
  CHECK(parse_base64_param("Zm8=", "u", 512) == Bytes{'f', 'o'});
  CHECK(parse_base64_param("-_8=", "u", 512) == Bytes{0xfb, 0xff});  // URL-safe alphabet
  CHECK(status_of([] { parse_base64_param("Zm9v!", "u", 512); }) == 400);
  CHECK(status_of([] { parse_base64_param("Z", "u", 512); }) == 400);
  CHECK(status_of([] { parse_base64_param("Zm9=", "u", 512); }) == 400);  // non-zero trailing bits
  CHECK(status_of([] { parse_base64_param("Zg===", "u", 512); }) == 400);
  CHECK(status_of([] { parse_base64_param(std::string(688, 'A'), "u", 512); }) == 400);
  CHECK(parse_base64_param(std::string(683, 'A') + "=", "u", 512).size() == 512);
  CHECK(base64_encode(Bytes{'f', 'o', 'o', 'b', 'a'}) == "Zm9vYmE=");
  CHECK(base64_encode(Bytes{}) == "");
}

TEST_CASE("file path parameters: absolute and normalised only") {
  CHECK(is_normalized_path("/"));
  CHECK(is_normalized_path("/etc/passwd"));
  CHECK(is_normalized_path("/a/.hidden/b..c"));
  CHECK_FALSE(is_normalized_path(""));
  CHECK_FALSE(is_normalized_path("etc/passwd"));
  CHECK_FALSE(is_normalized_path("/etc/../root"));
  CHECK_FALSE(is_normalized_path("/etc/./passwd"));
  CHECK_FALSE(is_normalized_path("/etc//passwd"));
  CHECK_FALSE(is_normalized_path("/etc/"));
  CHECK_FALSE(is_normalized_path("/.."));
  CHECK_FALSE(is_normalized_path(std::string("/a\0b", 4)));
  CHECK_FALSE(is_normalized_path("/" + std::string(4096, 'a')));
  CHECK(status_of([] { check_path_param("/../etc/shadow", "path"); }) == 400);
}
