#include "builder/cpio_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

namespace ef::rootfs {

namespace {

constexpr std::size_t kHeaderSize = 110;
constexpr std::string_view kTrailer = "TRAILER!!!";

std::uint64_t pad4(std::uint64_t n) { return (4 - (n & 3)) & 3; }

int hex_value(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::size_t FdSource::read(std::span<std::uint8_t> buf) { return read_some(fd_, buf, name_); }

std::size_t MemorySource::read(std::span<std::uint8_t> buf) {
  std::size_t n = std::min(buf.size(), data_.size());
  if (n > 0) std::memcpy(buf.data(), data_.data(), n);
  data_ = data_.subspan(n);
  return n;
}

CpioReader::CpioReader(ByteSource& source, std::string name) : src_(source), name_(std::move(name)) {}

void CpioReader::read_exact(std::span<std::uint8_t> buf, const char* what) {
  std::size_t done = 0;
  while (done < buf.size()) {
    std::size_t n = src_.read(buf.subspan(done));
    if (n == 0)
      throw FormatError(name_, offset_, std::string("truncated archive: expected ") + std::to_string(buf.size() - done) +
                                            " more bytes of " + what);
    done += n;
    offset_ += n;
  }
}

void CpioReader::skip(std::uint64_t n, const char* what) {
  std::uint8_t buf[16384];
  while (n > 0) {
    std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(n, sizeof buf));
    read_exact(std::span(buf, step), what);
    n -= step;
  }
}

void CpioReader::skip_padding(const char* what) {
  std::uint8_t pad[3];
  std::size_t n = static_cast<std::size_t>(pad4(offset_));
  read_exact(std::span(pad, n), what);
}

void CpioReader::expect_only_padding() {
  std::uint8_t buf[4096];
  for (;;) {
    std::size_t n = src_.read(buf);
    if (n == 0) return;
    for (std::size_t i = 0; i < n; ++i)
      if (buf[i] != 0) throw FormatError(name_, offset_ + i, "non-zero data after TRAILER!!!");
    offset_ += n;
  }
}

CpioEntry CpioReader::parse_header(const std::uint8_t* h) {
  CpioEntry e;
  e.header_offset = offset_ - kHeaderSize;
  if (std::memcmp(h, "070701", 6) != 0)
    throw FormatError(name_, e.header_offset,
                      "expected newc magic 070701 (odc 070707 and crc 070702 archives are not supported)");
  std::uint32_t f[13];
  for (int k = 0; k < 13; ++k) {
    std::uint32_t v = 0;
    for (int i = 0; i < 8; ++i) {
      int d = hex_value(h[6 + 8 * k + i]);
      if (d < 0) throw FormatError(name_, e.header_offset + 6 + 8 * k + i, "non-hex digit in header field");
      v = (v << 4) | static_cast<std::uint32_t>(d);
    }
    f[k] = v;
  }
  e.ino = f[0];
  e.mode = f[1] & 07777;
  e.uid = f[2];
  e.gid = f[3];
  e.nlink = f[4];
  e.mtime = f[5];
  e.size = f[6];
  e.dev_major = f[7];
  e.dev_minor = f[8];
  e.rdev_major = f[9];
  e.rdev_minor = f[10];
  std::uint32_t namesize = f[11];
  if (namesize < 2 || namesize > kMaxPathBytes + 1)
    throw FormatError(name_, e.header_offset + 94, "name size " + std::to_string(namesize) + " outside 2..4096");
  std::string name(namesize, '\0');
  read_exact(std::span(reinterpret_cast<std::uint8_t*>(name.data()), name.size()), "the entry name");
  if (name.back() != '\0' || name.find('\0') != namesize - 1)
    throw FormatError(name_, e.header_offset + kHeaderSize, "entry name is not a single NUL-terminated string");
  name.pop_back();
  e.path = std::move(name);
  skip_padding("the name padding");
  switch (f[1] & S_IFMT) {
    case S_IFREG: e.type = FsType::kFile; break;
    case S_IFDIR: e.type = FsType::kDirectory; break;
    case S_IFLNK: e.type = FsType::kSymlink; break;
    case S_IFCHR: e.type = FsType::kCharDevice; break;
    case S_IFBLK: e.type = FsType::kBlockDevice; break;
    case S_IFIFO: e.type = FsType::kFifo; break;
    default:
      if (e.path == kTrailer) break;
      throw FormatError(name_, e.header_offset + 14, "entry \"" + e.path + "\": unsupported file type (mode " +
                                                         std::to_string(f[1]) + ")");
  }
  return e;
}

std::optional<CpioEntry> CpioReader::next() {
  if (done_) return std::nullopt;
  if (data_left_ > 0) skip(data_left_, "file data");
  data_left_ = 0;
  skip_padding("the data padding");
  std::uint8_t h[kHeaderSize];
  read_exact(h, "an entry header");
  CpioEntry e = parse_header(h);
  if (e.path == kTrailer) {
    skip(e.size, "trailer data");
    done_ = true;
    expect_only_padding();
    return std::nullopt;
  }
  if (e.type == FsType::kSymlink) {
    if (e.size == 0 || e.size > kMaxPathBytes)
      throw FormatError(name_, e.header_offset, "entry \"" + e.path + "\": symlink target size outside 1..4095");
    e.link_target.resize(static_cast<std::size_t>(e.size));
    read_exact(std::span(reinterpret_cast<std::uint8_t*>(e.link_target.data()), e.link_target.size()),
               "a symlink target");
    if (e.link_target.find('\0') != std::string::npos)
      throw FormatError(name_, e.header_offset, "entry \"" + e.path + "\": symlink target contains NUL");
  } else if (e.type == FsType::kFile) {
    data_left_ = e.size;
  } else if (e.size != 0) {
    throw FormatError(name_, e.header_offset,
                      "entry \"" + e.path + "\": a " + std::string(type_name(e.type)) + " with data");
  }
  return e;
}

std::size_t CpioReader::read_data(std::span<std::uint8_t> buf) {
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), data_left_));
  read_exact(buf.subspan(0, n), "file data");
  data_left_ -= n;
  return n;
}

void read_cpio(ByteSource& source, const std::string& name,
               const std::function<void(const CpioListedEntry&)>& on_entry) {
  CpioReader reader(source, name);
  std::vector<std::uint8_t> buf(256 * 1024);
  while (auto e = reader.next()) {
    CpioListedEntry listed{std::move(*e), {}};
    if (listed.entry.type == FsType::kFile && listed.entry.size > 0) {
      Hasher h(HashAlgo::kSha256);
      while (std::size_t n = reader.read_data(buf)) h.update(std::span(buf.data(), n));
      listed.sha256 = to_hex(h.finish());
    }
    on_entry(listed);
  }
}

void resolve_hard_links(std::vector<CpioListedEntry>& entries) {
  using Key = std::tuple<std::uint64_t, std::uint32_t, std::uint32_t>;
  std::map<Key, const CpioListedEntry*> carrier;
  auto key = [](const CpioEntry& e) { return Key{e.ino, e.dev_major, e.dev_minor}; };
  auto linked = [](const CpioEntry& e) { return e.type == FsType::kFile && e.nlink > 1; };
  for (const CpioListedEntry& l : entries)
    if (linked(l.entry) && l.entry.size > 0) carrier[key(l.entry)] = &l;
  for (CpioListedEntry& l : entries) {
    if (!linked(l.entry) || l.entry.size > 0) continue;
    auto it = carrier.find(key(l.entry));
    if (it == carrier.end()) continue;
    l.entry.size = it->second->entry.size;
    l.sha256 = it->second->sha256;
  }
}

std::vector<CpioListedEntry> list_cpio(const std::filesystem::path& path) {
  UniqueFd fd = open_read(path);
  FdSource src(fd.get(), path.string());
  std::vector<CpioListedEntry> out;
  read_cpio(src, path.string(), [&](const CpioListedEntry& e) { out.push_back(e); });
  return out;
}

}  // namespace ef::rootfs
