#pragma once
// ef-agent's configuration, /etc/ef-agent.yaml, loaded through base/yaml_config.h
// (file:line: key on every error, unknown keys rejected). See docs/agent.md.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/agent/operators.h"

namespace ef::agent {

enum class NsmMode { kAuto, kDevice, kSimulated };
/// Where the simulated NSM takes PCR0/1/2 from.
enum class PcrSource { kStateDir, kCmdline };

struct AgentConfig {
  std::string source = "(defaults)";
  std::vector<std::string> listen{"vsock:any:7000"};  ///< netproxy endpoint strings

  NsmMode nsm_mode = NsmMode::kAuto;
  std::string nsm_device = "/dev/nsm";
  std::string nsm_state_dir = "/run/ef-agent/sim-nsm";  ///< dev CA (ca/) + optional pcrs.json
  PcrSource pcrs_from = PcrSource::kStateDir;
  std::string cmdline_file = "/proc/cmdline";           ///< read for pcrs_from: cmdline

  OperatorList operators;
  bool exec = true, copy = true, secrets = true, logs = true;
  std::string log_dir = "/run/init/log";
  std::string secret_dir = "/run/secrets";
  bool secret_dir_tmpfs = true;  ///< refuse secrets unless secret_dir is tmpfs/ramfs

  std::uint32_t max_connections = 16;
  std::uint32_t handshake_timeout_ms = 10'000;
  std::uint32_t max_secret_bytes = 64 * 1024;

  std::string log_format = "text";
  std::string log_level = "info";

  /// The effective configuration for the start log line (operators as fingerprints).
  nlohmann::json to_json() const;
};

AgentConfig parse_agent_config(std::string_view text, const std::string& file_name);
AgentConfig load_agent_config(const std::filesystem::path& path);

}  // namespace ef::agent
