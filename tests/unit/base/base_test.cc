#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json_integer.h"
#include "base/log.h"
#include "base/yaml_config.h"

namespace fs = std::filesystem;
using namespace ef;

TEST_CASE("sha256 and sha384 match FIPS 180-2 'abc' vectors") {
  CHECK(to_hex(digest(HashAlgo::kSha256, "abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(to_hex(digest(HashAlgo::kSha384, "abc")) ==
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
}

TEST_CASE("hex round trip and errors") {
  CHECK(from_hex("00ffA0") == std::vector<std::uint8_t>{0x00, 0xff, 0xa0});
  CHECK_THROWS_WITH(from_hex("abc", "pcr"), Catch::Contains("pcr") && Catch::Contains("odd"));
  CHECK_THROWS_WITH(from_hex("zz"), Catch::Contains("position 0"));
}

TEST_CASE("atomic file appears only on commit, with the requested mode") {
  fs::path dir = fs::temp_directory_path() / ("ef-atomic-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path target = dir / "out.bin";
  ::umask(077);
  {
    AtomicFile f(target, 0644);
    f.write(std::string_view("partial"));
    CHECK_FALSE(fs::exists(target));
  }  // destroyed uncommitted
  CHECK_FALSE(fs::exists(target));
  CHECK(fs::is_empty(dir));
  write_file_atomic(target, "done", 0640);
  CHECK(read_text_file(target) == "done");
  struct stat st {};
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  ::umask(022);
  fs::remove_all(dir);
}

TEST_CASE("system errors name action, object and strerror") {
  CHECK_THROWS_WITH(read_file("/nonexistent/x"),
                    Catch::Contains("open /nonexistent/x") && Catch::Contains("No such file"));
}

TEST_CASE("yaml loader names file, line and key; rejects unknown keys") {
  auto root = ConfigNode::load_string("name: a\nresources:\n  cpus: 2\n  memroy: 5\n", "spec.yaml");
  CHECK_THROWS_WITH(root.required("resources").expect_keys({"cpus", "memory"}),
                    Catch::Contains("spec.yaml:4") && Catch::Contains("resources.memroy") &&
                        Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(root.required("version"), Catch::Contains("missing key 'version'"));
  CHECK(root.required("resources").required("cpus").as_int(1, 8) == 2);
  CHECK_THROWS_WITH(root.required("resources").required("cpus").as_int(4, 8), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(ConfigNode::load_string("a: [1,\n", "bad.yaml"), Catch::Contains("bad.yaml:"));
}

TEST_CASE("did you mean") {
  std::vector<std::string_view> names{"build", "lock", "verify", "describe"};
  CHECK(cli::closest("biuld", names) == "build");
  CHECK(cli::closest("verfy", names) == "verify");
  CHECK(cli::closest("zzzzzz", names).empty());
}

TEST_CASE("log records as JSON lines carry all fields") {
  std::string rec = log::format_record(log::Format::kJson, log::Level::kWarn, "rbuild", "hello", {{"k", "v"}}, 0);
  CHECK(rec == "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"warn\",\"component\":\"rbuild\",\"msg\":\"hello\",\"k\":\"v\"}\n");
}

TEST_CASE("UTF-8 validation (RFC 3629 examples) and the loader rejecting invalid text") {
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xe2\x82\xac"));            // U+20AC EURO SIGN
  CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));        // U+1F600
  CHECK_FALSE(is_valid_utf8("\x8e"));                 // lone continuation byte
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));            // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));        // surrogate U+D800
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));    // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));            // truncated
  auto root = ConfigNode::load_string("name: a\x8e\nk: v\n", "u.yaml");  // a raw 0x8E byte
  CHECK_THROWS_WITH(root.required("name").as_string(), Catch::Contains("u.yaml:1: name: not valid UTF-8"));
}

TEST_CASE("json_integer: only JSON integers that fit the type") {
  using nlohmann::json;
  CHECK(ef::json_integer<std::uint32_t>(json(4294967295u), "f") == 4294967295u);
  CHECK(ef::json_integer<std::int64_t>(json(-5), "f") == -5);
  CHECK(ef::json_integer<std::int64_t>(json::parse("9223372036854775807"), "f") == 9223372036854775807ll);
  CHECK(ef::json_integer<int>(json(-2147483648ll), "f") == -2147483648ll);
  CHECK_THROWS_WITH(ef::json_integer<std::uint32_t>(json(4294967296ull), "size"),
                    "size: expected an integer from 0 to 4294967295");
  CHECK_THROWS_WITH(ef::json_integer<std::uint64_t>(json(-1), "size"), "size: expected an integer from 0 to 18446744073709551615");
  CHECK_THROWS_WITH(ef::json_integer<std::int64_t>(json::parse("9223372036854775808"), "t"),
                    Catch::Contains("t: expected an integer from -9223372036854775808"));
  CHECK_THROWS_WITH(ef::json_integer<int>(json(-2147483649ll), "t"), Catch::Contains("from -2147483648 to 2147483647"));
  for (json bad : {json(1.0), json(7.6e57), json(-7.6e57), json("1"), json(true), json(nullptr), json::array()})
    CHECK_THROWS_AS(ef::json_integer<std::uint64_t>(bad, "x"), ef::Error);
}
