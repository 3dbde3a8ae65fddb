// The directory-listing digest (digest_directory: one canonical line per entry,
// sorted by path) on trees the input describes. Checks: faults are ef::Error,
// never a crash; the digest does not depend on the order the tree was made in;
// and two different trees never share a digest within one run (the listing
// must be unambiguous, or a directory input could be swapped under its lock).
//
// Input: records separated by '\n' (at most 24), each `KIND NAME [\t ARG]`:
//   f NAME\tCONTENT  file 0644     x NAME\tCONTENT  file 0755
//   d NAME           directory     l NAME\tTARGET   symlink
//   h NAME\tOTHER    hard link to the file OTHER made before
// NAME is a relative path ('/' separates components; "", "." and ".." are
// skipped), escapes \n \t \\ decode to newline, tab and backslash so names and
// targets may hold them. Parents are created as directories.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "builder/input_digest.h"

namespace fs = std::filesystem;

namespace {

struct Rec {
  char kind;
  std::string name, arg;
};

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// Keeps names that make a path below the root: no empty, "." or ".." components.
bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 80 || n.front() == '/' || n.back() == '/') return false;
  std::size_t start = 0;
  while (start <= n.size()) {
    std::size_t end = n.find('/', start);
    if (end == std::string::npos) end = n.size();
    std::string_view c(n.data() + start, end - start);
    if (c.empty() || c == "." || c == ".." || c.find('\0') != std::string_view::npos) return false;
    start = end + 1;
  }
  return true;
}

std::vector<Rec> parse(std::string_view in) {
  std::vector<Rec> out;
  while (!in.empty() && out.size() < 24) {
    std::size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (line.size() < 3 || line[1] != ' ') continue;
    std::string_view rest = line.substr(2);
    std::size_t tab = rest.find('\t');
    Rec r{line[0], unescape(rest.substr(0, tab)), tab == std::string_view::npos ? "" : unescape(rest.substr(tab + 1))};
    if (std::string_view("fxdlh").find(r.kind) == std::string_view::npos || !valid_name(r.name)) continue;
    if (r.arg.find('\0') != std::string::npos || r.arg.size() > 200) continue;
    out.push_back(std::move(r));
  }
  return out;
}

/// Makes the tree under `root`, records in `order`; returns its canonical
/// description (what the digest must distinguish) or "" when the records do
/// not make a tree (a name taken twice, a link to nothing).
std::string materialize(const fs::path& root, const std::vector<Rec>& recs, bool reverse_parents) {
  std::map<std::string, std::string> desc;  // path -> what it is
  std::map<std::string, std::string> link_group;  // file path -> first path of its inode
  auto make_parents = [&](const std::string& name) {
    std::vector<std::string> parents;
    for (std::size_t at = name.find('/'); at != std::string::npos; at = name.find('/', at + 1))
      parents.push_back(name.substr(0, at));
    if (reverse_parents) {  // same tree, other syscall order: mkdir -p of the deepest first
      std::error_code ec;
      if (!parents.empty()) fs::create_directories(root / parents.back(), ec);
    }
    for (const std::string& p : parents) {
      auto it = desc.find(p);
      if (it != desc.end() && it->second != "d 755") return false;
      if (::mkdir((root / p).c_str(), 0755) != 0 && errno != EEXIST) return false;
      ::chmod((root / p).c_str(), 0755);
      desc[p] = "d 755";
    }
    return true;
  };
  for (const Rec& r : recs) {
    if (desc.count(r.name) || !make_parents(r.name)) return "";
    fs::path p = root / r.name;
    if (r.kind == 'f' || r.kind == 'x') {
      std::ofstream(p, std::ios::binary) << r.arg;
      ::chmod(p.c_str(), r.kind == 'x' ? 0755 : 0644);
      desc[r.name] = std::string(r.kind == 'x' ? "f 755 " : "f 644 ") + std::to_string(r.arg.size()) + ":" + r.arg;
      link_group[r.name] = r.name;
    } else if (r.kind == 'd') {
      if (::mkdir(p.c_str(), 0755) != 0) return "";
      desc[r.name] = "d 755";
    } else if (r.kind == 'l') {
      if (::symlink(r.arg.c_str(), p.c_str()) != 0) return "";
      desc[r.name] = "l " + std::to_string(r.arg.size()) + ":" + r.arg;
    } else {  // h
      auto it = link_group.find(r.arg);
      if (it == link_group.end() || ::link((root / r.arg).c_str(), p.c_str()) != 0) return "";
      desc[r.name] = desc[r.arg];
      link_group[r.name] = it->second;
    }
  }
  // Hard links: the digest names the first path (bytewise) of each inode.
  std::map<std::string, std::string> first;
  for (const auto& [path, group] : link_group)
    if (!first.count(group) || path < first[group]) first[group] = path;
  std::string out;
  for (const auto& [path, what] : desc) {
    out += std::to_string(path.size()) + ":" + path + " " + what;
    if (link_group.count(path)) out += " inode:" + first[link_group[path]];
    out += "\n";
  }
  return out;
}

fs::path scratch() {
  static const fs::path dir = [] {
    std::string t = (fs::temp_directory_path() / "ef-fuzz-dirdigest-XXXXXX").string();
    if (!mkdtemp(t.data())) std::abort();
    static std::string for_exit = t;
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(for_exit, ec);
    });
    return fs::path(t);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<Rec> recs = parse(std::string_view(reinterpret_cast<const char*>(data), size));
  const fs::path a = scratch() / "a", b = scratch() / "b";
  std::error_code ec;
  fs::remove_all(a, ec);
  fs::remove_all(b, ec);
  fs::create_directory(a);
  fs::create_directory(b);
  std::string desc = materialize(a, recs, false);
  if (desc.empty() && !recs.empty()) return 0;
  std::vector<Rec> reversed(recs.rbegin(), recs.rend());
  // Reversed creation order only when no hard link depends on an earlier record.
  bool can_reverse = true;
  for (const Rec& r : recs) can_reverse = can_reverse && r.kind != 'h';
  std::string desc_b = materialize(b, can_reverse ? reversed : recs, true);
  if (desc_b != desc) return 0;  // e.g. a parent taken as a file in the other order
  std::string da, db;
  try {
    da = ef::build::digest_directory(a).sha256;
    db = ef::build::digest_directory(b).sha256;
  } catch (const ef::Error&) {
    return 0;
  }
  if (da != db) std::abort();  // same tree, other creation order: the digest must not change
  static std::map<std::string, std::string> seen;  // digest -> tree
  auto [it, fresh] = seen.emplace(da, desc);
  if (!fresh && it->second != desc) {
    std::fprintf(stderr, "digest %s for two trees:\n%s--- and ---\n%s", da.c_str(), it->second.c_str(), desc.c_str());
    std::abort();
  }
  if (seen.size() > 100'000) seen.clear();
  return 0;
}
