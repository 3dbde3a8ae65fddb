#include "builder/cpio_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <exception>
#include <unordered_map>
#include <vector>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/fd.h"
#include "base/file.h"

namespace ef::rootfs {

namespace {

constexpr std::size_t kChunk = 256 * 1024;
constexpr std::uint64_t kNewcMaxSize = 0xFFFFFFFFull;

/// Per-path numbers derived from the whole tree: inode, link count, and whether
/// this path carries a hard-link group's data.
struct Numbering {
  std::uint64_t ino = 0;
  std::uint32_t nlink = 1;
  bool carries_data = true;
};

std::vector<Numbering> number_entries(const FsTree& tree) {
  struct Group {
    std::uint64_t ino;
    std::uint32_t members;
    std::size_t last;
  };
  std::vector<Numbering> out(tree.size());
  std::unordered_map<const FsFile*, Group> groups;
  std::unordered_map<std::string_view, std::size_t> index_of_dir;
  std::uint64_t next_ino = 0;  // as GNU cpio --renumber-inodes
  std::size_t i = 0;
  for (const auto& [path, node] : tree) {
    if (node.type == FsType::kFile) {
      auto [it, fresh] = groups.try_emplace(node.file.get(), Group{next_ino, 0, i});
      if (fresh) next_ino++;
      it->second.members++;
      it->second.last = i;
      out[i].ino = it->second.ino;
    } else {
      out[i].ino = next_ino++;
    }
    if (node.type == FsType::kDirectory) {
      out[i].nlink = 2;
      index_of_dir.emplace(path, i);
      std::size_t slash = path.rfind('/');
      if (slash != std::string::npos) out[index_of_dir.at(std::string_view(path).substr(0, slash))].nlink++;
    }
    ++i;
  }
  i = 0;
  for (const auto& [path, node] : tree) {
    if (node.type == FsType::kFile) {
      const Group& g = groups.at(node.file.get());
      out[i].nlink = g.members;
      out[i].carries_data = g.last == i;
    }
    ++i;
  }
  return out;
}

unsigned type_bits(FsType t) {
  switch (t) {
    case FsType::kFile: return AE_IFREG;
    case FsType::kDirectory: return AE_IFDIR;
    case FsType::kSymlink: return AE_IFLNK;
    case FsType::kCharDevice: return AE_IFCHR;
    case FsType::kBlockDevice: return AE_IFBLK;
    case FsType::kFifo: return AE_IFIFO;
  }
  return 0;
}

/// Owns the libarchive writer and carries sink errors across its C frames.
class ArchiveWriter {
 public:
  explicit ArchiveWriter(const ByteSink& sink) : sink_(sink), a_(archive_write_new()) {
    if (a_ == nullptr) throw Error("cpio: out of memory");
    check(archive_write_set_format_cpio_newc(a_), "select newc format");
    check(archive_write_add_filter_none(a_), "select no compression");
    check(archive_write_set_bytes_per_block(a_, 64 * 1024), "set block size");
    check(archive_write_set_bytes_in_last_block(a_, 512), "set last block size");
    check(archive_write_open2(a_, this, nullptr, &ArchiveWriter::on_write, nullptr, nullptr), "open");
  }
  ~ArchiveWriter() { archive_write_free(a_); }
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  archive* get() { return a_; }
  std::uint64_t bytes() const { return bytes_; }

  /// Throws the sink's exception if it failed, else an Error with libarchive's message.
  void check(int rc, std::string_view action) {
    if (rc == ARCHIVE_OK) return;
    if (sink_error_) std::rethrow_exception(sink_error_);
    const char* msg = archive_error_string(a_);
    throw Error("cpio: " + std::string(action) + ": " + (msg ? msg : "libarchive error"));
  }

  void write_data(const std::uint8_t* data, std::size_t n, const std::string& path) {
    la_ssize_t w = archive_write_data(a_, data, n);
    if (w < 0 || static_cast<std::size_t>(w) != n) check(ARCHIVE_FATAL, "write data of " + path);
  }

  void close() { check(archive_write_close(a_), "finish archive"); }

 private:
  static la_ssize_t on_write(archive*, void* self_ptr, const void* buf, size_t n) {
    auto* self = static_cast<ArchiveWriter*>(self_ptr);
    try {
      self->sink_(std::span(static_cast<const std::uint8_t*>(buf), n));
      self->bytes_ += n;
      return static_cast<la_ssize_t>(n);
    } catch (...) {
      self->sink_error_ = std::current_exception();
      return -1;
    }
  }

  const ByteSink& sink_;
  archive* a_;
  std::uint64_t bytes_ = 0;
  std::exception_ptr sink_error_;
};

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

void stream_content(ArchiveWriter& w, const FsContent& c, const std::string& path) {
  if (c.is_inline()) {
    w.write_data(c.bytes->data(), c.bytes->size(), path);
    return;
  }
  const std::string src = c.host_path.string();
  UniqueFd fd = open_read(c.host_path);
  std::uint64_t now = file_size(fd.get(), src);
  if (c.offset == 0 ? now != c.size : now < c.offset + c.size)
    throw Error("cpio: source of " + path + " changed size since it was added: " + src + " is now " +
                std::to_string(now) + " bytes, expected " + std::to_string(c.offset + c.size));
  ::posix_fadvise(fd.get(), static_cast<off_t>(c.offset), static_cast<off_t>(c.size), POSIX_FADV_SEQUENTIAL);
  std::vector<std::uint8_t> buf(std::min<std::uint64_t>(kChunk, c.size));
  for (std::uint64_t done = 0; done < c.size;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), c.size - done));
    pread_exact(fd.get(), std::span(buf.data(), n), c.offset + done, src);
    w.write_data(buf.data(), n, path);
    done += n;
  }
}

void write_entry(ArchiveWriter& w, archive_entry* e, const std::string& path, const FsNode& node,
                 const Numbering& num, std::uint64_t mtime) {
  archive_entry_clear(e);
  archive_entry_copy_pathname(e, path.c_str());
  archive_entry_set_mode(e, type_bits(node.type) | node.permissions());
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  archive_entry_set_mtime(e, static_cast<time_t>(mtime), 0);
  archive_entry_set_ino64(e, static_cast<la_int64_t>(num.ino));
  archive_entry_set_dev(e, 0);
  archive_entry_set_nlink(e, num.nlink);
  std::uint64_t size = 0;
  if (node.type == FsType::kFile && num.carries_data) size = node.file->content.size;
  if (size > kNewcMaxSize) throw Error("cpio: " + path + " is 4 GiB or larger, which newc cannot store");
  if (node.type == FsType::kSymlink) archive_entry_copy_symlink(e, node.link_target.c_str());
  if (node.type == FsType::kCharDevice || node.type == FsType::kBlockDevice) {
    archive_entry_set_rdevmajor(e, node.rdev_major);
    archive_entry_set_rdevminor(e, node.rdev_minor);
  }
  archive_entry_set_size(e, static_cast<la_int64_t>(size));
  w.check(archive_write_header(w.get(), e), "write header of " + path);
  if (size > 0) stream_content(w, node.file->content, path);
}

}  // namespace

ByteSink fd_sink(int fd, std::string name) {
  return [fd, name = std::move(name)](std::span<const std::uint8_t> data) { write_all(fd, data, name); };
}

CpioStats write_cpio(const FsTree& tree, std::uint64_t mtime, const ByteSink& sink) {
  if (mtime > 0xFFFFFFFFull) throw Error("cpio: mtime " + std::to_string(mtime) + " does not fit newc's 32 bits");
  std::vector<Numbering> numbers = number_entries(tree);
  ArchiveWriter w(sink);
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  CpioStats stats;
  std::size_t i = 0;
  for (const auto& [path, node] : tree) {
    write_entry(w, e.get(), path, node, numbers[i++], mtime);
    stats.entries++;
  }
  w.close();
  stats.bytes = w.bytes();
  return stats;
}

CpioStats write_cpio_file(const FsTree& tree, std::uint64_t mtime, const std::filesystem::path& out,
                          const ByteSink& also) {
  AtomicFile file(out, 0644);
  ByteSink to_file = fd_sink(file.fd(), out.string());
  CpioStats st = write_cpio(tree, mtime, [&](std::span<const std::uint8_t> chunk) {
    to_file(chunk);
    if (also) also(chunk);
  });
  file.commit();
  return st;
}

}  // namespace ef::rootfs
