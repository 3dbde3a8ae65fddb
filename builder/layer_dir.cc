#include "builder/layer_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <utility>

#include "base/error.h"
#include "base/fd.h"

namespace ef::rootfs {

namespace {

class DirWalker {
 public:
  DirWalker(std::filesystem::path root, const LayerOptions& options) : root_(std::move(root)), options_(options) {}

  std::vector<LayerEntry> run() {
    int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("open directory layer", root_.string());
    walk(UniqueFd(fd), "");
    return std::move(entries_);
  }

 private:
  std::vector<std::string> sorted_names(int dirfd, const std::string& rel) {
    int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) throw_errno("dup directory fd of", host(rel));
    DIR* d = ::fdopendir(dup);
    if (d == nullptr) {
      ::close(dup);
      throw_errno("read directory", host(rel));
    }
    std::vector<std::string> names;
    errno = 0;
    while (dirent* ent = ::readdir(d)) {
      std::string_view n = ent->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    int saved = errno;
    ::closedir(d);
    if (saved != 0) throw SysError("read directory", host(rel), saved);
    std::sort(names.begin(), names.end());
    return names;
  }

  void walk(UniqueFd dirfd, const std::string& rel) {
    for (const std::string& name : sorted_names(dirfd.get(), rel)) {
      std::string child = rel.empty() ? name : rel + "/" + name;
      struct stat st {};
      if (::fstatat(dirfd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat", host(child));
      if (entries_.size() >= options_.max_entries)
        throw Error(root_.string() + ": more than " + std::to_string(options_.max_entries) + " entries");
      add(dirfd.get(), name, child, st);
      if (S_ISDIR(st.st_mode)) {
        int fd = ::openat(dirfd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) throw_errno("open directory", host(child));
        walk(UniqueFd(fd), child);
      }
    }
  }

  void add(int dirfd, const std::string& name, const std::string& rel, const struct stat& st) {
    LayerEntry e;
    e.path = normalize_path(rel);
    e.mode = st.st_mode & 07777;
    switch (st.st_mode & S_IFMT) {
      case S_IFREG: add_file(e, st); return;
      case S_IFDIR: e.kind = LayerEntry::Kind::kDirectory; break;
      case S_IFLNK: e.kind = LayerEntry::Kind::kSymlink; e.target = read_link(dirfd, name, rel); break;
      case S_IFCHR: e.kind = LayerEntry::Kind::kCharDevice; break;
      case S_IFBLK: e.kind = LayerEntry::Kind::kBlockDevice; break;
      case S_IFIFO: e.kind = LayerEntry::Kind::kFifo; break;
      default: throw Error(host(rel) + ": sockets cannot be part of an image");
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      e.rdev_major = ::major(st.st_rdev);
      e.rdev_minor = ::minor(st.st_rdev);
    }
    check_policy(e);
    entries_.push_back(std::move(e));
  }

  void add_file(LayerEntry& e, const struct stat& st) {
    if (st.st_nlink > 1) {
      auto [it, fresh] = first_link_.try_emplace({st.st_dev, st.st_ino}, e.path);
      if (!fresh) {
        e.kind = LayerEntry::Kind::kHardlink;
        e.target = it->second;
        entries_.push_back(std::move(e));
        return;
      }
    }
    e.kind = LayerEntry::Kind::kFile;
    e.content = FsContent::host_range(root_ / e.path, 0, static_cast<std::uint64_t>(st.st_size));
    check_policy(e);
    entries_.push_back(std::move(e));
  }

  std::string read_link(int dirfd, const std::string& name, const std::string& rel) {
    std::string buf(kMaxPathBytes + 1, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) throw_errno("read symlink", host(rel));
    if (static_cast<std::size_t>(n) > kMaxPathBytes) throw Error(host(rel) + ": symlink target too long");
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }

  void check_policy(const LayerEntry& e) const {
    std::string why = policy_violation(e, options_);
    if (!why.empty()) throw Error(host(e.path) + ": " + why);
  }

  std::string host(const std::string& rel) const { return (root_ / rel).string(); }

  std::filesystem::path root_;
  const LayerOptions& options_;
  std::vector<LayerEntry> entries_;
  std::map<std::pair<dev_t, ino_t>, std::string> first_link_;
};

}  // namespace

std::vector<LayerEntry> read_directory_layer(const std::filesystem::path& host_dir, const LayerOptions& options) {
  return DirWalker(host_dir, options).run();
}

void apply_directory_layer(FsTree& tree, const std::filesystem::path& host_dir, std::string_view dest_prefix,
                           const LayerOptions& options) {
  std::vector<LayerEntry> entries = read_directory_layer(host_dir, options);
  apply_layer_entries(tree, entries, dest_prefix, false, options, host_dir.string());
}

}  // namespace ef::rootfs
