#pragma once
// The client side of the control API (initctl).

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "base/fd.h"
#include "runtime/control_protocol.h"

namespace ef::init {

/// Where init listens: a unix socket path, or "vsock:CID:PORT".
struct Endpoint {
  std::string unix_path = "/run/init.sock";
  bool vsock = false;
  std::uint32_t cid = 0;
  std::uint32_t port = 9001;

  /// "vsock:16:9001", "vsock:16" (port 9001) or a socket path.
  static Endpoint parse(const std::string& text);
  std::string describe() const;
};

class ControlClient {
 public:
  /// Connects; throws SysError naming the endpoint.
  ControlClient(const Endpoint& ep, int timeout_ms);

  /// Sends `req` and returns the first response line.
  nlohmann::json call(const Request& req);
  /// Reads the next response line (log lines when following); nullopt at end.
  /// `wait_forever`: no timeout (following logs).
  std::optional<nlohmann::json> next(bool wait_forever = false);

 private:
  std::string describe_;
  UniqueFd fd_;
  int timeout_ms_;
  std::string buf_;
};

}  // namespace ef::init
