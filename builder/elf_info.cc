#include "builder/elf_info.h"

#include <array>
#include <cstring>

#include "base/error.h"
#include "base/file.h"

namespace ef::build {
namespace {

std::uint64_t le(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

std::optional<std::string> elf_interpreter(const std::filesystem::path& path) {
  UniqueFd fd = open_read(path);
  const std::string name = path.string();
  std::uint64_t size = file_size(fd.get(), name);
  std::array<std::uint8_t, 64> eh{};
  if (size < eh.size()) return std::nullopt;
  pread_exact(fd.get(), eh, 0, name);
  if (std::memcmp(eh.data(), "\x7f" "ELF", 4) != 0) return std::nullopt;
  if (eh[4] != 2 || eh[5] != 1) throw FormatError(name, 4, "only 64-bit little-endian ELF binaries are supported");
  std::uint64_t phoff = le(&eh[32], 8), phentsize = le(&eh[54], 2), phnum = le(&eh[56], 2);
  if (phentsize < 56 || phoff > size || phnum * phentsize > size - phoff)
    throw FormatError(name, 32, "program headers lie outside the file");
  for (std::uint64_t i = 0; i < phnum; ++i) {
    std::array<std::uint8_t, 56> ph{};
    pread_exact(fd.get(), ph, phoff + i * phentsize, name);
    if (le(&ph[0], 4) != 3) continue;  // PT_INTERP
    std::uint64_t off = le(&ph[8], 8), len = le(&ph[32], 8);
    if (off > size || len > size - off || len == 0 || len > 4096)
      throw FormatError(name, phoff + i * phentsize, "PT_INTERP lies outside the file");
    std::string interp(static_cast<std::size_t>(len), '\0');
    pread_exact(fd.get(), std::span(reinterpret_cast<std::uint8_t*>(interp.data()), interp.size()), off, name);
    return std::string(interp.c_str());
  }
  return std::nullopt;
}

}  // namespace ef::build
