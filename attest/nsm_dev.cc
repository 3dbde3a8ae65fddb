// The real /dev/nsm transport (Linux). Cannot run outside a Nitro enclave.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "attest/nsm.h"

namespace ef::nsm {
namespace {

struct NsmMessage {
  struct iovec request;
  struct iovec response;
};
constexpr unsigned long kNsmIoctl = _IOWR(0x0A, 0, struct NsmMessage);

}  // namespace

DevNsmTransport::DevNsmTransport(const char* path) : fd_(::open(path, O_RDWR | O_CLOEXEC)) {
  if (!fd_) throw_errno("open", path);
}

Bytes DevNsmTransport::exchange(std::span<const std::uint8_t> request) {
  Bytes response(kMaxResponseSize);
  NsmMessage msg{};
  msg.request.iov_base = const_cast<std::uint8_t*>(request.data());
  msg.request.iov_len = request.size();
  msg.response.iov_base = response.data();
  msg.response.iov_len = response.size();
  int rc;
  do {
    rc = ::ioctl(fd_.get(), kNsmIoctl, &msg);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno == EMSGSIZE) throw NsmError(ErrorCode::kInputTooLarge, "NSM ioctl");
    throw_errno("ioctl", "/dev/nsm");
  }
  // The driver sets the response length it wrote.
  response.resize(std::min(msg.response.iov_len, response.size()));
  return response;
}

}  // namespace ef::nsm
