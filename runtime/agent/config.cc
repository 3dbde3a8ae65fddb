#include "runtime/agent/config.h"

#include "base/error.h"
#include "base/file.h"
#include "base/yaml_config.h"
#include "netproxy/endpoint.h"
#include "runtime/config.h"

namespace ef::agent {
namespace {

std::string one_of(const ConfigNode& n, std::initializer_list<std::string_view> allowed) {
  std::string v = n.as_string();
  for (auto a : allowed)
    if (v == a) return v;
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  n.fail("expected one of " + list + ", got \"" + v + "\"");
}

std::string absolute_path(const ConfigNode& n) {
  std::string v = n.as_string();
  if (v.empty() || v[0] != '/') n.fail("must be an absolute path");
  return v;
}

std::uint32_t duration_ms(const ConfigNode& n, std::int64_t min, std::int64_t max) {
  std::int64_t ms = 0;
  try {
    ms = init::parse_duration(n.as_string());
  } catch (const Error& e) {
    n.fail(e.what());
  }
  if (ms < min || ms > max) n.fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + " ms");
  return static_cast<std::uint32_t>(ms);
}

void load_listen(const ConfigNode& n, AgentConfig& c) {
  c.listen.clear();
  std::vector<ConfigNode> items = n.is_sequence() ? n.items() : std::vector<ConfigNode>{n};
  if (items.empty()) n.fail("needs at least one endpoint");
  for (const auto& item : items) {
    const std::string text = item.as_string();
    netproxy::Endpoint ep;
    try {
      ep = netproxy::parse_endpoint(text);
    } catch (const Error& e) {
      item.fail(e.what());
    }
    if (ep.transport == netproxy::Transport::kUdp) item.fail("the agent listens on stream sockets only (tcp:, vsock:, unix:)");
    c.listen.push_back(text);
  }
}

void load_nsm(const ConfigNode& n, AgentConfig& c) {
  n.expect_keys({"mode", "device", "state_dir", "pcrs_from", "cmdline_file"});
  if (auto m = n.optional("mode")) {
    const std::string mode = one_of(*m, {"auto", "device", "simulated"});
    c.nsm_mode = mode == "auto" ? NsmMode::kAuto : mode == "device" ? NsmMode::kDevice : NsmMode::kSimulated;
  }
  if (auto v = n.optional("device")) c.nsm_device = absolute_path(*v);
  if (auto v = n.optional("state_dir")) c.nsm_state_dir = absolute_path(*v);
  if (auto v = n.optional("pcrs_from"))
    c.pcrs_from = one_of(*v, {"state_dir", "cmdline"}) == "cmdline" ? PcrSource::kCmdline : PcrSource::kStateDir;
  if (auto v = n.optional("cmdline_file")) c.cmdline_file = absolute_path(*v);
}

void load_operators(const ConfigNode& n, AgentConfig& c) {
  if (n.is_null()) return;
  if (!n.is_sequence()) n.fail("must be a list of PEM public keys or sha256:HEX fingerprints");
  for (const auto& item : n.items()) {
    try {
      c.operators.add(item.as_string());
    } catch (const Error& e) {
      item.fail(e.what());
    }
  }
}

void load_limits(const ConfigNode& n, AgentConfig& c) {
  n.expect_keys({"max_connections", "handshake_timeout", "max_secret_bytes"});
  c.max_connections = static_cast<std::uint32_t>(n.int_or("max_connections", c.max_connections, 1, 1024));
  if (auto v = n.optional("handshake_timeout")) c.handshake_timeout_ms = duration_ms(*v, 100, 600'000);
  c.max_secret_bytes = static_cast<std::uint32_t>(n.int_or("max_secret_bytes", c.max_secret_bytes, 1, 1 << 20) );
  if (c.max_secret_bytes > (1u << 20) - 256) c.max_secret_bytes = (1u << 20) - 256;
}

}  // namespace

AgentConfig parse_agent_config(std::string_view text, const std::string& file_name) {
  ConfigNode root = ConfigNode::load_string(text, file_name);
  AgentConfig c;
  c.source = file_name;
  if (root.is_null()) return c;
  root.expect_keys({"listen", "nsm", "operators", "exec", "copy", "secrets", "logs", "log_dir", "secret_dir",
                    "secret_dir_tmpfs", "limits", "log"});
  if (auto n = root.optional("listen")) load_listen(*n, c);
  if (auto n = root.optional("nsm")) load_nsm(*n, c);
  if (auto n = root.optional("operators")) load_operators(*n, c);
  c.exec = root.bool_or("exec", c.exec);
  c.copy = root.bool_or("copy", c.copy);
  c.secrets = root.bool_or("secrets", c.secrets);
  c.logs = root.bool_or("logs", c.logs);
  if (auto v = root.optional("log_dir")) c.log_dir = absolute_path(*v);
  if (auto v = root.optional("secret_dir")) c.secret_dir = absolute_path(*v);
  c.secret_dir_tmpfs = root.bool_or("secret_dir_tmpfs", c.secret_dir_tmpfs);
  if (auto n = root.optional("limits")) load_limits(*n, c);
  if (auto n = root.optional("log")) {
    n->expect_keys({"format", "level"});
    if (auto v = n->optional("format")) c.log_format = one_of(*v, {"text", "json"});
    if (auto v = n->optional("level")) c.log_level = one_of(*v, {"debug", "info", "warn", "error"});
  }
  return c;
}

AgentConfig load_agent_config(const std::filesystem::path& path) {
  return parse_agent_config(read_text_file(path), path.string());
}

nlohmann::json AgentConfig::to_json() const {
  const char* mode = nsm_mode == NsmMode::kAuto ? "auto" : nsm_mode == NsmMode::kDevice ? "device" : "simulated";
  return {{"source", source},
          {"listen", listen},
          {"nsm",
           {{"mode", mode},
            {"device", nsm_device},
            {"state_dir", nsm_state_dir},
            {"pcrs_from", pcrs_from == PcrSource::kCmdline ? "cmdline" : "state_dir"},
            {"cmdline_file", cmdline_file}}},
          {"operators", operators.fingerprints()},
          {"exec", exec},
          {"copy", copy},
          {"secrets", secrets},
          {"logs", logs},
          {"log_dir", log_dir},
          {"secret_dir", secret_dir},
          {"secret_dir_tmpfs", secret_dir_tmpfs},
          {"limits",
           {{"max_connections", max_connections},
            {"handshake_timeout_ms", handshake_timeout_ms},
            {"max_secret_bytes", max_secret_bytes}}},
          {"log", {{"format", log_format}, {"level", log_level}}}};
}

}  // namespace ef::agent
