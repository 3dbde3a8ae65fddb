#pragma once
// A tar archive as a layer (any compression libarchive reads). Tar input is
// treated as hostile: see docs/ramdisk.md "Hostile input".

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "builder/content_cache.h"
#include "builder/fs_tree.h"
#include "builder/layer_archive.h"
#include "builder/layer_entry.h"

namespace ef::rootfs {

/// Reads every entry of an opened tar reader, streaming file contents into
/// `cache` as blobs. `name` names the archive in errors.
///
/// Paths: a leading "/" and "." components are dropped ("/etc/x", "./etc/x"
/// -> "etc/x"); a ".." component anywhere is an error, in entry paths and in
/// hard-link targets alike; the root entry ("./") is skipped. Symlink targets
/// are kept verbatim (they are inert data in a cpio and never followed).
/// Duplicate paths are all returned; when applied the later one wins.
/// Owners, times, xattrs and ACLs are dropped.
/// Errors (ef::FormatError: archive name, byte offset of the entry header in
/// the decompressed stream, entry path) for: a truncated or corrupt archive
/// (libarchive warnings included), a file over options.max_file_size (checked
/// from the header, before any data is read), more than options.max_entries
/// entries, a device or fifo without options.allow_devices, a socket, an
/// unreadable path name.
std::vector<LayerEntry> read_tar_entries(TarReader& reader, std::string_view name, const ContentCache& cache,
                                         const LayerOptions& options = {});

/// Applies the tar at `tar_path` onto `tree` below `dest_prefix` (plain tar
/// semantics: ".wh." names are ordinary files).
///
/// `layer_sha256` is the SHA-256 (hex) of the file at tar_path, as checked by
/// the caller against its lock; "" computes it here. When the cache holds a
/// manifest for that digest the archive is not opened at all; otherwise it is
/// read into the cache first. The cache trusts the digest it is given.
void apply_tar_layer(FsTree& tree, const std::filesystem::path& tar_path, std::string_view dest_prefix,
                     const ContentCache& cache, std::string_view layer_sha256 = {}, const LayerOptions& options = {});

/// The entries of a tar layer from the cache, or read (and cached) if absent.
std::vector<LayerEntry> load_tar_layer(const std::filesystem::path& tar_path, const ContentCache& cache,
                                       std::string_view layer_sha256 = {}, const LayerOptions& options = {});

}  // namespace ef::rootfs
