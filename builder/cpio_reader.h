#pragma once
// A strict streaming reader for newc cpio archives (ramdisks), written
// independently of the libarchive-based writer so each checks the other.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/fd.h"
#include "builder/fs_tree.h"

namespace ef::rootfs {

/// Pull-style byte input. read() returns 0 only at the end of the input.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::size_t read(std::span<std::uint8_t> buf) = 0;
};

/// Reads an fd (not owned) sequentially; `name` appears in errors.
class FdSource : public ByteSource {
 public:
  FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  std::size_t read(std::span<std::uint8_t> buf) override;

 private:
  int fd_;
  std::string name_;
};

/// Reads a caller-owned buffer.
class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::span<const std::uint8_t> data) : data_(data) {}
  std::size_t read(std::span<std::uint8_t> buf) override;

 private:
  std::span<const std::uint8_t> data_;
};

/// One entry's header as stored (the path is not normalised).
struct CpioEntry {
  std::string path;
  FsType type = FsType::kFile;
  std::uint32_t mode = 0;  ///< permission bits (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t mtime = 0;
  std::uint64_t size = 0;  ///< stored data bytes (0 for all but the last link of a group)
  std::uint32_t nlink = 0;
  std::uint64_t ino = 0;
  std::uint32_t dev_major = 0, dev_minor = 0;
  std::uint32_t rdev_major = 0, rdev_minor = 0;
  std::string link_target;         ///< symlinks
  std::uint64_t header_offset = 0;  ///< where the entry's header starts
};

/// Iterates a newc ("070701") archive. Strict: every header field must be hex,
/// names NUL-terminated and at most 4095 bytes, symlink targets at most 4095
/// bytes, directories / devices / fifos without data, no sockets; after
/// TRAILER!!! only zero padding may follow. Every violation and every early
/// end is an ef::FormatError naming the input and the byte offset.
class CpioReader {
 public:
  CpioReader(ByteSource& source, std::string name);

  /// The next entry, or nullopt after the trailer. Unread data of the
  /// previous entry is skipped. A symlink's target is read into link_target.
  std::optional<CpioEntry> next();
  /// Reads the current regular file's data; returns 0 when it is exhausted.
  std::size_t read_data(std::span<std::uint8_t> buf);
  const std::string& name() const { return name_; }

 private:
  void read_exact(std::span<std::uint8_t> buf, const char* what);
  void skip(std::uint64_t n, const char* what);
  void skip_padding(const char* what);
  void expect_only_padding();
  CpioEntry parse_header(const std::uint8_t* h);

  ByteSource& src_;
  std::string name_;
  std::uint64_t offset_ = 0;
  std::uint64_t data_left_ = 0;
  bool done_ = false;
};

/// An entry plus the SHA-256 (hex) of its stored data ("" when it has none).
struct CpioListedEntry {
  CpioEntry entry;
  std::string sha256;
};

/// Gives every member of a newc hard-link group (regular files with equal
/// ino, dev_major, dev_minor and nlink > 1) the size and sha256 of the member
/// that carries the data, so a diff compares contents rather than which link
/// happened to hold them. Other entries are untouched.
void resolve_hard_links(std::vector<CpioListedEntry>& entries);

/// Every entry of the archive at `path`, data hashed while streaming.
std::vector<CpioListedEntry> list_cpio(const std::filesystem::path& path);
/// Calls on_entry for every entry of `source`, data hashed while streaming.
void read_cpio(ByteSource& source, const std::string& name,
               const std::function<void(const CpioListedEntry&)>& on_entry);

}  // namespace ef::rootfs
