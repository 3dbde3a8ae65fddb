#pragma once
// Runs the configured services: dependency order, readiness, restarts with
// backoff and limits, ordered stop, reload by difference.

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/fd.h"
#include "runtime/config.h"
#include "runtime/event_loop.h"
#include "runtime/log_sink.h"
#include "runtime/restart.h"

namespace ef::init {

enum class State { kStopped, kWaiting, kStarting, kRunning, kStopping, kBackoff, kExited, kFailed };
std::string_view to_string(State s);

/// A service as the control API shows it.
struct ServiceStatus {
  std::string name;
  State state = State::kStopped;
  pid_t pid = 0;
  bool enabled = true;
  Millis uptime = 0;       // of the current run, 0 when not running
  int restarts = 0;        // automatic restarts so far
  int exit_code = -1;      // last exit: status, or 128+signal; -1: none yet
  std::string last_exit;   // "exited with status 1", "killed by SIGKILL"
  std::string error;       // why it is failed or waiting
  std::string exec;
  std::string restart_policy;
};

class Supervisor {
 public:
  struct Hooks {
    /// A service marked critical ended for good (not on request).
    std::function<void(const std::string& reason)> critical_exit;
  };

  /// `console_fd`: where service output is echoed (-1: nowhere).
  Supervisor(EventLoop& loop, int console_fd, Hooks hooks);
  ~Supervisor();

  /// Takes the configuration: the first time it only records it; on later calls
  /// (reload) it starts new services, stops removed ones and restarts changed ones.
  /// Returns a summary of the changes ("added x; removed y; changed z").
  std::string configure(const InitConfig& cfg);
  /// Starts every enabled service in dependency order.
  void start_all();

  void start(const std::string& name);
  void stop(const std::string& name);
  void restart(const std::string& name);
  void enable(const std::string& name);
  void disable(const std::string& name);

  /// Stops everything in reverse dependency order; `done` runs once nothing runs.
  void shutdown(std::function<void()> done);
  bool shutting_down() const { return shutting_down_; }

  /// Reaped child `pid`; returns false when it was not a service (an orphan).
  bool on_child_exit(pid_t pid, int wait_status);
  /// Sends `sig` to the services that list it in forward_signals; returns how many.
  int forward_signal(int sig);

  std::vector<ServiceStatus> list() const;
  ServiceStatus status(const std::string& name) const;
  std::shared_ptr<LogSink> logs(const std::string& name);
  bool has(const std::string& name) const { return services_.count(name) != 0; }

 private:
  struct Service;
  Service& get(const std::string& name) const;
  void pump();
  void pump_stops();
  bool try_start(Service& s);
  void launch(Service& s);
  void fail(Service& s, const std::string& why);
  void begin_stop(Service& s);
  void poll_ready(Service& s);
  void on_exit(Service& s, int wait_status);
  void watch_output(int fd, std::shared_ptr<LogSink> sink);
  void cancel_timer(Service& s);
  void rebuild_order();
  std::vector<std::string> dependents(const std::string& name) const;
  void want(Service& s);
  void announce_settled();

  EventLoop& loop_;
  int console_fd_;
  Hooks hooks_;
  InitConfig config_;
  bool configured_ = false;
  std::map<std::string, std::unique_ptr<Service>> services_;
  std::vector<std::string> order_;  // start order
  std::map<pid_t, std::string> pids_;
  std::map<int, std::pair<UniqueFd, std::shared_ptr<LogSink>>> pipes_;
  bool shutting_down_ = false;
  bool settled_announced_ = false;  // "all services started" is logged once per boot
  std::function<void()> shutdown_done_;
};

}  // namespace ef::init
