#include "engine/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "engine/testing/fake_backend.h"
#include "engine/websocket.h"

namespace ef::engine {
namespace {

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// False once the peer hung up (or, on a WebSocket, sent a close frame).
bool peer_alive(int fd, bool websocket) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return true;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return false;
  if (p.revents & POLLIN) {
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n > 0 && websocket && (static_cast<unsigned char>(buf[0]) & 0x0f) == 0x8) return false;
    if (n > 0 && !websocket) return true;  // stray bytes after the request: ignore
  }
  return true;
}

}  // namespace

void send_fd(int sock, int fd) {
  char data = 'F';
  iovec iov{&data, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1) throw_errno("send descriptor over", "API socket");
}

UniqueFd recv_fd(int sock) {
  char data = 0;
  iovec iov{&data, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("receive descriptor from", "enclaved");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return UniqueFd(fd);
    }
  }
  throw Error("enclaved answered without passing the enclave stream");
}

Server::Server(Api& api, ServerConfig config) : api_(api), config_(std::move(config)) {
  const auto& path = config_.socket;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) throw Error("API socket path too long: " + path.string());
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  struct stat st{};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw Error("API socket " + path.string() + " exists and is not a socket");
    bool answered = false;
    try {
      connect_unix(path);
      answered = true;
    } catch (const Error&) {
    }
    if (answered) throw Error("another enclaved already listens on " + path.string());
    ::unlink(path.c_str());
  }
  listen_fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_fd_) throw_errno("create", "API socket");
  mode_t old = umask(0177);
  int rc = bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0) throw_errno("bind", path.string());
  if (chmod(path.c_str(), config_.mode) != 0) throw_errno("chmod", path.string());
  if (listen(listen_fd_.get(), 128) != 0) throw_errno("listen on", path.string());
}

Server::~Server() {
  if (listen_fd_) ::unlink(config_.socket.c_str());
}

void Server::run(const std::atomic<bool>& stop) {
  while (!stop) {
    pollfd p{listen_fd_.get(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    UniqueFd conn(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) continue;
    std::unique_lock lk(mu_);
    if (active_ >= config_.max_connections) {
      lk.unlock();
      auto r = http::error_response(503, "too many connections (" + std::to_string(config_.max_connections) + ")");
      send_all(conn.get(), http::serialize_head(r));
      continue;
    }
    ++active_;
    lk.unlock();
    std::thread([this, c = std::move(conn), &stop]() mutable {
      try {
        serve_api_connection(api_, std::move(c), ApiContext{true}, stop, config_.request_timeout_ms);
      } catch (const std::exception& e) {
        log::warn("API connection failed", {{"error", e.what()}});
      }
      std::lock_guard g(mu_);
      --active_;
      cv_.notify_all();
    }).detach();
  }
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, std::chrono::seconds(3), [&] { return active_ == 0; });
}

void serve_api_connection(Api& api, UniqueFd fd, const ApiContext& context, const std::atomic<bool>& stop,
                          int request_timeout_ms) {
  auto parsed = http::read_request(fd.get(), request_timeout_ms);
  http::Response r;
  if (auto* e = std::get_if<http::ParseError>(&parsed)) {
    r = http::error_response(e->status, e->message);
    // Lingering close: answer, then drain what the client still sends (≤ 1 s,
    // ≤ 2 MiB) so that closing does not reset the connection before it reads.
    if (!send_all(fd.get(), http::serialize_head(r))) return;
    shutdown(fd.get(), SHUT_WR);
    char sink[16384];
    std::size_t drained = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (drained < (2u << 20) && std::chrono::steady_clock::now() < until) {
      pollfd p{fd.get(), POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t n = recv(fd.get(), sink, sizeof sink, 0);
      if (n <= 0) break;
      drained += static_cast<std::size_t>(n);
    }
    return;
  } else {
    r = api.handle(std::get<http::Request>(parsed), context);
  }
  if (!send_all(fd.get(), http::serialize_head(r))) return;
  if (r.pass_fd) send_fd(fd.get(), r.pass_fd.get());
  if (!r.stream) return;
  bool websocket = r.status == 101;
  auto write_chunk = [&](std::string_view data) -> bool {
    if (stop || !peer_alive(fd.get(), websocket)) return false;
    if (data.empty()) return true;
    if (websocket) return send_all(fd.get(), data);
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return send_all(fd.get(), std::string_view(size, static_cast<std::size_t>(n))) && send_all(fd.get(), data) &&
           send_all(fd.get(), "\r\n");
  };
  r.stream(write_chunk);
  send_all(fd.get(), websocket ? ws::close_frame() : std::string("0\r\n\r\n"));
}

}  // namespace ef::engine
