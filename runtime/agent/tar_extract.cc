#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <optional>

#include "attest/verify.h"
#include "base/fd.h"
#include "runtime/agent/path_safety.h"
#include "runtime/agent/tar_stream.h"

namespace ef::agent {
namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

struct SourceState {
  const TarSource* source;
  std::optional<std::string> error;  ///< an exception thrown by the source, carried across C
};

la_ssize_t read_cb(archive*, void* ctx, const void** buf) {
  auto* s = static_cast<SourceState*>(ctx);
  try {
    auto chunk = (*s->source)();
    *buf = chunk.data();
    return static_cast<la_ssize_t>(chunk.size());
  } catch (const std::exception& e) {
    s->error = e.what();
    return -1;
  }
}

[[noreturn]] void unsafe(const std::string& name, const std::string& why) {
  throw UnsafeEntry("refusing tar entry \"" + attest::printable(name, 200) + "\": " + why);
}

class Extractor {
 public:
  explicit Extractor(std::filesystem::path dest) : dest_(std::move(dest)) {}

  void entry(archive* a, archive_entry* e, TarStats& stats) {
    const char* raw = archive_entry_pathname(e);
    const std::string name = raw ? raw : "";
    std::vector<std::string> parts;
    try {
      parts = entry_components(name);
    } catch (const Error& err) {
      unsafe(name, err.what());
    }
    if (!root_) start(parts[0]);
    else if (parts[0] != *root_) unsafe(name, "outside the copied tree's root \"" + *root_ + "\"");
    std::vector<std::string> rest(parts.begin() + 1, parts.end());
    if (archive_entry_hardlink(e)) unsafe(name, "hard links are not accepted");
    const mode_t type = archive_entry_filetype(e);
    const mode_t mode = archive_entry_perm(e) & 0777;
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
      unsafe(name, "device nodes, fifos and sockets are not accepted");
    if (rest.empty()) return make_root(a, e, name, type, mode, stats);
    int dir = open_parent(rest, name);
    UniqueFd owned(dir == root_fd_.get() ? -1 : dir);
    const std::string& leaf = rest.back();
    if (type == AE_IFDIR) {
      make_dir(dir, leaf, name, mode);
    } else if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(e);
      try {
        check_symlink_target(rest, target ? target : "");
      } catch (const Error& err) {
        unsafe(name, err.what());
      }
      make_symlink(dir, leaf, target, name);
    } else {
      write_regular(a, e, dir, leaf, name, mode, stats);
    }
    stats.entries++;
  }

 private:
  void start(const std::string& root_name) {
    root_ = root_name;
    struct stat st {};
    if (::stat(dest_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      parent_.reset(::open(dest_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!parent_) throw_errno("open", dest_.string());
      target_name_ = root_name;
      return;
    }
    if (!dest_.has_filename()) throw Error(dest_.string() + ": no such directory");
    const auto parent = dest_.has_parent_path() ? dest_.parent_path() : std::filesystem::path(".");
    parent_.reset(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent_) throw_errno("open destination directory", parent.string());
    target_name_ = dest_.filename().string();
  }

  void make_root(archive* a, archive_entry* e, const std::string& name, mode_t type, mode_t mode, TarStats& stats) {
    if (root_seen_) unsafe(name, "the root appears twice");
    root_seen_ = true;
    if (type == AE_IFLNK) unsafe(name, "the copied root may not be a symlink");
    if (type == AE_IFREG) {
      root_is_file_ = true;
      write_regular(a, e, parent_.get(), target_name_, name, mode, stats);
    } else {
      make_dir(parent_.get(), target_name_, name, mode);
    }
    stats.entries++;
  }

  int root_dir(const std::string& name) {
    if (root_fd_) return root_fd_.get();
    if (root_is_file_) unsafe(name, "the copied root is a file, not a directory");
    if (!root_seen_) {
      make_dir(parent_.get(), target_name_, name, 0755);
      root_seen_ = true;
    }
    root_fd_.reset(::openat(parent_.get(), target_name_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root_fd_) unsafe(name, "the destination " + target_name_ + " is not a directory (or is a symlink)");
    return root_fd_.get();
  }

  /// The directory holding (an fd the caller closes unless it is root_fd_) the entry's last component, creating missing parents.
  int open_parent(const std::vector<std::string>& rest, const std::string& name) {
    int dir = root_dir(name);
    UniqueFd cur;
    for (std::size_t i = 0; i + 1 < rest.size(); ++i) {
      int next = ::openat(dir, rest[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 && errno == ENOENT) {
        if (::mkdirat(dir, rest[i].c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir", name);
        next = ::openat(dir, rest[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
      if (next < 0) {
        if (errno == ELOOP || errno == ENOTDIR) unsafe(name, "its path goes through a symlink or a non-directory");
        throw_errno("open", name);
      }
      cur.reset(next);
      dir = next;
    }
    cur.release();  // the caller owns it (unless it is the root's fd)
    return dir;
  }

  static void make_dir(int dir, const std::string& leaf, const std::string& name, mode_t mode) {
    if (::mkdirat(dir, leaf.c_str(), mode | 0700) != 0) {
      if (errno != EEXIST) throw_errno("mkdir", name);
      struct stat st {};
      if (::fstatat(dir, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat", name);
      if (!S_ISDIR(st.st_mode)) unsafe(name, "exists on disk and is not a directory");
    }
    ::fchmodat(dir, leaf.c_str(), mode | 0700, 0);
  }

  static void make_symlink(int dir, const std::string& leaf, const char* target, const std::string& name) {
    struct stat st {};
    if (::fstatat(dir, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(st.st_mode)) unsafe(name, "a directory exists where the symlink would go");
      if (::unlinkat(dir, leaf.c_str(), 0) != 0) throw_errno("replace", name);
    }
    if (::symlinkat(target, dir, leaf.c_str()) != 0) throw_errno("symlink", name);
  }

  static void write_regular(archive* a, archive_entry* e, int dir, const std::string& leaf, const std::string& name,
                            mode_t mode, TarStats& stats) {
    UniqueFd fd(::openat(dir, leaf.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
      if (errno == ELOOP) unsafe(name, "a symlink exists on disk where the file would go");
      throw_errno("create", name);
    }
    const void* buf;
    size_t size;
    la_int64_t offset;
    std::uint64_t end = 0;
    for (;;) {
      const int r = archive_read_data_block(a, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        throw Error("tar entry \"" + attest::printable(name, 200) + "\": " + archive_error_string(a));
      std::size_t done = 0;
      while (done < size) {
        const ssize_t n = ::pwrite(fd.get(), static_cast<const char*>(buf) + done, size - done,
                                   static_cast<off_t>(offset) + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("write", name);
        done += static_cast<std::size_t>(n);
      }
      end = static_cast<std::uint64_t>(offset) + size;
      stats.bytes += size;
    }
    const auto want = static_cast<std::uint64_t>(archive_entry_size(e));
    if (end < want && ::ftruncate(fd.get(), static_cast<off_t>(want)) != 0) throw_errno("truncate", name);
    if (::fchmod(fd.get(), mode) != 0) throw_errno("chmod", name);
    if (archive_entry_mtime_is_set(e)) {
      timespec times[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
      ::futimens(fd.get(), times);
    }
  }

  std::filesystem::path dest_;
  std::optional<std::string> root_;
  UniqueFd parent_;
  std::string target_name_;
  UniqueFd root_fd_;
  bool root_seen_ = false;
  bool root_is_file_ = false;
};

}  // namespace

TarStats extract_tar(const TarSource& source, const std::filesystem::path& dest) {
  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  if (!a) throw Error("archive_read_new failed");
  archive_read_support_format_tar(a.get());
  SourceState state{&source, std::nullopt};
  const auto check = [&](int r, const char* what) {
    if (state.error) throw Error(*state.error);
    if (r == ARCHIVE_OK || r == ARCHIVE_WARN) return;
    const char* msg = archive_error_string(a.get());
    throw Error(std::string("tar stream: ") + what + ": " + (msg ? msg : "unknown error"));
  };
  check(archive_read_open(a.get(), &state, nullptr, read_cb, nullptr), "open");
  Extractor x(dest);
  TarStats stats;
  for (;;) {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    check(r, "reading a header");
    x.entry(a.get(), e, stats);
  }
  if (stats.entries == 0) throw Error("tar stream holds no entries");
  // Drain what follows the end-of-archive blocks so the frame stream stays in step.
  while (!source().empty()) {
  }
  return stats;
}

}  // namespace ef::agent
