#include "builder/kernel_info.h"

#include <array>

#include "base/error.h"
#include "base/file.h"

namespace ef::build {

std::string bzimage_version(const std::filesystem::path& kernel) {
  // Linux boot protocol: "HdrS" at 0x202; kernel_version (u16 LE at 0x20E) is
  // the offset of a NUL-terminated string, minus 0x200.
  UniqueFd fd = open_read(kernel);
  std::uint64_t size = file_size(fd.get(), kernel.string());
  if (size < 0x210) return "";
  std::array<std::uint8_t, 16> hdr{};
  pread_exact(fd.get(), hdr, 0x200, kernel.string());
  if (hdr[2] != 'H' || hdr[3] != 'd' || hdr[4] != 'r' || hdr[5] != 'S') return "";
  std::uint64_t off = static_cast<std::uint64_t>(hdr[14] | hdr[15] << 8) + 0x200;
  if (off >= size) return "";
  std::array<std::uint8_t, 256> buf{};
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off));
  pread_exact(fd.get(), std::span(buf.data(), n), off, kernel.string());
  std::string s;
  for (std::size_t i = 0; i < n && buf[i] != 0; ++i) s += static_cast<char>(buf[i]);
  return s;
}

std::string kernel_release(const std::filesystem::path& kernel) {
  std::string v = bzimage_version(kernel);
  std::string release = v.substr(0, v.find(' '));
  return release.empty() ? "unknown" : release;
}

}  // namespace ef::build
