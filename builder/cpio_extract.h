#pragma once
// Extracts a newc cpio into a directory without ever writing outside it.

#include <cstdint>
#include <filesystem>
#include <string>

#include "builder/cpio_reader.h"

namespace ef::rootfs {

enum class DevicePolicy {
  kRefuse,  ///< a device node is an error (default)
  kSkip,    ///< device nodes are left out (counted in ExtractStats::skipped)
  kCreate,  ///< mknod (needs CAP_MKNOD)
};

struct ExtractOptions {
  DevicePolicy devices = DevicePolicy::kRefuse;
  /// Set each entry's mtime from the archive (directories last, so their
  /// contents do not bump them).
  bool restore_mtime = true;
};

struct ExtractStats {
  std::uint64_t entries = 0;  ///< entries created
  std::uint64_t skipped = 0;  ///< device nodes left out under kSkip
  std::uint64_t bytes = 0;    ///< file data written
};

/// Extracts every entry of `source` below `dest_dir` (created if missing).
///
/// Safety: entry names are relative paths; an absolute name or a ".."
/// component is refused ("./" prefixes and a "." root entry are accepted).
/// Every path is walked component by component with openat(O_NOFOLLOW), so a
/// symlink — from the archive or planted beforehand — is never followed and
/// an entry below one is refused. Existing non-directories at a path are
/// replaced; an existing directory is only replaced by a directory.
/// Files are created 0600 and get their mode once written; directory modes
/// (and mtimes) are applied at the end, so a read-only directory does not
/// stop its own extraction. Hard links (newc: nlink > 1, same ino) become
/// real links, whichever entry of the group carries the data. Owners are not
/// restored. Errors: ef::FormatError with the archive name, the entry's
/// header offset and the entry path, or ef::SysError for a failing syscall.
ExtractStats extract_cpio(ByteSource& source, const std::string& name, const std::filesystem::path& dest_dir,
                          const ExtractOptions& options = {});

/// extract_cpio from the archive file at `archive`.
ExtractStats extract_cpio_file(const std::filesystem::path& archive, const std::filesystem::path& dest_dir,
                               const ExtractOptions& options = {});

}  // namespace ef::rootfs
