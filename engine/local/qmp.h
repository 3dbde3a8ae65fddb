#pragma once
// A QEMU Machine Protocol client: greeting, qmp_capabilities, commands.

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "base/fd.h"

namespace ef::engine::local {

class QmpClient {
 public:
  /// Connects to QEMU's -qmp unix socket and negotiates capabilities; throws
  /// Error naming the socket.
  QmpClient(const std::filesystem::path& socket, int timeout_ms);
  /// Runs `command`; returns its "return" value, throws Error with QEMU's "error".
  nlohmann::json execute(const std::string& command, const nlohmann::json& arguments = nullptr);

 private:
  nlohmann::json read_message();  ///< skips asynchronous events
  std::string describe_;
  UniqueFd fd_;
  int timeout_ms_;
  std::string buf_;
};

}  // namespace ef::engine::local
