#include "engine/http.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <variant>

namespace ef::engine::http {
namespace {

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

std::string Request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::variant<Request, ParseError> parse_head(std::string_view head) {
  if (head.size() > kMaxHead) return ParseError{431, "request head larger than 16 KiB"};
  if (!head.ends_with("\r\n\r\n")) return ParseError{400, "request head does not end with an empty line"};
  Request r;
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return ParseError{400, "request line is not METHOD TARGET VERSION"};
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view version = line.substr(sp2 + 1);
  if (r.method.empty() || r.method.size() > 16) return ParseError{400, "bad method"};
  for (char c : r.method)
    if (c < 'A' || c > 'Z') return ParseError{400, "bad method"};
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return ParseError{505, "only HTTP/1.0 and HTTP/1.1 are spoken"};
  if (r.target.empty() || r.target.front() != '/') return ParseError{400, "request target must start with '/'"};
  if (r.target.size() > 4096) return ParseError{414, "request target longer than 4096 bytes"};
  for (char c : r.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return ParseError{400, "control character in request target"};
  std::string_view target = r.target;
  std::size_t qmark = target.find('?');
  auto path = percent_decode(target.substr(0, qmark), false);
  if (!path) return ParseError{400, "bad percent-escape in path"};
  r.path = *path;
  if (qmark != std::string_view::npos) {
    std::string_view q = target.substr(qmark + 1);
    while (!q.empty()) {
      std::size_t amp = q.find('&');
      std::string_view pair = q.substr(0, amp);
      std::size_t eq = pair.find('=');
      auto k = percent_decode(pair.substr(0, eq), true);
      auto v = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (!k || !v) return ParseError{400, "bad percent-escape in query"};
      if (!k->empty()) r.query[*k] = *v;
      if (r.query.size() > 32) return ParseError{400, "more than 32 query parameters"};
      q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    }
  }
  std::size_t pos = eol + 2;
  while (pos < head.size() - 2) {
    std::size_t end = head.find("\r\n", pos);
    std::string_view h = head.substr(pos, end - pos);
    pos = end + 2;
    std::size_t colon = h.find(':');
    if (colon == 0 || colon == std::string_view::npos) return ParseError{400, "header line without a name"};
    for (char c : h.substr(0, colon))
      if (!is_token_char(c)) return ParseError{400, "bad character in header name"};
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return ParseError{400, "control character in header value"};
    std::string name = lower(h.substr(0, colon));
    if (r.headers.count(name) && (name == "content-length" || name == "host"))
      return ParseError{400, "duplicate " + name + " header"};
    r.headers[name] = std::string(value);
    if (r.headers.size() > kMaxHeaders) return ParseError{431, "more than 64 headers"};
  }
  return r;
}

std::variant<std::size_t, ParseError> body_length(const Request& r) {
  if (r.headers.count("transfer-encoding")) return ParseError{501, "Transfer-Encoding in requests is not supported; send Content-Length"};
  std::string cl = r.header("content-length");
  if (cl.empty()) return std::size_t{0};
  if (cl.size() > 10 || cl.find_first_not_of("0123456789") != std::string::npos)
    return ParseError{400, "bad Content-Length"};
  std::size_t n = std::stoull(cl);
  if (n > kMaxBody) return ParseError{413, "request body larger than 1 MiB"};
  return n;
}

std::variant<Request, ParseError> read_request(int fd, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string buf;
  auto fill = [&](std::size_t want_total) -> std::optional<ParseError> {
    while (buf.size() < want_total) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return ParseError{408, "request not complete in time"};
      pollfd p{fd, POLLIN, 0};
      int rc = poll(&p, 1, static_cast<int>(left));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return ParseError{408, "request not complete in time"};
      char tmp[8192];
      std::size_t room = std::min(sizeof tmp, want_total - buf.size());
      ssize_t n = read(fd, tmp, room);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ParseError{400, "connection closed mid-request"};
      buf.append(tmp, static_cast<std::size_t>(n));
      return std::nullopt;
    }
    return std::nullopt;
  };
  std::size_t head_end;
  // Read byte batches until the blank line; a body may follow in the same read.
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() >= kMaxHead) return ParseError{431, "request head larger than 16 KiB"};
    if (auto e = fill(std::min(buf.size() + 8192, kMaxHead + 4))) return *e;
  }
  auto parsed = parse_head(std::string_view(buf).substr(0, head_end + 4));
  if (auto* e = std::get_if<ParseError>(&parsed)) return *e;
  Request r = std::get<Request>(std::move(parsed));
  auto len = body_length(r);
  if (auto* e = std::get_if<ParseError>(&len)) return *e;
  std::size_t want = head_end + 4 + std::get<std::size_t>(len);
  while (buf.size() < want)
    if (auto e = fill(want)) return *e;
  r.body = buf.substr(head_end + 4, std::get<std::size_t>(len));
  return r;
}

std::string status_text(int s) {
  switch (s) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 422: return "Unprocessable Entity";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Status";
}

std::string serialize_head(const Response& r) {
  std::string h = "HTTP/1.1 " + std::to_string(r.status) + " " + status_text(r.status) + "\r\n";
  bool upgrade = r.status == 101;
  if (!upgrade) h += "Content-Type: " + r.content_type + "\r\nConnection: close\r\n";
  for (const auto& [k, v] : r.headers) h += k + ": " + v + "\r\n";
  if (r.stream && !upgrade) h += "Transfer-Encoding: chunked\r\n";
  else if (!upgrade) h += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  h += "\r\n";
  if (!r.stream && !upgrade) h += r.body;
  return h;
}

Response error_response(int status, const std::string& message) {
  Response r;
  r.status = status;
  r.body = nlohmann::json{{"error", {{"status", status}, {"message", message}}}}.dump() + "\n";
  return r;
}

}  // namespace ef::engine::http
