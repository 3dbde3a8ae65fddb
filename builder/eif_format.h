#pragma once
// EIF v4 on-disk format, as aws-nitro-enclaves-image-format writes it:
// big-endian, no padding; a 548-byte header, then sections each led by a
// 12-byte section header (type u16, flags u16, size u64).

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace ef::eif {

inline constexpr std::array<std::uint8_t, 4> kMagic{'.', 'e', 'i', 'f'};
inline constexpr std::uint16_t kVersion = 4;
inline constexpr std::size_t kMaxSections = 32;
inline constexpr std::size_t kHeaderSize = 548;
inline constexpr std::size_t kCrcOffset = 544;  // the crc32 field, last 4 bytes of the header
inline constexpr std::size_t kSectionHeaderSize = 12;
inline constexpr std::uint16_t kFlagAarch64 = 0x1;

enum class SectionType : std::uint16_t {
  kInvalid = 0,
  kKernel = 1,
  kCmdline = 2,
  kRamdisk = 3,
  kSignature = 4,
  kMetadata = 5,
};

std::string_view section_type_name(SectionType t);

struct Header {
  std::uint16_t version = kVersion;
  std::uint16_t flags = 0;
  std::uint64_t default_mem = 0;
  std::uint64_t default_cpus = 0;
  std::uint16_t reserved = 0;
  std::uint16_t num_sections = 0;
  std::array<std::uint64_t, kMaxSections> section_offsets{};
  std::array<std::uint64_t, kMaxSections> section_sizes{};
  std::uint32_t unused = 0;
  std::uint32_t crc32 = 0;
};

struct SectionHeader {
  SectionType type = SectionType::kInvalid;
  std::uint16_t flags = 0;
  std::uint64_t size = 0;
};

/// Serialises a header (magic included) into exactly kHeaderSize bytes.
std::array<std::uint8_t, kHeaderSize> encode_header(const Header& h);
/// Decodes kHeaderSize bytes; checks only the magic (structure is the reader's job).
/// Throws FormatError naming `input` on a bad magic.
Header decode_header(std::span<const std::uint8_t, kHeaderSize> bytes, std::string_view input);

std::array<std::uint8_t, kSectionHeaderSize> encode_section_header(const SectionHeader& s);
SectionHeader decode_section_header(std::span<const std::uint8_t, kSectionHeaderSize> bytes);

/// Big-endian helpers.
void put_be16(std::uint8_t* p, std::uint16_t v);
void put_be32(std::uint8_t* p, std::uint32_t v);
void put_be64(std::uint8_t* p, std::uint64_t v);
std::uint16_t get_be16(const std::uint8_t* p);
std::uint32_t get_be32(const std::uint8_t* p);
std::uint64_t get_be64(const std::uint8_t* p);

}  // namespace ef::eif
