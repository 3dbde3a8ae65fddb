#pragma once
// A layer as a list of entries, read from a host directory, a tar or an OCI
// image, and applied onto an FsTree. Reading (hostile input, caching) and
// applying (override rules, whiteouts, policy) are separate steps so a cached
// layer is applied exactly like a freshly read one.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "builder/fs_tree.h"

namespace ef::rootfs {

/// Limits and permissions for layer input. Enforced when a layer is read and
/// again when its entries are applied (so a cached layer obeys today's options).
struct LayerOptions {
  /// Accept character/block devices and fifos. Off: a layer holding one is an error.
  bool allow_devices = false;
  /// Largest regular file accepted (bytes). newc cannot store 4 GiB or more.
  std::uint64_t max_file_size = 0xFFFFFFFFull;
  /// Most entries accepted in one layer.
  std::uint64_t max_entries = 1'000'000;
};

/// One entry of a layer; `path` is normalised and relative to the layer root.
struct LayerEntry {
  enum class Kind { kFile, kDirectory, kSymlink, kHardlink, kCharDevice, kBlockDevice, kFifo };
  Kind kind = Kind::kFile;
  std::string path;
  std::uint32_t mode = 0;  ///< permission bits (07777)
  FsContent content;       ///< kFile
  std::string target;      ///< kSymlink: verbatim target; kHardlink: normalised layer path
  std::uint32_t rdev_major = 0;
  std::uint32_t rdev_minor = 0;
};

std::string_view kind_name(LayerEntry::Kind kind);

/// Whiteout markers of OCI / docker layers.
inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

/// Applies `entries` in order onto `tree` below `dest_prefix` (a tree path,
/// "" for the root). Later entries win (see FsTree's override rules); a
/// hard link's target is looked up in the tree (this layer or a lower one).
///
/// With `whiteouts` (OCI / docker layers): first every `.wh.NAME` entry
/// removes NAME and its subtree from the tree and every `.wh..wh..opq` entry
/// empties its directory, then the other entries are applied — so whiteouts
/// hide only lower layers, never entries of the same layer (OCI image spec).
/// Marker entries themselves are never added. Without `whiteouts` such names
/// are ordinary files.
///
/// Errors (ef::Error naming `layer_name` and the entry) for a device or fifo
/// without options.allow_devices, a file over options.max_file_size, more
/// than options.max_entries entries, a hard link to a missing or non-regular
/// path, or a path whose parent is not a directory.
void apply_layer_entries(FsTree& tree, std::span<const LayerEntry> entries, std::string_view dest_prefix,
                         bool whiteouts, const LayerOptions& options, std::string_view layer_name);

/// Why `entry` breaks `options` (a device or fifo not allowed, a file too
/// large), or "" when it is acceptable.
std::string policy_violation(const LayerEntry& entry, const LayerOptions& options);

}  // namespace ef::rootfs
