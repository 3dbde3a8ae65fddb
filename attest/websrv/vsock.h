#pragma once
// AF_VSOCK behind one small function: the listening socket. Everything after
// accept() treats the connection as an ordinary stream socket. (The host's vsock
// cannot reach itself, so tests use TCP; see docs/ra-web-srv.md.)

#include <cstdint>

#include "base/fd.h"

namespace ef::websrv {

/// A listening AF_VSOCK stream socket bound to VMADDR_CID_ANY:`port`
/// (SOCK_CLOEXEC | SOCK_NONBLOCK). Throws SysError naming the port.
UniqueFd listen_vsock(std::uint32_t port, int backlog);

}  // namespace ef::websrv
