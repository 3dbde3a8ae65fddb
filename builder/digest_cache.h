#pragma once
// Remembers file digests by (device, inode, size, mtime, ctime), like git's
// index, so a rebuild with nothing changed does not re-read every input.
// ctime changes on every write and cannot be set by a user, so an edit that
// restores the mtime is still noticed. `rbuild build --rehash` bypasses it.

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace ef::build {

class DigestCache {
 public:
  /// Loads `file` if it exists; a damaged cache is ignored (it only saves time).
  explicit DigestCache(std::filesystem::path file);

  /// The remembered sha256 of `path` when `st` still matches, else nullopt.
  std::optional<std::string> lookup(const std::filesystem::path& path, const struct stat& st) const;
  void remember(const std::filesystem::path& path, const struct stat& st, const std::string& sha256);
  /// Writes the cache atomically when it changed.
  void save();

 private:
  struct Entry {
    std::uint64_t dev, ino, size;
    std::int64_t mtime_ns, ctime_ns;
    std::string sha256;
  };
  std::filesystem::path file_;
  std::map<std::string, Entry> entries_;
  bool dirty_ = false;
};

}  // namespace ef::build
