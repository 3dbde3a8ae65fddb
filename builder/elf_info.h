#pragma once
// Just enough ELF reading to tell what a binary needs at run time: a
// dynamically linked ELF names an interpreter (PT_INTERP, e.g.
// /lib64/ld-linux-x86-64.so.2) and the sonames of its libraries (DT_NEEDED).
// rbuild uses it to refuse an image in which a runtime could not start.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ef::build {

/// What the dynamic loader needs to start an ELF.
struct ElfLinkInfo {
  bool is_elf = false;
  std::optional<std::string> interpreter;  ///< PT_INTERP, absent for static ELFs
  std::vector<std::string> needed;         ///< DT_NEEDED sonames, in file order
};

/// Reads `bytes` (a whole file; `name` is used in messages). A non-ELF file (a
/// script) gives is_elf = false. Only 64-bit little-endian ELF is accepted;
/// anything pointing outside the file throws FormatError with the byte offset
/// of the faulty header.
ElfLinkInfo parse_elf_link_info(std::span<const std::uint8_t> bytes, const std::string& name);

/// parse_elf_link_info on a host file.
ElfLinkInfo read_elf_link_info(const std::filesystem::path& path);

/// The PT_INTERP path of a 64-bit little-endian ELF, nullopt for a static ELF
/// or a non-ELF file (a script). Throws FormatError for a truncated or
/// inconsistent ELF.
std::optional<std::string> elf_interpreter(const std::filesystem::path& path);

}  // namespace ef::build
