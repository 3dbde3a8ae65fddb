#include "builder/fs_tree.h"

#include <sys/stat.h>

#include "base/error.h"

namespace ef::rootfs {

namespace {

std::string q(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

std::string normalize_path(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) throw Error("path contains a NUL byte: " + q(path));
  std::string out;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    i = j + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") throw Error("path has a \"..\" component: " + q(path));
    if (comp.size() > kMaxNameBytes) throw Error("path component longer than 255 bytes in " + q(path));
    if (!out.empty()) out += '/';
    out += comp;
  }
  if (out.size() > kMaxPathBytes) throw Error("path longer than 4095 bytes: " + q(path.substr(0, 64)) + "...");
  return out;
}

std::string join_path(std::string_view prefix, std::string_view path) {
  std::string joined(prefix);
  joined += '/';
  joined += path;
  return normalize_path(joined);
}

FsContent FsContent::inline_bytes(std::span<const std::uint8_t> data) {
  FsContent c;
  c.bytes = std::make_shared<const std::vector<std::uint8_t>>(data.begin(), data.end());
  c.size = data.size();
  return c;
}

FsContent FsContent::host_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_errno("stat", path.string());
  if (!S_ISREG(st.st_mode)) throw Error("not a regular file: " + path.string());
  return host_range(path, 0, static_cast<std::uint64_t>(st.st_size));
}

FsContent FsContent::host_range(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t size,
                                std::string sha256) {
  FsContent c;
  c.host_path = path;
  c.offset = offset;
  c.size = size;
  c.sha256 = std::move(sha256);
  return c;
}

std::string_view type_name(FsType type) {
  switch (type) {
    case FsType::kFile: return "regular file";
    case FsType::kDirectory: return "directory";
    case FsType::kSymlink: return "symlink";
    case FsType::kCharDevice: return "character device";
    case FsType::kBlockDevice: return "block device";
    case FsType::kFifo: return "fifo";
  }
  return "unknown";
}

void FsTree::add_directory(std::string_view path, std::uint32_t mode) {
  FsNode n;
  n.type = FsType::kDirectory;
  n.mode = mode & 07777;
  put(normalize_path(path), std::move(n));
}

void FsTree::add_file(std::string_view path, FsContent content, std::uint32_t mode) {
  FsNode n;
  n.type = FsType::kFile;
  n.file = std::make_shared<FsFile>(FsFile{std::move(content), mode & 07777});
  put(normalize_path(path), std::move(n));
}

void FsTree::add_file_from_host(std::string_view path, const std::filesystem::path& host_path, std::uint32_t mode) {
  add_file(path, FsContent::host_file(host_path), mode);
}

void FsTree::add_bytes(std::string_view path, std::span<const std::uint8_t> data, std::uint32_t mode) {
  add_file(path, FsContent::inline_bytes(data), mode);
}

void FsTree::add_bytes(std::string_view path, std::string_view text, std::uint32_t mode) {
  add_bytes(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), mode);
}

void FsTree::add_symlink(std::string_view path, std::string_view target) {
  if (target.empty()) throw Error("empty symlink target for " + q(path));
  if (target.size() > kMaxPathBytes) throw Error("symlink target longer than 4095 bytes for " + q(path));
  if (target.find('\0') != std::string_view::npos) throw Error("symlink target contains NUL for " + q(path));
  FsNode n;
  n.type = FsType::kSymlink;
  n.mode = 0777;
  n.link_target = std::string(target);
  put(normalize_path(path), std::move(n));
}

void FsTree::add_hardlink(std::string_view path, std::string_view target) {
  std::string t = normalize_path(target);
  const FsNode* existing = find(t);
  if (existing == nullptr) throw Error("hard link " + q(path) + " to missing " + q(t));
  if (existing->type != FsType::kFile)
    throw Error("hard link " + q(path) + " to " + q(t) + ", a " + std::string(type_name(existing->type)) +
                " (only regular files may be hard-linked)");
  std::string p = normalize_path(path);
  if (p == t) return;
  FsNode n;
  n.type = FsType::kFile;
  n.file = existing->file;
  put(p, std::move(n));
}

void FsTree::add_device(std::string_view path, FsType kind, std::uint32_t major, std::uint32_t minor,
                        std::uint32_t mode) {
  if (kind != FsType::kCharDevice && kind != FsType::kBlockDevice)
    throw Error("add_device " + q(path) + ": kind must be a character or block device");
  FsNode n;
  n.type = kind;
  n.mode = mode & 07777;
  n.rdev_major = major;
  n.rdev_minor = minor;
  put(normalize_path(path), std::move(n));
}

void FsTree::add_fifo(std::string_view path, std::uint32_t mode) {
  FsNode n;
  n.type = FsType::kFifo;
  n.mode = mode & 07777;
  put(normalize_path(path), std::move(n));
}

bool FsTree::remove(std::string_view path) {
  std::string p = normalize_path(path);
  if (p.empty()) {
    bool had = !nodes_.empty();
    nodes_.clear();
    return had;
  }
  if (nodes_.find(p) == nodes_.end()) return false;
  erase_subtree(p, false);
  return true;
}

void FsTree::clear_directory(std::string_view path) {
  std::string p = normalize_path(path);
  if (p.empty()) {
    nodes_.clear();
    return;
  }
  erase_subtree(p, true);
}

const FsNode* FsTree::find(std::string_view path) const {
  auto it = nodes_.find(normalize_path(path));
  return it == nodes_.end() ? nullptr : &it->second;
}

void FsTree::put(const std::string& path, FsNode node) {
  if (path.empty()) {
    if (node.type == FsType::kDirectory) return;  // the root is implicit
    throw Error("cannot replace the root directory with a " + std::string(type_name(node.type)));
  }
  ensure_parents(path);
  auto it = nodes_.find(path);
  if (it != nodes_.end() && it->second.type == FsType::kDirectory) {
    if (node.type == FsType::kDirectory) {
      it->second.mode = node.mode;
      return;
    }
    erase_subtree(path, false);
  }
  nodes_.insert_or_assign(path, std::move(node));
}

void FsTree::ensure_parents(const std::string& path) {
  for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    std::string parent = path.substr(0, slash);
    auto it = nodes_.find(parent);
    if (it == nodes_.end()) {
      FsNode dir;
      dir.type = FsType::kDirectory;
      dir.mode = 0755;
      nodes_.emplace(std::move(parent), std::move(dir));
    } else if (it->second.type != FsType::kDirectory) {
      throw Error("cannot add " + q(path) + ": parent " + q(parent) + " is a " +
                  std::string(type_name(it->second.type)) + ", not a directory");
    }
  }
}

void FsTree::erase_subtree(const std::string& path, bool keep_root) {
  // Children of "a" are exactly the keys in ["a/", "a0"): '0' follows '/'.
  auto first = nodes_.lower_bound(path + '/');
  auto last = nodes_.lower_bound(path + '0');
  nodes_.erase(first, last);
  if (!keep_root) nodes_.erase(path);
}

}  // namespace ef::rootfs
