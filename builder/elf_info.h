#pragma once
// Just enough ELF reading to tell whether a binary can run in an image that
// has no shared libraries: a dynamically linked ELF names an interpreter
// (PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2).

#include <filesystem>
#include <optional>
#include <string>

namespace ef::build {

/// The PT_INTERP path of a 64-bit little-endian ELF, nullopt for a static ELF
/// or a non-ELF file (a script). Throws FormatError for a truncated or
/// inconsistent ELF header.
std::optional<std::string> elf_interpreter(const std::filesystem::path& path);

}  // namespace ef::build
