#include "builder/elf_info.h"

#include <cstring>

#include "base/error.h"
#include "base/file.h"

namespace ef::build {
namespace {

constexpr std::uint32_t kPtLoad = 1, kPtDynamic = 2, kPtInterp = 3;
constexpr std::uint64_t kDtNull = 0, kDtNeeded = 1, kDtStrtab = 5, kDtStrsz = 10;
constexpr std::size_t kProgramHeaderSize = 56, kDynEntrySize = 16;
constexpr std::uint64_t kMaxDynEntries = 1u << 16;

std::uint64_t le(std::span<const std::uint8_t> b, std::uint64_t at, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | b[at + i];
  return v;
}

struct Segment {
  std::uint32_t type;
  std::uint64_t offset, vaddr, filesz;
  std::uint64_t header_at;  // where its program header lies, for messages
};

/// True when [offset, offset+len) lies inside a file of `size` bytes.
bool inside(std::uint64_t offset, std::uint64_t len, std::uint64_t size) {
  return offset <= size && len <= size - offset;
}

std::vector<Segment> program_headers(std::span<const std::uint8_t> b, const std::string& name) {
  std::uint64_t phoff = le(b, 32, 8), phentsize = le(b, 54, 2), phnum = le(b, 56, 2);
  if (phentsize < kProgramHeaderSize || !inside(phoff, phnum * phentsize, b.size()))
    throw FormatError(name, 32, "program headers lie outside the file");
  std::vector<Segment> segments;
  for (std::uint64_t i = 0; i < phnum; ++i) {
    std::uint64_t at = phoff + i * phentsize;
    segments.push_back({static_cast<std::uint32_t>(le(b, at, 4)), le(b, at + 8, 8), le(b, at + 16, 8),
                        le(b, at + 32, 8), at});
  }
  return segments;
}

/// The file offset of virtual address `vaddr`, through the PT_LOAD segments.
std::optional<std::uint64_t> file_offset(const std::vector<Segment>& segments, std::uint64_t vaddr) {
  for (const Segment& s : segments)
    if (s.type == kPtLoad && vaddr >= s.vaddr && vaddr - s.vaddr < s.filesz) return s.offset + (vaddr - s.vaddr);
  return std::nullopt;
}

std::string interpreter(std::span<const std::uint8_t> b, const Segment& s, const std::string& name) {
  if (!inside(s.offset, s.filesz, b.size()) || s.filesz == 0 || s.filesz > 4096)
    throw FormatError(name, s.header_at, "PT_INTERP lies outside the file");
  auto text = b.subspan(s.offset, s.filesz);
  const char* begin = reinterpret_cast<const char*>(text.data());
  return std::string(begin, strnlen(begin, text.size()));
}

std::vector<std::string> needed(std::span<const std::uint8_t> b, const std::vector<Segment>& segments,
                                const Segment& dyn, const std::string& name) {
  if (!inside(dyn.offset, dyn.filesz, b.size())) throw FormatError(name, dyn.header_at, "PT_DYNAMIC lies outside the file");
  std::uint64_t count = std::min<std::uint64_t>(dyn.filesz / kDynEntrySize, kMaxDynEntries);
  std::optional<std::uint64_t> strtab, strsz;
  std::vector<std::uint64_t> name_offsets;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t at = dyn.offset + i * kDynEntrySize, tag = le(b, at, 8), value = le(b, at + 8, 8);
    if (tag == kDtNull) break;
    if (tag == kDtNeeded) name_offsets.push_back(value);
    if (tag == kDtStrtab) strtab = value;
    if (tag == kDtStrsz) strsz = value;
  }
  if (name_offsets.empty()) return {};
  std::optional<std::uint64_t> table = strtab ? file_offset(segments, *strtab) : std::nullopt;
  if (!table || !strsz || !inside(*table, *strsz, b.size()))
    throw FormatError(name, dyn.offset, "DT_STRTAB/DT_STRSZ do not lie inside a loaded segment");
  std::vector<std::string> names;
  for (std::uint64_t off : name_offsets) {
    if (off >= *strsz) throw FormatError(name, dyn.offset, "a DT_NEEDED name lies outside DT_STRTAB");
    const char* begin = reinterpret_cast<const char*>(b.data() + *table + off);
    std::size_t len = strnlen(begin, *strsz - off);
    if (len == *strsz - off) throw FormatError(name, *table + off, "a DT_NEEDED name is not NUL-terminated");
    names.emplace_back(begin, len);
  }
  return names;
}

}  // namespace

ElfLinkInfo parse_elf_link_info(std::span<const std::uint8_t> b, const std::string& name) {
  ElfLinkInfo info;
  if (b.size() < 4 || std::memcmp(b.data(), "\x7f" "ELF", 4) != 0) return info;
  info.is_elf = true;
  if (b.size() < 64) throw FormatError(name, b.size(), "truncated ELF header");
  if (b[4] != 2 || b[5] != 1) throw FormatError(name, 4, "only 64-bit little-endian ELF binaries are supported");
  std::vector<Segment> segments = program_headers(b, name);
  for (const Segment& s : segments) {
    if (s.type == kPtInterp) info.interpreter = interpreter(b, s, name);
    if (s.type == kPtDynamic) info.needed = needed(b, segments, s, name);
  }
  return info;
}

ElfLinkInfo read_elf_link_info(const std::filesystem::path& path) {
  Bytes bytes = read_file(path);
  return parse_elf_link_info(bytes, path.string());
}

std::optional<std::string> elf_interpreter(const std::filesystem::path& path) {
  return read_elf_link_info(path).interpreter;
}

}  // namespace ef::build
