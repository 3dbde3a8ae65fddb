#pragma once
// A tar archive as a layer (any compression libarchive reads). Tar input is
// treated as hostile: see docs/ramdisk.md "Hostile input".

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/content_cache.h"
#include "builder/fs_tree.h"
#include "builder/layer_archive.h"
#include "builder/layer_entry.h"
#include "builder/layer_tar_headers.h"

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
/// What read_tar_entries saw, for the header checks of layer_tar_headers.h.
struct TarReadNotes {
  std::vector<std::uint64_t> extension_offsets;  ///< entries read as pax or GNU tar (header offsets)
  bool have_last_good = false;
  std::uint64_t last_good_offset = 0;  ///< header offset of the last entry read
  bool header_failed = false;          ///< libarchive could not read a header
};

std::vector<LayerEntry> read_tar_entries(TarReader& reader, std::string_view name, const ContentCache& cache,
                                         const LayerOptions& options = {}, TarReadNotes* notes = nullptr);

/// Runs the checks libarchive cannot make (layer_tar_headers.h) over the
/// decompressed stream `read` (a fresh one: it is read from its start):
/// after a successful read_tar_entries, the extension headers it noted; after
/// a header it could not read, the diagnosis of that header. Throws the more
/// precise ef::FormatError, else returns.
/// Calls its argument with a fresh TarStreamRead over the decompressed stream.
using WithTarStream = std::function<void(const std::function<void(const TarStreamRead&)>&)>;
void check_tar_headers(const TarReadNotes& notes, const WithTarStream& with_stream, std::string_view name);

/// A TarStreamRead over an opened TarReader in Mode::kRaw (header already read);
/// a read error ends the stream (these checks only add detail).
TarStreamRead raw_stream_reader(TarReader& raw);

/// Applies the tar at `tar_path` onto `tree` below `dest_prefix`: with plain
/// tar semantics (".wh." names are ordinary files), or with `whiteouts` as an
/// OCI layer (see apply_layer_entries), for a layer tar taken from a registry.
///
/// `layer_sha256` is the SHA-256 (hex) of the file at tar_path, as checked by
/// the caller against its lock; "" computes it here. When the cache holds a
/// manifest for that digest the archive is not opened at all (the digest is
/// the cache key, so it must be one the caller checked, e.g. against the lock);
/// otherwise it is read, and every byte read is hashed: when they do not hash
/// to `layer_sha256` the read fails with "digest mismatch" and nothing is cached.
void apply_tar_layer(FsTree& tree, const std::filesystem::path& tar_path, std::string_view dest_prefix,
                     const ContentCache& cache, std::string_view layer_sha256 = {}, const LayerOptions& options = {},
                     bool whiteouts = false);

/// The entries of a tar layer from the cache, or read (and cached) if absent.
std::vector<LayerEntry> load_tar_layer(const std::filesystem::path& tar_path, const ContentCache& cache,
                                       std::string_view layer_sha256 = {}, const LayerOptions& options = {});

}  // namespace ef::rootfs
