#include "builder/cpio_extract.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "base/file.h"

namespace ef::rootfs {

namespace {

/// Opens directories below a root fd one component at a time, never
/// following a symlink; missing components are created (0755).
class SafeDir {
 public:
  explicit SafeDir(const std::filesystem::path& root) {
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    root_.reset(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_) throw_errno("open extraction directory", root.string());
  }

  /// The directory at normalised `rel` ("" = root), created if `create`.
  UniqueFd open_dir(const std::string& rel, bool create) const {
    UniqueFd cur(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
    if (!cur) throw_errno("dup", "extraction directory");
    std::size_t i = 0;
    while (i < rel.size()) {
      std::size_t j = rel.find('/', i);
      if (j == std::string::npos) j = rel.size();
      std::string comp = rel.substr(i, j - i);
      cur = open_child(cur.get(), comp, rel.substr(0, j), create);
      i = j + 1;
    }
    return cur;
  }

 private:
  static UniqueFd open_child(int dirfd, const std::string& comp, const std::string& so_far, bool create) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      int fd = ::openat(dirfd, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) return UniqueFd(fd);
      if (errno == ELOOP || errno == ENOTDIR)
        throw Error("\"" + so_far + "\" is a symlink or not a directory; refusing to go through it");
      if (errno != ENOENT || !create || attempt > 0) throw_errno("open directory", so_far);
      if (::mkdirat(dirfd, comp.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("create directory", so_far);
    }
    throw Error("cannot open directory " + so_far);
  }

  UniqueFd root_;
};

std::string parent_of(const std::string& p) {
  std::size_t s = p.rfind('/');
  return s == std::string::npos ? std::string() : p.substr(0, s);
}

std::string base_of(const std::string& p) {
  std::size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

class Extractor {
 public:
  Extractor(ByteSource& src, const std::string& name, const std::filesystem::path& dest, const ExtractOptions& o)
      : reader_(src, name), dir_(dest), options_(o) {}

  ExtractStats run() {
    while (auto e = reader_.next()) {
      const CpioEntry& entry = *e;
      try {
        extract(entry);
      } catch (const FormatError&) {
        throw;
      } catch (const Error& err) {
        throw FormatError(reader_.name(), entry.header_offset, "entry \"" + entry.path + "\": " + err.what());
      }
    }
    finish_directories();
    return stats_;
  }

 private:
  struct DirMeta {
    std::uint32_t mode;
    std::uint64_t mtime;
  };

  static std::string safe_path(const std::string& raw) {
    if (!raw.empty() && raw[0] == '/') throw Error("absolute path refused");
    return normalize_path(raw);
  }

  void extract(const CpioEntry& e) {
    std::string path = safe_path(e.path);
    if (path.empty()) return;  // "." — the destination itself
    UniqueFd parent = dir_.open_dir(parent_of(path), true);
    std::string base = base_of(path);
    if (e.type == FsType::kDirectory) {
      make_directory(parent.get(), base, path, e);
      return;
    }
    clear_slot(parent.get(), base);
    switch (e.type) {
      case FsType::kFile: make_file(parent.get(), base, path, e); break;
      case FsType::kSymlink:
        if (::symlinkat(e.link_target.c_str(), parent.get(), base.c_str()) != 0) throw_errno("create symlink", path);
        break;
      case FsType::kFifo:
        if (::mkfifoat(parent.get(), base.c_str(), 0600) != 0) throw_errno("create fifo", path);
        chmod_at(parent.get(), base, e.mode, path);
        break;
      case FsType::kCharDevice:
      case FsType::kBlockDevice:
        if (!make_device(parent.get(), base, path, e)) return;
        break;
      case FsType::kDirectory: break;
    }
    set_mtime(parent.get(), base, e.mtime, path);
    stats_.entries++;
  }

  void make_directory(int parent, const std::string& base, const std::string& path, const CpioEntry& e) {
    struct stat st {};
    if (::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) clear_slot(parent, base);
    if (::mkdirat(parent, base.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create directory", path);
    dirs_[path] = DirMeta{e.mode, e.mtime};
    stats_.entries++;
  }

  /// Removes a non-directory at parent/base; an existing directory is an error.
  static void clear_slot(int parent, const std::string& base) {
    struct stat st {};
    if (::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    if (S_ISDIR(st.st_mode)) throw Error("would replace a directory with a non-directory");
    if (::unlinkat(parent, base.c_str(), 0) != 0) throw_errno("remove existing", base);
  }

  void make_file(int parent, const std::string& base, const std::string& path, const CpioEntry& e) {
    bool linked = false;
    if (e.nlink > 1) {
      auto key = std::make_tuple(e.ino, e.dev_major, e.dev_minor);
      auto it = first_link_.find(key);
      if (it == first_link_.end()) {
        first_link_.emplace(key, path);
      } else {
        UniqueFd first_parent = dir_.open_dir(parent_of(it->second), false);
        if (::linkat(first_parent.get(), base_of(it->second).c_str(), parent, base.c_str(), 0) != 0)
          throw_errno("hard-link " + it->second + " to", path);
        linked = true;
      }
    }
    if (linked && e.size == 0) return;
    int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (linked ? O_TRUNC : O_CREAT | O_EXCL);
    UniqueFd fd(::openat(parent, base.c_str(), flags, 0600));
    if (!fd) throw_errno("create", path);
    std::vector<std::uint8_t> buf(256 * 1024);
    while (std::size_t n = reader_.read_data(buf)) {
      write_all(fd.get(), std::span(buf.data(), n), path);
      stats_.bytes += n;
    }
    if (::fchmod(fd.get(), e.mode) != 0) throw_errno("chmod", path);
  }

  bool make_device(int parent, const std::string& base, const std::string& path, const CpioEntry& e) {
    if (options_.devices == DevicePolicy::kRefuse)
      throw Error("device node refused (allow with DevicePolicy::kCreate or kSkip)");
    if (options_.devices == DevicePolicy::kSkip) {
      stats_.skipped++;
      return false;
    }
    mode_t type = e.type == FsType::kCharDevice ? S_IFCHR : S_IFBLK;
    if (::mknodat(parent, base.c_str(), type | 0600, ::makedev(e.rdev_major, e.rdev_minor)) != 0)
      throw_errno("create device node", path);
    chmod_at(parent, base, e.mode, path);
    return true;
  }

  static void chmod_at(int parent, const std::string& base, std::uint32_t mode, const std::string& path) {
    if (::fchmodat(parent, base.c_str(), mode, 0) != 0) throw_errno("chmod", path);
  }

  void set_mtime(int parent, const std::string& base, std::uint64_t mtime, const std::string& path) const {
    if (!options_.restore_mtime) return;
    timespec ts[2] = {{static_cast<time_t>(mtime), 0}, {static_cast<time_t>(mtime), 0}};
    if (::utimensat(parent, base.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("set mtime of", path);
  }

  /// Directory modes and mtimes, deepest first.
  void finish_directories() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      UniqueFd fd = dir_.open_dir(it->first, false);
      if (::fchmod(fd.get(), it->second.mode) != 0) throw_errno("chmod", it->first);
      if (options_.restore_mtime) {
        timespec ts[2] = {{static_cast<time_t>(it->second.mtime), 0}, {static_cast<time_t>(it->second.mtime), 0}};
        if (::futimens(fd.get(), ts) != 0) throw_errno("set mtime of", it->first);
      }
    }
  }

  CpioReader reader_;
  SafeDir dir_;
  const ExtractOptions& options_;
  ExtractStats stats_;
  std::map<std::string, DirMeta> dirs_;
  std::map<std::tuple<std::uint64_t, std::uint32_t, std::uint32_t>, std::string> first_link_;
};

}  // namespace

ExtractStats extract_cpio(ByteSource& source, const std::string& name, const std::filesystem::path& dest_dir,
                          const ExtractOptions& options) {
  return Extractor(source, name, dest_dir, options).run();
}

ExtractStats extract_cpio_file(const std::filesystem::path& archive, const std::filesystem::path& dest_dir,
                               const ExtractOptions& options) {
  UniqueFd fd = open_read(archive);
  FdSource src(fd.get(), archive.string());
  return extract_cpio(src, archive.string(), dest_dir, options);
}

}  // namespace ef::rootfs
