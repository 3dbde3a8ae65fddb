#include "builder/eif_format.h"

#include <algorithm>

#include "base/error.h"

namespace ef::eif {

std::string_view section_type_name(SectionType t) {
  switch (t) {
    case SectionType::kInvalid: return "invalid";
    case SectionType::kKernel: return "kernel";
    case SectionType::kCmdline: return "cmdline";
    case SectionType::kRamdisk: return "ramdisk";
    case SectionType::kSignature: return "signature";
    case SectionType::kMetadata: return "metadata";
  }
  return "unknown";
}

void put_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put_be32(std::uint8_t* p, std::uint32_t v) {
  put_be16(p, static_cast<std::uint16_t>(v >> 16));
  put_be16(p + 2, static_cast<std::uint16_t>(v));
}
void put_be64(std::uint8_t* p, std::uint64_t v) {
  put_be32(p, static_cast<std::uint32_t>(v >> 32));
  put_be32(p + 4, static_cast<std::uint32_t>(v));
}
std::uint16_t get_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get_be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(get_be16(p)) << 16 | get_be16(p + 2);
}
std::uint64_t get_be64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(get_be32(p)) << 32 | get_be32(p + 4);
}

// Field offsets within the header.
namespace {
constexpr std::size_t kOffVersion = 4, kOffFlags = 6, kOffMem = 8, kOffCpus = 16, kOffReserved = 24,
                      kOffNumSections = 26, kOffOffsets = 28, kOffSizes = kOffOffsets + 8 * kMaxSections,
                      kOffUnused = kOffSizes + 8 * kMaxSections;
static_assert(kOffUnused + 4 == kCrcOffset);
static_assert(kCrcOffset + 4 == kHeaderSize);
}  // namespace

std::array<std::uint8_t, kHeaderSize> encode_header(const Header& h) {
  std::array<std::uint8_t, kHeaderSize> b{};
  std::copy(kMagic.begin(), kMagic.end(), b.begin());
  put_be16(&b[kOffVersion], h.version);
  put_be16(&b[kOffFlags], h.flags);
  put_be64(&b[kOffMem], h.default_mem);
  put_be64(&b[kOffCpus], h.default_cpus);
  put_be16(&b[kOffReserved], h.reserved);
  put_be16(&b[kOffNumSections], h.num_sections);
  for (std::size_t i = 0; i < kMaxSections; ++i) {
    put_be64(&b[kOffOffsets + 8 * i], h.section_offsets[i]);
    put_be64(&b[kOffSizes + 8 * i], h.section_sizes[i]);
  }
  put_be32(&b[kOffUnused], h.unused);
  put_be32(&b[kCrcOffset], h.crc32);
  return b;
}

Header decode_header(std::span<const std::uint8_t, kHeaderSize> b, std::string_view input) {
  if (!std::equal(kMagic.begin(), kMagic.end(), b.begin()))
    throw FormatError(input, 0, "bad magic (expected \".eif\")");
  Header h;
  h.version = get_be16(&b[kOffVersion]);
  h.flags = get_be16(&b[kOffFlags]);
  h.default_mem = get_be64(&b[kOffMem]);
  h.default_cpus = get_be64(&b[kOffCpus]);
  h.reserved = get_be16(&b[kOffReserved]);
  h.num_sections = get_be16(&b[kOffNumSections]);
  for (std::size_t i = 0; i < kMaxSections; ++i) {
    h.section_offsets[i] = get_be64(&b[kOffOffsets + 8 * i]);
    h.section_sizes[i] = get_be64(&b[kOffSizes + 8 * i]);
  }
  h.unused = get_be32(&b[kOffUnused]);
  h.crc32 = get_be32(&b[kCrcOffset]);
  return h;
}

std::array<std::uint8_t, kSectionHeaderSize> encode_section_header(const SectionHeader& s) {
  std::array<std::uint8_t, kSectionHeaderSize> b{};
  put_be16(&b[0], static_cast<std::uint16_t>(s.type));
  put_be16(&b[2], s.flags);
  put_be64(&b[4], s.size);
  return b;
}

SectionHeader decode_section_header(std::span<const std::uint8_t, kSectionHeaderSize> b) {
  return SectionHeader{static_cast<SectionType>(get_be16(&b[0])), get_be16(&b[2]), get_be64(&b[4])};
}

}  // namespace ef::eif
