#include "attest/websrv/query.h"

#include <algorithm>

#include "attest/websrv/http_error.h"

namespace ef::websrv {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space, std::string_view field) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      const int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        bad_request(field, "bad percent-encoding at offset " + std::to_string(i) + " (expected %XX)");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Query Query::parse(std::string_view query) {
  Query q;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (piece.empty()) continue;
    const std::size_t eq = piece.find('=');
    std::string name = percent_decode(piece.substr(0, eq), true, "query");
    std::string value =
        eq == std::string_view::npos ? std::string() : percent_decode(piece.substr(eq + 1), true, name);
    if (q.get(name)) bad_request(name, "parameter given twice");
    q.params_.emplace_back(std::move(name), std::move(value));
  }
  return q;
}

std::optional<std::string> Query::get(std::string_view name) const {
  for (const auto& [k, v] : params_)
    if (k == name) return v;
  return std::nullopt;
}

void Query::allow_only(std::initializer_list<std::string_view> allowed) const {
  for (const auto& [k, v] : params_)
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) bad_request(k, "unknown parameter");
}

Target parse_target(std::string_view target) {
  const std::size_t q = target.find('?');
  Target t;
  t.path = percent_decode(target.substr(0, q), false, "path");
  if (t.path.empty() || t.path[0] != '/') bad_request("path", "request target must start with '/'");
  if (t.path.find('\0') != std::string::npos) bad_request("path", "NUL in request path");
  if (q != std::string_view::npos) t.query = Query::parse(target.substr(q + 1));
  return t;
}

Bytes parse_hex_param(std::string_view s, std::string_view field, std::size_t max_bytes) {
  if (s.size() % 2 != 0) bad_request(field, "hex of odd length");
  if (s.size() / 2 > max_bytes) bad_request(field, "longer than " + std::to_string(max_bytes) + " bytes");
  Bytes out(s.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) bad_request(field, "not hex at offset " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

Bytes parse_base64_param(std::string_view s, std::string_view field, std::size_t max_bytes) {
  if (s.size() % 4 == 0) {  // padded form: at most two '='
    for (int i = 0; i < 2 && !s.empty() && s.back() == '='; ++i) s.remove_suffix(1);
  }
  if (s.size() % 4 == 1) bad_request(field, "base64 of impossible length");
  if (s.size() / 4 * 3 + (s.size() % 4 ? s.size() % 4 - 1 : 0) > max_bytes)
    bad_request(field, "longer than " + std::to_string(max_bytes) + " bytes");
  Bytes out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const int v = b64_value(s[i]);
    if (v < 0) bad_request(field, "not base64 at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) bad_request(field, "base64 with non-zero trailing bits");
  return out;
}

std::string base64_encode(const std::uint8_t* data, std::size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (std::size_t i = 0; i < size; i += 3) {
    const std::uint32_t n = (std::uint32_t{data[i]} << 16) | (i + 1 < size ? std::uint32_t{data[i + 1]} << 8 : 0) |
                            (i + 2 < size ? std::uint32_t{data[i + 2]} : 0);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < size ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < size ? kAlphabet[n & 63] : '=');
  }
  return out;
}

bool is_normalized_path(std::string_view path) {
  if (path.empty() || path.size() > 4096 || path[0] != '/') return false;
  if (path.find('\0') != std::string_view::npos) return false;
  if (path == "/") return true;
  if (path.back() == '/') return false;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view comp = path.substr(pos, end - pos);
    if (comp.empty() || comp == "." || comp == "..") return false;
    pos = end + 1;
  }
  return true;
}

void check_path_param(std::string_view path, std::string_view field) {
  if (!is_normalized_path(path))
    bad_request(field, "not an absolute normalised path (no '.', '..', '//', NUL or trailing '/'; at most 4096 bytes)");
}

}  // namespace ef::websrv
