#pragma once
// One epoll loop per worker thread. Handlers are called for their fd's events;
// objects retired during a batch are destroyed only after the batch, so a
// stale event never touches freed memory.

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/fd.h"

namespace ef::netproxy {

using Clock = std::chrono::steady_clock;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void on_event(std::uint32_t events) = 0;
};

class Loop {
 public:
  Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  void add(int fd, std::uint32_t events, Handler* handler);
  void modify(int fd, std::uint32_t events, Handler* handler);
  void remove(int fd);

  /// Runs until stop(); calls tick() about every `tick_interval`.
  void run(std::chrono::milliseconds tick_interval, const std::function<void()>& tick);
  /// Thread-safe: makes run() return soon.
  void stop();
  /// Thread-safe: runs fn on the loop's thread.
  void post(std::function<void()> fn);

  /// Keeps `object` alive until the current batch of events is dispatched.
  void retire(std::shared_ptr<void> object) { graveyard_.push_back(std::move(object)); }
  /// The time of the last wake-up (cheap; refreshed each batch).
  Clock::time_point now() const { return now_; }

 private:
  class Waker;
  UniqueFd epoll_;
  UniqueFd wake_fd_;
  std::unique_ptr<Handler> waker_;
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<void>> graveyard_;
  Clock::time_point now_ = Clock::now();
};

}  // namespace ef::netproxy
