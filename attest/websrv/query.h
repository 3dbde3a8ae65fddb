#pragma once
// Request-target decoding: path and query string, percent-decoding, and the
// strict parameter encodings the API accepts (hex, base64, file paths).

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ef::websrv {

using Bytes = std::vector<std::uint8_t>;

/// Decodes %XX escapes (either hex case); with `plus_is_space` a '+' becomes ' '
/// (query strings). A '%' not followed by two hex digits throws HttpError 400
/// naming `field`. The result may hold any byte, including NUL: callers validate.
std::string percent_decode(std::string_view s, bool plus_is_space, std::string_view field);

/// A decoded query string. Parameter names are unique (a repeat is a 400).
class Query {
 public:
  /// Parses "a=1&b=2" (empty pieces between '&' are skipped; "a" alone means a="").
  static Query parse(std::string_view query);

  std::optional<std::string> get(std::string_view name) const;
  /// Throws HttpError 400 naming the first parameter not in `allowed`.
  void allow_only(std::initializer_list<std::string_view> allowed) const;
  const std::vector<std::pair<std::string, std::string>>& params() const { return params_; }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

/// A request-target "origin-form": "/path?query". The path is percent-decoded
/// (no '+' rule) and must start with '/' and hold no NUL (else 400).
struct Target {
  std::string path;
  Query query;
};
Target parse_target(std::string_view target);

/// Strict hex (even length, either case); throws HttpError 400 naming `field`
/// when malformed or longer than `max_bytes` decoded bytes.
Bytes parse_hex_param(std::string_view s, std::string_view field, std::size_t max_bytes);

/// Strict base64 (RFC 4648 §4, standard alphabet; also accepts the URL-safe
/// alphabet '-' '_' and missing padding); throws HttpError 400 naming `field`
/// when malformed or longer than `max_bytes` decoded bytes.
Bytes parse_base64_param(std::string_view s, std::string_view field, std::size_t max_bytes);
/// Standard base64 with padding.
std::string base64_encode(const std::uint8_t* data, std::size_t size);
inline std::string base64_encode(const Bytes& b) { return base64_encode(b.data(), b.size()); }

/// The file paths the index holds: absolute, at most 4096 bytes, no NUL, no
/// empty, "." or ".." component, no trailing '/' (except "/" itself).
bool is_normalized_path(std::string_view path);
/// Throws HttpError 400 naming `field` unless is_normalized_path(path).
void check_path_param(std::string_view path, std::string_view field);

}  // namespace ef::websrv
