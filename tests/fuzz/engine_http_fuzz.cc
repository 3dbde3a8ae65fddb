// Fuzzes enclaved's request parsing and routing: any bytes either parse or
// give a ParseError; a parsed request's path splits or is refused. Never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "engine/api.h"
#include "engine/http.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto end = text.find("\r\n\r\n");
  std::string head = end == std::string::npos ? text + "\r\n\r\n" : text.substr(0, end + 4);
  auto r = ef::engine::http::parse_head(head);
  if (auto* req = std::get_if<ef::engine::http::Request>(&r)) {
    (void)ef::engine::http::body_length(*req);
    (void)ef::engine::split_path(req->path);
  }
  (void)ef::engine::http::percent_decode(text, true);
  return 0;
}
