#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "attest/cbor.h"
#include "base/error.h"
#include "base/hash.h"

using namespace ef;
using cbor::Value;

namespace {

cbor::Bytes hex(std::string_view h) { return from_hex(h); }
std::string enc(const Value& v) { return to_hex(cbor::encode(v)); }
Value dec(std::string_view h) { return cbor::decode(hex(h)); }

// RFC 8949 Appendix A: (diagnostic notation, encoding), for items whose
// preferred encoding is what we produce. Independent expected values.
const std::vector<std::pair<std::string, std::string>> kAppendixA = {
    {"0", "00"},
    {"1", "01"},
    {"10", "0a"},
    {"23", "17"},
    {"24", "1818"},
    {"25", "1819"},
    {"100", "1864"},
    {"1000", "1903e8"},
    {"1000000", "1a000f4240"},
    {"1000000000000", "1b000000e8d4a51000"},
    {"18446744073709551615", "1bffffffffffffffff"},
    {"-18446744073709551616", "3bffffffffffffffff"},
    {"-1", "20"},
    {"-10", "29"},
    {"-100", "3863"},
    {"-1000", "3903e7"},
    {"false", "f4"},
    {"true", "f5"},
    {"null", "f6"},
    {"undefined", "f7"},
    {"simple(16)", "f0"},
    {"simple(255)", "f8ff"},
    {"0(\"2013-03-21T20:04:00Z\")", "c074323031332d30332d32315432303a30343a30305a"},
    {"1(1363896240)", "c11a514b67b0"},
    {"23(h'01020304')", "d74401020304"},
    {"32(\"http://www.example.com\")", "d82076687474703a2f2f7777772e6578616d706c652e636f6d"},
    {"h''", "40"},
    {"h'01020304'", "4401020304"},
    {"\"\"", "60"},
    {"\"a\"", "6161"},
    {"\"IETF\"", "6449455446"},
    {"\"\\\"\\\\\"", "62225c"},
    {"\"\xc3\xbc\"", "62c3bc"},
    {"[]", "80"},
    {"[1, 2, 3]", "83010203"},
    {"[1, [2, 3], [4, 5]]", "8301820203820405"},
    {"{}", "a0"},
    {"{1: 2, 3: 4}", "a201020304"},
    {"{\"a\": 1, \"b\": [2, 3]}", "a26161016162820203"},
    {"[\"a\", {\"b\": \"c\"}]", "826161a161626163"},
    {"{\"a\": \"A\", \"b\": \"B\", \"c\": \"C\", \"d\": \"D\", \"e\": \"E\"}",
     "a56161614161626142616361436164614461656145"},
};

}  // namespace

TEST_CASE("cbor: RFC 8949 Appendix A items decode and re-encode byte for byte") {
  for (const auto& [diag, h] : kAppendixA) {
    INFO(diag << " = " << h);
    Value v = dec(h);
    CHECK(v.diagnostic() == diag);
    CHECK(enc(v) == h);
  }
}

TEST_CASE("cbor: RFC 8949 Appendix A floats") {
  const std::vector<std::pair<double, std::string>> floats = {
      {0.0, "f90000"},
      {-0.0, "f98000"},
      {1.0, "f93c00"},
      {1.1, "fb3ff199999999999a"},
      {1.5, "f93e00"},
      {65504.0, "f97bff"},
      {100000.0, "fa47c35000"},
      {3.4028234663852886e+38, "fa7f7fffff"},
      {1.0e+300, "fb7e37e43c8800759c"},
      {5.960464477539063e-8, "f90001"},
      {0.00006103515625, "f90400"},
      {-4.0, "f9c400"},
      {-4.1, "fbc010666666666666"},
      {std::numeric_limits<double>::infinity(), "f97c00"},
      {-std::numeric_limits<double>::infinity(), "f9fc00"},
  };
  for (const auto& [d, h] : floats) {
    INFO(h);
    CHECK(enc(Value::float64(d)) == h);
    CHECK(dec(h) == Value::float64(d));
  }
  CHECK(enc(Value::float64(std::nan(""))) == "f97e00");
  CHECK(std::isnan(dec("f97e00").as_double()));
  CHECK(std::isnan(dec("fa7fc00000").as_double()));
  CHECK(std::isnan(dec("fb7ff8000000000000").as_double()));
  CHECK(dec("fa47c35000").as_double() == 100000.0);
  CHECK(dec("fb3ff199999999999a").as_double() == 1.1);
}

TEST_CASE("cbor: RFC 8949 Appendix A indefinite-length items decode") {
  CHECK(dec("5f42010243030405ff") == Value::bytes(hex("0102030405")));
  CHECK(dec("7f657374726561646d696e67ff").as_text() == "streaming");
  CHECK(dec("9fff") == Value::array());
  CHECK(dec("9f018202039f0405ffff").diagnostic() == "[1, [2, 3], [4, 5]]");
  CHECK(dec("9f01820203820405ff").diagnostic() == "[1, [2, 3], [4, 5]]");
  CHECK(dec("83018202039f0405ff").diagnostic() == "[1, [2, 3], [4, 5]]");
  CHECK(dec("83019f0203ff820405").diagnostic() == "[1, [2, 3], [4, 5]]");
  CHECK(dec("bf61610161629f0203ffff").diagnostic() == "{\"a\": 1, \"b\": [2, 3]}");
  CHECK(dec("826161bf61626163ff").diagnostic() == "[\"a\", {\"b\": \"c\"}]");
  CHECK(dec("bf6346756ef563416d7421ff").diagnostic() == "{\"Fun\": true, \"Amt\": -2}");
  // 25 items: the length needs a one-byte argument.
  Value v = dec("98190102030405060708090a0b0c0d0e0f101112131415161718181819");
  CHECK(v.as_array().size() == 25);
  CHECK(enc(v) == "98190102030405060708090a0b0c0d0e0f101112131415161718181819");
  // Re-encoding is definite-length: the canonical form of the same value.
  CHECK(enc(dec("bf61610161629f0203ffff")) == "a26161016162820203");
}

TEST_CASE("cbor: non-shortest heads are accepted and re-encoded shortest") {
  CHECK(dec("1b0000000000000001") == Value::unsigned_int(1));
  CHECK(dec("5800") == Value::bytes(cbor::Bytes{}));
  CHECK(enc(dec("1900ff")) == "18ff");
}

TEST_CASE("cbor: integer keys, order kept, lookup by text or int") {
  Value m = Value::map();
  m.insert(Value::integer(1), Value::integer(-35));
  m.insert(Value::text("b"), Value::unsigned_int(2));
  m.insert(Value::text("a"), Value::null());
  CHECK(enc(m) == "a30138226162026161f6");
  Value back = cbor::decode(cbor::encode(m));
  CHECK(back == m);
  CHECK(back.at(1).as_int() == -35);
  CHECK(back.find("a")->is_null());
  CHECK(back.find("c") == nullptr);
  CHECK(back.find(2) == nullptr);
  CHECK(back.find(-1) == nullptr);
  CHECK_THROWS_WITH(back.at("zz"), Catch::Contains("missing key \"zz\""));
  CHECK_THROWS_WITH(back.at(7), Catch::Contains("missing key 7"));
  CHECK_THROWS_WITH(Value::array().find("x"), Catch::Contains("expected map"));
}

TEST_CASE("cbor: integer range") {
  CHECK(enc(Value::integer(std::numeric_limits<std::int64_t>::min())) == "3b7fffffffffffffff");
  CHECK(dec("3b7fffffffffffffff").as_int() == std::numeric_limits<std::int64_t>::min());
  CHECK_THROWS_WITH(dec("3b8000000000000000").as_int(), Catch::Contains("below"));
  CHECK_THROWS_WITH(dec("1bffffffffffffffff").as_int(), Catch::Contains("does not fit"));
  CHECK(dec("1bffffffffffffffff").as_uint() == std::numeric_limits<std::uint64_t>::max());
  CHECK_THROWS_WITH(dec("20").as_uint(), Catch::Contains("expected unsigned integer, found negative integer"));
}

TEST_CASE("cbor: bytes as an array of integers (serde_cbor Vec<u8>)") {
  const cbor::Bytes b = {0, 23, 24, 255};
  Value v = cbor::int_array_from_bytes(b);
  CHECK(enc(v) == "840017181818ff");
  CHECK(cbor::bytes_from_int_array(v) == b);
  CHECK_THROWS_WITH(cbor::bytes_from_int_array(dec("811901ff")), Catch::Contains("element 0"));
  CHECK_THROWS_WITH(cbor::bytes_from_int_array(dec("820120")), Catch::Contains("element 1"));
  CHECK_THROWS(cbor::bytes_from_int_array(dec("4100")));
}

TEST_CASE("cbor: reserved simple values cannot be built") {
  CHECK_THROWS(Value::simple(24));
  CHECK_THROWS(Value::simple(31));
  CHECK(enc(Value::simple(32)) == "f820");
}

namespace {

std::uint64_t error_offset(std::string_view h, const cbor::DecodeLimits& limits = {}) {
  try {
    cbor::decode(hex(h), limits, "test");
  } catch (const FormatError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("test: at byte offset"));
    return e.offset();
  }
  FAIL("accepted malformed input " << h);
  return 0;
}

}  // namespace

TEST_CASE("cbor: malformed input (RFC 8949 Appendix F) is rejected with its offset") {
  CHECK(error_offset("") == 0);  // empty
  // Truncated heads and contents.
  CHECK(error_offset("18") == 1);
  CHECK(error_offset("1901") == 1);
  CHECK(error_offset("1a010203") == 1);
  CHECK(error_offset("1b01020304050607") == 1);
  CHECK(error_offset("38") == 1);
  CHECK(error_offset("58") == 1);
  CHECK(error_offset("4201") == 1);
  CHECK(error_offset("6201") == 1);
  // Declared lengths longer than what is left fail at the container's head.
  CHECK(error_offset("8301") == 0);
  CHECK(error_offset("a20102") == 0);
  CHECK(error_offset("a1") == 0);
  CHECK(error_offset("820181") == 2);
  CHECK(error_offset("a2010203a1") == 4);
  CHECK(error_offset("c0") == 1);
  CHECK(error_offset("f9ff") == 1);
  // Reserved additional information 28..30, in every major type.
  for (int major = 0; major < 8; ++major)
    for (int ai = 28; ai <= 30; ++ai) {
      const std::string h = to_hex(std::vector<std::uint8_t>{static_cast<std::uint8_t>(major << 5 | ai)});
      INFO(h);
      CHECK(error_offset(h) == 0);
    }
  // Indefinite length where it is not allowed.
  CHECK(error_offset("1f") == 0);
  CHECK(error_offset("3f") == 0);
  CHECK(error_offset("df00") == 0);
  CHECK(error_offset("ff") == 0);
  CHECK(error_offset("81ff") == 1);    // break inside a definite array
  CHECK(error_offset("a1ffff") == 1);
  CHECK(error_offset("a101ff") == 2);  // break in place of a map value
  // Indefinite strings: missing break, wrong chunk kinds, nested indefinite chunks.
  CHECK(error_offset("5f4100") == 3);
  CHECK(error_offset("5f00ff") == 1);
  CHECK(error_offset("5f6100ff") == 1);
  CHECK(error_offset("7f4100ff") == 1);
  CHECK(error_offset("5f5f4100ffff") == 1);
  CHECK(error_offset("9f01") == 2);
  CHECK(error_offset("bf0102") == 3);
  CHECK(error_offset("bf01ff") == 2);  // key without value
  // Two-byte simple values below 32 are not well-formed.
  CHECK(error_offset("f800") == 0);
  CHECK(error_offset("f818") == 0);
  CHECK(error_offset("f81f") == 0);
  // Duplicate map keys, also across encodings of the same key.
  CHECK(error_offset("a201020103") == 3);
}

TEST_CASE("cbor: duplicate keys, trailing bytes, limits") {
  CHECK(error_offset("a2616101780161610a") == 4);
  cbor::DecodeLimits dup;
  dup.allow_duplicate_keys = true;
  CHECK(cbor::decode(hex("a201020103"), dup).as_map().size() == 2);

  CHECK(error_offset("0000") == 1);
  CHECK(error_offset("830102030405") == 4);
  auto p = cbor::decode_prefix(hex("830102030405"));
  CHECK(p.size == 4);
  CHECK(p.value.diagnostic() == "[1, 2, 3]");

  cbor::DecodeLimits lim;
  lim.max_depth = 3;
  CHECK_NOTHROW(cbor::decode(hex("81818100"), lim));
  CHECK(error_offset("8181818100", lim) == 4);
  CHECK(error_offset("c1c1c1c100", lim) == 4);
  lim = {};
  lim.max_items = 4;
  CHECK_NOTHROW(cbor::decode(hex("83010203"), lim));
  CHECK(error_offset("8401020304", lim) == 4);
  lim.max_items = 2;
  CHECK(error_offset("5f41004100ff", lim) == 3);  // chunks count as items
  lim = {};
  lim.max_string = 3;
  CHECK_NOTHROW(cbor::decode(hex("43010203"), lim));
  CHECK(error_offset("4401020304", lim) == 0);
  CHECK(error_offset("5f420102420102ff", lim) == 4);
  // Huge declared lengths fail cleanly instead of allocating.
  CHECK(error_offset("9b7fffffffffffffff") == 0);
  CHECK(error_offset("bb7fffffffffffffff") == 0);
  CHECK(error_offset("5b7fffffffffffffff") == 0);
  CHECK(error_offset("5bffffffffffffffff00") == 0);
}

TEST_CASE("cbor: deep nesting is refused, not a stack overflow") {
  std::string h(200000, '8');
  for (std::size_t i = 1; i < h.size(); i += 2) h[i] = '1';
  CHECK(error_offset(h) == 33);
}
