#include "builder/layer_oci.h"

#include <archive_entry.h>

#include <functional>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_integer.h"
#include "base/hash.h"
#include "builder/layer_archive.h"
#include "builder/layer_tar.h"

namespace ef::rootfs {

namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxJsonBytes = 16u << 20;
constexpr int kMaxLinkHops = 8;
constexpr std::size_t kChunk = 256 * 1024;

/// Resolves a symlink `target` found in member `from` lexically inside the
/// archive; refuses absolute targets and ".." climbing above the root.
std::string resolve_relative(const std::string& from, const std::string& target) {
  if (!target.empty() && target[0] == '/') throw Error("absolute symlink target \"" + target + "\"");
  std::vector<std::string> parts;
  std::size_t slash = from.rfind('/');
  std::string joined = (slash == std::string::npos ? "" : from.substr(0, slash + 1)) + target;
  std::size_t i = 0;
  while (i <= joined.size()) {
    std::size_t j = joined.find('/', i);
    if (j == std::string::npos) j = joined.size();
    std::string comp = joined.substr(i, j - i);
    i = j + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (parts.empty()) throw Error("symlink target \"" + target + "\" climbs out of the archive");
      parts.pop_back();
    } else {
      parts.push_back(comp);
    }
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return normalize_path(out);
}

/// "sha256:<hex>" -> "<hex>"; other algorithms are refused.
std::string sha256_of_digest(const std::string& digest, std::string_view what) {
  if (digest.rfind("sha256:", 0) != 0) throw Error(std::string(what) + ": unsupported digest \"" + digest + "\"");
  std::string hex = digest.substr(7);
  check_sha256_hex(hex, what);
  return hex;
}

/// The outer archive: an index of its members, and ways to read one.
class ImageArchive {
 public:
  ImageArchive(std::filesystem::path path, const LayerOptions& options) : path_(std::move(path)), name_(path_.string()) {
    index(options);
  }

  const std::string& name() const { return name_; }
  bool has(const std::string& member) const { return members_.count(member) != 0; }

  /// A small member's bytes; when `sha256` is given they must hash to it.
  std::string read_small(const std::string& member, const std::string& sha256 = {}) const {
    std::string data;
    with_member(member, [&](TarReader& r, std::uint64_t size) {
      if (size > kMaxJsonBytes) throw Error(name_ + ": " + member + " is larger than 16 MiB");
      data.resize(static_cast<std::size_t>(size));
      la_ssize_t n = archive_read_data(r.get(), data.data(), data.size());
      if (n < 0 || static_cast<std::uint64_t>(n) != size) throw Error(name_ + ": " + member + ": " + r.error());
    });
    if (!sha256.empty() && to_hex(digest(HashAlgo::kSha256, data)) != sha256)
      throw Error(name_ + ": " + member + ": content does not match digest sha256:" + sha256);
    return data;
  }

  json read_json(const std::string& member, const std::string& sha256 = {}) const {
    std::string text = read_small(member, sha256);
    try {
      return json::parse(text);
    } catch (const json::exception& e) {
      throw Error(name_ + ": " + member + ": malformed JSON: " + e.what());
    }
  }

  /// Positions a fresh reader at `member`'s data (links followed) and calls fn(reader, size).
  template <typename Fn>
  void with_member(const std::string& member, Fn&& fn) const {
    std::string real = resolve(member);
    TarReader r;
    r.open_file(path_);
    archive_entry* ae = nullptr;
    for (;;) {
      int rc = archive_read_next_header(r.get(), &ae);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK) throw FormatError(name_, r.position(), r.error());
      const char* p = archive_entry_pathname(ae);
      if (p != nullptr && normalize_path(p) == real) {
        fn(r, members_.at(real).size);
        return;
      }
    }
    throw Error(name_ + ": member " + real + " vanished between passes");
  }

 private:
  struct Member {
    std::uint64_t size = 0;
    std::string link;  ///< resolved target of a symlink or hard link, else ""
  };

  void index(const LayerOptions& options) {
    TarReader r;
    r.open_file(path_);
    archive_entry* ae = nullptr;
    for (;;) {
      std::uint64_t at = r.position();
      int rc = archive_read_next_header(r.get(), &ae);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK) throw FormatError(name_, at, "bad tar header: " + r.error());
      if (members_.size() >= options.max_entries) throw FormatError(name_, at, "too many members");
      const char* p = archive_entry_pathname(ae);
      if (p == nullptr) throw FormatError(name_, at, "undecodable member name");
      std::string member = with_context(name_, [&] { return normalize_path(p); });
      if (archive_entry_filetype(ae) == AE_IFDIR) continue;
      Member m;
      if (const char* hl = archive_entry_hardlink(ae)) {
        m.link = with_context(name_, [&] { return normalize_path(hl); });
      } else if (archive_entry_filetype(ae) == AE_IFLNK) {
        const char* t = archive_entry_symlink(ae);
        m.link = with_context(name_ + ": " + member, [&] { return resolve_relative(member, t ? t : ""); });
      } else if (archive_entry_filetype(ae) == AE_IFREG) {
        m.size = static_cast<std::uint64_t>(std::max<la_int64_t>(0, archive_entry_size(ae)));
      } else {
        continue;
      }
      if (!members_.emplace(member, std::move(m)).second) throw FormatError(name_, at, "duplicate member " + member);
    }
  }

  std::string resolve(const std::string& member) const {
    std::string cur = member;
    for (int hop = 0; hop <= kMaxLinkHops; ++hop) {
      auto it = members_.find(cur);
      if (it == members_.end()) throw Error(name_ + ": no member " + cur + (cur == member ? "" : " (via " + member + ")"));
      if (it->second.link.empty()) return cur;
      cur = it->second.link;
    }
    throw Error(name_ + ": too many links resolving " + member);
  }

  std::filesystem::path path_;
  std::string name_;
  std::map<std::string, Member> members_;
};

struct LayerRef {
  std::string member;
  std::string sha256;
  std::optional<std::uint64_t> size;  ///< from an OCI descriptor
};

/// The SHA-256 (hex) and size of a member's raw bytes, read without parsing them.
std::pair<std::string, std::uint64_t> hash_member(const ImageArchive& img, const std::string& member) {
  Hasher h(HashAlgo::kSha256);
  std::uint64_t total = 0;
  img.with_member(member, [&](TarReader& r, std::uint64_t) {
    std::vector<std::uint8_t> buf(kChunk);
    for (la_ssize_t n; (n = archive_read_data(r.get(), buf.data(), buf.size())) != 0;) {
      if (n < 0) throw Error(img.name() + ": " + member + ": " + r.error());
      h.update(std::span(buf.data(), static_cast<std::size_t>(n)));
      total += static_cast<std::uint64_t>(n);
    }
  });
  return {to_hex(h.finish()), total};
}

/// The one error for a layer member whose bytes are not what the manifest
/// claims, whether or not the cache knows the claimed digest.
void check_layer_bytes(const ImageArchive& img, const LayerRef& ref, const std::string& got, std::uint64_t size) {
  std::string layer_name = img.name() + ":" + ref.member;
  if (got != ref.sha256)
    throw Error(layer_name + ": digest mismatch: the manifest says sha256:" + ref.sha256 + ", the member is sha256:" + got);
  if (ref.size && *ref.size != size)
    throw Error(layer_name + ": size mismatch: the manifest says " + std::to_string(*ref.size) + ", the member has " +
                std::to_string(size));
}

/// Calls fn with the decompressed bytes of a layer member.
void with_decompressed_member(const ImageArchive& img, const std::string& member,
                              const std::function<void(const TarStreamRead&)>& fn) {
  img.with_member(member, [&](TarReader& outer, std::uint64_t) {
    struct Feed {
      TarReader* outer;
      std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(kChunk);
    } feed{&outer};
    auto on_read = [](archive*, void* ctx, const void** out) -> la_ssize_t {
      auto* f = static_cast<Feed*>(ctx);
      *out = f->buf.data();
      return archive_read_data(f->outer->get(), f->buf.data(), f->buf.size());
    };
    TarReader raw(TarReader::Mode::kRaw);
    if (archive_read_open(raw.get(), &feed, nullptr, on_read, nullptr) != ARCHIVE_OK) return;
    archive_entry* ae = nullptr;
    if (archive_read_next_header(raw.get(), &ae) != ARCHIVE_OK) return;
    fn(raw_stream_reader(raw));
  });
}

/// Reads a layer member through a nested tar reader, hashing its raw bytes.
std::vector<LayerEntry> read_layer_member(const ImageArchive& img, const LayerRef& ref, const ContentCache& cache,
                                          const LayerOptions& options, std::uint64_t& size_out) {
  std::string layer_name = img.name() + ":" + ref.member;
  std::vector<LayerEntry> entries;
  std::string got;
  TarReadNotes post_checks;
  img.with_member(ref.member, [&](TarReader& outer, std::uint64_t) {
    struct Feed {
      TarReader* outer;
      Hasher hasher{HashAlgo::kSha256};
      std::uint64_t bytes = 0;
      std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(kChunk);
    } feed{&outer};
    auto on_read = [](archive*, void* ctx, const void** out) -> la_ssize_t {
      auto* f = static_cast<Feed*>(ctx);
      la_ssize_t n = archive_read_data(f->outer->get(), f->buf.data(), f->buf.size());
      if (n > 0) {
        f->hasher.update(std::span(f->buf.data(), static_cast<std::size_t>(n)));
        f->bytes += static_cast<std::uint64_t>(n);
      }
      *out = f->buf.data();
      return n;
    };
    TarReader inner;
    if (archive_read_open(inner.get(), &feed, nullptr, on_read, nullptr) != ARCHIVE_OK) {
      std::string why = inner.error();
      TarReadNotes first_header;
      first_header.header_failed = true;
      check_tar_headers(first_header, WithTarStream([&](const std::function<void(const TarStreamRead&)>& fn) {
                          with_decompressed_member(img, ref.member, fn);
                        }), layer_name);
      throw Error(layer_name + ": " + why);
    }
    TarReadNotes notes;
    try {
      entries = read_tar_entries(inner, layer_name, cache, options, &notes);
    } catch (const FormatError&) {
      check_tar_headers(notes, WithTarStream([&](const std::function<void(const TarStreamRead&)>& fn) { with_decompressed_member(img, ref.member, fn); }), layer_name);
      throw;
    }
    post_checks = notes;
    const void* ignored = nullptr;
    for (la_ssize_t n; (n = on_read(nullptr, &feed, &ignored)) != 0;)  // the bytes after the tar's end
      if (n < 0) throw Error(layer_name + ": " + outer.error());
    got = to_hex(feed.hasher.finish());
    size_out = feed.bytes;
  });
  check_layer_bytes(img, ref, got, size_out);  // again: the member may have changed since it was hashed
  check_tar_headers(post_checks, WithTarStream([&](const std::function<void(const TarStreamRead&)>& fn) { with_decompressed_member(img, ref.member, fn); }), layer_name);
  return entries;
}

std::string blob_member(const std::string& hex) { return "blobs/sha256/" + hex; }

bool is_index(const json& j) { return j.is_object() && j.contains("manifests"); }

/// Picks one descriptor from an index's manifests.
json pick_manifest(const json& index, const std::string& platform, const std::string& where) {
  const json& list = index.at("manifests");
  if (!list.is_array() || list.empty()) throw Error(where + ": no manifests listed");
  if (list.size() == 1) return list[0];
  std::vector<json> matching;
  for (const json& d : list) {
    if (!d.contains("platform")) continue;
    const json& p = d.at("platform");
    if (p.value("os", "") + "/" + p.value("architecture", "") == platform) matching.push_back(d);
  }
  if (matching.size() != 1)
    throw Error(where + ": " + std::to_string(matching.size()) + " manifests match platform " + platform +
                " (expected exactly one)");
  return matching[0];
}

std::vector<LayerRef> oci_layers(const ImageArchive& img, const OciOptions& options, OciImageInfo& info) {
  json layout = img.read_json("oci-layout");
  if (!layout.is_object() || layout.value("imageLayoutVersion", "") != "1.0.0")
    throw Error(img.name() + ": oci-layout: unsupported imageLayoutVersion");
  json node = img.read_json("index.json");
  std::string where = img.name() + ": index.json";
  for (int depth = 0; is_index(node); ++depth) {
    if (depth > 2) throw Error(where + ": image indexes nested too deeply");
    json desc = pick_manifest(node, options.platform, where);
    std::string hex = sha256_of_digest(desc.at("digest").get<std::string>(), where);
    std::string text = img.read_small(blob_member(hex), hex);
    if (desc.contains("size") && json_integer<std::uint64_t>(desc.at("size"), where + ": descriptor size") != text.size())
      throw Error(where + ": size of " + blob_member(hex) + " does not match its descriptor");
    where = img.name() + ": " + blob_member(hex);
    node = json::parse(text);
    info.manifest_sha256 = hex;
  }
  std::vector<LayerRef> refs;
  for (const json& d : node.at("layers")) {
    std::string hex = sha256_of_digest(d.at("digest").get<std::string>(), where);
    refs.push_back({blob_member(hex), hex, json_integer<std::uint64_t>(d.at("size"), where + ": layer size")});
  }
  return refs;
}

/// The config a docker-save manifest names. Docker names it by its digest
/// ("<hex>.json", or "blobs/sha256/<hex>" since docker 25): then its bytes must
/// hash to that name. An absolute name is refused as such.
json docker_config(const ImageArchive& img, const json& image, const std::string& where) {
  std::string written = image.at("Config").get<std::string>();
  if (!written.empty() && written[0] == '/')
    throw Error(where + ": Config names an absolute path \"" + written + "\"; members of an image archive are relative");
  std::string config = with_context(where, [&] { return normalize_path(written); });
  std::string hex;
  if (config.rfind("blobs/sha256/", 0) == 0) hex = config.substr(13);
  else if (config.size() == 69 && config.compare(64, 5, ".json") == 0) hex = config.substr(0, 64);
  bool named_by_digest = hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string::npos;
  return img.read_json(config, named_by_digest ? hex : std::string());
}

std::vector<LayerRef> docker_layers(const ImageArchive& img) {
  json manifest = img.read_json("manifest.json");
  std::string where = img.name() + ": manifest.json";
  if (!manifest.is_array() || manifest.size() != 1)
    throw Error(where + ": must list exactly one image (found " +
                std::to_string(manifest.is_array() ? manifest.size() : 0) + ")");
  const json& image = manifest[0];
  const json& layers = image.at("Layers");
  std::optional<json> diff_ids;
  std::vector<LayerRef> refs;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    std::string written = layers[i].get<std::string>();
    if (!written.empty() && written[0] == '/')
      throw Error(where + ": Layers[" + std::to_string(i) + "] names an absolute path \"" + written +
                  "\"; members of an image archive are relative");
    std::string member = with_context(where, [&] { return normalize_path(written); });
    if (member.rfind("blobs/sha256/", 0) == 0) {
      std::string hex = member.substr(13);
      check_sha256_hex(hex, where + ": layer name " + member);
      refs.push_back({member, hex, std::nullopt});
      continue;
    }
    if (!diff_ids) {
      diff_ids = docker_config(img, image, where).at("rootfs").at("diff_ids");
      if (!diff_ids->is_array() || diff_ids->size() != layers.size())
        throw Error(where + ": the config's rootfs.diff_ids do not match the layer list");
    }
    refs.push_back({member, sha256_of_digest((*diff_ids)[i].get<std::string>(), where), std::nullopt});
  }
  // Checked even when its diff_ids are not needed (layers named by digest), if present.
  if (!diff_ids && image.contains("Config") && image.at("Config").is_string()) {
    std::string written = image.at("Config").get<std::string>();
    bool present = false;
    try {
      present = !written.empty() && written[0] != '/' && img.has(normalize_path(written));
    } catch (const Error&) {
    }
    if (present) (void)docker_config(img, image, where);
  }
  return refs;
}

}  // namespace

OciImageInfo apply_oci_layer(FsTree& tree, const std::filesystem::path& archive_path, std::string_view dest_prefix,
                             const ContentCache& cache, const OciOptions& options) {
  ImageArchive img(archive_path, options.layer);
  OciImageInfo info;
  std::vector<LayerRef> refs;
  try {
    if (img.has("index.json") && img.has("oci-layout")) {
      info.format = "oci-layout";
      refs = oci_layers(img, options, info);
    } else if (img.has("manifest.json")) {
      info.format = "docker-save";
      refs = docker_layers(img);
    } else {
      throw Error(img.name() + ": not an image archive (neither oci-layout + index.json nor manifest.json)");
    }
  } catch (const json::exception& e) {
    throw Error(img.name() + ": unexpected image metadata: " + e.what());
  }
  for (const LayerRef& ref : refs) {
    OciLayerInfo li{ref.member, ref.sha256, ref.size.value_or(0), false};
    // Every member is hashed before anything of it is used, cached or not:
    // the cache is keyed by the manifest's claim, so the claim is checked first.
    auto [got, size] = hash_member(img, ref.member);
    check_layer_bytes(img, ref, got, size);
    li.size = size;
    std::vector<LayerEntry> entries;
    if (auto cached = cache.load_layer(ref.sha256)) {
      entries = std::move(*cached);
      li.from_cache = true;
    } else {
      entries = read_layer_member(img, ref, cache, options.layer, li.size);
      cache.store_layer(ref.sha256, entries);
    }
    apply_layer_entries(tree, entries, dest_prefix, true, options.layer, img.name() + ":" + ref.member);
    info.layers.push_back(std::move(li));
  }
  return info;
}

}  // namespace ef::rootfs
