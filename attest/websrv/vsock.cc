#include "attest/websrv/vsock.h"

#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <string>

#include "base/error.h"

namespace ef::websrv {

UniqueFd listen_vsock(std::uint32_t port, int backlog) {
  const std::string what = "vsock port " + std::to_string(port);
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw_errno("socket(AF_VSOCK) for", what);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = port;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind", what);
  if (::listen(fd.get(), backlog) != 0) throw_errno("listen on", what);
  return fd;
}

}  // namespace ef::websrv
