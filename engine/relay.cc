#include "engine/relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"

namespace ef::engine {

void relay_streams(int a, int b, const std::atomic<bool>& stop) {
  bool a_open = true, b_open = true;
  char buf[65536];
  while ((a_open || b_open) && !stop) {
    pollfd p[2] = {{a, static_cast<short>(a_open ? POLLIN : 0), 0}, {b, static_cast<short>(b_open ? POLLIN : 0), 0}};
    if (poll(p, 2, 500) < 0 && errno != EINTR) return;
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = read(from, buf, sizeof buf);
      if (n <= 0) {
        shutdown(to, SHUT_WR);
        (i == 0 ? a_open : b_open) = false;
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = send(to, buf + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
        if (w <= 0) return;
        off += w;
      }
    }
  }
}

PortRelay::PortRelay(Backend& backend, EnclaveHandle handle, PortMapping mapping)
    : backend_(backend), handle_(std::move(handle)), mapping_(std::move(mapping)) {
  std::string addr = mapping_.host_addr;
  if (addr.size() > 2 && addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(mapping_.host_port);
    len = sizeof *s4;
  } else if (inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(mapping_.host_port);
    len = sizeof *s6;
  } else {
    throw Error("port " + mapping_.to_string() + ": the host address must be numeric");
  }
  listen_fd_.reset(socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_fd_) throw_errno("create socket for port", mapping_.to_string());
  int one = 1;
  setsockopt(listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) throw_errno("bind", mapping_.to_string());
  if (listen(listen_fd_.get(), 128) != 0) throw_errno("listen on", mapping_.to_string());
  wake_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) throw_errno("create eventfd for port", mapping_.to_string());
  thread_ = std::thread([this] { serve(); });
}

PortRelay::~PortRelay() {
  *stop_ = true;
  std::uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void PortRelay::serve() {
  while (!*stop_) {
    pollfd p[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (poll(p, 2, -1) <= 0 || (p[1].revents & POLLIN)) continue;
    UniqueFd client(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    // Each connection on its own thread; it holds the stop flag, not `this`.
    std::thread([c = std::move(client), stop = stop_, &backend = backend_, handle = handle_,
                 port = mapping_.enclave_port]() mutable {
      try {
        UniqueFd enclave = backend.connect(handle, port);
        relay_streams(c.get(), enclave.get(), *stop);
      } catch (const std::exception& e) {
        log::warn("port forward: cannot reach the enclave", {{"port", std::to_string(port)}, {"error", e.what()}});
      }
    }).detach();
  }
}

}  // namespace ef::engine
