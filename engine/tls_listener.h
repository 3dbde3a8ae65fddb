#pragma once
// The API over TCP with mutual TLS (TLS 1.3 only; the client must present a
// certificate chaining to --tls-client-ca). Each connection's plaintext is
// pumped through a socketpair into the same request handling as the unix
// socket; descriptor passing (/connect) is refused over TCP.

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "base/fd.h"
#include "engine/api.h"

namespace ef::engine {

struct TlsConfig {
  std::string listen;              ///< HOST:PORT ("127.0.0.1:2376", "[::1]:2376")
  std::filesystem::path cert, key, client_ca;
  int request_timeout_ms = 10000;
};

class TlsListener {
 public:
  /// Loads the certificate, key and client CA, and binds; throws Error naming the file.
  TlsListener(Api& api, TlsConfig config);
  ~TlsListener();
  void run(const std::atomic<bool>& stop);
  /// The bound port (for listen ports of 0).
  int port() const { return port_; }

 private:
  void serve(UniqueFd tcp, const std::atomic<bool>& stop);
  Api& api_;
  TlsConfig config_;
  UniqueFd listen_fd_;
  int port_ = 0;
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::atomic<int> active_{0};
};

}  // namespace ef::engine
