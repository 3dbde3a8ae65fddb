#pragma once
// A small epoll loop: level-triggered, one handler per fd, safe against
// handlers that remove fds (their own or others) while events are dispatched.

#include <cstdint>
#include <functional>
#include <unordered_map>

#include "base/fd.h"

namespace ef::engine::local {

class EventLoop {
 public:
  using Handler = std::function<void(std::uint32_t events)>;
  EventLoop();

  /// Watches `fd` (not owned) for `events` (EPOLLIN/EPOLLOUT…).
  void add(int fd, std::uint32_t events, Handler handler);
  void modify(int fd, std::uint32_t events);
  /// Stops watching `fd`; pending events for it are dropped. No-op if unknown.
  void remove(int fd);
  /// Waits up to `timeout_ms` (-1: forever) and dispatches; returns the number of events.
  int run_once(int timeout_ms);

 private:
  struct Entry {
    std::uint32_t generation;
    std::uint32_t events;
    Handler handler;
  };
  UniqueFd epoll_;
  std::uint32_t next_generation_ = 1;
  std::unordered_map<int, Entry> entries_;
};

}  // namespace ef::engine::local
