#pragma once
// The vhost-user back end of one vhost-user-vsock device: answers the front
// end's (QEMU's) messages on its unix socket, maps the guest memory, sets up
// the two rings (RX 0, TX 1; QEMU keeps the event queue) with their kick and
// call eventfds, and hands ring activity to the VsockDevice.

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "base/fd.h"
#include "engine/local/event_loop.h"
#include "engine/local/guest_memory.h"
#include "engine/local/virtqueue.h"
#include "engine/local/vsock_device.h"

namespace ef::engine::local {

class VhostUserServer {
 public:
  static constexpr std::uint64_t kFeatures = kVirtioFVersion1 | kVhostUserFProtocolFeatures;
  static constexpr std::uint64_t kProtocolFeatures = kProtocolFReplyAck | kProtocolFConfig;
  static constexpr std::size_t kQueues = 2;

  VhostUserServer(EventLoop& loop, VsockDeviceConfig config);
  ~VhostUserServer();

  /// Takes the accepted front-end connection and starts serving it.
  void serve(UniqueFd conn);
  /// False once the front end hung up (QEMU exited) or broke the protocol.
  bool connected() const { return conn_.valid(); }
  VsockDevice& device() { return *device_; }

  /// Handles one decoded message (public for tests and the fuzz target);
  /// returns the reply bytes to send (empty: none). Throws Error on a request
  /// it refuses; `fds` are consumed.
  std::vector<std::uint8_t> handle(const VhostUserMessage& msg, std::vector<UniqueFd>& fds);

 private:
  struct Ring {
    Virtqueue vq;
    UniqueFd kick, call;
    bool started = false;
  };
  void on_readable();
  void on_kick(std::size_t index);
  void notify(int queue);
  Ring& ring(std::uint32_t index);
  void stop_ring(std::size_t index);

  EventLoop& loop_;
  UniqueFd conn_;
  GuestMemory mem_;
  std::array<Ring, kQueues> rings_;
  std::unique_ptr<VsockDevice> device_;
  std::uint64_t acked_features_ = 0, protocol_features_ = 0;
  std::uint64_t guest_cid_;
};

/// Receives one message from `fd` (blocking): header and ancillary fds with
/// recvmsg, then the payload. Returns false on a clean EOF before a header.
bool receive_vhost_user_message(int fd, VhostUserMessage& out, std::vector<UniqueFd>& fds);

}  // namespace ef::engine::local
