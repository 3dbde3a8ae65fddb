#pragma once
// Content digests of build inputs: files by their bytes, directories by a
// canonical listing of their tree (so mtimes, inode numbers and creation
// order never matter, but every byte, mode, link and hard link does).

#include <cstdint>
#include <filesystem>
#include <string>

#include "builder/digest_cache.h"

namespace ef::build {

struct Digest {
  std::string sha256;  // lower-case hex
  std::uint64_t size = 0;  // bytes of file content (summed for a directory)
};

/// The mode a directory-layer entry gets in the image, as git records modes:
/// directories 0755; files 0755 when any execute bit is set, else 0644. A
/// checkout's modes depend on the umask of whoever cloned it, so directory
/// layers keep only this (use a tar layer or a `file:` item for other modes).
std::uint32_t normalized_mode(bool is_directory, std::uint32_t mode);

/// sha256 of a regular file's bytes (streamed).
Digest digest_regular_file(const std::filesystem::path& path, DigestCache* cache = nullptr);

/// sha256 of the canonical listing of a directory tree: one line per entry,
/// sorted bytewise by relative path:
///   "d MODE PATH" | "f MODE SIZE SHA256 PATH" | "l TARGET PATH" |
///   "h PATH FIRST-PATH" (hard link) | "c|b MODE MAJOR MINOR PATH" | "p MODE PATH"
/// MODE is normalized_mode() in octal. In PATH, TARGET and FIRST-PATH a space,
/// a newline and a backslash are written as \040, \012 and \134, so the
/// listing is unambiguous. Sockets are refused.
Digest digest_directory(const std::filesystem::path& root, DigestCache* cache = nullptr);

/// A file or a directory, as its type says.
Digest digest_path(const std::filesystem::path& path, DigestCache* cache = nullptr);

}  // namespace ef::build
