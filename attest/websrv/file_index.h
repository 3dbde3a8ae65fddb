#pragma once
// The index of known files and their SHA3-512 hashes, fed by fs-monitor over the
// FILE-INDEX IPC (docs/ra-web-srv.md): newline-terminated JSON objects,
// snapshot_begin / put / del / snapshot_end.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ef::websrv {

struct FileEntry {
  enum class Kind : char { kFile = 'f', kDir = 'd' };
  Kind kind = Kind::kFile;
  std::array<std::uint8_t, 64> sha3_512{};
  std::uint64_t size = 0;
  bool operator==(const FileEntry&) const = default;
};

/// "file" / "dir".
std::string_view kind_name(FileEntry::Kind kind);

using FileMap = std::map<std::string, FileEntry>;

/// Erases `path` and, for a directory, everything under it ("path/...").
void erase_subtree(FileMap& map, const std::string& path);

/// The live index. Thread-safe: readers share a lock, writers are exclusive.
class FileIndex {
 public:
  std::optional<FileEntry> get(const std::string& path) const;
  /// Up to `max` entries whose path starts with `prefix` and sorts after `after`
  /// (bytewise; "" = from the start), in path order. A cursor for streaming.
  std::vector<std::pair<std::string, FileEntry>> list(std::string_view prefix, const std::string& after,
                                                      std::size_t max) const;
  std::size_t size() const;
  /// True once a snapshot has been swapped in.
  bool has_snapshot() const;

  void put(const std::string& path, const FileEntry& entry);
  void erase(const std::string& path);
  /// Swaps in a full state atomically.
  void replace(FileMap map);

 private:
  mutable std::shared_mutex mu_;
  FileMap map_;
  bool has_snapshot_ = false;
};

/// One IPC connection's parser: applies lines to the index, with snapshot staging
/// (between snapshot_begin and snapshot_end updates go to a staging map, swapped in
/// at snapshot_end; a second snapshot_begin restarts the staging; a connection
/// that ends mid-snapshot leaves the index as it was).
class IndexFeed {
 public:
  explicit IndexFeed(FileIndex& index) : index_(index) {}

  /// Applies one line (without its '\n'). `offset` is the line's byte offset in
  /// the stream. Throws ef::FormatError("file-index IPC", offset, why) on malformed
  /// JSON, an unknown op, a missing or ill-typed field, a non-normalised path, a
  /// hash that is not 128 hex digits, or snapshot_end without snapshot_begin.
  /// Keys other than the documented ones are ignored (forward compatibility).
  void apply_line(std::string_view line, std::uint64_t offset);

  bool in_snapshot() const { return staging_.has_value(); }
  std::uint64_t lines() const { return lines_; }

 private:
  FileIndex& index_;
  std::optional<FileMap> staging_;
  std::uint64_t lines_ = 0;
};

/// Whether a new FILE-INDEX connection may feed the index: only from the
/// producer's uid (`peer_uid` from SO_PEERCRED), and only while no producer
/// connection is open (`producer_live`). See index_listener.h.
enum class IndexAdmission { kAccept, kWrongUid, kBusy };
IndexAdmission admit_index_peer(std::uint32_t peer_uid, std::uint32_t producer_uid, bool producer_live);

}  // namespace ef::websrv
