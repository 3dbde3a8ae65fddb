#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/hash.h"
#include "builder/content_cache.h"
#include "builder/layer_dir.h"
#include "builder/layer_oci.h"
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

// ---- OCI image layout and docker save ----

namespace {

using nlohmann::json;

std::string sha_hex(const std::string& s) { return ef::to_hex(ef::digest(ef::HashAlgo::kSha256, s)); }

/// A layer tar's bytes.
std::string layer_bytes(const TempDir& tmp, const std::vector<TarItem>& items, bool gzip = false) {
  static int n = 0;
  fs::path p = tmp / ("layer" + std::to_string(n++) + ".tar");
  make_tar(p, items, gzip);
  return read_text(p);
}

std::vector<TarItem> lower_layer() {
  return {tdir("etc"), tfile("etc/a", "A"), tfile("etc/b", "B"), tdir("opt/dir"), tfile("opt/dir/x", "X"),
          tfile("opt/dir/sub/y", "Y"), tfile("keep/z", "old"), tfile("etc/gone-dir/f", "F")};
}

std::vector<TarItem> upper_layer() {
  return {tfile("etc/.wh.a", ""), tfile("etc/.wh.gone-dir", ""), tfile("opt/dir/new", "same layer survives"),
          tfile("opt/dir/.wh..wh..opq", ""), tfile("keep/z", "new")};
}

void expect_whiteouts_applied(const FsTree& t) {
  CHECK(t.find("img/etc/a") == nullptr);
  CHECK(t.find("img/etc/gone-dir") == nullptr);
  CHECK(t.find("img/etc/gone-dir/f") == nullptr);
  CHECK(content_of(t, "img/etc/b") == "B");
  CHECK(t.find("img/opt/dir/x") == nullptr);
  CHECK(t.find("img/opt/dir/sub") == nullptr);
  CHECK(content_of(t, "img/opt/dir/new") == "same layer survives");
  CHECK(content_of(t, "img/keep/z") == "new");
  CHECK(t.find("img/etc/.wh.a") == nullptr);
  CHECK(t.find("img/opt/dir/.wh..wh..opq") == nullptr);
}

/// An OCI layout tarball: index.json -> (image index ->) manifest -> layers.
fs::path make_oci(const TempDir& tmp, const std::vector<std::string>& layers, bool nested_index,
                  const std::string& tamper_layer = {}) {
  std::vector<TarItem> outer{tfile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})")};
  json mlayers = json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    std::string hex = sha_hex(layers[i]);
    mlayers.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                       {"digest", "sha256:" + hex},
                       {"size", layers[i].size()}});
    outer.push_back(tfile("blobs/sha256/" + hex, i == 0 && !tamper_layer.empty() ? tamper_layer : layers[i]));
  }
  std::string config = R"({"architecture":"amd64","os":"linux"})";
  outer.push_back(tfile("blobs/sha256/" + sha_hex(config), config));
  std::string manifest = json({{"schemaVersion", 2},
                               {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                               {"config", {{"digest", "sha256:" + sha_hex(config)}, {"size", config.size()}}},
                               {"layers", mlayers}})
                             .dump();
  outer.push_back(tfile("blobs/sha256/" + sha_hex(manifest), manifest));
  json desc = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
               {"digest", "sha256:" + sha_hex(manifest)},
               {"size", manifest.size()},
               {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}};
  json top = desc;
  if (nested_index) {
    json arm = desc;
    arm["digest"] = "sha256:" + std::string(64, '0');  // never read: another platform
    arm["platform"]["architecture"] = "arm64";
    std::string idx = json({{"schemaVersion", 2}, {"manifests", {arm, desc}}}).dump();
    outer.push_back(tfile("blobs/sha256/" + sha_hex(idx), idx));
    top = {{"mediaType", "application/vnd.oci.image.index.v1+json"},
           {"digest", "sha256:" + sha_hex(idx)},
           {"size", idx.size()}};
  }
  outer.push_back(tfile("index.json", json({{"schemaVersion", 2}, {"manifests", {top}}}).dump()));
  fs::path out = tmp / "image-oci.tar";
  make_tar(out, outer);
  return out;
}

}  // namespace

TEST_CASE("OCI layout: layers in order, whiteouts and opaque dirs, platform choice, digests checked, cache reused") {
  TempDir tmp;
  std::vector<std::string> layers{layer_bytes(tmp, lower_layer(), true), layer_bytes(tmp, upper_layer(), true)};
  fs::path image = make_oci(tmp, layers, true);
  ContentCache cache(tmp / "cache");
  FsTree t;
  OciImageInfo info = apply_oci_layer(t, image, "img", cache);
  expect_whiteouts_applied(t);
  CHECK(info.format == "oci-layout");
  REQUIRE(info.layers.size() == 2);
  CHECK(info.layers[1].sha256 == sha_hex(layers[1]));
  CHECK_FALSE(info.layers[0].from_cache);

  FsTree again;
  OciImageInfo info2 = apply_oci_layer(again, image, "img", cache);
  CHECK(info2.layers[0].from_cache);
  CHECK(info2.layers[1].from_cache);
  CHECK(cpio_bytes(again, 7) == cpio_bytes(t, 7));
}

TEST_CASE("OCI layout: a layer that does not match its digest is refused") {
  TempDir tmp;
  std::vector<std::string> layers{layer_bytes(tmp, lower_layer(), true)};
  fs::path image = make_oci(tmp, layers, false, layer_bytes(tmp, upper_layer(), true));
  ContentCache cache(tmp / "cache");
  FsTree t;
  CHECK_THROWS_WITH(apply_oci_layer(t, image, "", cache),
                    Catch::Contains("digest mismatch") && Catch::Contains("blobs/sha256/" + sha_hex(layers[0])));
  CHECK(list_dir(cache.root() / "layers").empty());
}

TEST_CASE("docker save: diff_ids checked, a symlinked duplicate layer followed, whiteouts honoured") {
  TempDir tmp;
  std::string l1 = layer_bytes(tmp, lower_layer());
  std::string l2 = layer_bytes(tmp, upper_layer());
  std::string config = json({{"rootfs", {{"type", "layers"},
                                         {"diff_ids", {"sha256:" + sha_hex(l1), "sha256:" + sha_hex(l2),
                                                       "sha256:" + sha_hex(l1)}}}}})
                           .dump();
  std::string manifest =
      json::array({{{"Config", "cfg.json"}, {"RepoTags", {"app:1"}}, {"Layers", {"aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar"}}}})
          .dump();
  fs::path image = tmp / "docker.tar";
  make_tar(image, {tfile("aaa/layer.tar", l1), tfile("bbb/layer.tar", l2), tsymlink("ccc/layer.tar", "../aaa/layer.tar"),
                   tfile("cfg.json", config), tfile("manifest.json", manifest)});
  ContentCache cache(tmp / "cache");
  FsTree t;
  OciImageInfo info = apply_oci_layer(t, image, "img", cache);
  CHECK(info.format == "docker-save");
  REQUIRE(info.layers.size() == 3);
  CHECK(info.layers[2].from_cache);  // same digest as the first layer
  // The third layer re-adds what the second whited out.
  CHECK(content_of(t, "img/etc/a") == "A");
  CHECK(content_of(t, "img/keep/z") == "old");
  CHECK(content_of(t, "img/opt/dir/new") == "same layer survives");

  SECTION("a layer that does not match its diff_id") {
    make_tar(image, {tfile("aaa/layer.tar", l2), tfile("bbb/layer.tar", l2), tfile("ccc/layer.tar", l1),
                     tfile("cfg.json", config), tfile("manifest.json", manifest)});
    ContentCache fresh(tmp / "cache2");
    FsTree t2;
    CHECK_THROWS_WITH(apply_oci_layer(t2, image, "img", fresh), Catch::Contains("aaa/layer.tar") &&
                                                                     Catch::Contains("digest mismatch"));
  }
}

TEST_CASE("hostile image archives are refused") {
  TempDir tmp;
  ContentCache cache(tmp / "cache");
  FsTree t;
  fs::path image = tmp / "evil-image.tar";
  std::string l1 = layer_bytes(tmp, {tfile("x", "x")});
  SECTION("not an image") {
    make_tar(image, {tfile("hello", "world")});
    CHECK_THROWS_WITH(apply_oci_layer(t, image, "", cache), Catch::Contains("not an image archive"));
  }
  SECTION("two images in manifest.json") {
    json m = json::array({{{"Config", "c"}, {"Layers", json::array()}}, {{"Config", "c"}, {"Layers", json::array()}}});
    make_tar(image, {tfile("manifest.json", m.dump())});
    CHECK_THROWS_WITH(apply_oci_layer(t, image, "", cache), Catch::Contains("exactly one image"));
  }
  SECTION("a layer member symlinked out of the archive") {
    json m = json::array({{{"Config", "c"}, {"Layers", {"a/layer.tar"}}}});
    make_tar(image, {tsymlink("a/layer.tar", "../../../etc/passwd"), tfile("manifest.json", m.dump()),
                     tfile("c", R"({"rootfs":{"diff_ids":["sha256:)" + sha_hex(l1) + R"("]}})")});
    CHECK_THROWS_WITH(apply_oci_layer(t, image, "", cache), Catch::Contains("climbs out"));
  }
  SECTION("a missing layer member") {
    json m = json::array({{{"Config", "c"}, {"Layers", {"blobs/sha256/" + sha_hex(l1)}}}});
    make_tar(image, {tfile("manifest.json", m.dump())});
    CHECK_THROWS_WITH(apply_oci_layer(t, image, "", cache), Catch::Contains("no member blobs/sha256/"));
  }
  SECTION("a whiteout naming \"..\"") {
    std::string bad = layer_bytes(tmp, {tfile("dir/.wh...", "")});
    json m = json::array({{{"Config", "c"}, {"Layers", {"blobs/sha256/" + sha_hex(bad)}}}});
    make_tar(image, {tfile("manifest.json", m.dump()), tfile("blobs/sha256/" + sha_hex(bad), bad)});
    CHECK_THROWS_WITH(apply_oci_layer(t, image, "", cache), Catch::Contains("dir/.wh...") && Catch::Contains("whiteout"));
  }
  SECTION("malformed JSON") {
    make_tar(image, {tfile("manifest.json", "[{")});
    CHECK_THROWS_WITH(apply_oci_layer(t, image, "", cache), Catch::Contains("manifest.json") && Catch::Contains("JSON"));
  }
  SECTION("an unsupported digest algorithm") {
    make_tar(image, {tfile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"),
                     tfile("index.json", R"({"manifests":[{"digest":"md5:abc","size":1}]})")});
    CHECK_THROWS_WITH(apply_oci_layer(t, image, "", cache), Catch::Contains("unsupported digest"));
  }
}

TEST_CASE("images built by GNU tar and sha256sum (the fuzz seeds) apply as expected") {
  TempDir tmp;
  fs::path corpus = fs::path(EF_SOURCE_DIR) / "tests/fuzz/corpus/builder_tar";
  ContentCache cache(tmp / "cache");
  LayerOptions allow;
  allow.allow_devices = true;  // the layer holds a fifo
  OciOptions oci;
  oci.layer = allow;
  FsTree docker;
  CHECK(apply_oci_layer(docker, corpus / "docker-save.tar", "", cache, oci).format == "docker-save");
  // Layer 2 is opaque at the root and whites out etc/motd: nothing of layer 1 is left.
  CHECK(tree_paths(docker) == std::vector<std::string>{"etc"});
  FsTree image;
  CHECK(apply_oci_layer(image, corpus / "oci-layout.tar", "", cache, oci).format == "oci-layout");
  CHECK(tree_paths(image) ==
        std::vector<std::string>{"bin", "bin/ash", "bin/motd", "bin/sh", "etc", "etc/motd", "fifo"});
  CHECK(image.find("bin/ash")->file == image.find("bin/sh")->file);
  CHECK(content_of(image, "etc/motd") == "hi\n");
  FsTree plain;
  CHECK_THROWS_WITH(apply_tar_layer(plain, corpus / "plain-layer.tar", "", cache), Catch::Contains("fifo"));
  CHECK_THROWS_WITH(apply_tar_layer(plain, corpus / "truncated.tar", "", cache), Catch::Contains("truncated.tar"));
}

TEST_CASE("non-ASCII (UTF-8) names survive tar layers in every tar format, whatever the locale") {
  TempDir tmp;
  const std::string name = "F\xc5\x91tan\xc3\xbas\xc3\xadtv\xc3\xa1ny.crt";  // as in Debian's ca-certificates
  write_text(tmp / "src" / name, "cert");
  ContentCache cache(tmp / "cache");
  for (const char* fmt : {"gnu", "ustar", "pax"}) {
    INFO(fmt);
    fs::path tar = tmp / (std::string(fmt) + ".tar");
    sh("tar --format=" + std::string(fmt) + " -C " + quote(tmp / "src") + " -cf " + quote(tar) + " .");
    FsTree t;
    apply_tar_layer(t, tar, "", cache);
    CHECK(tree_paths(t) == std::vector<std::string>{name});
    // ...and through the cache manifest (JSON) back again.
    FsTree again;
    apply_tar_layer(again, tar, "", cache);
    CHECK(tree_paths(again) == std::vector<std::string>{name});
  }
  std::string latin1 = "caf\xe9";  // not UTF-8: stored hex-encoded in the manifest
  write_text(tmp / "src2" / latin1, "x");
  sh("tar --format=gnu -C " + quote(tmp / "src2") + " -cf " + quote(tmp / "l1.tar") + " .");
  FsTree t1, t2;
  apply_tar_layer(t1, tmp / "l1.tar", "", cache);
  apply_tar_layer(t2, tmp / "l1.tar", "", cache);
  CHECK(tree_paths(t1) == std::vector<std::string>{latin1});
  CHECK(tree_paths(t2) == std::vector<std::string>{latin1});
}
