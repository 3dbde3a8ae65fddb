#pragma once
// enclaved's listener: the API on a unix socket (default /run/enclaved.sock,
// mode 0660), one thread per connection (bounded), one request per
// connection; chunked or WebSocket streams for events and logs.

#include <atomic>
#include <filesystem>
#include <mutex>
#include <condition_variable>

#include "base/fd.h"
#include "engine/api.h"

namespace ef::engine {

struct ServerConfig {
  std::filesystem::path socket = "/run/enclaved.sock";
  mode_t mode = 0660;
  unsigned max_connections = 64;
  int request_timeout_ms = 10000;
};

class Server {
 public:
  /// Binds the socket (replacing a stale one no daemon answers on; refusing
  /// when another enclaved listens there).
  Server(Api& api, ServerConfig config);
  ~Server();
  /// Serves until `stop` turns true; then waits (≤ 3 s) for open connections.
  void run(const std::atomic<bool>& stop);
  const ServerConfig& config() const { return config_; }

 private:
  Api& api_;
  ServerConfig config_;
  UniqueFd listen_fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  unsigned active_ = 0;
};

/// Serves one API connection on `fd` (a unix socket, or the plaintext end
/// of a TLS pump): reads the request, answers, streams.
void serve_api_connection(Api& api, UniqueFd fd, const ApiContext& context, const std::atomic<bool>& stop,
                          int request_timeout_ms);

/// Sends `fd` over the unix socket `sock` with SCM_RIGHTS (one data byte 'F').
void send_fd(int sock, int fd);
/// Receives a descriptor sent by send_fd; throws Error when none came.
UniqueFd recv_fd(int sock);

}  // namespace ef::engine
