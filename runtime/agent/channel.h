#pragma once
// A TLS 1.3 connection carrying agent frames, over any connected stream fd
// (vsock, TCP, unix). The fd is made non-blocking; send() keeps reading
// inbound data into the parser while it waits to write, so two peers that
// both stream (exec stdin/stdout) never deadlock on full socket buffers.

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>

#include "base/fd.h"
#include "runtime/agent/frame.h"

namespace ef::agent {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

/// Server context: TLS 1.3 only, the given certificate and key.
SslCtxPtr make_server_ctx(X509* cert, EVP_PKEY* key);
/// Client context: TLS 1.3 only; the peer certificate is not checked by TLS
/// (the attestation document binds it, see client.cc).
SslCtxPtr make_client_ctx();

class Channel {
 public:
  enum class Role { kServer, kClient };
  /// Runs the TLS handshake within `timeout_ms`; throws ef::Error naming `peer`.
  Channel(SSL_CTX* ctx, UniqueFd fd, Role role, std::string peer, int timeout_ms);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  /// Sends one frame (blocking until written).
  void send(FrameType type, std::span<const std::uint8_t> payload);
  void send(FrameType type) { send(type, {}); }
  /// The next frame; nullopt when the peer closed. timeout_ms < 0 waits forever;
  /// a timeout throws ef::Error("… timed out …").
  std::optional<Frame> recv(int timeout_ms = -1);
  /// A frame if one is complete after reading what the socket has now.
  std::optional<Frame> try_recv();
  /// True when a frame is parsed or TLS holds unread bytes (poll would not show them).
  bool has_buffered() const;
  bool peer_closed() const { return eof_; }
  int fd() const { return fd_.get(); }
  /// SubjectPublicKeyInfo DER of the certificate the peer presented (empty if none).
  Bytes peer_spki() const;
  const std::string& peer() const { return peer_; }
  /// Sends close_notify (best effort).
  void close();

 private:
  /// Reads what TLS and the socket have: until a frame is complete (until_frame),
  /// or until the socket is drained; never beyond kMaxInboundBuffer buffered.
  void pump_read(bool until_frame);
  void wait(short events, int timeout_ms, const char* what);

  UniqueFd fd_;
  SSL* ssl_ = nullptr;
  std::string peer_;
  FrameParser parser_;
  Bytes out_;
  bool eof_ = false;
};

/// Inbound bytes send() buffers at most while waiting to write.
inline constexpr std::size_t kMaxInboundBuffer = 64u << 20;

}  // namespace ef::agent
