#include "builder/layer_archive.h"

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

TarReader::TarReader() : a_(archive_read_new()) {
  if (a_ == nullptr) throw Error("libarchive: out of memory");
  archive_read_support_filter_all(a_);
  archive_read_support_format_tar(a_);
}

TarReader::~TarReader() { archive_read_free(a_); }

void TarReader::open_file(const std::filesystem::path& path) {
  if (archive_read_open_filename(a_, path.c_str(), 64 * 1024) != ARCHIVE_OK)
    throw Error("open " + path.string() + ": " + error());
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
