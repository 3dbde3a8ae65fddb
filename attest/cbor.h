#pragma once
// A small CBOR (RFC 8949) codec of our own. Why not nlohmann::json's CBOR or
// libcbor: nlohmann maps only have text keys, so COSE's {1: -35} cannot even
// be represented; libcbor is C with manual reference counting and no error
// offsets. Signing needs exact byte control (canonical shortest heads) and
// hostile input needs hard limits and byte offsets — see docs/attestation.md.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ef::cbor {

using Bytes = std::vector<std::uint8_t>;

enum class Kind : std::uint8_t {
  kUnsigned,  ///< major 0: 0 .. 2^64-1
  kNegative,  ///< major 1: -1 - n for n in 0 .. 2^64-1
  kBytes,     ///< major 2
  kText,      ///< major 3 (UTF-8 is not validated: the bytes are kept as they came)
  kArray,     ///< major 4
  kMap,       ///< major 5, keys of any kind, order preserved
  kTag,       ///< major 6: a tag number and one content item
  kSimple,    ///< major 7 simple values: false(20) true(21) null(22) undefined(23), others
  kFloat,     ///< major 7 half/single/double, held as double
};

/// Name of a kind for error messages ("unsigned integer", "byte string", ...).
std::string_view kind_name(Kind kind);

/// One CBOR data item. A plain value type: copyable, comparable.
class Value {
 public:
  using Array = std::vector<Value>;
  using Map = std::vector<std::pair<Value, Value>>;

  /// null.
  Value() = default;

  static Value unsigned_int(std::uint64_t v);
  /// The negative integer -1 - n (covers CBOR's whole range down to -2^64).
  static Value negative(std::uint64_t n);
  /// Unsigned when v >= 0, negative otherwise.
  static Value integer(std::int64_t v);
  static Value bytes(std::span<const std::uint8_t> b);
  static Value bytes(Bytes&& b);
  static Value text(std::string_view s);
  static Value array(Array items = {});
  static Value map(Map entries = {});
  static Value tag(std::uint64_t number, Value content);
  static Value null();
  static Value undefined();
  static Value boolean(bool b);
  /// Simple value 0..255 except 24..31, which CBOR reserves (throws ef::Error).
  static Value simple(std::uint8_t v);
  static Value float64(double d);

  Kind kind() const { return kind_; }
  bool is_unsigned() const { return kind_ == Kind::kUnsigned; }
  bool is_negative() const { return kind_ == Kind::kNegative; }
  bool is_integer() const { return is_unsigned() || is_negative(); }
  bool is_bytes() const { return kind_ == Kind::kBytes; }
  bool is_text() const { return kind_ == Kind::kText; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_map() const { return kind_ == Kind::kMap; }
  bool is_tag() const { return kind_ == Kind::kTag; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_null() const { return kind_ == Kind::kSimple && num_ == 22; }
  bool is_undefined() const { return kind_ == Kind::kSimple && num_ == 23; }
  bool is_bool() const { return kind_ == Kind::kSimple && (num_ == 20 || num_ == 21); }

  // Accessors throw ef::Error("expected K, found K2") on a kind mismatch.
  /// An unsigned integer's value.
  std::uint64_t as_uint() const;
  /// Any integer that fits int64_t (throws ef::Error when out of range).
  std::int64_t as_int() const;
  /// The raw argument n of a negative integer (value = -1 - n).
  std::uint64_t negative_raw() const;
  const Bytes& as_bytes() const;
  const std::string& as_text() const;
  const Array& as_array() const;
  Array& as_array();
  const Map& as_map() const;
  Map& as_map();
  std::uint64_t tag_number() const;
  const Value& tag_content() const;
  bool as_bool() const;
  /// A simple value's number (20 false, 21 true, 22 null, 23 undefined, ...).
  std::uint8_t simple_value() const;
  double as_double() const;

  /// First map entry whose key is the text `key` / the integer `key`;
  /// nullptr when absent. Throws ef::Error when this is not a map.
  const Value* find(std::string_view key) const;
  const Value* find(std::int64_t key) const;
  /// Like find(), but throws ef::Error("missing key ...") when absent.
  const Value& at(std::string_view key) const;
  const Value& at(std::int64_t key) const;

  /// Appends to an array / a map (throws ef::Error on another kind).
  Value& push(Value item);
  Value& insert(Value key, Value value);

  /// Structural equality (floats compare by bit pattern, so NaN == NaN).
  bool operator==(const Value& other) const;

  /// RFC 8949 diagnostic notation, e.g. {1: -35, "a": h'01ff'}; for tests and messages.
  std::string diagnostic() const;

 private:
  Kind kind_ = Kind::kSimple;
  std::uint64_t num_ = 22;  // integer argument, tag number or simple value
  double float_ = 0;
  Bytes bytes_;
  std::string text_;
  Array items_;  // array items, or the single tag content
  Map entries_;
};

/// v.diagnostic() cut to `max` characters (with "..."), for error messages about hostile input.
std::string brief(const Value& v, std::size_t max = 64);

// ---- Encoding -----------------------------------------------------------

/// Appends the head of a data item: major type 0..7 and its argument, in the
/// shortest form (RFC 8949 §4.2.1 preferred serialization).
void encode_head(Bytes& out, std::uint8_t major, std::uint64_t argument);

/// Appends the deterministic encoding of `v`: shortest heads, definite lengths,
/// map entries in the value's own order (never re-sorted: callers control bytes),
/// floats in the shortest of half/single/double that keeps the value exactly.
void encode_to(Bytes& out, const Value& v);
Bytes encode(const Value& v);

// ---- Decoding -----------------------------------------------------------

struct DecodeLimits {
  std::size_t max_depth = 32;                  ///< nesting of arrays, maps and tags
  std::size_t max_items = 1u << 16;            ///< data items in the whole input
  std::size_t max_string = 16u << 20;          ///< bytes in one (possibly chunked) string
  bool allow_duplicate_keys = false;           ///< RFC 8949 "valid" maps have unique keys
};

/// Decodes exactly one data item spanning all of `data`. Accepts definite and
/// indefinite lengths, any shortest or non-shortest head, tags and floats.
/// Rejects with ef::FormatError(input_name, byte offset, what was expected):
/// truncation, reserved additional info (28..30), indefinite length on major
/// 0/1/6/7, a stray break, chunks of the wrong kind inside indefinite strings,
/// two-byte simple values below 32, duplicate map keys, any limit exceeded,
/// and trailing bytes.
Value decode(std::span<const std::uint8_t> data, const DecodeLimits& limits = {},
             std::string_view input_name = "CBOR");

struct Prefix {
  Value value;
  std::size_t size = 0;  ///< bytes the item occupied
};
/// Decodes the one data item at the start of `data`; bytes after it are left alone.
Prefix decode_prefix(std::span<const std::uint8_t> data, const DecodeLimits& limits = {},
                     std::string_view input_name = "CBOR");

// ---- Helpers ------------------------------------------------------------

/// Bytes as an array of unsigned integers, as serde_cbor encodes Rust Vec<u8>
/// (AWS's EIF signature section uses this form).
Value int_array_from_bytes(std::span<const std::uint8_t> b);
/// The inverse; throws ef::Error unless `v` is an array of integers 0..255.
Bytes bytes_from_int_array(const Value& v);

}  // namespace ef::cbor
