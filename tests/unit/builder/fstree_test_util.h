#pragma once
// Helpers shared by the fs_tree / layers / cpio tests.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file.h"
#include "builder/cpio_writer.h"
#include "builder/fs_tree.h"

namespace fstree_test {

namespace fs = std::filesystem;

/// A fresh directory removed (with its contents) at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "ef-fstree-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) ef::throw_errno("mkdtemp", templ);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    // Make everything writable first so read-only directories can be removed.
    std::string cmd = "chmod -R u+rwx '" + path_.string() + "' 2>/dev/null";
    (void)std::system(cmd.c_str());
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  fs::path path_;
};

/// Runs a shell command; returns its stdout. Throws when it exits non-zero.
inline std::string sh(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) ef::throw_errno("popen", cmd);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) throw ef::Error("command failed (" + std::to_string(rc) + "): " + cmd + "\n" + out);
  return out;
}

inline void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline std::string read_text(const fs::path& p) { return ef::read_text_file(p); }

/// The archive bytes of a tree, collected in memory (tests only).
inline std::string cpio_bytes(const ef::rootfs::FsTree& tree, std::uint64_t mtime) {
  std::string out;
  ef::rootfs::write_cpio(tree, mtime, [&](std::span<const std::uint8_t> d) { out.append(d.begin(), d.end()); });
  return out;
}

inline std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace fstree_test

#include <archive.h>
#include <archive_entry.h>

namespace fstree_test {

/// One entry of a tar written by make_tar (tests build hostile archives too).
struct TarItem {
  std::string path;
  unsigned type = AE_IFREG;
  unsigned mode = 0644;
  std::string data;        ///< regular files
  std::string symlink;     ///< AE_IFLNK target
  std::string hardlink;    ///< makes a hard-link entry to this path
  unsigned rdev_major = 0, rdev_minor = 0;
};

inline TarItem tfile(std::string path, std::string data, unsigned mode = 0644) {
  TarItem t;
  t.path = std::move(path);
  t.data = std::move(data);
  t.mode = mode;
  return t;
}
inline TarItem tdir(std::string path, unsigned mode = 0755) {
  TarItem t;
  t.path = std::move(path);
  t.type = AE_IFDIR;
  t.mode = mode;
  return t;
}
inline TarItem tsymlink(std::string path, std::string target) {
  TarItem t;
  t.path = std::move(path);
  t.type = AE_IFLNK;
  t.mode = 0777;
  t.symlink = std::move(target);
  return t;
}
inline TarItem thardlink(std::string path, std::string target) {
  TarItem t;
  t.path = std::move(path);
  t.hardlink = std::move(target);
  return t;
}
inline TarItem tdevice(std::string path, unsigned type, unsigned major, unsigned minor) {
  TarItem t;
  t.path = std::move(path);
  t.type = type;
  t.mode = 0600;
  t.rdev_major = major;
  t.rdev_minor = minor;
  return t;
}

/// Writes `items` as a pax tar (gzip-compressed when `gzip`).
inline void make_tar(const fs::path& out, const std::vector<TarItem>& items, bool gzip = false) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  if (archive_write_open_filename(a, out.c_str()) != ARCHIVE_OK) throw ef::Error("make_tar open");
  for (const TarItem& it : items) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, it.path.c_str());
    archive_entry_set_mode(e, it.type | it.mode);
    archive_entry_set_mtime(e, 1234567, 0);
    if (!it.symlink.empty()) archive_entry_set_symlink(e, it.symlink.c_str());
    if (!it.hardlink.empty()) archive_entry_set_hardlink(e, it.hardlink.c_str());
    archive_entry_set_rdevmajor(e, it.rdev_major);
    archive_entry_set_rdevminor(e, it.rdev_minor);
    archive_entry_set_size(e, static_cast<la_int64_t>(it.type == AE_IFREG ? it.data.size() : 0));
    if (archive_write_header(a, e) != ARCHIVE_OK) throw ef::Error(std::string("make_tar header: ") + archive_error_string(a));
    if (it.type == AE_IFREG && !it.data.empty()) archive_write_data(a, it.data.data(), it.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

/// Every path below `dir` (relative, sorted) — to prove nothing else was written.
inline std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it)
    out.push_back(fs::relative(it->path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace fstree_test
