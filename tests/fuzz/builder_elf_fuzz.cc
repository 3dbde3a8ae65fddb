// The ELF reader rbuild runs on runtime binaries and the libraries an image holds.
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/error.h"
#include "builder/elf_info.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    ef::build::parse_elf_link_info(std::span(data, size), "fuzz");
  } catch (const ef::Error&) {
  }
  return 0;
}
