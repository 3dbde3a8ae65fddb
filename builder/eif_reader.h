#pragma once
// Opens and validates an EIF without loading it into memory. Every structural
// fault is reported with its byte offset; the first one found wins.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "builder/eif_format.h"
#include "builder/eif_metadata.h"
#include "builder/pcr.h"

namespace ef::eif {

struct Section {
  SectionType type;
  std::uint64_t header_offset;  // where its 12-byte section header starts
  std::uint64_t data_offset;    // header_offset + 12
  std::uint64_t size;           // data bytes
};

class EifImage {
 public:
  /// Opens `path` and validates the header and every section header: magic,
  /// version, section count, offsets and sizes within the file, no overlap or
  /// gap, section order and flags. Throws FormatError(path, offset, what).
  static EifImage open(const std::filesystem::path& path);

  const Header& header() const { return header_; }
  const std::vector<Section>& sections() const { return sections_; }
  const std::string& name() const { return name_; }
  std::uint64_t file_size() const { return file_size_; }
  int fd() const { return fd_.get(); }

  /// The CRC-32 computed over the file (excluding the crc field), streamed.
  std::uint32_t compute_crc() const;
  /// Throws FormatError at the crc field's offset when it does not match.
  void check_crc() const;
  /// PCR0, PCR1, PCR2 computed by streaming the measured sections (two
  /// threads: PCR0 on one, PCR1/PCR2 on the other). PCR8 is not set here.
  /// With `crc_out`, the second thread also computes the file's CRC-32 in the
  /// same pass (so `rbuild describe` reads each byte once per core).
  Measurements measure(std::uint32_t* crc_out = nullptr) const;

  /// Reads a section into memory; refuses sections above `limit` bytes.
  Bytes read_section(const Section& s, std::uint64_t limit = 64u << 20) const;
  /// Copies a section's data to `out_fd`.
  void copy_section(const Section& s, int out_fd, const std::string& out_name) const;

  const Section* find_first(SectionType t) const;
  std::vector<const Section*> ramdisks() const;
  /// The parsed metadata section (validated).
  IdentityInfo metadata() const;

 private:
  std::string name_;
  UniqueFd fd_;
  std::uint64_t file_size_ = 0;
  Header header_;
  std::vector<Section> sections_;
};

}  // namespace ef::eif
