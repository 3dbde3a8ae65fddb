#pragma once
// Deterministic newc cpio (the ramdisk format of an EIF), written with
// libarchive and streamed to a caller-supplied sink in chunks.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "builder/fs_tree.h"

namespace ef::rootfs {

/// Receives the archive bytes in order, in chunks of at most 64 KiB. The span
/// is only valid during the call. Exceptions thrown by the sink abort writing
/// and propagate out of write_cpio.
using ByteSink = std::function<void(std::span<const std::uint8_t>)>;

/// A sink writing to `fd` (not owned); `name` appears in errors.
ByteSink fd_sink(int fd, std::string name);

struct CpioStats {
  std::uint64_t bytes = 0;    ///< archive size, padding included
  std::uint64_t entries = 0;  ///< entries written, TRAILER!!! excluded
};

/// Writes `tree` as an uncompressed newc ("070701") cpio archive to `sink`.
///
/// The bytes depend only on the tree's paths, types, modes, link structure,
/// symlink targets, device numbers and file contents, and on `mtime`:
///  - entries in bytewise path order (parents before children), names
///    relative without "./", no entry for the root;
///  - mtime = `mtime` (the source date epoch, 0..2^32-1) for every entry;
///    uid = gid = 0; mode = type | permission bits (07777) from the tree;
///  - inode numbers 0, 1, 2... in path order (as GNU --renumber-inodes); hard links share the inode of
///    their first path, all but the last path of a group have size 0 and the
///    last carries the data (the newc rule GNU cpio and the kernel follow);
///  - nlink = number of paths for files, 2 + subdirectories for directories;
///  - dev = 0 for every entry; rdev only for device nodes;
///  - the archive ends with TRAILER!!! and is zero-padded to 512 bytes, as
///    GNU `cpio -o -H newc --reproducible` pads it.
/// File contents are streamed from their sources (never loaded whole); a host
/// file whose size changed since it was added is an error. Files of 4 GiB or
/// more cannot be represented in newc and are an error.
CpioStats write_cpio(const FsTree& tree, std::uint64_t mtime, const ByteSink& sink);

/// write_cpio into the file `out`, atomically (temp, fsync, rename; mode
/// 0644); every chunk is also passed to `also` when given (e.g. a PCR hasher).
CpioStats write_cpio_file(const FsTree& tree, std::uint64_t mtime, const std::filesystem::path& out,
                          const ByteSink& also = {});

}  // namespace ef::rootfs
