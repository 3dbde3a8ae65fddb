#include "engine/tls_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "engine/server.h"

namespace ef::engine {

struct TlsListener::Ctx {
  SSL_CTX* ctx = nullptr;
  ~Ctx() { SSL_CTX_free(ctx); }
};

namespace {

std::string ssl_error() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return e ? buf : "unknown TLS error";
}

/// Copies between the TLS connection and the plaintext socket until either closes.
void pump(SSL* ssl, int tcp, int plain) {
  char buf[16384];
  bool tls_open = true;
  while (true) {
    if (SSL_pending(ssl) == 0) {
      pollfd p[2] = {{tcp, static_cast<short>(tls_open ? POLLIN : 0), 0}, {plain, POLLIN, 0}};
      if (poll(p, 2, 30000) <= 0) return;
      if (p[1].revents & (POLLIN | POLLHUP)) {
        ssize_t n = read(plain, buf, sizeof buf);
        if (n <= 0) return;
        if (SSL_write(ssl, buf, static_cast<int>(n)) <= 0) return;
      }
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    }
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) {
      int err = SSL_get_error(ssl, n);
      if (err == SSL_ERROR_WANT_READ) continue;
      // Client finished sending: the request is complete; keep answering.
      shutdown(plain, SHUT_WR);
      tls_open = false;
      continue;
    }
    if (write(plain, buf, static_cast<std::size_t>(n)) != n) return;
  }
}

}  // namespace

TlsListener::TlsListener(Api& api, TlsConfig config) : api_(api), config_(std::move(config)), ctx_(std::make_unique<Ctx>()) {
  ctx_->ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx_->ctx) throw Error("TLS: " + ssl_error());
  SSL_CTX_set_min_proto_version(ctx_->ctx, TLS1_3_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx_->ctx, config_.cert.c_str()) != 1)
    throw Error("--tls-cert " + config_.cert.string() + ": " + ssl_error());
  if (SSL_CTX_use_PrivateKey_file(ctx_->ctx, config_.key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw Error("--tls-key " + config_.key.string() + ": " + ssl_error());
  if (SSL_CTX_check_private_key(ctx_->ctx) != 1) throw Error("--tls-key does not match --tls-cert");
  if (SSL_CTX_load_verify_locations(ctx_->ctx, config_.client_ca.c_str(), nullptr) != 1)
    throw Error("--tls-client-ca " + config_.client_ca.string() + ": " + ssl_error());
  SSL_CTX_set_verify(ctx_->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);

  std::string host = config_.listen, port_text;
  auto colon = host.rfind(':');
  if (colon == std::string::npos) throw Error("--tcp " + config_.listen + ": expected HOST:PORT");
  port_text = host.substr(colon + 1);
  host = host.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(port_text);
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) throw Error("--tcp " + config_.listen + ": bad port");
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *s4;
  } else if (inet_pton(AF_INET6, host.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *s6;
  } else {
    throw Error("--tcp " + config_.listen + ": HOST must be a numeric address");
  }
  listen_fd_.reset(socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_fd_) throw_errno("create", "TCP API socket");
  int one = 1;
  setsockopt(listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) throw_errno("bind", config_.listen);
  if (listen(listen_fd_.get(), 64) != 0) throw_errno("listen on", config_.listen);
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
}

TlsListener::~TlsListener() = default;

void TlsListener::run(const std::atomic<bool>& stop) {
  while (!stop) {
    pollfd p{listen_fd_.get(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    UniqueFd conn(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) continue;
    if (active_ >= 64) continue;  // dropped: over the connection bound
    ++active_;
    std::thread([this, c = std::move(conn), &stop]() mutable {
      try {
        serve(std::move(c), stop);
      } catch (const std::exception& e) {
        log::warn("TLS API connection failed", {{"error", e.what()}});
      }
      --active_;
    }).detach();
  }
  for (int i = 0; i < 150 && active_ > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void TlsListener::serve(UniqueFd tcp, const std::atomic<bool>& stop) {
  timeval tv{10, 0};
  setsockopt(tcp.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_->ctx), SSL_free);
  SSL_set_fd(ssl.get(), tcp.get());
  if (SSL_accept(ssl.get()) != 1) {
    log::warn("TLS API handshake refused", {{"error", ssl_error()}});
    return;
  }
  timeval none{0, 0};
  setsockopt(tcp.get(), SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair for", "TLS connection");
  UniqueFd mine(sv[0]), theirs(sv[1]);
  std::thread handler([this, t = std::move(theirs), &stop]() mutable {
    serve_api_connection(api_, std::move(t), ApiContext{false}, stop, config_.request_timeout_ms);
  });
  pump(ssl.get(), tcp.get(), mine.get());
  mine.reset();
  handler.join();
  SSL_shutdown(ssl.get());
}

}  // namespace ef::engine
