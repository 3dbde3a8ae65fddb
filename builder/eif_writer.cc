#include "builder/eif_writer.h"

#include <unistd.h>
#include <zlib.h>

#include <vector>

#include "base/error.h"
#include "base/file.h"

namespace ef::eif {
namespace {

std::uint32_t crc_update(std::uint32_t crc, std::span<const std::uint8_t> data) {
  // zlib's crc32 takes a uInt length: feed large spans in pieces.
  while (!data.empty()) {
    std::size_t n = std::min<std::size_t>(data.size(), 1u << 30);
    crc = static_cast<std::uint32_t>(::crc32(crc, data.data(), static_cast<uInt>(n)));
    data = data.subspan(n);
  }
  return crc;
}

void pwrite_all(int fd, std::span<const std::uint8_t> data, std::uint64_t offset, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write", what);
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

int rank(SectionType t) {
  switch (t) {
    case SectionType::kKernel: return 0;
    case SectionType::kCmdline: return 1;
    case SectionType::kMetadata: return 2;
    case SectionType::kRamdisk: return 3;
    case SectionType::kSignature: return 4;
    default: return -1;
  }
}

}  // namespace

EifWriter::EifWriter(int fd, std::string name, ImageDefaults defaults) : fd_(fd), name_(std::move(name)) {
  header_.flags = defaults.flags;
  header_.default_mem = defaults.default_mem;
  header_.default_cpus = defaults.default_cpus;
}

void EifWriter::check_order(SectionType type) const {
  std::size_t n = header_.num_sections;
  if (n >= kMaxSections) throw Error(name_ + ": more than 32 sections");
  int r = rank(type);
  if (r < 0) throw Error(name_ + ": unknown section type");
  int expected = std::min<int>(static_cast<int>(n), 3);  // kernel, cmdline, metadata, then ramdisks
  bool ok = n < 3 ? r == expected : (r == 3 && current_ != SectionType::kSignature) ||
                                        (r == 4 && current_ == SectionType::kRamdisk);
  if (!ok)
    throw Error(name_ + ": section " + std::string(section_type_name(type)) +
                " out of order (EIF order: kernel, cmdline, metadata, ramdisk..., signature)");
}

void EifWriter::begin_section(SectionType type) {
  if (in_section_) throw Error(name_ + ": section already open");
  check_order(type);
  in_section_ = true;
  current_ = type;
  section_start_ = pos_;
  section_size_ = 0;
  data_crc_ = static_cast<std::uint32_t>(::crc32(0, nullptr, 0));
  pos_ += kSectionHeaderSize;
}

void EifWriter::write(std::span<const std::uint8_t> data) {
  if (!in_section_) throw Error(name_ + ": write outside a section");
  pwrite_all(fd_, data, pos_, name_);
  pos_ += data.size();
  section_size_ += data.size();
  data_crc_ = crc_update(data_crc_, data);
}

void EifWriter::write(std::string_view data) {
  write(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

void EifWriter::end_section() {
  if (!in_section_) throw Error(name_ + ": no open section");
  auto sh = encode_section_header(SectionHeader{current_, 0, section_size_});
  pwrite_all(fd_, sh, section_start_, name_);
  std::uint32_t crc = crc_update(static_cast<std::uint32_t>(::crc32(0, nullptr, 0)), sh);
  crc = static_cast<std::uint32_t>(::crc32_combine(crc, data_crc_, static_cast<z_off_t>(section_size_)));
  body_crc_ = static_cast<std::uint32_t>(
      ::crc32_combine(body_crc_, crc, static_cast<z_off_t>(kSectionHeaderSize + section_size_)));
  std::size_t i = header_.num_sections++;
  header_.section_offsets[i] = section_start_;
  header_.section_sizes[i] = section_size_;
  in_section_ = false;
}

void EifWriter::add_section(SectionType type, std::span<const std::uint8_t> data) {
  begin_section(type);
  write(data);
  end_section();
}

void EifWriter::add_file_section(SectionType type, const std::filesystem::path& path) {
  UniqueFd in = open_read(path);
  begin_section(type);
  std::vector<std::uint8_t> buf(1 << 20);
  for (;;) {
    std::size_t n = read_some(in.get(), buf, path.string());
    if (n == 0) break;
    write(std::span(buf.data(), n));
  }
  end_section();
}

std::uint32_t EifWriter::finish() {
  if (in_section_) throw Error(name_ + ": section left open");
  if (header_.num_sections < 4) throw Error(name_ + ": an EIF needs kernel, cmdline, metadata and a ramdisk");
  auto bytes = encode_header(header_);
  std::uint32_t crc = crc_update(static_cast<std::uint32_t>(::crc32(0, nullptr, 0)),
                                 std::span(bytes.data(), kCrcOffset));
  crc = static_cast<std::uint32_t>(::crc32_combine(crc, body_crc_, static_cast<z_off_t>(pos_ - kHeaderSize)));
  header_.crc32 = crc;
  bytes = encode_header(header_);
  pwrite_all(fd_, bytes, 0, name_);
  return crc;
}

}  // namespace ef::eif
