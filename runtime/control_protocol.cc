#include "runtime/control_protocol.h"

#include "base/cli.h"
#include "base/error.h"

namespace ef::init {
namespace {

constexpr int kMaxDepth = 8;

/// Rejects deep nesting before the JSON parser sees it.
void check_depth(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) throw Error("request nested too deeply");
    } else if (c == '}' || c == ']') --depth;
  }
}

}  // namespace

const std::vector<CommandInfo>& control_commands() {
  static const std::vector<CommandInfo> commands = {
      {"ping", false},    {"list", false},   {"status", false}, {"start", true},   {"stop", true},
      {"restart", true},  {"enable", true},  {"disable", true}, {"logs", true},    {"system", false},
      {"reload", false},  {"shutdown", false}, {"reboot", false}, {"metrics", false},
  };
  return commands;
}

Request parse_request(std::string_view text) {
  check_depth(text);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error("malformed JSON request");
  if (!j.is_object()) throw Error("request must be a JSON object");
  Request r;
  for (auto& [key, value] : j.items()) {
    if (key == "cmd") {
      if (!value.is_string()) throw Error("'cmd' must be a string");
      r.cmd = value.get<std::string>();
    } else if (key == "name") {
      if (!value.is_string()) throw Error("'name' must be a string");
      r.name = value.get<std::string>();
    } else if (key == "tail") {
      if (!value.is_number_integer() || value.get<long long>() < 0 || value.get<long long>() > 10000)
        throw Error("'tail' must be an integer from 0 to 10000");
      r.tail = value.get<int>();
    } else if (key == "follow") {
      if (!value.is_boolean()) throw Error("'follow' must be true or false");
      r.follow = value.get<bool>();
    } else {
      throw Error("unknown field '" + key + "'");
    }
  }
  if (r.cmd.empty()) throw Error("missing 'cmd'");
  std::vector<std::string_view> names;
  for (const CommandInfo& c : control_commands()) {
    names.push_back(c.name);
    if (c.name != r.cmd) continue;
    if (c.needs_name && r.name.empty()) throw Error("'" + r.cmd + "' needs a service 'name'");
    return r;
  }
  std::string msg = "unknown command '" + r.cmd.substr(0, 64) + "'";
  if (auto near = cli::closest(r.cmd, names); !near.empty()) msg += " (did you mean '" + std::string(near) + "'?)";
  throw Error(msg);
}

nlohmann::json error_response(std::string_view message) {
  return {{"ok", false}, {"error", message}};
}

nlohmann::json request_json(const Request& r) {
  nlohmann::json j = {{"cmd", r.cmd}};
  if (!r.name.empty()) j["name"] = r.name;
  if (r.cmd == "logs") {
    j["tail"] = r.tail;
    j["follow"] = r.follow;
  }
  return j;
}

}  // namespace ef::init
