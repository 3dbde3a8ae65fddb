#include "runtime/heartbeat.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
// clang-format off
#include <linux/vm_sockets.h>
// clang-format on

#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace ef::init {

void send_heartbeat(const HeartbeatSpec& spec) {
  std::string where = "vsock:" + std::to_string(spec.cid) + ":" + std::to_string(spec.port);
  UniqueFd s(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("create socket for heartbeat to", where);
  timeval tv{static_cast<time_t>(spec.timeout / 1000), static_cast<suseconds_t>((spec.timeout % 1000) * 1000)};
  setsockopt(s.get(), AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD, &tv, sizeof tv);
  sockaddr_vm a{};
  a.svm_family = AF_VSOCK;
  a.svm_cid = spec.cid;
  a.svm_port = spec.port;
  if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("connect heartbeat to", where);
  unsigned char b = kHeartbeatByte;
  if (write(s.get(), &b, 1) != 1) throw_errno("send heartbeat to", where);
  pollfd p{s.get(), POLLIN, 0};
  int r = poll(&p, 1, static_cast<int>(spec.timeout));
  if (r < 0) throw_errno("wait for heartbeat reply from", where);
  if (r == 0) throw Error("no heartbeat reply from " + where);
  b = 0;
  if (read(s.get(), &b, 1) != 1) throw_errno("read heartbeat reply from", where);
  if (b != kHeartbeatByte) throw Error("wrong heartbeat reply from " + where);
}

}  // namespace ef::init
