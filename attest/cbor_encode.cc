// Deterministic CBOR encoding: shortest heads, definite lengths, order kept.
#include <cmath>
#include <cstring>

#include "attest/cbor.h"
#include "base/error.h"

namespace ef::cbor {

static void put_be(Bytes& out, std::uint64_t v, int size) {
  for (int i = size - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void encode_head(Bytes& out, std::uint8_t major, std::uint64_t argument) {
  if (major > 7) throw Error("CBOR: major type " + std::to_string(major) + " out of range");
  const auto m = static_cast<std::uint8_t>(major << 5);
  if (argument < 24) {
    out.push_back(static_cast<std::uint8_t>(m | argument));
  } else if (argument <= 0xff) {
    out.push_back(m | 24);
    put_be(out, argument, 1);
  } else if (argument <= 0xffff) {
    out.push_back(m | 25);
    put_be(out, argument, 2);
  } else if (argument <= 0xffffffffu) {
    out.push_back(m | 26);
    put_be(out, argument, 4);
  } else {
    out.push_back(m | 27);
    put_be(out, argument, 8);
  }
}

/// The IEEE half-precision bits of `f` when it converts exactly, else -1.
static int exact_half(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  const std::uint32_t sign = (b >> 16) & 0x8000;
  const int exp = static_cast<int>((b >> 23) & 0xff);
  const std::uint32_t mant = b & 0x7fffff;
  if (exp == 255) return mant == 0 ? static_cast<int>(sign | 0x7c00) : 0x7e00;
  if (exp == 0) return mant == 0 ? static_cast<int>(sign) : -1;
  const int e = exp - 127;
  if (e >= -14 && e <= 15) {
    if (mant & 0x1fff) return -1;
    return static_cast<int>(sign | static_cast<std::uint32_t>(e + 15) << 10 | mant >> 13);
  }
  if (e >= -24 && e < -14) {
    const std::uint32_t full = 0x800000 | mant;
    const int shift = -e - 1;
    if (full & ((1u << shift) - 1)) return -1;
    return static_cast<int>(sign | full >> shift);
  }
  return -1;
}

static void encode_float(Bytes& out, double d) {
  if (std::isnan(d)) {
    out.insert(out.end(), {0xf9, 0x7e, 0x00});
    return;
  }
  const auto f = static_cast<float>(d);
  if (static_cast<double>(f) == d || std::isinf(d)) {
    if (int h = exact_half(f); h >= 0) {
      out.push_back(0xf9);
      put_be(out, static_cast<std::uint64_t>(h), 2);
      return;
    }
    std::uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    out.push_back(0xfa);
    put_be(out, b, 4);
    return;
  }
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  out.push_back(0xfb);
  put_be(out, b, 8);
}

void encode_to(Bytes& out, const Value& v) {
  switch (v.kind()) {
    case Kind::kUnsigned: encode_head(out, 0, v.as_uint()); return;
    case Kind::kNegative: encode_head(out, 1, v.negative_raw()); return;
    case Kind::kBytes:
      encode_head(out, 2, v.as_bytes().size());
      out.insert(out.end(), v.as_bytes().begin(), v.as_bytes().end());
      return;
    case Kind::kText:
      encode_head(out, 3, v.as_text().size());
      out.insert(out.end(), v.as_text().begin(), v.as_text().end());
      return;
    case Kind::kArray:
      encode_head(out, 4, v.as_array().size());
      for (const Value& item : v.as_array()) encode_to(out, item);
      return;
    case Kind::kMap:
      encode_head(out, 5, v.as_map().size());
      for (const auto& [key, value] : v.as_map()) {
        encode_to(out, key);
        encode_to(out, value);
      }
      return;
    case Kind::kTag:
      encode_head(out, 6, v.tag_number());
      encode_to(out, v.tag_content());
      return;
    case Kind::kSimple: encode_head(out, 7, v.simple_value()); return;
    case Kind::kFloat: encode_float(out, v.as_double()); return;
  }
}

Bytes encode(const Value& v) {
  Bytes out;
  encode_to(out, v);
  return out;
}

}  // namespace ef::cbor
