#pragma once
// The control API's messages: one JSON object per line each way.
//   request:  {"cmd": "status", "name": "web"}          (cmd, name, tail, follow)
//   response: {"ok": true, ...} or {"ok": false, "error": "..."}

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ef::init {

struct Request {
  std::string cmd;
  std::string name;
  int tail = 100;
  bool follow = false;
};

/// Every command the API knows, with whether it needs a service name.
struct CommandInfo {
  std::string_view name;
  bool needs_name;
};
const std::vector<CommandInfo>& control_commands();

/// Parses and validates one request (without its newline). Throws ef::Error with
/// a message fit to send back: malformed JSON, nesting too deep, wrong types,
/// unknown command (with a suggestion), missing name.
Request parse_request(std::string_view text);

nlohmann::json error_response(std::string_view message);
nlohmann::json request_json(const Request& r);

}  // namespace ef::init
