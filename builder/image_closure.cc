#include "builder/image_closure.h"

#include <deque>
#include <set>

#include "base/error.h"
#include "base/fd.h"
#include "base/file.h"
#include "builder/elf_info.h"

namespace ef::build {
namespace {

constexpr int kMaxLinks = 40;

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

std::string join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  return std::string(a) + "/" + std::string(b);
}

/// The bytes of a regular file of the tree (a host file range or inline bytes).
Bytes file_bytes(const rootfs::FsNode& node) {
  const rootfs::FsContent& c = node.file->content;
  if (c.is_inline()) return *c.bytes;
  UniqueFd fd = open_read(c.host_path);
  Bytes bytes(static_cast<std::size_t>(c.size));
  pread_exact(fd.get(), bytes, c.offset, c.host_path.string());
  return bytes;
}

}  // namespace

std::string resolve_in_tree(const rootfs::FsTree& tree, std::string_view root, std::string_view path) {
  std::deque<std::string> pending;  // components still to walk
  for (std::string& part : components(path)) pending.push_back(std::move(part));
  std::vector<std::string> done;  // components below root reached so far
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == "..") {
      if (done.empty()) return "";
      done.pop_back();
      continue;
    }
    std::string here(root);
    for (const std::string& d : done) here = join(here, d);
    here = join(here, part);
    const rootfs::FsNode* node = tree.find(here);
    if (node == nullptr) return "";
    if (node->type != rootfs::FsType::kSymlink) {
      done.push_back(std::move(part));
      continue;
    }
    if (++links > kMaxLinks) return "";
    std::vector<std::string> target = components(node->link_target);
    if (!node->link_target.empty() && node->link_target[0] == '/') done.clear();
    pending.insert(pending.begin(), target.begin(), target.end());
  }
  std::string out(root);
  for (const std::string& d : done) out = join(out, d);
  return out;
}

void require_runnable(const rootfs::FsTree& tree, std::string_view root, std::string_view program,
                      std::string_view triplet, const std::string& what) {
  auto regular = [&](std::string_view image_path) -> const rootfs::FsNode* {
    std::string at = resolve_in_tree(tree, root, image_path);
    const rootfs::FsNode* node = at.empty() ? nullptr : tree.find(at);
    return node != nullptr && node->type == rootfs::FsType::kFile ? node : nullptr;
  };
  const rootfs::FsNode* self = regular(program);
  if (self == nullptr) throw Error(what + ": " + std::string(program) + " is not a regular file in the image");
  ElfLinkInfo info = parse_elf_link_info(file_bytes(*self), std::string(program));
  if (!info.interpreter && info.needed.empty()) return;

  std::vector<std::string> missing;
  if (info.interpreter && regular(*info.interpreter) == nullptr)
    missing.push_back("interpreter " + *info.interpreter);
  const std::string dirs[] = {"/lib/" + std::string(triplet), "/usr/lib/" + std::string(triplet)};
  std::deque<std::pair<std::string, std::string>> unresolved;  // soname, needed by
  for (const std::string& n : info.needed) unresolved.emplace_back(n, std::string(program));
  std::set<std::string> seen;
  while (!unresolved.empty()) {
    auto [soname, by] = unresolved.front();
    unresolved.pop_front();
    if (!seen.insert(soname).second) continue;
    const rootfs::FsNode* lib = nullptr;
    std::string found;
    for (const std::string& dir : dirs) {
      if ((lib = regular(dir + "/" + soname)) != nullptr) {
        found = dir + "/" + soname;
        break;
      }
    }
    if (lib == nullptr) {
      missing.push_back(soname + " (needed by " + by + ")");
      continue;
    }
    for (const std::string& n : parse_elf_link_info(file_bytes(*lib), found).needed) unresolved.emplace_back(n, soname);
  }
  if (missing.empty()) return;
  std::string list;
  for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
  throw Error(what + ": " + std::string(program) + " is dynamically linked and the image lacks " + list +
              " (libraries are looked up in " + dirs[0] + " and " + dirs[1] +
              "); add them to rootfs, or link the program statically");
}

}  // namespace ef::build
