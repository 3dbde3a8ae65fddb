#pragma once
// pipeline's side of the enclaved API: HTTP/1.1 over the unix socket, JSON
// bodies, chunked streams, and the enclave stream passed as a descriptor.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/fd.h"

namespace ef::engine {

class ApiClient {
 public:
  explicit ApiClient(std::filesystem::path socket) : socket_(std::move(socket)) {}

  /// Sends one request; returns the parsed JSON body of a 2xx answer, and
  /// throws Error with the daemon's message otherwise.
  nlohmann::json call(const std::string& method, const std::string& target, const nlohmann::json* body = nullptr);
  /// Streams a chunked answer; `on_data` returns false to stop early.
  void stream(const std::string& target, const std::function<bool(std::string_view)>& on_data);
  /// POST /v1/enclaves/NAME/connect?port=PORT: a stream to the enclave's vsock port.
  UniqueFd connect_enclave(const std::string& name, std::uint32_t port);

 private:
  UniqueFd open();
  std::filesystem::path socket_;
};

/// Percent-encodes a path segment or query value.
std::string url_encode(std::string_view s);

}  // namespace ef::engine
