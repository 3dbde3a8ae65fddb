#pragma once
// Test peers for pf-proxy (tests and bench), written without the proxy's code: a poll-driven echo
// server that half-closes after its client does, and poll-driven clients that
// send a random payload, half-close, and check what comes back (sha256).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "netproxy/endpoint.h"

namespace ef::netproxy::testkit {

/// Echoes every connection on `listen` until the peer half-closes, then
/// half-closes too. Serves until destroyed.
class EchoServer {
 public:
  explicit EchoServer(const std::string& listen);
  ~EchoServer();
  SockAddr address() const { return address_; }
  std::size_t accepted() const { return accepted_.load(); }

 private:
  void run();
  UniqueFd listener_;
  UniqueFd stop_;
  SockAddr address_;
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
};

struct ClientResult {
  std::size_t ok = 0;      ///< connections whose echo was byte-identical
  std::size_t failed = 0;  ///< connect errors, resets, mismatches
  std::uint64_t bytes = 0;
};

/// Opens one connection per size (at most `concurrency` at once), sends that many
/// random bytes (optionally after a raw `prefix`), half-closes, and compares the
/// sha256 of what returns with what was sent.
ClientResult run_echo_clients(const SockAddr& target, const std::vector<std::uint64_t>& sizes,
                              std::size_t concurrency, const std::vector<std::uint8_t>& prefix = {});

/// Connects, sends `data`, half-closes, returns everything read until EOF or reset
/// (reset sets *reset when given).
std::string send_and_read(const SockAddr& target, const std::string& data, bool* reset = nullptr);

/// Open fds of this process.
std::size_t count_open_fds();

/// Polls `cond` every 10 ms for up to 5 s; its last answer.
template <typename F>
bool eventually(F cond) {
  for (int i = 0; i < 500; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

/// A unique path for a unix socket in the temp dir.
std::string temp_socket(const std::string& tag);

}  // namespace ef::netproxy::testkit
