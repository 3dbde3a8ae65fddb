#pragma once
// The small HTTP/1.1 subset enclaved's API speaks: one request per
// connection, Content-Length bodies only, bounded head and body. Parsing is
// pure (bytes in, request or error out) so it is fuzzed directly.

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/fd.h"

namespace ef::engine::http {

constexpr std::size_t kMaxHead = 16 * 1024;    ///< request line + headers
constexpr std::size_t kMaxBody = 1024 * 1024;  ///< request body
constexpr std::size_t kMaxHeaders = 64;

struct Request {
  std::string method;
  std::string target;                         ///< as sent
  std::string path;                           ///< percent-decoded, no query
  std::map<std::string, std::string> query;   ///< decoded; a repeated key keeps the last
  std::map<std::string, std::string> headers; ///< names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const;
};

/// A parse failure with the HTTP status to answer (400, 413, 414, 431, 501, 505).
struct ParseError {
  int status = 400;
  std::string message;
};

/// Parses a complete request head (through the blank line). Returns the
/// request without its body, or the error. `head` must end with "\r\n\r\n".
std::variant<Request, ParseError> parse_head(std::string_view head);

/// Body length the head announces (0 when absent); ParseError for a bad or
/// too large Content-Length or a Transfer-Encoding.
std::variant<std::size_t, ParseError> body_length(const Request& request);

/// Decodes %XX and (in queries) '+'; nullopt on a bad escape or a NUL.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

/// Reads one request from `fd` (head, then body) with the limits above;
/// waits at most `timeout_ms` in total. Returns ParseError{408} on timeout.
std::variant<Request, ParseError> read_request(int fd, int timeout_ms);

/// A response to write. `stream`, when set, is called after the head with a
/// function that writes one chunk (chunked encoding) and returns false once
/// the client is gone. `pass_fd` is sent after the head with SCM_RIGHTS.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  std::function<void(const std::function<bool(std::string_view)>& write_chunk)> stream;
  UniqueFd pass_fd;
};

std::string status_text(int status);
/// The serialised head (and body when not streaming).
std::string serialize_head(const Response& r);
/// JSON error body {"error": {"status": N, "message": …}}.
Response error_response(int status, const std::string& message);

}  // namespace ef::engine::http
