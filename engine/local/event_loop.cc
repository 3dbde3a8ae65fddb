#include "engine/local/event_loop.h"

#include <sys/epoll.h>

#include <cerrno>

#include "base/error.h"

namespace ef::engine::local {

EventLoop::EventLoop() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw_errno("epoll_create1", "event loop");
}

void EventLoop::add(int fd, std::uint32_t events, Handler handler) {
  std::uint32_t gen = next_generation_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (std::uint64_t(gen) << 32) | std::uint32_t(fd);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl ADD", "fd " + std::to_string(fd));
  entries_[fd] = Entry{gen, events, std::move(handler)};
}

void EventLoop::modify(int fd, std::uint32_t events) {
  auto it = entries_.find(fd);
  if (it == entries_.end() || it->second.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (std::uint64_t(it->second.generation) << 32) | std::uint32_t(fd);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) throw_errno("epoll_ctl MOD", "fd " + std::to_string(fd));
  it->second.events = events;
}

void EventLoop::remove(int fd) {
  auto it = entries_.find(fd);
  if (it == entries_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  entries_.erase(it);
}

int EventLoop::run_once(int timeout_ms) {
  epoll_event evs[64];
  int n = ::epoll_wait(epoll_.get(), evs, 64, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    throw_errno("epoll_wait", "event loop");
  }
  for (int i = 0; i < n; ++i) {
    int fd = static_cast<int>(evs[i].data.u64 & 0xffffffffu);
    std::uint32_t gen = static_cast<std::uint32_t>(evs[i].data.u64 >> 32);
    auto it = entries_.find(fd);
    if (it == entries_.end() || it->second.generation != gen) continue;
    Handler h = it->second.handler;  // the handler may remove itself
    h(evs[i].events);
  }
  return n;
}

}  // namespace ef::engine::local
