#pragma once
// cp's payload: a pax tar stream of one file or directory tree. The writer is
// ours (headers + file bytes straight into a large buffer, no per-byte work);
// the reader is libarchive's tar reader; extraction never leaves its destination.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "base/error.h"

namespace ef::agent {

/// Receives the stream in chunks of at most kTarChunk bytes.
using TarSink = std::function<void(std::span<const std::uint8_t>)>;
/// Yields the next chunk of the stream; an empty span is the end (and every
/// call after the end yields an empty span again).
using TarSource = std::function<std::span<const std::uint8_t>()>;

inline constexpr std::size_t kTarChunk = 1u << 20;

struct TarStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  ///< file content bytes
};

/// Writes `path` (a regular file or a directory tree; a symlink given as `path`
/// itself is followed, symlinks inside are kept as links) as a pax tar whose
/// entries all sit under `root_name`. Device nodes, fifos and sockets inside the
/// tree are an error naming them.
TarStats write_tar(const std::filesystem::path& path, const std::string& root_name, const TarSink& sink);

/// An entry that would land outside the destination, or a kind of file that is
/// never extracted (device, fifo, socket, hard link).
class UnsafeEntry : public Error {
 public:
  using Error::Error;
};

/// Extracts a stream written as above with cp's rules: when `dest` is an
/// existing directory the tree lands in dest/ROOT, otherwise it becomes `dest`
/// (whose parent must exist). Every entry must lie under the first entry's
/// root; absolute names, "..", symlinks pointing outside, writes through a
/// symlink already on disk (each component is opened O_NOFOLLOW), hard links
/// and special files throw UnsafeEntry naming the entry. Modes keep 0777 bits
/// (never setuid/setgid); file mtimes are kept.
TarStats extract_tar(const TarSource& source, const std::filesystem::path& dest);

}  // namespace ef::agent
