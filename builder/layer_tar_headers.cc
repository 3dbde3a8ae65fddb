#include "builder/layer_tar_headers.h"

#include <algorithm>
#include <optional>

#include "base/error.h"
#include "builder/display.h"

namespace ef::rootfs {
using build::escape_for_display;
namespace {

constexpr std::size_t kNameOff = 0, kNameLen = 100;
constexpr std::size_t kSizeOff = 124, kSizeLen = 12;
constexpr std::size_t kSumOff = 148, kSumLen = 8;
constexpr std::size_t kTypeOff = 156;
constexpr std::size_t kMagicOff = 257;
constexpr std::size_t kPrefixOff = 345, kPrefixLen = 155;
constexpr std::uint64_t kMaxExtensionBytes = 16u << 20;

std::uint64_t padded(std::uint64_t n) { return (n + kTarBlock - 1) / kTarBlock * kTarBlock; }

/// Octal (leading spaces skipped, ends at the first non-octal byte) or
/// base-256 (high bit of the first byte set), as libarchive's tar_atol reads it.
std::optional<std::uint64_t> number_field(std::span<const std::uint8_t> f) {
  if (!f.empty() && (f[0] & 0x80)) {
    std::uint64_t v = f[0] & 0x3f;
    for (std::size_t i = 1; i < f.size(); ++i) {
      if (v > (UINT64_MAX >> 8)) return std::nullopt;
      v = (v << 8) | f[i];
    }
    return v;
  }
  std::size_t i = 0;
  while (i < f.size() && (f[i] == ' ' || f[i] == '\t')) ++i;
  std::uint64_t v = 0;
  bool any = false;
  for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i, any = true) {
    if (v > (UINT64_MAX >> 3)) return std::nullopt;
    v = v * 8 + static_cast<std::uint64_t>(f[i] - '0');
  }
  if (!any) return 0;
  return v;
}

bool all_zero(std::span<const std::uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c == 0; });
}

std::string field_string(std::span<const std::uint8_t> b, std::size_t off, std::size_t len) {
  std::string s(reinterpret_cast<const char*>(b.data() + off), len);
  s.resize(std::min(s.find('\0'), s.size()));
  return s;
}

/// Reads the stream forward only; remembers where it stands.
class Cursor {
 public:
  explicit Cursor(const TarStreamRead& read) : read_(read) {}
  std::uint64_t offset() const { return offset_; }

  /// Skips forward to `to` (never backward); false when the stream ends first.
  bool skip_to(std::uint64_t to) {
    std::vector<std::uint8_t> buf(64 * 1024);
    while (offset_ < to) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), to - offset_));
      std::size_t n = read_(std::span(buf.data(), want));
      if (n == 0) return false;
      offset_ += n;
    }
    return true;
  }

  /// Exactly `n` bytes, or fewer when the stream ends.
  std::string read(std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      std::size_t r = read_(std::span(reinterpret_cast<std::uint8_t*>(out.data()) + got, n - got));
      if (r == 0) break;
      got += r;
    }
    offset_ += got;
    out.resize(got);
    return out;
  }

 private:
  const TarStreamRead& read_;
  std::uint64_t offset_ = 0;
};

std::span<const std::uint8_t> bytes(const std::string& s) {
  return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

bool is_extension(std::uint8_t type) { return type == 'x' || type == 'g' || type == 'L' || type == 'K'; }

/// A GNU long name ('L', 'K') is NUL-terminated; a NUL followed by more name bytes hides them.
void check_gnu_long_name(const std::string& data, std::uint8_t type, std::string_view name, std::uint64_t offset) {
  std::size_t nul = data.find('\0');
  if (nul == std::string::npos) return;
  if (data.find_first_not_of('\0', nul) != std::string::npos)
    throw FormatError(name, offset,
                      std::string("GNU long ") + (type == 'L' ? "name" : "link name") + " \"" +
                          escape_for_display(data.substr(0, data.find_last_not_of('\0') + 1)) +
                          "\" holds a NUL byte at position " + std::to_string(nul) +
                          " (it would be cut short there): refused");
}

}  // namespace

std::string header_checksum_problem(std::span<const std::uint8_t> block) {
  if (block.size() < kTarBlock) return "short header block";
  std::uint64_t unsigned_sum = 0;
  std::int64_t signed_sum = 0;
  for (std::size_t i = 0; i < kTarBlock; ++i) {
    bool in_field = i >= kSumOff && i < kSumOff + kSumLen;
    std::uint8_t c = in_field ? ' ' : block[i];
    unsigned_sum += c;
    signed_sum += static_cast<std::int8_t>(c);
  }
  std::optional<std::uint64_t> stored = number_field(block.subspan(kSumOff, kSumLen));
  if (stored && (*stored == unsigned_sum || static_cast<std::int64_t>(*stored) == signed_sum)) return "";
  std::string field = escape_for_display(field_string(block, kSumOff, kSumLen));
  return "checksum field says \"" + field + "\"" +
         (stored ? " (" + std::to_string(*stored) + ")" : std::string(" (not a number)")) +
         ", the header's bytes sum to " + std::to_string(unsigned_sum);
}

std::string header_display_name(std::span<const std::uint8_t> block) {
  if (block.size() < kTarBlock) return "";
  std::string name = field_string(block, kNameOff, kNameLen);
  if (std::string(reinterpret_cast<const char*>(block.data() + kMagicOff), 6) == std::string("ustar\0", 6)) {
    std::string prefix = field_string(block, kPrefixOff, kPrefixLen);
    if (!prefix.empty()) name = prefix + "/" + name;
  }
  return escape_for_display(name);
}

void check_pax_records(std::string_view data, std::string_view name, std::uint64_t offset) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t space = data.find(' ', pos);
    if (space == std::string_view::npos) return;
    std::uint64_t len = 0;
    for (std::size_t i = pos; i < space; ++i) {
      if (data[i] < '0' || data[i] > '9' || len > data.size()) return;
      len = len * 10 + static_cast<std::uint64_t>(data[i] - '0');
    }
    if (len <= space - pos || len > data.size() - pos) return;  // malformed: libarchive's to report
    std::string_view record = data.substr(space + 1, pos + len - space - 1);
    if (record.empty() || record.back() != '\n') return;
    record.remove_suffix(1);
    std::size_t eq = record.find('=');
    if (eq == std::string_view::npos) return;
    std::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
    if ((key == "path" || key == "linkpath") && value.find('\0') != std::string_view::npos)
      throw FormatError(name, offset,
                        "pax header record '" + std::string(key) + "' \"" + escape_for_display(value) +
                            "\" holds a NUL byte at position " + std::to_string(value.find('\0')) +
                            " (it would be cut short there): refused");
    pos += len;
  }
}

void check_extension_headers(const TarStreamRead& read, const std::vector<std::uint64_t>& entry_offsets,
                             std::string_view name) {
  Cursor c(read);
  for (std::uint64_t start : entry_offsets) {
    if (start < c.offset()) continue;  // inside a sequence already checked
    if (!c.skip_to(start)) return;
    for (;;) {
      std::uint64_t at = c.offset();
      std::string block = c.read(kTarBlock);
      if (block.size() < kTarBlock) return;
      auto b = bytes(block);
      auto type = b[kTypeOff];
      if (!is_extension(type) || !header_checksum_problem(b).empty()) break;
      std::optional<std::uint64_t> size = number_field(b.subspan(kSizeOff, kSizeLen));
      if (!size || *size > kMaxExtensionBytes) break;  // libarchive's to refuse
      std::string data = c.read(static_cast<std::size_t>(*size));
      if (data.size() < *size) return;
      if (type == 'x' || type == 'g') check_pax_records(data, name, at);
      else check_gnu_long_name(data, type, name, at);
      if (!c.skip_to(at + kTarBlock + padded(*size))) return;
    }
  }
}

void diagnose_bad_header(const TarStreamRead& read, std::uint64_t last_good_offset, bool have_last_good,
                         std::string_view name) {
  Cursor c(read);
  if (!c.skip_to(last_good_offset)) return;
  bool past_last_good = !have_last_good;
  bool have_pax_size = false;
  std::uint64_t pax_size = 0;
  for (int headers = 0; headers < 64; ++headers) {
    std::uint64_t at = c.offset();
    std::string block = c.read(kTarBlock);
    if (block.size() < kTarBlock) return;
    auto b = bytes(block);
    if (all_zero(b)) return;
    if (std::string why = header_checksum_problem(b); !why.empty()) {
      std::string entry = header_display_name(b);
      throw FormatError(name, at,
                        "corrupt tar header" + (entry.empty() ? std::string() : " of entry \"" + entry + "\"") + ": " + why);
    }
    if (past_last_good && !is_extension(b[kTypeOff])) return;  // the next entry's header is sound
    std::optional<std::uint64_t> size = number_field(b.subspan(kSizeOff, kSizeLen));
    if (!size) return;
    std::uint64_t data = *size;
    auto type = b[kTypeOff];
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
      if (type == 'x' && *size <= kMaxExtensionBytes) {
        std::string records = c.read(static_cast<std::size_t>(*size));
        // A pax "size" record overrides the next header's size field.
        std::string_view r(records);
        if (std::size_t k = r.find(" size="); k != std::string_view::npos) {
          std::uint64_t v = 0;
          for (std::size_t i = k + 6; i < r.size() && r[i] >= '0' && r[i] <= '9'; ++i) v = v * 10 + static_cast<std::uint64_t>(r[i] - '0');
          pax_size = v;
          have_pax_size = true;
        }
      }
    } else {
      if (type == '2' || type == '3' || type == '4' || type == '5' || type == '6') data = 0;  // as libarchive reads them
      if (have_pax_size) data = pax_size;
      have_pax_size = false;
      past_last_good = true;
    }
    if (!c.skip_to(at + kTarBlock + padded(data))) return;
  }
}

}  // namespace ef::rootfs
