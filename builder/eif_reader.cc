#include "builder/eif_reader.h"

#include <sys/mman.h>
#include <zlib.h>

#include <future>
#include <limits>

#include "base/error.h"

namespace ef::eif {
namespace {

constexpr std::size_t kChunk = 4u << 20;

std::size_t offset_of_section_offset(std::size_t i) { return 28 + 8 * i; }
std::size_t offset_of_section_size(std::size_t i) { return 28 + 8 * kMaxSections + 8 * i; }

/// Streams [offset, offset+size) of fd through fn in chunks.
template <typename Fn>
void stream_range(int fd, std::uint64_t offset, std::uint64_t size, const std::string& name, Fn&& fn) {
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(std::min<std::uint64_t>(size, kChunk)));
  while (size > 0) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size, buf.size()));
    pread_exact(fd, std::span(buf.data(), n), offset, name);
    fn(std::span<const std::uint8_t>(buf.data(), n));
    offset += n;
    size -= n;
  }
}

/// The file mapped read-only for hashing without copying it (a pread copies
/// every byte once more, per reader); `data` is null when mmap is not possible
/// and the caller streams with pread instead. The EIF must not shrink while
/// mapped (rbuild replaces outputs by rename, which keeps the old inode whole).
class Mapping {
 public:
  Mapping(int fd, std::uint64_t size) : size_(static_cast<std::size_t>(size)) {
    if (size == 0 || size > std::numeric_limits<std::size_t>::max()) return;
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return;
    data_ = static_cast<const std::uint8_t*>(p);
    ::madvise(p, size_, MADV_SEQUENTIAL);  // larger readahead when not cached
  }
  ~Mapping() {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const std::uint8_t* data() const { return data_; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_;
};

/// Feeds [offset, offset+size) to fn: slices of the mapping, or pread chunks.
template <typename Fn>
void feed_range(const Mapping& map, int fd, std::uint64_t offset, std::uint64_t size, const std::string& name, Fn&& fn) {
  if (!map.data()) return stream_range(fd, offset, size, name, fn);
  constexpr std::uint64_t kSlice = 1u << 20;
  for (std::uint64_t done = 0; done < size; done += kSlice)
    fn(std::span<const std::uint8_t>(map.data() + offset + done, static_cast<std::size_t>(std::min(kSlice, size - done))));
}

/// zlib's crc32 over a span of any length (its length argument is 32-bit).
std::uint32_t crc_update(std::uint32_t crc, std::span<const std::uint8_t> d) {
  while (!d.empty()) {
    const std::size_t n = std::min<std::size_t>(d.size(), 1u << 30);
    crc = static_cast<std::uint32_t>(::crc32(crc, d.data(), static_cast<uInt>(n)));
    d = d.subspan(n);
  }
  return crc;
}

/// One core's pass: the measured sections, slice by slice in file order, go to
/// hash(section, bytes); the file's bytes in [crc_from, crc_to) except the crc
/// field go to a CRC-32 as the walk passes them, each slice right after it was
/// hashed, while it is still in cache. Returns that CRC (of those bytes only).
template <typename Hash>
std::uint32_t hash_and_crc(const Mapping& map, int fd, const std::vector<const Section*>& measured,
                           std::uint64_t crc_from, std::uint64_t crc_to, const std::string& name, Hash&& hash) {
  std::uint32_t crc = static_cast<std::uint32_t>(::crc32(0, nullptr, 0));
  std::uint64_t cursor = crc_from;  // the CRC has covered the file up to here
  auto crc_upto = [&](std::uint64_t end) {
    end = std::min(end, crc_to);
    while (cursor < end) {
      if (cursor >= kCrcOffset && cursor < kHeaderSize) {  // the crc field itself
        cursor = std::min<std::uint64_t>(kHeaderSize, end);
        continue;
      }
      const std::uint64_t stop = cursor < kCrcOffset ? std::min<std::uint64_t>(end, kCrcOffset) : end;
      feed_range(map, fd, cursor, stop - cursor, name, [&crc](auto d) { crc = crc_update(crc, d); });
      cursor = stop;
    }
  };
  // 256 KiB: a slice hashed and then CRC'd stays in this core's L2.
  constexpr std::uint64_t kSlice = 256u << 10;
  for (const Section* s : measured) {
    for (std::uint64_t done = 0; done < s->size; done += kSlice) {
      const std::uint64_t at = s->data_offset + done, n = std::min(kSlice, s->size - done);
      crc_upto(at);  // section headers and unmeasured sections before it
      feed_range(map, fd, at, n, name, [&](auto d) { hash(*s, d); });
      crc_upto(at + n);
    }
  }
  crc_upto(crc_to);
  return crc;
}

void check_header_fields(const Header& h, const std::string& name) {
  if (h.version != kVersion)
    throw FormatError(name, 4, "unsupported EIF version " + std::to_string(h.version) + " (expected 4)");
  if (h.flags & ~kFlagAarch64) throw FormatError(name, 6, "unknown header flags " + std::to_string(h.flags));
  if (h.num_sections < 4 || h.num_sections > kMaxSections)
    throw FormatError(name, 26, "section count " + std::to_string(h.num_sections) +
                                    " out of range (an EIF has 4 to 32 sections)");
  for (std::size_t i = h.num_sections; i < kMaxSections; ++i) {
    if (h.section_offsets[i] != 0) throw FormatError(name, offset_of_section_offset(i), "unused section slot is not zero");
    if (h.section_sizes[i] != 0) throw FormatError(name, offset_of_section_size(i), "unused section slot is not zero");
  }
}

/// Expected type at index i given the previous one: kernel, cmdline, metadata, ramdisk+, [signature].
bool order_ok(std::size_t i, SectionType t, SectionType prev) {
  switch (i) {
    case 0: return t == SectionType::kKernel;
    case 1: return t == SectionType::kCmdline;
    case 2: return t == SectionType::kMetadata;
    case 3: return t == SectionType::kRamdisk;
    default:
      return (t == SectionType::kRamdisk && prev == SectionType::kRamdisk) ||
             (t == SectionType::kSignature && prev == SectionType::kRamdisk);
  }
}

}  // namespace

EifImage EifImage::open(const std::filesystem::path& path) {
  EifImage img;
  img.name_ = path.string();
  img.fd_ = open_read(path);
  img.file_size_ = ef::file_size(img.fd_.get(), img.name_);
  const std::string& name = img.name_;
  if (img.file_size_ < kHeaderSize)
    throw FormatError(name, img.file_size_, "file too short for an EIF header (" + std::to_string(kHeaderSize) + " bytes)");
  std::array<std::uint8_t, kHeaderSize> raw{};
  pread_exact(img.fd_.get(), raw, 0, name);
  img.header_ = decode_header(raw, name);
  const Header& h = img.header_;
  check_header_fields(h, name);

  std::uint64_t expected_offset = kHeaderSize;
  SectionType prev = SectionType::kInvalid;
  for (std::size_t i = 0; i < h.num_sections; ++i) {
    std::uint64_t off = h.section_offsets[i], size = h.section_sizes[i];
    if (off != expected_offset)
      throw FormatError(name, offset_of_section_offset(i),
                        "section " + std::to_string(i) + " offset " + std::to_string(off) +
                            (off < expected_offset ? " overlaps the previous section" : " leaves a gap") +
                            " (expected " + std::to_string(expected_offset) + ")");
    if (off > img.file_size_ || img.file_size_ - off < kSectionHeaderSize ||
        img.file_size_ - off - kSectionHeaderSize < size)
      throw FormatError(name, offset_of_section_size(i),
                        "section " + std::to_string(i) + " (offset " + std::to_string(off) + ", size " +
                            std::to_string(size) + ") extends beyond the end of the file (" +
                            std::to_string(img.file_size_) + " bytes)");
    std::array<std::uint8_t, kSectionHeaderSize> sh_raw{};
    pread_exact(img.fd_.get(), sh_raw, off, name);
    SectionHeader sh = decode_section_header(sh_raw);
    if (!order_ok(i, sh.type, prev))
      throw FormatError(name, off, "section " + std::to_string(i) + " has type " +
                                       std::to_string(static_cast<unsigned>(sh.type)) + " (" +
                                       std::string(section_type_name(sh.type)) +
                                       "); expected order kernel, cmdline, metadata, ramdisk..., signature");
    if (sh.flags != 0) throw FormatError(name, off + 2, "section flags must be 0, got " + std::to_string(sh.flags));
    if (sh.size != size)
      throw FormatError(name, off + 4, "section size " + std::to_string(sh.size) +
                                           " differs from the header's " + std::to_string(size));
    img.sections_.push_back(Section{sh.type, off, off + kSectionHeaderSize, size});
    expected_offset = off + kSectionHeaderSize + size;
    prev = sh.type;
  }
  if (expected_offset != img.file_size_)
    throw FormatError(name, expected_offset, std::to_string(img.file_size_ - expected_offset) +
                                                 " unexpected bytes after the last section");
  return img;
}

std::uint32_t EifImage::compute_crc() const {
  std::uint32_t crc = static_cast<std::uint32_t>(::crc32(0, nullptr, 0));
  auto feed = [&crc](std::span<const std::uint8_t> d) {
    crc = static_cast<std::uint32_t>(::crc32(crc, d.data(), static_cast<uInt>(d.size())));
  };
  stream_range(fd_.get(), 0, kCrcOffset, name_, feed);
  stream_range(fd_.get(), kHeaderSize, file_size_ - kHeaderSize, name_, feed);
  return crc;
}

void EifImage::check_crc() const {
  std::uint32_t got = compute_crc();
  if (got != header_.crc32) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "CRC-32 mismatch: header says %08x, contents give %08x", header_.crc32, got);
    throw FormatError(name_, kCrcOffset, buf);
  }
}

Measurements EifImage::measure(std::uint32_t* crc_out) const {
  // Two SHA-384 passes are inherent (PCR0 and PCR2 both cover the later
  // ramdisks), one per core; everything else rides on them: the file is
  // mapped, not copied by pread into each thread's buffer, and the CRC-32 is
  // split in two halves of the file, one per thread, each computed slice by
  // slice right after the slice was hashed (still in cache), joined by
  // crc32_combine. The reader guarantees the sections lie in file order.
  std::vector<const Section*> measured;
  for (const Section& s : sections_)
    if (s.type == SectionType::kKernel || s.type == SectionType::kCmdline || s.type == SectionType::kRamdisk)
      measured.push_back(&s);
  const Mapping map(fd_.get(), file_size_);
  const std::uint64_t mid = crc_out ? std::max<std::uint64_t>(kHeaderSize, file_size_ / 2) : 0;
  const std::uint64_t crc_a_end = crc_out ? mid : 0, crc_b_end = crc_out ? file_size_ : 0;
  auto pcr0_job = std::async(std::launch::async, [&] {
    PcrHasher pcr0;
    const std::uint32_t crc = hash_and_crc(map, fd_.get(), measured, 0, crc_a_end, name_,
                                           [&](const Section&, auto d) { pcr0.update(d); });
    return std::make_pair(pcr0.finish(), crc);
  });
  PcrHasher pcr1, pcr2;
  const Section* first_ramdisk = nullptr;
  for (const Section* s : measured)
    if (s->type == SectionType::kRamdisk) {
      first_ramdisk = s;
      break;
    }
  const std::uint32_t crc_b = hash_and_crc(map, fd_.get(), measured, mid, crc_b_end, name_, [&](const Section& s, auto d) {
    (first_ramdisk && s.data_offset > first_ramdisk->data_offset ? pcr2 : pcr1).update(d);
  });
  Measurements m;
  m.pcr1 = pcr1.finish();
  m.pcr2 = pcr2.finish();
  auto [pcr0, crc_a] = pcr0_job.get();
  m.pcr0 = std::move(pcr0);
  if (crc_out) *crc_out = static_cast<std::uint32_t>(::crc32_combine(crc_a, crc_b, static_cast<z_off_t>(file_size_ - mid)));
  return m;
}

Bytes EifImage::read_section(const Section& s, std::uint64_t limit) const {
  if (s.size > limit)
    throw FormatError(name_, s.header_offset + 4, std::string(section_type_name(s.type)) + " section of " +
                                                      std::to_string(s.size) + " bytes exceeds the limit of " +
                                                      std::to_string(limit));
  Bytes out(static_cast<std::size_t>(s.size));
  pread_exact(fd_.get(), out, s.data_offset, name_);
  return out;
}

void EifImage::copy_section(const Section& s, int out_fd, const std::string& out_name) const {
  stream_range(fd_.get(), s.data_offset, s.size, name_, [&](auto d) { write_all(out_fd, d, out_name); });
}

const Section* EifImage::find_first(SectionType t) const {
  for (const Section& s : sections_)
    if (s.type == t) return &s;
  return nullptr;
}

std::vector<const Section*> EifImage::ramdisks() const {
  std::vector<const Section*> out;
  for (const Section& s : sections_)
    if (s.type == SectionType::kRamdisk) out.push_back(&s);
  return out;
}

IdentityInfo EifImage::metadata() const {
  const Section* s = find_first(SectionType::kMetadata);
  return decode_metadata(read_section(*s, 1u << 20), name_, s->data_offset);
}

}  // namespace ef::eif
