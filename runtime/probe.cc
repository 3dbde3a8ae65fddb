#include "runtime/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
// clang-format off
#include <linux/vm_sockets.h>
// clang-format on

#include "base/fd.h"

namespace ef::init {
namespace {

bool tcp_accepting(int port) {
  UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

bool vsock_accepting(std::uint32_t cid, int port) {
  UniqueFd s(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return false;
  timeval tv{0, 200'000};
  setsockopt(s.get(), AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD, &tv, sizeof tv);
  sockaddr_vm a{};
  a.svm_family = AF_VSOCK;
  a.svm_cid = cid;
  a.svm_port = static_cast<unsigned>(port);
  return connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

}  // namespace

bool probe_ready(const Readiness& r) {
  switch (r.kind) {
    case Readiness::Kind::kNone: return true;
    case Readiness::Kind::kTcp: return tcp_accepting(r.port);
    case Readiness::Kind::kVsock: return vsock_accepting(r.cid, r.port);
    case Readiness::Kind::kFile: {
      struct stat st{};
      return stat(r.path.c_str(), &st) == 0;
    }
  }
  return false;
}

}  // namespace ef::init
