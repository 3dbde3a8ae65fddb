#pragma once
// A single-threaded epoll loop with one-shot timers: init's only thread.

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>

#include "base/fd.h"
#include "runtime/config.h"

namespace ef::init {

/// CLOCK_MONOTONIC in milliseconds.
Millis monotonic_ms();

class EventLoop {
 public:
  using FdCallback = std::function<void(std::uint32_t events)>;
  using TimerId = std::uint64_t;

  EventLoop();

  /// Watches `fd` (not owned) for epoll `events`. A callback may add or remove
  /// any fd, including its own.
  void add(int fd, std::uint32_t events, FdCallback cb);
  void modify(int fd, std::uint32_t events);
  void remove(int fd);
  bool watching(int fd) const { return fds_.count(fd) != 0; }

  /// Runs `cb` once, `delay` ms from now. Returns an id for cancel().
  TimerId after(Millis delay, std::function<void()> cb);
  void cancel(TimerId id);

  /// Waits up to `max_wait` ms (-1: until something happens), then runs due
  /// timers and ready fds.
  void run_once(Millis max_wait = -1);

 private:
  struct Watch {
    std::uint32_t generation;
    FdCallback cb;
  };
  struct Timer {
    TimerId id;
    std::function<void()> cb;
  };
  void run_timers();

  UniqueFd epoll_;
  std::unordered_map<int, Watch> fds_;
  std::uint32_t generation_ = 0;
  std::multimap<Millis, Timer> timers_;
  std::unordered_map<TimerId, Millis> timer_due_;
  TimerId next_timer_ = 1;
};

}  // namespace ef::init
