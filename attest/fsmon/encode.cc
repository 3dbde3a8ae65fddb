#include "attest/fsmon/encode.h"

#include <algorithm>
#include <ctime>

#include "base/hash.h"

namespace ef::fsmon {

std::string_view kind_name(Kind k) { return k == Kind::kDir ? "dir" : "file"; }

std::string dir_hash(std::vector<DirChild> children) {
  std::sort(children.begin(), children.end(),
            [](const DirChild& a, const DirChild& b) { return a.name < b.name; });  // bytewise (char_traits<char>::lt compares as unsigned char)
  Hasher h(HashAlgo::kSha3_512);
  std::string line;
  for (const auto& c : children) {
    line.clear();
    line += c.kind == Kind::kDir ? 'd' : 'f';
    line += ' ';
    line += c.hex;
    line += ' ';
    line += c.name;
    line += '\n';
    h.update(line);
  }
  auto d = h.finish();
  return to_hex(d);
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) { n = 3; lo = 0xA0; }
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) { n = 3; hi = 0x9F; }
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) { n = 4; lo = 0x90; }
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) { n = 4; hi = 0x8F; }
  else return 0;
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

void append_u00(std::string& out, unsigned char c) {
  static const char* hex = "0123456789abcdef";
  out += "\\u00";
  out += hex[c >> 4];
  out += hex[c & 15];
}

}  // namespace

std::string json_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20 || c == 0x7f) append_u00(out, c);
          else out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    std::size_t n = utf8_len(s, i);
    if (n == 0) {
      append_u00(out, c);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
  return out;
}

std::string ipc_put(std::string_view path, Kind kind, std::string_view hex, std::uint64_t size) {
  std::string out = "{\"op\":\"put\",\"path\":";
  out += json_string(path);
  out += ",\"kind\":\"";
  out += kind_name(kind);
  out += "\",\"sha3_512\":\"";
  out += hex;
  out += "\",\"size\":";
  out += std::to_string(size);
  out += "}\n";
  return out;
}

std::string ipc_del(std::string_view path) { return "{\"op\":\"del\",\"path\":" + json_string(path) + "}\n"; }
std::string ipc_snapshot_begin() { return "{\"op\":\"snapshot_begin\"}\n"; }
std::string ipc_snapshot_end() { return "{\"op\":\"snapshot_end\"}\n"; }

std::string base64url(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto b = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += tbl[v >> 6 & 63];
    out += tbl[v & 63];
  }
  if (in.size() - i == 1) {
    unsigned v = b(i) << 16;
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
  } else if (in.size() - i == 2) {
    unsigned v = b(i) << 16 | b(i + 1) << 8;
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += tbl[v >> 6 & 63];
  }
  return out;
}

bool valid_kv_prefix(std::string_view p) {
  if (p.empty()) return true;
  if (p.front() == '.' || p.back() == '.') return false;
  char prev = 0;
  for (char c : p) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '=' || c == '/' || c == '.';
    if (!ok) return false;
    if (c == '.' && prev == '.') return false;
    prev = c;
  }
  return true;
}

std::string kv_key(std::string_view prefix, std::string_view path) {
  std::string enc = base64url(path);
  if (prefix.empty()) return enc;
  return std::string(prefix) + "." + enc;
}

std::string kv_value(std::string_view path, Kind kind, std::string_view hex, std::uint64_t size,
                     std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  std::string out = "{\"path\":" + json_string(path);
  out += ",\"sha3_512\":\"";
  out += hex;
  out += "\",\"size\":" + std::to_string(size);
  out += ",\"kind\":\"";
  out += kind_name(kind);
  out += "\",\"time\":\"";
  out += buf;
  out += "\"}";
  return out;
}

std::string normalize_path(std::string_view path, std::string_view cwd) {
  std::string full;
  if (path.empty() || path[0] != '/') {
    full = std::string(cwd) + "/" + std::string(path);
  } else {
    full = std::string(path);
  }
  std::vector<std::string_view> parts;
  std::string_view v = full;
  std::size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && v[i] == '/') ++i;
    std::size_t j = v.find('/', i);
    if (j == std::string_view::npos) j = v.size();
    std::string_view comp = v.substr(i, j - i);
    i = j;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(comp);
  }
  std::string out;
  for (auto p : parts) {
    out += '/';
    out += p;
  }
  return out.empty() ? "/" : out;
}

}  // namespace ef::fsmon
