#pragma once
// A libarchive reader owned RAII-style, configured for layer input: tar
// formats only (ustar, pax, GNU), behind any compression libarchive reads.

#include <archive.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace ef::rootfs {

class TarReader {
 public:
  /// A reader not yet opened; open_file() or archive_read_open*() on get().
  TarReader();
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  archive* get() const { return a_; }
  /// Opens `path`; throws ef::Error naming it on failure.
  void open_file(const std::filesystem::path& path);
  /// libarchive's last error message (never null).
  std::string error() const;
  /// Offset in the decompressed stream where reading stands (for messages).
  std::uint64_t position() const;

 private:
  archive* a_;
};

}  // namespace ef::rootfs
