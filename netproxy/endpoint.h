#pragma once
// Where a forward listens or connects: "tcp:HOST:PORT", "udp:HOST:PORT",
// "vsock:CID:PORT" (CID may be "any"), "unix:/path" (or "unix:@abstract"),
// "hvsock:/path:PORT" (connect only: a hybrid-vsock unix socket, e.g. local
// mode's ef-vsock-bridge: "CONNECT PORT\n" is sent and "OK …\n" awaited first).
// Every transport is a stream socket address, so tests substitute TCP or unix
// sockets for vsock by changing only the endpoint string.

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ef::netproxy {

enum class Transport { kTcp, kUdp, kVsock, kUnix };

struct Endpoint {
  Transport transport = Transport::kTcp;
  std::string host;         ///< tcp/udp: numeric address or host name; "" means any
  std::uint16_t port = 0;   ///< tcp/udp/vsock port
  std::uint32_t cid = 0;    ///< vsock context id (0xFFFFFFFF = any)
  std::string path;         ///< unix socket path ('@' prefix = abstract namespace)
  std::uint32_t hybrid_port = 0;  ///< hvsock: the guest vsock port to CONNECT to (0 = plain unix)

  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

inline constexpr std::uint32_t kVsockCidAny = 0xFFFFFFFFu;

/// Parses the endpoint grammar above; throws Error naming `text` on a fault.
Endpoint parse_endpoint(std::string_view text);

/// A resolved socket address of any family.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  /// Port for inet/inet6/vsock, 0 otherwise.
  std::uint16_t port() const;
  /// "1.2.3.4:80", "[::1]:80", "vsock:3:9000", "unix:/p".
  std::string to_string() const;
};

/// Resolves an endpoint (numeric first, then getaddrinfo for host names).
SockAddr resolve(const Endpoint& endpoint);

/// Builds an inet address from 4 or 16 network-order bytes and a port.
SockAddr inet_address(const std::uint8_t* bytes, std::size_t length, std::uint16_t port);

}  // namespace ef::netproxy
