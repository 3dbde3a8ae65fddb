#pragma once
// fs-monitor's YAML configuration (docs/fs-monitor.md "Configuration").

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"

namespace ef::fsmon {

struct NatsConfig {
  std::string url;         ///< nats://host:port (or tls://)
  std::string bucket;      ///< KV bucket, created when missing
  std::string key_prefix;  ///< dot-separated KV key tokens put before the encoded path
  std::string creds_file;  ///< optional user credentials (JWT + nkey seed)
  bool tls = false;
  std::string tls_ca_file, tls_cert_file, tls_key_file;
};

struct Config {
  std::vector<std::string> roots;
  std::string ignore_file;  ///< "" = none
  int hash_threads = 2;
  std::size_t queue_bound = 65536;
  std::chrono::milliseconds settle{2};
  std::string socket = "/run/ra-web-srv/files.sock";  ///< "" disables the IPC
  std::optional<NatsConfig> nats;
  log::Format log_format = log::Format::kText;
  int status_interval_s = 60;  ///< 0 = no periodic status line

  /// One line for the start log (no secrets).
  std::string describe() const;
};

/// Parses a config file; errors name file:line:key.
Config load_config(const std::filesystem::path& path);
Config parse_config(std::string_view text, const std::string& file_name);

}  // namespace ef::fsmon
