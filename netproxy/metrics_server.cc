#include "netproxy/metrics_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.h"
#include "netproxy/socket_ops.h"

namespace ef::netproxy {

MetricsServer::MetricsServer(const Endpoint& listen, std::function<std::string()> render)
    : listener_(listen_stream(listen, 64)), address_(local_address(listener_.get())), render_(std::move(render)) {
  stop_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_) throw_errno("create", "eventfd");
  thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_.get(), &one, sizeof one);
  thread_.join();
}

void MetricsServer::serve() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!fds[0].revents) continue;
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (client) answer(client.get());
  }
}

void MetricsServer::answer(int fd) {
  std::string request;
  char buf[2048];
  // Read the request head, waiting at most a second for a slow client.
  while (request.find("\r\n\r\n") == std::string::npos && request.find("\n\n") == std::string::npos &&
         request.size() < 8192) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) return;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && errno == EAGAIN) continue;
      break;
    }
    request.append(buf, static_cast<std::size_t>(n));
  }
  bool ok = request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET /metrics?", 0) == 0;
  std::string body = ok ? render_() : "not found\n";
  std::string response = std::string(ok ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.0 404 Not Found\r\n") +
                         "Content-Type: " + (ok ? "text/plain; version=0.0.4" : "text/plain") +
                         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  std::size_t off = 0;
  while (off < response.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 1000) <= 0) return;
    ssize_t n = ::send(fd, response.data() + off, response.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return;
    if (n > 0) off += static_cast<std::size_t>(n);
  }
}

}  // namespace ef::netproxy
