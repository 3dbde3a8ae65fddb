#include "builder/content_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/json_integer.h"
#include "base/file.h"

namespace ef::rootfs {

namespace {

using nlohmann::json;

constexpr int kManifestVersion = 1;

const char* kind_key(LayerEntry::Kind k) {
  switch (k) {
    case LayerEntry::Kind::kFile: return "file";
    case LayerEntry::Kind::kDirectory: return "dir";
    case LayerEntry::Kind::kSymlink: return "symlink";
    case LayerEntry::Kind::kHardlink: return "hardlink";
    case LayerEntry::Kind::kCharDevice: return "char";
    case LayerEntry::Kind::kBlockDevice: return "block";
    case LayerEntry::Kind::kFifo: return "fifo";
  }
  return "?";
}

LayerEntry::Kind kind_from_key(const std::string& s) {
  for (auto k : {LayerEntry::Kind::kFile, LayerEntry::Kind::kDirectory, LayerEntry::Kind::kSymlink,
                 LayerEntry::Kind::kHardlink, LayerEntry::Kind::kCharDevice, LayerEntry::Kind::kBlockDevice,
                 LayerEntry::Kind::kFifo})
    if (s == kind_key(k)) return k;
  throw Error("unknown entry type \"" + s + "\"");
}

/// Paths are bytes, JSON strings are UTF-8: names that are not valid UTF-8
/// are stored hex-encoded under KEY_hex.
void put_name(json& j, const std::string& key, const std::string& value) {
  try {
    (void)json(value).dump();
    j[key] = value;
  } catch (const json::exception&) {
    j[key + "_hex"] = to_hex(std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
  }
}

std::string get_name(const json& j, const std::string& key) {
  if (j.contains(key + "_hex")) {
    auto bytes = from_hex(j.at(key + "_hex").get<std::string>(), key);
    return std::string(bytes.begin(), bytes.end());
  }
  return j.at(key).get<std::string>();
}

json entry_to_json(const LayerEntry& e) {
  json j = {{"type", kind_key(e.kind)}, {"mode", e.mode}};
  put_name(j, "path", e.path);
  if (e.kind == LayerEntry::Kind::kFile) {
    j["size"] = e.content.size;
    if (e.content.size > 0) j["sha256"] = e.content.sha256;
  }
  if (!e.target.empty()) put_name(j, "target", e.target);
  if (e.kind == LayerEntry::Kind::kCharDevice || e.kind == LayerEntry::Kind::kBlockDevice) {
    j["major"] = e.rdev_major;
    j["minor"] = e.rdev_minor;
  }
  return j;
}

/// Rebuilds an entry; returns nullopt if its blob is missing or the wrong size.
std::optional<LayerEntry> entry_from_json(const json& j, const ContentCache& cache) {
  LayerEntry e;
  e.kind = kind_from_key(j.at("type").get<std::string>());
  e.path = normalize_path(get_name(j, "path"));
  e.mode = json_integer<std::uint32_t>(j.at("mode"), "cache entry mode") & 07777;
  if (j.contains("target") || j.contains("target_hex")) e.target = get_name(j, "target");
  if (j.contains("major")) e.rdev_major = json_integer<std::uint32_t>(j.at("major"), "cache entry major");
  if (j.contains("minor")) e.rdev_minor = json_integer<std::uint32_t>(j.at("minor"), "cache entry minor");
  if (e.kind == LayerEntry::Kind::kFile) {
    std::uint64_t size = json_integer<std::uint64_t>(j.at("size"), "cache entry size");
    if (size == 0) {
      e.content = FsContent::inline_bytes({});
    } else {
      std::string sha = j.at("sha256").get<std::string>();
      check_sha256_hex(sha, "blob digest");
      std::filesystem::path blob = cache.blob_path(sha);
      struct stat st {};
      if (::stat(blob.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != size)
        return std::nullopt;
      e.content = FsContent::host_range(blob, 0, size, sha);
    }
  }
  return e;
}

}  // namespace

void check_sha256_hex(std::string_view hex, std::string_view what) {
  bool ok = hex.size() == 64;
  for (char c : hex) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) throw Error(std::string(what) + ": expected 64 lower-case hex digits, got \"" + std::string(hex) + "\"");
}

ContentCache::ContentCache(std::filesystem::path root) : root_(std::move(root)) {
  for (const char* sub : {"blobs", "layers", "tmp"}) {
    std::error_code ec;
    std::filesystem::create_directories(root_ / sub, ec);
    if (ec) throw Error("create cache directory " + (root_ / sub).string() + ": " + ec.message());
  }
}

std::filesystem::path ContentCache::blob_path(std::string_view sha256_hex) const {
  return root_ / "blobs" / std::string(sha256_hex);
}

std::filesystem::path ContentCache::manifest_path(std::string_view layer_sha256) const {
  return root_ / "layers" / (std::string(layer_sha256) + ".json");
}

ContentCache::BlobWriter::BlobWriter(const ContentCache& cache) : cache_(cache), hasher_(HashAlgo::kSha256) {
  std::string templ = (cache.root_ / "tmp" / "blob-XXXXXX").string();
  int fd = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd < 0) throw_errno("create temporary blob in", (cache.root_ / "tmp").string());
  fd_.reset(fd);
  temp_ = templ;
}

ContentCache::BlobWriter::~BlobWriter() {
  if (!done_) ::unlink(temp_.c_str());
}

void ContentCache::BlobWriter::write(std::span<const std::uint8_t> data) {
  write_all(fd_.get(), data, temp_.string());
  hasher_.update(data);
  size_ += data.size();
}

FsContent ContentCache::BlobWriter::commit() {
  std::string sha = to_hex(hasher_.finish());
  if (::fchmod(fd_.get(), 0444) != 0) throw_errno("chmod", temp_.string());
  fd_.reset();
  std::filesystem::path blob = cache_.blob_path(sha);
  if (::rename(temp_.c_str(), blob.c_str()) != 0) throw_errno("rename " + temp_.string() + " to", blob.string());
  done_ = true;
  return FsContent::host_range(blob, 0, size_, sha);
}

std::optional<std::vector<LayerEntry>> ContentCache::load_layer(std::string_view layer_sha256) const {
  check_sha256_hex(layer_sha256, "layer digest");
  std::filesystem::path p = manifest_path(layer_sha256);
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) return std::nullopt;
  try {
    json j = json::parse(read_text_file(p));
    if (json_integer<int>(j.at("version"), "cache manifest version") != kManifestVersion) return std::nullopt;
    if (j.at("layer_sha256").get<std::string>() != layer_sha256) return std::nullopt;
    std::vector<LayerEntry> entries;
    for (const json& je : j.at("entries")) {
      std::optional<LayerEntry> e = entry_from_json(je, *this);
      if (!e) return std::nullopt;
      entries.push_back(std::move(*e));
    }
    return entries;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged manifest is a cache miss, rewritten after re-reading
  }
}

void ContentCache::store_layer(std::string_view layer_sha256, std::span<const LayerEntry> entries) const {
  check_sha256_hex(layer_sha256, "layer digest");
  json list = json::array();
  for (const LayerEntry& e : entries) list.push_back(entry_to_json(e));
  json j = {{"version", kManifestVersion}, {"layer_sha256", std::string(layer_sha256)}, {"entries", std::move(list)}};
  UniqueFd dir(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw_errno("open", root_.string());
  if (::syncfs(dir.get()) != 0) throw_errno("syncfs", root_.string());
  write_file_atomic(manifest_path(layer_sha256), j.dump(), 0644);
}

}  // namespace ef::rootfs
