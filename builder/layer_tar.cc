#include "builder/layer_tar.h"

#include <archive_entry.h>

#include <vector>

#include "base/error.h"
#include "base/hash.h"
#include "builder/display.h"

namespace ef::rootfs {

namespace {

constexpr std::size_t kChunk = 256 * 1024;

/// Decodes one tar header into an entry (contents not yet read).
class EntryDecoder {
 public:
  EntryDecoder(std::string_view name, std::uint64_t offset) : name_(name), offset_(offset) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw FormatError(name_, offset_, path.empty() ? what : "entry \"" + build::escape_for_display(path) + "\": " + what);
  }

  std::string raw_path(archive_entry* ae) const {
    const char* p = archive_entry_pathname(ae);
    if (p == nullptr) p = archive_entry_pathname_utf8(ae);
    if (p == nullptr) fail("", "entry path name cannot be decoded");
    return p;
  }

  std::string normalized(const std::string& raw, const std::string& path) const {
    try {
      return normalize_path(raw);
    } catch (const Error& e) {
      fail(path, e.what());
    }
  }

  /// Fills kind, mode, target, rdev; returns false for the root entry.
  bool decode(archive_entry* ae, LayerEntry& e) const {
    std::string raw = raw_path(ae);
    e.path = normalized(raw, raw);
    e.mode = archive_entry_perm(ae) & 07777;
    if (const char* link = archive_entry_hardlink(ae)) {
      e.kind = LayerEntry::Kind::kHardlink;
      e.target = normalized(link, raw);
      if (e.target.empty()) fail(raw, "hard link to the archive root");
      return !e.path.empty();
    }
    switch (archive_entry_filetype(ae)) {
      case AE_IFREG: e.kind = LayerEntry::Kind::kFile; break;
      case AE_IFDIR: e.kind = LayerEntry::Kind::kDirectory; break;
      case AE_IFLNK: {
        e.kind = LayerEntry::Kind::kSymlink;
        const char* t = archive_entry_symlink(ae);
        if (t == nullptr) t = archive_entry_symlink_utf8(ae);
        if (t == nullptr || *t == '\0') fail(raw, "symlink with an empty or undecodable target");
        e.target = t;
        if (e.target.size() > kMaxPathBytes) fail(raw, "symlink target longer than 4095 bytes");
        break;
      }
      case AE_IFCHR: e.kind = LayerEntry::Kind::kCharDevice; break;
      case AE_IFBLK: e.kind = LayerEntry::Kind::kBlockDevice; break;
      case AE_IFIFO: e.kind = LayerEntry::Kind::kFifo; break;
      case AE_IFSOCK: fail(raw, "sockets cannot be part of an image");
      default: fail(raw, "unknown entry type");
    }
    if (e.kind == LayerEntry::Kind::kCharDevice || e.kind == LayerEntry::Kind::kBlockDevice) {
      e.rdev_major = static_cast<std::uint32_t>(archive_entry_rdevmajor(ae));
      e.rdev_minor = static_cast<std::uint32_t>(archive_entry_rdevminor(ae));
    }
    if (e.path.empty()) {
      if (e.kind != LayerEntry::Kind::kDirectory) fail(raw, "the archive root must be a directory");
      return false;
    }
    return true;
  }

 private:
  std::string_view name_;
  std::uint64_t offset_;
};

FsContent read_contents(TarReader& r, const EntryDecoder& dec, const std::string& path, std::uint64_t size,
                        const ContentCache& cache) {
  if (size == 0) return FsContent::inline_bytes({});
  ContentCache::BlobWriter blob(cache);
  std::vector<std::uint8_t> buf(kChunk);
  std::uint64_t got = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(r.get(), buf.data(), buf.size());
    if (n < 0) dec.fail(path, r.error());
    if (n == 0) break;
    got += static_cast<std::uint64_t>(n);
    if (got > size) dec.fail(path, "more data than the header's size " + std::to_string(size));
    blob.write(std::span(buf.data(), static_cast<std::size_t>(n)));
  }
  if (got != size) dec.fail(path, "truncated: " + std::to_string(got) + " of " + std::to_string(size) + " bytes");
  return blob.commit();
}

}  // namespace

std::vector<LayerEntry> read_tar_entries(TarReader& r, std::string_view name, const ContentCache& cache,
                                         const LayerOptions& options, TarReadNotes* notes) {
  std::vector<LayerEntry> out;
  TarReadNotes ignored;
  if (notes == nullptr) notes = &ignored;
  for (;;) {
    std::uint64_t before = r.position();
    archive_entry* ae = nullptr;
    int rc = archive_read_next_header(r.get(), &ae);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      notes->header_failed = true;
      throw FormatError(name, before, "bad tar header: " + r.error());
    }
    la_int64_t header_at = archive_read_header_position(r.get());
    if (header_at >= 0) {
      int format = archive_format(r.get());
      if (format == ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE || format == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED ||
          format == ARCHIVE_FORMAT_TAR_GNUTAR)
        notes->extension_offsets.push_back(static_cast<std::uint64_t>(header_at));
      notes->have_last_good = true;
      notes->last_good_offset = static_cast<std::uint64_t>(header_at);
    }
    EntryDecoder dec(name, header_at < 0 ? before : static_cast<std::uint64_t>(header_at));
    if (out.size() >= options.max_entries)
      dec.fail("", "more than " + std::to_string(options.max_entries) + " entries");
    LayerEntry e;
    if (!dec.decode(ae, e)) continue;
    if (e.kind == LayerEntry::Kind::kFile) {
      la_int64_t size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;
      if (size < 0) dec.fail(e.path, "negative size");
      e.content.size = static_cast<std::uint64_t>(size);
    }
    if (std::string why = policy_violation(e, options); !why.empty()) dec.fail(e.path, why);
    if (e.kind == LayerEntry::Kind::kFile) e.content = read_contents(r, dec, e.path, e.content.size, cache);
    out.push_back(std::move(e));
  }
  return out;
}

TarStreamRead raw_stream_reader(TarReader& raw) {
  return [&raw](std::span<std::uint8_t> buf) -> std::size_t {
    la_ssize_t n = archive_read_data(raw.get(), buf.data(), buf.size());
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  };
}

void check_tar_headers(const TarReadNotes& notes, const WithTarStream& with_stream, std::string_view name) {
  if (notes.header_failed)
    with_stream([&](const TarStreamRead& read) {
      diagnose_bad_header(read, notes.last_good_offset, notes.have_last_good, name);
    });
  else if (!notes.extension_offsets.empty())
    with_stream([&](const TarStreamRead& read) { check_extension_headers(read, notes.extension_offsets, name); });
}

namespace {

/// Calls fn with the decompressed bytes of the file at `path`.
void with_decompressed_file(const std::filesystem::path& path, const std::function<void(const TarStreamRead&)>& fn) {
  TarReader raw(TarReader::Mode::kRaw);
  raw.open_file(path);
  archive_entry* ae = nullptr;
  if (archive_read_next_header(raw.get(), &ae) != ARCHIVE_OK) return;  // nothing to add to libarchive's error
  fn(raw_stream_reader(raw));
}

}  // namespace

std::vector<LayerEntry> load_tar_layer(const std::filesystem::path& tar_path, const ContentCache& cache,
                                       std::string_view layer_sha256, const LayerOptions& options) {
  std::string sha = layer_sha256.empty() ? to_hex(digest_file(HashAlgo::kSha256, tar_path)) : std::string(layer_sha256);
  check_sha256_hex(sha, "layer digest of " + tar_path.string());
  if (auto cached = cache.load_layer(sha)) return std::move(*cached);
  TarReadNotes notes;
  std::vector<LayerEntry> entries;
  WithTarStream stream = [&](const std::function<void(const TarStreamRead&)>& fn) {
    with_decompressed_file(tar_path, fn);
  };
  TarReader r;
  try {
    r.open_file_hashed(tar_path);  // libarchive reads the first header here
  } catch (const SysError&) {
    throw;
  } catch (const Error&) {
    notes.header_failed = true;
    check_tar_headers(notes, stream, tar_path.string());
    throw;
  }
  try {
    entries = read_tar_entries(r, tar_path.string(), cache, options, &notes);
  } catch (const FormatError&) {
    check_tar_headers(notes, stream, tar_path.string());
    throw;
  }
  // The entries are stored under `sha`: only when the bytes just read are
  // those bytes (the file may have changed since the lock check digested it).
  if (std::string got = r.file_sha256(); got != sha)
    throw Error(tar_path.string() + ": digest mismatch: expected sha256:" + sha + " (the lock), the file read is sha256:" + got);
  check_tar_headers(notes, stream, tar_path.string());
  cache.store_layer(sha, entries);
  return entries;
}

void apply_tar_layer(FsTree& tree, const std::filesystem::path& tar_path, std::string_view dest_prefix,
                     const ContentCache& cache, std::string_view layer_sha256, const LayerOptions& options,
                     bool whiteouts) {
  std::vector<LayerEntry> entries = load_tar_layer(tar_path, cache, layer_sha256, options);
  apply_layer_entries(tree, entries, dest_prefix, whiteouts, options, tar_path.string());
}

}  // namespace ef::rootfs
