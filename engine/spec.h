#pragma once
// What the user asks to run: one enclave's configuration, from `pipeline run`
// flags, a compose file entry or the API's JSON body. Validated in one place.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/restart_policy.h"

namespace ef::engine {

/// `-p [HOST_ADDR:]HOST_PORT:ENCLAVE_PORT` — TCP on the host to the enclave's vsock port.
struct PortMapping {
  std::string host_addr = "127.0.0.1";
  std::uint16_t host_port = 0;
  std::uint32_t enclave_port = 0;
  /// Parses "8443:443", "0.0.0.0:8443:443", "[::1]:8443:443"; throws Error naming the text.
  static PortMapping parse(std::string_view text);
  std::string to_string() const;
};

/// Egress from the enclave through the host's pf-proxy (dialer mode): the
/// enclave connects to the parent on vsock `port`; the policy decides.
struct EgressSpec {
  std::uint32_t port = 0;  ///< 0 = no egress
  std::vector<std::string> allow, deny;
};

/// Health check: connect to the enclave's vsock `port` (optionally send an
/// HTTP GET of `http_path` and require a 2xx answer) every `interval_ms`.
struct HealthSpec {
  std::uint32_t port = 0;  ///< 0 = healthy once running
  std::string http_path;
  unsigned interval_ms = 1000;
  unsigned timeout_ms = 1000;
  unsigned retries = 3;  ///< consecutive failures before "unhealthy"
};

struct EnclaveSpec {
  std::string name;
  std::string image;  ///< path to the EIF (absolute once the engine accepted it)
  unsigned cpus = 2;
  std::uint64_t memory_mib = 512;
  std::optional<std::uint32_t> cid;
  std::vector<PortMapping> ports;
  EgressSpec egress;
  HealthSpec health;
  RestartPolicy restart;
  std::map<unsigned, std::string> expected_pcrs;  ///< empty = take the image's own
  std::uint32_t agent_port = 7000;                ///< the in-enclave ef-agent's vsock port
  bool debug_mode = false;
  std::string backend;  ///< "" = the daemon's default
  std::string project;  ///< compose project that owns it ("" = none)
};

/// Throws Error unless `name` matches [a-z0-9][a-z0-9_.-]{0,62}.
void check_name(std::string_view name);
/// "512", "512M", "512MiB", "2G", "2GiB" → MiB; throws Error naming the text.
std::uint64_t parse_memory_mib(std::string_view text);
/// Checks ranges (cpus 1..256, memory 64 MiB..1 TiB, CIDs ≥ 4, ports, PCR hex)
/// and duplicate host ports; throws Error naming the field.
void validate(const EnclaveSpec& spec);

nlohmann::json to_json(const EnclaveSpec& spec);
/// Strict: unknown keys and wrong types are errors naming the key ("spec.ports[1]: …").
EnclaveSpec spec_from_json(const nlohmann::json& j);

}  // namespace ef::engine
