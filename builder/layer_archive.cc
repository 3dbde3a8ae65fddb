#include "builder/layer_archive.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace ef::rootfs {

Utf8LocaleScope::Utf8LocaleScope() : utf8_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr)) {
  if (utf8_ != nullptr) previous_ = ::uselocale(utf8_);
}

Utf8LocaleScope::~Utf8LocaleScope() {
  if (utf8_ == nullptr) return;
  ::uselocale(previous_);
  ::freelocale(utf8_);
}

TarReader::TarReader(Mode mode) : a_(archive_read_new()) {
  if (a_ == nullptr) throw Error("libarchive: out of memory");
  archive_read_support_filter_all(a_);
  if (mode == Mode::kRaw) archive_read_support_format_raw(a_);
  else archive_read_support_format_tar(a_);
}

TarReader::~TarReader() { archive_read_free(a_); }

void TarReader::open_file(const std::filesystem::path& path) {
  if (archive_read_open_filename(a_, path.c_str(), 64 * 1024) != ARCHIVE_OK)
    throw Error("open " + path.string() + ": " + error());
}

la_ssize_t TarReader::read_hashed(archive* a, void* self, const void** buffer) {
  auto* r = static_cast<TarReader*>(self);
  ssize_t n;
  do n = ::read(r->fd_.get(), r->buf_.data(), r->buf_.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "read %s: %s", r->path_.c_str(), std::strerror(errno));
    return -1;
  }
  r->hasher_.update(std::span(r->buf_.data(), static_cast<std::size_t>(n)));
  *buffer = r->buf_.data();
  return n;
}

void TarReader::open_file_hashed(const std::filesystem::path& path) {
  path_ = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("open", path_);
  fd_.reset(fd);
  buf_.resize(64 * 1024);
  if (archive_read_open(a_, this, nullptr, &TarReader::read_hashed, nullptr) != ARCHIVE_OK)
    throw Error("open " + path_ + ": " + error());
}

std::string TarReader::file_sha256() {
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf_.data(), buf_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", path_);
    if (n == 0) break;
    hasher_.update(std::span(buf_.data(), static_cast<std::size_t>(n)));
  }
  return to_hex(hasher_.finish());
}

std::string TarReader::error() const {
  const char* m = archive_error_string(a_);
  return m != nullptr ? m : "unknown libarchive error";
}

std::uint64_t TarReader::position() const {
  la_int64_t n = archive_filter_bytes(a_, 0);
  return n < 0 ? 0 : static_cast<std::uint64_t>(n);
}

}  // namespace ef::rootfs
