#pragma once
// A host directory as a layer (the user's own files: configs, binaries).

#include <filesystem>
#include <string_view>
#include <vector>

#include "builder/fs_tree.h"
#include "builder/layer_entry.h"

namespace ef::rootfs {

/// Reads the tree below `host_dir` (the directory itself is not an entry):
/// regular files (referenced by host path, read when the cpio is written),
/// directories, symlinks (target verbatim, never followed) and hard links
/// (later files sharing the device+inode of a visited file become links to it;
/// the written cpio does not depend on which path is first). Modes are the host's permission bits; owners and times are dropped.
/// Directory entries are visited in sorted order, so the result does not
/// depend on the host filesystem's readdir order. Device nodes and fifos are
/// refused unless options.allow_devices; sockets are always refused.
std::vector<LayerEntry> read_directory_layer(const std::filesystem::path& host_dir, const LayerOptions& options = {});

/// read_directory_layer + apply_layer_entries (no whiteouts) below `dest_prefix`.
void apply_directory_layer(FsTree& tree, const std::filesystem::path& host_dir, std::string_view dest_prefix,
                           const LayerOptions& options = {});

}  // namespace ef::rootfs
