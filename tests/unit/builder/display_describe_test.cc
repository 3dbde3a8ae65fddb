// Human-readable output escapes names; `rbuild describe` prints Metadata in
// the shape nitro-cli's describe-eif gives it (MetadataDescribeInfo in
// aws-nitro-enclaves-cli src/common/json_output.rs: custom metadata flattened
// with #[serde(flatten)], serde_json's map sorting its keys).
#include <catch2/catch.hpp>

#include "builder/describe.h"
#include "builder/display.h"
#include "builder/layer_tar_headers.h"

using ef::build::escape_for_display;

TEST_CASE("escape_for_display keeps printable text and UTF-8, escapes the rest") {
  CHECK(escape_for_display("rootfs/etc/passwd") == "rootfs/etc/passwd");
  CHECK(escape_for_display("evil\nname") == "evil\\nname");
  CHECK(escape_for_display("a\\b") == "a\\\\b");
  CHECK(escape_for_display(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(escape_for_display("\x1b[31mred") == "\\x1b[31mred");
  CHECK(escape_for_display("F\xc5\x91tan\xc3\xbas") == "F\xc5\x91tan\xc3\xbas");  // well-formed UTF-8 passes
  CHECK(escape_for_display("caf\xe9") == "caf\\xe9");                           // Latin-1 byte
  CHECK(escape_for_display("\xc2\x85") == "\\xc2\\x85");                         // C1 control (NEL)
  CHECK(escape_for_display("\xed\xa0\x80") == "\\xed\\xa0\\x80");               // a UTF-16 surrogate
}

TEST_CASE("describe flattens custom metadata into Metadata as nitro-cli does") {
  ef::eif::IdentityInfo info;
  info.image_name = "n";
  info.image_version = "1";
  info.build_metadata = {"1970-01-01T00:00:00+00:00", "rbuild", "0.1.0", "Linux", "6.1"};
  info.custom_metadata = nlohmann::ordered_json::parse(R"({"spec":{"name":"n"},"Alpha":[1],"BuildTool":"forged"})");
  CHECK(ef::eif::metadata_describe_json(info).dump() ==
        R"({"BuildTime":"1970-01-01T00:00:00+00:00","BuildTool":"rbuild","BuildToolVersion":"0.1.0",)"
        R"("OperatingSystem":"Linux","KernelVersion":"6.1","DockerInfo":null,"Alpha":[1],"spec":{"name":"n"}})");
  info.custom_metadata = nullptr;  // skip_serializing_if = "Value::is_null": nothing added
  CHECK_FALSE(ef::eif::metadata_describe_json(info).contains("CustomMetadata"));
  CHECK(ef::eif::metadata_describe_json(info).size() == 6);
}

TEST_CASE("tar header checks: checksums as POSIX defines them, pax paths with NUL refused") {
  std::string block(512, '\0');
  block.replace(0, 5, "hello");
  block.replace(100, 7, "0000644");
  block.replace(156, 1, "0");
  block.replace(257, 6, std::string("ustar\0", 6));
  unsigned sum = 8 * ' ';
  for (std::size_t i = 0; i < 512; ++i)
    if (i < 148 || i >= 156) sum += static_cast<unsigned char>(block[i]);
  char field[8];
  std::snprintf(field, sizeof field, "%06o", sum);
  block.replace(148, 7, std::string(field, 6) + '\0');
  auto bytes = [](const std::string& s) { return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); };
  CHECK(ef::rootfs::header_checksum_problem(bytes(block)).empty());
  CHECK(ef::rootfs::header_display_name(bytes(block)) == "hello");
  block[100] = '1';
  CHECK_THAT(ef::rootfs::header_checksum_problem(bytes(block)),
             Catch::Contains("the header's bytes sum to " + std::to_string(sum - '0' + '1')) &&
                 Catch::Contains("(" + std::to_string(sum) + ")"));

  using ef::rootfs::check_pax_records;
  CHECK_NOTHROW(check_pax_records("12 path=a/b\n", "x.tar", 0));
  std::string nul = std::string("14 path=ev\0il\n", 14);
  CHECK_THROWS_WITH(check_pax_records(nul, "x.tar", 1024),
                    Catch::Contains("x.tar: at byte offset 1024") && Catch::Contains("'path'") &&
                        Catch::Contains("ev\\x00il") && Catch::Contains("position 2"));
  CHECK_THROWS_WITH(check_pax_records("11 mtime=1\n" + std::string("16 linkpath=a\0b\n", 16), "x.tar", 0),
                    Catch::Contains("'linkpath'"));
  CHECK_NOTHROW(check_pax_records(std::string("15 comment=a\0b\n", 15), "x.tar", 0));  // other keys are data
  CHECK_NOTHROW(check_pax_records("99 path=short\n", "x.tar", 0));                    // malformed: libarchive's call
}
