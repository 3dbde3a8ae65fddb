#include "builder/layer_entry.h"

#include "base/error.h"
#include "builder/display.h"

namespace ef::rootfs {

namespace {

std::string entry_context(std::string_view layer_name, const LayerEntry& e) {
  return std::string(layer_name) + ": entry \"" + build::escape_for_display(e.path) + "\"";
}

std::string_view basename_of(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view dirname_of(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

/// Handles a whiteout marker; returns false when `e` is not one.
bool apply_whiteout(FsTree& tree, const LayerEntry& e, std::string_view prefix) {
  std::string_view base = basename_of(e.path);
  if (base.substr(0, kWhiteoutPrefix.size()) != kWhiteoutPrefix) return false;
  std::string dir = join_path(prefix, dirname_of(e.path));
  if (base == kOpaqueMarker) {
    const FsNode* node = tree.find(dir);
    if (dir.empty() || (node != nullptr && node->type == FsType::kDirectory)) tree.clear_directory(dir);
    return true;
  }
  std::string_view hidden = base.substr(kWhiteoutPrefix.size());
  if (hidden.empty() || hidden == "." || hidden == "..") throw Error("malformed whiteout name");
  tree.remove(join_path(dir, hidden));
  return true;
}

void apply_entry(FsTree& tree, const LayerEntry& e, std::string_view prefix) {
  std::string dest = join_path(prefix, e.path);
  switch (e.kind) {
    case LayerEntry::Kind::kFile: tree.add_file(dest, e.content, e.mode); break;
    case LayerEntry::Kind::kDirectory: tree.add_directory(dest, e.mode); break;
    case LayerEntry::Kind::kSymlink: tree.add_symlink(dest, e.target); break;
    case LayerEntry::Kind::kHardlink: tree.add_hardlink(dest, join_path(prefix, e.target)); break;
    case LayerEntry::Kind::kCharDevice:
      tree.add_device(dest, FsType::kCharDevice, e.rdev_major, e.rdev_minor, e.mode);
      break;
    case LayerEntry::Kind::kBlockDevice:
      tree.add_device(dest, FsType::kBlockDevice, e.rdev_major, e.rdev_minor, e.mode);
      break;
    case LayerEntry::Kind::kFifo: tree.add_fifo(dest, e.mode); break;
  }
}

bool is_marker(const LayerEntry& e) {
  return basename_of(e.path).substr(0, kWhiteoutPrefix.size()) == kWhiteoutPrefix;
}

}  // namespace

std::string_view kind_name(LayerEntry::Kind kind) {
  switch (kind) {
    case LayerEntry::Kind::kFile: return "regular file";
    case LayerEntry::Kind::kDirectory: return "directory";
    case LayerEntry::Kind::kSymlink: return "symlink";
    case LayerEntry::Kind::kHardlink: return "hard link";
    case LayerEntry::Kind::kCharDevice: return "character device";
    case LayerEntry::Kind::kBlockDevice: return "block device";
    case LayerEntry::Kind::kFifo: return "fifo";
  }
  return "unknown";
}

std::string policy_violation(const LayerEntry& e, const LayerOptions& options) {
  bool special = e.kind == LayerEntry::Kind::kCharDevice || e.kind == LayerEntry::Kind::kBlockDevice ||
                 e.kind == LayerEntry::Kind::kFifo;
  if (special && !options.allow_devices)
    return std::string(kind_name(e.kind)) + " refused (device nodes and fifos must be allowed explicitly)";
  if (e.kind == LayerEntry::Kind::kFile && e.content.size > options.max_file_size)
    return "size " + std::to_string(e.content.size) + " exceeds the limit of " + std::to_string(options.max_file_size) +
           " bytes";
  return {};
}

void apply_layer_entries(FsTree& tree, std::span<const LayerEntry> entries, std::string_view dest_prefix,
                         bool whiteouts, const LayerOptions& options, std::string_view layer_name) {
  if (entries.size() > options.max_entries)
    throw Error(std::string(layer_name) + ": " + std::to_string(entries.size()) + " entries exceed the limit of " +
                std::to_string(options.max_entries));
  std::string prefix = normalize_path(dest_prefix);
  for (const LayerEntry& e : entries) {
    std::string why = policy_violation(e, options);
    if (!why.empty()) throw Error(entry_context(layer_name, e) + ": " + why);
  }
  if (whiteouts) {
    for (const LayerEntry& e : entries)
      with_context(entry_context(layer_name, e), [&] { return apply_whiteout(tree, e, prefix); });
  }
  for (const LayerEntry& e : entries) {
    if (whiteouts && is_marker(e)) continue;
    with_context(entry_context(layer_name, e), [&] { apply_entry(tree, e, prefix); });
  }
}

}  // namespace ef::rootfs
