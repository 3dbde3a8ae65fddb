// A build's result never depends on the layer cache: an archive whose layer,
// config or manifest was tampered with gives the same error whether the cache
// already holds the genuine content (warm) or is empty (cold).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "base/hash.h"
#include "builder/content_cache.h"
#include "builder/layer_oci.h"
#include "builder/layer_tar.h"
#include "fstree_test_util.h"

using namespace ef::rootfs;
using namespace fstree_test;
using nlohmann::json;

namespace {

std::string sha_hex(const std::string& s) { return ef::to_hex(ef::digest(ef::HashAlgo::kSha256, s)); }

std::string tar_bytes(const TempDir& tmp, const std::vector<TarItem>& items, bool gzip = false) {
  static int n = 0;
  fs::path p = tmp / ("part" + std::to_string(n++) + ".tar");
  make_tar(p, items, gzip);
  return read_text(p);
}

/// The error message of applying `image` with `cache`, or "" when it applied.
std::string apply_error(const fs::path& image, const ContentCache& cache) {
  try {
    FsTree t;
    apply_oci_layer(t, image, "", cache);
  } catch (const ef::Error& e) {
    return e.what();
  }
  return "";
}

/// Applies `genuine` into a fresh cache (warm), then `tampered` with that
/// cache and with an empty one (cold): both must fail with the same message.
std::string same_error_warm_and_cold(const TempDir& tmp, const fs::path& genuine, const fs::path& tampered) {
  static int n = 0;
  ContentCache warm(tmp / ("warm" + std::to_string(n)));
  ContentCache cold(tmp / ("cold" + std::to_string(n++)));
  REQUIRE(apply_error(genuine, warm).empty());
  std::string warm_error = apply_error(tampered, warm);
  std::string cold_error = apply_error(tampered, cold);
  INFO("warm: " << warm_error);
  INFO("cold: " << cold_error);
  CHECK_FALSE(cold_error.empty());
  CHECK(warm_error == cold_error);
  CHECK(list_dir(cold.root() / "layers").empty());  // nothing of a refused image is cached
  return cold_error;
}

/// A docker-save archive as `docker save` (before docker 25) writes one: the
/// config named by its digest, layers checked against its diff_ids.
struct DockerSave {
  std::string layer, config_override, layer_member_override;
  fs::path write(const TempDir& tmp, const std::string& file) const {
    std::string config = json({{"architecture", "amd64"},
                               {"os", "linux"},
                               {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + sha_hex(layer)}}}}})
                             .dump();
    std::string config_name = sha_hex(config) + ".json";
    std::string manifest =
        json::array({{{"Config", config_name}, {"RepoTags", {"app:1"}}, {"Layers", {"0123/layer.tar"}}}}).dump();
    fs::path out = tmp / file;
    make_tar(out, {tfile("0123/layer.tar", layer_member_override.empty() ? layer : layer_member_override),
                   tfile(config_name, config_override.empty() ? config : config_override),
                   tfile("manifest.json", manifest)});
    return out;
  }
};

/// An OCI image layout with one gzip layer; `size_delta` skews the layer
/// descriptor's size; `manifest_override` replaces the manifest blob's bytes.
struct OciLayout {
  std::string layer, layer_member_override, manifest_override;
  long size_delta = 0;
  fs::path write(const TempDir& tmp, const std::string& file) const {
    std::string config = R"({"architecture":"amd64","os":"linux"})";
    std::string manifest = manifest_for(layer, size_delta, config);
    fs::path out = tmp / file;
    make_tar(out, {tfile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"),
                   tfile("blobs/sha256/" + sha_hex(layer), layer_member_override.empty() ? layer : layer_member_override),
                   tfile("blobs/sha256/" + sha_hex(config), config),
                   tfile("blobs/sha256/" + sha_hex(manifest), manifest_override.empty() ? manifest : manifest_override),
                   tfile("index.json", json({{"schemaVersion", 2},
                                             {"manifests",
                                              {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                                {"digest", "sha256:" + sha_hex(manifest)},
                                                {"size", manifest.size()}}}}})
                                           .dump())});
    return out;
  }
  static std::string manifest_for(const std::string& layer, long size_delta, const std::string& config) {
    return json({{"schemaVersion", 2},
                 {"config", {{"digest", "sha256:" + sha_hex(config)}, {"size", config.size()}}},
                 {"layers",
                  {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                    {"digest", "sha256:" + sha_hex(layer)},
                    {"size", static_cast<long>(layer.size()) + size_delta}}}}})
        .dump();
  }
};

}  // namespace

TEST_CASE("docker save: a tampered layer fails the same way with a warm and a cold cache") {
  TempDir tmp;
  std::string genuine = tar_bytes(tmp, {tfile("etc/motd", "genuine")});
  std::string evil = tar_bytes(tmp, {tfile("etc/motd", "EVIL!!!")});
  fs::path good = DockerSave{genuine, "", ""}.write(tmp, "good.tar");
  fs::path bad = DockerSave{genuine, "", evil}.write(tmp, "bad.tar");
  std::string err = same_error_warm_and_cold(tmp, good, bad);
  CHECK_THAT(err, Catch::Contains("0123/layer.tar") && Catch::Contains("digest mismatch") &&
                      Catch::Contains("sha256:" + sha_hex(genuine)) && Catch::Contains("sha256:" + sha_hex(evil)));
}

TEST_CASE("docker save: a tampered config fails the same way with a warm and a cold cache") {
  TempDir tmp;
  std::string genuine = tar_bytes(tmp, {tfile("etc/motd", "genuine")});
  std::string evil = tar_bytes(tmp, {tfile("etc/motd", "EVIL!!!")});
  fs::path good = DockerSave{genuine, "", ""}.write(tmp, "good.tar");
  // The config keeps its digest name but now vouches for the evil layer.
  std::string forged = json({{"architecture", "amd64"},
                             {"os", "linux"},
                             {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + sha_hex(evil)}}}}})
                           .dump();
  fs::path bad = DockerSave{genuine, forged, evil}.write(tmp, "bad.tar");
  std::string err = same_error_warm_and_cold(tmp, good, bad);
  CHECK_THAT(err, Catch::Contains(".json") && Catch::Contains("does not match digest"));
}

TEST_CASE("OCI layout: a layer of the wrong size or digest fails the same way warm and cold") {
  TempDir tmp;
  std::string genuine = tar_bytes(tmp, {tfile("etc/motd", "genuine")}, true);
  std::string evil = tar_bytes(tmp, {tfile("etc/motd", "EVIL!!!")}, true);
  fs::path good = OciLayout{genuine, "", "", 0}.write(tmp, "good.tar");
  SECTION("wrong size in the descriptor") {
    fs::path bad = OciLayout{genuine, "", "", 1}.write(tmp, "bad.tar");
    CHECK_THAT(same_error_warm_and_cold(tmp, good, bad), Catch::Contains("size mismatch") &&
                                                             Catch::Contains(std::to_string(genuine.size() + 1)));
  }
  SECTION("other bytes under the layer's digest") {
    fs::path bad = OciLayout{genuine, evil, "", 0}.write(tmp, "bad.tar");
    CHECK_THAT(same_error_warm_and_cold(tmp, good, bad), Catch::Contains("digest mismatch"));
  }
  SECTION("a tampered manifest naming the evil layer under the genuine manifest's digest") {
    std::string config = R"({"architecture":"amd64","os":"linux"})";
    fs::path bad = OciLayout{genuine, evil, OciLayout::manifest_for(evil, 0, config), 0}.write(tmp, "bad.tar");
    CHECK_THAT(same_error_warm_and_cold(tmp, good, bad), Catch::Contains("does not match digest"));
  }
}

TEST_CASE("tar layer: bytes that do not hash to the given digest are refused and never cached") {
  TempDir tmp;
  fs::path tar = tmp / "layer.tar";
  make_tar(tar, {tfile("a", "genuine")});
  std::string real = sha_hex(read_text(tar));
  ContentCache cache(tmp / "cache");
  FsTree t;
  std::string wrong(64, 'a');
  CHECK_THROWS_WITH(apply_tar_layer(t, tar, "", cache, wrong),
                    Catch::Contains("digest mismatch") && Catch::Contains(wrong) && Catch::Contains(real));
  CHECK(list_dir(cache.root() / "layers").empty());
  FsTree ok;
  apply_tar_layer(ok, tar, "", cache, real);
  CHECK(list_dir(cache.root() / "layers").size() == 1);
}
