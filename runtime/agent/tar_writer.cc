#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "base/fd.h"
#include "runtime/agent/tar_stream.h"

namespace ef::agent {
namespace {

class PaxWriter {
 public:
  explicit PaxWriter(const TarSink& sink) : sink_(sink), buf_(new std::uint8_t[kTarChunk]) {}

  void entry(const std::string& name, char type, unsigned mode, std::uint64_t size, std::int64_t mtime,
             const std::string& link = {}) {
    const bool plain = [&] {
      auto ascii = [](const std::string& s) {
        return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x1f && c < 0x7f; });
      };
      return name.size() <= 100 && link.size() <= 100 && size < 077777777777ULL && ascii(name) && ascii(link);
    }();
    if (!plain) {
      std::string records = record("path", name);
      if (!link.empty()) records += record("linkpath", link);
      if (size >= 077777777777ULL) records += record("size", std::to_string(size));
      header("PaxHeader/" + name.substr(0, std::min<std::size_t>(name.size(), 80)), 'x', 0644, records.size(),
             mtime, "");
      append(records.data(), records.size());
      pad(records.size());
    }
    header(name.substr(0, 100), type, mode, size >= 077777777777ULL ? 0 : size, mtime, link.substr(0, 100));
  }

  /// Room left in the current chunk, flushing a full one first.
  std::span<std::uint8_t> space() {
    if (used_ == kTarChunk) flush();
    return {buf_.get() + used_, kTarChunk - used_};
  }
  /// After space(): how many of its bytes were filled.
  void commit(std::size_t n) { used_ += n; }

  void pad(std::uint64_t size) {
    static const char zeros[512] = {};
    const std::size_t r = size % 512;
    if (r) append(zeros, 512 - r);
  }
  void finish() {
    static const char zeros[1024] = {};
    append(zeros, sizeof zeros);
    flush();
  }
  void append(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    while (n > 0) {
      if (used_ == kTarChunk) flush();
      const std::size_t k = std::min(n, kTarChunk - used_);
      std::memcpy(buf_.get() + used_, b, k);
      used_ += k;
      b += k;
      n -= k;
    }
  }
  void flush() {
    if (used_) sink_({buf_.get(), used_});
    used_ = 0;
  }

 private:
  static std::string record(const std::string& key, const std::string& value) {
    // "LEN key=value\n" where LEN counts the whole record, itself included.
    const std::size_t body = key.size() + value.size() + 3;
    std::size_t len = body + 1;
    while (std::to_string(len).size() + body != len) ++len;
    return std::to_string(len) + " " + key + "=" + value + "\n";
  }
  static void octal(char* field, std::size_t width, std::uint64_t v) {
    // width-1 digits, then NUL.
    for (std::size_t i = width - 1; i-- > 0;) {
      field[i] = static_cast<char>('0' + (v & 7));
      v >>= 3;
    }
    field[width - 1] = '\0';
  }
  void header(const std::string& name, char type, unsigned mode, std::uint64_t size, std::int64_t mtime,
              const std::string& link) {
    char h[512] = {};
    std::memcpy(h, name.data(), std::min<std::size_t>(name.size(), 100));
    octal(h + 100, 8, mode & 07777);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, static_cast<std::uint64_t>(std::max<std::int64_t>(mtime, 0)) & 077777777777ULL);
    std::memset(h + 148, ' ', 8);
    h[156] = type;
    std::memcpy(h + 157, link.data(), std::min<std::size_t>(link.size(), 100));
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memcpy(h + 265, "root", 4);
    std::memcpy(h + 297, "root", 4);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    octal(h + 148, 7, sum);
    h[155] = ' ';
    append(h, sizeof h);
  }

  const TarSink& sink_;
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t used_ = 0;
};

void write_file(PaxWriter& w, int dirfd, const char* name, const std::string& entry, const std::string& shown,
                bool follow, TarStats& stats) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
  if (!fd) throw_errno("open", shown);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat", shown);
  w.entry(entry, '0', st.st_mode, static_cast<std::uint64_t>(st.st_size), st.st_mtime);
  std::uint64_t left = static_cast<std::uint64_t>(st.st_size);
  while (left > 0) {
    auto room = w.space();
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, room.size()));
    const ssize_t n = ::read(fd.get(), room.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", shown);
    w.commit(static_cast<std::size_t>(n));
    if (n == 0) throw Error(shown + ": file shrank while it was being copied");
    left -= static_cast<std::uint64_t>(n);
  }
  w.pad(static_cast<std::uint64_t>(st.st_size));
  stats.entries++;
  stats.bytes += static_cast<std::uint64_t>(st.st_size);
}

void write_tree(PaxWriter& w, int dirfd, const char* name, const std::string& entry, const std::string& shown,
                bool top, TarStats& stats) {
  struct stat st {};
  if (::fstatat(dirfd, name, &st, top ? 0 : AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat", shown);
  if (S_ISREG(st.st_mode)) return write_file(w, dirfd, name, entry, shown, top, stats);
  if (S_ISLNK(st.st_mode)) {
    std::string target(4096, '\0');
    const ssize_t n = ::readlinkat(dirfd, name, target.data(), target.size());
    if (n < 0) throw_errno("readlink", shown);
    target.resize(static_cast<std::size_t>(n));
    w.entry(entry, '2', 0777, 0, st.st_mtime, target);
    stats.entries++;
    return;
  }
  if (!S_ISDIR(st.st_mode))
    throw Error(shown + ": not a regular file, directory or symlink (device nodes, fifos and sockets are not copied)");
  UniqueFd dfd(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (top ? 0 : O_NOFOLLOW)));
  if (!dfd) throw_errno("open directory", shown);
  w.entry(entry + "/", '5', st.st_mode, 0, st.st_mtime);
  stats.entries++;
  std::vector<std::string> names;
  {
    DIR* d = ::fdopendir(::dup(dfd.get()));
    if (!d) throw_errno("read directory", shown);
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) write_tree(w, dfd.get(), n.c_str(), entry + "/" + n, shown + "/" + n, false, stats);
}

}  // namespace

TarStats write_tar(const std::filesystem::path& path, const std::string& root_name, const TarSink& sink) {
  PaxWriter w(sink);
  TarStats stats;
  write_tree(w, AT_FDCWD, path.c_str(), root_name, path.string(), true, stats);
  w.finish();
  return stats;
}

}  // namespace ef::agent
