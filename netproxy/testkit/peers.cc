#include "netproxy/testkit/peers.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>

#include "base/hash.h"
#include "netproxy/socket_ops.h"

namespace ef::netproxy::testkit {


EchoServer::EchoServer(const std::string& listen)
    : listener_(listen_stream(parse_endpoint(listen))),
      stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      address_(local_address(listener_.get())) {
  thread_ = std::thread([this] { run(); });
}

EchoServer::~EchoServer() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_.get(), &one, sizeof one);
  thread_.join();
}

namespace {

struct EchoConn {
  UniqueFd fd;
  std::string pending;  // read, not yet echoed
  bool eof = false;
  bool shut = false;
};

}  // namespace

void EchoServer::run() {
  std::map<int, std::unique_ptr<EchoConn>> conns;
  std::vector<char> buf(1 << 16);
  for (;;) {
    std::vector<pollfd> fds = {{stop_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
    for (auto& [fd, c] : conns) {
      short ev = 0;
      if (!c->eof && c->pending.size() < (1 << 20)) ev |= POLLIN;
      if (!c->pending.empty()) ev |= POLLOUT;
      fds.push_back({fd, ev, 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    if (fds[1].revents) {
      for (;;) {
        int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        ++accepted_;
        auto c = std::make_unique<EchoConn>();
        c->fd.reset(fd);
        conns[fd] = std::move(c);
      }
    }
    for (std::size_t i = 2; i < fds.size(); ++i) {
      auto it = conns.find(fds[i].fd);
      if (it == conns.end() || fds[i].revents == 0) continue;
      EchoConn& c = *it->second;
      bool dead = false;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
        if (n > 0) c.pending.append(buf.data(), static_cast<std::size_t>(n));
        else if (n == 0) c.eof = true;
        else if (errno != EAGAIN) dead = true;
      }
      if (!dead && !c.pending.empty()) {
        ssize_t n = ::send(c.fd.get(), c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
        if (n > 0) c.pending.erase(0, static_cast<std::size_t>(n));
        else if (n < 0 && errno != EAGAIN) dead = true;
      }
      if (!dead && c.eof && c.pending.empty() && !c.shut) {
        ::shutdown(c.fd.get(), SHUT_WR);
        c.shut = true;
        dead = true;  // done: both directions ended
      }
      if (dead) conns.erase(it);
    }
  }
}

namespace {

struct Sha {
  Hasher h{HashAlgo::kSha256};
  void add(const void* p, std::size_t n) { h.update({static_cast<const std::uint8_t*>(p), n}); }
  std::string done() {
    auto d = h.finish();
    return std::string(d.begin(), d.end());
  }
};

struct Client {
  UniqueFd fd;
  std::uint64_t size = 0, sent = 0, received = 0;
  std::size_t prefix_sent = 0;
  std::mt19937_64 rng;
  std::vector<std::uint8_t> chunk;  // current random chunk being sent
  std::size_t chunk_off = 0;
  Sha sent_hash, received_hash;
  bool connected = false, shut = false, done = false, failed = false;
};

void fill_chunk(Client& c) {
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(c.size - c.sent, 1 << 16));
  c.chunk.resize(n);
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    std::uint64_t v = c.rng();
    std::memcpy(&c.chunk[i], &v, 8);
  }
  for (std::size_t i = n - n % 8; i < n; ++i) c.chunk[i] = static_cast<std::uint8_t>(c.rng());
  c.sent_hash.add(c.chunk.data(), n);
  c.chunk_off = 0;
}

void step(Client& c, short revents, const std::vector<std::uint8_t>& prefix, std::vector<std::uint8_t>& buf) {
  if (!c.connected && (revents & (POLLOUT | POLLERR | POLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return void(c.failed = c.done = true);
    c.connected = true;
  }
  if (!c.connected) return;
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    for (;;) {
      ssize_t n = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
      if (n > 0) {
        c.received_hash.add(buf.data(), static_cast<std::size_t>(n));
        c.received += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n == 0) {
        c.done = true;
        c.failed = !c.shut || c.received != c.size || c.received_hash.done() != c.sent_hash.done();
      } else if (errno != EAGAIN) {
        c.failed = c.done = true;
      }
      break;
    }
  }
  while (!c.done && !c.shut && (revents & POLLOUT)) {
    if (c.prefix_sent < prefix.size()) {
      ssize_t n = ::send(c.fd.get(), prefix.data() + c.prefix_sent, prefix.size() - c.prefix_sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      c.prefix_sent += static_cast<std::size_t>(n);
      continue;
    }
    if (c.chunk_off == c.chunk.size()) {
      if (c.sent == c.size) {
        ::shutdown(c.fd.get(), SHUT_WR);
        c.shut = true;
        break;
      }
      fill_chunk(c);
    }
    ssize_t n = ::send(c.fd.get(), c.chunk.data() + c.chunk_off, c.chunk.size() - c.chunk_off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN) c.failed = c.done = true;
      break;
    }
    c.chunk_off += static_cast<std::size_t>(n);
    c.sent += static_cast<std::uint64_t>(n);
  }
}

}  // namespace

ClientResult run_echo_clients(const SockAddr& target, const std::vector<std::uint64_t>& sizes, std::size_t concurrency,
                              const std::vector<std::uint8_t>& prefix) {
  ClientResult result;
  std::vector<std::unique_ptr<Client>> active;
  std::size_t next = 0;
  std::vector<std::uint8_t> buf(1 << 16);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (next < sizes.size() || !active.empty()) {
    while (next < sizes.size() && active.size() < concurrency) {
      auto c = std::make_unique<Client>();
      c->size = sizes[next];
      c->rng.seed(next * 7919 + 17);
      ++next;
      c->fd.reset(::socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (::connect(c->fd.get(), target.get(), target.length) == 0) c->connected = true;
      else if (errno != EINPROGRESS && errno != EAGAIN) c->failed = c->done = true;
      active.push_back(std::move(c));
    }
    std::vector<pollfd> fds;
    for (auto& c : active) fds.push_back({c->fd.get(), static_cast<short>(POLLIN | (c->shut ? 0 : POLLOUT)), 0});
    ::poll(fds.data(), fds.size(), 1000);
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("echo clients timed out");
    for (std::size_t i = 0; i < active.size(); ++i)
      if (fds[i].revents) step(*active[i], fds[i].revents, prefix, buf);
    for (std::size_t i = 0; i < active.size();) {
      if (active[i]->done) {
        (active[i]->failed ? result.failed : result.ok) += 1;
        result.bytes += active[i]->received;
        active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  return result;
}

std::string send_and_read(const SockAddr& target, const std::string& data, bool* reset) {
  UniqueFd fd(::socket(target.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), target.get(), target.length) != 0) throw std::runtime_error("connect failed");
  if (!data.empty()) ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
  ::shutdown(fd.get(), SHUT_WR);
  std::string out;
  char buf[4096];
  if (reset) *reset = false;
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    else {
      if (n < 0 && reset) *reset = true;
      break;
    }
  }
  return out;
}

std::size_t count_open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::string temp_socket(const std::string& tag) {
  static std::atomic<int> counter{0};
  return (std::filesystem::temp_directory_path() /
          ("pfp-" + std::to_string(::getpid()) + "-" + tag + "-" + std::to_string(counter++) + ".sock"))
      .string();
}

}  // namespace ef::netproxy::testkit
