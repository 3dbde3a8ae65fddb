// The container-image metadata readers (docker-save manifest.json + config
// JSON, OCI oci-layout + index.json + image manifest) on arbitrary JSON: every
// fault is an ef::Error naming the archive and the member, never a crash or a
// nlohmann exception escaping apply_oci_layer.
//
// Input: one byte choosing the format (even: docker-save, odd: OCI layout),
// then pieces separated by "\n===\n":
//   docker-save: manifest.json, config.json, layer.tar (raw bytes, last)
//   OCI:         index.json, image manifest, config, layer (raw bytes, last)
// The harness packs them into a tar (OCI blobs under blobs/sha256/<their
// sha256>) and replaces @LAYER@, @CONFIG@, @MANIFEST@ with the sha256 hex of
// those pieces and @LAYER_SIZE@, @MANIFEST_SIZE@ with their sizes, so mutated
// JSON still reaches past the digest checks.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/hash.h"
#include "builder/content_cache.h"
#include "builder/fs_tree.h"
#include "builder/layer_oci.h"

namespace {

std::string sha256_hex(std::string_view data) { return ef::to_hex(ef::digest(ef::HashAlgo::kSha256, data)); }

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

/// A ustar member: 512-byte header, data padded to 512.
void add_member(std::string& tar, const std::string& name, std::string_view data) {
  char h[512] = {};
  std::snprintf(h, 100, "%s", name.c_str());
  std::snprintf(h + 100, 8, "%07o", 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(data.size()));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = '0';
  std::snprintf(h + 257, 6, "ustar");
  h[263] = '0';
  h[264] = '0';
  for (int i = 148; i < 156; ++i) h[i] = ' ';
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  tar.append(h, 512);
  tar.append(data);
  tar.append((512 - data.size() % 512) % 512, '\0');
}

std::vector<std::string> split(std::string_view s, std::size_t max_pieces) {
  std::vector<std::string> out;
  constexpr std::string_view kSep = "\n===\n";
  while (out.size() + 1 < max_pieces) {
    std::size_t at = s.find(kSep);
    if (at == std::string_view::npos) break;
    out.emplace_back(s.substr(0, at));
    s.remove_prefix(at + kSep.size());
  }
  out.emplace_back(s);
  while (out.size() < max_pieces) out.emplace_back();
  return out;
}

std::filesystem::path& dir_for_cleanup() {
  static std::filesystem::path p;
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const std::filesystem::path dir = [] {
    std::string t = (std::filesystem::temp_directory_path() / "ef-fuzz-oci-XXXXXX").string();
    if (!mkdtemp(t.data())) std::abort();
    dir_for_cleanup() = t;
    std::atexit([] {
      std::error_code e;
      std::filesystem::remove_all(dir_for_cleanup(), e);
    });
    return std::filesystem::path(t);
  }();
  bool oci = data[0] & 1;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string tar;
  if (!oci) {
    auto p = split(rest, 3);
    std::string manifest = p[0], config = p[1];
    const std::string& layer = p[2];
    replace_all(config, "@LAYER@", sha256_hex(layer));
    replace_all(manifest, "@LAYER@", sha256_hex(layer));
    add_member(tar, "manifest.json", manifest);
    add_member(tar, "config.json", config);
    add_member(tar, "layer.tar", layer);
    add_member(tar, "blobs/sha256/" + sha256_hex(layer), layer);  // newer docker names layers so
  } else {
    auto p = split(rest, 4);
    std::string index = p[0], manifest = p[1], config = p[2];
    const std::string& layer = p[3];
    const std::string layer_hex = sha256_hex(layer), config_hex = sha256_hex(config);
    replace_all(manifest, "@LAYER@", layer_hex);
    replace_all(manifest, "@CONFIG@", config_hex);
    replace_all(manifest, "@LAYER_SIZE@", std::to_string(layer.size()));
    const std::string manifest_hex = sha256_hex(manifest);
    replace_all(index, "@MANIFEST@", manifest_hex);
    replace_all(index, "@MANIFEST_SIZE@", std::to_string(manifest.size()));
    add_member(tar, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    add_member(tar, "index.json", index);
    add_member(tar, "blobs/sha256/" + manifest_hex, manifest);
    if (config_hex != manifest_hex) add_member(tar, "blobs/sha256/" + config_hex, config);
    if (layer_hex != manifest_hex && layer_hex != config_hex) add_member(tar, "blobs/sha256/" + layer_hex, layer);
  }
  tar.append(1024, '\0');
  const std::filesystem::path archive = dir / "image.tar";
  std::ofstream(archive, std::ios::binary | std::ios::trunc).write(tar.data(), static_cast<std::streamsize>(tar.size()));
  // A fresh layer cache each run, so every input is read the same way.
  std::error_code ec;
  std::filesystem::remove_all(dir / "cache", ec);
  try {
    ef::rootfs::ContentCache cache(dir / "cache");
    ef::rootfs::FsTree tree;
    ef::rootfs::OciOptions options;
    options.layer.max_entries = 1000;
    (void)ef::rootfs::apply_oci_layer(tree, archive, "", cache, options);
  } catch (const ef::Error&) {
  }
  return 0;
}
