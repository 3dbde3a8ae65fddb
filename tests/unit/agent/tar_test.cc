// The pax writer against GNU tar, both ways, and the extractor's cp rules.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/file.h"
#include "runtime/agent/tar_stream.h"

using namespace ef;
using namespace ef::agent;
namespace fs = std::filesystem;

namespace {

struct Tmp {
  fs::path path = fs::temp_directory_path() / ("ef_agent_tar_" + std::to_string(::getpid()));
  Tmp() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Tmp() { fs::remove_all(path); }
};

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

void make_tree(const fs::path& root) {
  fs::create_directories(root / "a" / "b");
  fs::create_directories(root / "empty");
  write_file_atomic(root / "a" / "b" / "f", "one\n", 0600);
  write_file_atomic(root / "top", std::string(300000, 'x'));
  write_file_atomic(root / (std::string(120, 'n') + "-long-name"), "long\n");
  write_file_atomic(root / "caf\xc3\xa9", "utf8\n");
  fs::create_symlink("../top", root / "a" / "link");
  fs::create_symlink(std::string(150, 't'), root / "a" / "longlink");
}

TarSource file_source(const fs::path& p, std::vector<std::uint8_t>& buf, UniqueFd& fd) {
  fd = open_read(p);
  buf.resize(70000);  // an odd chunk size: headers straddle chunks
  return [&buf, &fd]() -> std::span<const std::uint8_t> {
    const std::size_t n = read_some(fd.get(), buf, "tar");
    return {buf.data(), n};
  };
}

}  // namespace

TEST_CASE("write_tar output is read by GNU tar") {
  Tmp t;
  make_tree(t.path / "src");
  {
    AtomicFile out(t.path / "x.tar");
    const TarStats st = write_tar(t.path / "src", "tree", [&](std::span<const std::uint8_t> c) { out.write(c); });
    out.commit();
    CHECK(st.entries == 10);
    CHECK(st.bytes == 4 + 300000 + 5 + 5);
  }
  fs::create_directories(t.path / "gnu");
  REQUIRE(sh("tar -xf " + (t.path / "x.tar").string() + " -C " + (t.path / "gnu").string()) == 0);
  CHECK(sh("diff -r --no-dereference " + (t.path / "src").string() + " " + (t.path / "gnu" / "tree").string()) == 0);
  CHECK(fs::read_symlink(t.path / "gnu" / "tree" / "a" / "longlink") == std::string(150, 't'));
}

TEST_CASE("extract_tar reads GNU tar's pax output, with cp's destination rules") {
  Tmp t;
  make_tree(t.path / "src");
  REQUIRE(sh("tar --format=pax -cf " + (t.path / "g.tar").string() + " -C " + t.path.string() + " src") == 0);
  std::vector<std::uint8_t> buf;
  UniqueFd fd;
  // Into an existing directory: lands in DIR/src.
  fs::create_directories(t.path / "into");
  extract_tar(file_source(t.path / "g.tar", buf, fd), t.path / "into");
  CHECK(sh("diff -r --no-dereference " + (t.path / "src").string() + " " + (t.path / "into" / "src").string()) == 0);
  // To a new name: becomes that name.
  extract_tar(file_source(t.path / "g.tar", buf, fd), t.path / "renamed");
  CHECK(sh("diff -r --no-dereference " + (t.path / "src").string() + " " + (t.path / "renamed").string()) == 0);
  // A missing parent is an error.
  CHECK_THROWS_WITH(extract_tar(file_source(t.path / "g.tar", buf, fd), t.path / "no" / "such"),
                    Catch::Contains("no/such") || Catch::Contains("No such file"));
}

TEST_CASE("a single file copies onto a name or into a directory") {
  Tmp t;
  write_file_atomic(t.path / "f", "content\n", 0640);
  {
    AtomicFile out(t.path / "f.tar");
    write_tar(t.path / "f", "f", [&](std::span<const std::uint8_t> c) { out.write(c); });
    out.commit();
  }
  std::vector<std::uint8_t> buf;
  UniqueFd fd;
  fs::create_directories(t.path / "d");
  extract_tar(file_source(t.path / "f.tar", buf, fd), t.path / "d");
  CHECK(read_text_file(t.path / "d" / "f") == "content\n");
  CHECK((fs::status(t.path / "d" / "f").permissions() & fs::perms::all) == fs::perms(0640));
  extract_tar(file_source(t.path / "f.tar", buf, fd), t.path / "g");
  CHECK(read_text_file(t.path / "g") == "content\n");
}

TEST_CASE("garbage is an error, not a crash") {
  Tmp t;
  write_file_atomic(t.path / "junk", std::string(5000, '\x7f'));
  std::vector<std::uint8_t> buf;
  UniqueFd fd;
  CHECK_THROWS_WITH(extract_tar(file_source(t.path / "junk", buf, fd), t.path / "out"), Catch::Contains("tar stream"));
  CHECK_FALSE(fs::exists(t.path / "out"));
}
