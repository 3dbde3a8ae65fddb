#include <catch2/catch.hpp>
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
