#pragma once
// The HTTP(S) server: Asio + Beast. Listeners run on the caller's io_context;
// each accepted connection goes, round-robin, to one of N worker io_contexts of
// one thread each and stays there: one coroutine per connection, no strands. Listeners: TCP (TLS or, for tests, plain), vsock,
// and an optional plain-HTTP listener that only answers 301 to https.
// Limits: max connections, header bytes, body bytes; timeouts for the TLS
// handshake and headers, the whole request, and keep-alive idleness.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <vector>

#include "attest/websrv/api.h"
#include "attest/websrv/config.h"
#include "attest/websrv/metrics.h"

namespace ef::websrv {

/// An ssl::context for the server: TLS 1.3 (or 1.2 when `min_version` is "1.2")
/// and up, the given key and certificate, and client-certificate verification
/// against `client_ca` when it is not empty (mTLS). Throws ef::Error.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const std::string& min_version, EVP_PKEY* key, X509* cert,
                                                            const std::string& client_ca);

class Server {
 public:
  /// `tls` may be null only when config.tls is false. `io` runs the listeners;
  /// `threads` (at least 1) worker threads, started by start(), run connections.
  Server(boost::asio::io_context& io, const Config& config, const Api& api, Metrics& metrics,
         boost::asio::ssl::context* tls, unsigned threads);
  /// stop() and join().
  ~Server();

  /// Binds every configured listener (throws ef::Error naming the address) and
  /// starts accepting. Returns what it bound ("tcp 127.0.0.1:8443", ...).
  std::vector<std::string> start();
  /// Stops accepting and stops the worker threads (open connections are dropped).
  void stop();
  /// Waits for the worker threads to end (after stop()).
  void join();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ef::websrv
