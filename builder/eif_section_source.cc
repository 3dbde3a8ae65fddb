#include "builder/eif_section_source.h"

#include <unistd.h>

#include <cerrno>

#include "base/error.h"

namespace ef::eif {

std::size_t SectionSource::read(std::span<std::uint8_t> buf) {
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), end_ - pos_));
  if (want == 0) return 0;
  for (;;) {
    ssize_t n = ::pread(fd_, buf.data(), want, static_cast<off_t>(pos_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", name_);
    if (n == 0) throw FormatError(name_, pos_, "unexpected end of file inside a ramdisk");
    pos_ += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
  }
}

}  // namespace ef::eif
