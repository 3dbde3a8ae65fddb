// EIF writer/reader against the independent vectors in tests/vectors/eif_selfgenerated.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "builder/eif_reader.h"
#include "builder/eif_writer.h"

namespace fs = std::filesystem;
using namespace ef;
using namespace ef::eif;

namespace {

const fs::path kVectors = fs::path(EF_VECTORS_DIR) / "eif_selfgenerated";

nlohmann::json expected() { return nlohmann::json::parse(read_text_file(kVectors / "expected.json")); }

struct TempDir {
  fs::path path;
  TempDir() {
    char templ[] = "/tmp/ef-eif-test-XXXXXX";
    path = ::mkdtemp(templ);
  }
  ~TempDir() { fs::remove_all(path); }
};

fs::path write_vector_inputs_eif(const fs::path& out) {
  AtomicFile f(out);
  EifWriter w(f.fd(), out.string(), ImageDefaults{0, 1ull << 30, 2});
  w.add_file_section(SectionType::kKernel, kVectors / "kernel.bin");
  w.add_file_section(SectionType::kCmdline, kVectors / "cmdline.txt");
  w.add_file_section(SectionType::kMetadata, kVectors / "metadata.json");
  w.add_file_section(SectionType::kRamdisk, kVectors / "ramdisk0.bin");
  w.add_file_section(SectionType::kRamdisk, kVectors / "ramdisk1.bin");
  w.finish();
  f.commit();
  return out;
}

std::string crc_hex(std::uint32_t crc) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", crc);
  return buf;
}

Bytes mutate_and_write(const fs::path& src, const fs::path& dst, std::size_t offset, std::uint8_t value) {
  Bytes b = read_file(src);
  b.at(offset) = value;
  write_file_atomic(dst, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
  return b;
}

}  // namespace

TEST_CASE("writer reproduces the independent unsigned.eif byte for byte") {
  TempDir tmp;
  fs::path out = write_vector_inputs_eif(tmp.path / "unsigned.eif");
  auto exp = expected()["unsigned.eif"];
  CHECK(fs::file_size(out) == exp["size"].get<std::uint64_t>());
  CHECK(to_hex(digest_file(HashAlgo::kSha256, out)) == exp["sha256"].get<std::string>());
  CHECK(read_file(out) == read_file(kVectors / "unsigned.eif"));
}

TEST_CASE("metadata encoder reproduces the vector's metadata section") {
  IdentityInfo info{"test", "1.0", {rfc3339_utc(0), "eif_build", "0.5.0", "OS", "kernel"}, nullptr, nullptr};
  CHECK(encode_metadata(info) == read_text_file(kVectors / "metadata.json"));
}

TEST_CASE("reader gives the expected CRC and PCRs for both vector images") {
  for (std::string name : {"unsigned.eif", "signed.eif"}) {
    INFO(name);
    auto exp = expected()[name];
    EifImage img = EifImage::open(kVectors / name);
    CHECK(crc_hex(img.header().crc32) == exp["eif_crc32"].get<std::string>());
    CHECK(crc_hex(img.compute_crc()) == exp["eif_crc32"].get<std::string>());
    CHECK_NOTHROW(img.check_crc());
    std::uint32_t one_pass_crc = 0;
    Measurements m = img.measure(&one_pass_crc);
    CHECK(crc_hex(one_pass_crc) == exp["eif_crc32"].get<std::string>());
    CHECK(to_hex(m.pcr0) == exp["Measurements"]["PCR0"].get<std::string>());
    CHECK(to_hex(m.pcr1) == exp["Measurements"]["PCR1"].get<std::string>());
    CHECK(to_hex(m.pcr2) == exp["Measurements"]["PCR2"].get<std::string>());
    CHECK(img.header().default_mem == 1ull << 30);
    CHECK(img.header().default_cpus == 2);
    CHECK(img.metadata().image_name == "test");
  }
  EifImage signed_img = EifImage::open(kVectors / "signed.eif");
  CHECK(signed_img.sections().back().type == SectionType::kSignature);
}

TEST_CASE("PCR8 of the signing certificate matches the vector") {
  CHECK(to_hex(pcr_of_certificate_pem(kVectors / "signing_cert.pem")) ==
        expected()["signed.eif"]["Measurements"]["PCR8"].get<std::string>());
}

TEST_CASE("writer refuses sections out of AWS's order") {
  TempDir tmp;
  AtomicFile f(tmp.path / "x.eif");
  EifWriter w(f.fd(), "x.eif", {});
  CHECK_THROWS_WITH(w.add_section(SectionType::kCmdline, Bytes{1}), Catch::Contains("out of order"));
  w.add_section(SectionType::kKernel, Bytes{1});
  w.add_section(SectionType::kCmdline, Bytes{1});
  CHECK_THROWS_WITH(w.add_section(SectionType::kRamdisk, Bytes{1}), Catch::Contains("out of order"));
  w.add_section(SectionType::kMetadata, Bytes{1});
  CHECK_THROWS_WITH(w.add_section(SectionType::kSignature, Bytes{1}), Catch::Contains("out of order"));
}

TEST_CASE("reader reports each structural fault with its byte offset") {
  TempDir tmp;
  fs::path good = kVectors / "unsigned.eif";
  fs::path bad = tmp.path / "bad.eif";
  auto offset_of = [&](std::size_t off, std::uint8_t v) {
    mutate_and_write(good, bad, off, v);
    try {
      EifImage img = EifImage::open(bad);
      img.check_crc();
    } catch (const FormatError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(bad.string()) != std::string::npos);
      return static_cast<long long>(e.offset());
    }
    return -1LL;
  };
  CHECK(offset_of(0, 'x') == 0);            // magic
  CHECK(offset_of(5, 3) == 4);              // version 3
  CHECK(offset_of(27, 40) == 26);           // 40 sections
  CHECK(offset_of(27, 3) == 26);            // too few sections
  CHECK(offset_of(28 + 8 + 7, 0x20) == 36); // cmdline offset moved back: overlap
  CHECK(offset_of(28 + 256, 0x01) == 28 + 256);      // kernel size beyond file
  CHECK(offset_of(28 + 256 + 7, 0xff) == 548 + 4);   // size differs from the section header
  CHECK(offset_of(548 + 1, 2) == 548);      // first section typed cmdline: order
  CHECK(offset_of(548 + 3, 1) == 550);      // section flags
  CHECK(offset_of(600, 0x00) == 544);       // kernel byte flipped: CRC
  CHECK(offset_of(28 + 8 * 6, 1) == 28 + 8 * 6);  // unused slot not zero

  SECTION("truncated files") {
    Bytes b = read_file(good);
    for (std::size_t len : {std::size_t{0}, std::size_t{100}, std::size_t{547}, std::size_t{548}, b.size() - 1}) {
      write_file_atomic(bad, std::string_view(reinterpret_cast<const char*>(b.data()), len));
      CHECK_THROWS_AS(EifImage::open(bad), FormatError);
    }
  }
  SECTION("trailing bytes") {
    Bytes b = read_file(good);
    b.push_back(0);
    write_file_atomic(bad, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    CHECK_THROWS_WITH(EifImage::open(bad), Catch::Contains("unexpected bytes after the last section"));
  }
  SECTION("malformed metadata") {
    EifImage img = EifImage::open(good);
    const Section* md = img.find_first(SectionType::kMetadata);
    mutate_and_write(good, bad, md->data_offset, '[');
    CHECK_THROWS_WITH(EifImage::open(bad).metadata(), Catch::Contains("metadata"));
  }
}

TEST_CASE("measure: the CRC split across two threads equals the sequential one wherever a byte changes") {
  // measure() hashes a mapped file and computes the CRC-32 in two halves joined
  // by crc32_combine; compute_crc() streams it in one piece, and python's
  // zlib.crc32 is a third opinion on the mutated files.
  TempDir tmp;
  const fs::path src = kVectors / "signed.eif";
  const std::size_t size = static_cast<std::size_t>(fs::file_size(src));
  for (std::size_t off : {std::size_t{0}, std::size_t{100}, std::size_t{543}, std::size_t{548}, std::size_t{600},
                          (size - 4) / 2 + 3, (size - 4) / 2 + 4, (size - 4) / 2 + 5, size - 1}) {
    INFO("offset " << off);
    const fs::path dst = tmp.path / ("m" + std::to_string(off) + ".eif");
    Bytes b = read_file(src);
    const std::uint8_t was = b.at(off);
    mutate_and_write(src, dst, off, static_cast<std::uint8_t>(was ^ 0x5a));
    std::uint32_t crc = 0;
    try {
      EifImage img = EifImage::open(dst);
      (void)img.measure(&crc);
      CHECK(crc == img.compute_crc());
    } catch (const FormatError&) {
      continue;  // a header field the reader refuses; nothing to measure
    }
    const std::string cmd = "python3 -c \"import sys,zlib; d=open(sys.argv[1],'rb').read(); "
                            "print('%08x' % zlib.crc32(d[:544] + d[548:]))\" " + dst.string();
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    char line[16] = {};
    REQUIRE(std::fgets(line, sizeof line, p));
    ::pclose(p);
    CHECK(crc_hex(crc) == std::string(line, 8));
  }
}
