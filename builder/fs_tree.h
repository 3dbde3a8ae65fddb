#pragma once
// The in-memory model of a ramdisk's file tree: what rbuild assembles from
// layers and packs into a deterministic cpio. Nodes hold metadata and a
// *source* for file bytes (host file, inline bytes, content-cache blob); the
// bytes themselves are only streamed when the archive is written.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ef::rootfs {

/// Longest path (bytes) the tree accepts: the kernel's PATH_MAX minus the NUL.
inline constexpr std::size_t kMaxPathBytes = 4095;
/// Longest single path component (NAME_MAX).
inline constexpr std::size_t kMaxNameBytes = 255;

/// Normalises a path inside the tree: leading "/" and "." components and
/// repeated or trailing slashes are dropped ("/./a//b/" -> "a/b"). Throws
/// ef::Error naming `path` for a ".." component, a NUL byte, a component over
/// kMaxNameBytes or a result over kMaxPathBytes. "" (and "/", ".") mean the
/// root and normalise to "".
std::string normalize_path(std::string_view path);

/// Joins a normalised prefix and a relative path, then normalises the result.
std::string join_path(std::string_view prefix, std::string_view path);

/// Where a regular file's bytes come from. Immutable once built.
struct FsContent {
  /// Host file to read (a user's file or a content-cache blob); empty when inline.
  std::filesystem::path host_path;
  /// Byte range of host_path holding the content.
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  /// Inline bytes (small generated files: cmd, env, configs). Null for host files.
  std::shared_ptr<const std::vector<std::uint8_t>> bytes;
  /// Lower-case hex SHA-256 of the content when already known (cache blobs), else "".
  std::string sha256;

  static FsContent inline_bytes(std::span<const std::uint8_t> data);
  /// The whole host file; its size is taken now (stat, following symlinks) and
  /// checked again when the archive is written, so a file changed in between
  /// is an error rather than a silently different image.
  static FsContent host_file(const std::filesystem::path& path);
  /// A byte range of a host file (no I/O now).
  static FsContent host_range(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t size,
                              std::string sha256 = {});
  bool is_inline() const { return bytes != nullptr; }
};

/// A regular file's inode: shared by every path hard-linked to it.
struct FsFile {
  FsContent content;
  std::uint32_t mode = 0644;  ///< permission bits (07777), shared by all links
};

enum class FsType { kFile, kDirectory, kSymlink, kCharDevice, kBlockDevice, kFifo };

/// Human name of a type ("regular file", "directory", ...), for messages.
std::string_view type_name(FsType type);

/// One path in the tree. Ownership is always 0:0 and timestamps are set by the
/// writer, so neither is part of the model.
struct FsNode {
  FsType type = FsType::kDirectory;
  /// Permission bits (07777) of non-files; for kFile the mode lives in `file`.
  std::uint32_t mode = 0755;
  /// kFile: the inode; paths sharing one pointer are hard links of each other.
  std::shared_ptr<FsFile> file;
  /// kSymlink: the target, stored verbatim (never followed by the builder).
  std::string link_target;
  /// kCharDevice / kBlockDevice.
  std::uint32_t rdev_major = 0;
  std::uint32_t rdev_minor = 0;

  /// The permission bits whatever the type.
  std::uint32_t permissions() const { return type == FsType::kFile ? file->mode : mode; }
};

/// A tree of normalised relative paths ("rootfs/bin/sh"), iterated in bytewise
/// path order, which puts every directory before its contents.
///
/// Override rules (later calls win, like overlayfs / docker layers):
///  - a directory added over a directory only updates its mode (contents kept);
///  - anything added over a directory that is not a directory removes the
///    directory's whole subtree first;
///  - anything else replaces the existing entry (a hard-link partner of a
///    replaced file keeps the old content, as on a real filesystem).
/// Missing parents are created as directories with mode 0755. A parent that
/// exists but is not a directory is an error (the tree never follows symlinks).
/// Modes are masked to 07777; the process umask plays no part.
class FsTree {
 public:
  using Map = std::map<std::string, FsNode>;

  void add_directory(std::string_view path, std::uint32_t mode = 0755);
  void add_file(std::string_view path, FsContent content, std::uint32_t mode = 0644);
  /// The whole host file `host_path` (see FsContent::host_file).
  void add_file_from_host(std::string_view path, const std::filesystem::path& host_path, std::uint32_t mode = 0644);
  void add_bytes(std::string_view path, std::span<const std::uint8_t> data, std::uint32_t mode = 0644);
  void add_bytes(std::string_view path, std::string_view text, std::uint32_t mode = 0644);
  void add_symlink(std::string_view path, std::string_view target);
  /// `path` becomes another name of the regular file at `target` (both tree
  /// paths). Throws if `target` is missing or not a regular file.
  void add_hardlink(std::string_view path, std::string_view target);
  /// kind is kCharDevice or kBlockDevice.
  void add_device(std::string_view path, FsType kind, std::uint32_t major, std::uint32_t minor,
                  std::uint32_t mode = 0600);
  void add_fifo(std::string_view path, std::uint32_t mode = 0644);

  /// Removes `path` and its subtree; returns whether anything was removed.
  bool remove(std::string_view path);
  /// Removes everything below directory `path` but keeps `path` itself.
  void clear_directory(std::string_view path);

  /// The node at `path` (normalised here), or null.
  const FsNode* find(std::string_view path) const;
  std::size_t size() const { return nodes_.size(); }
  bool empty() const { return nodes_.empty(); }
  Map::const_iterator begin() const { return nodes_.begin(); }
  Map::const_iterator end() const { return nodes_.end(); }

 private:
  /// Places `node` at normalised `path` after the override rules.
  void put(const std::string& path, FsNode node);
  void ensure_parents(const std::string& path);
  void erase_subtree(const std::string& path, bool keep_root);

  Map nodes_;
};

}  // namespace ef::rootfs
