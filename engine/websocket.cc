#include "engine/websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>

namespace ef::engine::ws {

std::string accept_key(std::string_view client_key) {
  std::string in = std::string(client_key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, md, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

std::string text_frame(std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(n));
  } else if (n <= 0xffff) {
    f.push_back(126);
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(127);
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff));
  }
  f.append(payload);
  return f;
}

std::string close_frame() { return std::string("\x88\x02\x03\xe8", 4); }

namespace {
bool contains_token(std::string_view header, std::string_view token) {
  std::string h;
  for (char c : header) h.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  std::size_t pos = 0;
  while (pos <= h.size()) {
    std::size_t comma = h.find(',', pos);
    std::string_view item = std::string_view(h).substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == token) return true;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return false;
}
}  // namespace

bool is_upgrade(std::string_view upgrade, std::string_view connection, std::string_view key, std::string_view version) {
  if (!contains_token(upgrade, "websocket") || !contains_token(connection, "upgrade") || version != "13") return false;
  if (key.size() != 24 || !key.ends_with("==")) return false;
  for (char c : key.substr(0, 22))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  return true;
}

}  // namespace ef::engine::ws
