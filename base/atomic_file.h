#pragma once
// Outputs are never partial: written to a temp file beside the target, fsynced,
// renamed over it, and the directory fsynced (leveldb SetCurrentFile).

#include <sys/types.h>

#include <filesystem>
#include <span>
#include <string_view>

#include "base/fd.h"

namespace ef {

/// A file being written. Nothing appears at `target` until commit(); if the
/// object dies uncommitted (exception, crash) only a temp file named
/// `.TARGET.tmp-XXXXXX` may remain, which never shadows a real output.
class AtomicFile {
 public:
  /// Creates the temp file in target's directory with `mode` (umask ignored).
  explicit AtomicFile(std::filesystem::path target, mode_t mode = 0644);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  int fd() const { return fd_.get(); }
  const std::filesystem::path& temp_path() const { return temp_; }
  void write(std::span<const std::uint8_t> data);
  void write(std::string_view data);
  /// fsync, rename onto the target, fsync the directory.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  UniqueFd fd_;
  bool committed_ = false;
};

/// Writes `data` to `target` atomically.
void write_file_atomic(const std::filesystem::path& target, std::string_view data, mode_t mode = 0644);

/// fsyncs a directory so a rename inside it is durable.
void fsync_dir(const std::filesystem::path& dir);

}  // namespace ef
