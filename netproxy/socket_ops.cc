#include "netproxy/socket_ops.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace ef::netproxy {
namespace {

// SO_ORIGINAL_DST (linux/netfilter_ipv4.h) and IP6T_SO_ORIGINAL_DST
// (linux/netfilter_ipv6/ip6_tables.h); those headers clash with glibc's netinet/in.h.
constexpr int kSoOriginalDst = 80;
constexpr int kIp6tSoOriginalDst = 80;

UniqueFd make_socket(int family, int type, const std::string& what) {
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("create socket for", what);
  return UniqueFd(fd);
}

void bind_to(int fd, const SockAddr& a, const Endpoint& e) {
  int one = 1;
  if (a.family() == AF_INET || a.family() == AF_INET6)
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (a.family() == AF_UNIX && !e.path.empty() && e.path[0] != '@') ::unlink(e.path.c_str());
  if (::bind(fd, a.get(), a.length) != 0) throw_errno("bind", e.to_string());
}

}  // namespace

static void set_reuse_port(int fd, const std::string& what) {
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) throw_errno("set SO_REUSEPORT on", what);
}

UniqueFd listen_stream(const Endpoint& e, int backlog, bool reuse_port) {
  SockAddr a = resolve(e);
  UniqueFd fd = make_socket(a.family(), SOCK_STREAM, e.to_string());
  if (reuse_port) set_reuse_port(fd.get(), e.to_string());
  bind_to(fd.get(), a, e);
  if (::listen(fd.get(), backlog) != 0) throw_errno("listen on", e.to_string());
  return fd;
}

UniqueFd listen_shard(const SockAddr& a, int backlog) {
  UniqueFd fd = make_socket(a.family(), SOCK_STREAM, a.to_string());
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  set_reuse_port(fd.get(), a.to_string());
  if (::bind(fd.get(), a.get(), a.length) != 0) throw_errno("bind", a.to_string());
  if (::listen(fd.get(), backlog) != 0) throw_errno("listen on", a.to_string());
  return fd;
}

UniqueFd bind_datagram(const Endpoint& e) {
  SockAddr a = resolve(e);
  UniqueFd fd = make_socket(a.family(), SOCK_DGRAM, e.to_string());
  bind_to(fd.get(), a, e);
  return fd;
}

UniqueFd start_connect(const SockAddr& address, bool* in_progress) {
  UniqueFd fd = make_socket(address.family(), SOCK_STREAM, address.to_string());
  *in_progress = false;
  if (::connect(fd.get(), address.get(), address.length) != 0) {
    if (errno != EINPROGRESS) throw_errno("connect to", address.to_string());
    *in_progress = true;
  }
  return fd;
}

int connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

void tune_stream(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // harmless EOPNOTSUPP on non-TCP
}

SockAddr local_address(int fd) {
  SockAddr a;
  a.length = sizeof a.storage;
  if (::getsockname(fd, a.get(), &a.length) != 0) throw_errno("getsockname", "socket " + std::to_string(fd));
  return a;
}

std::optional<SockAddr> original_destination(int fd) {
  SockAddr local = local_address(fd);
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; their record is IPv4.
  static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  bool v6 = local.family() == AF_INET6 &&
            std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&local.storage)->sin6_addr, mapped, 12) != 0;
  SockAddr a;
  a.length = sizeof a.storage;
  int rc = v6
               ? ::getsockopt(fd, SOL_IPV6, kIp6tSoOriginalDst, a.get(), &a.length)
               : ::getsockopt(fd, SOL_IP, kSoOriginalDst, a.get(), &a.length);
  if (rc != 0) return std::nullopt;
  return a;
}

void abort_close(UniqueFd& fd) {
  if (!fd) return;
  linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

}  // namespace ef::netproxy
