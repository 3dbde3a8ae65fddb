#include <catch2/catch.hpp>
#include <map>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>

#include "base/hash.h"
#include "builder/cpio_extract.h"
#include "builder/cpio_reader.h"
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

TEST_CASE("write_cpio_file writes atomically and feeds the extra sink the same bytes") {
  TempDir tmp;
  FsTree t;
  t.add_bytes("cmd", "/bin/app\n");
  ef::Hasher h(ef::HashAlgo::kSha384);
  CpioStats st = write_cpio_file(t, kEpoch, tmp / "r.cpio", [&](std::span<const std::uint8_t> d) { h.update(d); });
  CHECK(st.bytes == fs::file_size(tmp / "r.cpio"));
  CHECK(ef::to_hex(h.finish()) == ef::to_hex(ef::digest_file(ef::HashAlgo::kSha384, tmp / "r.cpio")));
  CHECK(list_dir(tmp.path()) == std::vector<std::string>{"r.cpio"});
  FsTree bad;
  bad.add_file("missing", FsContent::host_range(tmp / "nope", 0, 5));
  CHECK_THROWS_WITH(write_cpio_file(bad, kEpoch, tmp / "bad.cpio"), Catch::Contains("nope"));
  CHECK(list_dir(tmp.path()) == std::vector<std::string>{"r.cpio"});
}

TEST_CASE("a 128 MiB file is streamed, never held in memory") {
  TempDir tmp;
  const std::uint64_t size = 128ull << 20;
  {
    ef::UniqueFd fd(::open((tmp / "sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);  // sparse: no disk, reads as zeros
  }
  FsTree t;
  t.add_file_from_host("big", tmp / "sparse");
  auto max_rss_kib = [] {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
  };
  long before = max_rss_kib();
  std::uint64_t total = 0;
  write_cpio(t, kEpoch, [&](std::span<const std::uint8_t> d) { total += d.size(); });
  CHECK(total > size);
  CHECK(max_rss_kib() - before < 24 * 1024);  // far below the file's 128 MiB
}

TEST_CASE("a failing sink aborts writing with its own error") {
  FsTree t;
  t.add_bytes("f", std::string(200000, 'x'));
  CHECK_THROWS_WITH(write_cpio(t, kEpoch, [](std::span<const std::uint8_t>) { throw ef::Error("disk full"); }),
                    Catch::Equals("disk full"));
  CHECK_THROWS_WITH(cpio_bytes(t, 1ull << 32), Catch::Contains("32 bits"));
}

// ---- reader and extractor ----

namespace {

/// Hand-built newc entry (independent of both libarchive and our reader).
std::string newc(const std::string& name, std::uint32_t mode, const std::string& data = "", std::uint32_t nlink = 1,
                 std::uint32_t ino = 0, std::uint32_t rmaj = 0, std::uint32_t rmin = 0) {
  char h[111];
  std::snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u, 0u, nlink,
                0u, static_cast<unsigned>(data.size()), 0u, 0u, rmaj, rmin, static_cast<unsigned>(name.size() + 1), 0u);
  std::string out(h, 110);
  out += name;
  out += '\0';
  while (out.size() % 4) out += '\0';
  out += data;
  while (out.size() % 4) out += '\0';
  return out;
}

std::string trailer() { return newc("TRAILER!!!", 0); }

std::string sha(const std::string& s) { return ef::to_hex(ef::digest(ef::HashAlgo::kSha256, s)); }

std::vector<CpioListedEntry> list_bytes(const std::string& bytes) {
  ef::rootfs::MemorySource src(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  std::vector<CpioListedEntry> out;
  read_cpio(src, "mem.cpio", [&](const CpioListedEntry& e) { out.push_back(e); });
  return out;
}

std::string extract_error(const std::string& bytes, const fs::path& dest, const ExtractOptions& o = {}) {
  ef::rootfs::MemorySource src(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  try {
    extract_cpio(src, "evil.cpio", dest, o);
  } catch (const ef::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("reader lists what the writer wrote: types, modes, links, rdev, data digests") {
  FsTree t;
  t.add_bytes("bin/app", "application", 04750);
  t.add_hardlink("bin/app2", "bin/app");
  t.add_symlink("lib", "usr/lib");
  t.add_device("dev/null", FsType::kCharDevice, 1, 3, 0666);
  t.add_fifo("run/fifo", 0600);
  t.add_directory("tmp", 01777);
  std::vector<CpioListedEntry> l = list_bytes(cpio_bytes(t, kEpoch));
  REQUIRE(l.size() == 9);  // with the implicit bin, dev, run
  std::map<std::string, CpioListedEntry> by;
  for (auto& e : l) by[e.entry.path] = e;
  CHECK(by["bin/app"].entry.size == 0);  // not the last link: no data
  CHECK(by["bin/app2"].entry.size == 11);
  CHECK(by["bin/app2"].sha256 == sha("application"));
  CHECK(by["bin/app"].entry.ino == by["bin/app2"].entry.ino);
  CHECK(by["bin/app"].entry.nlink == 2);
  CHECK(by["bin/app"].entry.mode == 04750);
  CHECK(by["lib"].entry.type == FsType::kSymlink);
  CHECK(by["lib"].entry.link_target == "usr/lib");
  CHECK(by["dev/null"].entry.rdev_major == 1);
  CHECK(by["dev/null"].entry.rdev_minor == 3);
  CHECK(by["run/fifo"].entry.type == FsType::kFifo);
  CHECK(by["tmp"].entry.mode == 01777);
  for (auto& e : l) {
    CHECK(e.entry.mtime == kEpoch);
    CHECK(e.entry.uid == 0);
    CHECK(e.entry.dev_major == 0);
  }
}

TEST_CASE("resolve_hard_links gives every link of a group the group's content") {
  FsTree t;
  t.add_bytes("a", "shared");
  t.add_hardlink("b", "a");
  t.add_hardlink("c", "a");
  t.add_bytes("d", "");
  std::vector<CpioListedEntry> l = list_bytes(cpio_bytes(t, kEpoch));
  CHECK(l[0].entry.size == 0);
  resolve_hard_links(l);
  for (int i = 0; i < 3; ++i) {
    CHECK(l[i].entry.size == 6);
    CHECK(l[i].sha256 == sha("shared"));
  }
  CHECK(l[3].entry.size == 0);
  CHECK(l[3].sha256.empty());
}

TEST_CASE("reader and extractor agree with GNU cpio on a GNU-made archive with hard links") {
  TempDir tmp;
  write_text(tmp / "src/d/f", "payload");
  fs::create_hard_link(tmp / "src/d/f", tmp / "src/g");
  fs::create_symlink("d/f", tmp / "src/s");
  sh("cd " + quote(tmp / "src") + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet > ../gnu.cpio");
  std::vector<CpioListedEntry> l = list_cpio(tmp / "gnu.cpio");
  std::vector<std::string> names;
  for (auto& e : l) names.push_back(e.entry.path);
  CHECK(names == std::vector<std::string>{".", "d", "d/f", "g", "s"});
  // Newc stores a hard-link group's data once.
  CHECK(l[2].entry.size + l[3].entry.size == 7);
  CHECK(l[2].entry.ino == l[3].entry.ino);
  ExtractStats st = extract_cpio_file(tmp / "gnu.cpio", tmp / "out");
  CHECK(st.bytes == 7);
  struct stat a {}, b {};
  REQUIRE(::stat((tmp / "out/d/f").c_str(), &a) == 0);
  REQUIRE(::stat((tmp / "out/g").c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  CHECK(read_text(tmp / "out/g") == "payload");
  CHECK(fs::read_symlink(tmp / "out/s") == "d/f");
}

TEST_CASE("our extraction of our archive matches GNU cpio's extraction") {
  TempDir tmp;
  FsTree t;
  make_sample(tmp / "root", t);
  t.add_hardlink("bin/sh-again", "bin/sh");
  t.add_directory("ro", 0555);
  t.add_bytes("ro/inside", "x", 0444);
  write_cpio_file(t, kEpoch, tmp / "a.cpio");
  fs::create_directories(tmp / "gnu");
  sh("cd " + quote(tmp / "gnu") + " && cpio -idm --quiet < ../a.cpio");
  extract_cpio_file(tmp / "a.cpio", tmp / "ours");
  // GNU cpio -m restores the mtimes of files only; compare those, and ours everywhere.
  auto describe = [&](const fs::path& root) {
    return sh("cd " + quote(root) + " && find . -mindepth 1 -printf '%p %M %n %s %l\\n' | LC_ALL=C sort && " +
              "find . -type f -printf '%p %T@\\n' | LC_ALL=C sort && find . -type f | LC_ALL=C sort | xargs sha256sum");
  };
  CHECK(describe(tmp / "ours") == describe(tmp / "gnu"));
  CHECK(sh("cd " + quote(tmp / "ours") + " && find . -mindepth 1 -printf '%T@\\n' | sort -u") == "1700000000.0000000000\n");
}

TEST_CASE("extractor refuses paths escaping the directory and never follows symlinks") {
  TempDir tmp;
  fs::path dest = tmp / "dest";
  fs::create_directories(tmp / "outside");
  SECTION("dot-dot") {
    CHECK_THAT(extract_error(newc("../escape", 0100644, "x") + trailer(), dest),
               Catch::Contains("evil.cpio") && Catch::Contains("byte offset 0") && Catch::Contains("\"..\""));
  }
  SECTION("absolute") {
    CHECK_THAT(extract_error(newc("ok", 0100644, "fine") + newc("/etc/x", 0100644, "x") + trailer(), dest),
               Catch::Contains("absolute") && Catch::Contains("byte offset 120"));
    CHECK(read_text(dest / "ok") == "fine");
  }
  SECTION("through a symlink from the archive") {
    std::string target = (tmp / "outside").string();
    CHECK_THAT(extract_error(newc("link", 0120777, target) + newc("link/file", 0100644, "x") + trailer(), dest),
               Catch::Contains("symlink or not a directory"));
  }
  SECTION("through a symlink planted beforehand, and onto one") {
    fs::create_directories(dest);
    fs::create_symlink(tmp / "outside", dest / "planted");
    fs::create_symlink(tmp / "outside/victim", dest / "victim");
    CHECK_THAT(extract_error(newc("planted/file", 0100644, "x") + trailer(), dest), Catch::Contains("planted"));
    CHECK(extract_error(newc("victim", 0100644, "replaced the link, not its target") + trailer(), dest).empty());
    CHECK(fs::is_regular_file(fs::symlink_status(dest / "victim")));
  }
  SECTION("devices: refused, skipped, or created (root only)") {
    std::string dev = newc("dev/console", 0020600, "", 1, 0, 5, 1) + trailer();
    CHECK_THAT(extract_error(dev, dest), Catch::Contains("dev/console") && Catch::Contains("device node refused"));
    ExtractOptions skip;
    skip.devices = DevicePolicy::kSkip;
    CHECK(extract_error(dev, dest, skip).empty());
    CHECK_FALSE(fs::exists(dest / "dev/console"));
    if (::geteuid() == 0) {
      ExtractOptions create;
      create.devices = DevicePolicy::kCreate;
      CHECK(extract_error(dev, dest, create).empty());
      struct stat st {};
      REQUIRE(::lstat((dest / "dev/console").c_str(), &st) == 0);
      CHECK(S_ISCHR(st.st_mode));
      CHECK(::major(st.st_rdev) == 5);
    }
  }
  CHECK(list_dir(tmp / "outside").empty());
}

TEST_CASE("reader errors name the input and the byte offset") {
  std::string good = newc("a", 0100644, "hello") + trailer();
  auto err = [](const std::string& bytes) {
    try {
      list_bytes(bytes);
    } catch (const ef::FormatError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err(good) == "no error");
  CHECK_THAT(err(good.substr(0, 114)), Catch::Contains("mem.cpio") && Catch::Contains("truncated"));
  CHECK_THAT(err(good.substr(0, 115)), Catch::Contains("offset 115") && Catch::Contains("file data"));
  CHECK_THAT(err(good.substr(0, 120)), Catch::Contains("offset 120") && Catch::Contains("header"));
  CHECK_THAT(err(newc("a", 0100644, "hello")), Catch::Contains("offset 120") && Catch::Contains("header"));
  std::string bad_hex = good;
  bad_hex[20] = 'g';
  CHECK_THAT(err(bad_hex), Catch::Contains("offset 20") && Catch::Contains("non-hex"));
  CHECK_THAT(err("070707" + good.substr(6)), Catch::Contains("offset 0") && Catch::Contains("magic"));
  CHECK_THAT(err(good + "junk"), Catch::Contains("after TRAILER"));
  CHECK(err(good + std::string(512, '\0')) == "no error");
  CHECK_THAT(err(newc("d", 0040755, "data!") + trailer()), Catch::Contains("directory with data"));
  CHECK_THAT(err(newc("s", 0140755) + trailer()), Catch::Contains("unsupported file type"));
  CHECK_THAT(err(newc("l", 0120777) + trailer()), Catch::Contains("symlink target size"));
}
