#pragma once
// ra-web-srv's configuration, loaded from YAML through base/yaml_config.h
// (every error names file:line:key; unknown keys are rejected).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ef::websrv {

struct HostPort {
  std::string host;  ///< an IP literal ("127.0.0.1", "::", "0.0.0.0")
  std::uint16_t port = 0;  ///< 0 = any free port (tests)
};
/// "HOST:PORT" or "[V6]:PORT"; the host must be an IP literal. Throws ef::Error.
HostPort parse_host_port(std::string_view text);

enum class NsmMode { kAuto, kDevice, kSimulated };

struct Config {
  std::string source = "(defaults)";  ///< the file it came from

  // listen
  std::vector<HostPort> tcp{{"127.0.0.1", 8443}};
  std::optional<std::uint32_t> vsock_port;
  std::optional<HostPort> redirect;          ///< plain-HTTP listener that only answers 301
  std::optional<std::uint16_t> redirect_https_port;  ///< port in Location (default: first tcp port)

  // tls
  bool tls = true;                 ///< false = plain HTTP (tests and benchmarks only)
  std::string tls_min_version = "1.3";  ///< "1.3" | "1.2"
  std::string tls_key_type = "P-384";   ///< "P-384" | "P-256"
  std::string tls_cert_file, tls_key_file;  ///< both or neither: use these instead of generating
  std::string tls_write_dir;       ///< write the generated key/cert here (0700 dir, 0600 files)
  std::string tls_common_name = "ra-web-srv";
  std::string client_ca;           ///< PEM bundle; set = mTLS required

  // vrf
  std::string vrf_key_file;        ///< "" = ephemeral

  // nsm
  NsmMode nsm_mode = NsmMode::kAuto;
  std::string nsm_device = "/dev/nsm";
  std::string nsm_state_dir = "/var/lib/ra-web-srv/sim-nsm";  ///< dev CA + optional pcrs.json
  bool nsm_pcrs_from_cmdline = false;        ///< simulated: PCR0/1/2 from ef.pcrN= on the kernel command line
  std::string nsm_cmdline_file = "/proc/cmdline";
  std::vector<std::string> extra_roots;  ///< more PEM roots for POST /v1/verify/attestation

  // files
  std::string files_socket = "/run/ra-web-srv/files.sock";  ///< "" = no file index
  /// The one uid whose connections may feed the file index (SO_PEERCRED);
  /// unset = ra-web-srv's own effective uid.
  std::optional<std::uint32_t> files_producer_uid;

  // limits
  unsigned io_threads = 0;  ///< 0 = hardware concurrency
  std::uint32_t max_connections = 4096;
  std::uint32_t max_header_bytes = 8192;
  std::uint32_t max_body_bytes = 64 * 1024;
  std::uint32_t header_timeout_ms = 10'000;
  std::uint32_t request_timeout_ms = 30'000;
  std::uint32_t idle_timeout_ms = 60'000;

  // log
  std::string log_format = "text";
  std::string log_level = "info";

  /// The effective configuration for the start log line (no secrets: paths only).
  nlohmann::json to_json() const;
};

/// Loads and validates a config file. Throws ef::Error "file:line: key: message".
Config load_config(const std::filesystem::path& path);
/// The same from text (tests).
Config parse_config(std::string_view text, const std::string& file_name);

}  // namespace ef::websrv
