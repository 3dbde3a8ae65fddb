#include "runtime/event_loop.h"

#include <sys/epoll.h>

#include <cerrno>
#include <ctime>
#include <vector>

#include "base/error.h"

namespace ef::init {

Millis monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Millis>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

EventLoop::EventLoop() : epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw_errno("create", "epoll instance");
}

void EventLoop::add(int fd, std::uint32_t events, FdCallback cb) {
  std::uint32_t gen = ++generation_;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<std::uint64_t>(gen) << 32) | static_cast<std::uint32_t>(fd);
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("watch", "fd " + std::to_string(fd));
  fds_[fd] = Watch{gen, std::move(cb)};
}

void EventLoop::modify(int fd, std::uint32_t events) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<std::uint64_t>(it->second.generation) << 32) | static_cast<std::uint32_t>(fd);
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) < 0) throw_errno("rewatch", "fd " + std::to_string(fd));
}

void EventLoop::remove(int fd) {
  if (fds_.erase(fd) == 0) return;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::after(Millis delay, std::function<void()> cb) {
  TimerId id = next_timer_++;
  Millis due = monotonic_ms() + (delay < 0 ? 0 : delay);
  timers_.emplace(due, Timer{id, std::move(cb)});
  timer_due_[id] = due;
  return id;
}

void EventLoop::cancel(TimerId id) {
  auto it = timer_due_.find(id);
  if (it == timer_due_.end()) return;
  auto [lo, hi] = timers_.equal_range(it->second);
  for (auto t = lo; t != hi; ++t) {
    if (t->second.id == id) {
      timers_.erase(t);
      break;
    }
  }
  timer_due_.erase(it);
}

void EventLoop::run_timers() {
  Millis now = monotonic_ms();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    Timer t = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    timer_due_.erase(t.id);
    t.cb();
  }
}

void EventLoop::run_once(Millis max_wait) {
  Millis wait = max_wait;
  if (!timers_.empty()) {
    Millis until = timers_.begin()->first - monotonic_ms();
    if (until < 0) until = 0;
    if (wait < 0 || until < wait) wait = until;
  }
  epoll_event events[64];
  int n = epoll_wait(epoll_.get(), events, 64, static_cast<int>(wait));
  if (n < 0 && errno != EINTR) throw_errno("wait on", "epoll instance");
  for (int i = 0; i < n; ++i) {
    int fd = static_cast<int>(events[i].data.u64 & 0xFFFFFFFFu);
    auto gen = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
    auto it = fds_.find(fd);
    if (it == fds_.end() || it->second.generation != gen) continue;
    FdCallback cb = it->second.cb;  // the callback may remove itself
    cb(events[i].events);
  }
  run_timers();
}

}  // namespace ef::init
