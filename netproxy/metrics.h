#pragma once
// Counters per forward, rendered as Prometheus text. Updated lock-free from
// worker threads; read by the /metrics endpoint.

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

namespace ef::netproxy {

enum class ErrorKind {
  kAccept,            ///< accept() failed (EMFILE, ...)
  kConnect,           ///< upstream refused or unreachable
  kConnectTimeout,    ///< upstream did not answer in time
  kIdleTimeout,       ///< no traffic for idle_timeout
  kReset,             ///< a peer reset or vanished mid-stream
  kHeader,            ///< malformed destination header
  kOriginalDst,       ///< a transparent connection without a redirect record
  kPolicy,            ///< destination denied by the egress policy
  kLimit,             ///< max_connections reached
  kDatagramDropped,   ///< UDP datagram dropped (queue full, oversize, send failure)
  kCount
};

std::string_view error_kind_name(ErrorKind kind);

struct ForwardMetrics {
  explicit ForwardMetrics(std::string forward_name) : name(std::move(forward_name)) {}
  std::string name;
  std::atomic<std::int64_t> open{0};
  std::atomic<std::uint64_t> total{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> bytes_up{0};    ///< listener side → connected side
  std::atomic<std::uint64_t> bytes_down{0};  ///< connected side → listener side
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(ErrorKind::kCount)> errors{};

  void error(ErrorKind kind) { errors[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t errors_of(ErrorKind kind) const { return errors[static_cast<std::size_t>(kind)].load(); }
};

/// All forwards' metrics; entries have stable addresses.
class Metrics {
 public:
  ForwardMetrics& add(std::string name);
  /// Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::deque<ForwardMetrics> forwards_;
};

}  // namespace ef::netproxy
