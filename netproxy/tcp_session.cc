#include "netproxy/tcp_session.h"

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

TcpSession::TcpSession(Worker& worker, ForwardRuntime& forward, UniqueFd accepted)
    : worker_(worker),
      forward_(forward),
      down_fd_(std::move(accepted)),
      to_up_(forward.spec.zero_copy, forward.spec.buffer_size),
      to_down_(forward.spec.zero_copy, forward.spec.buffer_size) {
  down_.fd = down_fd_.get();
  down_side_.session = this;
  up_side_.session = this;
  up_side_.upstream = true;
}

void TcpSession::start() {
  forward_.metrics->open.fetch_add(1, std::memory_order_relaxed);
  forward_.metrics->total.fetch_add(1, std::memory_order_relaxed);
  last_activity_ = worker_.loop().now();
  worker_.loop().add(down_.fd, kStreamEvents, &down_side_);
  switch (forward_.spec.mode) {
    case Mode::kForward:
      target_ = forward_.connect_address->to_string();
      dial(*forward_.connect_address);
      return;
    case Mode::kTransparent: {
      // Only a connection netfilter redirected has a record naming somewhere
      // else. A direct connection has none, or (with conntrack running) one
      // whose destination is this listener itself: both are refused.
      auto original = original_destination(down_.fd);
      std::optional<OriginalDst> dst;
      if (original) dst = OriginalDst::from_sockaddr(*original);
      if (!dst || *dst == OriginalDst::from_sockaddr(local_address(down_.fd))) {
        log::warn("no redirect record: a direct connection to the transparent listener is refused",
                  {{"forward", forward_.spec.name}, {"local", local_address(down_.fd).to_string()}});
        return refuse(ErrorKind::kOriginalDst);
      }
      route(*dst);
      return;
    }
    case Mode::kIngress: {
      // Listening on the port itself, or reached through a REDIRECT of many ports.
      auto original = original_destination(down_.fd);
      route(OriginalDst::from_sockaddr(original ? *original : local_address(down_.fd)));
      return;
    }
    case Mode::kDialer:
      state_ = State::kHeader;
      deadline_ = worker_.loop().now() + forward_.spec.connect_timeout;
      return;  // the registration's first event brings us to read_header()
    default:
      throw Error("TcpSession cannot serve mode " + std::string(mode_name(forward_.spec.mode)));
  }
}

// transparent/ingress: the header goes upstream; dialer: the policy decides.
void TcpSession::route(OriginalDst dst) {
  if (forward_.spec.mode != Mode::kDialer) {
    target_ = dst.to_string();
    to_up_.set_prefix(encode_header(dst));
    dial(*forward_.connect_address);
    return;
  }
  if (forward_.dial_override) {
    std::uint16_t port = dst.port;
    dst = *forward_.dial_override;
    dst.port = port;
  }
  target_ = dst.to_string();
  Decision d = forward_.policy()->decide(dst);
  if (!d.allowed) {
    log::warn("connection denied by policy",
              {{"forward", forward_.spec.name}, {"destination", target_}, {"rule", d.reason}});
    return refuse(ErrorKind::kPolicy);
  }
  log::debug("dialing", {{"forward", forward_.spec.name}, {"destination", target_}, {"rule", d.reason}});
  dial(dst.to_sockaddr());
}

void TcpSession::read_header() {
  while (state_ == State::kHeader && down_.readable) {
    std::uint8_t buf[kMaxHeaderSize];
    ssize_t n = ::recv(down_.fd, buf, header_.needed(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      down_.readable = false;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n <= 0) {
      return fail(ErrorKind::kHeader, n == 0 ? "closed before the destination header" : std::strerror(errno));
    } else {
      try {
        header_.feed({buf, static_cast<std::size_t>(n)});
      } catch (const Error& e) {
        log::warn("bad destination header", {{"forward", forward_.spec.name}, {"error", e.what()}});
        return refuse(ErrorKind::kHeader);
      }
      if (header_.done()) route(header_.result());
    }
  }
}

void TcpSession::dial(const SockAddr& address) {
  state_ = State::kConnecting;
  deadline_ = worker_.loop().now() + forward_.spec.connect_timeout;
  bool in_progress = false;
  try {
    up_fd_ = start_connect(address, &in_progress);
  } catch (const SysError& e) {
    return fail(e.code() == EMFILE || e.code() == ENFILE ? ErrorKind::kAccept : ErrorKind::kConnect, e.what());
  }
  up_.fd = up_fd_.get();
  worker_.loop().add(up_.fd, kStreamEvents, &up_side_);
  if (!in_progress) on_connected();
}

void TcpSession::on_connected() {
  std::uint32_t hybrid = forward_.spec.connect ? forward_.spec.connect->hybrid_port : 0;
  if (hybrid == 0) return start_relay();
  // Hybrid vsock: the request line fits any fresh socket's buffer at once.
  std::string line = "CONNECT " + std::to_string(hybrid) + "\n";
  ssize_t n = ::send(up_.fd, line.data(), line.size(), MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(line.size()))
    return fail(ErrorKind::kConnect, "hvsock CONNECT to " + target_ + ": " + (n < 0 ? std::strerror(errno) : "short write"));
  state_ = State::kHybrid;
  read_hybrid_reply();
}

void TcpSession::read_hybrid_reply() {
  // One byte at a time: nothing after the '\n' may be taken from the stream.
  while (state_ == State::kHybrid) {
    char c;
    ssize_t n = ::recv(up_.fd, &c, 1, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return fail(ErrorKind::kConnect, "hvsock " + target_ + ": the enclave refused the connection (nothing listens on port " +
                                           std::to_string(forward_.spec.connect->hybrid_port) + ")");
    if (c == '\n') {
      if (hybrid_reply_.rfind("OK ", 0) != 0) return fail(ErrorKind::kConnect, "hvsock " + target_ + ": unexpected reply");
      return start_relay();
    }
    hybrid_reply_ += c;
    if (hybrid_reply_.size() > 32) return fail(ErrorKind::kConnect, "hvsock " + target_ + ": reply line too long");
  }
}

void TcpSession::start_relay() {
  state_ = State::kRelaying;
  up_.readable = true;  // bytes behind the hvsock reply line may be waiting (edge already reported)
  tune_stream(down_.fd);
  tune_stream(up_.fd);
  up_.writable = true;
  last_activity_ = worker_.loop().now();
  pump();
}

void TcpSession::on_event(bool upstream, std::uint32_t events) {
  if (state_ == State::kClosed) return;
  Port& p = upstream ? up_ : down_;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) p.readable = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) p.writable = true;
  switch (state_) {
    case State::kHeader:
      if (!upstream) read_header();
      break;
    case State::kConnecting:
      if (upstream && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        if (int err = connect_result(up_.fd)) return fail(ErrorKind::kConnect, "connect to " + target_ + ": " + std::strerror(err));
        on_connected();
      }
      break;
    case State::kHybrid:
      if (upstream) read_hybrid_reply();
      if (state_ == State::kRelaying) pump();
      break;
    case State::kRelaying: pump(); break;
    case State::kClosed: break;
  }
}

void TcpSession::pump() {
  auto a = to_up_.pump(down_, up_);
  auto b = to_down_.pump(up_, down_);
  if (a.delivered) forward_.metrics->bytes_up.fetch_add(a.delivered, std::memory_order_relaxed);
  if (b.delivered) forward_.metrics->bytes_down.fetch_add(b.delivered, std::memory_order_relaxed);
  if (a.progressed || b.progressed) last_activity_ = worker_.loop().now();
  if (a.error || b.error) return fail(ErrorKind::kReset, std::strerror(a.error ? a.error : b.error));
  if (to_up_.finished() && to_down_.finished()) close(true, false);
}

void TcpSession::on_tick(Clock::time_point now) {
  if (state_ == State::kHeader || state_ == State::kConnecting || state_ == State::kHybrid) {
    if (now >= deadline_) fail(ErrorKind::kConnectTimeout, "no answer from " + (target_.empty() ? "peer" : target_));
  } else if (state_ == State::kRelaying && forward_.spec.idle_timeout.count() > 0 &&
             now - last_activity_ >= forward_.spec.idle_timeout) {
    fail(ErrorKind::kIdleTimeout, "idle");
  }
}

void TcpSession::refuse(ErrorKind kind) {
  forward_.metrics->refused.fetch_add(1, std::memory_order_relaxed);
  forward_.metrics->error(kind);
  close(false, true);
}

void TcpSession::fail(ErrorKind kind, const std::string& detail) {
  forward_.metrics->error(kind);
  log::Level level = kind == ErrorKind::kReset || kind == ErrorKind::kIdleTimeout ? log::Level::kDebug : log::Level::kInfo;
  log::write(level, "connection failed", {{"forward", forward_.spec.name}, {"kind", std::string(error_kind_name(kind))},
                                          {"destination", target_}, {"error", detail}});
  close(false, true);
}

void TcpSession::close(bool graceful, bool reset) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  (void)graceful;
  if (reset) {
    abort_close(down_fd_);
    abort_close(up_fd_);
  } else {
    down_fd_.reset();
    up_fd_.reset();
  }
  forward_.metrics->open.fetch_sub(1, std::memory_order_relaxed);
  worker_.release(this);
}

}  // namespace ef::netproxy
