#pragma once
// Internal: what the worker threads share (a forward's runtime state) and own
// (an event loop and its sessions).

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/fd.h"
#include "netproxy/config.h"
#include "netproxy/event_loop.h"
#include "netproxy/header.h"
#include "netproxy/metrics.h"

namespace ef::netproxy {

/// One configured forward, shared read-mostly by every worker.
struct ForwardRuntime {
  ForwardSpec spec;
  std::optional<SockAddr> connect_address;  ///< resolved at start
  std::optional<OriginalDst> dial_override; ///< dialer's dial_host, resolved at start
  ForwardMetrics* metrics = nullptr;
  std::vector<UniqueFd> listeners;
  /// For a TCP stream listener served by several workers: shards[i][k] is
  /// worker k+1's own SO_REUSEPORT socket on listeners[i]'s address (worker 0
  /// uses listeners[i]); the kernel spreads connections across them. Empty
  /// when the listener is shared by every worker with EPOLLEXCLUSIVE.
  std::vector<std::vector<UniqueFd>> shards;
  std::vector<SockAddr> bound;

  std::shared_ptr<const Policy> policy() const {
    std::lock_guard lock(policy_mutex_);
    return policy_;
  }
  void set_policy(std::shared_ptr<const Policy> p) {
    std::lock_guard lock(policy_mutex_);
    policy_ = std::move(p);
  }
  /// idle_timeout, or `fallback` when none is configured.
  Millis idle_or(Millis fallback) const { return spec.idle_timeout.count() > 0 ? spec.idle_timeout : fallback; }

 private:
  mutable std::mutex policy_mutex_;
  std::shared_ptr<const Policy> policy_;
};

/// Anything a worker keeps alive: a relayed connection or a UDP session.
class Session {
 public:
  virtual ~Session() = default;
  /// Called about every 100 ms to enforce timeouts.
  virtual void on_tick(Clock::time_point now) = 0;
  /// Closes everything now (shutdown of the proxy).
  virtual void abort() = 0;
};

class Worker {
 public:
  explicit Worker(int index) : index_(index) {}
  Loop& loop() { return loop_; }
  int index() const { return index_; }

  void adopt(std::shared_ptr<Session> s) {
    Session* key = s.get();
    sessions_.emplace(key, std::move(s));
  }
  /// Forgets a session; it is destroyed after the current event batch.
  void release(Session* s) {
    auto it = sessions_.find(s);
    if (it == sessions_.end()) return;
    loop_.retire(std::move(it->second));
    sessions_.erase(it);
  }
  void tick() {
    std::vector<Session*> all;
    all.reserve(sessions_.size());
    for (auto& [k, v] : sessions_) all.push_back(k);
    for (Session* s : all)
      if (sessions_.count(s)) s->on_tick(loop_.now());
  }
  void abort_all() {
    while (!sessions_.empty()) sessions_.begin()->first->abort();
  }
  std::size_t session_count() const { return sessions_.size(); }
  /// Connections this worker accepted (readable from any thread).
  std::atomic<std::uint64_t>& accepted() { return accepted_; }

 private:
  int index_;
  std::atomic<std::uint64_t> accepted_{0};
  Loop loop_;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_;
};

}  // namespace ef::netproxy
