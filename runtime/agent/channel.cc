#include "runtime/agent/channel.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstring>

#include "attest/ossl.h"
#include "base/error.h"

namespace ef::agent {
namespace {

std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail" : out;
}

SslCtxPtr base_ctx(const SSL_METHOD* method) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) ossl::fail("SSL_CTX_new");
  if (!SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION))
    ossl::fail("restricting TLS to 1.3");
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

/// Writes to a socket the peer closed raise SIGPIPE; a library must not kill its
/// host process for that. Blocks SIGPIPE in this thread for the scope and
/// swallows one it caused (the usual trick; see also MSG_NOSIGNAL).
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      const timespec zero{0, 0};
      const int saved = errno;
      while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
      }
      errno = saved;
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

}  // namespace

SslCtxPtr make_server_ctx(X509* cert, EVP_PKEY* key) {
  SslCtxPtr ctx = base_ctx(TLS_server_method());
  if (SSL_CTX_use_certificate(ctx.get(), cert) != 1) ossl::fail("loading the agent's certificate");
  if (SSL_CTX_use_PrivateKey(ctx.get(), key) != 1) ossl::fail("loading the agent's key");
  return ctx;
}

SslCtxPtr make_client_ctx() {
  SslCtxPtr ctx = base_ctx(TLS_client_method());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

Channel::Channel(SSL_CTX* ctx, UniqueFd fd, Role role, std::string peer, int timeout_ms)
    : fd_(std::move(fd)), peer_(std::move(peer)), parser_("agent stream from " + peer_) {
  const int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("set O_NONBLOCK on", peer_);
  ssl_ = SSL_new(ctx);
  if (!ssl_ || SSL_set_fd(ssl_, fd_.get()) != 1) ossl::fail("SSL_new");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  SigpipeGuard no_sigpipe;
  for (;;) {
    ERR_clear_error();
    const int r = role == Role::kServer ? SSL_accept(ssl_) : SSL_connect(ssl_);
    if (r == 1) break;
    const int err = SSL_get_error(ssl_, r);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && left.count() > 0) {
      wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, static_cast<int>(left.count()), "the TLS handshake");
      continue;
    }
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
      throw Error("TLS handshake with " + peer_ + " timed out after " + std::to_string(timeout_ms) + " ms");
    const int saved = errno;
    std::string detail = ssl_errors();
    if (err == SSL_ERROR_SYSCALL) detail = saved ? std::strerror(saved) : "connection closed by peer";
    SSL_free(ssl_);
    ssl_ = nullptr;
    throw Error("TLS handshake with " + peer_ + " failed: " + detail);
  }
}

Channel::~Channel() {
  if (ssl_) SSL_free(ssl_);
}

void Channel::wait(short events, int timeout_ms, const char* what) {
  pollfd p{fd_.get(), events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return;
    if (r == 0) throw Error("waiting for " + std::string(what) + " from " + peer_ + " timed out");
    if (errno != EINTR) throw_errno("poll", peer_);
  }
}

void Channel::pump_read(bool until_frame) {
  SigpipeGuard no_sigpipe;  // SSL_read may write (alerts, key updates)
  std::uint8_t buf[64 * 1024];
  while (!eof_) {
    if (until_frame && parser_.has_frame()) return;
    if (parser_.buffered() >= kMaxInboundBuffer) return;  // send() stops reading until the app catches up
    ERR_clear_error();
    const int r = SSL_read(ssl_, buf, sizeof buf);
    if (r > 0) {
      parser_.feed({buf, static_cast<std::size_t>(r)});
      continue;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
    if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL) {
      // Orderly close_notify, or the peer vanished (dropped connection, killed process).
      const bool orderly = err == SSL_ERROR_ZERO_RETURN;
      ERR_clear_error();
      eof_ = true;
      if (!orderly && parser_.buffered() == 0) return;
      return;
    }
    throw Error("TLS read from " + peer_ + " failed: " + ssl_errors());
  }
}

void Channel::send(FrameType type, std::span<const std::uint8_t> payload) {
  out_.resize(kHeaderSize + payload.size());
  encode_header(type, payload.size(), out_.data());
  if (!payload.empty()) std::memcpy(out_.data() + kHeaderSize, payload.data(), payload.size());
  SigpipeGuard no_sigpipe;
  std::size_t off = 0;
  while (off < out_.size()) {
    ERR_clear_error();
    const int r = SSL_write(ssl_, out_.data() + off, static_cast<int>(out_.size() - off));
    if (r > 0) {
      off += static_cast<std::size_t>(r);
      continue;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
      // Keep reading while we wait, so a peer that is itself blocked writing to
      // us can go on (up to kMaxInboundBuffer buffered).
      const bool can_read = !eof_ && parser_.buffered() < kMaxInboundBuffer;
      short events = err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
      if (can_read) events |= POLLIN;
      pollfd p{fd_.get(), events, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) throw_errno("poll", peer_);
      if ((p.revents & POLLIN) && can_read) pump_read(false);
      if (p.revents & (POLLERR | POLLHUP) && !(p.revents & (POLLOUT | POLLIN)))
        throw Error("connection to " + peer_ + " lost while sending " + frame_type_name(static_cast<std::uint8_t>(type)));
      continue;
    }
    const int saved = errno;
    std::string detail = err == SSL_ERROR_SYSCALL ? (saved ? std::strerror(saved) : "connection closed") : ssl_errors();
    throw Error("sending " + frame_type_name(static_cast<std::uint8_t>(type)) + " to " + peer_ + " failed: " + detail);
  }
}

bool Channel::has_buffered() const { return parser_.has_frame() || SSL_pending(ssl_) > 0; }

std::optional<Frame> Channel::try_recv() {
  if (auto f = parser_.next()) return f;
  pump_read(true);
  return parser_.next();
}

std::optional<Frame> Channel::recv(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto f = parser_.next()) return f;
    pump_read(true);
    if (auto f = parser_.next()) return f;
    if (eof_) {
      if (parser_.buffered() != 0)
        throw Error("connection to " + peer_ + " closed in the middle of a frame");
      return std::nullopt;
    }
    int left = -1;
    if (timeout_ms >= 0) {
      left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0) throw Error("waiting for a frame from " + peer_ + " timed out");
    }
    wait(POLLIN, left, "a frame");
  }
}

Bytes Channel::peer_spki() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (!cert) return {};
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (!key) return {};
  return ossl::public_key_to_der(key);
}

void Channel::close() {
  if (!ssl_ || eof_) return;
  SigpipeGuard no_sigpipe;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace ef::agent
