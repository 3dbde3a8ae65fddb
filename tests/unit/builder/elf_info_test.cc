#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"
#include "builder/elf_info.h"

using namespace ef;
namespace fs = std::filesystem;

TEST_CASE("static and dynamic ELF binaries are told apart by PT_INTERP") {
  // busybox-static is static by construction; Debian's coreutils ls is dynamic.
  CHECK_FALSE(build::elf_interpreter("/bin/busybox").has_value());
  auto ls = build::elf_interpreter("/bin/ls");
  REQUIRE(ls.has_value());
  CHECK(*ls == "/lib64/ld-linux-x86-64.so.2");
}

TEST_CASE("scripts are not ELF; truncated ELF headers are errors") {
  fs::path dir = fs::temp_directory_path() / "ef-elf-test";
  fs::create_directories(dir);
  write_file_atomic(dir / "script", "#!/bin/sh\necho hi\n" + std::string(64, ' '));
  CHECK_FALSE(build::elf_interpreter(dir / "script").has_value());
  Bytes ls = read_file("/bin/ls");
  ls[32] = 0xff;  // e_phoff far beyond the file
  ls[39] = 0x7f;
  write_file_atomic(dir / "bad", std::string_view(reinterpret_cast<const char*>(ls.data()), 4096));
  CHECK_THROWS_AS(build::elf_interpreter(dir / "bad"), FormatError);
  fs::remove_all(dir);
}

namespace {
/// DT_NEEDED as binutils' readelf reports it: the independent reference.
std::vector<std::string> readelf_needed(const std::string& path) {
  std::vector<std::string> names;
  FILE* p = popen(("readelf -d " + path).c_str(), "r");
  REQUIRE(p != nullptr);
  char line[1024];
  while (fgets(line, sizeof line, p)) {
    std::string l(line);
    auto at = l.find("Shared library: [");
    if (at == std::string::npos) continue;
    at += 17;
    names.push_back(l.substr(at, l.find(']', at) - at));
  }
  pclose(p);
  return names;
}
}  // namespace

TEST_CASE("DT_NEEDED sonames match readelf for binaries and libraries") {
  for (const char* path : {"/bin/ls", "/usr/bin/openssl", "/lib/x86_64-linux-gnu/libssl.so.3", "/bin/busybox"}) {
    INFO(path);
    auto info = build::read_elf_link_info(path);
    CHECK(info.is_elf);
    CHECK(info.needed == readelf_needed(path));
  }
  CHECK_FALSE(build::read_elf_link_info("/lib/x86_64-linux-gnu/libssl.so.3").interpreter.has_value());
  CHECK(build::read_elf_link_info("/bin/busybox").needed.empty());
}

TEST_CASE("a DT_STRTAB outside every loaded segment is an error with an offset") {
  Bytes ls = read_file("/bin/ls");
  // Corrupt every DT_STRTAB value in the dynamic section found through readelf's view of the
  // program headers: scan for the tag (5) and point it far outside the file.
  auto info = build::parse_elf_link_info(ls, "ls");
  REQUIRE_FALSE(info.needed.empty());
  bool changed = false;
  for (std::size_t at = 0; at + 16 <= ls.size(); at += 8) {
    std::uint64_t tag = 0;
    std::memcpy(&tag, &ls[at], 8);
    std::uint64_t next_tag = 0;
    if (at + 24 <= ls.size()) std::memcpy(&next_tag, &ls[at + 16], 8);
    // DT_STRTAB followed by DT_SYMTAB (6) is how the linker lays out .dynamic.
    if (tag == 5 && next_tag == 6) {
      std::uint64_t far = 0x7fff00000000ull;
      std::memcpy(&ls[at + 8], &far, 8);
      changed = true;
      break;
    }
  }
  REQUIRE(changed);
  CHECK_THROWS_AS(build::parse_elf_link_info(ls, "ls"), FormatError);
}
