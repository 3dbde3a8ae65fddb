#pragma once
// pf-proxy's configuration: many forwards from a YAML file, or one from flags.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "netproxy/duration.h"
#include "netproxy/endpoint.h"
#include "netproxy/policy.h"

namespace ef::netproxy {

enum class Mode {
  kForward,      ///< listen → connect, bytes only (vsock→tcp, tcp→vsock, any pair)
  kTransparent,  ///< enclave egress: redirected TCP → header(SO_ORIGINAL_DST) + stream to connect
  kIngress,      ///< host ingress: each listened port → header(that port) + stream to connect
  kDialer,       ///< the other half of both: read header, check policy, dial the destination
  kUdpToStream,  ///< datagrams on a UDP listener → framed stream to connect (enclave DNS)
  kStreamToUdp,  ///< framed stream → datagrams to a UDP connect address (host resolver)
};

std::string_view mode_name(Mode mode);
Mode parse_mode(std::string_view text);  ///< throws Error listing the modes

struct ForwardSpec {
  std::string name;
  Mode mode = Mode::kForward;
  Endpoint listen;
  std::vector<std::uint16_t> ports;  ///< ingress: listen on each of these ports of listen's host
  std::optional<Endpoint> connect;   ///< all modes but dialer
  std::string dial_host;             ///< dialer: replace the header's address (ingress: 127.0.0.1)
  Policy policy;                     ///< dialer only
  std::size_t max_connections = 10000;
  Millis connect_timeout{10000};
  Millis idle_timeout{0};  ///< 0 = never (UDP sessions default to 60 s)
  bool zero_copy = true;   ///< splice through a pipe; off = copy through a buffer
  std::size_t buffer_size = 256 * 1024;  ///< per direction (pipe size or copy buffer)
};

struct Config {
  int workers = 2;
  std::optional<Endpoint> metrics;  ///< Prometheus /metrics listener
  log::Format log_format = log::Format::kText;
  log::Level log_level = log::Level::kInfo;
  std::vector<ForwardSpec> forwards;

  /// Throws Error when a forward lacks what its mode needs.
  void validate() const;
  /// One line per forward, for the start-up log.
  std::string describe() const;
};

Config load_config(const std::filesystem::path& path);
Config parse_config(std::string_view yaml, const std::string& file_name);

}  // namespace ef::netproxy
