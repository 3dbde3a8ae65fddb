#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.h"

namespace ef {

UniqueFd open_read(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("open", path.string());
  return UniqueFd(fd);
}

Bytes read_file(const std::filesystem::path& path) {
  UniqueFd fd = open_read(path);
  Bytes out;
  std::uint8_t buf[65536];
  for (;;) {
    std::size_t n = read_some(fd.get(), buf, path.string());
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

std::string read_text_file(const std::filesystem::path& path) {
  Bytes b = read_file(path);
  return std::string(b.begin(), b.end());
}

std::size_t read_some(int fd, std::span<std::uint8_t> buf, const std::string& what) {
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_errno("read", what);
  }
}

void pread_exact(int fd, std::span<std::uint8_t> buf, std::uint64_t offset, const std::string& what) {
  std::size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", what);
    }
    if (n == 0) throw FormatError(what, offset + done, "unexpected end of file");
    done += static_cast<std::size_t>(n);
  }
}

void write_all(int fd, std::span<const std::uint8_t> data, const std::string& what) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write", what);
    }
    done += static_cast<std::size_t>(n);
  }
}

void write_all(int fd, std::string_view data, const std::string& what) {
  write_all(fd, std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()), what);
}

std::uint64_t file_size(int fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("stat", what);
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace ef
