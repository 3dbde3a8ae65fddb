#pragma once
// The Linux socket calls pf-proxy makes, as thin wrappers in one place.
// Every fd is O_CLOEXEC and non-blocking.

#include <optional>

#include "base/fd.h"
#include "netproxy/endpoint.h"

namespace ef::netproxy {

/// A bound, listening stream socket (SO_REUSEADDR; unix paths are replaced).
/// With `reuse_port` (TCP only) also SO_REUSEPORT, so that more sockets can
/// listen on the same address (listen_shard) and the kernel spreads new
/// connections across them.
UniqueFd listen_stream(const Endpoint& endpoint, int backlog = 4096, bool reuse_port = false);
/// Another SO_REUSEPORT listener on the exact address a reuse_port listener
/// bound (its port resolved, when it asked for port 0).
UniqueFd listen_shard(const SockAddr& bound, int backlog = 4096);
/// A bound datagram socket.
UniqueFd bind_datagram(const Endpoint& endpoint);

/// Starts a non-blocking connect. Returns the socket; *in_progress tells
/// whether completion must be awaited (EPOLLOUT, then connect_result()).
/// Throws SysError when the connect fails at once.
UniqueFd start_connect(const SockAddr& address, bool* in_progress);
/// SO_ERROR of a socket whose connect finished: 0 or an errno.
int connect_result(int fd);

/// Tunes a freshly connected/accepted stream socket (TCP_NODELAY for TCP).
void tune_stream(int fd);

/// The local address of a socket.
SockAddr local_address(int fd);
/// The destination a client used before an iptables/nftables REDIRECT
/// (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST); nullopt when not redirected.
std::optional<SockAddr> original_destination(int fd);

/// Closes with an RST where the transport supports it (SO_LINGER 0).
void abort_close(UniqueFd& fd);

}  // namespace ef::netproxy
