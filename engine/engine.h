#pragma once
// The daemon's core: owns this host's enclaves, their proxies, health and
// restart policy, and keeps everything in the state database so that a new
// enclaved process re-attaches to what still runs. Thread-safe: the API
// threads and the supervisor thread share one mutex.

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "engine/backend.h"
#include "engine/record.h"
#include "engine/relay.h"
#include "engine/state_db.h"

namespace ef::engine {

struct EngineConfig {
  std::filesystem::path state_dir = "/var/lib/enclaved";
  std::string default_backend = "local";
  std::filesystem::path pf_proxy = "pf-proxy";
  std::chrono::milliseconds poll_interval{500};  ///< status() polling of every enclave
  std::chrono::milliseconds stop_grace{5000};
};

/// Counters for /metrics.
struct EngineCounters {
  std::atomic<std::uint64_t> launches{0}, launch_failures{0}, restarts{0}, exits{0}, health_checks{0},
      health_failures{0}, api_requests{0}, api_errors{0};
};

class Engine {
 public:
  /// Creates STATE_DIR (0700) and opens STATE_DIR/state.db.
  Engine(EngineConfig config, std::map<std::string, std::unique_ptr<Backend>> backends);
  ~Engine();

  /// Re-attaches to every enclave in the database (running → keep, exited →
  /// restart policy), then starts the supervisor thread.
  void start();
  /// Stops the supervisor. Enclaves and proxies keep running (re-attach later).
  void shutdown();

  /// Validates, measures the image, launches, starts the proxy. Throws
  /// Error (name taken, bad spec, backend refusal) with nothing left behind.
  EnclaveRecord run(EnclaveSpec spec);
  /// Stops the enclave and its proxy; the record stays (status stopped).
  EnclaveRecord stop(const std::string& name);
  /// Removes a stopped/exited enclave (force: stops it first) and its state dir.
  void remove(const std::string& name, bool force);
  std::vector<EnclaveRecord> list();
  /// Throws NotFound when unknown.
  EnclaveRecord inspect(const std::string& name);
  /// A stream to the enclave's vsock `port` (for pipeline exec/cp/attest).
  UniqueFd connect(const std::string& name, std::uint32_t port);
  std::filesystem::path console_log(const std::string& name);

  /// Events after `seq`; waits up to `wait` for one to arrive when none is there.
  std::vector<Event> events_after(std::int64_t seq, std::chrono::milliseconds wait);
  std::string metrics_text();
  EngineCounters& counters() { return counters_; }
  const EngineConfig& config() const { return config_; }

  /// One supervision pass (the thread's body; tests call it directly).
  void tick();

 private:
  Backend& backend_for(const std::string& name);
  std::filesystem::path enclave_dir(const std::string& name) const;
  void launch_locked(EnclaveRecord& r);
  void emit_locked(const std::string& enclave, const std::string& type, nlohmann::json detail = nlohmann::json::object());
  void handle_exit_locked(EnclaveRecord& r);
  void reattach_locked(EnclaveRecord& r);
  /// Starts the in-process forwards for ports without a pf-proxy endpoint.
  void start_relays_locked(const EnclaveRecord& r, Backend& b, const EnclaveHandle& h);
  void check_health(std::vector<EnclaveRecord> snapshot);
  void supervise();

  EngineConfig config_;
  std::map<std::string, std::unique_ptr<Backend>> backends_;
  std::mutex mu_;
  std::condition_variable events_cv_;
  std::unique_ptr<StateDb> db_;
  std::map<std::string, std::chrono::steady_clock::time_point> restart_at_;
  std::map<std::string, std::chrono::steady_clock::time_point> next_health_;
  std::map<std::string, unsigned> health_failures_;
  std::map<std::string, int> pidfds_;  ///< name → pidfd of handle.pid
  std::map<std::string, std::vector<std::unique_ptr<PortRelay>>> relays_;  ///< ports enclaved forwards itself
  EngineCounters counters_;
  std::atomic<bool> stopping_{false};
  std::thread supervisor_;
  int wake_fd_ = -1;  ///< eventfd: wakes the supervisor
  std::int64_t last_seq_ = 0;
};

/// Thrown for an unknown enclave name (the API maps it to 404).
class NotFound : public Error {
 public:
  using Error::Error;
};
/// Thrown when the request conflicts with the current state (409).
class Conflict : public Error {
 public:
  using Error::Error;
};

}  // namespace ef::engine
