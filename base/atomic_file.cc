#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/error.h"
#include "base/file.h"

namespace ef {

AtomicFile::AtomicFile(std::filesystem::path target, mode_t mode) : target_(std::move(target)) {
  std::filesystem::path dir = target_.parent_path();
  if (dir.empty()) dir = ".";
  std::string templ = (dir / ("." + target_.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd < 0) throw_errno("create temporary file for", target_.string());
  fd_.reset(fd);
  temp_ = templ;
  if (::fchmod(fd, mode) != 0) throw_errno("chmod", temp_.string());
}

AtomicFile::~AtomicFile() {
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(std::span<const std::uint8_t> data) { write_all(fd_.get(), data, temp_.string()); }

void AtomicFile::write(std::string_view data) { write_all(fd_.get(), data, temp_.string()); }

void AtomicFile::commit() {
  if (::fsync(fd_.get()) != 0) throw_errno("fsync", temp_.string());
  fd_.reset();
  if (::rename(temp_.c_str(), target_.c_str()) != 0) throw_errno("rename " + temp_.string() + " to", target_.string());
  committed_ = true;
  std::filesystem::path dir = target_.parent_path();
  fsync_dir(dir.empty() ? "." : dir);
}

void write_file_atomic(const std::filesystem::path& target, std::string_view data, mode_t mode) {
  AtomicFile f(target, mode);
  f.write(data);
  f.commit();
}

void fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("open directory", dir.string());
  UniqueFd guard(fd);
  if (::fsync(fd) != 0) throw_errno("fsync directory", dir.string());
}

}  // namespace ef
