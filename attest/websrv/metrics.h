#pragma once
// Prometheus text metrics: requests by route and status, latency histograms,
// documents issued, connections, files tracked. Lock-free counters.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ef::websrv {

class Metrics {
 public:
  /// `routes` names the route label values; index routes.size() is "unmatched".
  explicit Metrics(std::vector<std::string> routes);

  void observe(std::size_t route, int status, double seconds);
  void document_issued() { documents_.fetch_add(1, std::memory_order_relaxed); }
  void connection_opened() { open_.fetch_add(1, std::memory_order_relaxed); accepted_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_.fetch_sub(1, std::memory_order_relaxed); }
  void connection_rejected() { rejected_.fetch_add(1, std::memory_order_relaxed); }
  void tls_handshake_failed() { tls_failed_.fetch_add(1, std::memory_order_relaxed); }
  void timeout() { timeouts_.fetch_add(1, std::memory_order_relaxed); }
  /// A file-index connection refused: from a uid other than the producer's, or while the producer is connected.
  enum class IndexRefusal { kUid, kBusy };
  void index_refused(IndexRefusal why) {
    (why == IndexRefusal::kUid ? index_refused_uid_ : index_refused_busy_).fetch_add(1, std::memory_order_relaxed);
  }
  std::int64_t open_connections() const { return open_.load(std::memory_order_relaxed); }

  /// The exposition text (format 0.0.4).
  std::string render(std::size_t files_tracked) const;

  static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  /// Status label values; the last (0) counts every other status as "other".
  static constexpr std::array<int, 12> kStatuses{200, 301, 400, 404, 405, 408, 413, 422, 431, 500, 503, 0};

 private:
  struct Route {
    std::array<std::atomic<std::uint64_t>, kStatuses.size()> by_status{};
    std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<std::uint64_t> sum_us{0};
    std::atomic<std::uint64_t> count{0};
  };
  std::vector<std::string> names_;
  std::unique_ptr<Route[]> routes_;
  std::atomic<std::uint64_t> documents_{0}, accepted_{0}, rejected_{0}, tls_failed_{0}, timeouts_{0};
  std::atomic<std::uint64_t> index_refused_uid_{0}, index_refused_busy_{0};
  std::atomic<std::int64_t> open_{0};
};

}  // namespace ef::websrv
