#include <catch2/catch.hpp>

#include "base/error.h"
#include "builder/fs_tree.h"

using namespace ef::rootfs;

namespace {

std::vector<std::string> paths(const FsTree& t) {
  std::vector<std::string> out;
  for (const auto& [p, n] : t) out.push_back(p);
  return out;
}

std::string inline_text(const FsTree& t, const std::string& p) {
  const FsNode* n = t.find(p);
  REQUIRE(n != nullptr);
  REQUIRE(n->type == FsType::kFile);
  REQUIRE(n->file->content.is_inline());
  return std::string(n->file->content.bytes->begin(), n->file->content.bytes->end());
}

}  // namespace

TEST_CASE("paths are normalised, and \"..\" is refused") {
  CHECK(normalize_path("rootfs/bin/sh") == "rootfs/bin/sh");
  CHECK(normalize_path("/./rootfs//bin/./sh/") == "rootfs/bin/sh");
  CHECK(normalize_path("") == "");
  CHECK(normalize_path("/") == "");
  CHECK(normalize_path("./") == "");
  CHECK(normalize_path("..foo/bar..") == "..foo/bar..");
  CHECK_THROWS_WITH(normalize_path("a/../b"), Catch::Contains("\"..\""));
  CHECK_THROWS_WITH(normalize_path("../etc/passwd"), Catch::Contains("../etc/passwd"));
  CHECK_THROWS(normalize_path(std::string("a\0b", 3)));
  CHECK_THROWS_WITH(normalize_path(std::string(256, 'x')), Catch::Contains("255"));
  std::string deep;
  for (int i = 0; i < 410; ++i) deep += "abcdefghi/";
  CHECK_THROWS_WITH(normalize_path(deep), Catch::Contains("4095"));
  CHECK(join_path("rootfs", "/etc/hosts") == "rootfs/etc/hosts");
  CHECK(join_path("", "etc") == "etc");
}

TEST_CASE("missing parents become 0755 directories; iteration is bytewise with parents first") {
  FsTree t;
  t.add_bytes("a/b/c", "x");
  t.add_bytes("a-b", "y");
  t.add_directory("a/B", 0700);
  CHECK(paths(t) == std::vector<std::string>{"a", "a-b", "a/B", "a/b", "a/b/c"});
  CHECK(t.find("a/b")->type == FsType::kDirectory);
  CHECK(t.find("a/b")->mode == 0755);
  CHECK(t.find("a/B")->mode == 0700);
}

TEST_CASE("override rules follow overlayfs / docker layers") {
  FsTree t;
  t.add_bytes("etc/conf/a", "1");
  t.add_bytes("etc/conf-x", "keep");
  SECTION("a directory over a directory keeps its contents and takes the new mode") {
    t.add_directory("etc/conf", 0750);
    CHECK(t.find("etc/conf")->mode == 0750);
    CHECK(t.find("etc/conf/a") != nullptr);
  }
  SECTION("a file over a directory removes the subtree, not its siblings") {
    t.add_bytes("etc/conf", "now a file");
    CHECK(inline_text(t, "etc/conf") == "now a file");
    CHECK(t.find("etc/conf/a") == nullptr);
    CHECK(inline_text(t, "etc/conf-x") == "keep");
  }
  SECTION("a symlink over a directory too") {
    t.add_symlink("etc/conf", "/elsewhere");
    CHECK(t.find("etc/conf")->type == FsType::kSymlink);
    CHECK(paths(t) == std::vector<std::string>{"etc", "etc/conf", "etc/conf-x"});
  }
  SECTION("a directory over a file replaces it") {
    t.add_directory("etc/conf-x", 0711);
    CHECK(t.find("etc/conf-x")->type == FsType::kDirectory);
  }
  SECTION("a file over a file replaces it; the later one wins") {
    t.add_bytes("etc/conf/a", "2", 0600);
    CHECK(inline_text(t, "etc/conf/a") == "2");
    CHECK(t.find("etc/conf/a")->permissions() == 0600);
  }
  SECTION("adding below a non-directory is an error naming both paths") {
    t.add_symlink("lib", "usr/lib");
    CHECK_THROWS_WITH(t.add_bytes("lib/x.so", "x"), Catch::Contains("lib/x.so") && Catch::Contains("\"lib\" is a symlink"));
  }
}

TEST_CASE("hard links share an inode until one path is replaced") {
  FsTree t;
  t.add_bytes("bin/busybox", "BB", 0755);
  t.add_hardlink("bin/sh", "bin/busybox");
  CHECK(t.find("bin/sh")->file == t.find("bin/busybox")->file);
  CHECK(t.find("bin/sh")->permissions() == 0755);
  t.add_bytes("bin/busybox", "new");
  CHECK(t.find("bin/sh")->file != t.find("bin/busybox")->file);
  CHECK(inline_text(t, "bin/sh") == "BB");
  CHECK_THROWS_WITH(t.add_hardlink("x", "missing"), Catch::Contains("missing"));
  CHECK_THROWS_WITH(t.add_hardlink("x", "bin"), Catch::Contains("directory"));
}

TEST_CASE("remove and clear_directory") {
  FsTree t;
  t.add_bytes("d/x", "1");
  t.add_bytes("d/sub/y", "2");
  t.add_bytes("d0", "3");
  t.clear_directory("d");
  CHECK(paths(t) == std::vector<std::string>{"d", "d0"});
  CHECK(t.remove("d"));
  CHECK_FALSE(t.remove("d"));
  CHECK(paths(t) == std::vector<std::string>{"d0"});
}

TEST_CASE("modes are masked to 07777; devices need a device kind") {
  FsTree t;
  t.add_directory("tmp", 041777);
  CHECK(t.find("tmp")->mode == 01777);
  t.add_device("dev/null", FsType::kCharDevice, 1, 3, 0666);
  CHECK(t.find("dev/null")->rdev_major == 1);
  CHECK_THROWS(t.add_device("dev/x", FsType::kFifo, 1, 1));
  CHECK_THROWS(t.add_symlink("s", ""));
  CHECK_THROWS(t.add_bytes("", "root cannot be a file"));
}
