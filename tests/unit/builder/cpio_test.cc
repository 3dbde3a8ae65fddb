#include <catch2/catch.hpp>

#include "builder/cpio_writer.h"
#include "builder/fs_tree.h"
#include "fstree_test_util.h"

using namespace ef::rootfs;
using namespace fstree_test;

namespace {

constexpr std::uint64_t kEpoch = 1700000000;

/// The same small tree, on disk (for GNU cpio) and as an FsTree.
void make_sample(const fs::path& root, FsTree& tree) {
  fs::create_directories(root / "bin");
  fs::create_directories(root / "etc/ssl");
  write_text(root / "bin/sh", "#!/bin/sh\necho hi\n");
  write_text(root / "etc/hostname", "enclave\n");
  write_text(root / "etc/ssl/key", "secret-ish");
  write_text(root / "a-b", "dash sorts before slash");
  write_text(root / "empty", "");
  fs::create_symlink("../bin/sh", root / "etc/sh-link");
  ::chmod((root / "bin/sh").c_str(), 0755);
  ::chmod((root / "etc/ssl/key").c_str(), 0600);
  ::chmod((root / "etc/ssl").c_str(), 0700);
  ::chmod((root / "a-b").c_str(), 04755);
  ::chmod((root / "empty").c_str(), 0644);
  ::chmod((root / "bin").c_str(), 0755);
  ::chmod((root / "etc").c_str(), 0755);
  sh("find " + quote(root) + " -mindepth 1 -exec touch -h -d @" + std::to_string(kEpoch) + " {} +");

  tree.add_file_from_host("etc/ssl/key", root / "etc/ssl/key", 0600);
  tree.add_directory("etc/ssl", 0700);
  tree.add_symlink("etc/sh-link", "../bin/sh");
  tree.add_bytes("etc/hostname", "enclave\n");
  tree.add_file_from_host("bin/sh", root / "bin/sh", 0755);
  tree.add_file_from_host("a-b", root / "a-b", 04755);
  tree.add_bytes("empty", "");
}

std::string gnu_cpio(const fs::path& root) {
  return sh("cd " + quote(root) +
            " && find . -mindepth 1 -printf '%P\\n' | LC_ALL=C sort | cpio -o -H newc --reproducible -R 0:0 --quiet");
}

/// Upper-cases the hex digits of every newc header (libarchive writes lower
/// case, GNU cpio upper case; both are valid and the kernel reads either).
std::string upper_headers(std::string a) {
  std::size_t off = 0;
  while (off + 110 <= a.size() && a.compare(off, 6, "070701") == 0) {
    for (std::size_t i = off; i < off + 110; ++i) a[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(a[i])));
    auto field = [&](int k) { return std::stoull(a.substr(off + 6 + 8 * k, 8), nullptr, 16); };
    std::uint64_t filesize = field(6), namesize = field(11);
    std::size_t name_end = (off + 110 + namesize + 3) & ~std::size_t{3};
    bool trailer = a.compare(off + 110, 10, "TRAILER!!!") == 0;
    off = (name_end + filesize + 3) & ~std::size_t{3};
    if (trailer) break;
  }
  return a;
}

}  // namespace

TEST_CASE("cpio of a plain tree is byte-identical to GNU cpio --reproducible (modulo hex case)") {
  TempDir tmp;
  FsTree tree;
  make_sample(tmp / "root", tree);
  std::string ours = upper_headers(cpio_bytes(tree, kEpoch));
  std::string theirs = gnu_cpio(tmp / "root");
  CHECK(ours.size() == theirs.size());
  CHECK(ours == theirs);
  if (ours != theirs) {
    write_text(tmp / "ours.cpio", ours);
    write_text(tmp / "theirs.cpio", theirs);
    INFO(sh("cd " + quote(tmp.path()) + " && cmp -l ours.cpio theirs.cpio | head -20; xxd ours.cpio | head -30; echo; xxd theirs.cpio | head -30"));
    FAIL("see the dump above");
  }
}

TEST_CASE("cpio bytes do not depend on insertion order, host mtimes or the umask") {
  TempDir tmp;
  write_text(tmp / "one/f", "same content");
  write_text(tmp / "two/f", "same content");
  sh("touch -d @1 " + quote(tmp / "one/f") + " && touch -d @2000000000 " + quote(tmp / "two/f"));
  auto build = [&](const fs::path& host, bool reverse) {
    FsTree t;
    if (reverse) {
      t.add_symlink("z/link", "../f");
      t.add_file_from_host("z/f", host / "f", 0640);
      t.add_hardlink("a/hl", "z/f");
      t.add_directory("z", 0750);
    } else {
      t.add_directory("z", 0750);
      t.add_file_from_host("z/f", host / "f", 0640);
      t.add_hardlink("a/hl", "z/f");
      t.add_symlink("z/link", "../f");
    }
    return t;
  };
  mode_t old = ::umask(022);
  std::string a = cpio_bytes(build(tmp / "one", false), kEpoch);
  ::umask(077);
  std::string b = cpio_bytes(build(tmp / "two", true), kEpoch);
  ::umask(old);
  CHECK(a == b);
  CHECK(a != cpio_bytes(build(tmp / "one", false), kEpoch + 1));
}

TEST_CASE("hard links: data stored once, GNU cpio extracts one inode with both names") {
  TempDir tmp;
  FsTree t;
  t.add_bytes("bin/busybox", "BUSYBOX-BINARY", 0755);
  t.add_hardlink("bin/sh", "bin/busybox");
  t.add_hardlink("sbin/init", "bin/busybox");
  t.add_bytes("etc/motd", "hello");
  std::string bytes = cpio_bytes(t, kEpoch);
  // The 14 data bytes appear exactly once.
  CHECK(bytes.find("BUSYBOX-BINARY") == bytes.rfind("BUSYBOX-BINARY"));
  write_text(tmp / "a.cpio", bytes);
  std::string listing = sh("cpio -itv --quiet < " + quote(tmp / "a.cpio"));
  // GNU's listing: mode, nlink, owner, group, size, date, name.
  CHECK_THAT(listing, Catch::Contains("-rwxr-xr-x   3 root     root           14") && Catch::Contains("sbin/init"));
  fs::create_directories(tmp / "x");
  sh("cd " + quote(tmp / "x") + " && cpio -idm --quiet < ../a.cpio");
  struct stat a {}, b {}, c {};
  REQUIRE(::stat((tmp / "x/bin/busybox").c_str(), &a) == 0);
  REQUIRE(::stat((tmp / "x/bin/sh").c_str(), &b) == 0);
  REQUIRE(::stat((tmp / "x/sbin/init").c_str(), &c) == 0);
  CHECK(a.st_ino == b.st_ino);
  CHECK(a.st_ino == c.st_ino);
  CHECK(a.st_nlink == 3);
  CHECK(read_text(tmp / "x/sbin/init") == "BUSYBOX-BINARY");
  CHECK(a.st_mtime == static_cast<time_t>(kEpoch));
  CHECK((a.st_mode & 07777) == 0755);
}

TEST_CASE("device nodes and fifos appear only where added, with their numbers") {
  TempDir tmp;
  FsTree t;
  t.add_device("dev/console", FsType::kCharDevice, 5, 1, 0600);
  t.add_device("dev/vda", FsType::kBlockDevice, 254, 0, 0660);
  t.add_fifo("run/pipe", 0620);
  t.add_symlink("dev/stdin", "/proc/self/fd/0");
  write_cpio_file(t, kEpoch, tmp / "d.cpio");
  std::string listing = sh("cpio -itv --quiet < " + quote(tmp / "d.cpio"));
  CHECK_THAT(listing, Catch::Contains("crw-------   1 root     root       5,   1") &&
                          Catch::Contains("brw-rw----   1 root     root     254,   0") &&
                          Catch::Contains("prw--w----   1 root     root") &&
                          Catch::Contains("dev/stdin -> /proc/self/fd/0"));
  // Directories: nlink = 2 + subdirectories; dev/ has none.
  CHECK_THAT(listing, Catch::Contains("drwxr-xr-x   2 root     root            0"));
  CHECK(sh("cpio -it --quiet < " + quote(tmp / "d.cpio")) == "dev\ndev/console\ndev/stdin\ndev/vda\nrun\nrun/pipe\n");
}

TEST_CASE("cpio streams host files and refuses one that changed size") {
  TempDir tmp;
  std::string big(3 * 1024 * 1024 + 17, 'q');
  write_text(tmp / "big", big);
  FsTree t;
  t.add_file_from_host("big", tmp / "big");
  std::size_t calls = 0, largest = 0, total = 0;
  write_cpio(t, kEpoch, [&](std::span<const std::uint8_t> d) {
    calls++;
    largest = std::max(largest, d.size());
    total += d.size();
  });
  CHECK(calls > 40);
  CHECK(largest <= 64 * 1024);
  CHECK(total % 512 == 0);
  write_text(tmp / "big", "shorter now");
  CHECK_THROWS_WITH(cpio_bytes(t, kEpoch), Catch::Contains("changed size") && Catch::Contains("big"));
}

TEST_CASE("a failing sink aborts writing with its own error") {
  FsTree t;
  t.add_bytes("f", std::string(200000, 'x'));
  CHECK_THROWS_WITH(write_cpio(t, kEpoch, [](std::span<const std::uint8_t>) { throw ef::Error("disk full"); }),
                    Catch::Equals("disk full"));
  CHECK_THROWS_WITH(cpio_bytes(t, 1ull << 32), Catch::Contains("32 bits"));
}
