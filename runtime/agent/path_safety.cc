#include "runtime/agent/path_safety.h"

#include "base/error.h"

namespace ef::agent {

std::vector<std::string> entry_components(std::string_view name) {
  if (name.empty()) throw Error("empty name");
  if (name.size() > 4096) throw Error("name longer than 4096 bytes");
  if (name.find('\0') != std::string_view::npos) throw Error("name contains a NUL byte");
  if (name[0] == '/') throw Error("absolute path");
  while (name.starts_with("./")) name.remove_prefix(2);
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    std::size_t end = name.find('/', pos);
    if (end == std::string_view::npos) end = name.size();
    std::string_view c = name.substr(pos, end - pos);
    if (c == "..") throw Error("\"..\" component");
    if (c == ".") throw Error("\".\" component inside the path");
    if (c.empty()) {
      if (end != name.size()) throw Error("empty component (\"//\")");
    } else {
      out.emplace_back(c);
    }
    pos = end + 1;
  }
  if (out.empty()) throw Error("name has no components");
  return out;
}

void check_symlink_target(const std::vector<std::string>& entry, std::string_view target) {
  if (target.empty()) throw Error("symlink with an empty target");
  if (target.find('\0') != std::string_view::npos) throw Error("symlink target contains a NUL byte");
  if (target[0] == '/') throw Error("symlink to an absolute path (" + std::string(target) + ") leaves the destination");
  // The link lives in entry's parent directory; its target is resolved from there.
  std::vector<std::string> where(entry.begin(), entry.end() - 1);
  std::size_t pos = 0;
  while (pos <= target.size()) {
    std::size_t end = target.find('/', pos);
    if (end == std::string_view::npos) end = target.size();
    std::string_view c = target.substr(pos, end - pos);
    if (c == "..") {
      if (where.empty()) throw Error("symlink target " + std::string(target) + " leaves the destination");
      where.pop_back();
    } else if (!c.empty() && c != ".") {
      where.emplace_back(c);
    }
    pos = end + 1;
  }
}

}  // namespace ef::agent
