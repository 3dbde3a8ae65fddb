#pragma once
// A libarchive reader owned RAII-style, configured for layer input: tar
// formats only (ustar, pax, GNU), behind any compression libarchive reads.

#include <archive.h>
#include <locale.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/hash.h"

namespace ef::rootfs {

/// While alive, the calling thread uses the C.UTF-8 locale (uselocale), so
/// libarchive decodes pax's UTF-8 names instead of failing to convert them to
/// the C locale's ASCII. ustar/GNU names stay raw bytes either way. The
/// process locale is untouched. Must be destroyed on the thread that made it.
class Utf8LocaleScope {
 public:
  Utf8LocaleScope();
  ~Utf8LocaleScope();
  Utf8LocaleScope(const Utf8LocaleScope&) = delete;
  Utf8LocaleScope& operator=(const Utf8LocaleScope&) = delete;

 private:
  locale_t utf8_ = nullptr;
  locale_t previous_ = nullptr;
};

/// Used on one thread only (see Utf8LocaleScope).
class TarReader {
 public:
  enum class Mode {
    kTar,  ///< tar formats behind any compression
    kRaw,  ///< one entry: the decompressed stream itself (any compression or none)
  };
  /// A reader not yet opened; open_file() or archive_read_open*() on get().
  explicit TarReader(Mode mode = Mode::kTar);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  archive* get() const { return a_; }
  /// Opens `path`; throws ef::Error naming it on failure.
  void open_file(const std::filesystem::path& path);
  /// Opens `path` and hashes (SHA-256) every raw byte libarchive reads from it;
  /// file_sha256() then gives the digest of the whole file.
  void open_file_hashed(const std::filesystem::path& path);
  /// After open_file_hashed: reads what libarchive left unread (padding past
  /// the end-of-archive blocks) and returns the hex SHA-256 of the file's bytes.
  std::string file_sha256();
  /// libarchive's last error message (never null).
  std::string error() const;
  /// Offset in the decompressed stream where reading stands (for messages).
  std::uint64_t position() const;

 private:
  static la_ssize_t read_hashed(archive*, void* self, const void** buffer);

  Utf8LocaleScope locale_;
  archive* a_;
  std::string path_;
  UniqueFd fd_;
  Hasher hasher_{HashAlgo::kSha256};
  std::vector<std::uint8_t> buf_;
};

}  // namespace ef::rootfs
