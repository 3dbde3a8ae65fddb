#include <catch2/catch.hpp>
#include <cstring>

#include "base/hash.h"
#include "builder/content_cache.h"
#include "builder/layer_dir.h"
#include "builder/layer_tar.h"
#include "fstree_test_util.h"

using namespace ef::rootfs;
using namespace fstree_test;

namespace {

std::string content_of(const FsTree& t, const std::string& path) {
  const FsNode* n = t.find(path);
  REQUIRE(n != nullptr);
  REQUIRE(n->type == FsType::kFile);
  const FsContent& c = n->file->content;
  if (c.is_inline()) return std::string(c.bytes->begin(), c.bytes->end());
  std::string all = read_text(c.host_path);
  return all.substr(c.offset, c.size);
}

std::vector<std::string> tree_paths(const FsTree& t) {
  std::vector<std::string> out;
  for (const auto& [p, n] : t) out.push_back(p);
  return out;
}

}  // namespace

TEST_CASE("directory layer: files, dirs, symlinks, hard links by inode, modes kept") {
  TempDir tmp;
  fs::path src = tmp / "src";
  write_text(src / "bin/tool", "tool");
  write_text(src / "etc/app.conf", "k=v");
  fs::create_directories(src / "var/empty");
  fs::create_symlink("/etc/app.conf", src / "conf");
  fs::create_hard_link(src / "bin/tool", src / "bin/tool-alias");
  ::chmod((src / "bin/tool").c_str(), 0750);
  ::chmod((src / "var/empty").c_str(), 0700);
  FsTree t;
  apply_directory_layer(t, src, "rootfs");
  CHECK(tree_paths(t) == std::vector<std::string>{"rootfs", "rootfs/bin", "rootfs/bin/tool", "rootfs/bin/tool-alias",
                                                  "rootfs/conf", "rootfs/etc", "rootfs/etc/app.conf", "rootfs/var",
                                                  "rootfs/var/empty"});
  CHECK(t.find("rootfs/bin/tool")->file == t.find("rootfs/bin/tool-alias")->file);
  CHECK(t.find("rootfs/bin/tool")->permissions() == 0750);
  CHECK(t.find("rootfs/var/empty")->mode == 0700);
  CHECK(t.find("rootfs/conf")->link_target == "/etc/app.conf");
  CHECK(content_of(t, "rootfs/etc/app.conf") == "k=v");
}

TEST_CASE("directory layer refuses fifos unless allowed, and a later layer overrides") {
  TempDir tmp;
  fs::path src = tmp / "src";
  write_text(src / "a", "lower");
  REQUIRE(::mkfifo((src / "pipe").c_str(), 0600) == 0);
  FsTree t;
  CHECK_THROWS_WITH(apply_directory_layer(t, src, ""), Catch::Contains("fifo") && Catch::Contains("pipe"));
  LayerOptions allow;
  allow.allow_devices = true;
  apply_directory_layer(t, src, "", allow);
  CHECK(t.find("pipe")->type == FsType::kFifo);
  fs::path upper = tmp / "upper";
  write_text(upper / "a/now-a-dir", "upper");
  apply_directory_layer(t, upper, "");
  CHECK(t.find("a")->type == FsType::kDirectory);
  CHECK(content_of(t, "a/now-a-dir") == "upper");
}

TEST_CASE("tar layer (gzip): entries, hard links, and the cache makes a rebuild read only the manifest") {
  TempDir tmp;
  fs::path tar = tmp / "layer.tar.gz";
  make_tar(tar,
           {tdir("./"), tfile("usr/bin/app", "APP", 0755), thardlink("usr/bin/app2", "usr/bin/app"),
            tfile("/etc/abs", "absolute paths are made relative", 0600), tsymlink("etc/link", "../../../../outside"),
            tfile("etc/dup", "first"), tfile("etc/dup", "second wins"), tfile("etc/.wh.x", "plain tar: not a whiteout"),
            tfile("empty", "")},
           true);
  ContentCache cache(tmp / "cache");
  std::string sha = ef::to_hex(ef::digest_file(ef::HashAlgo::kSha256, tar));
  FsTree t;
  apply_tar_layer(t, tar, "rootfs", cache, sha);
  CHECK(content_of(t, "rootfs/usr/bin/app") == "APP");
  CHECK(t.find("rootfs/usr/bin/app2")->file == t.find("rootfs/usr/bin/app")->file);
  CHECK(t.find("rootfs/etc/abs")->permissions() == 0600);
  CHECK(t.find("rootfs/etc/link")->link_target == "../../../../outside");
  CHECK(content_of(t, "rootfs/etc/dup") == "second wins");
  CHECK(content_of(t, "rootfs/etc/.wh.x") == "plain tar: not a whiteout");
  CHECK(content_of(t, "rootfs/empty").empty());
  CHECK(fs::exists(cache.root() / "layers" / (sha + ".json")));
  CHECK(list_dir(cache.root() / "tmp").empty());
  std::string first = cpio_bytes(t, 1);

  // The archive is gone: a rebuild with the same digest must come from the cache.
  fs::remove(tar);
  FsTree again;
  apply_tar_layer(again, tar, "rootfs", cache, sha);
  CHECK(cpio_bytes(again, 1) == first);

  // A damaged manifest is a miss (and the missing archive then an error).
  write_text(cache.root() / "layers" / (sha + ".json"), "{not json");
  FsTree third;
  CHECK_THROWS_WITH(apply_tar_layer(third, tar, "rootfs", cache, sha), Catch::Contains("layer.tar.gz"));
}

TEST_CASE("tar layer: the digest is computed when not given, and must look like one") {
  TempDir tmp;
  make_tar(tmp / "l.tar", {tfile("f", "x")});
  ContentCache cache(tmp / "cache");
  FsTree t;
  apply_tar_layer(t, tmp / "l.tar", "", cache);
  std::string sha = ef::to_hex(ef::digest_file(ef::HashAlgo::kSha256, tmp / "l.tar"));
  CHECK(fs::exists(cache.root() / "layers" / (sha + ".json")));
  CHECK_THROWS_WITH(apply_tar_layer(t, tmp / "l.tar", "", cache, "../../etc/passwd"), Catch::Contains("64"));
}

namespace {

/// Rewrites the size field of the first ustar header in `tar` and fixes its checksum.
void patch_first_size(const fs::path& tar, const std::string& octal11) {
  std::string b = read_text(tar);
  std::size_t h = 0;
  // pax_restricted writes a plain ustar header when no extension is needed.
  REQUIRE(b.compare(h + 257, 5, "ustar") == 0);
  b.replace(h + 124, 11, octal11);
  std::memset(b.data() + h + 148, ' ', 8);
  unsigned sum = 0;
  for (std::size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(b[h + i]);
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  std::memcpy(b.data() + h + 148, chk, 7);
  write_text(tar, b);
}

/// Applies a hostile tar; returns the error text (empty if it was accepted).
std::string hostile(const TempDir& tmp, const fs::path& tar, const LayerOptions& opts = {}) {
  ContentCache cache(tmp / "cache");
  FsTree t;
  try {
    apply_tar_layer(t, tar, "rootfs", cache, "", opts);
  } catch (const ef::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("hostile tar layers are refused with the archive, entry and offset named; nothing lands outside") {
  TempDir tmp;
  fs::path tar = tmp / "evil.tar";
  SECTION("../ escaping the root") {
    make_tar(tar, {tfile("ok", "fine"), tfile("a/../../escape", "x")});
    std::string err = hostile(tmp, tar);
    CHECK_THAT(err, Catch::Contains("evil.tar") && Catch::Contains("a/../../escape") && Catch::Contains("byte offset 1024"));
  }
  SECTION("a hard link whose target climbs out") {
    make_tar(tar, {thardlink("h", "../../etc/passwd")});
    CHECK_THAT(hostile(tmp, tar), Catch::Contains("\"..\""));
  }
  SECTION("a hard link to a missing target") {
    make_tar(tar, {thardlink("h", "nowhere")});
    CHECK_THAT(hostile(tmp, tar), Catch::Contains("entry \"h\"") && Catch::Contains("missing"));
  }
  SECTION("device nodes unless allowed") {
    make_tar(tar, {tdevice("dev/mem", AE_IFCHR, 1, 1)});
    CHECK_THAT(hostile(tmp, tar), Catch::Contains("dev/mem") && Catch::Contains("character device refused"));
    LayerOptions allow;
    allow.allow_devices = true;
    CHECK(hostile(tmp, tar, allow).empty());
  }
  SECTION("a file over the size limit is refused from its header") {
    make_tar(tar, {tfile("big", std::string(100, 'b'))});
    LayerOptions small;
    small.max_file_size = 99;
    CHECK_THAT(hostile(tmp, tar, small), Catch::Contains("big") && Catch::Contains("limit of 99"));
  }
  SECTION("a header size beyond the end of the archive") {
    make_tar(tar, {tfile("liar", std::string(100, 'l'))});
    patch_first_size(tar, "00001000000");  // 256 KiB, far beyond the archive
    CHECK_THAT(hostile(tmp, tar), Catch::Contains("liar") && Catch::Contains("evil.tar"));
  }
  SECTION("a truncated archive") {
    make_tar(tar, {tfile("a", std::string(5000, 'a')), tfile("b", std::string(5000, 'b'))});
    fs::resize_file(tar, 3000);
    CHECK_THAT(hostile(tmp, tar), Catch::Contains("evil.tar") && Catch::Contains("\"a\""));
  }
  SECTION("a corrupted header") {
    make_tar(tar, {tfile("a", "x"), tfile("b", "y")});
    std::string b = read_text(tar);
    b[1024 + 100] ^= 0x55;  // second header's mode field: checksum now wrong
    write_text(tar, b);
    CHECK_THAT(hostile(tmp, tar), Catch::Contains("evil.tar") && Catch::Contains("offset"));
  }
  SECTION("too many entries") {
    make_tar(tar, {tfile("a", ""), tfile("b", ""), tfile("c", "")});
    LayerOptions few;
    few.max_entries = 2;
    CHECK_THAT(hostile(tmp, tar, few), Catch::Contains("more than 2 entries"));
  }
  SECTION("not an archive at all") {
    write_text(tar, std::string(3000, 'z'));
    CHECK_THAT(hostile(tmp, tar), Catch::Contains("evil.tar"));
  }
  // Only the archive and the cache's own layout exist below the temp dir.
  for (const std::string& p : list_dir(tmp.path())) {
    INFO(p);
    CHECK((p == "evil.tar" || p == "cache" || p.rfind("cache/blobs", 0) == 0 || p.rfind("cache/layers", 0) == 0 ||
           p == "cache/tmp"));
  }
  CHECK(list_dir(tmp / "cache/tmp").empty());
}
