#include "netproxy/endpoint.h"

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

#include "base/error.h"

namespace ef::netproxy {
namespace {

[[noreturn]] void bad(std::string_view text, std::string_view why) {
  throw Error("endpoint '" + std::string(text) + "': " + std::string(why));
}

template <typename T>
T parse_number(std::string_view text, std::string_view s, std::string_view what) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) bad(text, "bad " + std::string(what));
  return value;
}

// Splits "HOST:PORT" where HOST may be "[v6]".
void split_host_port(std::string_view text, std::string_view rest, Endpoint& e) {
  std::size_t colon;
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      bad(text, "expected [ADDRESS]:PORT");
    e.host = std::string(rest.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = rest.rfind(':');
    if (colon == std::string_view::npos) bad(text, "expected HOST:PORT");
    e.host = std::string(rest.substr(0, colon));
  }
  e.port = parse_number<std::uint16_t>(text, rest.substr(colon + 1), "port");
}

}  // namespace

Endpoint parse_endpoint(std::string_view text) {
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) bad(text, "expected tcp:, udp:, vsock: or unix:");
  std::string_view scheme = text.substr(0, colon), rest = text.substr(colon + 1);
  Endpoint e;
  if (scheme == "tcp" || scheme == "udp") {
    e.transport = scheme == "tcp" ? Transport::kTcp : Transport::kUdp;
    split_host_port(text, rest, e);
  } else if (scheme == "vsock") {
    e.transport = Transport::kVsock;
    std::size_t c = rest.find(':');
    if (c == std::string_view::npos) bad(text, "expected vsock:CID:PORT");
    std::string_view cid = rest.substr(0, c);
    e.cid = cid == "any" ? kVsockCidAny : parse_number<std::uint32_t>(text, cid, "CID");
    std::uint32_t port = parse_number<std::uint32_t>(text, rest.substr(c + 1), "port");
    if (port > 0xFFFF) bad(text, "port above 65535");
    e.port = static_cast<std::uint16_t>(port);
  } else if (scheme == "unix") {
    e.transport = Transport::kUnix;
    if (rest.empty() || rest.size() >= sizeof(sockaddr_un::sun_path)) bad(text, "bad unix socket path length");
    e.path = std::string(rest);
  } else if (scheme == "hvsock") {
    e.transport = Transport::kUnix;
    std::size_t c = rest.rfind(':');
    if (c == std::string_view::npos || c == 0) bad(text, "expected hvsock:/path:PORT");
    e.path = std::string(rest.substr(0, c));
    if (e.path.size() >= sizeof(sockaddr_un::sun_path)) bad(text, "bad unix socket path length");
    e.hybrid_port = parse_number<std::uint32_t>(text, rest.substr(c + 1), "port");
    if (e.hybrid_port == 0) bad(text, "port 0");
  } else {
    bad(text, "unknown transport '" + std::string(scheme) + "' (expected tcp, udp, vsock, unix or hvsock)");
  }
  return e;
}

std::string Endpoint::to_string() const {
  switch (transport) {
    case Transport::kTcp:
    case Transport::kUdp: {
      std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
      return std::string(transport == Transport::kTcp ? "tcp:" : "udp:") + h + ":" + std::to_string(port);
    }
    case Transport::kVsock:
      return "vsock:" + (cid == kVsockCidAny ? std::string("any") : std::to_string(cid)) + ":" +
             std::to_string(port);
    case Transport::kUnix:
      return hybrid_port ? "hvsock:" + path + ":" + std::to_string(hybrid_port) : "unix:" + path;
  }
  return "?";
}

SockAddr inet_address(const std::uint8_t* bytes, std::size_t length, std::uint16_t port) {
  SockAddr a;
  if (length == 4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, bytes, 4);
    a.length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, bytes, 16);
    a.length = sizeof(sockaddr_in6);
  }
  return a;
}

static SockAddr resolve_inet(const Endpoint& e) {
  std::uint8_t buf[16];
  std::string host = e.host.empty() ? "0.0.0.0" : e.host;
  if (host == "*") host = "0.0.0.0";
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) return inet_address(buf, 4, e.port);
  if (inet_pton(AF_INET6, host.c_str(), buf) == 1) return inet_address(buf, 16, e.port);
  addrinfo hints{};
  hints.ai_socktype = e.transport == Transport::kUdp ? SOCK_DGRAM : SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) throw Error("resolve " + host + ": " + gai_strerror(rc));
  SockAddr a;
  std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
  a.length = res->ai_addrlen;
  freeaddrinfo(res);
  if (a.family() == AF_INET) reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(e.port);
  if (a.family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(e.port);
  return a;
}

SockAddr resolve(const Endpoint& e) {
  SockAddr a;
  switch (e.transport) {
    case Transport::kTcp:
    case Transport::kUdp: return resolve_inet(e);
    case Transport::kVsock: {
      auto* vm = reinterpret_cast<sockaddr_vm*>(&a.storage);
      vm->svm_family = AF_VSOCK;
      vm->svm_cid = e.cid;
      vm->svm_port = e.port;
      a.length = sizeof(sockaddr_vm);
      return a;
    }
    case Transport::kUnix: {
      auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
      un->sun_family = AF_UNIX;
      std::memcpy(un->sun_path, e.path.data(), e.path.size());
      if (e.path[0] == '@') un->sun_path[0] = '\0';
      a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + e.path.size() + (e.path[0] == '@' ? 0 : 1));
      return a;
    }
  }
  return a;
}

std::uint16_t SockAddr::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  if (family() == AF_VSOCK) return static_cast<std::uint16_t>(reinterpret_cast<const sockaddr_vm*>(&storage)->svm_port);
  return 0;
}

std::string SockAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  if (family() == AF_VSOCK) {
    auto* vm = reinterpret_cast<const sockaddr_vm*>(&storage);
    return "vsock:" + std::to_string(vm->svm_cid) + ":" + std::to_string(vm->svm_port);
  }
  if (family() == AF_UNIX) {
    auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
    std::size_t n = length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
    std::string p(un->sun_path, n);
    if (!p.empty() && p[0] == '\0') p[0] = '@';
    while (!p.empty() && p.back() == '\0') p.pop_back();
    return "unix:" + p;
  }
  return "family " + std::to_string(family());
}

}  // namespace ef::netproxy
