// CBOR decoding of untrusted input: every fault is a FormatError with the byte offset.
#include <cmath>
#include <cstring>
#include <set>

#include "attest/cbor.h"
#include "base/error.h"

namespace ef::cbor {
namespace {

constexpr std::uint8_t kBreak = 0xff;
constexpr std::uint8_t kIndefinite = 31;

double half_to_double(std::uint16_t h) {
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  double v;
  if (exp == 0) {
    v = std::ldexp(mant, -24);
  } else if (exp == 31) {
    v = mant == 0 ? HUGE_VAL : NAN;
  } else {
    v = std::ldexp(mant + 1024, exp - 25);
  }
  return (h & 0x8000) ? -v : v;
}

class Decoder {
 public:
  Decoder(std::span<const std::uint8_t> data, const DecodeLimits& limits, std::string_view name)
      : data_(data), limits_(limits), name_(name) {}

  Value item(std::size_t depth);
  std::size_t pos() const { return pos_; }

  [[noreturn]] void fail(std::size_t at, const std::string& what) const { throw FormatError(name_, at, what); }

 private:
  std::size_t remaining() const { return data_.size() - pos_; }
  void need(std::size_t n) const {
    if (remaining() < n)
      fail(pos_, "unexpected end of input (need " + std::to_string(n) + " more bytes, have " +
                     std::to_string(remaining()) + ")");
  }
  std::uint8_t byte() {
    need(1);
    return data_[pos_++];
  }
  std::uint64_t read_be(int size) {
    need(static_cast<std::size_t>(size));
    std::uint64_t v = 0;
    for (int i = 0; i < size; ++i) v = v << 8 | data_[pos_++];
    return v;
  }
  std::uint64_t argument(std::uint8_t ai, std::size_t start) {
    if (ai < 24) return ai;
    switch (ai) {
      case 24: return read_be(1);
      case 25: return read_be(2);
      case 26: return read_be(4);
      case 27: return read_be(8);
    }
    fail(start, "reserved additional information " + std::to_string(ai));
  }
  void count_item(std::size_t at) {
    if (++items_ > limits_.max_items) fail(at, "more than " + std::to_string(limits_.max_items) + " data items");
  }
  void check_string_size(std::uint64_t total, std::size_t at) const {
    if (total > limits_.max_string)
      fail(at, "string of " + std::to_string(total) + " bytes exceeds the limit of " +
                   std::to_string(limits_.max_string));
  }

  Value string(std::uint8_t major, std::uint8_t ai, std::size_t start);
  Value array(std::uint8_t ai, std::size_t start, std::size_t depth);
  Value map(std::uint8_t ai, std::size_t start, std::size_t depth);
  Value simple_or_float(std::uint8_t ai, std::size_t start);
  bool at_break() {
    if (remaining() > 0 && data_[pos_] == kBreak) {
      ++pos_;
      return true;
    }
    need(1);
    return false;
  }

  std::span<const std::uint8_t> data_;
  const DecodeLimits& limits_;
  std::string_view name_;
  std::size_t pos_ = 0;
  std::size_t items_ = 0;
};

Value Decoder::item(std::size_t depth) {
  const std::size_t start = pos_;
  if (depth > limits_.max_depth) fail(start, "nesting deeper than " + std::to_string(limits_.max_depth));
  count_item(start);
  const std::uint8_t ib = byte();
  if (ib == kBreak) fail(start, "break (0xff) outside an indefinite-length item");
  const auto major = static_cast<std::uint8_t>(ib >> 5);
  const auto ai = static_cast<std::uint8_t>(ib & 0x1f);
  switch (major) {
    case 0:
    case 1: {
      if (ai == kIndefinite) fail(start, "indefinite length on an integer");
      const std::uint64_t n = argument(ai, start);
      return major == 0 ? Value::unsigned_int(n) : Value::negative(n);
    }
    case 2:
    case 3: return string(major, ai, start);
    case 4: return array(ai, start, depth);
    case 5: return map(ai, start, depth);
    case 6: {
      if (ai == kIndefinite) fail(start, "indefinite length on a tag");
      const std::uint64_t number = argument(ai, start);
      return Value::tag(number, item(depth + 1));
    }
    default: return simple_or_float(ai, start);
  }
}

Value Decoder::string(std::uint8_t major, std::uint8_t ai, std::size_t start) {
  Bytes out;
  auto take = [&](std::uint64_t n, std::size_t at) {
    check_string_size(out.size() + n, at);
    need(static_cast<std::size_t>(n));
    out.insert(out.end(), data_.begin() + static_cast<std::ptrdiff_t>(pos_),
               data_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
  };
  if (ai != kIndefinite) {
    take(argument(ai, start), start);
  } else {
    while (!at_break()) {
      const std::size_t chunk = pos_;
      count_item(chunk);
      const std::uint8_t cb = byte();
      if ((cb >> 5) != major || (cb & 0x1f) == kIndefinite)
        fail(chunk, std::string("expected a definite-length ") + (major == 2 ? "byte" : "text") +
                        " string chunk inside an indefinite-length string");
      take(argument(cb & 0x1f, chunk), chunk);
    }
  }
  if (major == 2) return Value::bytes(std::move(out));
  return Value::text(std::string_view(reinterpret_cast<const char*>(out.data()), out.size()));
}

Value Decoder::array(std::uint8_t ai, std::size_t start, std::size_t depth) {
  Value::Array items;
  if (ai == kIndefinite) {
    while (!at_break()) items.push_back(item(depth + 1));
  } else {
    const std::uint64_t n = argument(ai, start);
    if (n > remaining()) fail(start, "array of " + std::to_string(n) + " items is longer than the rest of the input");
    items.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) items.push_back(item(depth + 1));
  }
  return Value::array(std::move(items));
}

Value Decoder::map(std::uint8_t ai, std::size_t start, std::size_t depth) {
  Value::Map entries;
  std::set<Bytes> seen;
  auto entry = [&] {
    const std::size_t key_at = pos_;
    Value key = item(depth + 1);
    if (!limits_.allow_duplicate_keys && !seen.insert(encode(key)).second)
      fail(key_at, "duplicate map key " + brief(key));
    Value value = item(depth + 1);
    entries.emplace_back(std::move(key), std::move(value));
  };
  if (ai == kIndefinite) {
    while (!at_break()) entry();
  } else {
    const std::uint64_t n = argument(ai, start);
    if (n > remaining() / 2)
      fail(start, "map of " + std::to_string(n) + " entries is longer than the rest of the input");
    entries.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) entry();
  }
  return Value::map(std::move(entries));
}

Value Decoder::simple_or_float(std::uint8_t ai, std::size_t start) {
  if (ai < 24) return Value::simple(ai);
  switch (ai) {
    case 24: {
      const auto v = static_cast<std::uint8_t>(read_be(1));
      if (v < 32) fail(start, "two-byte simple value " + std::to_string(v) + " must be at least 32");
      return Value::simple(v);
    }
    case 25: return Value::float64(half_to_double(static_cast<std::uint16_t>(read_be(2))));
    case 26: {
      const auto bits = static_cast<std::uint32_t>(read_be(4));
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return Value::float64(f);
    }
    case 27: {
      const std::uint64_t bits = read_be(8);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return Value::float64(d);
    }
    case kIndefinite: fail(start, "break (0xff) outside an indefinite-length item");
  }
  fail(start, "reserved additional information " + std::to_string(ai));
}

}  // namespace

Prefix decode_prefix(std::span<const std::uint8_t> data, const DecodeLimits& limits, std::string_view input_name) {
  Decoder d(data, limits, input_name);
  Value v = d.item(0);
  return {std::move(v), d.pos()};
}

Value decode(std::span<const std::uint8_t> data, const DecodeLimits& limits, std::string_view input_name) {
  Decoder d(data, limits, input_name);
  Value v = d.item(0);
  if (d.pos() != data.size())
    d.fail(d.pos(), std::to_string(data.size() - d.pos()) + " trailing bytes after the CBOR item");
  return v;
}

}  // namespace ef::cbor
