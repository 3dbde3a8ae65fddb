#pragma once
// A ramdisk section of an EIF as a byte stream for the cpio reader.

#include "builder/cpio_reader.h"
#include "builder/eif_reader.h"

namespace ef::eif {

/// Streams [data_offset, data_offset + size) of an open image with pread.
class SectionSource : public rootfs::ByteSource {
 public:
  SectionSource(const EifImage& image, const Section& section)
      : fd_(image.fd()), name_(image.name()), pos_(section.data_offset), end_(section.data_offset + section.size) {}
  std::size_t read(std::span<std::uint8_t> buf) override;

 private:
  int fd_;
  std::string name_;
  std::uint64_t pos_, end_;
};

}  // namespace ef::eif
