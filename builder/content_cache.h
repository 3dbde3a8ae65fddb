#pragma once
// A content-addressed cache of unpacked layers, so a rebuild with unchanged
// layers reads one small manifest per layer instead of decompressing it.
//
// Layout below the root directory the caller chooses:
//   blobs/<sha256>            file contents, named by their SHA-256 (shared by layers)
//   layers/<sha256>.json      the entry list of the layer whose archive has that SHA-256
//   tmp/                      temp files; a blob or manifest appears by rename only
// Nothing is ever written outside the root, and no name below it comes from
// archive contents.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/hash.h"
#include "builder/layer_entry.h"

namespace ef::rootfs {

class ContentCache {
 public:
  /// Uses (and creates if needed) `root` and its subdirectories.
  explicit ContentCache(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path blob_path(std::string_view sha256_hex) const;

  /// Streams one blob into the cache: write() any number of times, then
  /// commit() hashes, renames to blobs/<sha256> and returns the content source.
  /// An uncommitted writer leaves nothing but (removed) temp files.
  class BlobWriter {
   public:
    explicit BlobWriter(const ContentCache& cache);
    ~BlobWriter();
    BlobWriter(const BlobWriter&) = delete;
    BlobWriter& operator=(const BlobWriter&) = delete;
    void write(std::span<const std::uint8_t> data);
    FsContent commit();

   private:
    const ContentCache& cache_;
    std::filesystem::path temp_;
    UniqueFd fd_;
    Hasher hasher_;
    std::uint64_t size_ = 0;
    bool done_ = false;
  };

  /// The entries stored for a layer, or nullopt when absent, unreadable, or
  /// referring to a blob that is missing or has the wrong size (then the
  /// caller re-reads the layer; the cache heals itself).
  std::optional<std::vector<LayerEntry>> load_layer(std::string_view layer_sha256) const;

  /// Records a layer's entries (file contents must be blobs of this cache or
  /// empty). Blobs are flushed (syncfs) before the manifest is written
  /// atomically, so a manifest never refers to a blob lost in a crash.
  void store_layer(std::string_view layer_sha256, std::span<const LayerEntry> entries) const;

 private:
  std::filesystem::path manifest_path(std::string_view layer_sha256) const;

  std::filesystem::path root_;
};

/// Throws ef::Error unless `hex` is 64 lower-case hex digits (a SHA-256).
void check_sha256_hex(std::string_view hex, std::string_view what);

}  // namespace ef::rootfs
