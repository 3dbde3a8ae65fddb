#include "netproxy/udp_session.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "netproxy/socket_ops.h"

namespace ef::netproxy {

namespace {
constexpr std::uint32_t kStreamEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
}

bool FramedStream::queue(std::span<const std::uint8_t> datagram) {
  if (out.size() - out_sent + datagram.size() + 2 > kUdpQueueLimit) return false;
  if (out_sent == out.size()) out.clear(), out_sent = 0;
  append_frame(out, datagram);
  return true;
}

int FramedStream::flush() {
  while (writable && out_sent < out.size()) {
    ssize_t n = ::send(fd.get(), out.data() + out_sent, out.size() - out_sent, MSG_NOSIGNAL);
    if (n > 0) {
      out_sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      writable = false;
    } else if (n < 0 && errno != EINTR) {
      return errno;
    }
  }
  if (out_sent == out.size()) out.clear(), out_sent = 0;
  return 0;
}

int FramedStream::read_frames(const std::function<void(std::span<const std::uint8_t>)>& on_datagram) {
  std::uint8_t buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) parser.feed({buf, static_cast<std::size_t>(n)}, on_datagram);
    else if (n == 0) return -1;
    else if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    else if (errno != EINTR) return errno;
  }
}

// ---- enclave side ----

UdpFrontend::UdpFrontend(Worker& worker, ForwardRuntime& forward, int fd) : worker_(worker), forward_(forward), fd_(fd) {}

void UdpFrontend::on_event(std::uint32_t) {
  static thread_local std::uint8_t buf[kMaxDatagram];
  for (;;) {
    SockAddr from;
    from.length = sizeof from.storage;
    ssize_t n = ::recvfrom(fd_, buf, sizeof buf, MSG_DONTWAIT, from.get(), &from.length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN, or a transient ICMP error reported on the socket
    }
    std::string key(reinterpret_cast<const char*>(&from.storage), from.length);
    std::shared_ptr<UdpClientSession> s;
    if (auto it = clients_.find(key); it != clients_.end()) s = it->second.lock();
    if (!s) {
      if (static_cast<std::size_t>(forward_.metrics->open.load()) >= forward_.spec.max_connections) {
        forward_.metrics->refused.fetch_add(1);
        forward_.metrics->error(ErrorKind::kLimit);
        continue;
      }
      s = std::make_shared<UdpClientSession>(worker_, forward_, *this, from, key);
      clients_[key] = s;
      worker_.adopt(s);
      s->start();
    }
    s->send_datagram({buf, static_cast<std::size_t>(n)});
  }
}

UdpClientSession::UdpClientSession(Worker& worker, ForwardRuntime& forward, UdpFrontend& frontend, SockAddr client,
                                   std::string key)
    : worker_(worker), forward_(forward), frontend_(frontend), client_(client), key_(std::move(key)) {}

void UdpClientSession::start() {
  forward_.metrics->open.fetch_add(1);
  forward_.metrics->total.fetch_add(1);
  last_activity_ = worker_.loop().now();
  deadline_ = last_activity_ + forward_.spec.connect_timeout;
  bool in_progress = false;
  try {
    stream_.fd = start_connect(*forward_.connect_address, &in_progress);
  } catch (const SysError& e) {
    log::info("udp upstream connect failed", {{"forward", forward_.spec.name}, {"error", e.what()}});
    return close(ErrorKind::kConnect);
  }
  worker_.loop().add(stream_.fd.get(), kStreamEvents, this);
  if (!in_progress) connected_ = stream_.writable = true;
}

void UdpClientSession::send_datagram(std::span<const std::uint8_t> datagram) {
  if (closed_) return;
  last_activity_ = worker_.loop().now();
  if (!stream_.queue(datagram)) return forward_.metrics->error(ErrorKind::kDatagramDropped);
  forward_.metrics->bytes_up.fetch_add(datagram.size());
  if (connected_)
    if (stream_.flush() != 0) close(ErrorKind::kReset);
}

void UdpClientSession::on_event(std::uint32_t events) {
  if (closed_) return;
  if (!connected_) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (int err = connect_result(stream_.fd.get())) {
      log::info("udp upstream connect failed", {{"forward", forward_.spec.name}, {"error", std::strerror(err)}});
      return close(ErrorKind::kConnect);
    }
    connected_ = true;
  }
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) stream_.writable = true;
  if (stream_.flush() != 0) return close(ErrorKind::kReset);
  int rc = stream_.read_frames([&](std::span<const std::uint8_t> d) {
    last_activity_ = worker_.loop().now();
    if (::sendto(frontend_.fd(), d.data(), d.size(), MSG_DONTWAIT, client_.get(), client_.length) < 0)
      forward_.metrics->error(ErrorKind::kDatagramDropped);
    else
      forward_.metrics->bytes_down.fetch_add(d.size());
  });
  if (rc == -1) close(ErrorKind::kCount);
  else if (rc != 0) close(ErrorKind::kReset);
}

void UdpClientSession::on_tick(Clock::time_point now) {
  if (!connected_ && now >= deadline_) return close(ErrorKind::kConnectTimeout);
  if (now - last_activity_ >= forward_.idle_or(kUdpDefaultIdle)) close(ErrorKind::kCount);
}

void UdpClientSession::close(ErrorKind why) {
  if (closed_) return;
  closed_ = true;
  if (why != ErrorKind::kCount) forward_.metrics->error(why);
  stream_.fd.reset();
  forward_.metrics->open.fetch_sub(1);
  frontend_.forget(key_);
  worker_.release(this);
}

// ---- host side ----

StreamUdpSession::StreamUdpSession(Worker& worker, ForwardRuntime& forward, UniqueFd accepted)
    : worker_(worker), forward_(forward) {
  stream_.fd = std::move(accepted);
  stream_side_.session = udp_side_.session = this;
  udp_side_.udp = true;
}

void StreamUdpSession::start() {
  forward_.metrics->open.fetch_add(1);
  forward_.metrics->total.fetch_add(1);
  last_activity_ = worker_.loop().now();
  const SockAddr& target = *forward_.connect_address;
  udp_.reset(::socket(target.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!udp_ || ::connect(udp_.get(), target.get(), target.length) != 0) {
    log::info("udp socket failed", {{"forward", forward_.spec.name}, {"error", std::strerror(errno)}});
    return close(ErrorKind::kConnect);
  }
  worker_.loop().add(stream_.fd.get(), kStreamEvents, &stream_side_);
  worker_.loop().add(udp_.get(), EPOLLIN | EPOLLET, &udp_side_);
}

void StreamUdpSession::on_event(bool udp, std::uint32_t events) {
  if (closed_) return;
  last_activity_ = worker_.loop().now();
  if (udp) {
    std::uint8_t buf[kMaxDatagram];
    for (;;) {
      ssize_t n = ::recv(udp_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;  // EAGAIN or an ICMP error (ECONNREFUSED): the datagram is simply lost
      if (!stream_.queue({buf, static_cast<std::size_t>(n)})) forward_.metrics->error(ErrorKind::kDatagramDropped);
      else forward_.metrics->bytes_down.fetch_add(static_cast<std::uint64_t>(n));
    }
  } else if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
    stream_.writable = true;
  }
  if (stream_.flush() != 0) return close(ErrorKind::kReset);
  if (udp) return;
  int rc = stream_.read_frames([&](std::span<const std::uint8_t> d) {
    if (::send(udp_.get(), d.data(), d.size(), MSG_DONTWAIT) < 0) forward_.metrics->error(ErrorKind::kDatagramDropped);
    else forward_.metrics->bytes_up.fetch_add(d.size());
  });
  if (rc == -1) close(ErrorKind::kCount);
  else if (rc != 0) close(ErrorKind::kReset);
}

void StreamUdpSession::on_tick(Clock::time_point now) {
  if (now - last_activity_ >= forward_.idle_or(kUdpDefaultIdle)) close(ErrorKind::kIdleTimeout);
}

void StreamUdpSession::close(ErrorKind why) {
  if (closed_) return;
  closed_ = true;
  if (why != ErrorKind::kCount) forward_.metrics->error(why);
  stream_.fd.reset();
  udp_.reset();
  forward_.metrics->open.fetch_sub(1);
  worker_.release(this);
}

}  // namespace ef::netproxy
