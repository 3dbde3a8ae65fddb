#pragma once
// pf-proxy's engine: binds every forward's listeners, runs N worker threads
// (one epoll loop each; a TCP listener is one SO_REUSEPORT socket per worker,
// others are shared with EPOLLEXCLUSIVE), serves
// /metrics, and keeps dialer policies' host names resolved.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "netproxy/config.h"
#include "netproxy/metrics.h"
#include "netproxy/policy.h"

namespace ef::netproxy {

struct ForwardRuntime;
class Worker;
class MetricsServer;

class Proxy {
 public:
  /// `resolver` serves policy host names (tests pass a fake).
  explicit Proxy(Config config, HostResolver resolver = system_resolve);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  /// Binds everything and starts the threads; throws naming the forward that failed.
  void start();
  /// Stops the threads and closes every connection and listener. Idempotent.
  void stop();

  /// Addresses a forward actually listens on (port 0 in the config = chosen by the kernel).
  const std::vector<SockAddr>& bound(std::size_t forward) const;
  std::optional<SockAddr> metrics_address() const;
  Metrics& metrics() { return metrics_; }
  const Config& config() const { return config_; }
  /// Sessions alive in all workers (approximate while running).
  std::size_t session_count() const;
  /// Connections each worker accepted so far (while running).
  std::vector<std::uint64_t> accepted_per_worker() const;

 private:
  void bind_forward(ForwardRuntime& f);
  void refresh_policies();

  Config config_;
  HostResolver resolver_;
  Metrics metrics_;
  std::vector<std::unique_ptr<ForwardRuntime>> forwards_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::shared_ptr<void>> acceptors_;
  std::vector<std::thread> threads_;
  std::unique_ptr<MetricsServer> metrics_server_;
  std::thread refresher_;
  std::mutex refresh_mutex_;
  std::condition_variable refresh_cv_;
  bool stopping_ = false;
  bool started_ = false;
};

}  // namespace ef::netproxy
