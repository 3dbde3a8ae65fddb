// vhost-user messages from a hostile front end: byte 0 = how many fds came
// with the message (eventfds stand in for them), then header and payload.
// Decoding and the back end's handling must fail only with ef::Error.
#include <sys/eventfd.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "base/error.h"
#include "engine/local/event_loop.h"
#include "engine/local/vhost_user_protocol.h"
#include "engine/local/vhost_user_server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ef::engine::local;
  static ef::engine::local::EventLoop loop;
  ef::engine::local::VsockDeviceConfig cfg;
  cfg.uds = "/nonexistent-ef-fuzz/v.sock";
  VhostUserServer server(loop, cfg);
  std::size_t pos = 0;
  while (pos + 1 + kVhostUserHeaderSize <= size) {
    std::size_t nfds = data[pos] % (kVhostUserMaxFds + 1);
    ++pos;
    try {
      VhostUserHeader h = decode_vhost_user_header({data + pos, kVhostUserHeaderSize});
      pos += kVhostUserHeaderSize;
      std::size_t n = std::min<std::size_t>(h.size, size - pos);
      VhostUserMessage m = decode_vhost_user_message(h, {data + pos, n}, nfds);
      pos += n;
      std::vector<ef::UniqueFd> fds;
      for (std::size_t i = 0; i < nfds; ++i) fds.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      std::vector<std::uint8_t> reply = server.handle(m, fds);
      if (!reply.empty() && reply.size() < kVhostUserHeaderSize) std::abort();
    } catch (const ef::Error&) {
      return 0;
    }
  }
  return 0;
}
