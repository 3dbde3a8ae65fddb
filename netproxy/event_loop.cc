#include "netproxy/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.h"

namespace ef::netproxy {

class Loop::Waker : public Handler {
 public:
  explicit Waker(Loop& loop) : loop_(loop) {}
  void on_event(std::uint32_t) override {
    std::uint64_t v;
    while (::read(loop_.wake_fd_.get(), &v, sizeof v) > 0) {
    }
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard lock(loop_.mutex_);
      fns.swap(loop_.posted_);
    }
    for (auto& fn : fns) fn();
  }

 private:
  Loop& loop_;
};

Loop::Loop() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_errno("create", "epoll instance");
  wake_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) throw_errno("create", "eventfd");
  waker_ = std::make_unique<Waker>(*this);
  add(wake_fd_.get(), EPOLLIN, waker_.get());
}

void Loop::add(int fd, std::uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll add", "fd " + std::to_string(fd));
}

void Loop::modify(int fd, std::uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) throw_errno("epoll modify", "fd " + std::to_string(fd));
}

void Loop::remove(int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void Loop::stop() {
  post([this] { stopping_ = true; });
}

void Loop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    posted_.push_back(std::move(fn));
  }
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

void Loop::run(std::chrono::milliseconds tick_interval, const std::function<void()>& tick) {
  epoll_event events[256];
  Clock::time_point next_tick = Clock::now() + tick_interval;
  while (!stopping_) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now_).count();
    int n = ::epoll_wait(epoll_.get(), events, 256, wait < 0 ? 0 : static_cast<int>(wait) + 1);
    if (n < 0 && errno != EINTR) throw_errno("wait on", "epoll instance");
    now_ = Clock::now();
    for (int i = 0; i < n; ++i) static_cast<Handler*>(events[i].data.ptr)->on_event(events[i].events);
    graveyard_.clear();
    if (now_ >= next_tick) {
      tick();
      graveyard_.clear();
      next_tick = now_ + tick_interval;
    }
  }
}

}  // namespace ef::netproxy
