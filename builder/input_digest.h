#pragma once
// Content digests of build inputs: files by their bytes, directories by a
// canonical listing of their tree (so mtimes, inode numbers and creation
// order never matter, but every byte, mode, link and hard link does).

#include <cstdint>
#include <filesystem>
#include <string>

namespace ef::build {

struct Digest {
  std::string sha256;  // lower-case hex
  std::uint64_t size = 0;  // bytes of file content (summed for a directory)
};

/// sha256 of a regular file's bytes (streamed).
Digest digest_regular_file(const std::filesystem::path& path);

/// sha256 of the canonical listing of a directory tree: one line per entry,
/// sorted bytewise by relative path:
///   "d MODE PATH" | "f MODE SIZE SHA256 PATH" | "l TARGET PATH" |
///   "h PATH FIRST-PATH" (hard link) | "c|b MODE MAJOR MINOR PATH" | "p MODE PATH"
/// MODE is the octal permission bits (07777). Sockets are refused.
Digest digest_directory(const std::filesystem::path& root);

/// A file or a directory, as its type says.
Digest digest_path(const std::filesystem::path& path);

}  // namespace ef::build
