#include "engine/api_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file.h"
#include "engine/server.h"
#include "engine/testing/fake_backend.h"

namespace ef::engine {
namespace {

struct Head {
  int status = 0;
  bool chunked = false;
  long long length = -1;
  std::string rest;  // bytes after the head
};

Head read_head(int fd) {
  std::string buf;
  char c;
  // Byte by byte, so that nothing past the head (a passed descriptor's byte) is consumed.
  while (buf.size() < 65536) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.push_back(c);
    if (buf.ends_with("\r\n\r\n")) break;
  }
  if (!buf.ends_with("\r\n\r\n")) throw Error("enclaved closed the connection without an answer");
  Head h;
  if (buf.size() < 12 || !buf.starts_with("HTTP/1.1 ")) throw Error("enclaved sent a malformed answer");
  h.status = std::stoi(buf.substr(9, 3));
  std::string lower;
  for (char ch : buf) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  h.chunked = lower.find("\r\ntransfer-encoding: chunked\r\n") != std::string::npos;
  auto cl = lower.find("\r\ncontent-length: ");
  if (cl != std::string::npos) h.length = std::stoll(lower.substr(cl + 18));
  return h;
}

std::string read_body(int fd, const Head& h) {
  std::string body;
  char buf[8192];
  while (h.length < 0 || static_cast<long long>(body.size()) < h.length) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    body.append(buf, static_cast<std::size_t>(n));
  }
  return body;
}

std::string error_message(const std::string& body, int status) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message"))
    return j["error"]["message"].get<std::string>();
  return "enclaved answered " + std::to_string(status);
}

}  // namespace

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(static_cast<char>(c));
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

UniqueFd ApiClient::open() {
  return with_context("connect to enclaved at " + socket_.string() + " (is it running? --host / $ENCLAVED_SOCKET)",
                      [&] { return connect_unix(socket_); });
}

nlohmann::json ApiClient::call(const std::string& method, const std::string& target, const nlohmann::json* body) {
  UniqueFd fd = open();
  std::string payload = body ? body->dump() : "";
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: enclaved\r\nConnection: close\r\n";
  if (body) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(payload.size()) + "\r\n";
  req += "\r\n" + payload;
  write_all(fd.get(), req, "enclaved socket");
  Head h = read_head(fd.get());
  std::string text = read_body(fd.get(), h);
  if (h.status < 200 || h.status > 299) throw Error(error_message(text, h.status));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error("enclaved sent a body that is not JSON");
  return j;
}

void ApiClient::stream(const std::string& target, const std::function<bool(std::string_view)>& on_data) {
  UniqueFd fd = open();
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: enclaved\r\nConnection: close\r\n\r\n";
  write_all(fd.get(), req, "enclaved socket");
  Head h = read_head(fd.get());
  if (h.status < 200 || h.status > 299) throw Error(error_message(read_body(fd.get(), h), h.status));
  if (!h.chunked) {
    std::string body = read_body(fd.get(), h);
    on_data(body);
    return;
  }
  std::string buf;
  char tmp[16384];
  auto more = [&]() {
    ssize_t n = read(fd.get(), tmp, sizeof tmp);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
    return true;
  };
  while (true) {
    std::size_t eol;
    while ((eol = buf.find("\r\n")) == std::string::npos)
      if (!more()) return;
    std::size_t size = std::stoul(buf.substr(0, eol), nullptr, 16);
    if (size == 0) return;
    while (buf.size() < eol + 2 + size + 2)
      if (!more()) return;
    if (!on_data(std::string_view(buf).substr(eol + 2, size))) return;
    buf.erase(0, eol + 2 + size + 2);
  }
}

UniqueFd ApiClient::connect_enclave(const std::string& name, std::uint32_t port) {
  UniqueFd fd = open();
  std::string req = "POST /v1/enclaves/" + url_encode(name) + "/connect?port=" + std::to_string(port) +
                    " HTTP/1.1\r\nHost: enclaved\r\nConnection: close\r\n\r\n";
  write_all(fd.get(), req, "enclaved socket");
  Head h = read_head(fd.get());
  if (h.status != 200) throw Error(error_message(read_body(fd.get(), h), h.status));
  // The JSON body, then the descriptor with its own byte.
  std::string body(static_cast<std::size_t>(std::max(0LL, h.length)), '\0');
  std::size_t got = 0;
  while (got < body.size()) {
    ssize_t n = read(fd.get(), body.data() + got, body.size() - got);
    if (n <= 0) throw Error("enclaved closed the connection before passing the stream");
    got += static_cast<std::size_t>(n);
  }
  return recv_fd(fd.get());
}

}  // namespace ef::engine
