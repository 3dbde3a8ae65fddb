#include "netproxy/direction.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ef::netproxy {

int Direction::ensure_pipe() {
  if (pipe_r_) return 0;
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return errno;
  pipe_r_.reset(fds[0]);
  pipe_w_.reset(fds[1]);
  // Best effort: a larger pipe moves more per splice; the kernel may refuse.
  ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(capacity_));
  int size = ::fcntl(fds[1], F_GETPIPE_SZ);
  if (size > 0) capacity_ = static_cast<std::size_t>(size);
  return 0;
}

// Reads what fits. EAGAIN with data already held is ambiguous for splice (the
// pipe may be out of slots rather than the socket empty), so it only pauses
// reading until the next write makes room; the socket is marked drained only
// when EAGAIN comes with an empty pipe.
int Direction::read_in(Port& src, bool& progressed) {
  if (src_eof_ || !src.readable || in_blocked_) return 0;
  ssize_t n;
  const bool via_small = zero_copy_ && !splicing_;
  if (via_small) {
    if (small_len_ > 0) return 0;  // written out first
    if (!small_) small_ = std::make_unique<std::uint8_t[]>(kSmall);
    small_off_ = 0;
    n = ::recv(src.fd, small_.get(), kSmall, 0);
    if (n == static_cast<ssize_t>(kSmall)) splicing_ = true;  // a full buffer: bulk, splice from now on
  } else if (held_ >= capacity_) {
    return 0;
  } else if (zero_copy_) {
    std::size_t room = capacity_ - held_;
    if (int err = ensure_pipe()) return err;
    n = ::splice(src.fd, nullptr, pipe_w_.get(), nullptr, room, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EINVAL && held_ == 0) {
      // This transport cannot splice: fall back to copying for good.
      zero_copy_ = false;
      pipe_r_.reset();
      pipe_w_.reset();
      return read_in(src, progressed);
    }
  } else {
    if (!buf_) buf_ = std::make_unique<std::uint8_t[]>(capacity_);
    if (held_ == 0) buf_off_ = 0;
    std::size_t end = buf_off_ + held_;
    if (end >= capacity_) return 0;  // wait until the buffer drains and rewinds
    n = ::recv(src.fd, buf_.get() + end, capacity_ - end, 0);
  }
  if (n > 0) {
    if (via_small) small_len_ = static_cast<std::size_t>(n);
    else held_ += static_cast<std::size_t>(n);
    progressed = true;
  } else if (n == 0) {
    src_eof_ = true;
    progressed = true;
  } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
    if (via_small || held_ == 0 || !zero_copy_) {
      src.readable = false;
      if (!via_small) splicing_ = false;  // the burst is over: small reads again
    } else {
      in_blocked_ = true;
    }
  } else if (errno != EINTR) {
    return errno;
  }
  if (via_small && small_len_ == 0) small_.reset();
  return 0;
}

int Direction::write_out(Port& dst, Result& r) {
  if (!dst.writable) return 0;
  ssize_t n;
  if (prefix_sent_ < prefix_.size()) {
    n = ::send(dst.fd, prefix_.data() + prefix_sent_, prefix_.size() - prefix_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      prefix_sent_ += static_cast<std::size_t>(n);
      r.progressed = true;
      return 0;
    }
  } else if (small_len_ > 0) {
    n = ::send(dst.fd, small_.get() + small_off_, small_len_, MSG_NOSIGNAL);
    if (n > 0) {
      small_off_ += static_cast<std::size_t>(n);
      small_len_ -= static_cast<std::size_t>(n);
      if (small_len_ == 0) small_.reset();
      r.delivered += static_cast<std::uint64_t>(n);
      r.progressed = true;
      return 0;
    }
  } else if (held_ == 0) {
    return 0;
  } else if (zero_copy_) {
    n = ::splice(pipe_r_.get(), nullptr, dst.fd, nullptr, held_, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } else {
    n = ::send(dst.fd, buf_.get() + buf_off_, held_, MSG_NOSIGNAL);
    if (n > 0) buf_off_ += static_cast<std::size_t>(n);
  }
  if (n > 0) {
    held_ -= static_cast<std::size_t>(n);
    r.delivered += static_cast<std::uint64_t>(n);
    r.progressed = true;
    in_blocked_ = false;
  } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    dst.writable = false;
  } else if (n < 0 && errno != EINTR) {
    return errno;
  }
  return 0;
}

Direction::Result Direction::pump(Port& src, Port& dst) {
  Result r;
  for (;;) {
    bool progressed = false;
    if (int err = read_in(src, progressed)) {
      r.error = err;
      return r;
    }
    std::uint64_t before = r.delivered;
    bool was = r.progressed;
    r.progressed = false;
    if (int err = write_out(dst, r)) {
      r.error = err;
      return r;
    }
    progressed = progressed || r.progressed || r.delivered != before;
    r.progressed = was || progressed;
    if (src_eof_ && held_ == 0 && small_len_ == 0 && prefix_sent_ == prefix_.size() && !shut_) {
      ::shutdown(dst.fd, SHUT_WR);
      shut_ = true;
      r.progressed = true;
      pipe_r_.reset();
      pipe_w_.reset();
      buf_.reset();
      small_.reset();
    }
    if (!progressed) return r;
  }
}

}  // namespace ef::netproxy
