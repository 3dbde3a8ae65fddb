#pragma once
// Streams an EIF to a file in one pass. Sections are appended in order;
// their sizes are patched in when each ends, and the header (whose CRC covers
// the whole file) is written last — no section is ever held whole in memory.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "builder/eif_format.h"

namespace ef::eif {

struct ImageDefaults {
  std::uint16_t flags = 0;  // kFlagAarch64 for arm64 images
  std::uint64_t default_mem = 0;
  std::uint64_t default_cpus = 0;
};

/// Writes one EIF into an fd the caller owns (usually an AtomicFile's).
/// Usage: begin_section(kKernel); write(...)*; end_section(); ...; finish().
/// Enforces AWS's section order: kernel, cmdline, metadata, ramdisk+, [signature].
class EifWriter {
 public:
  EifWriter(int fd, std::string name, ImageDefaults defaults);

  void begin_section(SectionType type);
  void write(std::span<const std::uint8_t> data);
  void write(std::string_view data);
  void end_section();
  /// Appends a whole section from memory.
  void add_section(SectionType type, std::span<const std::uint8_t> data);
  /// Appends a whole section streamed from a file.
  void add_file_section(SectionType type, const std::filesystem::path& path);
  /// Writes the header. Returns the image's CRC-32.
  std::uint32_t finish();

  std::uint64_t bytes_written() const { return pos_; }

 private:
  void check_order(SectionType type) const;

  int fd_;
  std::string name_;
  Header header_;
  std::uint64_t pos_ = kHeaderSize;
  bool in_section_ = false;
  SectionType current_ = SectionType::kInvalid;
  std::uint64_t section_start_ = 0;  // offset of the current section header
  std::uint64_t section_size_ = 0;
  std::uint32_t data_crc_ = 0;       // CRC of the current section's data
  std::uint32_t body_crc_ = 0;       // CRC of everything after the header so far
};

}  // namespace ef::eif
