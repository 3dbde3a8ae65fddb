#include "builder/input_digest.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/hash.h"

namespace ef::build {
namespace fs = std::filesystem;

std::uint32_t normalized_mode(bool is_directory, std::uint32_t mode) {
  if (is_directory) return 0755;
  return (mode & 0111) ? 0755 : 0644;
}

Digest digest_regular_file(const fs::path& path, DigestCache* cache) {
  struct stat st {};
  if (cache && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    if (auto known = cache->lookup(path, st)) return Digest{*known, static_cast<std::uint64_t>(st.st_size)};
  }
  Digest d;
  d.sha256 = to_hex(digest_file(HashAlgo::kSha256, path, &d.size));
  if (cache && d.size == static_cast<std::uint64_t>(st.st_size)) cache->remember(path, st, d.sha256);
  return d;
}

namespace {

std::string octal(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%o", v);
  return buf;
}

/// A name or link target as a listing field: the bytes that separate fields
/// and lines (space, newline) and the escape itself are written \ooo, so no
/// two trees give the same listing (a symlink "c" -> "a b" once listed exactly
/// as a symlink "b c" -> "a"). Names without them are unchanged.
std::string field(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

void collect(const fs::path& dir, const std::string& prefix, std::vector<std::string>& out) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string rel = prefix + it->path().filename().string();
    out.push_back(rel);
    if (it->is_directory(ec) && !it->is_symlink(ec)) collect(it->path(), rel + "/", out);
  }
  if (ec) throw SysError("list directory", dir.string(), ec.value());
}

}  // namespace

Digest digest_directory(const fs::path& root, DigestCache* cache) {
  std::vector<std::string> paths;
  collect(root, "", paths);
  std::sort(paths.begin(), paths.end());
  Hasher listing(HashAlgo::kSha256);
  Digest total;
  std::map<std::pair<dev_t, ino_t>, std::string> first_link;
  for (const std::string& rel : paths) {
    fs::path p = root / rel;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) throw_errno("stat", p.string());
    std::string line;
    const std::string name = field(rel);
    std::string mode = octal(normalized_mode(S_ISDIR(st.st_mode), st.st_mode & 07777));
    if (S_ISDIR(st.st_mode)) {
      line = "d " + mode + " " + name;
    } else if (S_ISLNK(st.st_mode)) {
      line = "l " + field(fs::read_symlink(p).string()) + " " + name;
    } else if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) &&
               first_link.count({st.st_dev, st.st_ino})) {
      line = "h " + name + " " + field(first_link[{st.st_dev, st.st_ino}]);
    } else if (S_ISREG(st.st_mode)) {
      Digest f = digest_regular_file(p, cache);
      total.size += f.size;
      line = "f " + mode + " " + std::to_string(f.size) + " " + f.sha256 + " " + name;
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      line = std::string(S_ISCHR(st.st_mode) ? "c " : "b ") + mode + " " + std::to_string(major(st.st_rdev)) + " " +
             std::to_string(minor(st.st_rdev)) + " " + name;
    } else if (S_ISFIFO(st.st_mode)) {
      line = "p " + mode + " " + name;
    } else {
      throw Error(p.string() + ": sockets and other special files cannot be image inputs");
    }
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode)) first_link.emplace(std::pair{st.st_dev, st.st_ino}, rel);
    listing.update(line);
    listing.update(std::string_view("\n"));
  }
  total.sha256 = to_hex(listing.finish());
  return total;
}

Digest digest_path(const fs::path& path, DigestCache* cache) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_errno("stat", path.string());
  if (S_ISDIR(st.st_mode)) return digest_directory(path, cache);
  if (!S_ISREG(st.st_mode)) throw Error(path.string() + ": not a regular file or directory");
  return digest_regular_file(path, cache);
}

}  // namespace ef::build
