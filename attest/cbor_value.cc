// cbor::Value: construction, typed access, map lookup, equality, diagnostics.
#include <cmath>
#include <cstring>
#include <limits>

#include "attest/cbor.h"
#include "base/error.h"
#include "base/hash.h"

namespace ef::cbor {

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kUnsigned: return "unsigned integer";
    case Kind::kNegative: return "negative integer";
    case Kind::kBytes: return "byte string";
    case Kind::kText: return "text string";
    case Kind::kArray: return "array";
    case Kind::kMap: return "map";
    case Kind::kTag: return "tag";
    case Kind::kSimple: return "simple value";
    case Kind::kFloat: return "float";
  }
  return "?";
}

static void expect_kind(const Value& v, Kind k) {
  if (v.kind() != k)
    throw Error("CBOR: expected " + std::string(kind_name(k)) + ", found " + std::string(kind_name(v.kind())));
}

Value Value::unsigned_int(std::uint64_t v) {
  Value r;
  r.kind_ = Kind::kUnsigned;
  r.num_ = v;
  return r;
}

Value Value::negative(std::uint64_t n) {
  Value r;
  r.kind_ = Kind::kNegative;
  r.num_ = n;
  return r;
}

Value Value::integer(std::int64_t v) {
  if (v >= 0) return unsigned_int(static_cast<std::uint64_t>(v));
  // -1 - v without overflow: v = -1 - n  =>  n = ~v (two's complement).
  return negative(~static_cast<std::uint64_t>(v));
}

Value Value::bytes(std::span<const std::uint8_t> b) { return bytes(Bytes(b.begin(), b.end())); }

Value Value::bytes(Bytes&& b) {
  Value r;
  r.kind_ = Kind::kBytes;
  r.bytes_ = std::move(b);
  return r;
}

Value Value::text(std::string_view s) {
  Value r;
  r.kind_ = Kind::kText;
  r.text_ = std::string(s);
  return r;
}

Value Value::array(Array items) {
  Value r;
  r.kind_ = Kind::kArray;
  r.items_ = std::move(items);
  return r;
}

Value Value::map(Map entries) {
  Value r;
  r.kind_ = Kind::kMap;
  r.entries_ = std::move(entries);
  return r;
}

Value Value::tag(std::uint64_t number, Value content) {
  Value r;
  r.kind_ = Kind::kTag;
  r.num_ = number;
  r.items_.push_back(std::move(content));
  return r;
}

Value Value::null() { return Value(); }
Value Value::undefined() { return simple(23); }
Value Value::boolean(bool b) { return simple(b ? 21 : 20); }

Value Value::simple(std::uint8_t v) {
  if (v >= 24 && v <= 31) throw Error("CBOR: simple value " + std::to_string(v) + " is reserved");
  Value r;
  r.kind_ = Kind::kSimple;
  r.num_ = v;
  return r;
}

Value Value::float64(double d) {
  Value r;
  r.kind_ = Kind::kFloat;
  r.float_ = d;
  return r;
}

std::uint64_t Value::as_uint() const {
  expect_kind(*this, Kind::kUnsigned);
  return num_;
}

std::int64_t Value::as_int() const {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (kind_ == Kind::kUnsigned) {
    if (num_ > kMax) throw Error("CBOR: integer " + std::to_string(num_) + " does not fit 64-bit signed");
    return static_cast<std::int64_t>(num_);
  }
  if (kind_ == Kind::kNegative) {
    if (num_ > kMax) throw Error("CBOR: negative integer below -2^63");
    return -1 - static_cast<std::int64_t>(num_);
  }
  throw Error("CBOR: expected integer, found " + std::string(kind_name(kind_)));
}

std::uint64_t Value::negative_raw() const {
  expect_kind(*this, Kind::kNegative);
  return num_;
}

const Bytes& Value::as_bytes() const {
  expect_kind(*this, Kind::kBytes);
  return bytes_;
}

const std::string& Value::as_text() const {
  expect_kind(*this, Kind::kText);
  return text_;
}

const Value::Array& Value::as_array() const {
  expect_kind(*this, Kind::kArray);
  return items_;
}

Value::Array& Value::as_array() {
  expect_kind(*this, Kind::kArray);
  return items_;
}

const Value::Map& Value::as_map() const {
  expect_kind(*this, Kind::kMap);
  return entries_;
}

Value::Map& Value::as_map() {
  expect_kind(*this, Kind::kMap);
  return entries_;
}

std::uint64_t Value::tag_number() const {
  expect_kind(*this, Kind::kTag);
  return num_;
}

const Value& Value::tag_content() const {
  expect_kind(*this, Kind::kTag);
  return items_.front();
}

bool Value::as_bool() const {
  if (!is_bool()) throw Error("CBOR: expected boolean, found " + std::string(kind_name(kind_)));
  return num_ == 21;
}

std::uint8_t Value::simple_value() const {
  expect_kind(*this, Kind::kSimple);
  return static_cast<std::uint8_t>(num_);
}

double Value::as_double() const {
  expect_kind(*this, Kind::kFloat);
  return float_;
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : as_map())
    if (k.kind_ == Kind::kText && k.text_ == key) return &v;
  return nullptr;
}

const Value* Value::find(std::int64_t key) const {
  const Value want = integer(key);
  for (const auto& [k, v] : as_map())
    if (k.kind_ == want.kind_ && k.num_ == want.num_) return &v;
  return nullptr;
}

const Value& Value::at(std::string_view key) const {
  if (const Value* v = find(key)) return *v;
  throw Error("CBOR: missing key \"" + std::string(key) + "\"");
}

const Value& Value::at(std::int64_t key) const {
  if (const Value* v = find(key)) return *v;
  throw Error("CBOR: missing key " + std::to_string(key));
}

Value& Value::push(Value item) {
  auto& items = as_array();
  items.push_back(std::move(item));
  return items.back();
}

Value& Value::insert(Value key, Value value) {
  auto& entries = as_map();
  entries.emplace_back(std::move(key), std::move(value));
  return entries.back().second;
}

bool Value::operator==(const Value& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kUnsigned:
    case Kind::kNegative:
    case Kind::kSimple: return num_ == o.num_;
    case Kind::kBytes: return bytes_ == o.bytes_;
    case Kind::kText: return text_ == o.text_;
    case Kind::kArray: return items_ == o.items_;
    case Kind::kMap: return entries_ == o.entries_;
    case Kind::kTag: return num_ == o.num_ && items_ == o.items_;
    case Kind::kFloat: return std::memcmp(&float_, &o.float_, sizeof float_) == 0;
  }
  return false;
}

static std::string quote_text(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

static std::string float_diag(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  std::string s = std::to_string(d);
  while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

std::string Value::diagnostic() const {
  switch (kind_) {
    case Kind::kUnsigned: return std::to_string(num_);
    case Kind::kNegative:
      return num_ == std::numeric_limits<std::uint64_t>::max() ? "-18446744073709551616"
                                                               : "-" + std::to_string(num_ + 1);
    case Kind::kBytes: return "h'" + to_hex(bytes_) + "'";
    case Kind::kText: return quote_text(text_);
    case Kind::kArray: {
      std::string s = "[";
      for (std::size_t i = 0; i < items_.size(); ++i) s += (i ? ", " : "") + items_[i].diagnostic();
      return s + "]";
    }
    case Kind::kMap: {
      std::string s = "{";
      for (std::size_t i = 0; i < entries_.size(); ++i)
        s += (i ? ", " : "") + entries_[i].first.diagnostic() + ": " + entries_[i].second.diagnostic();
      return s + "}";
    }
    case Kind::kTag: return std::to_string(num_) + "(" + items_.front().diagnostic() + ")";
    case Kind::kSimple:
      switch (num_) {
        case 20: return "false";
        case 21: return "true";
        case 22: return "null";
        case 23: return "undefined";
        default: return "simple(" + std::to_string(num_) + ")";
      }
    case Kind::kFloat: return float_diag(float_);
  }
  return "?";
}

std::string brief(const Value& v, std::size_t max) {
  std::string d = v.diagnostic();
  if (d.size() > max) d = d.substr(0, max) + "...";
  return d;
}

Value int_array_from_bytes(std::span<const std::uint8_t> b) {
  Value::Array items;
  items.reserve(b.size());
  for (std::uint8_t x : b) items.push_back(Value::unsigned_int(x));
  return Value::array(std::move(items));
}

Bytes bytes_from_int_array(const Value& v) {
  if (!v.is_array()) throw Error("CBOR: expected array of byte values, found " + std::string(kind_name(v.kind())));
  Bytes out;
  out.reserve(v.as_array().size());
  for (std::size_t i = 0; i < v.as_array().size(); ++i) {
    const Value& x = v.as_array()[i];
    if (!x.is_unsigned() || x.as_uint() > 255)
      throw Error("CBOR: byte array element " + std::to_string(i) + " is not an integer 0..255");
    out.push_back(static_cast<std::uint8_t>(x.as_uint()));
  }
  return out;
}

}  // namespace ef::cbor
