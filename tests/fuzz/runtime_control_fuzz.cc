// Fuzzes the control API's request parser and the response encoder: any input
// is a request or an ef::Error, and the error always encodes as one JSON line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/error.h"
#include "runtime/control_protocol.h"
#include "runtime/control_server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string line;
  try {
    ef::init::Request r = ef::init::parse_request(text);
    line = ef::init::json_line(ef::init::request_json(r));
  } catch (const ef::Error& e) {
    line = ef::init::json_line(ef::init::error_response(e.what()));
  }
  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) std::abort();
  return 0;
}
